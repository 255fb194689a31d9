"""Metric batches remember a digest of their points: a batch id re-sent with other points
is refused (409 ID_CONFLICT) instead of being silently dropped.

Batches stored before this revision have no digest; their ids stay plain idempotent.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("metric_batches") as batch:
        batch.add_column(sa.Column("digest", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("metric_batches") as batch:
        batch.drop_column("digest")
