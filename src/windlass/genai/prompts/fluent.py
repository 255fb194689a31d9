"""The prompts SDK: register, alias, load, render, diff, pull and push prompts.

::

    p = windlass.prompts.register(
        "support-answer",
        messages=[{"role": "system", "content": "You answer for {{ product }}."},
                  {"role": "user", "content": "{{ question }}"}],
        model={"provider": "openai", "name": "gpt-4o-mini", "temperature": 0.2},
        commit_message="shorter system prompt")
    windlass.prompts.set_alias("support-answer", "production", version=p.version)
    p = windlass.prompts.load("support-answer@production")   # or support-answer/4
    p.render(product="Acme", question="...")
    p.run(product="Acme", question="...")   # calls the bound model, traced

Everything happens in the current project of the SDK's current store
(``set_tracking_uri``), unless ``project=`` names another. Importing this module loads
neither Jinja2 nor YAML; the first call does.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from windlass.entities import Prompt, PromptAliasEvent, PromptVersion, all_pages
from windlass.tracking.context import default_client

if TYPE_CHECKING:
    from windlass.genai.prompts.registry import LoadedPrompt, PromptRegistry, PushResult
    from windlass.tracking.context import SdkClient

__all__ = [
    "Prompts",
    "alias_history",
    "delete_alias",
    "diff",
    "get_alias_history",
    "get_prompt",
    "list_prompts",
    "list_versions",
    "load",
    "pull",
    "push",
    "register",
    "render",
    "set_alias",
]


class Prompts:
    """The ``client.prompts`` namespace: register, load, render, alias, diff, pull and push."""

    def __init__(self, client: SdkClient) -> None:
        self._client = client
        self._registry_made: PromptRegistry | None = None

    def _registry(self) -> PromptRegistry:
        if self._registry_made is None:
            from windlass.genai.prompts.registry import PromptRegistry

            self._registry_made = PromptRegistry(
                self._client.tracking.store,
                principal=self._client.principal,
                access=self._client.tracking.access,
            )
        return self._registry_made

    def _project(self, project: str | None) -> str:
        return self._client.project_id(project)

    def register(
        self,
        name: str,
        template: str | None = None,
        *,
        messages: list[dict[str, str]] | None = None,
        model: dict[str, Any] | None = None,
        response_format: dict[str, Any] | None = None,
        variables: dict[str, Any] | None = None,
        commit_message: str = "",
        project: str | None = None,
    ) -> LoadedPrompt:
        """Register a new version of prompt ``name`` and return it (created on first use).

        Give ``template`` (a text) or ``messages`` (chat messages ``{"role", "content"}``,
        contents are Jinja2 templates). ``model`` binds the settings :meth:`run` calls with
        (``name``, ``provider``, ``temperature``, ``max_tokens``...). ``variables`` declares
        types, defaults or optional variables (``{"n": "int"}``, ``{"tone": {"type": "str",
        "default": "friendly"}}``); the others are inferred from the template. Content equal
        to the newest version's registers nothing and returns the newest version.
        """
        return self._registry().register(
            self._project(project),
            name,
            template=template,
            messages=messages,
            model=model,
            response_format=response_format,
            variables=variables,
            commit_message=commit_message,
        )

    def load(self, ref: str, *, project: str | None = None) -> LoadedPrompt:
        """Return a version: ``name`` (newest), ``name/3``, ``name@alias``, ``prompts:/...``.

        ``prompts://<project>/name@alias`` loads from that project (``project``, if given too,
        must agree).
        """
        from windlass.genai.prompts.registry import ref_project
        from windlass.uris import pick_project

        named = ref_project(ref)
        return self._registry().load(self._project(pick_project(named, project, ref)), ref)

    def render(
        self, ref: str, /, *, project: str | None = None, **variables: Any
    ) -> str | list[dict[str, str]]:
        """Return the version ``ref`` names rendered with ``variables``."""
        return self.load(ref, project=project).render(**variables)

    def get(self, name: str, *, project: str | None = None) -> Prompt:
        """Return a prompt with its aliases and newest version number."""
        return self._registry().get_prompt(self._project(project), name)

    def list_prompts(self, *, project: str | None = None) -> list[Prompt]:
        """Return every prompt of the project, by name."""
        registry, project_id = self._registry(), self._project(project)
        return all_pages(lambda token: registry.list_prompts(project_id, 1000, token))

    def list_versions(self, name: str, *, project: str | None = None) -> list[PromptVersion]:
        """Return every version of a prompt, newest first."""
        registry, project_id = self._registry(), self._project(project)
        return all_pages(lambda token: registry.list_versions(project_id, name, 1000, token))

    def set_alias(
        self, name: str, alias: str, version: int, *, project: str | None = None
    ) -> PromptAliasEvent:
        """Point ``alias`` (``production``, ``staging``...) at ``version``; return the move."""
        return self._registry().set_alias(self._project(project), name, alias, version)

    def delete_alias(
        self, name: str, alias: str, *, project: str | None = None
    ) -> PromptAliasEvent:
        """Remove an alias; return the recorded removal."""
        return self._registry().delete_alias(self._project(project), name, alias)

    def alias_history(
        self, name: str, alias: str | None = None, *, project: str | None = None
    ) -> list[PromptAliasEvent]:
        """Return every recorded move of the prompt's aliases (or of one), oldest first."""
        return self._registry().alias_history(self._project(project), name, alias)

    def diff(self, name: str, old: int | str, new: int | str, *, project: str | None = None) -> str:
        """Return a unified diff of two versions (numbers, aliases or ``latest``)."""
        return self._registry().diff(self._project(project), name, old, new)

    def pull(
        self,
        name: str,
        folder: str | Path,
        *,
        version: int | None = None,
        alias: str | None = None,
        project: str | None = None,
    ) -> Path:
        """Write a version (the newest by default) to ``<folder>/<name>.yaml``; return the path."""
        return self._registry().pull(
            self._project(project), name, folder, version=version, alias=alias
        )

    def push(
        self, folder: str | Path, *, commit_message: str | None = None, project: str | None = None
    ) -> list[PushResult]:
        """Register each changed prompt file of ``folder`` as a new version; say what was done."""
        return self._registry().push(self._project(project), folder, commit_message=commit_message)


# -- the flat functions: the default client's prompts --
def register(
    name: str,
    template: str | None = None,
    *,
    messages: list[dict[str, str]] | None = None,
    model: dict[str, Any] | None = None,
    response_format: dict[str, Any] | None = None,
    variables: dict[str, Any] | None = None,
    commit_message: str = "",
    project: str | None = None,
) -> LoadedPrompt:
    """Register a new version of prompt ``name`` and return it (created on first use).

    Give ``template`` (a text) or ``messages`` (chat messages ``{"role", "content"}``,
    contents are Jinja2 templates). ``model`` binds the settings :meth:`run` calls with
    (``name``, ``provider``, ``temperature``, ``max_tokens``...). ``variables`` declares
    types, defaults or optional variables (``{"n": "int"}``, ``{"tone": {"type": "str",
    "default": "friendly"}}``); the others are inferred from the template. Content equal
    to the newest version's registers nothing and returns the newest version.
    """
    return default_client().prompts.register(
        name,
        template,
        messages=messages,
        model=model,
        response_format=response_format,
        variables=variables,
        commit_message=commit_message,
        project=project,
    )


def load(ref: str, *, project: str | None = None) -> LoadedPrompt:
    """Return a version: ``name`` (newest), ``name/3``, ``name@alias``, ``prompts:/...``.

    ``prompts://<project>/name@alias`` loads from that project (``project``, if given too,
    must agree).
    """
    return default_client().prompts.load(ref, project=project)


def render(
    ref: str, /, *, project: str | None = None, **variables: Any
) -> str | list[dict[str, str]]:
    """Return the version ``ref`` names rendered with ``variables``."""
    return default_client().prompts.render(ref, project=project, **variables)


def get_prompt(name: str, *, project: str | None = None) -> Prompt:
    """Return a prompt with its aliases and newest version number."""
    return default_client().prompts.get(name, project=project)


def list_prompts(*, project: str | None = None) -> list[Prompt]:
    """Return every prompt of the project, by name."""
    return default_client().prompts.list_prompts(project=project)


def list_versions(name: str, *, project: str | None = None) -> list[PromptVersion]:
    """Return every version of a prompt, newest first."""
    return default_client().prompts.list_versions(name, project=project)


def set_alias(
    name: str, alias: str, version: int, *, project: str | None = None
) -> PromptAliasEvent:
    """Point ``alias`` (``production``, ``staging``...) at ``version``; return the move."""
    return default_client().prompts.set_alias(name, alias, version, project=project)


def delete_alias(name: str, alias: str, *, project: str | None = None) -> PromptAliasEvent:
    """Remove an alias; return the recorded removal."""
    return default_client().prompts.delete_alias(name, alias, project=project)


def alias_history(
    name: str, alias: str | None = None, *, project: str | None = None
) -> list[PromptAliasEvent]:
    """Return every recorded move of the prompt's aliases (or of one), oldest first."""
    return default_client().prompts.alias_history(name, alias, project=project)


#: The name every versioned kind's namespace gives it (``windlass.models.get_alias_history``).
get_alias_history = alias_history


def diff(name: str, old: int | str, new: int | str, *, project: str | None = None) -> str:
    """Return a unified diff of two versions (numbers, aliases or ``latest``)."""
    return default_client().prompts.diff(name, old, new, project=project)


def pull(
    name: str,
    folder: str | Path,
    *,
    version: int | None = None,
    alias: str | None = None,
    project: str | None = None,
) -> Path:
    """Write a version (the newest by default) to ``<folder>/<name>.yaml``; return the path."""
    return default_client().prompts.pull(
        name, folder, version=version, alias=alias, project=project
    )


def push(
    folder: str | Path, *, commit_message: str | None = None, project: str | None = None
) -> list[PushResult]:
    """Register each changed prompt file of ``folder`` as a new version; say what was done."""
    return default_client().prompts.push(folder, commit_message=commit_message, project=project)
