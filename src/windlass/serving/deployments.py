"""Deployments: named sets of weighted model variants plus a shadow, and how traffic splits.

:class:`DeploymentService` is the one writer of deployments (the SDK and the REST server
both call it). It checks names, model URIs and weights, fills in ids and times, and
leaves storing to the metadata store, which numbers every change as the next revision and
records it with ``claimed_by``: the name of the principal of the call (``principal=``,
else the one the service was made with; unauthenticated until the auth issue). The rules
it keeps:

- A deployment has 1-100 variants with unique names; each names a model by
  ``models:/<name>/<version>``, ``models:/<name>@<alias>`` (``@latest``: the newest) or
  ``runs:/<run id>/<path>``. A URI new to the deployment must resolve when it is set, so a
  typo is refused at once (ModelNotFound, ModelVersionNotFound, RunNotFound,
  ArtifactNotFound), naming the variant. The URI is stored as given: an alias keeps being
  followed by a running server.
- Weights are relative, finite and non-negative, with a positive sum; a variant with weight
  0 stays in the deployment but gets no traffic. Variants given without any weight (a
  mapping without ``weight``, or ``weight`` None) share traffic equally (``100 / n``
  each); weights that are given are never changed, so explicit weights that are all 0 (a
  single variant of weight 0, say) are refused, not silently replaced.
- The shadow gets a copy of every request (its answers are logged, not returned); it takes
  no share of answered traffic, so its weight is always stored as 0. Its name must differ
  from the variants' names.
- ``set_weights`` changes only the variants it names; the others keep their weight.
- ``promote`` gives one variant weight 100 and the others 0, keeping them listed so a
  re-split or rollback is one step. Promoting the shadow moves it into the variants (weight
  100) and leaves the deployment without a shadow.
- ``rollback`` restores the variants and shadow of the revision before the current one (or
  of ``to_revision``) as a new revision with action ``rollback``; a second rollback undoes
  the first, like ``kubectl rollout undo``. At revision 1 there is nothing to roll back to
  (InvalidState).
- A change that leaves variants and shadow as they are records nothing and returns the
  deployment unchanged, so a retried call is harmless.
- Every change is a compare-and-set on the revision it was computed from; when another
  writer got there first it is recomputed from the new state (and retried), unless the
  caller passed ``expected_revision``: then it fails with Conflict instead.

Every public call first asks the service's :class:`~windlass.access.gate.Access`: reads
need read in the project, creating a deployment write, and every change of an existing one
(variants, weights, shadow, promote, rollback) or its deletion admin. Each change that
records a revision, and each creation and deletion, is then audited once
(:mod:`windlass.access.actions`).

:class:`TrafficSplit` is the routing rule of a model server: sticky by request key
(weighted rendezvous hashing), else random by weight.
"""

from __future__ import annotations

import bisect
import builtins
import hashlib
import itertools
import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from enum import Enum
from typing import Any, Final, Literal

from windlass.access import actions as audit_actions
from windlass.access.bound import Bound
from windlass.access.gate import Access
from windlass.access.policy import Permission
from windlass.entities import MANIFEST_FILE, Deployment, DeploymentEvent, Page, Variant
from windlass.exceptions import (
    ArtifactNotFound,
    Conflict,
    InvalidInput,
    InvalidState,
    InvalidUri,
    ModelVersionNotFound,
    NotFound,
)
from windlass.ids import now_ms, writer_id
from windlass.principal import Principal, local_principal
from windlass.serving.traffic import Traffic, read_traffic
from windlass.store.metadata import MetadataStore
from windlass.uris import LATEST, check_name, parse_object_uri
from windlass.versioning.checks import checked_text as _text
from windlass.versioning.checks import recorded_name as _recorded_name

MAX_VARIANTS = 100
MAX_URI_LENGTH = 1024
MAX_DESCRIPTION_LENGTH = 100_000
MAX_REVISION = 2**31 - 1
#: The weight ``promote`` gives the promoted variant (the others get 0).
PROMOTED_WEIGHT = 100.0
#: Actions a change may be recorded as (``create`` only by :meth:`DeploymentService.create`).
ACTIONS: Final = frozenset(
    {"create", "update", "set_variants", "set_weights", "set_shadow", "promote", "rollback"}
)
#: How often a change is recomputed when concurrent writers keep getting there first.
MAX_ATTEMPTS = 50
#: The audit action of each recorded change.
_AUDITED: Final = {
    "create": audit_actions.DEPLOYMENT_CREATE,
    "update": audit_actions.DEPLOYMENT_UPDATE,
    "set_variants": audit_actions.DEPLOYMENT_UPDATE,
    "set_weights": audit_actions.DEPLOYMENT_WEIGHTS,
    "set_shadow": audit_actions.DEPLOYMENT_SHADOW,
    "promote": audit_actions.DEPLOYMENT_PROMOTE,
    "rollback": audit_actions.DEPLOYMENT_ROLLBACK,
}
_READ, _WRITE, _ADMIN = Permission.READ, Permission.WRITE, Permission.ADMIN


def _state(deployment: Deployment) -> dict[str, Any]:
    """Return what an audit record keeps of a deployment: revision, variants, shadow."""
    return {
        "revision": deployment.revision,
        "variants": [v.to_dict() for v in deployment.variants],
        "shadow": None if deployment.shadow is None else deployment.shadow.to_dict(),
    }


class _Keep(Enum):
    KEEP = "keep"


#: "Leave the shadow as it is" (the default of ``shadow`` in updates).
KEEP: Final = _Keep.KEEP
VariantLike = Variant | Mapping[str, Any]
ShadowArg = VariantLike | None | Literal[_Keep.KEEP]
#: A deployment's routing state: its variants and its shadow.
_State = tuple[list[Variant], Variant | None]
_Transform = Callable[[Deployment], _State]


# -- checks ---------------------------------------------------------------------------------
def _revision(kind: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_REVISION:
        raise InvalidInput(
            f"{kind} must be a positive integer, got {value!r}", **{kind: str(value)}
        )
    return value


def check_weight(variant: str, value: Any) -> float:
    """Return a valid weight (a finite number >= 0) or raise InvalidInput naming the variant."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInput(
            f"variant {variant!r}: weight must be a number, got {value!r}", variant=variant
        )
    try:
        weight = float(value)
    except OverflowError:  # an int too large for a float
        weight = math.inf
    if not math.isfinite(weight) or weight < 0:
        raise InvalidInput(
            f"variant {variant!r}: weight must be a finite number >= 0, got {value!r}",
            variant=variant,
        )
    return weight


def check_model_uri(variant: str, uri: Any) -> str:
    """Return a deployable model URI (``models:/...`` or ``runs:/<id>/<path>``) as given."""
    if not isinstance(uri, str) or not uri:
        raise InvalidUri(
            f"variant {variant!r}: model_uri must be a non-empty string, got {uri!r}",
            variant=variant,
        )
    if len(uri) > MAX_URI_LENGTH:
        raise InvalidUri(
            f"variant {variant!r}: model_uri has {len(uri)} characters; the "
            f"limit is {MAX_URI_LENGTH}",
            variant=variant,
        )
    try:
        parsed = parse_object_uri(uri)
        if parsed.kind == "models":
            check_name("model name", parsed.name)
            if parsed.alias is not None:
                check_name("alias", parsed.alias)
    except InvalidInput as exc:
        raise InvalidUri(
            f"variant {variant!r}: {exc.message}", variant=variant, uri=uri[:300]
        ) from None
    if parsed.project is not None:
        raise InvalidUri(
            f"variant {variant!r}: {uri!r} names a project; a variant's model "
            "is always in the deployment's project (write "
            f"{parsed.kind}:/{str(parsed).split('/', 3)[-1]})",
            variant=variant,
            uri=uri,
        )
    if parsed.kind not in ("models", "runs") or (parsed.kind == "runs" and not parsed.path):
        raise InvalidUri(
            f"variant {variant!r}: {uri!r} does not name a model (use "
            "models:/NAME/VERSION, models:/NAME@ALIAS or runs:/RUN_ID/PATH)",
            variant=variant,
            uri=uri,
        )
    return uri


def check_variant(value: Any, *, default_weight: float = 0.0) -> Variant:
    """Return a checked :class:`Variant` from a Variant or a mapping, weight as a float.

    A mapping without ``weight`` (or with ``weight`` None) gets ``default_weight``.
    """
    weight: Any
    if isinstance(value, Variant):
        name, uri, weight = value.name, value.model_uri, value.weight
    elif isinstance(value, Mapping):
        unknown = sorted(str(k) for k in set(value) - {"name", "model_uri", "weight"})
        if unknown:
            raise InvalidInput(
                f"unknown variant field(s) {', '.join(map(repr, unknown))}: a "
                "variant has name, model_uri and weight",
                fields=unknown,
            )
        missing = [k for k in ("name", "model_uri") if k not in value]
        if missing:
            raise InvalidInput(f"a variant needs {' and '.join(missing)}", fields=missing)
        name, uri = value["name"], value["model_uri"]
        weight = value.get("weight")
        weight = default_weight if weight is None else weight
    else:
        raise InvalidInput(f"a variant must be a Variant or a mapping, got {type(value).__name__}")
    name = check_name("variant name", name)
    return Variant(name, check_model_uri(name, uri), check_weight(name, weight))


def check_state(variants: Sequence[Variant], shadow: Variant | None) -> _State:
    """Check a deployment's whole state; return it with the shadow's weight set to 0."""
    clean = list(variants)
    if not clean:
        raise InvalidInput("a deployment needs at least one variant")
    if len(clean) > MAX_VARIANTS:
        raise InvalidInput(f"a deployment has at most {MAX_VARIANTS} variants, got {len(clean)}")
    seen: set[str] = set()
    for variant in clean:
        if variant.name in seen:
            raise InvalidInput(f"variant name {variant.name!r} is used twice", variant=variant.name)
        seen.add(variant.name)
    total = sum(v.weight for v in clean)
    if not total > 0:
        given = ", ".join(f"{v.name}={v.weight:g}" for v in clean[:10])
        raise InvalidInput(
            f"the variants' weights must have a positive sum, got {given}: "
            "give at least one variant a weight above 0",
            weights={v.name: v.weight for v in clean[:10]},
        )
    if not math.isfinite(total):
        raise InvalidInput("the variants' weights add up to infinity; use smaller weights")
    if shadow is not None:
        if shadow.name in seen:
            raise InvalidInput(
                f"the shadow's name {shadow.name!r} is also a variant's name; "
                "give the shadow a name of its own",
                variant=shadow.name,
            )
        shadow = replace(shadow, weight=0.0)
    return clean, shadow


def _variants(values: Any) -> list[Variant]:
    """Return checked variants; when none was given a weight, equal shares (100 / n each)."""
    if isinstance(values, (str, bytes, Mapping, Variant)) or not isinstance(values, Sequence):
        raise InvalidInput(f"variants must be a list of variants, got {type(values).__name__}")
    if len(values) > MAX_VARIANTS:
        raise InvalidInput(f"a deployment has at most {MAX_VARIANTS} variants, got {len(values)}")
    clean = [check_variant(v) for v in values]
    if clean and not any(_weight_given(v) for v in values):
        return [replace(v, weight=100.0 / len(clean)) for v in clean]
    return clean


def _weight_given(value: VariantLike) -> bool:
    """Return whether a variant came with a weight (a Variant always has one)."""
    return not isinstance(value, Mapping) or value.get("weight") is not None


def _shadow(value: VariantLike | None) -> Variant | None:
    return None if value is None else check_variant(value)


# -- the service ----------------------------------------------------------------------------
class DeploymentService(Bound):
    """Create, change, roll back and delete deployments over a metadata store.

    With ``check_models`` (the default) every model URI new to a deployment is resolved
    in the deployment's project through the same store, so only URIs that name an
    existing model version (or a run's packaged model) are accepted.
    """

    def __init__(
        self,
        store: MetadataStore,
        *,
        check_models: bool = True,
        principal: Principal | None = None,
        access: Access | None = None,
    ) -> None:
        self.store = store
        self.check_models = check_models
        self._bind(access, principal if principal is not None else local_principal())

    def _require(
        self, principal: Principal | None, permission: Permission, project_id: str
    ) -> Principal:
        who = self._who(principal)
        self._access.require(who, permission, project_id)
        return who

    # -- reading -------------------------------------------------------------------------
    def get(self, project_id: str, name: str, *, principal: Principal | None = None) -> Deployment:
        """Return a deployment with its variants, shadow and revision."""
        self._require(principal, _READ, project_id)
        return self.store.deployments.get_deployment(
            project_id, check_name("deployment name", name)
        )

    def list(
        self,
        project_id: str,
        max_results: int = 100,
        page_token: str | None = None,
        *,
        principal: Principal | None = None,
    ) -> Page[Deployment]:
        """Return one page of a project's deployments, by name."""
        self._require(principal, _READ, project_id)
        return self.store.deployments.list_deployments(project_id, max_results, page_token)

    def history(
        self,
        project_id: str,
        name: str,
        max_results: int = 100,
        page_token: str | None = None,
        *,
        newest_first: bool = False,
        principal: Principal | None = None,
    ) -> Page[DeploymentEvent]:
        """Return one page of a deployment's recorded changes (oldest first unless asked)."""
        self._require(principal, _READ, project_id)
        return self.store.deployments.deployment_history(
            project_id,
            check_name("deployment name", name),
            max_results,
            page_token,
            newest_first=newest_first,
        )

    def get_revision(
        self, project_id: str, name: str, revision: int, *, principal: Principal | None = None
    ) -> DeploymentEvent:
        """Return the recorded change that made ``revision`` (its state, who and when)."""
        self._require(principal, _READ, project_id)
        return self.store.deployments.get_deployment_revision(
            project_id, check_name("deployment name", name), _revision("revision", revision)
        )

    def traffic(
        self,
        project_id: str,
        name: str,
        minutes: int = 60,
        buckets: int = 60,
        *,
        root: str | None = None,
        principal: Principal | None = None,
    ) -> Traffic:
        """Return the deployment's requests and latency per variant over the last ``minutes``.

        Read from its prediction log (``root``: the configured one by default), in
        ``buckets`` equal buckets ending now.
        """
        from windlass.serving.predlog import default_root

        found = self.get(project_id, name, principal=principal)
        end = now_ms()
        start = end - minutes * 60_000
        bucket = max(1, -(-(end - start) // buckets))
        return read_traffic(
            found.name, root=root or default_root(), start_ms=start, end_ms=end, bucket_ms=bucket
        )

    def check_servable(
        self, project_id: str, name: str, *, principal: Principal | None = None
    ) -> Deployment:
        """Return the deployment once every model it names resolves.

        DeploymentNotFound, or the NotFound of the first variant (or shadow) whose model
        is gone, naming the variant: what a server of this deployment would fail on.
        """
        deployment = self.get(project_id, name, principal=principal)
        shadow = [] if deployment.shadow is None else [deployment.shadow]
        for variant in (*deployment.variants, *shadow):
            self._resolve(project_id, variant)
        return deployment

    # -- model URIs ----------------------------------------------------------------------
    def _resolve(self, project_id: str, variant: Variant) -> None:
        """Raise the NotFound error of a URI that names no model, naming the variant."""
        parsed = parse_object_uri(variant.model_uri)
        models = self.store.registry.objects
        try:
            if parsed.kind == "runs":
                self._run_model(parsed.name, parsed.path)
            elif parsed.version is not None:
                models.get_version(project_id, parsed.name, parsed.version)
            elif parsed.alias is not None and parsed.alias != LATEST:
                models.get_version_by_alias(project_id, parsed.name, parsed.alias)
            elif not models.list_versions(project_id, parsed.name, 1).items:
                raise ModelVersionNotFound(
                    f"model {parsed.name!r} has no versions yet", model=parsed.name, alias=LATEST
                )
        except NotFound as exc:
            raise type(exc)(
                f"variant {variant.name!r}: {exc.message}",
                **{**exc.details, "variant": variant.name},
            ) from None

    def _run_model(self, run_id: str, path: str) -> None:
        try:
            self.store.artifacts.get_artifact(run_id, f"{path}/{MANIFEST_FILE}")
        except ArtifactNotFound:
            raise ArtifactNotFound(
                f"runs:/{run_id}/{path} is not a windlass model (no {MANIFEST_FILE} there)",
                run_id=run_id,
                path=path,
            ) from None

    def _check_models(
        self, project_id: str, variants: Sequence[Variant], shadow: Variant | None, known: set[str]
    ) -> None:
        if not self.check_models:
            return
        for variant in (*variants, *([shadow] if shadow is not None else [])):
            if variant.model_uri not in known:
                self._resolve(project_id, variant)
                known.add(variant.model_uri)

    # -- writing -------------------------------------------------------------------------
    def create(
        self,
        project_id: str,
        name: str,
        variants: Sequence[VariantLike],
        *,
        shadow: VariantLike | None = None,
        description: str = "",
        principal: Principal | None = None,
        deployment_id: str | None = None,
    ) -> Deployment:
        """Create a deployment (revision 1); a taken name is AlreadyExists.

        The same ``deployment_id`` again returns the deployment it created, so a retried
        call creates once.
        """
        caller = self._require(principal, _WRITE, project_id)
        name = check_name("deployment name", name)
        clean, clean_shadow = check_state(_variants(variants), _shadow(shadow))
        description = _text("description", description, MAX_DESCRIPTION_LENGTH)
        who = _recorded_name(caller)
        deployment_id = writer_id("deployment", deployment_id)
        self._check_models(project_id, clean, clean_shadow, set())
        with self.store.transaction():
            deployment = self.store.deployments.create_deployment(
                deployment_id=deployment_id,
                project_id=project_id,
                name=name,
                description=description,
                variants=clean,
                shadow=clean_shadow,
                claimed_by=who,
                at=now_ms(),
            )
            if deployment.id == deployment_id:  # not a retry answered with the one it made
                self._access.record(
                    caller,
                    audit_actions.DEPLOYMENT_CREATE,
                    f"deployments:/{name}",
                    project_id=project_id,
                    after={**_state(deployment), "description": deployment.description},
                )
        return deployment

    def _change(
        self,
        project_id: str,
        name: str,
        action: str,
        transform: _Transform,
        *,
        expected_revision: int | None,
        principal: Principal | None,
    ) -> Deployment:
        """Apply ``transform`` to the current state as a compare-and-set; retry on races."""
        caller = self._require(principal, _ADMIN, project_id)
        name = check_name("deployment name", name)
        expected = (
            None if expected_revision is None else _revision("expected_revision", expected_revision)
        )
        who = _recorded_name(caller)
        known: set[str] = set()
        for attempt in range(MAX_ATTEMPTS):
            current = self.store.deployments.get_deployment(project_id, name)
            variants, shadow = check_state(*transform(current))
            if variants == current.variants and shadow == current.shadow:
                return current
            if expected is not None and current.revision != expected:
                raise Conflict(
                    f"deployment {name!r} changed concurrently: expected revision "
                    f"{expected}, it is at revision {current.revision}",
                    deployment=name,
                    expected_revision=expected,
                    revision=current.revision,
                )
            known |= {v.model_uri for v in current.variants}
            if current.shadow is not None:
                known.add(current.shadow.model_uri)
            self._check_models(project_id, variants, shadow, known)
            try:
                # The change and its audit record commit together (a lost race keeps neither).
                with self.store.transaction():
                    changed = self.store.deployments.update_deployment(
                        project_id,
                        name,
                        variants=variants,
                        shadow=shadow,
                        action=action,
                        claimed_by=who,
                        at=now_ms(),
                        expected_revision=current.revision,
                    )
                    self._access.record(
                        caller,
                        _AUDITED[action],
                        f"deployments:/{name}",
                        project_id=project_id,
                        before=_state(current),
                        after=_state(changed),
                    )
            except Conflict as exc:
                if (
                    type(exc) is not Conflict
                    or "revision" not in exc.details
                    or expected is not None
                ):
                    raise
            else:
                return changed
            # Another writer won the race: back off a little, then recompute from its state.
            time.sleep(random.uniform(0, min(0.05, 0.001 * 2**attempt)))
        raise Conflict(
            f"deployment {name!r} kept changing concurrently; gave up after "
            f"{MAX_ATTEMPTS} attempts",
            deployment=name,
        )

    def update(
        self,
        project_id: str,
        name: str,
        *,
        variants: Sequence[VariantLike] | None = None,
        weights: Mapping[str, float] | None = None,
        shadow: ShadowArg = KEEP,
        action: str | None = None,
        expected_revision: int | None = None,
        principal: Principal | None = None,
    ) -> Deployment:
        """Replace the variants, change weights (of the named variants) and/or the shadow.

        Give ``variants`` or ``weights``, not both; ``shadow=None`` removes the shadow,
        :data:`KEEP` (the default) leaves it. ``action`` is what the history records
        (default: worked out from what changes).
        """
        self._require(principal, _ADMIN, project_id)
        if variants is not None and weights is not None:
            raise InvalidInput("give new variants or new weights, not both")
        if variants is None and weights is None and shadow is KEEP:
            raise InvalidInput("nothing to change: give variants, weights or a shadow")
        new_variants = None if variants is None else _variants(variants)
        new_weights = None if weights is None else self._weights(weights)
        new_shadow = shadow if shadow is KEEP else _shadow(shadow)
        if action is None:
            action = (
                "set_variants"
                if variants is not None
                else "set_weights"
                if weights is not None
                else "set_shadow"
            )
        if action not in ACTIONS or action == "create":
            raise InvalidInput(
                f"unknown action {action!r}; one of {', '.join(sorted(ACTIONS - {'create'}))}",
                action=action,
            )

        def transform(current: Deployment) -> _State:
            result = current.variants if new_variants is None else new_variants
            if new_weights is not None:
                result = self._reweigh(current, new_weights)
            return result, current.shadow if new_shadow is KEEP else new_shadow

        return self._change(
            project_id,
            name,
            action,
            transform,
            expected_revision=expected_revision,
            principal=principal,
        )

    @staticmethod
    def _weights(weights: Any) -> dict[str, float]:
        if not isinstance(weights, Mapping) or not weights:
            raise InvalidInput("give at least one weight, as {variant name: weight}")
        if len(weights) > MAX_VARIANTS:
            raise InvalidInput(f"a deployment has at most {MAX_VARIANTS} variants")
        return {check_name("variant name", k): check_weight(k, w) for k, w in weights.items()}

    @staticmethod
    def _reweigh(current: Deployment, weights: dict[str, float]) -> builtins.list[Variant]:
        names = [v.name for v in current.variants]
        unknown = sorted(set(weights) - set(names))
        if unknown:
            hint = ""
            if current.shadow is not None and current.shadow.name in unknown:
                hint = f" ({current.shadow.name!r} is the shadow: it takes no share)"
            raise InvalidInput(
                f"deployment {current.name!r} has no variant(s) "
                f"{', '.join(map(repr, unknown))}{hint}; its variants are "
                f"{', '.join(map(repr, names))}",
                variants=unknown,
            )
        return [replace(v, weight=weights.get(v.name, v.weight)) for v in current.variants]

    def set_weights(
        self,
        project_id: str,
        name: str,
        weights: Mapping[str, float],
        *,
        expected_revision: int | None = None,
        principal: Principal | None = None,
    ) -> Deployment:
        """Change the weights of the named variants; the others keep theirs."""
        return self.update(
            project_id,
            name,
            weights=weights,
            action="set_weights",
            expected_revision=expected_revision,
            principal=principal,
        )

    def set_variants(
        self,
        project_id: str,
        name: str,
        variants: Sequence[VariantLike],
        *,
        shadow: ShadowArg = KEEP,
        expected_revision: int | None = None,
        principal: Principal | None = None,
    ) -> Deployment:
        """Replace the variants (and the shadow, unless it is left as :data:`KEEP`)."""
        return self.update(
            project_id,
            name,
            variants=variants,
            shadow=shadow,
            action="set_variants",
            expected_revision=expected_revision,
            principal=principal,
        )

    def set_shadow(
        self,
        project_id: str,
        name: str,
        shadow: VariantLike | None,
        *,
        expected_revision: int | None = None,
        principal: Principal | None = None,
    ) -> Deployment:
        """Set the shadow variant, or remove it with None."""
        return self.update(
            project_id,
            name,
            shadow=shadow,
            action="set_shadow",
            expected_revision=expected_revision,
            principal=principal,
        )

    def promote(
        self,
        project_id: str,
        name: str,
        variant: str,
        *,
        expected_revision: int | None = None,
        principal: Principal | None = None,
    ) -> Deployment:
        """Send all traffic to one variant (weight 100; the others stay, at 0).

        Promoting the shadow makes it a variant with all the traffic and removes the shadow.
        """
        self._require(principal, _ADMIN, project_id)
        variant = check_name("variant name", variant)

        def transform(current: Deployment) -> _State:
            if current.shadow is not None and current.shadow.name == variant:
                return (
                    [
                        *(replace(v, weight=0.0) for v in current.variants),
                        replace(current.shadow, weight=PROMOTED_WEIGHT),
                    ],
                    None,
                )
            if variant not in {v.name for v in current.variants}:
                raise InvalidInput(
                    f"deployment {current.name!r} has no variant {variant!r}; its variants "
                    f"are {', '.join(repr(v.name) for v in current.variants)}",
                    variant=variant,
                )
            return (
                [
                    replace(v, weight=PROMOTED_WEIGHT if v.name == variant else 0.0)
                    for v in current.variants
                ],
                current.shadow,
            )

        return self._change(
            project_id,
            name,
            "promote",
            transform,
            expected_revision=expected_revision,
            principal=principal,
        )

    def rollback(
        self,
        project_id: str,
        name: str,
        *,
        to_revision: int | None = None,
        expected_revision: int | None = None,
        principal: Principal | None = None,
    ) -> Deployment:
        """Restore an earlier revision's variants and shadow as a new revision.

        Without ``to_revision``: the revision before the one current at the call.
        """
        self._require(principal, _ADMIN, project_id)
        target = None if to_revision is None else _revision("to_revision", to_revision)

        def transform(current: Deployment) -> _State:
            nonlocal target
            if target is None:  # pinned at the first read: a retry restores the same state
                if current.revision == 1:
                    raise InvalidState(
                        f"deployment {current.name!r} is at revision 1: there "
                        "is nothing to roll back to",
                        deployment=current.name,
                    )
                target = current.revision - 1
            if target >= current.revision:
                raise InvalidInput(
                    f"to_revision must be an earlier revision than the current "
                    f"one ({current.revision}), got {target}",
                    to_revision=target,
                )
            event = self.store.deployments.get_deployment_revision(project_id, current.name, target)
            return event.variants, event.shadow

        return self._change(
            project_id,
            name,
            "rollback",
            transform,
            expected_revision=expected_revision,
            principal=principal,
        )

    def delete(self, project_id: str, name: str, *, principal: Principal | None = None) -> None:
        """Delete a deployment and its history."""
        who = self._require(principal, _ADMIN, project_id)
        name = check_name("deployment name", name)
        with self.store.transaction():
            self.store.deployments.delete_deployment(project_id, name)
            self._access.record(
                who, audit_actions.DEPLOYMENT_DELETE, f"deployments:/{name}", project_id=project_id
            )


# -- routing --------------------------------------------------------------------------------
_TWO_TO_MINUS_53 = 2.0**-53


class TrafficSplit:
    """Which variant answers a request: sticky by key, else random by weight.

    Build one per revision (it precomputes what every request needs). With a key, the
    choice is weighted rendezvous hashing: each variant scores the key with its own keyed
    BLAKE2b hash, ``-ln(u) / weight``, and the lowest score wins. So the same key gets the
    same variant on every replica for as long as the weights stay, each variant gets its
    weight's share of keys, and changing one variant's weight only moves keys to or from
    that variant (moving 10% of the weight moves 10% of the keys; the other variants keep
    theirs). Without a key, a weighted random pick. Variants of weight 0 never answer.
    """

    __slots__ = ("_cumulative", "_hashers", "_live", "_single", "_total", "_weights", "variants")

    def __init__(self, variants: Sequence[Variant]) -> None:
        self.variants = tuple(variants)
        live = [v for v in self.variants if v.weight > 0 and math.isfinite(v.weight)]
        if not live:
            raise InvalidInput("at least one variant needs a positive weight")
        self._live = tuple(live)
        self._weights = tuple(float(v.weight) for v in live)
        self._cumulative = tuple(itertools.accumulate(self._weights))
        self._total = self._cumulative[-1]
        self._hashers = tuple(
            hashlib.blake2b(
                digest_size=8, key=hashlib.blake2b(v.name.encode(), digest_size=32).digest()
            )
            for v in live
        )
        self._single = live[0] if len(live) == 1 else None

    @classmethod
    def of(cls, deployment: Deployment) -> TrafficSplit:
        """Return the split of a deployment's variants."""
        return cls(deployment.variants)

    def choose(self, key: str | None = None, rng: random.Random | None = None) -> Variant:
        """Return the variant for a request key (None: a weighted random pick)."""
        if self._single is not None:
            return self._single
        if key is None:
            point = (rng.random() if rng is not None else random.random()) * self._total
            index = bisect.bisect_right(self._cumulative, point)
            return self._live[min(index, len(self._live) - 1)]
        data = key.encode()
        best = self._live[0]
        best_score = math.inf
        for variant, weight, keyed in zip(self._live, self._weights, self._hashers, strict=True):
            hasher = keyed.copy()
            hasher.update(data)
            # A uniform number in (0, 1) from the top 53 bits; -ln of it is Exp(1).
            u = ((int.from_bytes(hasher.digest(), "big") >> 11) + 0.5) * _TWO_TO_MINUS_53
            score = -math.log(u) / weight
            if score < best_score:
                best, best_score = variant, score
        return best


def choose_variant(
    variants: Sequence[Variant], key: str | None, rng: random.Random | None = None
) -> Variant:
    """Return the variant answering a request with ``key`` (see :class:`TrafficSplit`).

    This builds the split each call; a server builds a :class:`TrafficSplit` once per
    revision instead.
    """
    return TrafficSplit(variants).choose(key, rng)
