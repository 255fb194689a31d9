"""The prompt registry domain: versioned templates bound to model settings, with aliases.

Both faces (the SDK and the REST server) call :class:`PromptRegistry`; it is the one
writer of prompts. It checks names, templates (compiled in the sandbox of
:mod:`windlass.genai.prompts.templates`), variables and settings, computes the content hash, fills
in ids, times and users, and leaves storing to the metadata store.

A version is loaded as a :class:`LoadedPrompt`, which renders (:meth:`LoadedPrompt.render`)
and calls its model (:meth:`LoadedPrompt.run`). The alias ``latest`` is reserved: it
always names the newest version. References name versions as ``name`` (the newest),
``name/3``, ``name@production`` or ``prompts:/name@production``.

Every public call first asks the registry's :class:`~windlass.access.gate.Access`: reads
(loading, rendering, diffing, pulling) need read in the project, creating prompts and
registering versions write, deleting admin (moving a protected alias too); every mutation
is then audited once (:mod:`windlass.access.actions`).
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from windlass.access import actions
from windlass.access.gate import Access
from windlass.access.policy import Permission
from windlass.artifacts.hashing import hash_bytes
from windlass.entities import (
    Page,
    Prompt,
    PromptAliasEvent,
    PromptVariable,
    PromptVersion,
    Template,
)
from windlass.entities.jsondata import plain_json
from windlass.exceptions import (
    ConfigError,
    InvalidInput,
    InvalidUri,
    PromptNotFound,
    PromptVersionNotFound,
    TemplateError,
)
from windlass.genai.tracing import attributes as attr
from windlass.ids import new_id, now_ms, writer_id
from windlass.principal import Principal
from windlass.store.metadata import MetadataStore
from windlass.uris import (
    check_name,
    parse_object_uri,
)
from windlass.versioning.checks import checked_text
from windlass.versioning.objects import VersionedObjects

if TYPE_CHECKING:
    from windlass.genai.llm.client import ChatReply

#: The alias that always names a prompt's newest version (it cannot be set).
MAX_COMMIT_MESSAGE_LENGTH = 10_000
MAX_DESCRIPTION_LENGTH = 100_000
#: The most bytes the model settings (or the response format) may have as JSON.
MAX_SETTINGS_BYTES = 1024 * 1024
#: Keyword arguments of :meth:`LoadedPrompt.run` that are not template variables.
RUN_OPTIONS = frozenset(
    {
        "model",
        "provider",
        "base_url",
        "api_key",
        "tools",
        "session_id",
        "user_id",
        "timeout",
        "span_name",
        "response_format",
        "temperature",
        "max_tokens",
        "max_completion_tokens",
        "top_p",
        "seed",
        "stop",
        "frequency_penalty",
        "presence_penalty",
        "tool_choice",
        "parallel_tool_calls",
        "n",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "reasoning_effort",
        "user",
        "metadata",
        "extra_headers",
        "extra_body",
        "extra_query",
    }
)


# -- checks ------------------------------------------------------------------------------
#: Plain JSON data, or InvalidInput naming where (:func:`windlass.entities.jsondata.plain_json`).
_plain = plain_json


def _settings(kind: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{kind} must be a mapping, got {type(value).__name__}")
    plain: dict[str, Any] = _plain(kind, value)
    if len(orjson.dumps(plain)) > MAX_SETTINGS_BYTES:
        raise InvalidInput(f"{kind} is over {MAX_SETTINGS_BYTES} bytes as JSON")
    return plain


def check_model_settings(model: Any) -> dict[str, Any]:
    """Return the model settings checked (``name``, ``provider``, ``base_url`` are text).

    An API key is refused: a prompt is shared and versioned; keys belong in a provider
    profile or the environment.
    """
    settings = _settings("model settings", {} if model is None else model)
    if "api_key" in settings:
        raise InvalidInput(
            "model settings may not hold an api_key: prompts are shared and "
            "versioned; configure the key in a provider profile "
            "(WINDLASS_LLM_PROVIDERS) or WINDLASS_LLM_API_KEY",
            field="api_key",
        )
    for key in ("name", "provider", "base_url"):
        if key in settings and (not isinstance(settings[key], str) or not settings[key].strip()):
            raise InvalidInput(f"model setting {key!r} must be a non-empty string", field=key)
    return settings


@dataclass(frozen=True)
class PromptContent:
    """What a version holds besides its bookkeeping: the part its content hash covers."""

    template: Template
    model: dict[str, Any]
    response_format: dict[str, Any] | None
    variables: dict[str, PromptVariable]

    @property
    def content_hash(self) -> str:
        """Return the digest of the canonical JSON of template, settings and variables."""
        return hash_bytes(
            orjson.dumps(
                {
                    "template": self.template,
                    "model": self.model,
                    "response_format": self.response_format,
                    "variables": {k: v.to_dict() for k, v in self.variables.items()},
                },
                option=orjson.OPT_SORT_KEYS,
            )
        )


def prompt_content(
    *,
    template: Any = None,
    messages: Any = None,
    model: Any = None,
    response_format: Any = None,
    variables: Any = None,
) -> PromptContent:
    """Return the content checked and normalized: give ``template`` or ``messages``.

    ``template`` is a text (or a list of messages); ``messages`` a list of
    ``{"role", "content"}``. Variables are inferred from the template; ``variables``
    declares types, defaults or optional ones. Raises InvalidInput (TemplateError for a
    template that does not compile or is unsafe) naming what is wrong.
    """
    if (template is None) == (messages is None):
        raise InvalidInput(
            "give a prompt either template= (a text) or messages= (a list of "
            "chat messages), not both or neither"
        )
    from windlass.genai.prompts import templates  # Jinja2: not needed to start a server

    checked = templates.check_template(template if messages is None else messages)
    resolved = {
        name: replace(
            variable, default=_plain(f"the default of variable {name!r}", variable.default)
        )
        for name, variable in templates.resolve_variables(checked, variables).items()
    }
    return PromptContent(
        template=checked,
        model=check_model_settings(model),
        response_format=None
        if response_format is None
        else _settings("response_format", response_format),
        variables=resolved,
    )


# -- references --------------------------------------------------------------------------
def parse_ref(ref: str) -> tuple[str, int | None, str | None]:
    """Return ``(name, version, alias)`` of ``name``, ``name/3``, ``name@alias`` or a URI.

    ``prompts:/name/3`` and ``prompts:/name@alias`` work too; with neither a version nor an
    alias the reference names the newest version.
    """
    if not isinstance(ref, str):
        raise InvalidInput(f"a prompt reference is a string, got {type(ref).__name__}")
    uri = ref if ref.startswith("prompts:/") else f"prompts:/{ref}"
    try:
        parsed = parse_object_uri(uri)
    except InvalidUri:
        raise InvalidUri(
            f"{ref!r} does not name a prompt version: use name, name/<version>, "
            "name@<alias> or prompts:/name@<alias>",
            uri=ref,
        ) from None
    if parsed.kind != "prompts":
        raise InvalidUri(f"{ref!r} is not a prompts:/ URI", uri=ref)
    return parsed.name, parsed.version, parsed.alias


def ref_project(ref: str) -> str | None:
    """Return the project a reference names (``prompts://<project>/name@alias``), or None."""
    parse_ref(ref)  # a bad reference is reported as one
    return parse_object_uri(ref).project if ref.startswith("prompts://") else None


# -- spans -------------------------------------------------------------------------------
def prompt_in_use(name: str, version: int) -> contextlib.AbstractContextManager[None]:
    """Make spans started inside the block carry ``windlass.prompt.name`` and ``.version``.

    The model call's own span is made by :func:`windlass.genai.llm.client.chat`; the trace context
    stamps it (and any instrumented library's spans) so costs group by prompt version.
    """
    from windlass.genai.tracing import sdk as tracing

    return tracing.trace_context(attributes={attr.PROMPT_NAME: name, attr.PROMPT_VERSION: version})


def _provider(provider: Any, base_url: Any) -> Any:
    """Return the provider profile to call; ``openai`` without a profile is the default."""
    if provider != "openai" or base_url:
        return provider
    from windlass.genai.llm.client import resolve_endpoint

    try:
        resolve_endpoint(provider)
    except ConfigError as exc:
        if exc.details.get("profile") == provider:
            return None  # no "openai" profile: the configured default endpoint is OpenAI's
        raise
    return provider


# -- loaded versions ---------------------------------------------------------------------
class LoadedPrompt(PromptVersion):
    """A prompt version ready to use: :meth:`render` it, or :meth:`run` it on its model."""

    @classmethod
    def of(cls, version: PromptVersion) -> LoadedPrompt:
        """Return ``version`` as a loaded prompt."""
        if isinstance(version, LoadedPrompt):
            return version
        return cls(**{f.name: getattr(version, f.name) for f in fields(version)})

    @property
    def span_attributes(self) -> dict[str, Any]:
        """Return the span attributes naming this prompt version."""
        return {attr.PROMPT_NAME: self.name, attr.PROMPT_VERSION: self.version}

    def render(self, /, **variables: Any) -> str | list[dict[str, str]]:
        """Return the rendered text (a text prompt) or chat messages (a chat prompt).

        Raises :class:`~windlass.exceptions.TemplateError` naming a missing, unknown or
        wrongly typed variable, or the line where rendering failed.
        """
        from windlass.genai.prompts import templates  # Jinja2, loaded on first use

        return templates.render(self.template, self.variables, variables)

    def messages(self, /, **variables: Any) -> list[dict[str, str]]:
        """Return the chat messages to send: a text prompt is one user message."""
        rendered = self.render(**variables)
        if isinstance(rendered, str):
            return [{"role": "user", "content": rendered}]
        return rendered

    def run(self, variables: Mapping[str, Any] | None = None, /, **kwargs: Any) -> ChatReply:
        """Render, call the bound model with the bound settings, and return its reply.

        Keyword arguments are template variables, and call options that override the
        bound settings (:data:`RUN_OPTIONS`: ``model``, ``temperature``, ``max_tokens``,
        ``provider``, ``base_url``, ``session_id``...); a name that is a template variable
        is a variable. With a ``variables`` mapping, every keyword is a call option.
        The call is traced: a ``chain`` span named ``prompt <name>`` around the ``llm``
        span, both carrying ``windlass.prompt.name`` and ``windlass.prompt.version``.
        """
        if variables is None:
            values = {k: v for k, v in kwargs.items() if k in self.variables}
            options = {k: v for k, v in kwargs.items() if k not in self.variables}
            unknown = sorted(set(options) - RUN_OPTIONS)
            if unknown:
                raise TemplateError(
                    f"unknown variable {unknown[0]!r}: {self.name}/{self.version} has "
                    f"variables {', '.join(self.variables) or 'none'} (call options such as "
                    "temperature or model are also accepted)",
                    variable=unknown[0],
                )
        else:
            values, options = dict(variables), dict(kwargs)
        messages = self.messages(**values)
        call: dict[str, Any] = dict(self.model)
        if self.response_format is not None:
            call["response_format"] = self.response_format
        call.update(options)
        bound_name = call.pop("name", None)
        model = call.pop("model", None) or bound_name
        if not model:
            raise InvalidInput(
                f"prompt {self.name}/{self.version} binds no model: register it "
                "with model={'name': ...} or pass model= to run()",
                prompt=self.name,
                version=self.version,
            )
        base_url = call.pop("base_url", None)
        provider = _provider(call.pop("provider", None), base_url)
        from windlass.genai.llm import client as llm
        from windlass.genai.tracing import sdk as tracing

        with (
            prompt_in_use(self.name, self.version),
            tracing.span(
                f"prompt {self.name}", kind="chain", attributes=self.span_attributes, input=values
            ) as span,
        ):
            reply = llm.chat(model, messages, provider=provider, base_url=base_url, **call)
            span.set_output(reply.text)
        return reply


# -- diffs -------------------------------------------------------------------------------
def _value(value: Any) -> str:
    if isinstance(value, str) and "\n" not in value:
        return value
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def content_lines(version: PromptVersion) -> list[str]:
    """Return a version's content as the lines a diff compares (messages, then settings)."""
    lines: list[str] = []
    if isinstance(version.template, str):
        lines += ["[template]", *version.template.splitlines()]
    else:
        for number, message in enumerate(version.template, 1):
            lines += [f"[message {number}: {message['role']}]", *message["content"].splitlines()]
    lines.append("[model]")
    lines += [f"{key}: {_value(version.model[key])}" for key in sorted(version.model)]
    lines.append("[response_format]")
    if version.response_format is not None:
        lines += [
            f"{key}: {_value(version.response_format[key])}"
            for key in sorted(version.response_format)
        ]
    lines.append("[variables]")
    for name in sorted(version.variables):
        declared = version.variables[name].to_dict()
        lines.append(
            f"{name}: " + ", ".join(f"{k}={_value(declared[k])}" for k in sorted(declared))
        )
    return lines


def diff_versions(old: PromptVersion, new: PromptVersion, context: int = 3) -> str:
    """Return a unified diff of two versions: messages one by one, then sorted settings.

    Empty when both have the same content.
    """
    return "\n".join(
        difflib.unified_diff(
            content_lines(old),
            content_lines(new),
            fromfile=f"{old.name}/{old.version}",
            tofile=f"{new.name}/{new.version}",
            n=context,
            lineterm="",
        )
    )


# -- the service -------------------------------------------------------------------------
@dataclass(frozen=True)
class PushResult:
    """What :meth:`PromptRegistry.push` did with one file: ``created`` or ``unchanged``."""

    path: Path
    name: str
    version: int
    created: bool

    @property
    def status(self) -> str:
        """Return ``created`` or ``unchanged``."""
        return "created" if self.created else "unchanged"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "path": str(self.path),
            "name": self.name,
            "version": self.version,
            "status": self.status,
        }


class PromptRegistry(VersionedObjects[Prompt, PromptVersion, PromptAliasEvent]):
    """Prompts, their versions, aliases, diffs and prompt files over a metadata store."""

    def __init__(
        self,
        store: MetadataStore,
        *,
        principal: Principal | None = None,
        access: Access | None = None,
    ) -> None:
        self.store = store
        super().__init__(
            store.prompts.objects,
            "prompt",
            object_not_found=PromptNotFound,
            version_not_found=PromptVersionNotFound,
            principal=principal,
            access=access,
            projects=store.runs.get_project,
            governance=store.governance,
            transaction=store.transaction,
        )

    # -- prompts -------------------------------------------------------------------------
    def create_prompt(
        self,
        project_id: str,
        name: str,
        *,
        description: str = "",
        exist_ok: bool = False,
        prompt_id: str | None = None,
        principal: Principal | None = None,
    ) -> Prompt:
        """Create a prompt without versions; with ``exist_ok`` an existing one is returned.

        ``prompt_id`` (32 hex characters; default: a new one) makes a retry safe: the same
        id again returns the prompt it created.
        """
        return self.create_object(
            self.store.prompts.create_prompt,
            project_id,
            name,
            description=description,
            exist_ok=exist_ok,
            object_id=prompt_id,
            principal=principal,
        )

    def get_prompt(
        self, project_id: str, name: str, *, principal: Principal | None = None
    ) -> Prompt:
        """Return a prompt with its aliases and newest version number."""
        return self.get_object(project_id, name, principal=principal)

    def list_prompts(
        self,
        project_id: str,
        max_results: int = 100,
        page_token: str | None = None,
        *,
        principal: Principal | None = None,
    ) -> Page[Prompt]:
        """Return one page of a project's prompts, by name."""
        return self.list_objects(project_id, max_results, page_token, principal=principal)

    def delete_prompt(
        self, project_id: str, name: str, *, principal: Principal | None = None
    ) -> None:
        """Delete a prompt with all its versions (refused while it has aliases)."""
        self.delete_object(project_id, name, principal=principal)

    # -- versions ------------------------------------------------------------------------
    def register(
        self,
        project_id: str,
        name: str,
        *,
        template: Any = None,
        messages: Any = None,
        model: Any = None,
        response_format: Any = None,
        variables: Any = None,
        commit_message: str = "",
        version_id: str | None = None,
        principal: Principal | None = None,
        create_missing_prompt: bool = True,
    ) -> LoadedPrompt:
        """Register a new version of a prompt (creating the prompt on first use).

        Content identical to the newest version's registers nothing and returns the
        newest version, so registering the same prompt twice is safe. The same
        ``version_id`` again returns the version it registered. With
        ``create_missing_prompt=False`` a prompt that does not exist is PromptNotFound.
        """
        who = self._require(principal, Permission.WRITE, project_id)
        name = check_name("prompt name", name)
        version_id = writer_id("version", version_id)
        content = prompt_content(
            template=template,
            messages=messages,
            model=model,
            response_format=response_format,
            variables=variables,
        )
        message = checked_text("commit message", commit_message, MAX_COMMIT_MESSAGE_LENGTH)
        creator = self.recorded(who)
        with self._transaction():
            created = LoadedPrompt.of(
                self._create_with_object(
                    lambda: self.store.prompts.create_prompt_version(
                        version_id=version_id,
                        project_id=project_id,
                        name=name,
                        template=content.template,
                        model=content.model,
                        response_format=content.response_format,
                        variables=content.variables,
                        content_hash=content.content_hash,
                        commit_message=message,
                        claimed_by=creator,
                        created_at=now_ms(),
                    ),
                    lambda: self.create_prompt(project_id, name, exist_ok=True, principal=who),
                    create_missing=create_missing_prompt,
                )
            )
            if created.id == version_id:  # not unchanged content or a retry answered
                self._access.record(
                    who,
                    actions.PROMPT_VERSION_CREATE,
                    self.uri(name, created.version),
                    project_id=project_id,
                    after={
                        "id": created.id,
                        "version": created.version,
                        "content_hash": created.content_hash,
                        "commit_message": created.commit_message,
                    },
                )
        return created

    def get(
        self,
        project_id: str,
        name: str,
        *,
        version: int | None = None,
        alias: str | None = None,
        principal: Principal | None = None,
    ) -> LoadedPrompt:
        """Return the version named by number or alias; neither: the newest version."""
        return LoadedPrompt.of(
            self.resolve(project_id, name, version=version, alias=alias, principal=principal)
        )

    def load(
        self, project_id: str, ref: str, *, principal: Principal | None = None
    ) -> LoadedPrompt:
        """Return the version ``ref`` names: ``name``, ``name/3``, ``name@alias``, a URI.

        The caller picks ``project_id`` (from the URI's own project, see :func:`ref_project`).
        """
        who = self._require(principal, Permission.READ, project_id)
        name, version, alias = parse_ref(ref)
        return self.get(project_id, name, version=version, alias=alias, principal=who)

    def render(self, project_id: str, ref: str, /, **variables: Any) -> str | list[dict[str, str]]:
        """Return the version ``ref`` names rendered with ``variables`` (as the bound principal).

        Every keyword is a template variable, so this call takes no ``principal=``: bind one
        with :meth:`acting_as`.
        """
        self._require(None, Permission.READ, project_id)
        return self.load(project_id, ref).render(**variables)

    def diff(
        self,
        project_id: str,
        name: str,
        old: int | str,
        new: int | str,
        *,
        principal: Principal | None = None,
    ) -> str:
        """Return a unified diff of two versions (by number, alias or ``latest``)."""
        self._require(principal, Permission.READ, project_id)
        return diff_versions(
            self._version(project_id, name, old), self._version(project_id, name, new)
        )

    def _version(self, project_id: str, name: str, which: int | str) -> LoadedPrompt:
        if isinstance(which, str) and which.isdigit():
            which = int(which)
        if isinstance(which, bool) or not isinstance(which, int | str):
            raise InvalidInput(f"name a version by number or alias, not {which!r}")
        if isinstance(which, int):
            return self.get(project_id, name, version=which)
        return self.get(project_id, name, alias=which)

    # -- prompt files --------------------------------------------------------------------
    def pull(
        self,
        project_id: str,
        name: str,
        folder: str | Path,
        *,
        version: int | None = None,
        alias: str | None = None,
        principal: Principal | None = None,
    ) -> Path:
        """Write a version (the newest by default) to ``<folder>/<name>.yaml``; return it."""
        from windlass.genai.prompts import files as prompt_files

        who = self._require(principal, Permission.READ, project_id)
        return prompt_files.write_prompt_file(
            self.get(project_id, name, version=version, alias=alias, principal=who), Path(folder)
        )

    def push(
        self,
        project_id: str,
        folder: str | Path,
        *,
        commit_message: str | None = None,
        principal: Principal | None = None,
    ) -> list[PushResult]:
        """Register every prompt file of ``folder`` whose content changed; say what was done.

        Every ``*.yaml``/``*.yml`` file is read and checked first, so a bad file (named,
        with its line) stops the push before anything is registered. A file whose content
        is the newest version's creates nothing.
        """
        from windlass.genai.prompts import files as prompt_files

        principal = self._require(principal, Permission.WRITE, project_id)
        found = prompt_files.read_prompt_folder(Path(folder))
        results = []
        for path, name, content in found:
            message = commit_message if commit_message is not None else f"push {path.name}"
            newest = self._newest_hash(project_id, name)
            if newest is not None and newest[1] == content.content_hash:
                results.append(PushResult(path, name, newest[0], created=False))
                continue
            version_id = new_id()
            registered = self.register(
                project_id,
                name,
                template=content.template,
                model=content.model,
                response_format=content.response_format,
                variables=content.variables,
                commit_message=message,
                version_id=version_id,
                principal=principal,
            )
            results.append(
                PushResult(path, name, registered.version, created=registered.id == version_id)
            )
        return results

    def _newest_hash(self, project_id: str, name: str) -> tuple[int, str] | None:
        try:
            page = self.objects.list_versions(project_id, name, max_results=1)
        except PromptNotFound:
            return None
        if not page.items:
            return None
        return page.items[0].version, page.items[0].content_hash
