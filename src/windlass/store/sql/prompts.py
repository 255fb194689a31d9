"""The SQL store's prompt registry (a base class of :class:`SqlStore`).

As for registered models, every write that reads the state it changes takes the prompt's
row lock first (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite every writer already
holds the database's write lock from ``BEGIN IMMEDIATE``). So per prompt, version
numbers, the "unchanged content" check, alias moves and deletions happen one at a time:
numbers never repeat or skip, and each alias event's ``from_version`` is the previous
event's ``to_version``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.engine import Connection, Row

from windlass.entities import (
    Page,
    Prompt,
    PromptAliasEvent,
    PromptVariable,
    PromptVersion,
    Template,
)
from windlass.exceptions import (
    AlreadyExists,
    InvalidInput,
    InvalidState,
    ProjectNotFound,
    PromptNotFound,
    PromptVersionNotFound,
)
from windlass.store.base import MetadataStore
from windlass.store.paging import check_max_results, decode_token, encode_token
from windlass.store.sql import aliases as sql_aliases
from windlass.store.sql import schema as s
from windlass.store.sql.idempotency import require_same

#: The largest page of prompts or prompt versions one call returns.
MAX_PROMPT_RESULTS = 1000

_p, _v = s.prompts, s.prompt_versions
_a, _e = s.prompt_aliases, s.prompt_alias_events


def _dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError as exc:  # a 65-bit integer, a lone surrogate...
        raise InvalidInput(f"prompt content is not storable as JSON: {exc}") from None


class SqlPrompts(MetadataStore):
    """Prompts, their versions, aliases and alias history over SQLAlchemy Core."""

    if TYPE_CHECKING:
        # Plumbing that SqlStore provides.
        _pg: bool

        def _write(self) -> contextlib.AbstractContextManager[Connection]: ...
        def _read(self) -> contextlib.AbstractContextManager[Connection]: ...
        def _insert(self, table: Any) -> Any: ...
        def _in_ids(self, column: Any, ids: list[str]) -> ColumnElement[bool]: ...

    # -- lookups -------------------------------------------------------------------------
    @staticmethod
    def _prompt_project(conn: Connection, project_id: str) -> str:
        name = conn.execute(select(s.projects.c.name).where(s.projects.c.id == project_id)).scalar()
        if name is None:
            raise ProjectNotFound(f"project id {project_id!r} does not exist", project=project_id)
        return str(name)

    def _prompt_row(
        self, conn: Connection, project_id: str, name: str, *, lock: bool = False
    ) -> Row[Any, Any]:
        """Return the prompt's row (locked for this transaction with ``lock``)."""
        query = select(_p).where(_p.c.project_id == project_id, _p.c.name == name)
        if lock:
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            project = self._prompt_project(conn, project_id)
            raise PromptNotFound(
                f"prompt {name!r} does not exist in project {project!r}",
                project=project,
                prompt=name,
            )
        return row

    def _load_prompts(self, conn: Connection, rows: Sequence[Row[Any, Any]]) -> list[Prompt]:
        """Build prompts with aliases and newest version: two queries for any page."""
        ids = [r.id for r in rows]
        aliases: dict[str, dict[str, int]] = {i: {} for i in ids}
        latest: dict[str, int] = {}
        if ids:
            for prompt_id, alias, version in conn.execute(
                select(_a.c.prompt_id, _a.c.alias, _a.c.version)
                .where(self._in_ids(_a.c.prompt_id, ids))
                .order_by(_a.c.alias)
            ):
                aliases[prompt_id][alias] = version
            for prompt_id, version in conn.execute(
                select(_v.c.prompt_id, func.max(_v.c.version))
                .where(self._in_ids(_v.c.prompt_id, ids))
                .group_by(_v.c.prompt_id)
            ):
                latest[prompt_id] = version
        return [
            Prompt(
                id=r.id,
                project_id=r.project_id,
                name=r.name,
                created_at=r.created_at,
                updated_at=r.updated_at,
                description=r.description,
                aliases=aliases[r.id],
                latest_version=latest.get(r.id),
            )
            for r in rows
        ]

    @staticmethod
    def _prompt_version(
        prompt: Row[Any, Any], row: Row[Any, Any], aliases: list[str]
    ) -> PromptVersion:
        variables = orjson.loads(row.variables)
        return PromptVersion(
            id=row.id,
            prompt_id=prompt.id,
            project_id=prompt.project_id,
            name=prompt.name,
            version=row.version,
            template=orjson.loads(row.template),
            model=orjson.loads(row.model),
            response_format=None
            if row.response_format is None
            else orjson.loads(row.response_format),
            variables={k: PromptVariable.from_dict(k, v) for k, v in variables.items()},
            content_hash=row.content_hash,
            created_at=row.created_at,
            claimed_by=row.claimed_by,
            commit_message=row.commit_message,
            aliases=aliases,
        )

    @staticmethod
    def _prompt_aliases_of(conn: Connection, prompt_id: str, version: int) -> list[str]:
        named = sql_aliases.by_version(conn, sql_aliases.PROMPT_ALIASES, prompt_id, [version])
        return named[version]

    @staticmethod
    def _no_prompt_version(name: str, version: int) -> PromptVersionNotFound:
        return PromptVersionNotFound(
            f"prompt {name!r} has no version {version}", prompt=name, version=version
        )

    def _load_prompt_version(
        self, conn: Connection, prompt: Row[Any, Any], version: int
    ) -> PromptVersion:
        row = conn.execute(
            select(_v).where(_v.c.prompt_id == prompt.id, _v.c.version == version)
        ).first()
        if row is None:
            raise self._no_prompt_version(prompt.name, version)
        return self._prompt_version(prompt, row, self._prompt_aliases_of(conn, prompt.id, version))

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
        with self._write() as conn:
            project = self._prompt_project(conn, project_id)
            created = conn.execute(
                self._insert(_p)
                .values(
                    id=prompt_id,
                    project_id=project_id,
                    name=name,
                    description=description,
                    created_at=created_at,
                    updated_at=created_at,
                    next_version=1,
                )
                .on_conflict_do_nothing()  # the name or the id is taken
                .returning(_p.c.id)
            ).first()
            retried = None
            if created is None:
                retried = conn.execute(
                    select(_p.c.project_id, _p.c.name, _p.c.description).where(_p.c.id == prompt_id)
                ).first()
            if retried is not None:
                require_same(
                    "prompt",
                    prompt_id,
                    retried._asdict(),
                    {"project_id": project_id, "name": name, "description": description},
                )
            elif created is None and not exist_ok:
                raise AlreadyExists(
                    f"prompt {name!r} already exists in project {project!r}",
                    project=project,
                    prompt=name,
                )
            return self._load_prompts(conn, [self._prompt_row(conn, project_id, name)])[0]

    def get_prompt(self, project_id: str, name: str) -> Prompt:
        """Return a prompt with its aliases and newest version number."""
        with self._read() as conn:
            return self._load_prompts(conn, [self._prompt_row(conn, project_id, name)])[0]

    def list_prompts(
        self, project_id: str, max_results: int = 100, page_token: str | None = None
    ) -> Page[Prompt]:
        """Return a project's prompts ordered by name, keyset-paged."""
        check_max_results(max_results, MAX_PROMPT_RESULTS)
        kind = f"prompts:{project_id}"
        query = (
            select(_p)
            .where(_p.c.project_id == project_id)
            .order_by(_p.c.name)
            .limit(max_results + 1)
        )
        if page_token:
            query = query.where(_p.c.name > decode_token(page_token, kind, {"n": str})["n"])
        with self._read() as conn:
            self._prompt_project(conn, project_id)
            rows = conn.execute(query).all()
            items = self._load_prompts(conn, rows[:max_results])
        token = encode_token({"k": kind, "n": items[-1].name}) if len(rows) > max_results else None
        return Page(items, token)

    def delete_prompt(self, project_id: str, name: str) -> None:
        """Delete a prompt, its versions and alias history (refused while aliased)."""
        with self._write() as conn:
            prompt = self._prompt_row(conn, project_id, name, lock=True)
            aliases = list(
                conn.execute(
                    select(_a.c.alias).where(_a.c.prompt_id == prompt.id).order_by(_a.c.alias)
                ).scalars()
            )
            if aliases:
                raise InvalidState(
                    f"prompt {name!r} still has alias(es) {', '.join(map(repr, aliases))}; "
                    "delete them first",
                    prompt=name,
                    aliases=aliases,
                )
            for table in (_e, _v):
                conn.execute(delete(table).where(table.c.prompt_id == prompt.id))
            conn.execute(delete(_p).where(_p.c.id == prompt.id))

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
        }
        with self._write() as conn:
            # The lock comes before both checks: a concurrent retry (or an identical
            # register) waits here, then finds the version its twin committed.
            prompt = self._prompt_row(conn, project_id, name, lock=True)
            existing = conn.execute(select(_v).where(_v.c.id == version_id)).first()
            if existing is not None:
                if existing.prompt_id != prompt.id:
                    raise AlreadyExists(
                        f"version id {version_id} already belongs to another prompt",
                        version_id=version_id,
                    )
                return self._prompt_version(
                    prompt, existing, self._prompt_aliases_of(conn, prompt.id, existing.version)
                )
            newest = conn.execute(
                select(_v).where(_v.c.prompt_id == prompt.id).order_by(_v.c.version.desc()).limit(1)
            ).first()
            if newest is not None and newest.content_hash == content_hash:
                return self._prompt_version(
                    prompt, newest, self._prompt_aliases_of(conn, prompt.id, newest.version)
                )
            number = (
                conn.execute(
                    update(_p)
                    .where(_p.c.id == prompt.id)
                    .values(next_version=_p.c.next_version + 1, updated_at=created_at)
                    .returning(_p.c.next_version)
                ).scalar_one()
                - 1
            )
            conn.execute(
                _v.insert().values(
                    id=version_id,
                    prompt_id=prompt.id,
                    version=number,
                    content_hash=content_hash,
                    commit_message=commit_message,
                    claimed_by=claimed_by,
                    created_at=created_at,
                    **values,
                )
            )
            row = conn.execute(select(_v).where(_v.c.id == version_id)).one()
            return self._prompt_version(prompt, row, [])

    def get_prompt_version(self, project_id: str, name: str, version: int) -> PromptVersion:
        """Return one version with its aliases."""
        with self._read() as conn:
            return self._load_prompt_version(
                conn, self._prompt_row(conn, project_id, name), version
            )

    def get_prompt_version_by_alias(self, project_id: str, name: str, alias: str) -> PromptVersion:
        """Return the version ``alias`` points to."""
        with self._read() as conn:
            prompt = self._prompt_row(conn, project_id, name)
            version = sql_aliases.target(conn, sql_aliases.PROMPT_ALIASES, prompt.id, alias)
            if version is None:
                raise PromptVersionNotFound(
                    f"prompt {name!r} has no alias {alias!r}", prompt=name, alias=alias
                )
            return self._load_prompt_version(conn, prompt, version)

    def list_prompt_versions(
        self, project_id: str, name: str, max_results: int = 100, page_token: str | None = None
    ) -> Page[PromptVersion]:
        """Return a prompt's versions, newest first, keyset-paged."""
        check_max_results(max_results, MAX_PROMPT_RESULTS)
        with self._read() as conn:
            prompt = self._prompt_row(conn, project_id, name)
            kind = f"prompt-versions:{prompt.id}"
            query = (
                select(_v)
                .where(_v.c.prompt_id == prompt.id)
                .order_by(_v.c.version.desc())
                .limit(max_results + 1)
            )
            if page_token:
                query = query.where(_v.c.version < decode_token(page_token, kind, {"v": int})["v"])
            rows = conn.execute(query).all()
            numbers = [r.version for r in rows[:max_results]]
            aliases = sql_aliases.by_version(conn, sql_aliases.PROMPT_ALIASES, prompt.id, numbers)
        items = [self._prompt_version(prompt, r, aliases[r.version]) for r in rows[:max_results]]
        token = encode_token({"k": kind, "v": numbers[-1]}) if len(rows) > max_results else None
        return Page(items, token)

    # -- aliases -------------------------------------------------------------------------
    def set_prompt_alias(
        self, project_id: str, name: str, alias: str, version: int, *, claimed_by: str, at: int
    ) -> PromptAliasEvent:
        """Point ``alias`` at ``version`` and record the move, in one transaction."""
        with self._write() as conn:
            prompt = self._prompt_row(conn, project_id, name, lock=True)
            if not sql_aliases.has_version(conn, sql_aliases.PROMPT_ALIASES, prompt.id, version):
                raise self._no_prompt_version(name, version)
            previous = sql_aliases.move(
                conn,
                sql_aliases.PROMPT_ALIASES,
                self._insert,
                prompt.id,
                alias,
                version,
                claimed_by=claimed_by,
                at=at,
            )
        return PromptAliasEvent(name, alias, previous, version, claimed_by, at)

    def delete_prompt_alias(
        self, project_id: str, name: str, alias: str, *, claimed_by: str, at: int
    ) -> PromptAliasEvent:
        """Remove an alias and record it; a missing alias is PromptVersionNotFound."""
        with self._write() as conn:
            prompt = self._prompt_row(conn, project_id, name, lock=True)
            previous = sql_aliases.remove(
                conn, sql_aliases.PROMPT_ALIASES, prompt.id, alias, claimed_by=claimed_by, at=at
            )
            if previous is None:
                raise PromptVersionNotFound(
                    f"prompt {name!r} has no alias {alias!r}", prompt=name, alias=alias
                )
        return PromptAliasEvent(name, alias, previous, None, claimed_by, at)

    def prompt_alias_history(
        self, project_id: str, name: str, alias: str | None = None
    ) -> list[PromptAliasEvent]:
        """Return the prompt's alias moves (or one alias's), oldest first."""
        with self._read() as conn:
            prompt = self._prompt_row(conn, project_id, name)
            rows = sql_aliases.history(conn, sql_aliases.PROMPT_ALIASES, prompt.id, alias)
        return [PromptAliasEvent(name, a, f, t, u, at) for a, f, t, u, at in rows]
