"""The audit trail: ``audit_log``, append-only by database triggers.

Every mutation appends one row (who, from where, what, to which object URI, the JSON
before and after). Triggers refuse every UPDATE and DELETE of the table, on SQLite
(``RAISE(ABORT, ...)``) and on PostgreSQL (a plpgsql function raising), so not even a
bug or a hand-written statement of windlass can rewrite history.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

ID = sa.String(32)
_REFUSED = "audit_log is append-only"

_SQLITE_TRIGGERS = [
    f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
    f"BEGIN SELECT RAISE(ABORT, '{_REFUSED}: {verb} refused'); END"
    for verb in ("UPDATE", "DELETE")
]

_PG_FUNCTION = f"""
CREATE FUNCTION audit_log_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{_REFUSED}: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$
"""
_PG_TRIGGERS = [
    f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_refuse()"
    for verb in ("UPDATE", "DELETE")
] + [
    # FOR EACH ROW does not fire on TRUNCATE; a statement trigger does.
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse()"
]


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", ID, primary_key=True),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("principal", sa.String(256), nullable=False),
        sa.Column("principal_kind", sa.String(16), nullable=False),
        sa.Column("auth_method", sa.String(16), nullable=False),
        sa.Column("address", sa.String(256)),
        sa.Column("action", sa.String(128), nullable=False),
        sa.Column("object_uri", sa.String(1024), nullable=False),
        sa.Column("project_id", ID),
        sa.Column("before", sa.Text),
        sa.Column("after", sa.Text),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at", "id"])
    op.create_index("ix_audit_log_project_at", "audit_log", ["project_id", "at", "id"])
    op.create_index("ix_audit_log_object_at", "audit_log", ["object_uri", "at"])
    op.create_index("ix_audit_log_principal_at", "audit_log", ["principal", "at"])
    op.create_index("ix_audit_log_action_at", "audit_log", ["action", "at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        for statement in _PG_TRIGGERS:
            op.execute(statement)
    else:
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    # Dropping the table drops its triggers (the whole log goes: a downgrade is a choice).
    op.drop_table("audit_log")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_log_refuse()")
