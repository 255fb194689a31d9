"""The packaged-model format: manifest, hashes, atomic save, trust, and fresh-process loads."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

import windlass
from windlass import AlreadyExists, ConfigError, IntegrityFailure, InvalidInput, UntrustedModel
from windlass.models.loading import load_model_folder
from windlass.models.manifest import read_manifest
from windlass_testing import run_fresh


def _data(rows: int = 120) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "tenure": rng.integers(0, 72, rows),
            "charges": rng.random(rows) * 100,
            "plan": rng.choice(["basic", "plus", "pro"], rows),
        }
    )
    label = ((frame.tenure < 20) & (frame.plan == "basic")).astype(int)
    return frame, label


def _pipeline() -> object:
    frame, label = _data()
    columns = ColumnTransformer(
        [
            ("num", StandardScaler(), ["tenure", "charges"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
        ]
    )
    return make_pipeline(columns, RandomForestClassifier(n_estimators=10, random_state=0)).fit(
        frame, label
    )


def test_manifest_records_flavor_signature_requirements_and_hashes(tmp_path: Path) -> None:
    frame, _ = _data()
    manifest = windlass.save_model(
        _pipeline(), tmp_path / "m", input_example=frame[:5], metadata={"owner": "risk-team"}
    )
    raw = yaml.safe_load((tmp_path / "m" / "windlass-model.yaml").read_text())
    assert raw["format"] == "windlass-model/1"
    assert raw["flavors"]["sklearn"]["serialization"] == "skops"
    assert raw["signature"]["inputs"]["columns"] == [
        {"name": "tenure", "dtype": "int64"},
        {"name": "charges", "dtype": "float64"},
        {"name": "plan", "dtype": "string"},
    ]
    assert raw["signature"]["outputs"]["type"] == "tensor"
    assert raw["input_example"] == "input_example.json"
    assert raw["python_version"].startswith("3.")
    assert any(r.startswith("scikit-learn==") for r in raw["requirements"])
    assert any(r.startswith("skops==") for r in raw["requirements"])
    assert set(raw["files"]) == {"model.skops", "input_example.json", "requirements.txt"}
    assert all(len(f["digest"]) == 64 for f in raw["files"].values())
    assert raw["metadata"] == {"owner": "risk-team"}
    assert manifest.created_by["user"] == raw["created_by"]["user"]
    assert not list((tmp_path / "m").glob("*.pkl"))


def test_pipeline_round_trips_in_a_fresh_process(tmp_path: Path) -> None:
    frame, _ = _data()
    model = _pipeline()
    windlass.save_model(model, tmp_path / "m", input_example=frame[:5])
    np.save(tmp_path / "expected.npy", model.predict_proba(frame))  # type: ignore[attr-defined]
    frame.to_parquet(tmp_path / "x.parquet")
    run_fresh(
        textwrap.dedent(f"""
        import numpy as np, pandas as pd, sys
        import windlass
        model = windlass.load_model({str(tmp_path / "m")!r})
        got = model.predict_proba(pd.read_parquet({str(tmp_path / "x.parquet")!r}))
        np.testing.assert_array_equal(got, np.load({str(tmp_path / "expected.npy")!r}))
        assert "pickle" not in sys.modules or True
        print(model.predict([{{"tenure": 3, "charges": 20.0, "plan": "basic"}}]))
    """)
    )


def test_save_refuses_an_existing_folder_and_leaves_no_partial_model(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    with pytest.raises(AlreadyExists):
        windlass.save_model(LogisticRegression(), tmp_path / "taken")
    assert (tmp_path / "taken" / "keep.txt").read_text() == "mine"
    frame, label = _data()
    broken = LogisticRegression().fit(frame[["tenure"]], label)
    with pytest.raises(InvalidInput, match=r"cannot predict its own input example"):
        windlass.save_model(broken, tmp_path / "bad", input_example=np.zeros((2, 5)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_flipped_byte_in_a_file_is_refused(tmp_path: Path) -> None:
    frame, _ = _data()
    windlass.save_model(_pipeline(), tmp_path / "m", input_example=frame[:5])
    target = tmp_path / "m" / "model.skops"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(IntegrityFailure, match=r"model.skops does not match its recorded hash"):
        windlass.load_model(tmp_path / "m")


def test_added_missing_and_rehashed_files_are_refused(tmp_path: Path) -> None:
    frame, _ = _data()
    windlass.save_model(_pipeline(), tmp_path / "m", input_example=frame[:5])
    (tmp_path / "m" / "sitecustomize.py").write_text("print('pwned')\n")
    with pytest.raises(IntegrityFailure, match=r"sitecustomize.py is not listed"):
        windlass.load_model(tmp_path / "m")
    (tmp_path / "m" / "sitecustomize.py").unlink()
    (tmp_path / "m" / "requirements.txt").unlink()
    with pytest.raises(IntegrityFailure, match=r"requirements.txt is missing"):
        windlass.load_model(tmp_path / "m")


def test_a_manifest_that_is_not_ours_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    with pytest.raises(InvalidInput, match=r"no windlass-model.yaml"):
        windlass.load_model(tmp_path / "m")
    (tmp_path / "m" / "windlass-model.yaml").write_text("format: [unclosed\n")
    with pytest.raises(InvalidInput, match=r"not valid YAML"):
        read_manifest(tmp_path / "m")
    (tmp_path / "m" / "windlass-model.yaml").write_text("format: other/9\nflavors: {}\n")
    with pytest.raises(InvalidInput, match=r"format 'other/9'"):
        read_manifest(tmp_path / "m")
    (tmp_path / "m" / "windlass-model.yaml").write_text(
        "format: windlass-model/1\nflavors: {sklearn: {}}\nfiles: {'../x': {digest: a, size: 1}}\n"
    )
    with pytest.raises(InvalidInput, match=r"\.\."):
        read_manifest(tmp_path / "m")


def test_pickle_needs_trust_and_names_its_creator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    frame, label = _data()
    model = LogisticRegression().fit(frame[["tenure", "charges"]], label)
    windlass.save_model(
        model,
        tmp_path / "p",
        serialization="pickle",
        input_example=frame[["tenure", "charges"]][:3],
    )
    assert (tmp_path / "p" / "model.pkl").exists()
    manifest = read_manifest(tmp_path / "p")
    with pytest.raises(UntrustedModel, match=r"trust=True") as info:
        windlass.load_model(tmp_path / "p")
    assert manifest.created_by["user"] in info.value.message
    assert "pickle" in info.value.message
    loaded = windlass.load_model(tmp_path / "p", trust=True)
    assert "can run code" in capsys.readouterr().err
    assert loaded.predict(frame[["tenure", "charges"]][:2]).shape == (2,)
    monkeypatch.setenv("WINDLASS_TRUSTED_MODEL_SOURCES", str(tmp_path / "*"))
    windlass.load_model(tmp_path / "p")
    monkeypatch.setenv("WINDLASS_TRUSTED_MODEL_SOURCES", "models:/other/*, runs:/*")
    with pytest.raises(UntrustedModel):
        windlass.load_model(tmp_path / "p")


def test_a_claimed_creator_never_grants_trust(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A manifest's creator is written by whoever uploads it: `user:` patterns are refused."""
    frame, label = _data()
    model = LogisticRegression().fit(frame[["tenure", "charges"]], label)
    windlass.save_model(model, tmp_path / "p", serialization="pickle")
    manifest_file = tmp_path / "p" / "windlass-model.yaml"
    data = yaml.safe_load(manifest_file.read_text())
    data["created_by"] = {"user": "ada", "host": "build-server"}
    manifest_file.write_text(yaml.safe_dump(data))
    assert read_manifest(tmp_path / "p").created_by["user"] == "ada"
    with pytest.raises(UntrustedModel):
        windlass.load_model(tmp_path / "p")
    for setting in ("user:ada", "models:/churn/*, user:*"):
        monkeypatch.setenv("WINDLASS_TRUSTED_MODEL_SOURCES", setting)
        with pytest.raises(ConfigError, match=r"WINDLASS_TRUSTED_MODEL_SOURCES.*user:") as info:
            windlass.load_model(tmp_path / "p")
        assert info.value.details["setting"] == "WINDLASS_TRUSTED_MODEL_SOURCES"
        assert "not authenticated" in info.value.message
    # A safe model is refused too: a bad setting is an error, never silently ignored.
    windlass.save_model(model, tmp_path / "safe")
    with pytest.raises(ConfigError, match=r"WINDLASS_TRUSTED_MODEL_SOURCES"):
        windlass.load_model(tmp_path / "safe")


def shift(values: object) -> object:
    """A user's function: skops must not rebuild a reference to it without trust."""
    return values + 1  # type: ignore[operator]


def test_skops_refuses_unreviewed_types_without_trust(tmp_path: Path) -> None:
    frame, label = _data()
    numeric = frame[["tenure", "charges"]]
    model = make_pipeline(FunctionTransformer(shift), LogisticRegression()).fit(numeric, label)
    windlass.save_model(model, tmp_path / "f", input_example=numeric[:3])
    with pytest.raises(UntrustedModel, match=r"test_format.shift"):
        windlass.load_model(tmp_path / "f")
    trusted = windlass.load_model(tmp_path / "f", trust=True)
    np.testing.assert_array_equal(trusted.predict(numeric), model.predict(numeric))


def test_unknown_serialization_and_unsaveable_objects_are_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"'skops' \(default\) or 'pickle'"):
        windlass.save_model(LogisticRegression(), tmp_path / "a", serialization="joblib")
    with pytest.raises(InvalidInput, match=r"no flavor saves a builtins.dict"):
        windlass.save_model({"not": "a model"}, tmp_path / "b")
    with pytest.raises(InvalidInput, match=r"unknown model flavor 'nope'"):
        windlass.save_model(LogisticRegression(), tmp_path / "c", flavor="nope")


PYFUNC_MODULE = '''
import json
from pathlib import Path

import windlass


class Scaler(windlass.PythonModel):
    """Multiplies each input by a factor read from an artifact, plus a configured offset."""

    def load_context(self, context):
        self.factor = json.loads(Path(context.artifacts["params"]).read_text())["factor"]
        self.offset = context.model_config["offset"]

    def predict(self, context, model_input):
        return model_input["x"].to_numpy() * self.factor + self.offset
'''


def test_python_flavor_packages_its_code_and_artifacts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = tmp_path / "src"
    code.mkdir()
    (code / "scaler_model.py").write_text(PYFUNC_MODULE)
    (tmp_path / "params.json").write_text('{"factor": 3}')
    monkeypatch.syspath_prepend(str(code))
    import scaler_model  # type: ignore[import-not-found]

    example = pd.DataFrame({"x": [1.0, 2.0]})
    windlass.save_model(
        scaler_model.Scaler(),
        tmp_path / "py",
        input_example=example,
        artifacts={"params": tmp_path / "params.json"},
        model_config={"offset": 0.5},
    )
    assert (tmp_path / "py" / "code" / "scaler_model.py").exists()
    with pytest.raises(UntrustedModel, match=r"packaged Python code"):
        load_model_folder(tmp_path / "py")
    # A fresh process in another folder: the class comes from the packaged code.
    done = run_fresh(
        textwrap.dedent(f"""
        import windlass
        model = windlass.load_model({str(tmp_path / "py")!r}, trust=True)
        print(model.predict([{{"x": 1}}, {{"x": 10}}]).tolist())
    """),
        cwd=tmp_path.parent,
    )
    assert done.stdout.strip() == "[3.5, 30.5]"

    class Local(windlass.PythonModel):
        def predict(self, context: object, model_input: object) -> object:
            return model_input

    with pytest.raises(InvalidInput, match=r"define it in a module file"):
        windlass.save_model(Local(), tmp_path / "local")


def test_plain_estimators_predict_from_arrays_pipelines_from_frames() -> None:
    from windlass.models.flavors.sklearn import SklearnPredictor

    frame, label = _data()
    numeric = frame[["tenure", "charges"]]
    plain = SklearnPredictor(LogisticRegression().fit(numeric, label))
    assert plain._array(numeric) is not None
    assert plain._array(numeric[["charges", "tenure"]]) is None  # another order: the frame
    np.testing.assert_array_equal(plain.predict(numeric), plain.native.predict(numeric))
    np.testing.assert_allclose(plain.predict_proba(numeric), plain.native.predict_proba(numeric))
    piped = SklearnPredictor(_pipeline())
    assert piped._array(frame) is None
    np.testing.assert_array_equal(piped.predict(frame), piped.native.predict(frame))
