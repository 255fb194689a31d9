"""Prompt registry: prompts, their immutable versions, aliases and alias history.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ID = sa.String(32)
AUTO_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "prompts",
        sa.Column("id", ID, primary_key=True),
        sa.Column("project_id", ID, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("next_version", sa.Integer, nullable=False),
        sa.UniqueConstraint("project_id", "name", name="uq_prompts_project_name"),
    )
    op.create_table(
        "prompt_versions",
        sa.Column("id", ID, primary_key=True),
        sa.Column("prompt_id", ID, sa.ForeignKey("prompts.id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("template", sa.Text, nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("response_format", sa.Text),
        sa.Column("variables", sa.Text, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("commit_message", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("prompt_id", "version", name="uq_prompt_versions_prompt_version"),
    )
    op.create_table(
        "prompt_aliases",
        sa.Column("prompt_id", ID, primary_key=True),
        sa.Column("alias", sa.String(256), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.ForeignKeyConstraint(
            ["prompt_id", "version"],
            ["prompt_versions.prompt_id", "prompt_versions.version"],
            name="fk_prompt_aliases_version",
        ),
    )
    op.create_table(
        "prompt_alias_events",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("prompt_id", ID, sa.ForeignKey("prompts.id"), nullable=False),
        sa.Column("alias", sa.String(256), nullable=False),
        sa.Column("from_version", sa.Integer),
        sa.Column("to_version", sa.Integer),
        sa.Column("user", sa.String(256), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "ix_prompt_alias_events_prompt_alias", "prompt_alias_events", ["prompt_id", "alias", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_prompt_alias_events_prompt_alias", "prompt_alias_events")
    for name in ("prompt_alias_events", "prompt_aliases", "prompt_versions", "prompts"):
        op.drop_table(name)
