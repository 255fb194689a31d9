"""``/api/v1/projects/{project}/prompts``: prompts, their versions, aliases and history.

``{project}`` is a project's name or id. Every handler parses, makes one call to the
prompt registry domain (:class:`~windlass.genai.prompts.registry.PromptRegistry`) and renders its
answer; templates, variables and settings are checked there. The version, alias and
alias-history routes are the ones every versioned kind shares
(:mod:`windlass.server.api.versioned`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field

from windlass.access.policy import Permission
from windlass.entities import Project
from windlass.entities.prompts import MAX_MESSAGES, MAX_TEMPLATE_CHARS
from windlass.exceptions import InvalidInput
from windlass.genai.prompts.registry import MAX_COMMIT_MESSAGE_LENGTH, PromptRegistry
from windlass.server.api.common import (
    NAME_PATTERN,
    Id,
    RequestBody,
    ResponseBody,
    errors,
    requires,
)
from windlass.server.api.versioned import (
    ObjectBody,
    Operation,
    ServiceCall,
    VersionedKind,
    add_versioned_routes,
)
from windlass.server.deps import project, prompts
from windlass.store.prompts import MAX_PROMPT_RESULTS

Name = Annotated[str, Field(pattern=NAME_PATTERN)]
VariableName = Annotated[str, Field(min_length=1, max_length=256)]


# -- request bodies ------------------------------------------------------------------------
class PromptCreate(ServiceCall):
    """Create a prompt without versions (``exist_ok``: return an existing one, not 409).

    The same ``prompt_id`` again returns the prompt it created (a retry is safe); with
    another name or description it is 409 ``ID_CONFLICT``.
    """

    name: Name
    description: str = Field(default="", max_length=100_000)
    exist_ok: bool = False
    prompt_id: Id | None = None


class MessageBody(RequestBody):
    """One chat message of a template; ``content`` is a Jinja2 template."""

    role: Literal["system", "developer", "user", "assistant"]
    content: str = Field(max_length=MAX_TEMPLATE_CHARS)


class VariableBody(RequestBody):
    """A variable's declaration; a ``default`` (even null) makes it optional."""

    type: Literal["str", "int", "float", "bool", "list", "dict", "any"] = "any"
    required: bool | None = None
    default: Any = None


class PromptVersionCreate(ServiceCall):
    """Register the next version of a prompt.

    Content equal to the newest version's registers nothing: the newest version is
    returned. The same ``version_id`` again returns the version it registered.
    """

    template: str | list[MessageBody] = Field(
        description=f"A text template, or chat messages (at most {MAX_MESSAGES}); at most "
        f"{MAX_TEMPLATE_CHARS} characters in all"
    )
    model: dict[str, Any] = Field(
        default_factory=dict, description="Settings: name, provider, temperature..."
    )
    response_format: dict[str, Any] | None = None
    variables: dict[VariableName, VariableBody] = Field(default_factory=dict)
    commit_message: str = Field(default="", max_length=MAX_COMMIT_MESSAGE_LENGTH)
    version_id: Id | None = None
    create_missing_prompt: bool = Field(
        default=True, description="Create the prompt if it does not exist yet"
    )

    def declared(self) -> dict[str, dict[str, Any]]:
        """Return the declarations as the domain takes them (``default`` only if sent)."""
        out: dict[str, dict[str, Any]] = {}
        for name, body in self.variables.items():
            spec: dict[str, Any] = {"type": body.type}
            if body.required is not None:
                spec["required"] = body.required
            if "default" in body.model_fields_set:
                spec["default"] = body.default
            out[name] = spec
        return out

    def template_value(self) -> str | list[dict[str, str]]:
        """Return the template as the domain takes it."""
        if isinstance(self.template, str):
            return self.template
        return [{"role": m.role, "content": m.content} for m in self.template]

    def arguments(self) -> dict[str, Any]:
        """Return the body as :meth:`PromptRegistry.register`'s keyword arguments."""
        return {
            **super().arguments(),
            "template": self.template_value(),
            "variables": self.declared(),
        }


# -- response bodies -----------------------------------------------------------------------
class Prompt(ObjectBody):
    """A prompt: its description, aliases and newest version number."""

    aliases: dict[str, int] = Field(description="Alias name to version number")
    latest_version: int | None


class Message(ResponseBody):
    """One chat message of a template."""

    role: str
    content: str


class Variable(ResponseBody):
    """A variable's declaration; a ``default`` field (any JSON value) only when it has one."""

    type: str
    required: bool


class PromptVersion(ResponseBody):
    """One immutable version of a prompt: template, settings, variables and aliases."""

    id: str
    prompt_id: str
    project_id: str
    name: str
    version: int
    kind: Literal["text", "chat"]
    template: str | list[Message]
    model: dict[str, Any]
    response_format: dict[str, Any] | None
    variables: dict[str, Variable]
    content_hash: str
    created_at: int
    claimed_by: str = Field(description="The principal the server recorded as registering it")
    commit_message: str
    aliases: list[str]


# -- routes --------------------------------------------------------------------------------
router = APIRouter(prefix="/api/v1/projects/{project}/prompts", tags=["prompts"])
RegistryDep = Annotated[PromptRegistry, Depends(prompts)]
ProjectDep = Annotated[Project, Depends(project)]
NamePath = Annotated[str, Path(pattern=NAME_PATTERN, description="Prompt name")]
MaxResults = Annotated[int, Query(ge=1, le=MAX_PROMPT_RESULTS)]


add_versioned_routes(
    router,
    VersionedKind(
        "prompt",
        prompts,
        MAX_PROMPT_RESULTS,
        create=Operation(PromptCreate, PromptRegistry.create_prompt, Prompt),
        register=Operation(PromptVersionCreate, PromptRegistry.register, PromptVersion),
    ),
)


#: Variables a render call may pass.
MAX_RENDER_VARIABLES = 256


class PromptRenderRequest(RequestBody):
    """Render one version (by number or alias; neither: the newest) with variables."""

    version: int | None = Field(default=None, ge=1, le=2**31 - 1)
    alias: str | None = Field(default=None, pattern=NAME_PATTERN)
    variables: dict[VariableName, Any] = Field(
        default_factory=dict,
        max_length=MAX_RENDER_VARIABLES,
        description="Template variables (JSON values)",
    )


class PromptRendered(ResponseBody):
    """A rendered version: ``text`` for a text template, ``messages`` for a chat template."""

    name: str
    version: int
    kind: Literal["text", "chat"]
    text: str | None
    messages: list[Message] | None


@router.post(
    "/{name}/render",
    response_model=PromptRendered,
    responses=errors(400, 404, 413, 422),
    **requires(Permission.READ),
)
def render_prompt(
    name: NamePath, body: PromptRenderRequest, proj: ProjectDep, registry: RegistryDep
) -> dict[str, Any]:
    """Render a prompt version with variables (nothing is stored; a missing variable is 400)."""
    if body.version is not None and body.alias is not None:
        raise InvalidInput("give a version or an alias, not both")
    loaded = registry.get(proj.id, name, version=body.version, alias=body.alias)
    rendered = loaded.render(**body.variables)
    return {
        "name": loaded.name,
        "version": loaded.version,
        "kind": loaded.kind,
        "text": rendered if isinstance(rendered, str) else None,
        "messages": None if isinstance(rendered, str) else rendered,
    }
