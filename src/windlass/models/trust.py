"""Trust decisions for models whose files can run code when loaded (pickle, packaged Python).

Such a model loads only with ``trust=True`` or when its URI or creator matches a pattern of
``WINDLASS_TRUSTED_MODEL_SOURCES`` (``models:/churn/*``, ``runs:/*``, ``user:ada``). Either
way, who made it is printed to standard error before its code runs.
"""

from __future__ import annotations

import fnmatch
import sys

from windlass import config
from windlass.exceptions import UntrustedModel
from windlass.models.manifest import ModelManifest


def unsafe_reasons(manifest: ModelManifest) -> list[str]:
    """Return why loading this model would run code from its files (empty if it would not)."""
    return [f"{name}: {conf['needs_trust']}" for name, conf in manifest.flavors.items()
            if conf.get("needs_trust")]


def trusted_by_setting(uri: str, manifest: ModelManifest) -> bool:
    """Tell whether ``WINDLASS_TRUSTED_MODEL_SOURCES`` trusts this model's URI or creator."""
    patterns: list[str] = config.get("WINDLASS_TRUSTED_MODEL_SOURCES") or []
    user = manifest.created_by.get("user", "")
    for pattern in patterns:
        if pattern.startswith("user:"):
            if user and fnmatch.fnmatchcase(user, pattern[len("user:"):]):
                return True
        elif fnmatch.fnmatchcase(uri, pattern):
            return True
    return False


def check_trust(uri: str, manifest: ModelManifest, trust: bool) -> bool:
    """Return whether loading may run the model's code; raise UntrustedModel if not allowed.

    A model with nothing unsafe needs no trust (returns False). An unsafe one is allowed by
    ``trust=True`` or the setting, and announced on standard error with its creator.
    """
    reasons = unsafe_reasons(manifest)
    if not reasons:
        return False
    why = "; ".join(reasons)
    if trust or trusted_by_setting(uri, manifest):
        print(f"windlass: loading {uri}, made by {manifest.creator()}; its files can run "
              f"code ({why})", file=sys.stderr)
        return True
    raise UntrustedModel(
        f"{uri} was made by {manifest.creator()} and loading it would run code from its "
        f"files ({why}). Load it only if you trust its source: pass trust=True, or add a "
        "matching pattern to WINDLASS_TRUSTED_MODEL_SOURCES",
        uri=uri, creator=manifest.created_by, run_id=manifest.run_id, reasons=reasons)
