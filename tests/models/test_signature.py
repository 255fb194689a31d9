"""Signatures: inferred from examples, enforced with errors that name the column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from windlass import SchemaMismatch
from windlass.models.signature import Signature, enforce, infer_schema, infer_signature


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"age": np.array([30, 40], dtype="int64"), "income": [1.5, 2.5], "plan": ["a", "b"]}
    )


def test_columns_are_inferred_with_dtypes() -> None:
    schema = infer_schema(_frame())
    assert schema.kind == "columns"
    assert [(c.name, c.dtype) for c in schema.columns] == [
        ("age", "int64"),
        ("income", "float64"),
        ("plan", "string"),
    ]


def test_tensor_shape_has_a_free_batch_dimension() -> None:
    schema = infer_schema(np.zeros((5, 3, 2), dtype=np.float32))
    assert (schema.kind, schema.dtype, schema.shape) == ("tensor", "float32", [-1, 3, 2])


def test_signature_round_trips_through_dict() -> None:
    signature = infer_signature(_frame(), np.array([0, 1]))
    assert Signature.from_dict(signature.to_dict()) == signature


def test_missing_column_is_named() -> None:
    schema = infer_schema(_frame())
    with pytest.raises(SchemaMismatch, match=r"missing column.*income") as info:
        enforce(schema, pd.DataFrame({"age": [1], "plan": ["a"]}))
    assert info.value.details["column"] == "income"


def test_extra_column_is_named() -> None:
    schema = infer_schema(_frame())
    data = _frame().assign(surprise=1)
    with pytest.raises(SchemaMismatch, match=r"unexpected column.*surprise"):
        enforce(schema, data)


def test_wrong_dtype_is_named() -> None:
    schema = infer_schema(_frame())
    with pytest.raises(SchemaMismatch, match=r"'age' must be int64, got text"):
        enforce(schema, _frame().assign(age=["x", "y"]))
    with pytest.raises(SchemaMismatch, match=r"'plan' must be text"):
        enforce(schema, _frame().assign(plan=[1, 2]))


def test_float_into_int_column_is_refused_but_int_into_float_converts() -> None:
    schema = infer_schema(_frame())
    with pytest.raises(SchemaMismatch, match=r"'age' must be int64, got float64"):
        enforce(schema, _frame().assign(age=[30.5, 40.0]))
    converted = enforce(schema, _frame().assign(income=[1, 2]))
    assert converted["income"].dtype == np.float64


def test_missing_values_in_an_int_column_are_refused() -> None:
    schema = infer_schema(_frame())
    with pytest.raises(SchemaMismatch, match=r"'age'.*missing values"):
        enforce(schema, [{"age": 1, "income": 1.0, "plan": "a"}, {"income": 2.0, "plan": "b"}])


def test_records_and_column_dicts_become_frames_in_signature_order() -> None:
    schema = infer_schema(_frame())
    records = [{"plan": "a", "income": 3, "age": 5}]
    frame = enforce(schema, records)
    assert list(frame.columns) == ["age", "income", "plan"]
    assert frame["income"].dtype == np.float64
    from_columns = enforce(schema, {"age": [1, 2], "income": [0.5, 1.0], "plan": ["a", "b"]})
    assert len(from_columns) == 2
    one_row = enforce(schema, {"age": 1, "income": 0.5, "plan": "a"})
    assert len(one_row) == 1


def test_tensor_checks_rank_fixed_dimensions_and_dtype() -> None:
    schema = infer_schema(np.zeros((4, 3), dtype=np.float32))
    assert enforce(schema, np.ones((7, 3), dtype=np.float64)).dtype == np.float32
    assert enforce(schema, [[1, 2, 3]]).dtype == np.float32
    with pytest.raises(SchemaMismatch, match=r"dimension 1 must be 3, got 4"):
        enforce(schema, np.ones((2, 4)))
    with pytest.raises(SchemaMismatch, match=r"2 dimension"):
        enforce(schema, np.ones(3))
    with pytest.raises(SchemaMismatch, match=r"must be float32, got <U1|must be float32"):
        enforce(schema, np.array([["a", "b", "c"]]))


def test_integer_tensor_refuses_floats() -> None:
    schema = infer_schema(np.zeros((2, 2), dtype=np.int64))
    with pytest.raises(SchemaMismatch, match=r"must be int64, got float64"):
        enforce(schema, np.ones((2, 2)))


def test_a_2d_array_fills_columns_by_position() -> None:
    schema = infer_schema(pd.DataFrame({"a": [1.0], "b": [2.0]}))
    frame = enforce(schema, np.array([[1.0, 2.0]]))
    assert list(frame.columns) == ["a", "b"]
    with pytest.raises(SchemaMismatch, match=r"columns \['a', 'b'\]"):
        enforce(schema, np.array([[1.0, 2.0, 3.0]]))


def test_enforcing_never_changes_the_callers_frame() -> None:
    schema = infer_schema(pd.DataFrame({"0": [1.0], "1": [2.0]}))
    data = pd.DataFrame([[1, 2]])  # integer column labels, int values
    converted = enforce(schema, data)
    assert list(data.columns) == [0, 1] and data.dtypes.iloc[0] == np.int64
    assert list(converted.columns) == ["0", "1"] and converted.dtypes.iloc[0] == np.float64
    exact = pd.DataFrame({"0": [1.0], "1": [2.0]})
    assert enforce(schema, exact) is exact


def test_the_records_fast_path_agrees_with_enforce_or_steps_aside() -> None:
    from windlass.models.signature import records_to_columns

    schema = infer_schema(_frame())
    records = [{"age": 3, "income": 1, "plan": "a"}, {"age": 4, "income": 2.5, "plan": "b"}]
    columns = records_to_columns(schema, records)
    assert columns is not None
    expected = enforce(schema, records)
    for name in ("age", "income", "plan"):
        assert list(columns[name]) == list(expected[name])
    assert columns["income"].dtype == np.float64 and columns["age"].dtype == np.int64
    # Anything unusual goes to enforce, which names the problem.
    assert records_to_columns(schema, [{"age": 3, "income": 1.0}]) is None
    assert records_to_columns(schema, [{"age": 3.5, "income": 1.0, "plan": "a"}]) is None
    assert records_to_columns(schema, [{"age": 3, "income": "x", "plan": "a"}]) is None
    assert records_to_columns(schema, [{"age": 3, "income": 1.0, "plan": 5}]) is None
    assert records_to_columns(schema, {"age": [3]}) is None


def test_records_become_one_float_matrix_only_when_lossless() -> None:
    from windlass.models.signature import float_matrix_columns, records_to_matrix

    schema = infer_schema(pd.DataFrame({"a": [0.5], "b": [1.5]}))
    names = float_matrix_columns(schema)
    assert names == ["a", "b"]
    matrix = records_to_matrix(names, [{"b": 2.0, "a": 1.0}, {"a": 3, "b": True}])
    assert matrix is not None and matrix.dtype == np.float64
    assert matrix.tolist() == [[1.0, 2.0], [3.0, 1.0]]
    # Text, missing or extra keys, nesting: the general path decides (and names the error).
    assert records_to_matrix(names, [{"a": "1.5", "b": 2.0}]) is None
    assert records_to_matrix(names, [{"a": 1.0}]) is None
    assert records_to_matrix(names, [{"a": 1.0, "b": 2.0, "c": 3.0}]) is None
    assert records_to_matrix(names, [{"a": [1.0], "b": 2.0}]) is None
    assert records_to_matrix(names, [{"a": None, "b": 2.0}]) is None
    assert records_to_matrix(names, []) is None
    assert float_matrix_columns(infer_schema(pd.DataFrame({"a": [1.0], "n": [1]}))) is None
