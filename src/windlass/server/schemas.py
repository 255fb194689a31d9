"""Request bodies of the REST API (pydantic models; they also document the OpenAPI spec)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from windlass.store.filters import (
    MAX_CONDITIONS,
    MAX_DEPTH,
    MAX_FILTER_LENGTH,
    MAX_JOINS,
    MAX_ORDER_BY_KEYS,
)

#: The ``page_token`` query parameter of every paged listing. Deliberately unconstrained
#: here: the store decodes it (windlass.store.paging), so every forged, damaged, oversized
#: or foreign token is one error, 400 ``INVALID_PAGE_TOKEN``.
PageToken = Annotated[
    str | None,
    Query(description="The next_page_token of the previous page (opaque); absent for the first."),
]

Float = float | Literal["NaN", "Infinity", "-Infinity"]


def _whole_number(value: Any) -> Any:
    """JSON Schema's ``integer`` is any number with a zero fraction: ``1.0`` is ``1``."""
    if type(value) is float and value.is_integer():
        return int(value)
    return value


#: JSON's integer is a whole number: ``3`` or ``3.0``; not ``3.5``, ``"3"`` or ``true``.
#: (The bounds come before the validator, so the schema states them as minimum/maximum.)
WHOLE = BeforeValidator(_whole_number)
#: A signed 64-bit integer (metric steps).
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1), WHOLE]
#: A non-negative 64-bit integer (sizes, and UTC milliseconds since the epoch).
NonNegative64 = Annotated[int, Field(ge=0, le=2**63 - 1), WHOLE]
Millis = NonNegative64
Id = Annotated[str, Field(pattern="^[0-9a-f]{32}$")]
Digest = Annotated[str, Field(pattern="^[0-9a-fA-F]{64}$")]
Key = Annotated[str, Field(pattern="^[A-Za-z0-9_\\-./ :]{1,250}$")]
ProjectName = Annotated[str, Field(pattern="^[A-Za-z0-9][A-Za-z0-9_.\\-]{0,255}$")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ProjectCreate(_Body):
    """Get-or-create a project by name.

    A new project gets ``id`` (the writer's; 409 ``ID_CONFLICT`` if another project holds
    it) and ``created_at``; an existing name returns its project as it is.
    """

    name: ProjectName
    id: Id | None = None
    created_at: Millis | None = None


class SourceBody(_Body):
    """Where a run's code ran."""

    user: str = Field(default="", max_length=256)
    git_commit: str | None = Field(default=None, max_length=64)
    git_dirty: bool | None = None
    command: str = Field(default="", max_length=100_000)
    system: dict[str, Any] = Field(default_factory=dict)
    host: str = Field(default="", max_length=256)
    pid: Annotated[int, Field(ge=0, le=2**31 - 1), WHOLE] | None = None


class RunCreate(_Body):
    """Create a run (idempotent per ``run_id``)."""

    run_id: Id | None = None
    project_id: Id
    name: str | None = Field(default=None, max_length=256)
    start_time: Millis | None = None
    parent_run_id: Id | None = None
    source: SourceBody = Field(default_factory=SourceBody)
    tags: dict[Key, str] = Field(default_factory=dict)


class RunUpdate(_Body):
    """Change a run's status, end time or name."""

    status: Literal["running", "finished", "failed", "killed"] | None = None
    end_time: Millis | None = None
    name: str | None = Field(default=None, max_length=256)


class Heartbeat(_Body):
    """A run's process is alive at ``at`` (server time when absent)."""

    at: Millis | None = None


class FailStale(_Body):
    """Fail running runs whose last heartbeat is older than ``heartbeat_before``."""

    heartbeat_before: Millis


class Params(_Body):
    """Params to log."""

    params: dict[Key, str]


class Tags(_Body):
    """Tags to set."""

    tags: dict[Key, str]


class MetricBatchBody(_Body):
    """Metric points in columns (same length each); ``id`` makes retries idempotent."""

    id: Id
    run_ids: list[Id]
    keys: list[Key]
    values: list[Float]
    steps: list[Int64]
    timestamps: list[Millis]


class SearchRuns(_Body):
    """Search runs with the filter language."""

    projects: list[str] | None = Field(default=None, description="Project names or ids.")
    # Bounded by the store (windlass.store.filters), which names the limit it went over:
    # 400 LIMIT_EXCEEDED, as in embedded mode.
    filter: str | None = Field(
        default=None,
        description=(
            f"Filter language text, at most {MAX_FILTER_LENGTH} characters, {MAX_CONDITIONS} "
            f"conditions ({MAX_JOINS} on metrics, params or tags), nested {MAX_DEPTH} deep."
        ),
    )
    order_by: list[str] | None = Field(
        default=None, description=(f"At most {MAX_ORDER_BY_KEYS} clauses `<field> [ASC|DESC]`.")
    )
    max_results: Annotated[int, Field(ge=1, le=50_000), WHOLE] = 1000
    page_token: str | None = Field(
        default=None, description="The next_page_token of the previous page (opaque)."
    )
    view: Literal["active", "deleted", "all"] = "active"


class ArtifactEntryBody(_Body):
    """One uploaded file of a run."""

    path: str = Field(min_length=1, max_length=1024)
    digest: Digest
    size: NonNegative64


class ArtifactEntries(_Body):
    """Files to record."""

    entries: list[ArtifactEntryBody]


class DatasetInputBody(_Body):
    """One dataset a run read."""

    name: str = Field(pattern="^[A-Za-z0-9][A-Za-z0-9_.\\-]{0,255}$")
    digest: str = Field(pattern="^[\\x21-\\x7e]{1,128}$")
    context: str = Field(default="training", pattern="^[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}$")
    source: str = Field(default="", max_length=10_000)
    rows: NonNegative64 | None = None
    schema_: dict[
        Annotated[str, Field(min_length=1, max_length=1024)], Annotated[str, Field(max_length=256)]
    ] = Field(
        default_factory=dict,
        alias="schema",
        description="Column name to dtype (at most 10,000 columns)",
    )


class DatasetInputs(_Body):
    """Datasets a run read (the same name, digest and context again is a no-op)."""

    inputs: list[DatasetInputBody] = Field(description="At most 1000 per request")
