"""Who-columns of registry and deployment writes are claims: ``claimed_by``.

Until requests carry an authenticated principal, the name a client gives for who
registered a version, moved an alias or changed a deployment is recorded as what it is,
a claim: ``model_versions.created_by``, ``prompt_versions.created_by`` and the ``user`` of
``model_alias_events``, ``prompt_alias_events`` and ``deployment_events`` become
``claimed_by``. Values are kept.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

#: (table, old column name); every one becomes ``claimed_by``.
RENAMED = (
    ("model_versions", "created_by"),
    ("prompt_versions", "created_by"),
    ("model_alias_events", "user"),
    ("prompt_alias_events", "user"),
    ("deployment_events", "user"),
)


def upgrade() -> None:
    for table, old in RENAMED:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(old, new_column_name="claimed_by")


def downgrade() -> None:
    for table, old in RENAMED:
        with op.batch_alter_table(table) as batch:
            batch.alter_column("claimed_by", new_column_name=old)
