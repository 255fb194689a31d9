"""Params record who logged them: ``params.logged_by``.

The domain layer writes the name of the principal that logged each param (the embedded
SDK's ``WINDLASS_USER`` or OS login, a server's request principal), never a name a client
sends. Params stored before this revision have no known author: they get ``""``.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("params") as batch:
        batch.add_column(sa.Column("logged_by", sa.String(256), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("params") as batch:
        batch.drop_column("logged_by")
