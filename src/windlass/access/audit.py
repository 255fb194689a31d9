"""The audit trail: one append-only record per mutation, and who may read it.

:class:`AuditTrail` is the :class:`~windlass.access.gate.AuditSink` of the domain services:
:meth:`AuditTrail.record` turns a principal, an action and an object URI, with the state
before and after, into an :class:`~windlass.entities.AuditRecord` (states made JSON-safe,
secrets redacted and sizes bounded by :mod:`windlass.access.redaction`) and appends it to
the store's audit log, which the database keeps append-only.

:meth:`AuditTrail.list` is the one way to read it. With auth off everything is visible;
with auth on a server admin sees every record, a project admin the records of the projects
they administer, anyone else is refused (403).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from windlass.access.policy import Permission, Policy
from windlass.access.redaction import audit_json
from windlass.entities import AuditRecord, Page
from windlass.exceptions import InvalidInput, PermissionDenied, ProjectNotFound
from windlass.ids import is_id, new_id, now_ms
from windlass.principal import MAX_PRINCIPAL_NAME, Principal, Role
from windlass.store.metadata import MetadataStore
from windlass.uris import MAX_NAME_LENGTH

__all__ = ["MAX_ACTION_LENGTH", "MAX_OBJECT_URI_LENGTH", "AuditTrail", "parse_time"]

#: The longest action name (``model.alias.set``).
MAX_ACTION_LENGTH = 128
#: The longest object URI of a record.
MAX_OBJECT_URI_LENGTH = 1024
#: The longest source address kept (longer ones are cut).
MAX_ADDRESS_LENGTH = 256

_ACTION = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_RELATIVE = re.compile(r"(\d{1,12})([smhdw])")
_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_MAX_MS = 2**63 - 1


def parse_time(text: str, *, now: int | None = None) -> int:
    """Return UTC milliseconds for ``text``: epoch milliseconds, ``7d``/``12h`` ago, or ISO-8601.

    A relative time counts back from ``now`` (default: the clock): ``s``, ``m``, ``h``,
    ``d``, ``w``. An ISO-8601 time without an offset is UTC. Anything else is InvalidInput.
    """
    value = text.strip()
    if value.isascii() and value.isdigit() and len(value) <= 19 and int(value) <= _MAX_MS:
        return int(value)
    relative = _RELATIVE.fullmatch(value)
    if relative is not None:
        ago = int(relative.group(1)) * _UNIT_MS[relative.group(2)]
        return max(0, (now_ms() if now is None else now) - ago)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"time {text[:64]!r}: give ISO-8601 (2026-01-31T12:00:00Z), a relative time "
            "(30m, 12h, 7d, 2w) or epoch milliseconds",
            time=text[:64],
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0, int(moment.timestamp() * 1000))


def _check_filter(what: str, value: str | None, limit: int) -> None:
    """Raise InvalidInput for a filter no record can hold (a control character, too long)."""
    if value is not None and (len(value) > limit or _CONTROL.search(value)):
        raise InvalidInput(
            f"{what} filter {value[:80]!r} is over {limit} characters or holds a control character",
            **{what: value[:80]},
        )


class AuditTrail:
    """Appends audit records to a store's audit log and lists them for those allowed."""

    def __init__(self, store: MetadataStore, policy: Policy | None = None) -> None:
        """``policy`` defaults to off (every record visible to every caller)."""
        self.store = store
        self.policy = policy if policy is not None else Policy(enabled=False)

    def record(
        self,
        principal: Principal,
        action: str,
        object_uri: str,
        *,
        project_id: str | None = None,
        before: Any = None,
        after: Any = None,
    ) -> None:
        """Append one record: who did ``action`` to ``object_uri``, with before and after.

        Over a REST store nothing is appended here: the server records the request itself.
        """
        if (
            not isinstance(action, str)
            or len(action) > MAX_ACTION_LENGTH
            or not _ACTION.fullmatch(action)
        ):
            raise InvalidInput(
                f"audit action {action!r:.80} is not a lowercase dotted name of at most "
                f"{MAX_ACTION_LENGTH} characters (e.g. model.alias.set)",
                action=str(action)[:80],
            )
        if not isinstance(object_uri, str) or not 0 < len(object_uri) <= MAX_OBJECT_URI_LENGTH:
            raise InvalidInput(
                f"audit object URI must be 1 to {MAX_OBJECT_URI_LENGTH} characters",
                object_uri=str(object_uri)[:80],
            )
        if not self.store.audit.appends:
            return
        address = None if principal.address is None else principal.address[:MAX_ADDRESS_LENGTH]
        self.store.audit.append(
            AuditRecord(
                id=new_id(),
                at=now_ms(),
                principal=principal.name,
                principal_kind=principal.kind.value,
                auth_method=principal.auth.value,
                address=address,
                action=action,
                object_uri=object_uri,
                project_id=project_id,
                before=audit_json(before),
                after=audit_json(after),
            )
        )

    def _project_id(self, name_or_id: str) -> str:
        """Return the id of a project; an id of no project stands (a deleted one's records)."""
        try:
            return self.store.runs.get_project(name_or_id).id
        except ProjectNotFound:
            if is_id(name_or_id):
                return name_or_id
            raise

    def _project_ids(self, projects: Sequence[str]) -> tuple[str, ...]:
        return tuple(self._project_id(p) for p in projects)

    def _visible(
        self, principal: Principal, projects: Sequence[str]
    ) -> str | tuple[str, ...] | None:
        """Return the project filter ``principal`` may list with (None: every record)."""
        self.policy.require(principal, Permission.AUTHENTICATED)
        if not self.policy.enabled or principal.server_admin:
            return self._project_ids(projects) if projects else None
        administered = tuple(
            pid for pid, _ in principal.roles if principal.role_in(pid) is Role.ADMIN
        )
        if not administered:
            raise PermissionDenied(
                "the audit trail is for server admins and project admins; "
                f"{principal.name!r} administers no project",
                permission=Permission.ADMIN.value,
                role_needed=Role.ADMIN.value,
            )
        if not projects:
            return administered
        wanted = []
        for name_or_id in projects:
            try:
                project_id = self.store.runs.get_project(name_or_id).id
            except ProjectNotFound:
                # Whether a project the caller does not administer exists is not revealed.
                project_id = name_or_id
            self.policy.require(principal, Permission.ADMIN, project_id)
            wanted.append(project_id)
        return tuple(wanted)

    def list(
        self,
        principal: Principal,
        *,
        project: str | Sequence[str] | None = None,
        object_uri: str | None = None,
        user: str | None = None,
        action: str | None = None,
        since: int | None = None,
        until: int | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> Page[AuditRecord]:
        """Return the records ``principal`` may see, newest first, filtered as asked.

        ``project`` is a project name or id (or several: records of any). With auth on, a
        server admin sees every record, a project admin only those of the projects they
        administer (asking for another project is PermissionDenied), anyone else is refused.
        """
        projects = [project] if isinstance(project, str) else list(project or ())
        _check_filter("object", object_uri, MAX_OBJECT_URI_LENGTH)
        _check_filter("user", user, MAX_PRINCIPAL_NAME)
        _check_filter("action", action, MAX_ACTION_LENGTH)
        for name_or_id in projects:
            _check_filter("project", name_or_id, MAX_NAME_LENGTH)
        project_filter = self._visible(principal, projects)
        if isinstance(project_filter, tuple) and len(project_filter) == 1:
            project_filter = project_filter[0]
        return self.store.audit.list(
            project_id=project_filter,
            object_uri=object_uri or None,
            principal=user or None,
            action=action or None,
            since=since,
            until=until,
            max_results=max_results,
            page_token=page_token,
        )
