"""The audit store interface: an append-only log of every mutation.

Records are only ever appended (:meth:`AuditStore.append`) and listed
(:meth:`AuditStore.list`); there is no update and no delete, and the SQL tables refuse
both with database triggers. The SQL store (:mod:`windlass.store.sql.audit`) and the REST
client (:mod:`windlass.store.rest.audit`, list only: a server writes its own records)
implement it; ``tests/store/test_audit_contract.py`` holds them to it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from windlass.entities import AuditRecord, Page

#: The largest page of audit records one call returns.
MAX_AUDIT_RESULTS = 1000


class AuditStore(ABC):
    """The append-only audit log."""

    #: Whether :meth:`append` stores records here (False for a server's log read over
    #: REST: the server records its own, and the audit trail then leaves appending to it).
    appends: ClassVar[bool] = True

    @abstractmethod
    def append(self, record: AuditRecord) -> None:
        """Append one record (its id is the writer's; appending the same id again is a no-op)."""

    @abstractmethod
    def list(
        self,
        *,
        project_id: str | tuple[str, ...] | None = None,
        object_uri: str | None = None,
        principal: str | None = None,
        action: str | None = None,
        since: int | None = None,
        until: int | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> Page[AuditRecord]:
        """Return records newest first, one page at a time, filtered by every argument given.

        ``project_id`` is one project id or a tuple of them (records of any; an empty tuple
        matches nothing). ``object_uri`` matches the URI itself and every
        URI under it (``models:/churn`` matches ``models:/churn/3`` and
        ``models:/churn@prod``, not ``models:/churner``). ``since`` is inclusive, ``until``
        exclusive (UTC milliseconds); ``max_results`` is 1 to :data:`MAX_AUDIT_RESULTS`.
        """
