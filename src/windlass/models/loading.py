"""Load a packaged model folder: verify every file, check trust, hand it to its flavor."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from windlass.entities import MANIFEST_FILE, ArtifactEntry, ModelVersion
from windlass.exceptions import IntegrityFailure
from windlass.extras import require_ml
from windlass.models.flavor import Predictor
from windlass.models.flavors import get_flavor
from windlass.models.manifest import ModelManifest, read_manifest, verify_folder
from windlass.models.signature import Signature, enforce, float_matrix_columns
from windlass.models.trust import check_trust


class LoadedModel:
    """A verified, loaded model: ``predict`` checks input against the signature first."""

    def __init__(
        self,
        uri: str,
        folder: Path,
        manifest: ModelManifest,
        predictor: Predictor,
        keep: tempfile.TemporaryDirectory[str] | None = None,
    ) -> None:
        self.uri = uri
        self.folder = folder
        self.manifest = manifest
        self.predictor = predictor
        # The downloaded files live as long as the model (flavors may read them lazily).
        self._keep = keep

    def __repr__(self) -> str:
        return f"LoadedModel(uri={self.uri!r}, flavor={self.flavor!r})"

    @property
    def flavor(self) -> str:
        """Return the flavor the model was loaded with."""
        return self.manifest.flavor

    @property
    def signature(self) -> Signature | None:
        """Return the model's signature (None if it was saved without one)."""
        return self.manifest.signature

    @property
    def native(self) -> Any:
        """Return the framework's own model object."""
        return self.predictor.native

    def prepare(self, data: Any) -> Any:
        """Return ``data`` checked and converted to the signature (else SchemaMismatch)."""
        signature = self.manifest.signature
        return data if signature is None else enforce(signature.inputs, data)

    def predict(self, data: Any) -> Any:
        """Return predictions for a DataFrame, an array, a list of records or a dict of columns."""
        return self.predictor.predict(self.prepare(data))

    def predict_prepared(self, data: Any) -> Any:
        """Return predictions for input that :meth:`prepare` already checked (servers batch it)."""
        return self.predictor.predict(data)

    def matrix_columns(self) -> list[str] | None:
        """Return the columns when input can go to the model as one float64 array.

        That holds when every signature column is float64 and the model's predictor takes
        a plain array in exactly the signature's column order; else None.
        """
        signature = self.manifest.signature
        names = None if signature is None else float_matrix_columns(signature.inputs)
        if names is None or self.predictor.matrix_columns() != names:
            return None
        return names

    def predict_matrix(self, matrix: Any) -> Any:
        """Return predictions for a float64 array in :meth:`matrix_columns` order."""
        return self.predictor.predict_matrix(matrix)

    def predict_proba(self, data: Any) -> Any:
        """Return class probabilities, for models that have them."""
        return self.predictor.predict_proba(self.prepare(data))

    def input_example(self) -> Any:
        """Return the saved input example (None if the model was saved without one)."""
        if not self.manifest.input_example:
            return None
        from windlass.models.package import read_example

        return read_example(self.folder / self.manifest.input_example)


def check_against_registry(
    folder: Path, manifest: ModelManifest, recorded: list[ArtifactEntry]
) -> None:
    """Check that the registry's file list is exactly the manifest's (plus the manifest)."""
    expected = {e.path: e for e in recorded if e.path != MANIFEST_FILE}
    problems = [
        f"{p} is recorded in the registry but not in {MANIFEST_FILE}"
        for p in sorted(set(expected) - set(manifest.files))
    ]
    problems += [
        f"{p} is in {MANIFEST_FILE} but not recorded in the registry"
        for p in sorted(set(manifest.files) - set(expected))
    ]
    problems += [
        f"{p} has a different hash in the registry and in {MANIFEST_FILE}"
        for p in sorted(set(expected) & set(manifest.files))
        if expected[p].digest != manifest.files[p].digest
    ]
    if problems:
        raise IntegrityFailure(
            f"model at {folder} does not match its registry record, "
            "refusing to load: " + "; ".join(problems),
            problems=problems,
        )


def load_model_folder(
    path: str | Path,
    *,
    trust: bool = False,
    uri: str | None = None,
    recorded: list[ArtifactEntry] | None = None,
    keep: tempfile.TemporaryDirectory[str] | None = None,
    version: ModelVersion | None = None,
) -> LoadedModel:
    """Verify and load the packaged model in ``path``.

    Every file must match the digest in its manifest (and, with ``recorded``, the
    registry's record); models whose files can run code need ``trust`` or a trusted source
    (``version``, the registry's record of a registered version, is what a
    ``registrant:NAME`` source is checked against).
    """
    require_ml("loading a model")
    folder = Path(path)
    manifest = read_manifest(folder)
    if recorded is not None:
        check_against_registry(folder, manifest, recorded)
    verify_folder(folder, manifest)
    name = uri or str(folder)
    trusted = check_trust(name, manifest, trust, version)
    flavor = get_flavor(manifest.flavor)
    predictor = flavor.load(folder, manifest.flavors[manifest.flavor], trust=trusted)
    return LoadedModel(name, folder, manifest, predictor, keep)
