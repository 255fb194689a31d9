"""Request bodies of the REST API (pydantic models; they also document the OpenAPI spec)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Float = float | Literal["NaN", "Infinity", "-Infinity"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProjectCreate(_Body):
    """Get-or-create a project by name."""

    name: str = Field(max_length=256)
    id: str | None = Field(default=None, min_length=32, max_length=32)
    created_at: int | None = None


class SourceBody(_Body):
    """Where a run's code ran."""

    user: str = Field(default="", max_length=256)
    git_commit: str | None = Field(default=None, max_length=64)
    git_dirty: bool | None = None
    command: str = Field(default="", max_length=100_000)
    system: dict[str, Any] = Field(default_factory=dict)
    host: str = Field(default="", max_length=256)
    pid: int | None = None


class RunCreate(_Body):
    """Create a run (idempotent per ``run_id``)."""

    run_id: str | None = Field(default=None, min_length=32, max_length=32)
    project_id: str = Field(min_length=1, max_length=256)
    name: str | None = None
    start_time: int | None = Field(default=None, ge=0)
    parent_run_id: str | None = None
    source: SourceBody = Field(default_factory=SourceBody)
    tags: dict[str, str] = Field(default_factory=dict)


class RunUpdate(_Body):
    """Change a run's status, end time or name."""

    status: Literal["running", "finished", "failed", "killed"] | None = None
    end_time: int | None = Field(default=None, ge=0)
    name: str | None = None


class Heartbeat(_Body):
    """A run's process is alive at ``at`` (server time when absent)."""

    at: int | None = Field(default=None, ge=0)


class FailStale(_Body):
    """Fail running runs whose last heartbeat is older than ``heartbeat_before``."""

    heartbeat_before: int = Field(ge=0)


class Params(_Body):
    """Params to log."""

    params: dict[str, str]


class Tags(_Body):
    """Tags to set."""

    tags: dict[str, str]


class MetricBatchBody(_Body):
    """Metric points in columns (same length each); ``id`` makes retries idempotent."""

    id: str = Field(min_length=32, max_length=32)
    run_ids: list[str]
    keys: list[str]
    values: list[Float]
    steps: list[int]
    timestamps: list[int]


class SearchRuns(_Body):
    """Search runs with the filter language."""

    project_ids: list[str] | None = None
    filter: str | None = Field(default=None, max_length=20_000)
    order_by: list[str] | None = None
    max_results: int = 1000
    page_token: str | None = None
    view: Literal["active", "deleted", "all"] = "active"


class ArtifactEntryBody(_Body):
    """One uploaded file of a run."""

    path: str = Field(min_length=1, max_length=1024)
    digest: str = Field(min_length=64, max_length=64)
    size: int = Field(ge=0)


class ArtifactEntries(_Body):
    """Files to record."""

    entries: list[ArtifactEntryBody]
