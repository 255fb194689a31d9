"""Model versions record how their registrant was authenticated: ``registered_auth``.

``claimed_by`` holds the name of the principal that registered a version; under auth off
that name is only a claim (``WINDLASS_USER`` or the OS login). ``registered_auth`` is the
:class:`~windlass.principal.AuthMethod` the server established it with, so
``WINDLASS_TRUSTED_MODEL_SOURCES=registrant:NAME`` can trust only authenticated names.
Versions stored before this revision were registered without auth: they get ``local``.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_versions") as batch:
        batch.add_column(
            sa.Column("registered_auth", sa.String(16), nullable=False, server_default="local")
        )


def downgrade() -> None:
    with op.batch_alter_table("model_versions") as batch:
        batch.drop_column("registered_auth")
