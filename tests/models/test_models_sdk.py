"""The models SDK end to end: log, register, alias, load by URI, lineage — embedded and server."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import windlass
from windlass import (
    IntegrityFailure,
    InvalidInput,
    InvalidState,
    InvalidUri,
    ModelNotFound,
    ModelVersionNotFound,
    SchemaMismatch,
)


def _data() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"tenure": rng.integers(0, 72, 80), "charges": rng.random(80) * 100})
    return frame, (frame.tenure < 30).astype(int)


def _log(registered: str | None = "churn", **params: object) -> windlass.ModelInfo:
    frame, label = _data()
    with windlass.start_run():
        windlass.log_params(params or {"C": 1.0})
        windlass.log_input(frame, "churn-train")
        model = LogisticRegression(C=float(params.get("C", 1.0))).fit(frame, label)  # type: ignore[arg-type]
        windlass.log_metric("accuracy", float(model.score(frame, label)))
        return windlass.log_model(
            model, name="model", input_example=frame[:5], registered_model_name=registered
        )


def test_log_register_alias_and_load_by_every_uri(sdk: str) -> None:
    frame, _ = _data()
    first = _log(C=1.0)
    second = _log(C=0.1)
    assert (first.version, second.version) == (1, 2)
    assert first.flavors == ["sklearn"]
    assert first.signature is not None and first.signature["inputs"]["type"] == "columns"
    assert first.model_uri == "models:/churn/1"
    windlass.set_alias("churn", "champion", version=1)
    expected = windlass.load_model(first.uri).predict(frame)
    for uri in ("models:/churn/1", "models:/churn@champion", first.uri):
        loaded = windlass.load_model(uri)
        np.testing.assert_array_equal(loaded.predict(frame), expected)
    assert windlass.load_model("models:/churn@latest").uri == "models:/churn/2"
    records = frame[:3].to_dict("records")
    np.testing.assert_array_equal(
        windlass.load_model("models:/churn/1").predict(records), expected[:3]
    )
    model = windlass.get_registered_model("churn")
    assert model.aliases == {"champion": 1} and model.latest_version == 2


def test_signature_is_enforced_on_loaded_models(sdk: str) -> None:
    _log()
    loaded = windlass.load_model("models:/churn/1")
    with pytest.raises(SchemaMismatch, match=r"missing column.*charges"):
        loaded.predict(pd.DataFrame({"tenure": [1]}))
    with pytest.raises(SchemaMismatch, match=r"'tenure' must be int64, got text"):
        loaded.predict([{"tenure": "long", "charges": 1.0}])


def test_alias_moves_are_recorded_and_guard_deletion(sdk: str) -> None:
    for c in (1.0, 0.5, 0.1):
        _log(C=c)
    windlass.set_alias("churn", "champion", 1)
    windlass.set_alias("churn", "challenger", 2)
    windlass.set_alias("churn", "champion", 2)
    with pytest.raises(InvalidState, match=r"champion"):
        windlass.delete_model_version("churn", 2)
    windlass.set_alias("churn", "champion", 3)
    windlass.delete_alias("churn", "challenger")
    windlass.delete_model_version("churn", 2)
    history = windlass.get_alias_history("churn", "champion")
    assert [(e.from_version, e.to_version) for e in history] == [(None, 1), (1, 2), (2, 3)]
    assert all(e.claimed_by and e.at > 0 for e in history)
    everything = windlass.get_alias_history("churn")
    assert [(e.alias, e.from_version, e.to_version) for e in everything][-1] == (
        "challenger",
        2,
        None,
    )
    assert [v.version for v in windlass.list_model_versions("churn")] == [3, 1]
    with pytest.raises(ModelVersionNotFound):
        windlass.load_model("models:/churn/2")
    with pytest.raises(ModelVersionNotFound):
        windlass.set_alias("churn", "champion", 9)
    with pytest.raises(InvalidInput, match=r"latest"):
        windlass.set_alias("churn", "latest", 1)


def test_lineage_names_run_params_metrics_inputs(sdk: str) -> None:
    info = _log(C=0.25)
    lineage = windlass.get_model_lineage("churn", 1)
    assert lineage.run_id == info.run_id
    assert lineage.params == {"C": "0.25"}
    assert "accuracy" in lineage.metrics
    assert [(i.name, i.rows, i.context) for i in lineage.inputs] == [
        ("churn-train", 80, "training")
    ]
    version = windlass.get_model_version("churn", 1)
    assert version.source == info.uri and version.run_id == info.run_id
    assert version.manifest["run_id"] == info.run_id


def test_register_from_run_and_folder_and_download(sdk: str, tmp_path: Path) -> None:
    info = _log(registered=None)
    version = windlass.register_model(info.uri, "from-run")
    assert version.version == 1 and version.run_id == info.run_id
    folder = windlass.download_model("models:/from-run/1", tmp_path / "dl")
    assert (folder / "windlass-model.yaml").exists()
    again = windlass.register_model(folder, "from-folder", description="copied")
    assert again.version == 1
    frame, _ = _data()
    np.testing.assert_array_equal(
        windlass.load_model("models:/from-folder/1").predict(frame),
        windlass.load_model(info.uri).predict(frame),
    )
    with pytest.raises(InvalidInput, match=r"not an empty folder"):
        windlass.download_model("models:/from-run/1", tmp_path / "dl")


def test_model_card_description_tags(sdk: str) -> None:
    _log()
    windlass.update_registered_model(
        "churn", description="Who churns", card="# churn\n\nv1", tags={"team": "risk"}
    )
    model = windlass.get_registered_model("churn")
    assert (model.description, model.card, model.tags) == (
        "Who churns",
        "# churn\n\nv1",
        {"team": "risk"},
    )
    names = [m.name for m in windlass.list_registered_models()]
    assert "churn" in names


def test_bad_uris_and_unknown_models_are_clear(sdk: str) -> None:
    with pytest.raises(ModelNotFound):
        windlass.load_model("models:/nobody/1")
    with pytest.raises(InvalidUri):
        windlass.load_model("models:/bad name/1")
    with pytest.raises(InvalidUri, match=r"neither a model URI"):
        windlass.load_model("/no/such/folder")
    with pytest.raises(InvalidState, match=r"no active run"):
        windlass.log_model(LogisticRegression(), name="model")
    with windlass.start_run() as run:
        pass
    with pytest.raises(InvalidInput, match=r"not a windlass model"):
        windlass.load_model(f"runs:/{run.id}/model")


def test_a_flipped_byte_in_the_artifact_store_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "windlass-home"  # the autouse fixture's WINDLASS_HOME
    windlass.set_project("tamper")
    info = _log()
    version = windlass.get_model_version("churn", info.version)
    skops = next(f for f in version.files if f.path == "model.skops")
    blob = next((home / "artifacts").rglob(skops.digest))
    data = bytearray(blob.read_bytes())
    data[100] ^= 0xFF
    blob.write_bytes(bytes(data))
    with pytest.raises(IntegrityFailure, match=r"model.skops.*does not match its recorded hash"):
        windlass.load_model("models:/churn/1")
    with pytest.raises(IntegrityFailure):
        windlass.load_model(info.uri)
    windlass.set_tracking_uri(None)


def test_plain_estimators_take_one_float_matrix_pipelines_do_not(tmp_path: Path) -> None:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = _data()
    x = x.astype("float64")
    plain = LogisticRegression().fit(x, y)
    windlass.save_model(plain, tmp_path / "plain", input_example=x[:3])
    loaded = windlass.load_model(str(tmp_path / "plain"))
    assert loaded.matrix_columns() == list(x.columns)
    matrix = x.to_numpy()
    assert loaded.predict_matrix(matrix).tolist() == plain.predict(x).tolist()

    piped = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    windlass.save_model(piped, tmp_path / "piped", input_example=x[:3])
    assert windlass.load_model(str(tmp_path / "piped")).matrix_columns() is None
