"""Token usage is priced once per token, from the shipped table and override files."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import pytest

from windlass.exceptions import ConfigError, InvalidInput
from windlass.genai.llm.pricing import (
    ModelPrice,
    PriceTable,
    TokenUsage,
    UnknownModelPriceWarning,
    default_price_table,
)

SHIPPED_MODELS = [
    "openai/gpt-4o",
    "openai/gpt-4o-mini",
    "openai/gpt-4.1",
    "openai/gpt-4.1-mini",
    "openai/gpt-4.1-nano",
    "openai/o3",
    "openai/o4-mini",
    "openai/gpt-5",
    "openai/gpt-5-mini",
    "openai/text-embedding-3-small",
    "openai/text-embedding-3-large",
    "anthropic/claude-sonnet-4",
    "anthropic/claude-3-5-haiku",
    "anthropic/claude-opus-4",
    "google/gemini-2.5-pro",
    "google/gemini-2.5-flash",
    "mistral/mistral-large",
]


@pytest.fixture(autouse=True)
def _no_price_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WINDLASS_PRICE_TABLE", raising=False)


@pytest.fixture(scope="module")
def shipped() -> PriceTable:
    return PriceTable.load()


def round_table(cached_input: float | None = 0.5, reasoning: float | None = 10.0) -> PriceTable:
    """A one-model table with easy prices (distinct, so a mixed-up rate shows)."""
    return PriceTable(
        [
            ModelPrice(
                "acme", "m1", input=2.0, cached_input=cached_input, output=8.0, reasoning=reasoning
            )
        ],
        version="t1",
    )


def write(path: Path, content: str) -> Path:
    path.write_text(content, encoding="utf-8")
    return path


# -- the shipped table -------------------------------------------------------------------


def test_shipped_table_loads_with_non_negative_prices(shipped: PriceTable) -> None:
    assert shipped.version == "2026-11-01"
    assert shipped.currency == "USD"
    assert set(SHIPPED_MODELS) <= set(shipped.models)
    for key, price in shipped.models.items():
        for name in ("input", "cached_input", "output", "reasoning"):
            value = getattr(price, name)
            if value is not None:
                assert isinstance(value, int | float) and not isinstance(value, bool), key
                assert math.isfinite(value) and value >= 0, (key, name)


def test_shipped_chat_models_bill_reasoning_at_output_and_embeddings_only_input(
    shipped: PriceTable,
) -> None:
    for key, price in shipped.models.items():
        if "embedding" in key:
            assert price.output is None and price.cached_input is None and price.reasoning is None
        else:
            assert price.output is not None and price.reasoning == price.output, key


def test_shipped_json_file_is_the_documented_shape() -> None:
    import windlass.genai.llm

    raw = json.loads((Path(windlass.genai.llm.__file__).parent / "prices.json").read_text())
    assert raw["unit"] == "per_million_tokens"
    assert raw["currency"] == "USD"
    assert all("/" in key for key in raw["models"])


# -- arithmetic --------------------------------------------------------------------------


def test_cached_and_reasoning_tokens_are_priced_once() -> None:
    usage = TokenUsage(
        input_tokens=1000, output_tokens=300, cached_input_tokens=400, reasoning_tokens=200
    )
    # 600 uncached * 2 + 400 cached * 0.5 + 100 visible output * 8 + 200 reasoning * 10
    expected = (600 * 2.0 + 400 * 0.5 + 100 * 8.0 + 200 * 10.0) / 1e6
    assert expected == pytest.approx(0.0042)
    assert round_table().cost("acme", "m1", usage) == pytest.approx(expected)


def test_shipped_price_with_cache_hits(shipped: PriceTable) -> None:
    usage = TokenUsage(input_tokens=10_000, output_tokens=2_000, cached_input_tokens=4_000)
    # gpt-4o-mini: 6000 * 0.15 + 4000 * 0.075 + 2000 * 0.60 = 900 + 300 + 1200 = 2400 per 1e6
    assert shipped.cost("openai", "gpt-4o-mini", usage) == pytest.approx(0.0024)


def test_shipped_reasoning_model(shipped: PriceTable) -> None:
    usage = TokenUsage(
        input_tokens=2_000, output_tokens=5_000, cached_input_tokens=1_000, reasoning_tokens=4_000
    )
    # o4-mini: 1000 * 1.10 + 1000 * 0.275 + 1000 * 4.40 + 4000 * 4.40
    expected = (1000 * 1.10 + 1000 * 0.275 + 1000 * 4.40 + 4000 * 4.40) / 1e6
    assert shipped.cost("openai", "o4-mini-2025-04-16", usage) == pytest.approx(expected)


def test_missing_cached_and_reasoning_prices_fall_back_to_input_and_output() -> None:
    table = round_table(cached_input=None, reasoning=None)
    usage = TokenUsage(
        input_tokens=1000, output_tokens=300, cached_input_tokens=400, reasoning_tokens=200
    )
    assert table.cost("acme", "m1", usage) == pytest.approx((1000 * 2.0 + 300 * 8.0) / 1e6)


def test_none_counts_mean_zero() -> None:
    usage = TokenUsage(input_tokens=1000, output_tokens=300)
    assert round_table().cost("acme", "m1", usage) == pytest.approx((2000 + 2400) / 1e6)


def test_embedding_model_costs_input_only(shipped: PriceTable) -> None:
    usage = TokenUsage(input_tokens=500_000)
    assert shipped.cost("openai", "text-embedding-3-small", usage) == pytest.approx(0.01)


def test_output_tokens_on_a_model_without_output_price_are_unknown(shipped: PriceTable) -> None:
    table = PriceTable(shipped.models.values(), version="copy")  # fresh warning memory
    with pytest.warns(UnknownModelPriceWarning, match="no output price"):
        assert table.cost("openai", "text-embedding-3-large", TokenUsage(10, 5)) is None


# -- matching ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "model", "key"),
    [
        ("openai", "gpt-4o-mini-2024-07-18", "openai/gpt-4o-mini"),
        ("openai", "gpt-4o-2024-08-06", "openai/gpt-4o"),
        ("openai", "gpt-4.1-nano-2025-04-14", "openai/gpt-4.1-nano"),
        ("anthropic", "claude-sonnet-4-20250514", "anthropic/claude-sonnet-4"),
        ("anthropic", "claude-3-5-haiku-latest", "anthropic/claude-3-5-haiku"),
        ("gcp.vertex_ai", "claude-opus-4@20250514", "anthropic/claude-opus-4"),
        ("mistral_ai", "mistral-large-2411", "mistral/mistral-large"),
        ("OpenAI", "GPT-4o", "openai/gpt-4o"),
        ("azure.ai.openai", "gpt-4.1", "openai/gpt-4.1"),
        ("azure", "gpt-5-mini", "openai/gpt-5-mini"),
        ("gcp.gemini", "gemini-2.5-pro", "google/gemini-2.5-pro"),
        (None, "gemini-2.5-flash", "google/gemini-2.5-flash"),
        (None, "models/gemini-2.5-flash", "google/gemini-2.5-flash"),
        (None, "openai/o3-2025-04-16", "openai/o3"),
        # an OpenAI-compatible endpoint reports "openai" whatever the model
        ("openai", "claude-sonnet-4-20250514", "anthropic/claude-sonnet-4"),
    ],
)
def test_lookup_matches(shipped: PriceTable, provider: str | None, model: str, key: str) -> None:
    price = shipped.lookup(provider, model)
    assert price is not None and price.key == key


@pytest.mark.parametrize(
    "model",
    [
        "gpt-5-nano",  # not gpt-5: only release suffixes are stripped
        "o3-mini",
        "gpt-4o-audio-preview",
        "claude-opus-4-5-20251101",
        "llama3:8b",
        "",
    ],
)
def test_lookup_does_not_guess(shipped: PriceTable, model: str) -> None:
    assert shipped.lookup("openai", model) is None


def test_ambiguous_model_name_needs_the_provider() -> None:
    table = PriceTable(
        [
            ModelPrice("a", "same", input=1.0, output=2.0),
            ModelPrice("b", "same", input=3.0, output=4.0),
        ],
        version="t",
    )
    assert table.lookup(None, "same") is None
    price = table.lookup("b", "same")
    assert price is not None and price.input == 3.0


def test_literal_provider_entry_wins_over_its_alias(tmp_path: Path) -> None:
    path = write(
        tmp_path / "p.json",
        json.dumps({"models": {"azure/gpt-4o": {"input": 2.75, "output": 11.0}}}),
    )
    table = PriceTable.load(path)
    azure = table.lookup("azure", "gpt-4o-2024-08-06")
    openai = table.lookup("openai", "gpt-4o")
    assert azure is not None and azure.input == 2.75
    assert openai is not None and openai.input == 2.5


# -- overrides ---------------------------------------------------------------------------


def test_json_override_adds_a_model_and_changes_a_price(tmp_path: Path) -> None:
    path = write(
        tmp_path / "prices.json",
        json.dumps(
            {
                "version": "2026-12-01",
                "models": {
                    "vllm/llama-3.1-8b": {"input": 0.05, "output": 0.1},
                    "openai/gpt-4o": {"input": 2.0, "cached_input": 1.0, "output": 8.0},
                },
            }
        ),
    )
    table = PriceTable.load(path)
    assert table.version == "2026-12-01"
    usage = TokenUsage(input_tokens=1_000_000, output_tokens=1_000_000)
    assert table.cost("vllm", "llama-3.1-8b", usage) == pytest.approx(0.15)
    assert table.cost("openai", "gpt-4o", usage) == pytest.approx(10.0)
    # untouched shipped entries stay
    assert table.cost("openai", "gpt-4o-mini", usage) == pytest.approx(0.75)


def test_yaml_override_and_shipped_version_kept(tmp_path: Path) -> None:
    path = write(
        tmp_path / "prices.yaml", "models:\n  Ollama/Qwen3:\n    input: 0\n    output: 0\n"
    )
    table = PriceTable.load(str(path))
    assert table.version == "2026-11-01"
    assert table.cost("ollama", "qwen3", TokenUsage(100, 100)) == 0.0


def test_yaml_date_version_is_read_as_text(tmp_path: Path) -> None:
    path = write(tmp_path / "prices.yml", "version: 2026-12-24\nmodels: {}\n")
    assert PriceTable.load(path).version == "2026-12-24"


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("bad.json", "{not json", "not valid JSON"),
        ("bad.yaml", "models: [unclosed", "not valid JSON or YAML"),
        ("list.yaml", "- a\n- b\n", "must be a mapping"),
        ("empty.yaml", "", "must be a mapping"),
        ("typo.json", '{"model": {}}', "unknown key"),
        ("models.json", '{"models": [1, 2]}', "'models' must be a mapping"),
        ("negative.json", '{"models": {"acme/m": {"input": -1.0}}}', "'acme/m'.*input"),
        ("text.json", '{"models": {"acme/m": {"input": "cheap"}}}', "'acme/m'.*input"),
        ("nan.json", '{"models": {"acme/m": {"input": NaN}}}', "'acme/m'.*input"),
        ("bool.yaml", "models:\n  acme/m: {input: 1, output: true}\n", "'acme/m'.*output"),
        ("noslash.json", '{"models": {"gpt-9": {"input": 1}}}', "'gpt-9'.*provider/model"),
        ("noinput.json", '{"models": {"acme/m": {"output": 1}}}', "'acme/m'.*no 'input'"),
        ("field.json", '{"models": {"acme/m": {"input": 1, "outptu": 2}}}', "'acme/m'.*outptu"),
        ("entry.json", '{"models": {"acme/m": 3}}', "'acme/m' must be a mapping"),
        ("currency.json", '{"currency": "EUR", "models": {}}', "currency 'EUR'"),
        ("unit.json", '{"unit": "per_token", "models": {}}', "unit"),
    ],
)
def test_bad_override_file_names_file_and_entry(
    tmp_path: Path, name: str, content: str, match: str
) -> None:
    path = write(tmp_path / name, content)
    with pytest.raises(ConfigError, match=match) as info:
        PriceTable.load(path)
    assert str(path) in info.value.message
    assert info.value.details["file"] == str(path)


def test_missing_override_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.json does not exist"):
        PriceTable.load(tmp_path / "nope.json")


def test_override_that_is_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        PriceTable.load(tmp_path)


# -- unknown models ----------------------------------------------------------------------


def test_unknown_model_costs_none_and_warns_once() -> None:
    table = PriceTable.load()
    usage = TokenUsage(input_tokens=10, output_tokens=10)
    with pytest.warns(UnknownModelPriceWarning, match="'mystery-7b'"):
        assert table.cost("acme", "mystery-7b", usage) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert table.cost("ACME", "mystery-7b", usage) is None  # already warned
    with pytest.warns(UnknownModelPriceWarning, match="'mystery-13b'"):
        assert table.cost("acme", "mystery-13b", usage) is None


def test_each_table_warns_on_its_own() -> None:
    usage = TokenUsage(input_tokens=1)
    for _ in range(2):
        with pytest.warns(UnknownModelPriceWarning):
            assert PriceTable.load().cost(None, "mystery", usage) is None


def test_warning_points_at_the_caller() -> None:
    with pytest.warns(UnknownModelPriceWarning) as record:
        PriceTable.load().cost(None, "mystery", TokenUsage(1))
    assert record[0].filename == __file__


# -- invalid usage -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"input_tokens": -1}, "input_tokens"),
        ({"input_tokens": 1, "output_tokens": -2}, "output_tokens"),
        ({"input_tokens": 1, "cached_input_tokens": -1}, "cached_input_tokens"),
        ({"input_tokens": 1, "output_tokens": 1, "reasoning_tokens": -1}, "reasoning_tokens"),
        ({"input_tokens": 10, "cached_input_tokens": 11}, "cached_input_tokens"),
        ({"input_tokens": 1, "output_tokens": 5, "reasoning_tokens": 6}, "reasoning_tokens"),
        ({"input_tokens": 1.5}, "input_tokens"),
        ({"input_tokens": True}, "input_tokens"),
        ({"input_tokens": "12"}, "input_tokens"),
    ],
)
def test_invalid_usage_names_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput, match=field) as info:
        TokenUsage(**kwargs)  # type: ignore[arg-type]
    assert info.value.details["field"] == field


def test_invalid_model_price_names_the_field() -> None:
    with pytest.raises(InvalidInput, match="cached_input"):
        ModelPrice("acme", "m", input=1.0, cached_input=-0.1)


# -- WINDLASS_PRICE_TABLE ----------------------------------------------------------------


def test_default_table_is_the_shipped_one_and_cached() -> None:
    table = default_price_table()
    assert table.version == "2026-11-01"
    assert default_price_table() is table


def test_setting_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(
        tmp_path / "prices.yaml", "version: team-7\nmodels:\n  acme/m1: {input: 1, output: 2}\n"
    )
    monkeypatch.setenv("WINDLASS_PRICE_TABLE", str(path))
    table = default_price_table()
    assert table.version == "team-7"
    assert table.cost("acme", "m1", TokenUsage(1_000_000, 1_000_000)) == pytest.approx(3.0)
    assert default_price_table() is table
    # an edited file is read again
    write(path, "version: team-8\nmodels:\n  acme/m1: {input: 10, output: 20}\n")
    assert default_price_table().version == "team-8"
    monkeypatch.delenv("WINDLASS_PRICE_TABLE")
    assert default_price_table().version == "2026-11-01"


def test_bad_setting_names_the_setting_and_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "p.json", '{"models": {"acme/m": {"input": -3}}}')
    monkeypatch.setenv("WINDLASS_PRICE_TABLE", str(path))
    with pytest.raises(ConfigError, match="WINDLASS_PRICE_TABLE") as info:
        default_price_table()
    assert info.value.details["setting"] == "WINDLASS_PRICE_TABLE"
    assert info.value.details["entry"] == "acme/m"
    assert str(path) in info.value.message
    monkeypatch.setenv("WINDLASS_PRICE_TABLE", str(tmp_path / "missing.json"))
    with pytest.raises(ConfigError, match=r"missing\.json does not exist"):
        default_price_table()
