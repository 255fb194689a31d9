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
from windlass.models.signature import records_to_columns, records_to_matrix
from windlass.serving.batcher import Batcher
from windlass.serving.payloads import ColumnBatch

logger = logging.getLogger("windlass.serving")


@dataclass(frozen=True)
class Resolved:
    """A model URI pinned to what it names now: display name, version, and a loadable URI."""

    name: str
    version: str
    uri: str


@dataclass
class ServedModel:
    """A loaded model with its batcher, serving one variant.

    ``matrix_columns`` is set when the model takes its input as one float64 array
    (:meth:`LoadedModel.matrix_columns`): requests are then prepared straight into arrays
    and batches are stacked arrays, with no DataFrame on the request path.
    """

    variant: str
    resolved: Resolved
    model: LoadedModel
    batcher: Batcher
    matrix_columns: list[str] | None = None
    source_uri: str = ""

    def problem(self) -> str | None:
        """Return why this model could not be loaded again now (None: it could).

        A registered version that was deleted, a recorded file gone from the artifact
        store, or a model folder removed. Other failures (the store unreachable) raise.
        """
        from windlass.exceptions import NotFound
        from windlass.models.fluent import missing_model_files

        uri = self.source_uri or self.resolved.uri
        if uri.startswith("models:/"):
            from windlass.uris import parse_object_uri, with_project

            # The version pinned at load, in the project the URI names (if it names one).
            project = parse_object_uri(uri).project
            uri = with_project(f"models:/{self.name}/{self.version}", project)
        elif not uri.startswith("runs:/"):
            return None if Path(uri).is_dir() else f"the model folder {uri} is gone"
        try:
            missing = missing_model_files(uri)
        except NotFound as exc:
            return f"{uri} no longer exists ({exc.message})"
        if missing:
            return (
                f"the artifact store no longer holds {len(missing)} file(s) of {uri}, "
                f"e.g. {missing[0]!r}"
            )
        return None

    def prepare(self, inputs: Any) -> Any:
        """Return a request's inputs checked against the signature, ready to batch.

        A float64 array for matrix models, else numpy columns for flat records, else the
        signature's general conversion (which names whatever is wrong).
        """
        names = self.matrix_columns
        if names is not None:
            matrix = records_to_matrix(names, inputs)
            if matrix is not None:
                return matrix
            return self.model.prepare(inputs).to_numpy(dtype="float64")
        signature = self.model.signature
        columns = None if signature is None else records_to_columns(signature.inputs, inputs)
        return ColumnBatch(columns) if columns is not None else self.model.prepare(inputs)

    @property
    def name(self) -> str:
        """Return the model's display name."""
        return self.resolved.name

    @property
    def version(self) -> str:
        """Return the model's version ("" for an unversioned folder)."""
        return self.resolved.version


def resolve(uri: str) -> Resolved:
    """Pin ``uri`` to what it names now (an alias becomes a version number).

    A URI naming its project (``models://<project>/...``) stays in that project.
    """
    from windlass.models.fluent import get_model_version
    from windlass.uris import parse_object_uri

    if uri.startswith("models:/"):
        parsed = parse_object_uri(uri)
        version = get_model_version(
            parsed.name, parsed.version, alias=parsed.alias, project=parsed.project
        )
        pinned = parse_object_uri(version.uri).in_project(parsed.project)
        return Resolved(parsed.name, str(version.version), str(pinned))
    if uri.startswith("runs:/"):
        parsed = parse_object_uri(uri)
        return Resolved(parsed.path.rsplit("/", 1)[-1] or "model", parsed.name[-8:], uri)
    folder = Path(uri)
    return Resolved(folder.resolve().name, "", str(folder))


def is_pinned(uri: str) -> bool:
    """Tell whether ``uri`` always names the same files (no alias to follow)."""
    return not (uri.startswith("models:/") and "@" in uri)


def load(
    variant: str, uri: str, *, trust: bool, batching: dict[str, Any], metrics: Any = None
) -> ServedModel:
    """Resolve and load ``uri`` (verified) and give it a batcher."""
    from windlass.models.fluent import load_model

    resolved = resolve(uri)
    model = load_model(resolved.uri, trust=trust)
    on_batch = None if metrics is None else metrics.batch_observer(resolved.name, resolved.version)
    matrix = model.matrix_columns()
    predict = model.predict_prepared if matrix is None else model.predict_matrix
    batcher = Batcher(predict, on_batch=on_batch, **batching)
    logger.info(
        "loaded %s as %s version %s (variant %s)",
        uri,
        resolved.name,
        resolved.version or "-",
        variant,
    )
    if metrics is not None:
        metrics.reloads.labels(resolved.name).inc()
    return ServedModel(variant, resolved, model, batcher, matrix, uri)
