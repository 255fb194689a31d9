"""The SQL metadata store (SQLite and PostgreSQL) and its schema migrations."""
