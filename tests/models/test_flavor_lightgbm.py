"""The LightGBM flavor: text models, classifiers answered from the booster, fresh processes."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
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
from windlass.models.flavors.lightgbm import LightGBMFlavor
from windlass.models.loading import load_model_folder
from windlass.models.manifest import read_manifest
from windlass.models.package import save_model

# Small and quiet: a few trees, no per-iteration log lines.
PARAMS: dict[str, Any] = {"n_estimators": 8, "num_leaves": 7, "min_child_samples": 5, "verbose": -1}


def _data(rows: int = 200) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(11)
    frame = pd.DataFrame(rng.normal(size=(rows, 4)), columns=["age", "income", "debt", "score"])
    score = frame["income"] - frame["debt"] + rng.normal(scale=0.3, size=rows)
    return frame, np.digitize(score, [-0.5, 0.5])  # 3 classes: 0, 1, 2


@dataclass
class Saved:
    """Models saved once for the module, with their in-process and fresh-process answers."""

    root: Path
    expected: dict[str, dict[str, Any]]
    fresh: dict[str, FreshResult]


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Saved:
    """Fit and save one model of each kind; predict them all in one fresh process."""
    root = tmp_path_factory.mktemp("lightgbm")
    frame, label = _data()
    values = frame.to_numpy()
    yes_no = np.where(label == 2, "yes", "no")
    binary = lgb.LGBMClassifier(**PARAMS).fit(frame, yes_no)
    # Labels that are not 0..n-1 check that classes_ (not indices) come back.
    multiclass = lgb.LGBMClassifier(**PARAMS).fit(values, np.array([3, 5, 7])[label])
    regressor = lgb.LGBMRegressor(**PARAMS).fit(frame, frame["income"] * 2)
    booster = lgb.train(
        {"objective": "regression", "num_leaves": 7, "verbose": -1},
        lgb.Dataset(frame, label=frame["score"]),
        num_boost_round=8,
    )
    cases: dict[str, tuple[Any, Any, dict[str, Any]]] = {
        "binary": (
            binary,
            frame,
            {"predict": binary.predict(frame), "predict_proba": binary.predict_proba(frame)},
        ),
        "multiclass": (
            multiclass,
            values,
            {
                "predict": multiclass.predict(values),
                "predict_proba": multiclass.predict_proba(values),
            },
        ),
        "regressor": (regressor, frame, {"predict": regressor.predict(frame)}),
        "booster": (booster, frame, {"predict": booster.predict(frame)}),
    }
    jobs = {}
    for name, (model, data, expected) in cases.items():
        save_model(model, root / name, input_example=data[:5])
        jobs[name] = FreshJob(root / name, data, tuple(expected))
    return Saved(
        root, {name: case[2] for name, case in cases.items()}, predict_fresh(jobs, root / "fresh")
    )


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regressor", "booster"])
def test_round_trip_in_a_fresh_process_is_exact(saved: Saved, kind: str) -> None:
    fresh = saved.fresh[kind]
    assert fresh.flavor == "lightgbm"
    assert fresh.native == "lightgbm.basic.Booster"
    for method, expected in saved.expected[kind].items():
        np.testing.assert_array_equal(fresh.outputs[method], expected, err_msg=method)


def test_classes_and_feature_names_are_recorded(saved: Saved) -> None:
    binary = read_manifest(saved.root / "binary").flavors["lightgbm"]
    assert binary["kind"] == "classifier"
    assert binary["classes"] == ["no", "yes"]
    assert binary["feature_names"] == ["age", "income", "debt", "score"]
    multiclass = read_manifest(saved.root / "multiclass").flavors["lightgbm"]
    assert multiclass["classes"] == [3, 5, 7]
    assert multiclass["feature_names"] == [f"Column_{i}" for i in range(4)]
    assert read_manifest(saved.root / "regressor").flavors["lightgbm"]["kind"] == "sklearn"
    predictor = load_model_folder(saved.root / "regressor").predictor
    assert predictor.native.feature_name() == ["age", "income", "debt", "score"]


@pytest.mark.parametrize(
    "labels",
    [
        np.array([False, True]),
        np.array([1.0, 4.0]),
        np.array(["a", "b", "c"], dtype=object),
    ],
)
def test_labels_of_any_plain_type_come_back_with_their_dtype(
    tmp_path: Path, labels: np.ndarray
) -> None:
    frame, label = _data()
    model = lgb.LGBMClassifier(**PARAMS).fit(frame, labels[label % len(labels)])
    config = LightGBMFlavor().save(model, tmp_path, example=frame)

    predictor = LightGBMFlavor().load(tmp_path, config, trust=False)

    np.testing.assert_array_equal(predictor.predict(frame), model.predict(frame))
    assert predictor.predict(frame).dtype == model.predict(frame).dtype
    np.testing.assert_array_equal(predictor.predict_proba(frame), model.predict_proba(frame))


def test_early_stopped_classifier_predicts_with_its_best_iteration(tmp_path: Path) -> None:
    frame, label = _data()
    model = lgb.LGBMClassifier(**{**PARAMS, "n_estimators": 60, "learning_rate": 0.5}).fit(
        frame[:150],
        label[:150],
        eval_X=(frame[150:],),
        eval_y=(label[150:],),
        callbacks=[lgb.early_stopping(3, verbose=False)],
    )
    assert 0 < model.best_iteration_ < 60
    save_model(model, tmp_path / "m", input_example=frame.head(5))

    loaded = load_model_folder(tmp_path / "m")

    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))
    np.testing.assert_array_equal(loaded.predict_proba(frame), model.predict_proba(frame))


def test_manifest_pins_lightgbm_and_writes_a_text_model(saved: Saved) -> None:
    manifest = read_manifest(saved.root / "binary")
    assert manifest.flavor == "lightgbm"
    assert f"lightgbm=={metadata.version('lightgbm')}" in manifest.requirements
    assert set(manifest.files) == {"model.txt", "input_example.json", "requirements.txt"}
    assert (saved.root / "binary" / "model.txt").read_text().startswith("tree\n")
    assert_no_pickle(saved.root / "binary")


def test_refused_formats_options_and_unfitted_models(tmp_path: Path) -> None:
    frame, label = _data()
    model = lgb.LGBMClassifier(**PARAMS).fit(frame, label)
    with pytest.raises(InvalidInput, match="LightGBM's text model"):
        save_model(model, tmp_path / "a", serialization="pickle")
    with pytest.raises(InvalidInput, match="unknown lightgbm-flavor option"):
        save_model(model, tmp_path / "b", compress=True)
    with pytest.raises(InvalidInput, match="not fitted"):
        save_model(lgb.LGBMRegressor(), tmp_path / "c")
    assert not any(tmp_path.iterdir())


def test_handles_lightgbm_objects_only() -> None:
    frame, _ = _data(40)
    flavor = LightGBMFlavor()
    booster = lgb.train({"verbose": -1}, lgb.Dataset(frame, label=frame["age"]), num_boost_round=1)

    assert flavor.handles(lgb.LGBMClassifier())
    assert flavor.handles(lgb.LGBMRanker())
    assert flavor.handles(booster)
    assert not flavor.handles(lgb.Dataset(frame))
    assert not flavor.handles(LogisticRegression())
    assert not flavor.handles("model.txt")
    # The wrappers are scikit-learn estimators too: the lightgbm flavor must win.
    assert flavor_for(lgb.LGBMRegressor()).name == "lightgbm"


def test_corrupt_files_and_configs_give_clear_errors(tmp_path: Path) -> None:
    frame, label = _data()
    model = lgb.LGBMClassifier(**PARAMS).fit(frame, label)
    config = save_model(model, tmp_path / "m", input_example=frame.head(5)).flavors["lightgbm"]
    flavor = LightGBMFlavor()

    with pytest.raises(InvalidInput, match="lists 2 classes"):
        flavor.load(tmp_path / "m", {**config, "classes": [0, 1]}, trust=False)
    with pytest.raises(InvalidInput, match="no usable 'classes'"):
        flavor.load(tmp_path / "m", {**config, "classes": None}, trust=False)
    model_file = tmp_path / "m" / "model.txt"
    model_file.write_text("this is not a model\n")
    with pytest.raises(IntegrityFailure, match=r"model\.txt"):
        load_model_folder(tmp_path / "m")
    with pytest.raises(InvalidInput, match=r"model\.txt is not a readable LightGBM text model"):
        flavor.load(tmp_path / "m", config, trust=False)
    model_file.unlink()
    with pytest.raises(InvalidInput, match="is missing"):
        flavor.load(tmp_path / "m", config, trust=False)


def test_importing_the_flavor_does_not_import_lightgbm() -> None:
    assert_imports_lightly("windlass.models.flavors.lightgbm", "lightgbm")
