"""``import windlass`` stays light: no web framework, no pandas, no ML framework."""

from __future__ import annotations

import subprocess
import sys

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
]


def test_import_windlass_loads_no_heavy_module() -> None:
    code = (
        "import sys, windlass\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "", f"import windlass loaded: {done.stdout.strip()}"
