"""``windlass.models``: the alias API every versioned kind has, shaped like ``windlass.prompts``."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import windlass
from windlass import AliasEvent, InvalidInput

ALIAS_API = ("set_alias", "delete_alias", "get_alias_history", "list_versions")


@pytest.mark.parametrize("name", ALIAS_API)
def test_models_and_prompts_offer_the_same_alias_api(name: str) -> None:
    for_models, for_prompts = getattr(windlass.models, name), getattr(windlass.prompts, name)
    assert for_models.__doc__ and for_prompts.__doc__
    assert list(inspect.signature(for_models).parameters) == list(
        inspect.signature(for_prompts).parameters
    )
    assert name in windlass.models.__all__ and name in dir(windlass.models)


def test_the_flat_functions_are_the_namespace_functions() -> None:
    assert windlass.models.set_alias is windlass.set_alias
    assert windlass.models.delete_alias is windlass.delete_alias
    assert windlass.models.get_alias_history is windlass.get_alias_history
    assert windlass.models.list_versions is windlass.list_model_versions
    with pytest.raises(AttributeError, match="no attribute 'log_everything'"):
        _ = windlass.models.log_everything


def _log_version() -> int:
    x = np.arange(20, dtype=float).reshape(10, 2)
    y = (x[:, 0] > 8).astype(int)
    with windlass.start_run():
        info = windlass.log_model(
            LogisticRegression().fit(x, y), name="model", registered_model_name="churn"
        )
    assert info.version is not None
    return info.version


def test_set_move_delete_and_history_through_the_namespace(sdk: str) -> None:
    assert [_log_version(), _log_version()] == [1, 2]
    created = windlass.models.set_alias("churn", "champion", 1)
    assert isinstance(created, AliasEvent) and created.model_name == "churn"
    moved = windlass.models.set_alias("churn", "champion", version=2)
    assert (moved.from_version, moved.to_version) == (1, 2)
    assert windlass.get_model_version("churn", alias="champion").version == 2
    removed = windlass.models.delete_alias("churn", "champion")
    assert (removed.from_version, removed.to_version) == (2, None)
    history = windlass.models.get_alias_history("churn")
    assert [(e.from_version, e.to_version) for e in history] == [(None, 1), (1, 2), (2, None)]
    assert windlass.models.get_alias_history("churn", "other") == []
    assert [v.version for v in windlass.models.list_versions("churn")] == [2, 1]
    with pytest.raises(InvalidInput, match="latest"):
        windlass.models.set_alias("churn", "latest", 1)
