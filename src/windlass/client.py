"""``windlass.Client``: one store, one artifact store, one project and one principal.

::

    with windlass.Client("sqlite:///team.db", project="churn") as client:
        with client.runs.start(name="lr-0.1"):
            client.runs.log_params({"lr": 0.1})
            client.runs.log_metric("loss", 0.3, step=1)
        client.models.set_alias("churn-model", "champion", 3)

Everything an SDK call needs lives in a client: two clients over two stores work side by
side, in one thread or several. The flat functions (``windlass.log_metric``,
``windlass.load_model``, ``windlass.prompts.load``...) act on :func:`default_client`, made
on first use from ``set_tracking_uri``/``WINDLASS_TRACKING_URI`` and ``set_project``, as
``httpx.get`` uses a ``Client``. The namespaces are classes in the domain packages
(``tracking.fluent.Runs``, ``models.fluent.Models``...), each bound to a client: they are
where each area's SDK logic already lived, and the domain layer may not import this one.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import TYPE_CHECKING, cast

from windlass import config
from windlass.entities import Project, all_pages
from windlass.principal import Principal, local_principal
from windlass.tracking import context

if TYPE_CHECKING:
    from windlass.genai.prompts.fluent import Prompts
    from windlass.genai.tracing.fluent import Traces
    from windlass.models.fluent import Models
    from windlass.serving.fluent import Deployments
    from windlass.tracking.fluent import Runs
    from windlass.tracking.service import Tracking

__all__ = ["Client", "default_client"]


class Client:
    """A connection to one windlass store, in one project, as one principal.

    ``tracking_uri``: ``sqlite:///…``, ``postgresql://…`` (a store used directly, with
    artifacts under ``artifact_uri``) or ``http(s)://…`` (a server, which owns both); None
    means ``WINDLASS_TRACKING_URI`` or the embedded default. ``project``: the current
    project (None: ``WINDLASS_PROJECT``). ``principal``: who the writes are recorded
    against (default: ``WINDLASS_USER`` or the OS login; with ``WINDLASS_AUTH=on`` and a
    store used directly, the user of ``token``, checked against the store on first use).
    ``token``: the API token (default ``WINDLASS_TOKEN``), sent to a server as a bearer
    token. Nothing is opened until used.
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        project: str | None = None,
        *,
        artifact_uri: str | None = None,
        principal: Principal | None = None,
        token: str | None = None,
    ) -> None:
        if tracking_uri is not None:
            from windlass.uris import store_kind

            store_kind(tracking_uri)
        self._uri = tracking_uri
        self._artifact_uri = artifact_uri
        self.project: str | None = project
        self._principal = principal if principal is not None else local_principal()
        # Resolved from the token on first use when auth is on and no principal was given.
        self._verify_token = principal is None
        self._token = token
        self._lock = threading.RLock()
        self._tracking: Tracking | None = None
        self._project_ids: dict[str, str] = {}
        self._runs: Runs | None = None
        self._models: Models | None = None
        self._deployments: Deployments | None = None
        self._prompts: Prompts | None = None
        self._traces: Traces | None = None

    def __repr__(self) -> str:
        return f"Client({self.tracking_uri!r}, project={self.current_project()!r})"

    # -- what the client holds ----------------------------------------------------------
    @property
    def tracking_uri(self) -> str:
        """The URI of the metadata store this client writes to."""
        return self._uri or config.settings.tracking_uri or config.default_store_uri()

    @property
    def principal(self) -> Principal:
        """The principal every write of this client is recorded against."""
        if self._verify_token and self._tracking is None and config.settings.auth:
            self.tracking  # noqa: B018 - opening the store checks the token
        return self._principal

    @property
    def tracking(self) -> Tracking:
        """The tracking service over this client's stores (opened on first use)."""
        tracking = self._tracking
        if tracking is None:
            with self._lock:
                if self._tracking is None:
                    from windlass.tracking.backend import open_tracking

                    opened = open_tracking(
                        self.tracking_uri,
                        self._artifact_uri,
                        principal=self._principal,
                        token=self._token,
                    )
                    if self._verify_token and config.settings.auth:
                        try:
                            self._principal = opened.principal = _token_principal(
                                opened, self._token
                            )
                        except BaseException:
                            opened.close()
                            raise
                    self._tracking = opened
                tracking = self._tracking
        return tracking

    def current_project(self) -> str:
        """Return the name of the current project (``WINDLASS_PROJECT`` unless set)."""
        name: str = self.project or config.settings.project
        return name

    def set_project(self, name: str) -> Project:
        """Make ``name`` the current project (created on first use) and return it."""
        project = self.tracking.project(name)
        with self._lock:
            self.project = name
            self._project_ids[name] = project.id
        return project

    def project_id(self, name: str | None = None) -> str:
        """Return the id of project ``name`` (default: the current one), creating it."""
        name = name or self.current_project()
        cached = self._project_ids.get(name)
        if cached is None:
            cached = self.tracking.project(name).id
            self._project_ids[name] = cached
        return cached

    def list_projects(self) -> list[Project]:
        """Return every project, by name."""
        service = self.tracking
        return all_pages(lambda token: service.list_projects(1000, token))

    # -- namespaces ---------------------------------------------------------------------
    @property
    def runs(self) -> Runs:
        """Runs: start, log params, metrics, tags, artifacts and inputs, end, search."""
        if self._runs is None:
            from windlass.tracking.fluent import Runs

            with self._lock:
                if self._runs is None:
                    self._runs = Runs(self)
        return self._runs

    @property
    def models(self) -> Models:
        """Models: log, register, load, download, versions, aliases, lineage."""
        if self._models is None:
            from windlass.models.fluent import Models

            with self._lock:
                if self._models is None:
                    self._models = Models(self)
        return self._models

    @property
    def deployments(self) -> Deployments:
        """Deployments: create, re-weigh, promote, roll back, history."""
        if self._deployments is None:
            from windlass.serving.fluent import Deployments

            with self._lock:
                if self._deployments is None:
                    self._deployments = Deployments(self)
        return self._deployments

    @property
    def prompts(self) -> Prompts:
        """Prompts: register, load, render, aliases, diff, pull and push."""
        if self._prompts is None:
            from windlass.genai.prompts.fluent import Prompts

            with self._lock:
                if self._prompts is None:
                    self._prompts = Prompts(self)
        return self._prompts

    @property
    def traces(self) -> Traces:
        """Traces: search, get, stats, rollups, export; the sink spans are delivered to."""
        if self._traces is None:
            from windlass.genai.tracing.fluent import Traces

            with self._lock:
                if self._traces is None:
                    self._traces = Traces(self)
        return self._traces

    # -- life cycle ---------------------------------------------------------------------
    def close(self, *, end_runs: bool = True) -> None:
        """End the active runs (unless ``end_runs=False``), flush metrics, close the stores.

        The client can be used again afterwards: it reopens what it needs.
        """
        with self._lock:
            if self._runs is not None:
                self._runs.close(end_runs=end_runs)
            if self._tracking is not None:
                self._tracking.close()
                self._tracking = None
            self._models = self._deployments = self._prompts = self._traces = None

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _token_principal(tracking: Tracking, token: str | None) -> Principal:
    """Return the principal of ``token`` (or ``WINDLASS_TOKEN``) checked against the store.

    Embedded mode with ``WINDLASS_AUTH=on``: the SDK is whoever its token says, checked
    by the same rules as the server. A missing or bad token raises Unauthenticated. Over a
    server, the server checks the token; the client's principal stays local.
    """
    from windlass.store.rest.store import RestStore

    if isinstance(tracking.store, RestStore):
        return tracking.principal
    from windlass.access.identity import Identity
    from windlass.access.policy import Policy
    from windlass.exceptions import Unauthenticated

    secret = token if token is not None else config.settings.token
    if not secret:
        raise Unauthenticated(
            "WINDLASS_AUTH=on: set WINDLASS_TOKEN (or Client(token=...)) to an API token"
        )
    return Identity(tracking.store, Policy(enabled=True)).authenticate(secret.strip())


def _make_default(tracking_uri: str | None, project: str | None) -> Client:
    return Client(tracking_uri, project)


def default_client() -> Client:
    """Return the client the flat functions (``windlass.log_metric``...) act on.

    Made on first use from ``set_tracking_uri`` (else ``WINDLASS_TRACKING_URI``, else the
    embedded default) and ``set_project``; ``set_tracking_uri`` replaces it.
    """
    return cast(Client, context.default_client())


context.register_default_factory(_make_default)
