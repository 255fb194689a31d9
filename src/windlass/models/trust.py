"""Trust decisions for models whose files can run code when loaded (pickle, packaged Python).

Such a model loads only with ``trust=True``, when its URI matches a pattern of
``WINDLASS_TRUSTED_MODEL_SOURCES`` (``models:/churn/*``, ``runs:/*``), or when that setting
holds ``registrant:NAME`` and the registry version being loaded was registered by the
principal NAME, authenticated. Either way, who made it is printed to standard error before
its code runs.

The registrant is read only from the version the store returned: the ``claimed_by`` the
server recorded from the principal of the registering call, with the ``registered_auth``
it established that principal by. A name recorded with auth off (``local``: the embedded
SDK's ``WINDLASS_USER`` or OS login) is a claim and matches no ``registrant:`` entry.

The creator a manifest names is never a reason to trust it: it is the uploader's OS login,
or whatever text someone who can write to the store put there, so ``user:`` patterns are
refused as a :class:`~windlass.exceptions.ConfigError` (see ``config._model_sources``), and
a ``registered_by`` or ``created_by`` in the model's files is never looked at.
"""

from __future__ import annotations

import fnmatch
import sys

from windlass import config
from windlass.entities import ModelVersion
from windlass.exceptions import UntrustedModel
from windlass.models.manifest import ModelManifest


def unsafe_reasons(manifest: ModelManifest) -> list[str]:
    """Return why loading this model would run code from its files (empty if it would not)."""
    return [
        f"{name}: {conf['needs_trust']}"
        for name, conf in manifest.flavors.items()
        if conf.get("needs_trust")
    ]


def trusted_by_setting(uri: str, version: ModelVersion | None = None) -> str | None:
    """Return the ``WINDLASS_TRUSTED_MODEL_SOURCES`` entry that trusts this model, or None.

    A URI pattern matches ``uri``; ``registrant:NAME`` matches when ``version`` (the
    registry version being loaded, as the store returned it) was registered by NAME with an
    authenticated identity. Raises ConfigError when the setting is invalid (a ``user:``
    pattern, for one).
    """
    patterns: list[str] = config.settings.trusted_model_sources or []
    registrant = None if version is None else version.authenticated_registrant
    for pattern in patterns:
        name = config.registrant_of(pattern)
        if name is None:
            if fnmatch.fnmatchcase(uri, pattern):
                return pattern
        elif registrant is not None and registrant == name:
            return pattern
    return None


def _made_by(manifest: ModelManifest, version: ModelVersion | None) -> str:
    """Return who made and who registered the model, each as the store knows them."""
    made = f"made by {manifest.creator()}"
    if version is None:
        return made
    how = (
        "unauthenticated"
        if version.authenticated_registrant is None
        else f"authenticated by {version.registered_auth.value}"
    )
    return f"{made}, registered by {version.claimed_by or 'unknown'} ({how})"


def check_trust(
    uri: str, manifest: ModelManifest, trust: bool, version: ModelVersion | None = None
) -> bool:
    """Return whether loading may run code from the model's files; raise if not allowed.

    The model is trusted with ``trust=True`` or when the setting trusts it: a pattern
    matching its URI, or ``registrant:NAME`` when ``version`` (the registry's record of
    the version, None for a run's or a folder's model) was registered by NAME,
    authenticated. The setting is read on every load, so a bad value is a ConfigError,
    never ignored. An unsafe model that is not trusted raises UntrustedModel; a trusted
    one is announced on standard error with its (claimed) creator and its registrant.
    """
    trusted = trusted_by_setting(uri, version) is not None or trust
    reasons = unsafe_reasons(manifest)
    if not reasons:
        return trusted
    why = "; ".join(reasons)
    made_by = _made_by(manifest, version)
    if trusted:
        print(
            f"windlass: loading {uri}, {made_by}; its files can run code ({why})",
            file=sys.stderr,
        )
        return True
    raise UntrustedModel(
        f"{uri} was {made_by} and loading it would run code from its files ({why}). Load "
        "it only if you trust its source: pass trust=True, or add to "
        "WINDLASS_TRUSTED_MODEL_SOURCES a pattern matching its URI or registrant:NAME for "
        "the authenticated principal that registered it",
        uri=uri,
        creator=manifest.created_by,
        run_id=manifest.run_id,
        reasons=reasons,
    )
