"""What a model server serves: a model URI resolved to a loaded, batched model.

``models:/churn@champion`` is resolved to a version when loaded and re-resolved on every
poll, so an alias move reaches a running server without a restart. Fixed URIs
(``models:/churn/3``, ``runs:/…``, a folder) never change.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from windlass.models.loading import LoadedModel
from windlass.serving.batcher import Batcher

logger = logging.getLogger("windlass.serving")


@dataclass(frozen=True)
class Resolved:
    """A model URI pinned to what it names now: display name, version, and a loadable URI."""

    name: str
    version: str
    uri: str


@dataclass
class ServedModel:
    """A loaded model with its batcher, serving one variant."""

    variant: str
    resolved: Resolved
    model: LoadedModel
    batcher: Batcher

    @property
    def name(self) -> str:
        """Return the model's display name."""
        return self.resolved.name

    @property
    def version(self) -> str:
        """Return the model's version ("" for an unversioned folder)."""
        return self.resolved.version


def resolve(uri: str) -> Resolved:
    """Pin ``uri`` to what it names now (an alias becomes a version number)."""
    from windlass.models.fluent import get_model_version
    from windlass.uris import parse_object_uri

    if uri.startswith("models:/"):
        parsed = parse_object_uri(uri)
        version = get_model_version(parsed.name, parsed.version, alias=parsed.alias)
        return Resolved(parsed.name, str(version.version), version.uri)
    if uri.startswith("runs:/"):
        parsed = parse_object_uri(uri)
        return Resolved(parsed.path.rsplit("/", 1)[-1] or "model", parsed.name[-8:], uri)
    folder = Path(uri)
    return Resolved(folder.resolve().name, "", str(folder))


def is_pinned(uri: str) -> bool:
    """Tell whether ``uri`` always names the same files (no alias to follow)."""
    return not (uri.startswith("models:/") and "@" in uri)


def load(variant: str, uri: str, *, trust: bool, batching: dict[str, Any],
         metrics: Any = None) -> ServedModel:
    """Resolve and load ``uri`` (verified) and give it a batcher."""
    from windlass.models.fluent import load_model

    resolved = resolve(uri)
    model = load_model(resolved.uri, trust=trust)
    on_batch = None if metrics is None else metrics.batch_observer(resolved.name,
                                                                   resolved.version)
    batcher = Batcher(model.predict_prepared, on_batch=on_batch, **batching)
    logger.info("loaded %s as %s version %s (variant %s)", uri, resolved.name,
                resolved.version or "-", variant)
    if metrics is not None:
        metrics.reloads.labels(resolved.name).inc()
    return ServedModel(variant, resolved, model, batcher)
