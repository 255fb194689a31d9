"""Save a model as a packaged folder: flavor files, input example, manifest with hashes.

The folder is built next to its destination and renamed into place at the end, so a crash
mid-save leaves no half-written model. Before the rename the saved model is loaded back
and asked to predict its input example: a model that cannot round-trip is refused at save
time, not discovered at serving time.
"""

from __future__ import annotations

import platform
import shutil
import tempfile
from pathlib import Path
from typing import Any

import orjson

from windlass.exceptions import AlreadyExists, InvalidInput, WindlassError
from windlass.extras import require_ml
from windlass.models.flavor import pinned
from windlass.models.flavors import flavor_for, get_flavor
from windlass.models.manifest import (
    EXAMPLE_FILE,
    REQUIREMENTS_FILE,
    ModelManifest,
    hash_folder,
    write_manifest,
)
from windlass.models.signature import Signature, as_frame, enforce, infer_schema

# An input example documents the input; more rows than this only bloat the package.
MAX_EXAMPLE_ROWS = 100


def _example_json(example: Any) -> bytes:
    """Return the input example as JSON: a table in ``split`` form, or an array."""
    frame = as_frame(example)
    if frame is not None:
        frame = frame.head(MAX_EXAMPLE_ROWS)
        data = {
            "type": "dataframe",
            "columns": [str(c) for c in frame.columns],
            "data": frame.astype(object).where(frame.notna(), None).to_numpy().tolist(),
        }
    else:
        from windlass.models.signature import as_array

        array = as_array(example)[:MAX_EXAMPLE_ROWS]
        data = {"type": "ndarray", "dtype": array.dtype.name, "data": array.tolist()}
    try:
        return orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY, default=str)
    except TypeError as exc:
        raise InvalidInput(f"the input example cannot be written as JSON: {exc}") from None


def read_example(path: Path) -> Any:
    """Load an input example written by :func:`save_model` (a DataFrame or an ndarray)."""
    import numpy as np
    import pandas as pd

    data = orjson.loads(path.read_bytes())
    if data.get("type") == "dataframe":
        return pd.DataFrame(data["data"], columns=data["columns"]).infer_objects()
    return np.asarray(data["data"], dtype=data.get("dtype"))


def _default_requirements(flavor_requirements: list[str]) -> list[str]:
    base = [pinned("numpy"), pinned("pandas")]
    wanted = [*flavor_requirements, *base]
    return list(dict.fromkeys(wanted))


def _as_signature(signature: Signature | dict[str, Any] | None) -> Signature | None:
    if signature is None or isinstance(signature, Signature):
        return signature
    return Signature.from_dict(signature)


def save_model(
    model: Any,
    path: str | Path,
    *,
    flavor: str | None = None,
    input_example: Any = None,
    signature: Signature | dict[str, Any] | None = None,
    serialization: str | None = None,
    requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    run_id: str | None = None,
    **options: Any,
) -> ModelManifest:
    """Save ``model`` as a packaged folder at ``path`` (which must not exist yet).

    ``flavor`` is picked from the model's class unless given. The signature is inferred
    from ``input_example`` (and the model's prediction on it) unless given. ``options``
    go to the flavor (``code_paths``, ``artifacts``, ``model_config`` for the python one).
    """
    require_ml("saving a model")
    dest = Path(path)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise AlreadyExists(f"{dest} already exists; choose a new folder", path=str(dest))
    chosen = get_flavor(flavor) if flavor else flavor_for(model)
    if metadata is not None:
        try:
            orjson.dumps(metadata)
        except TypeError as exc:
            raise InvalidInput(f"model metadata must be JSON-serialisable: {exc}") from None
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        config = chosen.save(
            model, staging, serialization=serialization, example=input_example, options=options
        )
        manifest = ModelManifest(
            flavors={chosen.name: config},
            signature=_as_signature(signature),
            requirements=requirements
            or _default_requirements([*chosen.requirements(), pinned("windlass")]),
            run_id=run_id,
            metadata=dict(metadata or {}),
            python_version=platform.python_version(),
        )
        if input_example is not None:
            (staging / EXAMPLE_FILE).write_bytes(_example_json(input_example))
            manifest.input_example = EXAMPLE_FILE
            if manifest.signature is None:
                manifest.signature = Signature(infer_schema(input_example))
            if chosen.name != "python":
                manifest.signature = _check_round_trip(
                    chosen.name, config, staging, manifest.signature, input_example
                )
        (staging / REQUIREMENTS_FILE).write_text("\n".join(manifest.requirements) + "\n")
        manifest.files = hash_folder(staging)
        write_manifest(staging, manifest)
        if dest.exists():
            dest.rmdir()
        staging.rename(dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _check_round_trip(
    flavor_name: str, config: dict[str, Any], folder: Path, signature: Signature, example: Any
) -> Signature:
    """Load the saved files, predict the example; return the signature with its outputs."""
    predictor = get_flavor(flavor_name).load(folder, config, trust=True)
    try:
        output = predictor.predict(enforce(signature.inputs, example))
    except WindlassError:
        raise
    except Exception as exc:
        raise InvalidInput(
            f"the saved model cannot predict its own input example: {type(exc).__name__}: {exc}"
        ) from None
    if signature.outputs is not None:
        return signature
    try:
        return Signature(signature.inputs, infer_schema(output))
    except (InvalidInput, ValueError, TypeError):
        return signature  # an output we cannot describe (a dict of 2-D arrays) stays unknown
