"""Plain data objects of the prompt registry: prompts, their versions, alias moves.

Shared by the store (which persists them), the genai domain (which renders and runs
them) and the faces, so they live in the core layer next to :mod:`windlass.entities`.

A prompt version's ``template`` is either one text (a text prompt) or a list of chat
messages ``{"role": ..., "content": ...}`` whose contents are templates (a chat prompt).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from windlass.entities.registry import AliasMove, VersionedObject

#: The types a prompt variable can be declared with.
VariableType = Literal["str", "int", "float", "bool", "list", "dict", "any"]
VARIABLE_TYPES: tuple[VariableType, ...] = ("str", "int", "float", "bool", "list", "dict", "any")
#: A prompt's template: one text, or chat messages (``role`` and ``content`` each).
Template = str | list[dict[str, str]]


@dataclass(frozen=True)
class PromptVariable:
    """One variable of a template: its type, whether it must be given, its default.

    A variable with a default is never required. An optional variable without a default
    is left undefined when not given (test it with ``{% if name is defined %}``).
    """

    name: str
    type: VariableType = "any"
    required: bool = True
    default: Any = None
    has_default: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (``default`` only when the variable has one)."""
        out: dict[str, Any] = {"type": self.type, "required": self.required}
        if self.has_default:
            out["default"] = self.default
        return out

    @classmethod
    def from_dict(cls, name: str, data: dict[str, Any]) -> PromptVariable:
        """Rebuild from :meth:`to_dict` output."""
        has_default = "default" in data
        return cls(
            name=name,
            type=data.get("type", "any"),
            required=bool(data.get("required", not has_default)),
            default=data.get("default"),
            has_default=has_default,
        )


@dataclass(frozen=True)
class Prompt(VersionedObject):
    """A named prompt in a project: its description, aliases and newest version number."""


def _copy_template(template: Template) -> Template:
    if isinstance(template, str):
        return template
    return [dict(message) for message in template]


@dataclass(frozen=True, repr=False)
class PromptVersion:
    """One immutable version of a prompt: template, bound model settings, variables.

    ``model`` holds the settings a run calls the model with (``name``, ``provider``,
    ``temperature``, ``max_tokens``...); ``response_format`` is passed to the API as it
    is. ``content_hash`` is the digest of the canonical JSON of template, model,
    response format and variables: two versions with the same hash render and run alike.
    ``claimed_by`` is who the registering client said it was: a claim, never authenticated.
    """

    id: str
    prompt_id: str
    project_id: str
    name: str
    version: int
    template: Template
    model: dict[str, Any]
    response_format: dict[str, Any] | None
    variables: dict[str, PromptVariable]
    content_hash: str
    created_at: int
    claimed_by: str = ""
    commit_message: str = ""
    aliases: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, version={self.version})"

    @property
    def kind(self) -> Literal["text", "chat"]:
        """Return ``text`` for a one-text template, ``chat`` for a list of messages."""
        return "text" if isinstance(self.template, str) else "chat"

    @property
    def uri(self) -> str:
        """Return ``prompts:/<name>/<version>``."""
        return f"prompts:/{self.name}/{self.version}"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "id": self.id,
            "prompt_id": self.prompt_id,
            "project_id": self.project_id,
            "name": self.name,
            "version": self.version,
            "kind": self.kind,
            "template": _copy_template(self.template),
            "model": dict(self.model),
            "response_format": self.response_format,
            "variables": {k: v.to_dict() for k, v in self.variables.items()},
            "content_hash": self.content_hash,
            "created_at": self.created_at,
            "claimed_by": self.claimed_by,
            "commit_message": self.commit_message,
            "aliases": list(self.aliases),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PromptVersion:
        """Rebuild from :meth:`to_dict` output."""
        return cls(
            id=data["id"],
            prompt_id=data["prompt_id"],
            project_id=data["project_id"],
            name=data["name"],
            version=int(data["version"]),
            template=_copy_template(data["template"]),
            model=dict(data.get("model") or {}),
            response_format=data.get("response_format"),
            variables={
                k: PromptVariable.from_dict(k, v) for k, v in (data.get("variables") or {}).items()
            },
            content_hash=data["content_hash"],
            created_at=int(data["created_at"]),
            claimed_by=data.get("claimed_by", ""),
            commit_message=data.get("commit_message", ""),
            aliases=list(data.get("aliases") or []),
        )


@dataclass(frozen=True)
class _PromptNamed:
    prompt_name: str


@dataclass(frozen=True)
class PromptAliasEvent(AliasMove, _PromptNamed):
    """One move of a prompt's alias (see :class:`~windlass.entities.registry.AliasMove`)."""

    NAME_KEY: ClassVar[str] = "prompt_name"
