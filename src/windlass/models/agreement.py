"""A registered manifest agrees with the ``windlass-model.yaml`` stored among its files.

A model version carries its manifest twice: as parsed data (what the registry lists, what
the model server reads its flavor and signature from) and as the ``windlass-model.yaml``
blob among its files (what loading verifies the other files against). A client registers
both, so the registry checks that they say the same thing before storing anything: the
stored file must be a valid manifest, the given manifest must equal it field by field
(format, flavors, signature, files and their hashes, requirements, ...), and every file
the manifest lists must be among the version's files with the same digest and size (and
no other file may be). Otherwise :class:`~windlass.exceptions.IntegrityFailure` names
each disagreement. A manifest that agrees is stored as given.
"""

from __future__ import annotations

from typing import Any

import orjson

from windlass.artifacts.cas import BlobStore
from windlass.entities import MANIFEST_FILE, ArtifactEntry
from windlass.exceptions import IntegrityFailure, InvalidInput
from windlass.models.manifest import MAX_MANIFEST_BYTES, ModelManifest

#: How many disagreements a message lists (the details hold them all, up to this too).
MAX_PROBLEMS = 20
#: The fields a manifest has; the registered one may hold no others (they would go
#: unchecked).
FIELDS = frozenset(ModelManifest(flavors={"any": {}}).to_dict())


def _canonical(kind: str, data: Any) -> dict[str, Any]:
    """Return a manifest as checked, JSON-normal data (InvalidInput naming ``kind``)."""
    try:
        manifest = ModelManifest.from_dict(data)
        text = orjson.dumps(
            manifest.to_dict(), option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SORT_KEYS
        )
    except InvalidInput as exc:
        raise InvalidInput(f"{kind}: {exc.message}", **exc.details) from None
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        raise InvalidInput(f"{kind} is not a valid manifest: {exc}") from None
    canonical: dict[str, Any] = orjson.loads(text)
    return canonical


def stored_manifest(blobs: BlobStore, entry: ArtifactEntry) -> dict[str, Any]:
    """Return the parsed, checked ``windlass-model.yaml`` stored as blob ``entry.digest``."""
    size = blobs.size(entry.digest)
    if size > MAX_MANIFEST_BYTES:
        raise InvalidInput(
            f"the stored {MANIFEST_FILE} is {size} bytes; the limit is {MAX_MANIFEST_BYTES}",
            path=MANIFEST_FILE,
        )
    with blobs.open_stream(entry.digest) as stream:
        data = stream.read(MAX_MANIFEST_BYTES + 1)
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        parsed = yaml.load(data.decode("utf-8"), Loader=loader)  # noqa: S506 - a SafeLoader
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InvalidInput(
            f"the stored {MANIFEST_FILE} is not valid YAML: {exc}", path=MANIFEST_FILE
        ) from None
    return _canonical(f"the stored {MANIFEST_FILE}", parsed)


def _shown(value: Any) -> str:
    text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    return text if len(text) <= 120 else text[:117] + "..."


def _file_problems(listed: dict[str, Any], files: list[ArtifactEntry]) -> list[str]:
    """Return how the manifest's file list and the version's files disagree."""
    given = {f.path: f for f in files if f.path != MANIFEST_FILE}
    problems = [
        f"{path} is listed in {MANIFEST_FILE} but is not among the version's files"
        for path in sorted(set(listed) - set(given))
    ]
    problems += [
        f"{path} is among the version's files but not listed in {MANIFEST_FILE}"
        for path in sorted(set(given) - set(listed))
    ]
    for path in sorted(set(listed) & set(given)):
        want, got = listed[path], given[path]
        if (want.get("digest"), want.get("size")) != (got.digest, got.size):
            problems.append(
                f"{path} has digest {got.digest} ({got.size} bytes) among the "
                f"version's files but {want.get('digest')} "
                f"({want.get('size')} bytes) in {MANIFEST_FILE}"
            )
    return problems


def agreeing_manifest(
    manifest: dict[str, Any], files: list[ArtifactEntry], blobs: BlobStore
) -> dict[str, Any]:
    """Return ``manifest`` as given, once it agrees with the stored file and the files.

    ``files`` are checked already (clean paths, blobs present, the manifest among them).
    A field the manifest format does not have is InvalidInput naming it.
    """
    unknown = sorted(str(key) for key in set(manifest) - FIELDS)
    if unknown:
        raise InvalidInput(
            f"unknown manifest field(s) {', '.join(map(repr, unknown[:10]))}; "
            f"a manifest has {', '.join(sorted(FIELDS))}",
            fields=unknown[:10],
        )
    entry = next(f for f in files if f.path == MANIFEST_FILE)
    stored = stored_manifest(blobs, entry)
    given = _canonical("the manifest", manifest)
    problems = [
        f"{key}: the manifest says {_shown(given.get(key))}, the stored "
        f"{MANIFEST_FILE} says {_shown(stored.get(key))}"
        for key in sorted(set(given) | set(stored))
        if given.get(key) != stored.get(key)
    ]
    problems += _file_problems(stored.get("files") or {}, files)
    if problems:
        shown = problems[:MAX_PROBLEMS]
        more = f" (and {len(problems) - len(shown)} more)" if len(problems) > len(shown) else ""
        raise IntegrityFailure(
            f"the manifest does not agree with the model's stored "
            f"{MANIFEST_FILE}, nothing registered: " + "; ".join(shown) + more,
            problems=shown,
        )
    return manifest
