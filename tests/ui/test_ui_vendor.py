"""The vendored browser libraries are the files their README records (sha256), licence kept."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import windlass.server.ui

VENDOR = Path(windlass.server.ui.__file__).with_name("static") / "vendor"


def recorded() -> list[tuple[str, str, str, str]]:
    """Return (name, version, file, sha256) of each row of the vendor README's table."""
    rows = []
    for line in (VENDOR / "README.md").read_text().splitlines():
        match = re.match(r"^\| (\S+) \| (\S+) \| (\S+) \| (\S+) \| ([0-9a-f]{64}) \|$", line)
        if match:
            name, version, _licence, file, digest = match.groups()
            rows.append((name, version, file, digest))
    return rows


def test_every_vendored_file_matches_its_recorded_sha256() -> None:
    rows = recorded()
    assert {file for _n, _v, file, _d in rows} == {
        str(p.relative_to(VENDOR))
        for p in VENDOR.rglob("*")
        if p.is_file() and p.name != "README.md"
    }
    for _name, _version, file, digest in rows:
        assert hashlib.sha256((VENDOR / file).read_bytes()).hexdigest() == digest, file


def test_uplot_is_a_1_6_release_with_its_licence() -> None:
    rows = recorded()
    assert {(n, v) for n, v, _f, _d in rows} == {("uplot", "1.6.32")}
    licence = (VENDOR / "uplot" / "LICENSE").read_text()
    assert "MIT License" in licence and "Leon Sorokin" in licence
    assert b"uPlot" in (VENDOR / "uplot" / "uPlot.iife.min.js").read_bytes()[:2000]


def test_a_wheel_ships_every_template_and_static_file() -> None:
    import fnmatch
    import tomllib

    root = Path(windlass.server.ui.__file__).parents[2]
    pyproject = tomllib.loads((root.parents[1] / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["windlass"]
    ui = Path(windlass.server.ui.__file__).parent
    files = [p for p in ui.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")]
    assert len(files) > 10
    for path in files:
        relative = path.relative_to(root).as_posix()
        assert any(fnmatch.fnmatch(relative, g) for g in globs), f"{relative} not packaged"
