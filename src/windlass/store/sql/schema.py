"""The metadata schema as SQLAlchemy Core tables (the Alembic migrations create exactly this)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
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
    # JSON list of alias names; NULL: the default (production, champion).
    Column("protected_aliases", Text),
    Column("two_person_review", Boolean, nullable=False, server_default=false()),
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
    # Who logged the param: the principal's name, recorded by the domain layer (0008).
    Column("logged_by", String(256), nullable=False, server_default=""),
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
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
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

# Batch ids already applied: a retried batch (same id) is not stored twice, and one with
# other points (another digest) is an IdConflict. Batches from before 0007 have no digest.
metric_batches = Table(
    "metric_batches",
    metadata,
    Column("id", ID, primary_key=True),
    Column("received_at", BigInteger, nullable=False),
    Column("digest", String(64), nullable=True),
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

# Datasets a run read, in the order they were first logged (``id`` keeps that order).
run_inputs = Table(
    "run_inputs",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("run_id", ID, ForeignKey("runs.id"), nullable=False),
    Column("name", String(256), nullable=False),
    Column("digest", String(128), nullable=False),
    Column("context", String(64), nullable=False),
    Column("source", Text, nullable=False),
    Column("num_rows", BigInteger),
    Column("dataset_schema", Text, nullable=False),  # JSON {column: dtype}
    UniqueConstraint("run_id", "name", "digest", "context", name="uq_run_inputs_identity"),
)


# -- versioned kinds --------------------------------------------------------------------
@dataclass(frozen=True)
class VersionedTables:
    """The tables of one versioned kind (models, prompts...), made by :func:`_versioned`."""

    #: One row per object: ``next_version`` is the number the next version gets.
    objects: Table
    #: One row per immutable version, numbered per object.
    versions: Table
    #: The alias -> version map of each object.
    aliases: Table
    #: Every recorded alias move (from, to, who, when), oldest first by ``id``.
    events: Table


def _versioned(
    noun: str,
    objects: str,
    object_columns: list[Column[Any]],
    version_columns: list[Column[Any] | Index],
) -> VersionedTables:
    """Return the tables of a versioned kind: every kind's columns, then its own.

    ``next_version`` of an object is read and bumped in the transaction that inserts the
    version, under the object row's lock, so numbers never repeat or skip (a deleted
    version's number is not reused). Versions are immutable; an alias can only name a
    version that exists (the database refuses a dangling one too). The owner column of
    versions, aliases and events is ``<noun>_id``.
    """
    owner, versions = f"{noun}_id", f"{noun}_versions"
    objects_table = Table(
        objects,
        metadata,
        Column("id", ID, primary_key=True),
        Column("project_id", ID, ForeignKey("projects.id"), nullable=False),
        Column("name", String(256), nullable=False),
        Column("description", Text, nullable=False),
        *object_columns,
        Column("created_at", BigInteger, nullable=False),
        Column("updated_at", BigInteger, nullable=False),
        Column("next_version", Integer, nullable=False),
        UniqueConstraint("project_id", "name", name=f"uq_{objects}_project_name"),
    )
    versions_table = Table(
        versions,
        metadata,
        Column("id", ID, primary_key=True),
        Column(owner, ID, ForeignKey(f"{objects}.id"), nullable=False),
        Column("version", Integer, nullable=False),
        *version_columns,
        Column("claimed_by", String(256), nullable=False),  # unauthenticated: a claim
        Column("created_at", BigInteger, nullable=False),
        UniqueConstraint(owner, "version", name=f"uq_{versions}_{noun}_version"),
    )
    aliases = Table(
        f"{noun}_aliases",
        metadata,
        Column(owner, ID, primary_key=True),
        Column("alias", String(256), primary_key=True),
        Column("version", Integer, nullable=False),
        ForeignKeyConstraint(
            [owner, "version"],
            [f"{versions}.{owner}", f"{versions}.version"],
            name=f"fk_{noun}_aliases_version",
        ),
    )
    events = Table(
        f"{noun}_alias_events",
        metadata,
        Column(
            "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
        Column(owner, ID, ForeignKey(f"{objects}.id"), nullable=False),
        Column("alias", String(256), nullable=False),
        Column("from_version", Integer),
        Column("to_version", Integer),
        Column("claimed_by", String(256), nullable=False),  # unauthenticated: a claim
        Column("at", BigInteger, nullable=False),
        Index(f"ix_{noun}_alias_events_{noun}_alias", owner, "alias", "id"),
    )
    return VersionedTables(objects_table, versions_table, aliases, events)


# -- model registry ---------------------------------------------------------------------
# A model has a Markdown card and tags; a version, the digests of its files, its manifest
# and the run that made it.
model_tables = _versioned(
    "model",
    "registered_models",
    [Column("card", Text, nullable=False)],
    [
        Column("source", Text, nullable=False),
        # No foreign key: lineage keeps naming the run even if runs are ever purged.
        Column("run_id", ID),
        Column("files", Text, nullable=False),  # JSON [[path, digest, size], ...]
        Column("manifest", Text, nullable=False),  # JSON of windlass-model.yaml
        Column("description", Text, nullable=False),
        # How the server established the identity recorded in ``claimed_by``: an
        # AuthMethod value. Only a non-local one makes that name a registrant to trust.
        Column("registered_auth", String(16), nullable=False, server_default="local"),
        Index("ix_model_versions_run", "run_id"),
    ],
)
registered_models = model_tables.objects
registered_model_tags = Table(
    "registered_model_tags",
    metadata,
    Column("model_id", ID, ForeignKey("registered_models.id"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)
model_versions = model_tables.versions
model_aliases = model_tables.aliases
model_alias_events = model_tables.events

# -- deployments ------------------------------------------------------------------------
# A deployment's current state; ``revision`` grows by one with every change, in the
# transaction that records the change in ``deployment_events`` (under the row's lock), so
# the events of a deployment are numbered 1, 2, 3... without gaps or repeats.
deployments = Table(
    "deployments",
    metadata,
    Column("id", ID, primary_key=True),
    Column("project_id", ID, ForeignKey("projects.id"), nullable=False),
    Column("name", String(256), nullable=False),
    Column("description", Text, nullable=False),
    Column("variants", Text, nullable=False),  # JSON [{name, model_uri, weight}, ...]
    Column("shadow", Text),  # JSON {name, model_uri, weight}, or NULL without a shadow
    Column("revision", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    UniqueConstraint("project_id", "name", name="uq_deployments_project_name"),
)

# Each event holds the state the change left behind, so any revision can be restored.
deployment_events = Table(
    "deployment_events",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("deployment_id", ID, ForeignKey("deployments.id"), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("action", String(32), nullable=False),
    Column("variants", Text, nullable=False),
    Column("shadow", Text),
    Column("claimed_by", String(256), nullable=False),  # unauthenticated: a claim
    Column("at", BigInteger, nullable=False),
    UniqueConstraint("deployment_id", "revision", name="uq_deployment_events_revision"),
)

# -- traces -----------------------------------------------------------------------------
# One row per span, as ingested (never updated). The primary key (project, trace, span)
# refuses a span stored twice and also serves "the spans of a trace"; (project, model,
# trace) answers "did this trace use model X" with one index probe, (project, start, ...)
# pages the export. JSON columns (attributes, resource, events) are text written by
# orjson, returned byte for byte.
TRACE_ID = String(32)
SPAN_ID = String(16)

spans = Table(
    "spans",
    metadata,
    Column("project_id", ID, ForeignKey("projects.id"), primary_key=True),
    Column("trace_id", TRACE_ID, primary_key=True),
    Column("span_id", SPAN_ID, primary_key=True),
    Column("parent_span_id", SPAN_ID),
    Column("name", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("start_ns", BigInteger, nullable=False),
    Column("end_ns", BigInteger, nullable=False),
    Column("duration_ns", BigInteger, nullable=False),
    Column("status", String(8), nullable=False),
    Column("status_message", Text, nullable=False),
    Column("model", Text),
    Column("provider", Text),
    Column("input_tokens", BigInteger),
    Column("output_tokens", BigInteger),
    Column("cached_input_tokens", BigInteger),
    Column("reasoning_tokens", BigInteger),
    Column("cost", Double),  # US dollars; NULL = unknown, never silently zero
    Column("session_id", Text),
    Column("user_id", Text),
    Column("run_id", Text),
    Column("prompt_name", Text),
    Column("prompt_version", Integer),
    Column("input", Text),
    Column("output", Text),
    Column("attributes", Text, nullable=False),  # JSON object
    Column("resource", Text, nullable=False),  # JSON object
    Column("events", Text, nullable=False),  # JSON [{name, time_ns, attributes}, ...]
    Column("scope", Text, nullable=False),
    Column("ingested_at", BigInteger, nullable=False),
    Index("ix_spans_project_start", "project_id", "start_ns", "trace_id", "span_id"),
    Index("ix_spans_project_model", "project_id", "model", "trace_id"),
)

# One row per trace, kept up to date by every ingest in the transaction that stores its
# spans: sums and counts add up, min/max and "first non-null" merge, so concurrent ingests
# of one trace compose (PostgreSQL: INSERT ... ON CONFLICT DO UPDATE on the row's lock).
# ``name`` is the root span's (``root_span_id`` set) or, until the root arrives, the
# earliest span's. ``cost`` sums known costs (NULL while none is known); the trace's cost
# is complete when ``unpriced_llm_spans`` is 0. ``models`` is a sorted JSON array.
traces = Table(
    "traces",
    metadata,
    Column("project_id", ID, ForeignKey("projects.id"), primary_key=True),
    Column("trace_id", TRACE_ID, primary_key=True),
    Column("name", Text, nullable=False),
    Column("root_span_id", SPAN_ID),
    Column("start_ns", BigInteger, nullable=False),
    Column("end_ns", BigInteger, nullable=False),
    Column("status", String(8), nullable=False),
    Column("span_count", Integer, nullable=False),
    Column("llm_calls", Integer, nullable=False),
    Column("session_id", Text),
    Column("user_id", Text),
    Column("input_tokens", BigInteger, nullable=False),
    Column("output_tokens", BigInteger, nullable=False),
    Column("cost", Double),
    Column("unpriced_llm_spans", Integer, nullable=False),
    Column("models", Text, nullable=False),
    Column("ingested_at", BigInteger, nullable=False),
    Index("ix_traces_project_start", "project_id", "start_ns", "trace_id"),
    Index("ix_traces_project_session", "project_id", "session_id"),
    Index("ix_traces_project_user", "project_id", "user_id"),
    Index("ix_traces_trace_id", "trace_id"),
)

# -- prompts ----------------------------------------------------------------------------
# ``template``, ``model``, ``response_format`` and ``variables`` are JSON text;
# ``content_hash`` (64 hex) lets a register of unchanged content find the newest version
# without comparing the texts.
prompt_tables = _versioned(
    "prompt",
    "prompts",
    [],
    [
        Column("template", Text, nullable=False),  # JSON: a string, or [{role, content}, ...]
        Column("model", Text, nullable=False),  # JSON object
        Column("response_format", Text),  # JSON object, or NULL
        Column("variables", Text, nullable=False),  # JSON {name: {type, required, default?}}
        Column("content_hash", String(64), nullable=False),
        Column("commit_message", Text, nullable=False),
    ],
)
prompts = prompt_tables.objects
prompt_versions = prompt_tables.versions
prompt_aliases = prompt_tables.aliases
prompt_alias_events = prompt_tables.events

# The audit log is append-only: migration 0009 adds triggers that refuse UPDATE and DELETE
# (SQLite and PostgreSQL alike). ``project_id`` has no foreign key: a record outlives what it
# records, a deleted project included.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", ID, primary_key=True),
    Column("at", BigInteger, nullable=False),
    Column("principal", String(256), nullable=False),
    Column("principal_kind", String(16), nullable=False),
    Column("auth_method", String(16), nullable=False),
    Column("address", String(256)),
    Column("action", String(128), nullable=False),
    Column("object_uri", String(1024), nullable=False),
    Column("project_id", ID),
    Column("before", Text),
    Column("after", Text),
    Index("ix_audit_log_at", "at", "id"),
    Index("ix_audit_log_project_at", "project_id", "at", "id"),
    Index("ix_audit_log_object_at", "object_uri", "at"),
    Index("ix_audit_log_principal_at", "principal", "at"),
    Index("ix_audit_log_action_at", "action", "at"),
)

# -- identity (0010_identity) ---------------------------------------------------------------
users = Table(
    "users",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(256), nullable=False, unique=True),
    Column("admin", Boolean, nullable=False),
    Column("disabled", Boolean, nullable=False),
    # argon2 hash of the password (None: token-only user); never leaves the store.
    Column("password_hash", String(256)),
    Column("created_at", BigInteger, nullable=False),
    # "<issuer> <sub>" of the OpenID Connect identity that created the user (None: local).
    Column("oidc_subject", String(1024)),
    Index("ux_users_oidc_subject", "oidc_subject", unique=True),
)

# A token is stored as the SHA-256 hex digest of its secret, never the secret itself.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", ID, primary_key=True),
    Column("user_id", ID, ForeignKey("users.id"), nullable=False),
    Column("name", String(256), nullable=False),
    Column("digest", String(64), nullable=False, unique=True),
    Column("hint", String(16), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger),
    Column("scope_project_id", ID, ForeignKey("projects.id")),
    Column("scope_role", String(16)),
    Column("revoked_at", BigInteger),
    Index("ix_api_tokens_user", "user_id"),
)

project_members = Table(
    "project_members",
    metadata,
    Column("project_id", ID, ForeignKey("projects.id"), primary_key=True),
    Column("user_id", ID, ForeignKey("users.id"), primary_key=True),
    Column("role", String(16), nullable=False),
    Index("ix_project_members_user", "user_id"),
)

alias_requests = Table(
    "alias_requests",
    metadata,
    Column("id", ID, primary_key=True),
    Column("project_id", ID, ForeignKey("projects.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("name", String(256), nullable=False),
    Column("alias", String(256), nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("requested_by", String(256), nullable=False),
    Column("requested_by_id", String(256)),
    Column("requested_at", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),
    Column("decided_by", String(256)),
    Column("decided_at", BigInteger),
    Index("ix_alias_requests_project_state", "project_id", "state"),
)
