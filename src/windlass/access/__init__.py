"""Access control: who may do what (:mod:`.policy`) and what was done (the audit trail)."""
