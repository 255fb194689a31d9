"""Plain data objects of experiment tracking: runs, metrics, params, artifacts, dataset inputs."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple


class RunStatus(StrEnum):
    """Where a run is in its life: running, or ended one of three ways."""

    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    KILLED = "killed"

    @property
    def is_terminal(self) -> bool:
        """Tell whether the run has ended."""
        return self is not RunStatus.RUNNING


class ViewType(StrEnum):
    """Which runs a listing includes: active (default), deleted, or all."""

    ACTIVE = "active"
    DELETED = "deleted"
    ALL = "all"


STATUS_BY_VALUE = {status.value: status for status in RunStatus}


@dataclass(frozen=True)
class RunSource:
    """Where a run's code came from: git commit, dirty flag, command line, system info."""

    user: str = ""
    git_commit: str | None = None
    git_dirty: bool | None = None
    command: str = ""
    system: dict[str, Any] = field(default_factory=dict)
    host: str = ""
    pid: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "user": self.user,
            "git_commit": self.git_commit,
            "git_dirty": self.git_dirty,
            "command": self.command,
            "system": self.system,
            "host": self.host,
            "pid": self.pid,
        }


class MetricValue(NamedTuple):
    """The latest value of one metric of a run (largest step, then latest timestamp).

    A named tuple rather than a dataclass: searches build tens of thousands of them.
    """

    key: str
    value: float
    step: int
    timestamp: int


@dataclass(frozen=True)
class Run:
    """One tracked execution: identity, status, times, source, params, tags, latest metrics."""

    id: str
    project_id: str
    name: str
    status: RunStatus
    start_time: int
    end_time: int | None
    parent_run_id: str | None
    deleted: bool
    source: RunSource
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, MetricValue] = field(default_factory=dict)
    heartbeat_at: int | None = None

    @property
    def user(self) -> str:
        """Return the user that started the run."""
        return self.source.user

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (non-finite metric values as strings)."""
        return {
            "id": self.id,
            "project_id": self.project_id,
            "name": self.name,
            "status": self.status.value,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "parent_run_id": self.parent_run_id,
            "deleted": self.deleted,
            "heartbeat_at": self.heartbeat_at,
            "source": self.source.to_dict(),
            "params": dict(self.params),
            "tags": dict(self.tags),
            # [value, step, timestamp] per key: compact, and quick to read back.
            "metrics": {
                k: [encode_float(m.value), m.step, m.timestamp] for k, m in self.metrics.items()
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Run:
        """Rebuild a run from :meth:`to_dict` output (``data`` is taken over, not copied)."""
        metrics = {}
        for key, (value, step, timestamp) in data["metrics"].items():
            if type(value) is not float:
                value = decode_float(value)
            metrics[key] = MetricValue(key, value, step, timestamp)
        return cls(
            id=data["id"],
            project_id=data["project_id"],
            name=data["name"],
            status=STATUS_BY_VALUE[data["status"]],
            start_time=data["start_time"],
            end_time=data["end_time"],
            parent_run_id=data["parent_run_id"],
            deleted=data["deleted"],
            heartbeat_at=data["heartbeat_at"],
            source=RunSource(**data["source"]),
            params=data["params"],
            tags=data["tags"],
            metrics=metrics,
        )


class MetricPoint(NamedTuple):
    """One point of a metric's time series (a named tuple: histories hold millions)."""

    key: str
    value: float
    step: int
    timestamp: int


@dataclass(frozen=True)
class ArtifactEntry:
    """One file of a run's artifacts: its path, content digest (BLAKE3 hex) and size."""

    path: str
    digest: str
    size: int

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {"path": self.path, "digest": self.digest, "size": self.size}


@dataclass(frozen=True)
class ArtifactListing:
    """One entry of an artifact folder listing: a file (with digest) or a sub-folder."""

    path: str
    is_dir: bool
    size: int | None = None
    digest: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {"path": self.path, "is_dir": self.is_dir, "size": self.size, "digest": self.digest}


@dataclass(frozen=True)
class DatasetInput:
    """A dataset a run read: its name, content digest, where it came from, and its shape.

    ``context`` says how the run used it (``training``, ``validation``, ``evaluation``...);
    ``schema`` maps column names to dtypes. A run records the same (name, digest, context)
    once.
    """

    name: str
    digest: str
    context: str = "training"
    source: str = ""
    rows: int | None = None
    schema: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "name": self.name,
            "digest": self.digest,
            "context": self.context,
            "source": self.source,
            "rows": self.rows,
            "schema": dict(self.schema),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetInput:
        """Rebuild from :meth:`to_dict` output."""
        return cls(
            data["name"],
            data["digest"],
            data.get("context", "training"),
            data.get("source", ""),
            data.get("rows"),
            dict(data.get("schema") or {}),
        )


_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def encode_float(value: float) -> float | str:
    """Return ``value`` for JSON: finite floats as is, NaN and ±inf as strings."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def decode_float(value: float | int | str) -> float:
    """Invert :func:`encode_float`."""
    if isinstance(value, str):
        try:
            return _NON_FINITE[value]
        except KeyError:
            return float(value)
    return float(value)


@dataclass
class MetricBatch:
    """Metric points for one or more runs, in columns; ``id`` makes a retried batch a no-op."""

    id: str
    run_ids: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    timestamps: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.keys)

    def append(self, run_id: str, key: str, value: float, step: int, timestamp: int) -> None:
        """Add one point."""
        self.run_ids.append(run_id)
        self.keys.append(key)
        self.values.append(value)
        self.steps.append(step)
        self.timestamps.append(timestamp)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (non-finite values as strings)."""
        return {
            "id": self.id,
            "run_ids": self.run_ids,
            "keys": self.keys,
            "values": [encode_float(v) for v in self.values],
            "steps": self.steps,
            "timestamps": self.timestamps,
        }
