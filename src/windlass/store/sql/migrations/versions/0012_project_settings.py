"""Project settings (protected aliases, two-person review) and pending alias moves.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ID = sa.String(32)


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy of the table: other tables reference projects).
    # protected_aliases is a JSON list of alias names; NULL means the default.
    op.add_column("projects", sa.Column("protected_aliases", sa.Text))
    op.add_column(
        "projects",
        sa.Column("two_person_review", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "alias_requests",
        sa.Column("id", ID, primary_key=True),
        sa.Column("project_id", ID, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("alias", sa.String(256), nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("requested_by", sa.String(256), nullable=False),
        sa.Column("requested_by_id", sa.String(256)),
        sa.Column("requested_at", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(256)),
        sa.Column("decided_at", sa.BigInteger),
    )
    op.create_index("ix_alias_requests_project_state", "alias_requests", ["project_id", "state"])


def downgrade() -> None:
    op.drop_table("alias_requests")
    op.drop_column("projects", "two_person_review")
    op.drop_column("projects", "protected_aliases")
