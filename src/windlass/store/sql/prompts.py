"""The SQL prompt registry: prompts, versions, aliases and alias history.

Built on the versioned-object core (:mod:`~windlass.store.sql.versioned`), which holds the
locking, numbering, alias moves and paging, and is the prompt's
:class:`~windlass.store.versioned.VersionedStore` (``store.prompts.objects``: reading
prompts and versions, deleting a prompt, moving aliases); this module adds what only
prompts have: a version's template, model settings, response format and variables, and the
rule that registering the newest version's content again creates nothing (decided under
the prompt's lock, so concurrent registers of one content create one version).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy.engine import Connection, Row

from windlass.entities import (
    Prompt,
    PromptAliasEvent,
    PromptVariable,
    PromptVersion,
    Template,
)
from windlass.exceptions import InvalidInput, PromptNotFound, PromptVersionNotFound
from windlass.store.prompts import MAX_PROMPT_RESULTS, PromptStore
from windlass.store.sql import schema as s
from windlass.store.sql.database import Database
from windlass.store.sql.versioned import VersionedKind, VersionedObjects

_v = s.prompt_versions

PROMPTS = VersionedKind(
    "prompt", s.prompt_tables, PromptNotFound, PromptVersionNotFound, "prompt-versions"
)


def _dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError as exc:  # a 65-bit integer, a lone surrogate...
        raise InvalidInput(f"prompt content is not storable as JSON: {exc}") from None


class SqlPromptStore(PromptStore):
    """Prompts, their versions, aliases and alias history over SQLAlchemy Core."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._prompts = VersionedObjects(db, PROMPTS, self, PromptAliasEvent, MAX_PROMPT_RESULTS)
        self.objects = self._prompts

    # -- building entities ---------------------------------------------------------------
    def load_objects(self, conn: Connection, rows: Sequence[Row[Any, Any]]) -> list[Prompt]:
        """Build prompts (they have nothing but what every kind has): two queries a page."""
        return [Prompt(**fields) for fields in self._prompts.object_fields(conn, rows)]

    def build_version(self, fields: dict[str, Any], row: Row[Any, Any]) -> PromptVersion:
        """Return a prompt version: the shared fields, its template, settings, variables."""
        variables = orjson.loads(row.variables)
        return PromptVersion(
            **fields,
            template=orjson.loads(row.template),
            model=orjson.loads(row.model),
            response_format=None
            if row.response_format is None
            else orjson.loads(row.response_format),
            variables={k: PromptVariable.from_dict(k, v) for k, v in variables.items()},
            content_hash=row.content_hash,
            commit_message=row.commit_message,
        )

    def check_delete(self, conn: Connection, prompt: Row[Any, Any]) -> None:
        """Allow any deletion: nothing depends on a prompt but its aliases (checked first)."""

    # -- prompts -------------------------------------------------------------------------
    def create_prompt(
        self,
        *,
        prompt_id: str,
        project_id: str,
        name: str,
        description: str,
        created_at: int,
        exist_ok: bool = False,
    ) -> Prompt:
        """Create a prompt (an existing name: AlreadyExists unless ``exist_ok``).

        The same ``prompt_id`` again returns the prompt it created (a retried create); the
        id of a prompt with another project, name or description is IdConflict.
        """
        with self._db.write() as conn:
            self._prompts.create(
                conn,
                object_id=prompt_id,
                project_id=project_id,
                name=name,
                created_at=created_at,
                exist_ok=exist_ok,
                values={"description": description},
                fixed=("description",),
            )
            return self._prompts.load_one(conn, project_id, name)

    # -- versions ------------------------------------------------------------------------
    def create_prompt_version(
        self,
        *,
        version_id: str,
        project_id: str,
        name: str,
        template: Template,
        model: dict[str, Any],
        response_format: dict[str, Any] | None,
        variables: dict[str, PromptVariable],
        content_hash: str,
        commit_message: str,
        claimed_by: str,
        created_at: int,
    ) -> PromptVersion:
        """Add the prompt's next version, unless its content is the newest version's."""
        values = {
            "template": _dumps(template),
            "model": _dumps(model),
            "response_format": None if response_format is None else _dumps(response_format),
            "variables": _dumps({k: v.to_dict() for k, v in variables.items()}),
            "content_hash": content_hash,
            "commit_message": commit_message,
        }
        return self._prompts.register_version(
            project_id,
            name,
            version_id=version_id,
            claimed_by=claimed_by,
            created_at=created_at,
            values=values,
            same_as=lambda newest: bool(newest.content_hash == content_hash),
        )
