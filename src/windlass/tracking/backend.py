"""Open a :class:`Tracking` for a URI: a SQL store used directly, or a windlass server."""

from __future__ import annotations

from windlass import config
from windlass.artifacts import open_blob_store
from windlass.principal import Principal
from windlass.tracking.service import Tracking
from windlass.uris import StoreKind, store_kind


def open_tracking(
    uri: str | None = None,
    artifact_uri: str | None = None,
    *,
    principal: Principal | None = None,
    token: str | None = None,
) -> Tracking:
    """Return tracking over ``uri`` (default: ``WINDLASS_TRACKING_URI``, else embedded).

    ``sqlite:///…`` and ``postgresql://…`` use the store directly with artifacts under
    ``artifact_uri`` (default ``WINDLASS_ARTIFACT_URI`` or ``$WINDLASS_HOME/artifacts``);
    ``http(s)://…`` talks to a windlass server, which owns both (and records its own
    principal). ``principal``: who writes are recorded against (default: the local one).
    ``token``: the API token a server is sent (default ``WINDLASS_TOKEN``).

    A store used directly with ``WINDLASS_AUTH=on`` gets the same gate as a server: every
    call is checked against the principal's roles and every mutation is audited (the
    Client makes the principal from its token). Over a server, the server does both.
    """
    uri = uri or config.settings.tracking_uri or config.default_store_uri()
    if store_kind(uri) is StoreKind.REST:
        from windlass.artifacts.http import RestBlobStore
        from windlass.store.rest.store import RestStore

        rest = RestStore(uri, token=token)
        return Tracking(rest, RestBlobStore(uri, rest.client), principal=principal)
    from windlass.store.sql.store import SqlStore

    blobs = open_blob_store(artifact_uri or config.default_artifact_uri())
    store = SqlStore(uri)
    access = None
    if config.settings.auth:
        from windlass.access.audit import AuditTrail
        from windlass.access.gate import Access
        from windlass.access.policy import Policy

        policy = Policy(enabled=True)
        access = Access(policy, AuditTrail(store, policy))
    return Tracking(store, blobs, principal=principal, access=access)
