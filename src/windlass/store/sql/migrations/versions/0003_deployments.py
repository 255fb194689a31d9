"""Deployments: named sets of weighted model variants with a shadow, and their history.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.String(32)
AUTO_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("id", ID, primary_key=True),
        sa.Column("project_id", ID, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("variants", sa.Text, nullable=False),
        sa.Column("shadow", sa.Text),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("project_id", "name", name="uq_deployments_project_name"),
    )
    op.create_table(
        "deployment_events",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("deployment_id", ID, sa.ForeignKey("deployments.id"), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("variants", sa.Text, nullable=False),
        sa.Column("shadow", sa.Text),
        sa.Column("user", sa.String(256), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("deployment_id", "revision", name="uq_deployment_events_revision"),
    )


def downgrade() -> None:
    op.drop_table("deployment_events")
    op.drop_table("deployments")
