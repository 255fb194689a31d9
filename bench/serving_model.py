"""The model every server in the serving benchmark answers with, and the inputs it gets.

One scikit-learn ``LogisticRegression`` over 20 float features (``f0`` … ``f19``), trained
in windlass's virtualenv on seeded random data and written once with joblib. The peers
(bare app, BentoML, MLflow) load that very file, and their virtualenvs hold the same
scikit-learn version (``setup_peers.sh`` pins it), so every server predicts with the same
coefficients. windlass gets the same fitted object through ``windlass.log_model``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FEATURES = [f"f{i}" for i in range(20)]
SEED = 20261122
TRAIN_ROWS = 2_000
KNOWN_INPUTS = 8  # rows checked against every server before load (both classes among them)


def _data() -> tuple[Any, Any]:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(SEED)
    x = pd.DataFrame(rng.normal(size=(TRAIN_ROWS, len(FEATURES))), columns=FEATURES)
    weights = rng.normal(size=len(FEATURES))
    y = ((x.to_numpy() @ weights + rng.normal(scale=0.5, size=TRAIN_ROWS)) > 0).astype(int)
    return x, y


def train() -> tuple[Any, Any]:
    """Return the fitted model (fitted on a DataFrame: it knows its feature names) and X."""
    from sklearn.linear_model import LogisticRegression

    x, y = _data()
    return LogisticRegression(max_iter=1_000).fit(x, y), x


def record(row: Any) -> dict[str, float]:
    """Return one row of the training frame as a JSON record (plain floats, feature order)."""
    return {name: float(row[name]) for name in FEATURES}


def write(folder: Path) -> dict[str, Any]:
    """Train, write ``model.joblib`` and ``known.json`` under ``folder``; return the workload.

    The workload: the model, the training frame, the known records with the model's own
    predictions for them, and the record every load test sends.
    """
    import joblib

    model, x = train()
    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, folder / "model.joblib")
    predictions = model.predict(x).tolist()
    # Pick known rows from both classes, so a server answering a constant would fail.
    ones = [i for i, p in enumerate(predictions) if p == 1][: KNOWN_INPUTS // 2]
    zeros = [i for i, p in enumerate(predictions) if p == 0][: KNOWN_INPUTS // 2]
    known = [
        {"record": record(x.iloc[i]), "prediction": int(predictions[i])}
        for i in sorted(ones + zeros)
    ]
    load_record = known[0]["record"]
    (folder / "known.json").write_text(json.dumps({"features": FEATURES, "known": known}))
    return {
        "model": model,
        "frame": x,
        "known": known,
        "load_record": load_record,
        "model_path": folder / "model.joblib",
    }
