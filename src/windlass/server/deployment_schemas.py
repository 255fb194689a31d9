"""Request bodies of the deployment routes (pydantic; they document the OpenAPI spec).

Bodies are strict and bounded: unknown fields, wrong types, NaN or infinite weights and
oversized lists are refused with 400 before the deployments domain sees them; the domain
checks the rest (model URIs that must resolve, unique names, a positive weight sum).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from windlass.server.schemas import Id, _Body

#: A deployment or variant name (the names of ``deployments:/<name>`` URIs).
Name = Annotated[str, Field(pattern="^[A-Za-z0-9][A-Za-z0-9_.\\-]{0,255}$")]
#: A relative traffic weight: finite and non-negative.
Weight = Annotated[float, Field(ge=0, allow_inf_nan=False)]
ModelUri = Annotated[
    str,
    Field(
        min_length=1,
        max_length=1024,
        pattern="^(models|runs):/",
        description="models:/NAME/VERSION, models:/NAME@ALIAS or runs:/RUN_ID/PATH",
    ),
]
Revision = Annotated[int, Field(ge=1, le=2**31 - 1)]
MAX_VARIANTS = 100


class VariantBody(_Body):
    """One variant: a model URI and its relative share of traffic.

    Variants given without any weight share traffic equally; weights that are given are
    kept as they are (all 0 is refused: no variant would answer).
    """

    name: Name
    model_uri: ModelUri
    weight: Weight | None = None


class DeploymentCreate(_Body):
    """Create a deployment (revision 1).

    Variants given without any weight share traffic equally. The shadow gets a copy of
    every request; its weight is ignored. The same ``deployment_id`` again returns the
    deployment it created (a retry is safe).
    """

    name: Name
    variants: list[VariantBody] = Field(min_length=1, max_length=MAX_VARIANTS)
    shadow: VariantBody | None = None
    description: str = Field(default="", max_length=100_000)
    deployment_id: Id | None = None


class DeploymentUpdate(_Body):
    """Change a deployment as its next revision.

    ``variants`` replaces all variants; ``weights`` changes the named variants' weights
    (the others keep theirs); give one of them, not both. ``shadow``: a variant sets it,
    ``null`` removes it, absent leaves it. With ``expected_revision``, the change is made
    only if the deployment is still at that revision (409 otherwise).
    """

    variants: list[VariantBody] | None = Field(default=None, min_length=1, max_length=MAX_VARIANTS)
    weights: dict[Name, Weight] | None = Field(default=None, min_length=1, max_length=MAX_VARIANTS)
    shadow: VariantBody | None = None
    action: (
        Literal["update", "set_variants", "set_weights", "set_shadow", "promote", "rollback"] | None
    ) = Field(default=None, description="What the history records (default: from the change)")
    expected_revision: Revision | None = None


class DeploymentPromote(_Body):
    """Send all traffic to one variant (or make the shadow that variant)."""

    variant: Name
    expected_revision: Revision | None = None


class DeploymentRollback(_Body):
    """Restore the previous revision's variants and shadow (or ``to_revision``'s)."""

    to_revision: Revision | None = None
    expected_revision: Revision | None = None
