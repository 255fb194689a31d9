"""The ``windlass demo`` walkthrough: a server, tracked training runs and the best runs."""
