"""GenAI traces: spans as ingested, and one incrementally maintained row per trace.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ID = sa.String(32)
TRACE_ID = sa.String(32)
SPAN_ID = sa.String(16)


def upgrade() -> None:
    op.create_table(
        "spans",
        sa.Column("project_id", ID, sa.ForeignKey("projects.id"), primary_key=True),
        sa.Column("trace_id", TRACE_ID, primary_key=True),
        sa.Column("span_id", SPAN_ID, primary_key=True),
        sa.Column("parent_span_id", SPAN_ID),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("start_ns", sa.BigInteger, nullable=False),
        sa.Column("end_ns", sa.BigInteger, nullable=False),
        sa.Column("duration_ns", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("status_message", sa.Text, nullable=False),
        sa.Column("model", sa.Text),
        sa.Column("provider", sa.Text),
        sa.Column("input_tokens", sa.BigInteger),
        sa.Column("output_tokens", sa.BigInteger),
        sa.Column("cached_input_tokens", sa.BigInteger),
        sa.Column("reasoning_tokens", sa.BigInteger),
        sa.Column("cost", sa.Double),
        sa.Column("session_id", sa.Text),
        sa.Column("user_id", sa.Text),
        sa.Column("run_id", sa.Text),
        sa.Column("prompt_name", sa.Text),
        sa.Column("prompt_version", sa.Integer),
        sa.Column("input", sa.Text),
        sa.Column("output", sa.Text),
        sa.Column("attributes", sa.Text, nullable=False),
        sa.Column("resource", sa.Text, nullable=False),
        sa.Column("events", sa.Text, nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("ingested_at", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "ix_spans_project_start", "spans", ["project_id", "start_ns", "trace_id", "span_id"]
    )
    op.create_index("ix_spans_project_model", "spans", ["project_id", "model", "trace_id"])
    op.create_table(
        "traces",
        sa.Column("project_id", ID, sa.ForeignKey("projects.id"), primary_key=True),
        sa.Column("trace_id", TRACE_ID, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("root_span_id", SPAN_ID),
        sa.Column("start_ns", sa.BigInteger, nullable=False),
        sa.Column("end_ns", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("span_count", sa.Integer, nullable=False),
        sa.Column("llm_calls", sa.Integer, nullable=False),
        sa.Column("session_id", sa.Text),
        sa.Column("user_id", sa.Text),
        sa.Column("input_tokens", sa.BigInteger, nullable=False),
        sa.Column("output_tokens", sa.BigInteger, nullable=False),
        sa.Column("cost", sa.Double),
        sa.Column("unpriced_llm_spans", sa.Integer, nullable=False),
        sa.Column("models", sa.Text, nullable=False),
        sa.Column("ingested_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_traces_project_start", "traces", ["project_id", "start_ns", "trace_id"])
    op.create_index("ix_traces_project_session", "traces", ["project_id", "session_id"])
    op.create_index("ix_traces_project_user", "traces", ["project_id", "user_id"])
    op.create_index("ix_traces_trace_id", "traces", ["trace_id"])


def downgrade() -> None:
    op.drop_table("traces")
    op.drop_table("spans")
