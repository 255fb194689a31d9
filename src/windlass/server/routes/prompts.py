"""``/api/v1/projects/{project}/prompts``: prompts, their versions, aliases and history.

``{project}`` is a project's name or id. Every handler parses, makes one call to the
prompt registry domain (:class:`~windlass.genai.prompts.registry.PromptRegistry`) and renders its
answer; templates, variables and settings are checked there.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import Field

from windlass.entities import Project
from windlass.genai.prompts.registry import MAX_COMMIT_MESSAGE_LENGTH, PromptRegistry
from windlass.genai.prompts.templates import MAX_MESSAGES, MAX_TEMPLATE_CHARS
from windlass.server.deps import project
from windlass.server.errors import ERROR_RESPONSES
from windlass.server.schemas import Id, PageToken, _Body
from windlass.store.sql.prompts import MAX_PROMPT_RESULTS

_NAME = "^[A-Za-z0-9][A-Za-z0-9_.\\-]{0,255}$"
Name = Annotated[str, Field(pattern=_NAME)]
#: Who the client says it is: recorded as a claim, never authenticated.
Claim = Annotated[
    str,
    Field(
        max_length=256,
        description="Who the client says it is: recorded as a claim, never authenticated",
    ),
]
VariableName = Annotated[str, Field(min_length=1, max_length=256)]


class PromptCreate(_Body):
    """Create a prompt without versions (``exist_ok``: return an existing one, not 409).

    The same ``prompt_id`` again returns the prompt it created (a retry is safe); with
    another name or description it is 409 ``ID_CONFLICT``.
    """

    name: Name
    description: str = Field(default="", max_length=100_000)
    exist_ok: bool = False
    prompt_id: Id | None = None


class MessageBody(_Body):
    """One chat message of a template; ``content`` is a Jinja2 template."""

    role: Literal["system", "developer", "user", "assistant"]
    content: str = Field(max_length=MAX_TEMPLATE_CHARS)


class VariableBody(_Body):
    """A variable's declaration; a ``default`` (even null) makes it optional."""

    type: Literal["str", "int", "float", "bool", "list", "dict", "any"] = "any"
    required: bool | None = None
    default: Any = None


class PromptVersionCreate(_Body):
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
    claimed_by: Claim | None = None
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


class PromptAliasSet(_Body):
    """Point an alias at a version; ``claimed_by`` goes into the alias history, as a claim."""

    version: int = Field(ge=1, le=2**31 - 1)
    claimed_by: Claim | None = None


def prompts(request: Request) -> PromptRegistry:
    """Return the app's prompt registry domain object (made on first use)."""
    registry: PromptRegistry | None = getattr(request.app.state, "prompts", None)
    if registry is None:
        registry = request.app.state.prompts = PromptRegistry(request.app.state.tracking.store)
    return registry


router = APIRouter(
    prefix="/api/v1/projects/{project}/prompts", tags=["prompts"], responses=ERROR_RESPONSES
)
RegistryDep = Annotated[PromptRegistry, Depends(prompts)]
ProjectDep = Annotated[Project, Depends(project)]
NamePath = Annotated[str, Path(pattern=_NAME, description="Prompt name")]
AliasPath = Annotated[str, Path(pattern=_NAME, description="Alias (`latest`: the newest)")]
VersionPath = Annotated[int, Path(ge=1, le=2**31 - 1, description="Version number")]
MaxResults = Annotated[int, Query(ge=1, le=MAX_PROMPT_RESULTS)]
ClaimQuery = Annotated[
    str | None,
    Query(
        max_length=256,
        description="Who the client says it is: recorded as a claim, never authenticated",
    ),
]


@router.post("")
def create_prompt(body: PromptCreate, proj: ProjectDep, registry: RegistryDep) -> dict[str, Any]:
    """Create a prompt (409 if it exists, unless ``exist_ok``)."""
    return registry.create_prompt(
        proj.id,
        body.name,
        description=body.description,
        exist_ok=body.exist_ok,
        prompt_id=body.prompt_id,
    ).to_dict()


@router.get("")
def list_prompts(
    proj: ProjectDep,
    registry: RegistryDep,
    max_results: MaxResults = 100,
    page_token: PageToken = None,
) -> dict[str, Any]:
    """List a project's prompts by name, one page at a time."""
    page = registry.list_prompts(proj.id, max_results, page_token)
    return {"prompts": [p.to_dict() for p in page.items], "next_page_token": page.next_page_token}


@router.get("/{name}")
def get_prompt(name: NamePath, proj: ProjectDep, registry: RegistryDep) -> dict[str, Any]:
    """Return a prompt with its aliases and newest version number."""
    return registry.get_prompt(proj.id, name).to_dict()


@router.delete("/{name}")
def delete_prompt(name: NamePath, proj: ProjectDep, registry: RegistryDep) -> dict[str, Any]:
    """Delete a prompt with all its versions (409 while it has aliases)."""
    registry.delete_prompt(proj.id, name)
    return {}


@router.post("/{name}/versions")
def create_version(
    name: NamePath, body: PromptVersionCreate, proj: ProjectDep, registry: RegistryDep
) -> dict[str, Any]:
    """Register the prompt's next version (by default creating the prompt on first use)."""
    return registry.register(
        proj.id,
        name,
        template=body.template_value(),
        model=body.model,
        response_format=body.response_format,
        variables=body.declared(),
        commit_message=body.commit_message,
        version_id=body.version_id,
        claimed_by=body.claimed_by or "",
        create_missing_prompt=body.create_missing_prompt,
    ).to_dict()


@router.get("/{name}/versions")
def list_versions(
    name: NamePath,
    proj: ProjectDep,
    registry: RegistryDep,
    max_results: MaxResults = 100,
    page_token: PageToken = None,
) -> dict[str, Any]:
    """List a prompt's versions, newest first, one page at a time."""
    page = registry.list_versions(proj.id, name, max_results, page_token)
    return {"versions": [v.to_dict() for v in page.items], "next_page_token": page.next_page_token}


@router.get("/{name}/versions/{version}")
def get_version(
    name: NamePath, version: VersionPath, proj: ProjectDep, registry: RegistryDep
) -> dict[str, Any]:
    """Return one version with its template, settings, variables and aliases."""
    return registry.get(proj.id, name, version=version).to_dict()


@router.get("/{name}/aliases/{alias}")
def get_alias(
    name: NamePath, alias: AliasPath, proj: ProjectDep, registry: RegistryDep
) -> dict[str, Any]:
    """Return the version an alias points to."""
    return registry.get(proj.id, name, alias=alias).to_dict()


@router.put("/{name}/aliases/{alias}")
def set_alias(
    name: NamePath, alias: AliasPath, body: PromptAliasSet, proj: ProjectDep, registry: RegistryDep
) -> dict[str, Any]:
    """Point an alias at a version; return the recorded move."""
    return registry.set_alias(
        proj.id, name, alias, body.version, claimed_by=body.claimed_by or ""
    ).to_dict()


@router.delete("/{name}/aliases/{alias}")
def delete_alias(
    name: NamePath,
    alias: AliasPath,
    proj: ProjectDep,
    registry: RegistryDep,
    claimed_by: ClaimQuery = None,
) -> dict[str, Any]:
    """Remove an alias; return the recorded removal."""
    return registry.delete_alias(proj.id, name, alias, claimed_by=claimed_by or "").to_dict()


@router.get("/{name}/alias-history")
def alias_history(
    name: NamePath,
    proj: ProjectDep,
    registry: RegistryDep,
    alias: Annotated[str | None, Query(pattern=_NAME)] = None,
) -> dict[str, Any]:
    """Return every recorded alias move of the prompt (or of one alias), oldest first."""
    return {"events": [e.to_dict() for e in registry.alias_history(proj.id, name, alias)]}
