"""Every WINDLASS_* setting is documented, used ones are declared, bad values are refused."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_type_hints

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
        _ = config.settings.metric_batch_size
    with pytest.raises(AttributeError):
        _ = getattr(config.settings, "not_a_setting")  # noqa: B009 - the point is the name


def test_settings_are_read_at_each_access(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WINDLASS_HTTP_TIMEOUT_SECONDS", "7.5")
    assert config.settings.http_timeout_seconds == 7.5
    monkeypatch.setenv("WINDLASS_HTTP_TIMEOUT_SECONDS", "")
    assert config.settings.http_timeout_seconds == 60.0
    monkeypatch.setenv("WINDLASS_HOME", "~/elsewhere")
    assert config.settings.home == Path("~/elsewhere").expanduser()
    monkeypatch.delenv("WINDLASS_TRACKING_URI", raising=False)
    assert config.settings.tracking_uri is None


def _setting_type(setting: config.Setting) -> object:
    """Return the type a setting's property must have: its parser's, ``| None`` if no default."""
    kind = get_type_hints(setting.parse)["return"]
    return kind if setting.default is not None else kind | None


def test_settings_class_has_one_typed_property_per_setting() -> None:
    """``config.Settings`` is generated from ``config.SETTINGS``; they must agree.

    A setting added to the table without rerunning the codemod fails here.
    """
    properties = {
        name: member
        for name, member in vars(config.Settings).items()
        if isinstance(member, property)
    }
    expected = {name.removeprefix("WINDLASS_").lower(): s for name, s in config.SETTINGS.items()}
    rerun = "rerun the config codemod (config_codemod.py, see config.py's docstring)"
    assert sorted(properties) == sorted(expected), rerun
    for name, setting in expected.items():
        getter = properties[name].fget
        assert getter is not None
        assert get_type_hints(getter)["return"] == _setting_type(setting), f"{name}: {rerun}"


def test_misspelled_setting_fails_mypy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    api = pytest.importorskip("mypy.api")
    monkeypatch.setenv("MYPYPATH", str(ROOT / "src"))  # this tree's windlass, not an installed one
    (tmp_path / "mypy.ini").write_text("[mypy]\n")
    (tmp_path / "good.py").write_text(
        "from windlass import config\n\n"
        "timeout: float = config.settings.http_timeout_seconds\n"
        "uri: str | None = config.settings.tracking_uri\n"
    )
    (tmp_path / "bad.py").write_text(
        "from windlass import config\n\n"
        "timeout = config.settings.http_timeout_second\n"
        "size: str = config.settings.metric_batch_size\n"
    )
    out, _err, status = api.run(
        [
            *("--config-file", str(tmp_path / "mypy.ini"), "--cache-dir", str(tmp_path / "cache")),
            *("--strict", "--follow-imports=silent", "--no-error-summary"),
            *(str(tmp_path / "good.py"), str(tmp_path / "bad.py")),
        ]
    )
    assert status == 1
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert [line for line in errors if "good.py" in line] == []
    assert any('"Settings" has no attribute "http_timeout_second"' in line for line in errors), out
    assert any("bad.py:4:" in line and '"int"' in line for line in errors), out


def test_every_declared_setting_is_used() -> None:
    sources = "\n".join(
        p.read_text() for p in (ROOT / "src" / "windlass").rglob("*.py") if p.name != "config.py"
    )
    attributes = set(re.findall(r"\bsettings\.([a-z0-9_]+)", sources))
    unused = [
        name
        for name in config.SETTINGS
        if name not in sources
        and name.removeprefix("WINDLASS_").lower() not in attributes
        and name not in ("WINDLASS_HOME", "WINDLASS_ARTIFACT_URI")
    ]
    # WINDLASS_HOME and WINDLASS_ARTIFACT_URI are read through config.default_store_uri() and
    # config.default_artifact_uri() (and the demo prints the home).
    assert not unused, f"settings nobody reads: {unused}"


def test_trusted_model_sources_refuse_creator_patterns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WINDLASS_TRUSTED_MODEL_SOURCES", "models:/churn/*, runs:/*")
    assert config.settings.trusted_model_sources == ["models:/churn/*", "runs:/*"]
    monkeypatch.setenv("WINDLASS_TRUSTED_MODEL_SOURCES", "models:/churn/*, user:ada")
    with pytest.raises(
        ConfigError,
        match=r"WINDLASS_TRUSTED_MODEL_SOURCES.*user:ada.*not "
        r"authenticated",
    ):
        _ = config.settings.trusted_model_sources
