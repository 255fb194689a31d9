"""A wheel of the running windlass, so a build context installs the same code without PyPI.

Three sources, tried in order: a wheel the caller names; the source tree of an editable
or checkout install, built with ``pip wheel --no-deps --no-build-isolation`` from a clean
copy (so the checkout gets no ``build/`` or ``*.egg-info``, and no network is needed); the
files of a regular install, packed back into a wheel from its ``RECORD``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

from windlass.exceptions import InvalidInput, InvalidState

DIST = "windlass"
_WHEEL_NAME = re.compile(r"^(?P<name>[A-Za-z0-9_.]+)-(?P<version>[^-]+)-.+\.whl$")
# Files of a regular install that belong to the installer, not to the wheel.
_INSTALLER_FILES = {"INSTALLER", "REQUESTED", "direct_url.json", "RECORD"}


def windlass_version() -> str:
    """Return the installed windlass version (``0`` when it has no distribution metadata)."""
    try:
        return metadata.version(DIST)
    except metadata.PackageNotFoundError:
        return "0"


def wheel_version(wheel: Path) -> str:
    """Return the version in a wheel's file name (InvalidInput if it is not a wheel name)."""
    match = _WHEEL_NAME.match(wheel.name)
    if not match:
        raise InvalidInput(
            f"{wheel.name} is not a wheel file name (NAME-VERSION-...whl)", path=str(wheel)
        )
    return match["version"]


def windlass_wheel(dest: Path, given: Path | None = None) -> Path:
    """Put a wheel of windlass into the folder ``dest`` and return its path."""
    dest.mkdir(parents=True, exist_ok=True)
    if given is not None:
        if not given.is_file() or not given.name.startswith(f"{DIST}-"):
            raise InvalidInput(f"{given} is not a windlass wheel file", path=str(given))
        wheel_version(given)
        return Path(shutil.copy2(given, dest / given.name))
    root = source_tree()
    if root is not None:
        return build_from_source(root, dest)
    return repack_installed(DIST, dest)


def source_tree() -> Path | None:
    """Return the project folder windlass runs from (editable install, checkout), or None."""
    try:
        raw = metadata.distribution(DIST).read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        raw = None
    candidates: list[Path] = []
    if raw:
        url = json.loads(raw).get("url", "")
        if url.startswith("file://"):
            candidates.append(Path(url.removeprefix("file://")))
    package = Path(__file__).resolve().parents[2]
    candidates += [package.parent, package.parent.parent]
    for root in candidates:
        if _is_windlass_project(root) and _package_dir(root) == package:
            return root
    return None


def _is_windlass_project(root: Path) -> bool:
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return False
    try:
        name = tomllib.loads(pyproject.read_text()).get("project", {}).get("name")
    except tomllib.TOMLDecodeError:
        return False
    return bool(name == DIST)


def _package_dir(root: Path) -> Path | None:
    for candidate in (root / "src" / DIST, root / DIST):
        if (candidate / "__init__.py").is_file():
            return candidate.resolve()
    return None


def build_from_source(root: Path, dest: Path) -> Path:
    """Build a wheel of the project at ``root`` into ``dest`` (offline) and return it."""
    package = _package_dir(root)
    if package is None:
        raise InvalidInput(f"{root} holds no windlass package", path=str(root))
    with tempfile.TemporaryDirectory(prefix="windlass-wheel-") as tmp:
        copy = Path(tmp) / "src-copy"
        copy.mkdir()
        for path in root.iterdir():
            if path.is_file() and (
                path.name
                in (
                    "pyproject.toml",
                    "setup.py",
                    "setup.cfg",
                    "MANIFEST.in",
                    "README.md",
                    "README.rst",
                )
                or path.name.startswith(("LICENSE", "COPYING"))
            ):
                shutil.copy2(path, copy / path.name)
        target = copy / package.relative_to(root.resolve())
        shutil.copytree(
            package, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
        )
        out = Path(tmp) / "out"
        # The installed build backend first (offline); else pip fetches one from the index.
        for isolation in (["--no-build-isolation"], []):
            done = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "wheel",
                    "--no-deps",
                    *isolation,
                    "--quiet",
                    "--wheel-dir",
                    str(out),
                    str(copy),
                ],
                capture_output=True,
                text=True,
                check=False,
                timeout=600,
            )
            wheels = sorted(out.glob(f"{DIST}-*.whl")) if out.is_dir() else []
            if done.returncode == 0 and wheels:
                break
        if done.returncode != 0 or not wheels:
            raise InvalidState(
                f"could not build a wheel of windlass from {root} (pip and setuptools must be "
                f"installed; or pass --windlass-wheel): {(done.stderr or done.stdout)[-2000:]}",
                path=str(root),
            )
        return Path(shutil.move(wheels[0], dest / wheels[0].name))


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode()}"


def repack_installed(dist_name: str, dest: Path) -> Path:
    """Pack the installed files of ``dist_name`` back into a wheel in ``dest``; return it.

    Only files inside the install's own folder are packed (scripts in ``bin/`` are
    recreated by pip from the entry points); ``RECORD`` is written afresh.
    """
    try:
        dist = metadata.distribution(dist_name)
    except metadata.PackageNotFoundError:
        raise InvalidState(f"{dist_name} is not installed; pass --windlass-wheel") from None
    name = re.sub(r"[-_.]+", "_", dist.metadata["Name"])
    version = dist.version
    site = Path(str(dist.locate_file("")))
    info_dir = f"{name}-{version}.dist-info"
    files = [
        f
        for f in dist.files or []
        if not str(f).startswith("..") and "__pycache__" not in f.parts and f.suffix != ".pyc"
    ]
    wheel = dest / f"{name}-{version}-py3-none-any.whl"
    records: list[str] = []
    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for entry in sorted(files, key=str):
            parts = entry.parts
            if parts[0].endswith(".dist-info") and parts[-1] in _INSTALLER_FILES:
                continue
            arcname = (
                "/".join((info_dir, *parts[1:]))
                if parts[0].endswith(".dist-info")
                else "/".join(parts)
            )
            data = (site / entry).read_bytes()
            archive.writestr(arcname, data)
            records.append(f"{arcname},{_record_hash(data)},{len(data)}")
        if not any(r.startswith(f"{info_dir}/WHEEL,") for r in records):
            data = (
                b"Wheel-Version: 1.0\nGenerator: windlass\nRoot-Is-Purelib: true\n"
                b"Tag: py3-none-any\n"
            )
            archive.writestr(f"{info_dir}/WHEEL", data)
            records.append(f"{info_dir}/WHEEL,{_record_hash(data)},{len(data)}")
        records.append(f"{info_dir}/RECORD,,")
        archive.writestr(f"{info_dir}/RECORD", "\n".join(records) + "\n")
    return wheel
