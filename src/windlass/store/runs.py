"""The runs store interface: projects, runs, params, tags, metrics and the datasets runs read.

The SQL store (:mod:`windlass.store.sql.runs`) and the REST client
(:mod:`windlass.store.rest.runs`) implement it alike; the contract suite
``tests/store/test_runs_contract.py`` holds both to it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from windlass.entities import (
    DatasetInput,
    MetricBatch,
    MetricPoint,
    Page,
    Project,
    Run,
    RunSource,
    RunStatus,
    ViewType,
)

#: The largest page of runs one search returns.
MAX_SEARCH_RESULTS = 50_000
#: The largest page of a metric's history one call returns.
MAX_HISTORY_RESULTS = 1_000_000
#: The largest page of projects one call returns.
MAX_PROJECT_RESULTS = 10_000


class RunStore(ABC):
    """Projects, runs, params, tags, metrics and the datasets runs read."""

    # -- projects ----------------------------------------------------------------
    @abstractmethod
    def get_or_create_project(self, name: str, project_id: str, created_at: int) -> Project:
        """Return the project named ``name``, creating it (with this id) if it does not exist."""

    @abstractmethod
    def get_project(self, name_or_id: str) -> Project:
        """Return a project by name or id, or raise ProjectNotFound."""

    @abstractmethod
    def list_projects(self, max_results: int = 100, page_token: str | None = None) -> Page[Project]:
        """Return projects ordered by name, one page at a time."""

    # -- runs --------------------------------------------------------------------
    @abstractmethod
    def create_run(
        self,
        *,
        run_id: str,
        project_id: str,
        name: str,
        start_time: int,
        parent_run_id: str | None,
        source: RunSource,
        tags: dict[str, str],
    ) -> Run:
        """Create a running run; creating the same id again returns the existing run."""

    @abstractmethod
    def get_run(self, run_id: str) -> Run:
        """Return a run with its params, tags and latest metrics, or raise RunNotFound."""

    def get_run_head(self, run_id: str) -> Run:
        """Return a run's own fields (status, times, name, source), or raise RunNotFound.

        Its params, tags and metrics may be left empty: a store that can read the run's own
        row alone (SQL) skips them; the default reads the whole run.
        """
        return self.get_run(run_id)

    @abstractmethod
    def update_run(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        end_time: int | None = None,
        name: str | None = None,
    ) -> Run:
        """Change a run's status, end time or name and return it."""

    @abstractmethod
    def heartbeat(self, run_id: str, at: int) -> None:
        """Record that the process running ``run_id`` is alive at time ``at``."""

    @abstractmethod
    def fail_stale_runs(self, heartbeat_before: int) -> list[str]:
        """Mark running runs whose last heartbeat is older than ``heartbeat_before`` failed."""

    @abstractmethod
    def set_run_deleted(self, run_id: str, deleted: bool, at: int) -> Run:
        """Soft-delete (``deleted=True``) or restore a run."""

    @abstractmethod
    def log_params(self, run_id: str, params: dict[str, str], *, logged_by: str = "") -> None:
        """Store params; the same value again is a no-op, a different one is ParamConflict.

        ``logged_by`` is the name of the principal logging them, recorded with each new
        param (a repeat keeps the first author). A store behind a server does not send it:
        the server records its own request's principal.
        """

    @abstractmethod
    def set_tags(self, run_id: str, tags: dict[str, str]) -> None:
        """Set (or overwrite) tags."""

    @abstractmethod
    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag (a missing tag is not an error)."""

    @abstractmethod
    def log_metrics(self, batch: MetricBatch) -> int:
        """Store a batch of points for one or more runs; return the number of points stored.

        A batch whose id was already stored stores nothing and returns 0.
        """

    @abstractmethod
    def get_metric_history(
        self, run_id: str, key: str, max_results: int = 100_000, page_token: str | None = None
    ) -> Page[MetricPoint]:
        """Return a metric's points in (step, timestamp) order, one page at a time."""

    @abstractmethod
    def search_runs(
        self,
        projects: list[str] | None,
        filter: str | None = None,
        order_by: list[str] | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
        view: ViewType = ViewType.ACTIVE,
    ) -> Page[Run]:
        """Return runs matching a filter (see :mod:`windlass.store.filters`), keyset-paged.

        ``projects`` are names or ids (None: every project); an unknown one raises
        ProjectNotFound.
        """

    # -- dataset inputs of runs --------------------------------------------------
    @abstractmethod
    def log_inputs(self, run_id: str, inputs: list[DatasetInput]) -> None:
        """Record datasets a run read; the same (name, digest, context) again is a no-op."""

    @abstractmethod
    def list_inputs(self, run_id: str) -> list[DatasetInput]:
        """Return the datasets a run read, in the order they were first logged."""
