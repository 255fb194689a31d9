"""Trust decisions for models whose files can run code when loaded (pickle, packaged Python).

Such a model loads only with ``trust=True`` or when its URI matches a pattern of
``WINDLASS_TRUSTED_MODEL_SOURCES`` (``models:/churn/*``, ``runs:/*``). Either way, who made
it is printed to standard error before its code runs.

The creator a manifest names is never a reason to trust it: it is the uploader's OS login,
or whatever text someone who can write to the store put there, so ``user:`` patterns are
refused as a :class:`~windlass.exceptions.ConfigError` (see ``config._model_sources``).
"""

from __future__ import annotations

import fnmatch
import sys

from windlass import config
from windlass.exceptions import UntrustedModel
from windlass.models.manifest import ModelManifest


def unsafe_reasons(manifest: ModelManifest) -> list[str]:
    """Return why loading this model would run code from its files (empty if it would not)."""
    return [
        f"{name}: {conf['needs_trust']}"
        for name, conf in manifest.flavors.items()
        if conf.get("needs_trust")
    ]


def trusted_by_setting(uri: str) -> bool:
    """Tell whether a ``WINDLASS_TRUSTED_MODEL_SOURCES`` pattern matches this model URI.

    Raises ConfigError when the setting is invalid (a ``user:`` pattern, for one).
    """
    patterns: list[str] = config.settings.trusted_model_sources or []
    return any(fnmatch.fnmatchcase(uri, pattern) for pattern in patterns)


def check_trust(uri: str, manifest: ModelManifest, trust: bool) -> bool:
    """Return whether loading may run code from the model's files; raise if not allowed.

    The model is trusted with ``trust=True`` or when the setting matches its URI (the
    setting is read on every load, so a bad value is a ConfigError, never ignored). An
    unsafe model that is not trusted raises UntrustedModel; a trusted one is announced on
    standard error with its (claimed) creator.
    """
    trusted = trusted_by_setting(uri) or trust
    reasons = unsafe_reasons(manifest)
    if not reasons:
        return trusted
    why = "; ".join(reasons)
    if trusted:
        print(
            f"windlass: loading {uri}, made by {manifest.creator()}; its files can run "
            f"code ({why})",
            file=sys.stderr,
        )
        return True
    raise UntrustedModel(
        f"{uri} was made by {manifest.creator()} and loading it would run code from its "
        f"files ({why}). Load it only if you trust its source: pass trust=True, or add a "
        "pattern matching its URI to WINDLASS_TRUSTED_MODEL_SOURCES",
        uri=uri,
        creator=manifest.created_by,
        run_id=manifest.run_id,
        reasons=reasons,
    )
