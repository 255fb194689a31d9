"""``import windlass`` stays light: no web framework, no pandas, no ML framework."""

from __future__ import annotations

import subprocess
import sys

from windlass.extras import ML_MODULES

HEAVY = [
    "fastapi",
    "starlette",
    "uvicorn",
    "pandas",
    "numpy",
    "sqlalchemy",
    "torch",
    "onnx",
    "skops",
    "yaml",
    "sklearn",
    "xgboost",
    "lightgbm",
    "onnxruntime",
    "pyarrow",
    "scipy",
    "openai",
]


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_heavy_list_covers_the_ml_extra() -> None:
    assert set(ML_MODULES) <= set(HEAVY)


def test_import_windlass_loads_no_heavy_module() -> None:
    code = (
        "import sys, windlass\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    assert _run(code) == "", f"import windlass loaded: {_run(code)}"


def test_import_windlass_loads_only_the_root_package() -> None:
    """The root package is lazy: its names load their modules on first use."""
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import windlass\n"
        "print(','.join(sorted(m for m in set(sys.modules) - before if m != 'windlass')))\n"
    )
    loaded = set(filter(None, _run(code).split(",")))
    assert not {m for m in loaded if m.startswith("windlass.")}, loaded
    # importlib (and the warnings module it needs) only: no typing, no re, no json.
    assert loaded <= {
        "importlib",
        "importlib._bootstrap",
        "importlib._bootstrap_external",
        "warnings",
    }


def test_every_public_name_loads_no_heavy_module() -> None:
    """Touching every SDK name (not calling it) still loads no framework."""
    code = (
        "import sys, windlass\n"
        "for name in windlass.__all__:\n"
        "    getattr(windlass, name)\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    assert _run(code) == ""
