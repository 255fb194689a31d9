"""Every WINDLASS_* setting is documented, used ones are declared, bad values are refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from windlass import config
from windlass.exceptions import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_is_in_the_readme_table() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [name for name in config.SETTINGS if f"`{name}`" not in readme]
    assert not missing, f"settings missing from README's configuration table: {missing}"


def test_every_setting_used_in_code_is_declared() -> None:
    used: set[str] = set()
    for path in (ROOT / "src" / "windlass").rglob("*.py"):
        used |= set(re.findall(r"WINDLASS_[A-Z0-9_]+", path.read_text()))
    assert used - set(config.SETTINGS) == set()


def test_every_setting_has_a_doc_and_a_parsable_default() -> None:
    for setting in config.SETTINGS.values():
        assert setting.doc.strip()
        if setting.default is not None:
            setting.parse(setting.default)


def test_bad_value_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WINDLASS_METRIC_BATCH_SIZE", "-3")
    with pytest.raises(ConfigError, match="WINDLASS_METRIC_BATCH_SIZE"):
        config.get("WINDLASS_METRIC_BATCH_SIZE")
    with pytest.raises(ConfigError):
        config.get("WINDLASS_NOT_A_SETTING")


def test_every_declared_setting_is_used() -> None:
    sources = "\n".join(
        p.read_text() for p in (ROOT / "src" / "windlass").rglob("*.py") if p.name != "config.py"
    )
    unused = [
        name
        for name in config.SETTINGS
        if name not in sources and name not in ("WINDLASS_HOME", "WINDLASS_ARTIFACT_URI")
    ]
    # WINDLASS_HOME and WINDLASS_ARTIFACT_URI are read through config.home() and
    # config.default_artifact_uri().
    assert not unused, f"settings nobody reads: {unused}"


def test_trusted_model_sources_refuse_creator_patterns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WINDLASS_TRUSTED_MODEL_SOURCES", "models:/churn/*, runs:/*")
    assert config.get("WINDLASS_TRUSTED_MODEL_SOURCES") == ["models:/churn/*", "runs:/*"]
    monkeypatch.setenv("WINDLASS_TRUSTED_MODEL_SOURCES", "models:/churn/*, user:ada")
    with pytest.raises(
        ConfigError,
        match=r"WINDLASS_TRUSTED_MODEL_SOURCES.*user:ada.*not "
        r"authenticated",
    ):
        config.get("WINDLASS_TRUSTED_MODEL_SOURCES")
