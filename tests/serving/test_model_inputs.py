"""Bad request bodies against a real model server: each a 400 naming the field and the row.

One server per model for the whole module (``windlass serve`` on a folder): a table model
(int64, float64 and text columns) and a tensor model (a float64 matrix of width 3).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import windlass
from windlass_testing import ModelServerProcess

GOOD = {"tenure": 3, "charges": 20.5, "plan": "basic"}


def _frame(rows: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "tenure": rng.integers(0, 72, rows),
            "charges": rng.random(rows) * 100,
            "plan": rng.choice(["basic", "plus", "pro"], rows),
        }
    )


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelServerProcess]:
    """A served pipeline over columns tenure (int64), charges (float64), plan (string)."""
    work = tmp_path_factory.mktemp("table")
    frame = _frame()
    columns = ColumnTransformer(
        [
            ("num", StandardScaler(), ["tenure", "charges"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
        ]
    )
    model = make_pipeline(columns, LogisticRegression()).fit(frame, frame.tenure < 30)
    windlass.save_model(model, work / "churn", input_example=frame[:3])
    server = ModelServerProcess(
        str(work / "churn"), log_dir=work, env={"WINDLASS_HOME": str(work / "home")}
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tensor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelServerProcess]:
    """A served linear model over a float64 matrix of shape [-1, 3]."""
    work = tmp_path_factory.mktemp("tensor")
    matrix = np.random.default_rng(1).random((30, 3))
    model = LinearRegression().fit(matrix, matrix[:, 0])
    windlass.save_model(model, work / "linear", input_example=matrix[:2])
    server = ModelServerProcess(
        str(work / "linear"), log_dir=work, env={"WINDLASS_HOME": str(work / "home")}
    )
    yield server
    server.stop()


def _records(**changes: Any) -> dict[str, Any]:
    """Three good records, the last changed as given."""
    return {"inputs": [GOOD, GOOD, {**GOOD, **changes}]}


PREDICT_CASES: list[tuple[str, Any, str, int | None]] = [
    # (case, JSON body, field named, row named: None when the problem is a whole field)
    ("null cell", _records(charges=None), "charges", 2),
    ("empty text in a number column", _records(charges=""), "charges", 2),
    ("nan as text", _records(charges="nan"), "charges", 2),
    ("inf as text", _records(charges="inf"), "charges", 2),
    ("number as text", _records(tenure="12"), "tenure", 2),
    ("NUL byte in text", _records(plan="ba\x00sic"), "plan", 2),
    ("list as a cell", _records(charges=[1.0]), "charges", 2),
    ("object as a cell", _records(plan={"a": 1}), "plan", 2),
    ("boolean in a number column", _records(charges=True), "charges", 2),
    ("fraction in an integer column", _records(tenure=1.5), "tenure", 2),
    ("integer out of int64 range", _records(tenure=2**70), "tenure", 2),
    ("null record", {"inputs": [GOOD, None]}, "row 1", 1),
    ("record missing a column", {"inputs": [GOOD, {"tenure": 1, "plan": "pro"}]}, "charges", 1),
    ("records then a row", {"inputs": [GOOD, [1, 2.0, "pro"]]}, "row 1", 1),
    (
        "ragged columns",
        {"inputs": {"tenure": [1, 2, 3], "charges": [1.0, 2.0], "plan": ["a", "b", "c"]}},
        "charges",
        2,
    ),
    (
        "scalar as a column",
        {"inputs": {"tenure": 3, "charges": [1.0], "plan": ["a"]}},
        "tenure",
        None,
    ),
    (
        "boolean as a column",
        {"inputs": {"tenure": [3], "charges": True, "plan": ["a"]}},
        "charges",
        None,
    ),
    (
        "nested column values",
        {"inputs": {"tenure": [3, 4], "charges": [1.0, [2.0]], "plan": ["a", "b"]}},
        "charges",
        1,
    ),
    ("ragged rows", {"inputs": [[1, 2.0, "pro"], [1, 2.0]]}, "row 1", 1),
    ("text cell in rows", {"inputs": [[1, 2.0, "pro"], [1, "x", "pro"]]}, "charges", 1),
]


@pytest.mark.parametrize(
    ("body", "field", "row"), [pytest.param(b, f, r, id=c) for c, b, f, r in PREDICT_CASES]
)
def test_bad_predict_bodies_are_400_naming_field_and_row(
    table: ModelServerProcess, body: Any, field: str, row: int | None
) -> None:
    response = httpx.post(f"{table.url}/predict", json=body)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["error_code"] == "SCHEMA_MISMATCH", answer
    assert field in answer["message"], answer
    if row is not None:
        assert f"row {row}" in answer["message"], answer
        assert answer["details"]["row"] == row


CSV_CASES = [
    ("empty cell", "tenure,charges,plan\n1,2.5,basic\n2,,pro\n", "charges", 1),
    ("nan as text", "tenure,charges,plan\n1,2.5,basic\n2,nan,pro\n", "charges", 1),
    ("inf as text", "tenure,charges,plan\n1,2.5,basic\n2,inf,pro\n", "charges", 1),
    ("word in a number column", "tenure,charges,plan\n1,2.5,basic\n2,high,pro\n", "charges", 1),
    ("empty text cell", "tenure,charges,plan\n1,2.5,basic\n2,3.5,\n", "plan", 1),
]


@pytest.mark.parametrize(
    ("body", "field", "row"), [pytest.param(b, f, r, id=c) for c, b, f, r in CSV_CASES]
)
def test_bad_csv_bodies_are_400_naming_field_and_row(
    table: ModelServerProcess, body: str, field: str, row: int
) -> None:
    response = httpx.post(
        f"{table.url}/predict", content=body, headers={"content-type": "text/csv"}
    )
    assert response.status_code == 400, response.text
    assert field in response.json()["message"] and f"row {row}" in response.json()["message"]


def _tensors(**changes: dict[str, Any]) -> dict[str, Any]:
    """A good V2 request over two rows, with some tensors changed as given."""
    good = {
        "tenure": {"datatype": "INT64", "data": [1, 2]},
        "charges": {"datatype": "FP64", "data": [1.5, 2.5]},
        "plan": {"datatype": "BYTES", "data": ["basic", "pro"]},
    }
    return {
        "inputs": [
            {"name": name, "shape": [2], **good[name], **changes.get(name, {})} for name in good
        ]
    }


V2_CASES: list[tuple[str, Any, str, int | None]] = [
    ("shape longer than data", _tensors(charges={"shape": [3]}), "charges", 2),
    ("data longer than shape", _tensors(tenure={"data": [1, 2, 3]}), "tenure", 2),
    ("text where FP64", _tensors(charges={"data": [1.5, "nan"]}), "charges", 1),
    ("null where FP64", _tensors(charges={"data": [None, 1.0]}), "charges", 0),
    ("boolean where INT64", _tensors(tenure={"data": [1, True]}), "tenure", 1),
    ("fraction where INT64", _tensors(tenure={"data": [1, 2.5]}), "tenure", 1),
    ("INT8 out of range", _tensors(tenure={"datatype": "INT8", "data": [1, 300]}), "tenure", 1),
    ("object in data", _tensors(plan={"data": ["basic", {"a": 1}]}), "plan", 1),
    ("NUL byte in BYTES", _tensors(plan={"data": ["basic", "p\x00ro"]}), "plan", 1),
    (
        "wrong datatype for the column",
        _tensors(tenure={"datatype": "BYTES", "data": ["1", "2"]}),
        "tenure",
        None,
    ),
    ("unknown datatype", _tensors(charges={"datatype": "FLOAT"}), "charges", None),
    ("datatype not a string", _tensors(charges={"datatype": {}}), "charges", None),
    ("ragged inputs", _tensors(plan={"shape": [1], "data": ["basic"]}), "plan", 1),
    ("missing input", {"inputs": _tensors()["inputs"][:2]}, "plan", None),
    ("shape is not a list of sizes", _tensors(charges={"shape": [-1]}), "charges", None),
]


@pytest.mark.parametrize(
    ("body", "field", "row"), [pytest.param(b, f, r, id=c) for c, b, f, r in V2_CASES]
)
def test_bad_v2_infer_bodies_are_400_naming_field_and_row(
    table: ModelServerProcess, body: Any, field: str, row: int | None
) -> None:
    response = httpx.post(f"{table.url}/v2/models/churn/infer", json=body)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["error_code"] in ("SCHEMA_MISMATCH", "INVALID_INPUT"), answer
    assert answer["error"] == answer["message"]  # what V2 protocol clients read
    assert field in answer["message"], answer
    if row is not None:
        assert f"row {row}" in answer["message"], answer


def test_good_v2_and_predict_bodies_still_work(table: ModelServerProcess) -> None:
    response = httpx.post(f"{table.url}/v2/models/churn/infer", json=_tensors())
    assert response.status_code == 200, response.text
    assert response.json()["outputs"][0]["shape"] == [2]
    for body in (
        {"inputs": [GOOD, {**GOOD, "tenure": 40.0}]},
        {"inputs": {k: [v, v] for k, v in GOOD.items()}},
        {"inputs": [[3, 20, "pro"]]},
    ):
        response = httpx.post(f"{table.url}/predict", json=body)
        assert response.status_code == 200, response.text
    csv = "tenure,charges,plan\n1,2.5,basic\n2,3,pro\n"
    response = httpx.post(f"{table.url}/predict", content=csv, headers={"content-type": "text/csv"})
    assert response.status_code == 200, response.text


def test_v2_request_ids_are_bounded(table: ModelServerProcess) -> None:
    for bad in ("x" * 500, "line\r\nbreak", 7):
        response = httpx.post(f"{table.url}/v2/models/churn/infer", json={**_tensors(), "id": bad})
        assert response.status_code == 400, response.text
        assert "id" in response.json()["message"]


TENSOR_CASES: list[tuple[str, Any, str, int]] = [
    ("ragged rows", {"inputs": [[1.0, 2.0, 3.0], [1.0, 2.0]]}, "row 1", 1),
    ("text cell", {"inputs": [[1.0, 2.0, 3.0], [1.0, "nan", 3.0]]}, "row 1", 1),
    ("null cell", {"inputs": [[None, 2.0, 3.0]]}, "row 0", 0),
    ("boolean cell", {"inputs": [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [True, 2.0, 3.0]]}, "row 2", 2),
    ("nested too deep", {"inputs": [[1.0, [2.0], 3.0]]}, "row 0", 0),
    ("a number where a row belongs", {"inputs": [[1.0, 2.0, 3.0], 4.0]}, "row 1", 1),
]


@pytest.mark.parametrize(
    ("body", "named", "row"), [pytest.param(b, f, r, id=c) for c, b, f, r in TENSOR_CASES]
)
def test_bad_tensor_bodies_are_400_naming_the_row(
    tensor: ModelServerProcess, body: Any, named: str, row: int
) -> None:
    response = httpx.post(f"{tensor.url}/predict", json=body)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["error_code"] == "SCHEMA_MISMATCH" and named in answer["message"], answer
    assert answer["details"]["row"] == row
    good = httpx.post(f"{tensor.url}/predict", json={"inputs": [[1.0, 2.0, 3.0]]})
    assert good.status_code == 200, good.text
