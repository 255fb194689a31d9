"""Request bodies of the model registry routes (pydantic; they document the OpenAPI spec)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from windlass.server.schemas import ArtifactEntryBody, Id, Key, _Body

#: A model name or alias: the names of ``models:/<name>@<alias>`` URIs.
Name = Annotated[str, Field(pattern="^[A-Za-z0-9][A-Za-z0-9_.\\-]{0,255}$")]
#: A version number (a positive 32-bit integer).
Version = Annotated[int, Field(ge=1, le=2**31 - 1)]
TagValue = Annotated[str, Field(max_length=8000)]
#: Who the client says it is: recorded as a claim, never authenticated.
Claim = Annotated[
    str,
    Field(
        max_length=256,
        description="Who the client says it is: recorded as a claim, never authenticated",
    ),
]


class ModelCreate(_Body):
    """Create a registered model (``exist_ok``: return an existing one instead of 409).

    The same ``model_id`` again returns the model it created (a retry is safe); with
    another name it is 409 ``ID_CONFLICT``.
    """

    name: Name
    description: str = Field(default="", max_length=100_000)
    tags: dict[Key, TagValue] = Field(default_factory=dict)
    exist_ok: bool = False
    model_id: Id | None = None


class ModelUpdate(_Body):
    """Change a model's description, Markdown card or tags (absent or null: unchanged)."""

    description: str | None = Field(default=None, max_length=100_000)
    # Sizes of the card and of lists are checked by the registry domain (clear messages).
    card: str | None = Field(default=None, description="Markdown, at most 1 MiB as UTF-8")
    set_tags: dict[Key, TagValue] | None = None
    delete_tags: list[Key] | None = None


class VersionCreate(_Body):
    """Register the next version of a model.

    Every file's blob must already be uploaded (``PUT /api/v1/blobs/{digest}``), and the
    files must include ``windlass-model.yaml``. The same ``version_id`` again returns the
    version already registered.
    """

    source: str = Field(min_length=1, max_length=10_000)
    files: list[ArtifactEntryBody] = Field(min_length=1, description="At most 100,000")
    manifest: dict[str, Any]
    run_id: Id | None = None
    description: str = Field(default="", max_length=100_000)
    version_id: Id | None = None
    claimed_by: Claim | None = None
    create_missing_model: bool = Field(
        default=True, description="Create the registered model if it does not exist yet"
    )


class AliasSet(_Body):
    """Point an alias at a version; ``claimed_by`` goes into the alias history, as a claim."""

    version: Version
    claimed_by: Claim | None = None
