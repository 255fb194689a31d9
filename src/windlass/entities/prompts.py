"""Plain data objects of the prompt registry: prompts, their versions, alias moves.

Shared by the store (which persists them), the genai domain (which renders and runs
them) and the faces, so they live in the core layer next to :mod:`windlass.entities`.

A prompt version's ``template`` is either one text (a text prompt) or a list of chat
messages ``{"role": ..., "content": ...}`` whose contents are templates (a chat prompt).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from windlass.entities.registry import AliasMove, ObjectVersion, VersionedObject

#: The types a prompt variable can be declared with.
VariableType = Literal["str", "int", "float", "bool", "list", "dict", "any"]
VARIABLE_TYPES: tuple[VariableType, ...] = ("str", "int", "float", "bool", "list", "dict", "any")
#: A prompt's template: one text, or chat messages (``role`` and ``content`` each).
Template = str | list[dict[str, str]]
#: The most characters all texts of one template may have together.
MAX_TEMPLATE_CHARS = 1_000_000
#: The most chat messages one template may have.
MAX_MESSAGES = 1000


@dataclass(frozen=True)
class _PromptNamed:
    """The field naming the object in an alias move; a base of the alias-move class below."""

    prompt_name: str


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


@dataclass(frozen=True, repr=False, kw_only=True)
class PromptVersion(ObjectVersion):
    """One immutable version of a prompt: template, bound model settings, variables.

    ``model`` holds the settings a run calls the model with (``name``, ``provider``,
    ``temperature``, ``max_tokens``...); ``response_format`` is passed to the API as it
    is. ``content_hash`` is the digest of the canonical JSON of template, model,
    response format and variables: two versions with the same hash render and run alike.
    """

    prompt_id: str
    template: Template
    model: dict[str, Any]
    response_format: dict[str, Any] | None
    variables: dict[str, PromptVariable]
    content_hash: str
    commit_message: str = ""

    URI_SCHEME: ClassVar[str] = "prompts"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, version={self.version})"

    @property
    def kind(self) -> Literal["text", "chat"]:
        """Return ``text`` for a one-text template, ``chat`` for a list of messages."""
        return "text" if isinstance(self.template, str) else "chat"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            **super().to_dict(),
            "prompt_id": self.prompt_id,
            "kind": self.kind,
            "template": _copy_template(self.template),
            "model": dict(self.model),
            "response_format": self.response_format,
            "variables": {k: v.to_dict() for k, v in self.variables.items()},
            "content_hash": self.content_hash,
            "commit_message": self.commit_message,
        }

    @classmethod
    def _fields_of(cls, data: dict[str, Any]) -> dict[str, Any]:
        variables = data.get("variables") or {}
        return {
            **super()._fields_of(data),
            "prompt_id": data["prompt_id"],
            "template": _copy_template(data["template"]),
            "model": dict(data.get("model") or {}),
            "response_format": data.get("response_format"),
            "variables": {k: PromptVariable.from_dict(k, v) for k, v in variables.items()},
            "content_hash": data["content_hash"],
            "commit_message": data.get("commit_message", ""),
        }


@dataclass(frozen=True)
class PromptAliasEvent(AliasMove, _PromptNamed):
    """One move of a prompt's alias (see :class:`~windlass.entities.registry.AliasMove`)."""
