"""Schemathesis fuzzes a real model server from its own OpenAPI document.

As for the tracking server (tests/server/test_api_fuzz.py): no 5xx, status codes, content
types and response schemas as documented, schema-violating requests refused.
``positive_data_acceptance`` is left out: a schema cannot say that a request id must name
a logged prediction or that a text cell must not hold a NUL byte.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import windlass
from windlass_testing import ModelServerProcess

V2_ROUTES = [
    "/v2",
    "/v2/health/live",
    "/v2/health/ready",
    "/v2/models/{name}",
    "/v2/models/{name}/ready",
    "/v2/models/{name}/infer",
]


def test_model_server_openapi_fuzz_finds_nothing(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "tenure": rng.integers(0, 72, 60),
            "charges": rng.random(60) * 100,
            "plan": rng.choice(["basic", "plus", "pro"], 60),
        }
    )
    columns = ColumnTransformer(
        [
            ("num", StandardScaler(), ["tenure", "charges"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
        ]
    )
    model = make_pipeline(columns, LogisticRegression()).fit(frame, frame.tenure < 30)
    windlass.save_model(model, tmp_path / "churn", input_example=frame[:3])
    server = ModelServerProcess(str(tmp_path / "churn"), log_dir=tmp_path)
    try:
        document = httpx.get(f"{server.url}/openapi.json").json()
        assert set(V2_ROUTES) <= set(document["paths"])
        for path in V2_ROUTES:
            for operation in document["paths"][path].values():
                assert "200" in operation["responses"], path
        # The V2 model routes get the served model's name, else they would only see 404s.
        (tmp_path / "schemathesis.toml").write_text('[parameters]\n"path.name" = "churn"\n')
        started = time.monotonic()
        cli = Path(sys.executable).with_name("schemathesis")
        done = subprocess.run(
            [
                str(cli),
                "run",
                f"{server.url}/openapi.json",
                "--max-examples",
                "6",
                "--seed",
                "20261207",
                "--exclude-checks",
                "positive_data_acceptance",
                "--workers",
                "1",
            ],  # one worker: see tests/server/test_api_fuzz.py
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stdout[-6000:]
        assert time.monotonic() - started < 120, "keep the fuzz run short"
        assert "Traceback" not in server.log.read_text(), server.log.read_text()[-3000:]
    finally:
        server.stop()
