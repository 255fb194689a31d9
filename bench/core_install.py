"""The core install, measured: ``pip install windlass`` (no extras) against ``mlflow-tracing``.

Creates two fresh virtualenvs in a temporary folder and installs, the same way (pip, the
constraints file, pip's cache allowed), windlass from this source tree without extras and
MLflow's client-only ``mlflow-tracing`` package. Then measures, for each:

- the venv's site-packages on disk (as ``du`` counts it), with and without the pip and
  setuptools that every venv starts with;
- ``import windlass`` / ``import mlflow`` beyond bare interpreter start: the median of
  ``--runs`` runs of ``python -I -c "import X"`` minus the median of ``python -I -c pass``
  (interleaved, so drift hits both alike);
- the same for a tracing decorator ready to use (``from windlass import trace`` /
  ``from mlflow import trace``) and, for windlass alone, the tracking SDK (``from windlass
  import start_run, log_metric, search_runs``): the lazy root package defers, this is what
  a script pays on first use;
- ``python -X importtime`` top offenders of each.

Prints both tools' figures with the ratio (> 1 favours windlass), checks the targets of
issue 12 (site-packages < 200 MB, ``import windlass`` < 0.05 s) and writes
``.bench/results-core.json``. Exit status 1 if the core install holds an ML library
(a correctness failure), not when a target is missed. Standard library only.

Usage: ``python bench/core_install.py [--runs N] [--keep]`` (``make bench-core``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MLFLOW_TRACING = "mlflow-tracing==3.17.2"  # the MLflow release the other benchmarks use
TARGET_MB = 200.0
TARGET_IMPORT_S = 0.05
# windlass[ml] as import names; must match windlass.extras.ML_MODULES (not imported here:
# this script runs on any Python 3, with or without windlass installed).
ML_MODULES = ("numpy", "pandas", "pyarrow", "scipy", "sklearn", "skops")
# What `python -m venv` puts in every site-packages before any install.
VENV_BASE = ("pip", "setuptools", "pkg_resources", "_distutils_hack", "distutils-precedence.pth")


def clean_env() -> dict[str, str]:
    """Return the environment for the venvs' processes: no PYTHON*, no telemetry."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "WINDLASS_"))}
    env.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true")
    return env


def make_venv(venv: Path, requirement: str, cwd: Path) -> float:
    """Create ``venv`` and pip-install ``requirement`` in it; return the install seconds."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    started = time.perf_counter()
    pip = str(venv / "bin" / "pip")
    done = subprocess.run(
        [pip, "install", "-q", "-c", str(ROOT / "constraints.txt"), requirement],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.exit(f"pip install {requirement} failed:\n{done.stdout}{done.stderr}")
    return time.perf_counter() - started


def site_packages(venv: Path) -> Path:
    """Return the venv's site-packages folder."""
    return next((venv / "lib").glob("python3*/site-packages"))


def disk_mb(path: Path) -> float:
    """Return what ``path`` takes on disk in MB (allocated blocks, each inode once)."""
    if path.is_file() or path.is_symlink():
        return path.lstat().st_blocks * 512 / 1e6
    seen: set[int] = set()
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            stat = os.lstat(os.path.join(folder, name))
            if stat.st_ino not in seen:
                seen.add(stat.st_ino)
                total += stat.st_blocks * 512
    return total / 1e6


def sizes(venv: Path) -> dict[str, float]:
    """Return the site-packages size in MB, and without what every fresh venv holds."""
    site = site_packages(venv)
    base = sum(
        disk_mb(entry)
        for entry in site.iterdir()
        if entry.name in VENV_BASE or entry.name.startswith(("pip-", "setuptools-"))
    )
    total = disk_mb(site)
    return {"site_packages_mb": total, "without_pip_setuptools_mb": total - base}


def installed_ml(venv: Path) -> list[str]:
    """Return the ML libraries (windlass[ml]) importable in ``venv``: none in a core one."""
    code = (
        "import importlib.util, json\n"
        f"print(json.dumps([m for m in {list(ML_MODULES)!r} "
        "if importlib.util.find_spec(m) is not None]))"
    )
    python = str(venv / "bin" / "python")
    done = subprocess.run(
        [python, "-I", "-c", code], env=clean_env(), capture_output=True, text=True, check=True
    )
    found: list[str] = json.loads(done.stdout)
    return found


def run_seconds(python: str, code: str) -> float:
    """Return the wall time of one ``python -I -c code``."""
    started = time.perf_counter()
    subprocess.run([python, "-I", "-c", code], env=clean_env(), check=True)
    return time.perf_counter() - started


def import_seconds(venv: Path, statement: str, runs: int) -> dict[str, Any]:
    """Return the median time of ``statement`` beyond interpreter start, with the samples."""
    python = str(venv / "bin" / "python")
    run_seconds(python, statement)  # warm the page cache and write the .pyc files
    bare: list[float] = []
    timed: list[float] = []
    for _ in range(runs):
        bare.append(run_seconds(python, "pass"))
        timed.append(run_seconds(python, statement))
    return {
        "seconds": max(0.0, statistics.median(timed) - statistics.median(bare)),
        "bare_median": statistics.median(bare),
        "samples": timed,
        "bare_samples": bare,
    }


def top_offenders(venv: Path, statement: str, count: int = 6) -> list[tuple[str, float]]:
    """Return the top-level imports of ``statement`` costing most (``-X importtime``), in s."""
    python = str(venv / "bin" / "python")
    done = subprocess.run(
        [python, "-I", "-X", "importtime", "-c", statement],
        env=clean_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    bare = subprocess.run(
        [python, "-I", "-X", "importtime", "-c", "pass"],
        env=clean_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    at_start = {line.rsplit("|", 1)[1].strip() for line in bare.stderr.splitlines() if "|" in line}
    rows: list[tuple[str, float]] = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self, cumulative, name = line.removeprefix("import time:").split("|")
        if name.startswith("  ") or name.strip() in at_start:
            continue  # nested imports count in their parent's cumulative time
        rows.append((name.strip(), int(cumulative) / 1e6))
    return sorted(rows, key=lambda row: -row[1])[:count]


def source_copy(dest: Path) -> Path:
    """Copy what a build needs to ``dest`` (an in-tree build would leave build/ behind)."""
    shutil.copytree(
        ROOT / "src", dest / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    return dest


def measure(venv: Path, module: str, statements: dict[str, str], runs: int) -> dict[str, Any]:
    """Return one tool's figures: sizes, import times and top offenders."""
    figures: dict[str, Any] = {"sizes": sizes(venv), "imports": {}, "offenders": {}}
    for label, statement in statements.items():
        print(f"  {module}: timing {statement!r} ({runs} runs)", flush=True)
        figures["imports"][label] = import_seconds(venv, statement, runs)
        figures["offenders"][label] = top_offenders(venv, statement)
    return figures


def fmt(value: float | None, digits: int = 3) -> str:
    """Return ``value`` for the table (n/a when missing)."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def ratio(ours: float | None, theirs: float | None) -> str:
    """Return how many times smaller or faster windlass is (> 1 favours windlass)."""
    if ours is None or theirs is None or ours <= 0:
        return "n/a" if ours is None or theirs is None else "inf"
    return f"{theirs / ours:.2f}x"


def report(ours: dict[str, Any], theirs: dict[str, Any], installs: dict[str, float]) -> bool:
    """Print the table and the targets; return whether both targets are met."""
    rows: list[tuple[str, float | None, float | None, int]] = [
        (
            "site-packages (MB)",
            ours["sizes"]["site_packages_mb"],
            theirs["sizes"]["site_packages_mb"],
            1,
        ),
        (
            "  without pip+setuptools (MB)",
            ours["sizes"]["without_pip_setuptools_mb"],
            theirs["sizes"]["without_pip_setuptools_mb"],
            1,
        ),
    ]
    for label in ("import", "tracing decorator", "tracking SDK"):
        mine = ours["imports"].get(label)
        peer = theirs["imports"].get(label)
        rows.append(
            (
                f"{label} beyond start (s)",
                None if mine is None else mine["seconds"],
                None if peer is None else peer["seconds"],
                3,
            )
        )
    rows.append(("install time (s, pip cache warm?)", installs["windlass"], installs["mlflow"], 1))
    print()
    print(f"{'figure':<36}{'windlass':>12}{'mlflow-tracing':>16}{'ratio':>10}")
    for name, mine_value, peer_value, digits in rows:
        print(
            f"{name:<36}{fmt(mine_value, digits):>12}{fmt(peer_value, digits):>16}"
            f"{ratio(mine_value, peer_value):>10}"
        )
    bare = ours["imports"]["import"]["bare_median"]
    print(f"(bare interpreter start: {bare:.3f} s; ratio > 1 favours windlass)")
    for tool, figures in (("windlass", ours), ("mlflow-tracing", theirs)):
        for label, offenders in figures["offenders"].items():
            listed = ", ".join(f"{name} {seconds:.3f}s" for name, seconds in offenders)
            print(f"-X importtime top, {tool} {label}: {listed or '(nothing beyond start)'}")
    size = ours["sizes"]["site_packages_mb"]
    seconds = ours["imports"]["import"]["seconds"]
    size_met, import_met = size < TARGET_MB, seconds < TARGET_IMPORT_S
    print()
    print(f"target: core site-packages < {TARGET_MB:.0f} MB: {size:.1f} MB, {_met(size_met)}")
    print(
        f"target: import windlass < {TARGET_IMPORT_S} s beyond start: {seconds:.3f} s, "
        f"{_met(import_met)}"
    )
    return size_met and import_met


def _met(met: bool) -> str:
    return "met" if met else "MISSED"


def main() -> int:
    """Install both tools in fresh venvs, measure them, print and save the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="interpreter starts per figure")
    parser.add_argument("--keep", action="store_true", help="keep the temporary venvs")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="windlass-core-bench-"))
    try:
        print(f"fresh venvs in {work}", flush=True)
        source = source_copy(work / "source")
        installs = {
            "windlass": make_venv(work / "windlass-venv", ".", source),
        }
        print(f"  windlass core installed in {installs['windlass']:.1f} s", flush=True)
        installs["mlflow"] = make_venv(work / "mlflow-venv", MLFLOW_TRACING, work)
        print(f"  {MLFLOW_TRACING} installed in {installs['mlflow']:.1f} s", flush=True)
        heavy = installed_ml(work / "windlass-venv")
        ours = measure(
            work / "windlass-venv",
            "windlass",
            {
                "import": "import windlass",
                "tracing decorator": "from windlass import trace",
                "tracking SDK": "from windlass import start_run, log_metric, search_runs",
            },
            args.runs,
        )
        theirs = measure(
            work / "mlflow-venv",
            "mlflow",
            {"import": "import mlflow", "tracing decorator": "from mlflow import trace"},
            args.runs,
        )
        met = report(ours, theirs, installs)
        results = {
            "windlass": ours,
            "mlflow_tracing": theirs,
            "peer": MLFLOW_TRACING,
            "install_seconds": installs,
            "ml_libraries_in_core": heavy,
            "targets_met": met,
            "runs": args.runs,
        }
        out = ROOT / ".bench" / "results-core.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(results, indent=2))
        print(f"wrote {out}")
        if heavy:
            print(f"FAILED: the core install holds {', '.join(heavy)}")
            return 1
        return 0
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
