"""The ONNX flavor: protos, bytes and files in; onnxruntime on CPU; dtype casts; fresh processes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pandas as pd
import pytest
from flavor_helpers import (
    FreshJob,
    FreshResult,
    assert_imports_lightly,
    assert_no_pickle,
    predict_fresh,
)
from onnx import TensorProto, helper, numpy_helper
from skl2onnx import to_onnx
from sklearn.linear_model import LogisticRegression

from windlass.exceptions import IntegrityFailure, InvalidInput, SchemaMismatch
from windlass.models.flavors import flavor_for
from windlass.models.flavors import onnx as onnx_flavor
from windlass.models.flavors.onnx import OnnxFlavor
from windlass.models.loading import load_model_folder
from windlass.models.manifest import read_manifest
from windlass.models.package import save_model

WEIGHTS = np.arange(8, dtype=np.float32).reshape(4, 2) / 10
BIAS = np.array([0.5, -0.5], dtype=np.float32)
# onnx 1.23 writes IR version 14 by default; onnxruntime 1.31 reads up to 13.
IR_VERSION = 10


@pytest.fixture(scope="module", autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """onnxruntime writes under $XDG_CACHE_HOME when imported: keep it in a temp folder."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
        yield


def _linear() -> onnx.ModelProto:
    """Return ``y = x @ W + B`` built with onnx.helper (float input [n, 4])."""
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "W"], ["xw"]),
            helper.make_node("Add", ["xw", "B"], ["y"]),
        ],
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 2])],
        [numpy_helper.from_array(WEIGHTS, "W"), numpy_helper.from_array(BIAS, "B")],
    )
    return helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=IR_VERSION
    )


def _two_inputs() -> onnx.ModelProto:
    """Return a model taking columns ``a`` (float) and ``b`` (double) as [n, 1] inputs."""
    graph = helper.make_graph(
        [
            helper.make_node("Cast", ["b"], ["b32"], to=TensorProto.FLOAT),
            helper.make_node("Add", ["a", "b32"], ["total"]),
            helper.make_node("Mul", ["a", "b32"], ["product"]),
        ],
        "two_inputs",
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, [None, 1]),
            helper.make_tensor_value_info("b", TensorProto.DOUBLE, [None, 1]),
        ],
        [
            helper.make_tensor_value_info("total", TensorProto.FLOAT, [None, 1]),
            helper.make_tensor_value_info("product", TensorProto.FLOAT, [None, 1]),
        ],
    )
    return helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=IR_VERSION
    )


def _data(rows: int = 200) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    features = rng.normal(size=(rows, 4))
    return features, (features[:, 0] + features[:, 3] > 0).astype(int)


@dataclass
class Saved:
    """Models saved once for the module, with their in-process and fresh-process answers."""

    root: Path
    expected: dict[str, dict[str, Any]]
    fresh: dict[str, FreshResult]


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Saved:
    """Save ONNX models given every way; predict them all in one fresh process."""
    import onnxruntime as ort  # after _private_cache: importing it writes a cache file

    root = tmp_path_factory.mktemp("onnx")
    features, label = _data()
    classifier = LogisticRegression().fit(features, label)
    converted = to_onnx(classifier, features[:1].astype(np.float32))
    session = ort.InferenceSession(
        converted.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    onnx.save_model(_linear(), root / "linear.onnx")
    frame = pd.DataFrame({"a": features[:, 0], "b": features[:, 1]})
    linear = {"predict": (features @ WEIGHTS + BIAS).astype(np.float32)}
    cases: dict[str, tuple[Any, Any, dict[str, Any]]] = {
        "skl2onnx": (
            converted,
            features,
            {
                "predict": session.run(None, {"X": features.astype(np.float32)})[0],
                "predict_proba": classifier.predict_proba(features),
            },
        ),
        "proto": (_linear(), features, linear),
        "bytes": (_linear().SerializeToString(), features, linear),
        "path": (str(root / "linear.onnx"), features, linear),
        "two-inputs": (
            _two_inputs(),
            frame,
            {
                "predict": (frame["a"].to_numpy(np.float32) + frame["b"].to_numpy(np.float32))[
                    :, None
                ]
            },
        ),
    }
    jobs = {}
    for name, (model, data, expected) in cases.items():
        # float64 examples: the signature takes float64, the session float32.
        save_model(model, root / name, flavor="onnx", input_example=data[:5])
        jobs[name] = FreshJob(root / name, data, tuple(expected))
    return Saved(
        root, {name: case[2] for name, case in cases.items()}, predict_fresh(jobs, root / "fresh")
    )


@pytest.mark.parametrize("case", ["skl2onnx", "proto", "bytes", "path", "two-inputs"])
def test_round_trip_in_a_fresh_process(saved: Saved, case: str) -> None:
    fresh = saved.fresh[case]
    assert fresh.flavor == "onnx"
    assert fresh.native == "onnxruntime.capi.onnxruntime_inference_collection.InferenceSession"
    for method, expected in saved.expected[case].items():
        got = fresh.outputs[method]
        assert got.shape == expected.shape, method
        if method == "predict" and case == "skl2onnx":
            np.testing.assert_array_equal(got, expected)  # class labels
        else:
            np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, err_msg=method)


def test_float64_input_is_cast_to_the_declared_float32(saved: Saved) -> None:
    assert saved.fresh["proto"].outputs["predict"].dtype == np.float32
    signature = read_manifest(saved.root / "proto").signature
    assert signature is not None and signature.inputs.dtype == "float64"
    config = read_manifest(saved.root / "proto").flavors["onnx"]
    assert config["inputs"] == [{"name": "x", "type": "float", "shape": [-1, 4]}]
    predictor = OnnxFlavor().load(saved.root / "proto", config, trust=False)
    features, _ = _data(7)
    np.testing.assert_allclose(predictor.predict(features), features @ WEIGHTS + BIAS, rtol=1e-5)
    np.testing.assert_allclose(
        predictor.predict(features.tolist()), features @ WEIGHTS + BIAS, rtol=1e-5
    )
    with pytest.raises(SchemaMismatch, match="index: 1 Got: 5 Expected: 4"):
        predictor.predict(np.ones((3, 5)))
    with pytest.raises(SchemaMismatch, match="'x' takes tensor\\(float\\)"):
        predictor.predict([["a", "b", "c", "d"]])


def test_several_inputs_by_name_and_every_output_on_request(saved: Saved, tmp_path: Path) -> None:
    config = read_manifest(saved.root / "two-inputs").flavors["onnx"]
    predictor = OnnxFlavor().load(saved.root / "two-inputs", config, trust=False)
    np.testing.assert_allclose(
        predictor.predict({"a": [1.0, 2.0], "b": [10, 20]}), [[11.0], [22.0]]
    )
    with pytest.raises(SchemaMismatch, match=r"missing ONNX input\(s\) \['b'\]"):
        predictor.predict({"a": [1.0]})
    with pytest.raises(SchemaMismatch, match="takes inputs"):
        predictor.predict(np.ones((2, 2)))
    # No input example here: save_model cannot yet infer a signature from a dict of 2-D arrays.
    save_model(_two_inputs(), tmp_path / "all", all_outputs=True)
    outputs = load_model_folder(tmp_path / "all").predict(
        pd.DataFrame({"a": [2.0, 3.0], "b": [4.0, 5.0]})
    )
    assert set(outputs) == {"total", "product"}
    np.testing.assert_allclose(outputs["product"], [[8.0], [15.0]])
    with pytest.raises(InvalidInput, match="unknown onnx-flavor option"):
        save_model(_linear(), tmp_path / "bad", outputs="all")


def test_manifest_pins_onnx_and_onnxruntime_and_keeps_the_proto(saved: Saved) -> None:
    manifest = read_manifest(saved.root / "proto")
    assert manifest.flavor == "onnx"
    assert f"onnx=={metadata.version('onnx')}" in manifest.requirements
    assert f"onnxruntime=={metadata.version('onnxruntime')}" in manifest.requirements
    assert set(manifest.files) == {"model.onnx", "input_example.json", "requirements.txt"}
    assert onnx.load(saved.root / "proto" / "model.onnx") == _linear()
    assert_no_pickle(saved.root / "proto")
    assert manifest.flavors["onnx"]["opsets"] == {"ai.onnx": 17}


def test_a_large_model_keeps_its_tensors_in_an_external_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(onnx_flavor, "EXTERNAL_DATA_BYTES", 0)
    model = _linear()
    save_model(model, tmp_path / "m", input_example=np.ones((2, 4)))

    assert set(read_manifest(tmp_path / "m").files) >= {"model.onnx", "model.onnx.data"}
    assert model.graph.initializer[0].raw_data  # the caller's proto is left as it was
    np.testing.assert_allclose(
        load_model_folder(tmp_path / "m").predict(np.ones((3, 4))),
        np.ones((3, 4)) @ WEIGHTS + BIAS,
        rtol=1e-6,
    )


def test_handles_onnx_protos_only() -> None:
    flavor = OnnxFlavor()
    assert flavor.handles(_linear())
    assert not flavor.handles(_linear().SerializeToString())  # bytes only with flavor="onnx"
    assert not flavor.handles(_linear().graph)
    assert not flavor.handles(LogisticRegression())
    assert flavor_for(_linear()).name == "onnx"


def test_bad_models_give_clear_errors(saved: Saved, tmp_path: Path) -> None:
    broken = _linear()
    broken.graph.node[1].input[0] = "nowhere"  # an edge from no node
    with pytest.raises(InvalidInput, match="the ONNX model is not valid"):
        save_model(broken, tmp_path / "a")
    with pytest.raises(InvalidInput, match="the given bytes is not a readable ONNX model"):
        save_model(b"\x00garbage", tmp_path / "b", flavor="onnx")
    with pytest.raises(InvalidInput, match="no ONNX file at"):
        save_model(str(tmp_path / "missing.onnx"), tmp_path / "c", flavor="onnx")
    with pytest.raises(InvalidInput, match=r"not builtins\.dict"):
        save_model({"a": 1}, tmp_path / "d", flavor="onnx")
    assert not any(p.name in "abcd" for p in tmp_path.iterdir())

    config = read_manifest(saved.root / "proto").flavors["onnx"]
    (tmp_path / "model.onnx").write_bytes(b"garbage")
    with pytest.raises(InvalidInput, match=r"model\.onnx is not a loadable ONNX model"):
        OnnxFlavor().load(tmp_path, config, trust=False)
    (tmp_path / "model.onnx").unlink()
    with pytest.raises(InvalidInput, match="is missing"):
        OnnxFlavor().load(tmp_path, config, trust=False)
    tampered = tmp_path / "tampered"
    tampered.mkdir()
    for file in (saved.root / "proto").iterdir():
        (tampered / file.name).write_bytes(file.read_bytes())
    (tampered / "model.onnx").write_bytes(b"swapped")
    with pytest.raises(IntegrityFailure, match=r"model\.onnx"):
        load_model_folder(tampered)


def test_importing_the_flavor_does_not_import_onnxruntime() -> None:
    assert_imports_lightly("windlass.models.flavors.onnx", "onnxruntime")
