"""Optional dependencies: a missing one is a MissingDependency naming the extra."""

from __future__ import annotations

import pytest

from windlass.exceptions import MissingDependency
from windlass.extras import installed, missing, require


def test_require_returns_the_module() -> None:
    import json

    assert require("json", extra="ml", feature="anything") is json


def test_a_missing_module_names_the_extra_and_the_feature() -> None:
    with pytest.raises(MissingDependency) as info:
        require("windlass_no_such_module", extra="ml", feature="exporting traces to Parquet")
    assert info.value.message.startswith("exporting traces to Parquet needs windlass_no_such")
    assert 'pip install "windlass[ml]"' in info.value.message
    assert info.value.details == {"package": "windlass_no_such_module", "extra": "ml"}
    assert info.value.http_status == 400


def test_the_pip_name_is_given_for_an_import_name() -> None:
    error = missing("sklearn.base", extra="ml", feature="autolog")
    assert error.details["package"] == "scikit-learn"
    assert "autolog needs scikit-learn" in error.message


def test_installed_does_not_import() -> None:
    assert installed("json")
    assert not installed("windlass_no_such_module")
    assert not installed("windlass_no_such_package.sub")
