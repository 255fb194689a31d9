"""The SDK client as the domain layer sees it, and the process's default one.

:class:`windlass.Client` (the faces layer) holds a store, a project, a principal and the
namespaces (``runs``, ``models``, ...). The namespaces live in the domain packages'
``fluent`` modules and are bound to a client through :class:`SdkClient`, the part of a
client they need. The flat functions (``windlass.log_metric``, ``windlass.load_model``)
call :func:`default_client`; domain code may not import the faces layer, so
``windlass.client`` registers, when imported, how a default client is made
(:func:`register_default_factory`). ``windlass.client.default_client`` is the public name.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from windlass.exceptions import ConfigError

if TYPE_CHECKING:
    from windlass.entities import Project
    from windlass.genai.prompts.fluent import Prompts
    from windlass.genai.tracing.fluent import Traces
    from windlass.models.fluent import Models
    from windlass.principal import Principal
    from windlass.serving.fluent import Deployments
    from windlass.tracking.fluent import Runs
    from windlass.tracking.service import Tracking


class SdkClient(Protocol):
    """What the SDK namespaces need from the client they are bound to."""

    #: The project chosen for this client (None: ``WINDLASS_PROJECT``).
    project: str | None

    @property
    def principal(self) -> Principal:
        """The principal every write of this client is recorded against."""
        ...

    @property
    def tracking(self) -> Tracking:
        """The tracking service over this client's metadata and artifact stores."""
        ...

    @property
    def runs(self) -> Runs:
        """Runs, params, metrics and artifacts; the client's active-run stack."""
        ...

    @property
    def models(self) -> Models:
        """The model registry and model files."""
        ...

    @property
    def deployments(self) -> Deployments:
        """Deployments and their revisions."""
        ...

    @property
    def prompts(self) -> Prompts:
        """The prompt registry."""
        ...

    @property
    def traces(self) -> Traces:
        """Trace queries and the span sink."""
        ...

    @property
    def tracking_uri(self) -> str:
        """The URI of the client's metadata store."""
        ...

    def current_project(self) -> str:
        """Return the name of the client's current project."""
        ...

    def set_project(self, name: str) -> Project:
        """Make ``name`` the client's current project (created on first use) and return it."""
        ...

    def list_projects(self) -> list[Project]:
        """Return every project, by name."""
        ...

    def project_id(self, name: str | None = None) -> str:
        """Return the id of project ``name`` (default: the current one), creating it."""
        ...

    def close(self, *, end_runs: bool = True) -> None:
        """End the client's active runs (unless not), flush its buffers, release its stores."""
        ...


class _Default:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.factory: Callable[[str | None, str | None], SdkClient] | None = None
        self.client: SdkClient | None = None
        self.uri: str | None = None
        self.project: str | None = None


_default = _Default()


def register_default_factory(factory: Callable[[str | None, str | None], SdkClient]) -> None:
    """Say how to make the default client: ``factory(tracking_uri, project)``."""
    _default.factory = factory


def default_client() -> SdkClient:
    """Return the process's default client, made on first use from the chosen URI and project."""
    client = _default.client
    if client is not None:
        return client
    with _default.lock:
        if _default.client is None:
            if _default.factory is None:
                # The faces layer registers the factory when windlass.client is imported;
                # the lazy root package imports nothing, so load it by name, as pluggy loads
                # the built-in plugins (a late binding, not an import pointing up).
                importlib.import_module("windlass.client")
            if _default.factory is None:
                raise ConfigError("windlass.client registered no default client factory")
            _default.client = _default.factory(_default.uri, _default.project)
        return _default.client


def current_default() -> SdkClient | None:
    """Return the default client if one was made, without making one."""
    return _default.client


def chosen_uri() -> str | None:
    """Return the tracking URI chosen with ``set_tracking_uri`` (None: settings decide)."""
    return _default.uri


def replace_default(uri: str | None) -> None:
    """Close the default client (its runs are left running) and make the next use ``uri``.

    The next default client starts in the project the closed one was in.
    """
    with _default.lock:
        old, _default.client, _default.uri = _default.client, None, uri
        if old is not None:
            _default.project = old.project
    if old is not None:
        old.close(end_runs=False)


def reset_default() -> None:
    """Close the default client and forget the chosen URI and project (a fresh process)."""
    replace_default(None)
    _default.project = None
