"""The XGBoost flavor: UBJ/JSON files, wrappers and boosters, fresh-process round trips."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from flavor_helpers import (
    FreshJob,
    FreshResult,
    assert_imports_lightly,
    assert_no_pickle,
    predict_fresh,
)
from sklearn.linear_model import LogisticRegression

from windlass.exceptions import IntegrityFailure, InvalidInput
from windlass.models.flavors import flavor_for
from windlass.models.flavors.xgboost import XGBoostFlavor
from windlass.models.loading import load_model_folder
from windlass.models.manifest import read_manifest
from windlass.models.package import save_model


def _data(rows: int = 200) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(rng.normal(size=(rows, 4)), columns=["age", "income", "debt", "score"])
    label = np.digitize(frame["income"] - frame["debt"], [-0.5, 0.5])  # 3 classes: 0, 1, 2
    return frame, label


@dataclass
class Saved:
    """Models saved once for the module, with their in-process and fresh-process answers."""

    root: Path
    expected: dict[str, dict[str, Any]]
    fresh: dict[str, FreshResult]


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Saved:
    """Fit and save one model of each kind; predict them all in one fresh process."""
    root = tmp_path_factory.mktemp("xgboost")
    frame, label = _data()
    values = frame.to_numpy()
    classifier = xgb.XGBClassifier(n_estimators=8, max_depth=3).fit(frame, label)
    regressor = xgb.XGBRegressor(n_estimators=8, max_depth=3).fit(values, frame["income"])
    ranker = xgb.XGBRanker(n_estimators=8, max_depth=3).fit(
        values, label, qid=np.repeat(np.arange(20), 10)
    )
    booster = xgb.train(
        {"objective": "multi:softprob", "num_class": 3, "max_depth": 3},
        xgb.DMatrix(frame, label=label),
        num_boost_round=8,
    )
    cases: dict[str, tuple[Any, Any, dict[str, Any]]] = {
        "classifier": (
            classifier,
            frame,
            {
                "predict": classifier.predict(frame),
                "predict_proba": classifier.predict_proba(frame),
            },
        ),
        "regressor": (regressor, values, {"predict": regressor.predict(values)}),
        "ranker": (ranker, values, {"predict": ranker.predict(values)}),
        "booster": (booster, frame, {"predict": booster.predict(xgb.DMatrix(frame))}),
    }
    jobs = {}
    for name, (model, data, expected) in cases.items():
        save_model(model, root / name, input_example=data[:5])
        jobs[name] = FreshJob(root / name, data, tuple(expected))
    return Saved(
        root, {name: case[2] for name, case in cases.items()}, predict_fresh(jobs, root / "fresh")
    )


@pytest.mark.parametrize(
    ("kind", "native"),
    [
        ("classifier", "xgboost.sklearn.XGBClassifier"),
        ("regressor", "xgboost.sklearn.XGBRegressor"),
        ("ranker", "xgboost.sklearn.XGBRanker"),
        ("booster", "xgboost.core.Booster"),
    ],
)
def test_round_trip_in_a_fresh_process_is_exact(saved: Saved, kind: str, native: str) -> None:
    fresh = saved.fresh[kind]
    assert fresh.flavor == "xgboost"
    assert fresh.native == native
    for method, expected in saved.expected[kind].items():
        np.testing.assert_array_equal(fresh.outputs[method], expected, err_msg=method)


def test_raw_booster_keeps_feature_names(saved: Saved) -> None:
    frame, _ = _data()
    config = read_manifest(saved.root / "booster").flavors["xgboost"]
    assert config["kind"] == "booster"
    assert config["feature_names"] == list(frame.columns)
    # An array has no column names: the predictor gives it the booster's.
    predictor = XGBoostFlavor().load(saved.root / "booster", config, trust=False)
    np.testing.assert_array_equal(
        predictor.predict(frame.to_numpy()), saved.expected["booster"]["predict"]
    )
    with pytest.raises(InvalidInput, match="no predict_proba"):
        predictor.predict_proba(frame)


def test_manifest_pins_xgboost_cpu_and_writes_no_pickle(tmp_path: Path) -> None:
    frame, label = _data()
    model = xgb.XGBClassifier(n_estimators=4).fit(frame, label)
    save_model(model, tmp_path / "m", input_example=frame.head(5))

    manifest = read_manifest(tmp_path / "m")
    assert manifest.flavor == "xgboost"
    assert f"xgboost-cpu=={metadata.version('xgboost-cpu')}" in manifest.requirements
    assert set(manifest.files) == {"model.ubj", "input_example.json", "requirements.txt"}
    assert (tmp_path / "m" / "model.ubj").read_bytes()[:1] == b"{"  # UBJSON object
    assert_no_pickle(tmp_path / "m")


def test_json_serialization_and_refused_formats(tmp_path: Path) -> None:
    frame, label = _data()
    model = xgb.XGBClassifier(n_estimators=4).fit(frame, label)
    save_model(model, tmp_path / "m", input_example=frame.head(5), serialization="json")

    assert "model.json" in read_manifest(tmp_path / "m").files
    loaded = load_model_folder(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))
    with pytest.raises(InvalidInput, match="'ubj' \\(default\\) or 'json'"):
        save_model(model, tmp_path / "p", serialization="pickle")
    with pytest.raises(InvalidInput, match="not fitted"):
        save_model(xgb.XGBRegressor(), tmp_path / "unfitted")
    assert not (tmp_path / "p").exists() and not (tmp_path / "unfitted").exists()


def test_handles_xgboost_objects_only() -> None:
    frame, label = _data(40)
    flavor = XGBoostFlavor()
    booster = xgb.train({"max_depth": 2}, xgb.DMatrix(frame, label=label), num_boost_round=1)

    assert flavor.handles(xgb.XGBClassifier())
    assert flavor.handles(xgb.XGBRanker())
    assert flavor.handles(booster)
    assert not flavor.handles(LogisticRegression())
    assert not flavor.handles(xgb.DMatrix(frame))
    assert not flavor.handles(np.zeros(3))
    # The wrappers are scikit-learn estimators too: the xgboost flavor must win.
    assert flavor_for(xgb.XGBClassifier()).name == "xgboost"
    assert flavor_for(LogisticRegression()).name == "sklearn"


def test_corrupt_or_tampered_files_give_clear_errors(tmp_path: Path) -> None:
    frame, label = _data()
    model = xgb.XGBClassifier(n_estimators=4).fit(frame, label)
    manifest = save_model(model, tmp_path / "m", input_example=frame.head(5))
    config = manifest.flavors["xgboost"]
    model_file = tmp_path / "m" / "model.ubj"
    model_file.write_bytes(b"not a model at all")

    # Through the loader the changed file fails its hash first...
    with pytest.raises(IntegrityFailure, match=r"model\.ubj"):
        load_model_folder(tmp_path / "m")
    # ...and the flavor itself names the file instead of leaking XGBoost's native trace.
    with pytest.raises(InvalidInput, match=r"model\.ubj is not a readable XGBoost UBJ") as info:
        XGBoostFlavor().load(tmp_path / "m", config, trust=False)
    assert "Stack trace" not in str(info.value)
    # A config cannot make the loader instantiate anything but an XGBoost wrapper.
    for wrapper in ("DMatrix", "Booster", "os", None):
        with pytest.raises(InvalidInput, match="not an XGBoost scikit-learn wrapper"):
            XGBoostFlavor().load(tmp_path / "m", {**config, "wrapper": wrapper}, trust=False)
    model_file.unlink()
    with pytest.raises(InvalidInput, match="is missing"):
        XGBoostFlavor().load(tmp_path / "m", config, trust=False)


def test_importing_the_flavor_does_not_import_xgboost() -> None:
    assert_imports_lightly("windlass.models.flavors.xgboost", "xgboost")
