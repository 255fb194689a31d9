"""Shared checks of the flavor tests: fresh-process predictions, no pickle, light imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from windlass_testing import run_fresh


@dataclass
class FreshJob:
    """One model to load in the fresh process, the input to give it and what to call."""

    model_dir: Path
    data: Any
    methods: tuple[str, ...] = ("predict",)
    trust: bool = False


@dataclass
class FreshResult:
    """What the fresh process answered for one job."""

    outputs: dict[str, Any]
    native: str
    flavor: str


_CHILD = """
import json, sys
import numpy as np, pandas as pd
from windlass.models.loading import load_model_folder

answers = {}
for name, job in json.loads(open(sys.argv[1]).read()).items():
    model = load_model_folder(job["model_dir"], trust=job["trust"])
    reader = pd.read_parquet if job["data"].endswith(".parquet") else np.load
    data = reader(job["data"])
    for method in job["methods"]:
        result = getattr(model, method)(data)
        if isinstance(result, dict):  # several outputs, by name
            np.savez(job["work"] + "/" + method + ".npz", **result)
        else:
            np.save(job["work"] + "/" + method + ".npy", np.asarray(result), allow_pickle=True)
    native = type(model.native)
    answers[name] = {"native": native.__module__ + "." + native.__qualname__,
                     "flavor": model.flavor}
print(json.dumps(answers))
"""


def predict_fresh(jobs: dict[str, FreshJob], work: Path) -> dict[str, FreshResult]:
    """Load every job's model in one new Python process and predict its input there.

    One process for all jobs: importing a framework costs seconds here. A DataFrame
    travels as Parquet (dtypes kept), anything else as ``.npy``.
    """
    spec: dict[str, dict[str, Any]] = {}
    for name, job in jobs.items():
        folder = work / name
        folder.mkdir(parents=True, exist_ok=True)
        if isinstance(job.data, pd.DataFrame):
            data_file = folder / "input.parquet"
            job.data.to_parquet(data_file)
        else:
            data_file = folder / "input.npy"
            np.save(data_file, np.asarray(job.data))
        spec[name] = {
            "model_dir": str(job.model_dir),
            "data": str(data_file),
            "methods": list(job.methods),
            "trust": job.trust,
            "work": str(folder),
        }
    (work / "jobs.json").write_text(json.dumps(spec))
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(work / "jobs.json")],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env={
            **os.environ,
            "XDG_CACHE_HOME": str(work / "xdg-cache"),
            "WINDLASS_HOME": str(work / "windlass-home"),
        },
    )
    if done.returncode != 0:
        raise AssertionError(f"fresh process failed:\n{done.stdout}\n{done.stderr}")
    answers = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        name: FreshResult(
            {m: _read_output(work / name, m) for m in job.methods},
            answers[name]["native"],
            answers[name]["flavor"],
        )
        for name, job in jobs.items()
    }


def _read_output(folder: Path, method: str) -> Any:
    if (folder / f"{method}.npz").exists():
        with np.load(folder / f"{method}.npz") as outputs:
            return dict(outputs)
    return np.load(folder / f"{method}.npy", allow_pickle=True)


def assert_no_pickle(folder: Path) -> None:
    """Assert that a saved model folder holds no pickle file (by name or by magic bytes)."""
    for file in folder.rglob("*"):
        assert file.suffix not in {".pkl", ".pickle", ".joblib"}, file
        if file.is_file():
            # Protocol 2+ pickles start with PROTO (0x80) and the protocol number.
            head = file.read_bytes()[:2]
            assert not (
                head[:1] == b"\x80" and head[1:2] in {b"\x02", b"\x03", b"\x04", b"\x05"}
            ), file


def assert_imports_lightly(module: str, framework: str) -> None:
    """Assert that importing ``module`` and asking its flavor about a model imports no framework."""
    code = textwrap.dedent(f"""
        import sys
        import {module} as flavors_module
        from windlass.models.flavors import all_flavors

        for flavor in all_flavors().values():
            flavor.handles(object())
        assert {framework!r} not in sys.modules, "imported {framework}"
    """)
    run_fresh(code)
