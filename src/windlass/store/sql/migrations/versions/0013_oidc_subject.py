"""Users created by an OpenID Connect login remember the identity they belong to.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy: other tables reference users); NULL is a local user.
    op.add_column("users", sa.Column("oidc_subject", sa.String(1024)))
    op.create_index("ux_users_oidc_subject", "users", ["oidc_subject"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_users_oidc_subject", table_name="users")
    op.drop_column("users", "oidc_subject")
