"""The metadata schema as SQLAlchemy Core tables (the Alembic migrations create exactly this)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

ID = String(32)

projects = Table(
    "projects",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(256), nullable=False, unique=True),
    Column("description", Text, nullable=False, default=""),
    Column("created_at", BigInteger, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("id", ID, primary_key=True),
    Column("project_id", ID, ForeignKey("projects.id"), nullable=False),
    Column("name", String(256), nullable=False),
    Column("status", String(16), nullable=False),
    Column("start_time", BigInteger, nullable=False),
    Column("end_time", BigInteger),
    Column("parent_run_id", ID),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("deleted_at", BigInteger),
    Column("user", String(256), nullable=False, default=""),
    Column("git_commit", String(64)),
    Column("git_dirty", Boolean),
    Column("command", Text, nullable=False, default=""),
    Column("system", Text, nullable=False, default="{}"),
    Column("host", String(256), nullable=False, default=""),
    Column("pid", Integer),
    Column("heartbeat_at", BigInteger),
    Index("ix_runs_project_start", "project_id", "start_time", "id"),
    Index("ix_runs_status_heartbeat", "status", "heartbeat_at"),
    Index("ix_runs_parent", "parent_run_id"),
)

params = Table(
    "params",
    metadata,
    Column("run_id", ID, ForeignKey("runs.id"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
    Index("ix_params_key_value", "key", "value"),
)

tags = Table(
    "tags",
    metadata,
    Column("run_id", ID, ForeignKey("runs.id"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
    Index("ix_tags_key", "key"),
)

# One row per logged point. NaN is stored as value NULL with is_nan true, because SQLite
# turns NaN into NULL; ±inf are stored as themselves on both databases.
metrics = Table(
    "metrics",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("run_id", ID, nullable=False),
    Column("key", String(250), nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("value", Double),
    Column("is_nan", Boolean, nullable=False),
    Index("ix_metrics_run_key_step", "run_id", "key", "step"),
)

latest_metrics = Table(
    "latest_metrics",
    metadata,
    Column("run_id", ID, ForeignKey("runs.id"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("step", BigInteger, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("value", Double),
    Column("is_nan", Boolean, nullable=False),
    Index("ix_latest_metrics_key_value", "key", "value", "run_id"),
)

# Batch ids already applied: a retried batch (same id) is not stored twice.
metric_batches = Table(
    "metric_batches",
    metadata,
    Column("id", ID, primary_key=True),
    Column("received_at", BigInteger, nullable=False),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("run_id", ID, ForeignKey("runs.id"), primary_key=True),
    Column("path", String(1024), primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)
