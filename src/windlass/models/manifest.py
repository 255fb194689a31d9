"""The packaged-model format: a folder with a ``windlass-model.yaml`` manifest.

The manifest names the flavor(s) and their configs, the signature, the input example file,
the Python version and pip requirements, who made the model (run, user, host, time), free
metadata, and the BLAKE3 digest and size of every other file in the folder. A folder is
loaded only if every file matches its digest and no unlisted file is present.
"""

from __future__ import annotations

import getpass
import platform
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from windlass.artifacts.hashing import hash_file
from windlass.artifacts.paths import clean_artifact_path, walk_local
from windlass.entities import MANIFEST_FILE, ArtifactEntry
from windlass.exceptions import IntegrityFailure, InvalidInput
from windlass.ids import now_ms
from windlass.models.signature import Signature

FORMAT = "windlass-model/1"
EXAMPLE_FILE = "input_example.json"
REQUIREMENTS_FILE = "requirements.txt"
# A manifest is small; a bigger one is not ours (and YAML parsing of huge input is slow).
MAX_MANIFEST_BYTES = 16 * 1024 * 1024


@dataclass
class ModelManifest:
    """The parsed ``windlass-model.yaml`` of a packaged model."""

    flavors: dict[str, dict[str, Any]]
    files: dict[str, ArtifactEntry] = field(default_factory=dict)
    signature: Signature | None = None
    input_example: str | None = None
    python_version: str = field(default_factory=platform.python_version)
    requirements: list[str] = field(default_factory=list)
    run_id: str | None = None
    created_at: int = field(default_factory=now_ms)
    created_by: dict[str, str] = field(
        default_factory=lambda: {"user": _user(), "host": socket.gethostname()}
    )
    metadata: dict[str, Any] = field(default_factory=dict)
    format: str = FORMAT

    @property
    def flavor(self) -> str:
        """Return the primary flavor (the first one listed)."""
        return next(iter(self.flavors))

    def creator(self) -> str:
        """Return who made the model, for messages: user, host, run and time."""
        from windlass.entities import iso

        who = self.created_by.get("user") or "an unknown user"
        where = self.created_by.get("host") or "an unknown host"
        run = f", run {self.run_id}" if self.run_id else ""
        return f"{who} on {where}{run}, at {iso(self.created_at)}"

    def to_dict(self) -> dict[str, Any]:
        """Return the manifest as plain data (what the YAML file holds)."""
        return {
            "format": self.format,
            "flavors": self.flavors,
            "signature": None if self.signature is None else self.signature.to_dict(),
            "input_example": self.input_example,
            "python_version": self.python_version,
            "requirements": list(self.requirements),
            "run_id": self.run_id,
            "created_at": self.created_at,
            "created_by": dict(self.created_by),
            "metadata": self.metadata,
            "files": {
                path: {"digest": e.digest, "size": e.size} for path, e in sorted(self.files.items())
            },
        }

    @classmethod
    def from_dict(cls, data: Any) -> ModelManifest:
        """Rebuild and check a manifest; anything malformed is InvalidInput naming the field."""
        if not isinstance(data, dict):
            raise InvalidInput(f"{MANIFEST_FILE} must hold a mapping")
        if data.get("format") != FORMAT:
            raise InvalidInput(
                f"{MANIFEST_FILE} has format {data.get('format')!r}; this windlass reads {FORMAT!r}"
            )
        flavors = data.get("flavors")
        if (
            not isinstance(flavors, dict)
            or not flavors
            or not all(isinstance(k, str) and isinstance(v, dict) for k, v in flavors.items())
        ):
            raise InvalidInput(f"{MANIFEST_FILE}: 'flavors' must map flavor names to configs")
        files: dict[str, ArtifactEntry] = {}
        raw_files = data.get("files") or {}
        if not isinstance(raw_files, dict):
            raise InvalidInput(f"{MANIFEST_FILE}: 'files' must map paths to digests")
        for path, record in raw_files.items():
            clean = clean_artifact_path(str(path))
            try:
                files[clean] = ArtifactEntry(clean, str(record["digest"]), int(record["size"]))
            except (KeyError, TypeError, ValueError):
                raise InvalidInput(
                    f"{MANIFEST_FILE}: file {path!r} needs a digest and a size"
                ) from None
        signature = data.get("signature")
        created_by = data.get("created_by") or {}
        return cls(
            flavors=flavors,
            files=files,
            signature=None if signature is None else Signature.from_dict(signature),
            input_example=data.get("input_example"),
            python_version=str(data.get("python_version", "")),
            requirements=[str(r) for r in data.get("requirements") or []],
            run_id=data.get("run_id"),
            created_at=int(data.get("created_at") or 0),
            created_by={str(k): str(v) for k, v in dict(created_by).items()},
            metadata=dict(data.get("metadata") or {}),
            format=FORMAT,
        )


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return ""


def _yaml() -> Any:
    import yaml

    return yaml


def write_manifest(folder: Path, manifest: ModelManifest) -> Path:
    """Write ``windlass-model.yaml`` into ``folder`` and return its path."""
    yaml = _yaml()
    path = folder / MANIFEST_FILE
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    path.write_text(
        yaml.dump(manifest.to_dict(), Dumper=dumper, sort_keys=False, allow_unicode=True)
    )
    return path


def read_manifest(folder: Path) -> ModelManifest:
    """Read and check ``folder/windlass-model.yaml`` (InvalidInput if absent or malformed)."""
    path = folder / MANIFEST_FILE
    if not path.is_file():
        raise InvalidInput(
            f"{folder} is not a windlass model: it has no {MANIFEST_FILE}", path=str(folder)
        )
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise InvalidInput(f"{path} is larger than {MAX_MANIFEST_BYTES} bytes")
    yaml = _yaml()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(path.read_text(), Loader=loader)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{path} is not valid YAML: {exc}", path=str(path)) from None
    return ModelManifest.from_dict(data)


def hash_folder(folder: Path) -> dict[str, ArtifactEntry]:
    """Return every file under ``folder`` but the manifest, with its digest and size."""
    files: dict[str, ArtifactEntry] = {}
    for file, rel in walk_local(folder):
        if rel == MANIFEST_FILE:
            continue
        digest, size = hash_file(file)
        files[rel] = ArtifactEntry(rel, digest, size)
    return files


def verify_folder(folder: Path, manifest: ModelManifest) -> None:
    """Check every file of ``folder`` against the manifest; raise IntegrityFailure if not.

    Missing files, changed files and files the manifest does not list are all refused,
    each named in the message.
    """
    actual = hash_folder(folder)
    problems: list[str] = []
    for path, want in sorted(manifest.files.items()):
        got = actual.get(path)
        if got is None:
            problems.append(f"{path} is missing")
        elif got.digest != want.digest or got.size != want.size:
            problems.append(f"{path} does not match its recorded hash")
    extra = sorted(set(actual) - set(manifest.files))
    problems += [f"{path} is not listed in {MANIFEST_FILE}" for path in extra]
    if problems:
        raise IntegrityFailure(
            f"model at {folder} failed verification, refusing to load: " + "; ".join(problems),
            path=str(folder),
            problems=problems,
        )
