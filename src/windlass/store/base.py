"""The metadata store interface. SQL stores and the REST client implement it alike.

The SDK cannot tell embedded mode from server mode: it only ever talks to a
:class:`MetadataStore`. Validation of names and values lives above this interface, in the
tracking domain; implementations store what they are given and raise the errors of
:mod:`windlass.exceptions` (never a driver's own exception).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from windlass.entities import (
    AliasEvent,
    ArtifactEntry,
    ArtifactListing,
    DatasetInput,
    Deployment,
    DeploymentEvent,
    MetricBatch,
    MetricPoint,
    ModelVersion,
    Page,
    Project,
    Prompt,
    PromptAliasEvent,
    PromptVariable,
    PromptVersion,
    RegisteredModel,
    Run,
    RunSource,
    RunStatus,
    Span,
    SpanIngestResult,
    Template,
    TraceGrouping,
    TraceRollup,
    TraceStats,
    TraceSummary,
    Variant,
    ViewType,
)


class MetadataStore(ABC):
    """Projects, runs, params, tags, metrics and the artifact index."""

    # -- projects ------------------------------------------------------------------------
    @abstractmethod
    def get_or_create_project(self, name: str, project_id: str, created_at: int) -> Project:
        """Return the project named ``name``, creating it (with this id) if it does not exist.

        ``project_id`` already held by a project of another name is IdConflict.
        """

    @abstractmethod
    def get_project(self, name_or_id: str) -> Project:
        """Return a project by name or id, or raise ProjectNotFound."""

    @abstractmethod
    def list_projects(self, max_results: int = 100, page_token: str | None = None) -> Page[Project]:
        """Return projects ordered by name, one page at a time."""

    # -- runs ----------------------------------------------------------------------------
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
    def log_params(self, run_id: str, params: dict[str, str]) -> None:
        """Store params; the same value again is a no-op, a different one is ParamConflict."""

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

    # -- artifact index ------------------------------------------------------------------
    @abstractmethod
    def record_artifacts(self, run_id: str, entries: list[ArtifactEntry]) -> None:
        """Record (or replace) files of a run's artifacts by path."""

    @abstractmethod
    def list_artifacts(self, run_id: str, path: str = "") -> list[ArtifactListing]:
        """List the files and folders directly under ``path`` of a run's artifacts."""

    @abstractmethod
    def get_artifact(self, run_id: str, path: str) -> ArtifactEntry:
        """Return one artifact file's entry, or raise ArtifactNotFound."""

    @abstractmethod
    def walk_artifacts(self, run_id: str, path: str = "") -> list[ArtifactEntry]:
        """Return every file under ``path`` (recursively), ordered by path."""

    # -- dataset inputs of runs ----------------------------------------------------------
    @abstractmethod
    def log_inputs(self, run_id: str, inputs: list[DatasetInput]) -> None:
        """Record datasets a run read; the same (name, digest, context) again is a no-op."""

    @abstractmethod
    def list_inputs(self, run_id: str) -> list[DatasetInput]:
        """Return the datasets a run read, in the order they were first logged."""

    # -- model registry ------------------------------------------------------------------
    @abstractmethod
    def create_registered_model(
        self,
        *,
        model_id: str,
        project_id: str,
        name: str,
        description: str,
        tags: dict[str, str],
        created_at: int,
        exist_ok: bool = False,
    ) -> RegisteredModel:
        """Create a registered model; an existing name raises AlreadyExists unless exist_ok.

        The same ``model_id`` again returns the model it created (retries are safe); the id
        of a model with another project or name is IdConflict.
        """

    @abstractmethod
    def get_registered_model(self, project_id: str, name: str) -> RegisteredModel:
        """Return a registered model with tags, aliases and newest version, or ModelNotFound."""

    @abstractmethod
    def list_registered_models(
        self, project_id: str, max_results: int = 100, page_token: str | None = None
    ) -> Page[RegisteredModel]:
        """Return a project's registered models ordered by name, one page at a time."""

    @abstractmethod
    def update_registered_model(
        self,
        project_id: str,
        name: str,
        *,
        description: str | None = None,
        card: str | None = None,
        set_tags: dict[str, str] | None = None,
        delete_tags: list[str] | None = None,
        updated_at: int,
    ) -> RegisteredModel:
        """Change description, Markdown card or tags (None leaves a field as it is)."""

    @abstractmethod
    def delete_registered_model(self, project_id: str, name: str) -> None:
        """Delete a model with its versions; InvalidState while any alias exists."""

    @abstractmethod
    def create_model_version(
        self,
        *,
        version_id: str,
        project_id: str,
        name: str,
        source: str,
        run_id: str | None,
        files: list[ArtifactEntry],
        manifest: dict[str, Any],
        description: str,
        claimed_by: str,
        created_at: int,
    ) -> ModelVersion:
        """Add the next version (1, 2, 3... without gaps or duplicates under concurrency).

        The same ``version_id`` again returns the version already created (retries are
        safe). The registered model must exist (ModelNotFound).
        """

    @abstractmethod
    def get_model_version(self, project_id: str, name: str, version: int) -> ModelVersion:
        """Return one version (with its aliases), or ModelVersionNotFound."""

    @abstractmethod
    def get_model_version_by_alias(self, project_id: str, name: str, alias: str) -> ModelVersion:
        """Return the version an alias points to, or ModelVersionNotFound naming the alias."""

    @abstractmethod
    def list_model_versions(
        self, project_id: str, name: str, max_results: int = 100, page_token: str | None = None
    ) -> Page[ModelVersion]:
        """Return a model's versions, newest first, one page at a time."""

    @abstractmethod
    def delete_model_version(self, project_id: str, name: str, version: int) -> None:
        """Delete a version; InvalidState (naming the aliases) while an alias points to it."""

    @abstractmethod
    def set_model_alias(
        self, project_id: str, name: str, alias: str, version: int, *, claimed_by: str, at: int
    ) -> AliasEvent:
        """Point ``alias`` at ``version`` atomically and record the move (who, when, from, to)."""

    @abstractmethod
    def delete_model_alias(
        self, project_id: str, name: str, alias: str, *, claimed_by: str, at: int
    ) -> AliasEvent:
        """Remove an alias and record it (``to_version`` None); a missing alias is NotFound."""

    @abstractmethod
    def alias_history(
        self, project_id: str, name: str, alias: str | None = None
    ) -> list[AliasEvent]:
        """Return every recorded alias move of a model (or of one alias), oldest first."""

    # -- deployments ---------------------------------------------------------------------
    @abstractmethod
    def create_deployment(
        self,
        *,
        deployment_id: str,
        project_id: str,
        name: str,
        description: str,
        variants: list[Variant],
        shadow: Variant | None,
        claimed_by: str,
        at: int,
    ) -> Deployment:
        """Create a deployment at revision 1 and record it (action ``create``).

        A taken name raises AlreadyExists, unless the deployment holding it has this
        ``deployment_id``: then it is returned as it is (a retried create is safe).
        """

    @abstractmethod
    def get_deployment(self, project_id: str, name: str) -> Deployment:
        """Return a deployment, or raise DeploymentNotFound."""

    @abstractmethod
    def list_deployments(
        self, project_id: str, max_results: int = 100, page_token: str | None = None
    ) -> Page[Deployment]:
        """Return a project's deployments ordered by name, one page at a time."""

    @abstractmethod
    def update_deployment(
        self,
        project_id: str,
        name: str,
        *,
        variants: list[Variant],
        shadow: Variant | None,
        action: str,
        claimed_by: str,
        at: int,
        expected_revision: int | None = None,
    ) -> Deployment:
        """Replace variants and shadow as the next revision, and record the change.

        Atomic: the revision grows by one and the event is written in one transaction,
        under the deployment's lock, so revisions never repeat or skip. A state equal to
        the current one changes and records nothing (the deployment is returned as it
        is). Otherwise, with ``expected_revision`` given and not the current revision,
        nothing changes and Conflict is raised (``details['revision']`` is the current one).
        """

    @abstractmethod
    def deployment_history(
        self,
        project_id: str,
        name: str,
        max_results: int = 100,
        page_token: str | None = None,
        *,
        newest_first: bool = False,
    ) -> Page[DeploymentEvent]:
        """Return a deployment's recorded changes by revision (oldest first unless asked)."""

    @abstractmethod
    def get_deployment_revision(self, project_id: str, name: str, revision: int) -> DeploymentEvent:
        """Return the recorded change that made ``revision``, or DeploymentNotFound."""

    @abstractmethod
    def delete_deployment(self, project_id: str, name: str) -> None:
        """Delete a deployment with its history, or raise DeploymentNotFound."""

    # -- traces --------------------------------------------------------------------------
    @abstractmethod
    def ingest_spans(
        self, project_id: str, spans: Sequence[Span], ingested_at: int
    ) -> SpanIngestResult:
        """Store new spans and update their traces' rows, all in one transaction.

        A span whose ``(trace_id, span_id)`` the project already holds (or that repeats in
        the batch) is not stored again and is listed in the result's ``duplicates``, so a
        retried batch is safe. Concurrent ingests of one trace leave its row correct.
        ``ingested_at`` is in milliseconds. An unknown project raises ProjectNotFound; a
        span that cannot be stored (malformed ids, attributes that are not JSON) raises
        InvalidInput and nothing of the batch is stored.
        """

    @abstractmethod
    def get_trace(self, trace_id: str, project_id: str | None = None) -> list[Span]:
        """Return every span of a trace, ordered by start time, or raise TraceNotFound."""

    @abstractmethod
    def search_traces(
        self,
        project_ids: list[str],
        filter: str | None = None,
        start_ns: int | None = None,
        end_ns: int | None = None,
        order_by: list[str] | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> Page[TraceSummary]:
        """Return traces matching a filter, newest first unless ordered, keyset-paged.

        ``start_ns <= trace start < end_ns`` when given. The filter language is the one of
        runs (:mod:`windlass.store.filters`) over trace fields; see
        :mod:`windlass.store.sql.trace_search` for the fields. ``max_results`` is 1..1000.
        """

    @abstractmethod
    def trace_stats(
        self,
        project_ids: list[str],
        filter: str | None = None,
        start_ns: int | None = None,
        end_ns: int | None = None,
    ) -> TraceStats:
        """Return counts, error rate, latency percentiles, tokens and cost of the traces."""

    @abstractmethod
    def trace_rollup(
        self,
        project_ids: list[str],
        group_by: TraceGrouping,
        filter: str | None = None,
        start_ns: int | None = None,
        end_ns: int | None = None,
        max_results: int = 1000,
    ) -> list[TraceRollup]:
        """Return the traces' totals per session, user, UTC day, model or prompt version.

        Days come oldest first; other keys by number of traces (then key). Traces without
        the key (no session, no model...) are left out. ``max_results`` is 1..10000.
        """

    @abstractmethod
    def search_spans(
        self,
        project_ids: list[str],
        start_ns: int | None = None,
        end_ns: int | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
    ) -> Page[Span]:
        """Return spans in (start, trace id, span id) order, keyset-paged (for export).

        ``start_ns <= span start < end_ns`` when given. ``max_results`` is 1..10000.
        """

    # -- prompts -------------------------------------------------------------------------
    @abstractmethod
    def create_prompt(
        self,
        *,
        prompt_id: str,
        project_id: str,
        name: str,
        description: str,
        created_at: int,
        exist_ok: bool = False,
    ) -> Prompt:
        """Create a prompt; an existing name raises AlreadyExists unless ``exist_ok``.

        The same ``prompt_id`` again returns the prompt it created (retries are safe); the
        id of a prompt with another project, name or description is IdConflict.
        """

    @abstractmethod
    def get_prompt(self, project_id: str, name: str) -> Prompt:
        """Return a prompt with its aliases and newest version number, or PromptNotFound."""

    @abstractmethod
    def list_prompts(
        self, project_id: str, max_results: int = 100, page_token: str | None = None
    ) -> Page[Prompt]:
        """Return a project's prompts ordered by name, one page at a time."""

    @abstractmethod
    def delete_prompt(self, project_id: str, name: str) -> None:
        """Delete a prompt with its versions and history; InvalidState while aliased."""

    @abstractmethod
    def create_prompt_version(
        self,
        *,
        version_id: str,
        project_id: str,
        name: str,
        template: Template,
        model: dict[str, Any],
        response_format: dict[str, Any] | None,
        variables: dict[str, PromptVariable],
        content_hash: str,
        commit_message: str,
        claimed_by: str,
        created_at: int,
    ) -> PromptVersion:
        """Add the prompt's next version (1, 2, 3... without gaps or duplicates).

        The same ``version_id`` again returns the version already created (retries are
        safe). When ``content_hash`` equals the newest version's, nothing is created and
        the newest version is returned (its id is not ``version_id``), decided under the
        prompt's lock, so concurrent registers of one content create one version. The
        prompt must exist (PromptNotFound).
        """

    @abstractmethod
    def get_prompt_version(self, project_id: str, name: str, version: int) -> PromptVersion:
        """Return one version (with its aliases), or PromptVersionNotFound."""

    @abstractmethod
    def get_prompt_version_by_alias(self, project_id: str, name: str, alias: str) -> PromptVersion:
        """Return the version an alias points to, or PromptVersionNotFound naming the alias."""

    @abstractmethod
    def list_prompt_versions(
        self, project_id: str, name: str, max_results: int = 100, page_token: str | None = None
    ) -> Page[PromptVersion]:
        """Return a prompt's versions, newest first, one page at a time."""

    @abstractmethod
    def set_prompt_alias(
        self, project_id: str, name: str, alias: str, version: int, *, claimed_by: str, at: int
    ) -> PromptAliasEvent:
        """Point ``alias`` at ``version`` atomically and record the move (who, when, from, to).

        Setting an alias to the version it already names records nothing; the event
        returned then has ``from_version == to_version``.
        """

    @abstractmethod
    def delete_prompt_alias(
        self, project_id: str, name: str, alias: str, *, claimed_by: str, at: int
    ) -> PromptAliasEvent:
        """Remove an alias and record it (``to_version`` None); a missing alias is NotFound."""

    @abstractmethod
    def prompt_alias_history(
        self, project_id: str, name: str, alias: str | None = None
    ) -> list[PromptAliasEvent]:
        """Return every recorded alias move of a prompt (or of one alias), oldest first."""

    def close(self) -> None:  # noqa: B027 - optional hook with a no-op default
        """Release connections."""
