"""What an LLM call cost: token usage priced from a versioned price table.

The table ships with windlass as ``windlass/genai/llm/prices.json`` (US dollars per million
tokens) and can be extended or corrected without a release by a JSON or YAML file of the
same shape named by ``WINDLASS_PRICE_TABLE``::

    {"version": "2026-11-15",
     "models": {"openai/gpt-4o": {"input": 2.5, "cached_input": 1.25, "output": 10.0},
                "vllm/llama-3.1-8b": {"input": 0, "output": 0}}}

Usage follows OpenAI's convention: ``input_tokens`` include ``cached_input_tokens`` and
``output_tokens`` include ``reasoning_tokens``, so every token is priced exactly once.
(Anthropic reports cache reads *beside* its input tokens: add them before building a
:class:`TokenUsage`.) A model the table does not know costs ``None``, never 0, and
:meth:`PriceTable.cost` warns once with :class:`UnknownModelPriceWarning`.
"""

from __future__ import annotations

import datetime
import functools
import json
import math
import operator
import re
import threading
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from windlass import config
from windlass.exceptions import ConfigError, InvalidInput

UNIT = "per_million_tokens"
_SHIPPED_NAME = "windlass/genai/llm/prices.json"
_PRICE_FIELDS = ("input", "cached_input", "output", "reasoning")
_DOCUMENT_KEYS = frozenset({"version", "currency", "unit", "notes", "models"})

# Spellings of a provider (OpenTelemetry's gen_ai.provider.name and gen_ai.system values,
# SDK names) that bill at the canonical provider's list prices. A table entry under the
# literal spelling (say "azure/gpt-4o") still wins over the canonical one.
PROVIDER_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "azure": "openai",
        "azure.ai.openai": "openai",
        "az.ai.openai": "openai",
        "azure_openai": "openai",
        "azure-openai": "openai",
        "gemini": "google",
        "gcp.gemini": "google",
        "gcp.gen_ai": "google",
        "gcp.vertex_ai": "google",
        "vertex_ai": "google",
        "google_genai": "google",
        "google-genai": "google",
        "mistral_ai": "mistral",
        "mistralai": "mistral",
        "mistral-ai": "mistral",
    }
)

# A release suffix on a model name: "-2024-07-18", "-20250514", "-0613", "-2411", "-002",
# "-latest", or Vertex's "@20250514". Only these are stripped to find the base model:
# stripping any "-word" would price "gpt-5-nano" as "gpt-5" or "o3-mini" as "o3".
_RELEASE_SUFFIX = re.compile(r"(?:@[\w.:-]+|-(?:\d{4}-\d{2}-\d{2}|\d{8}|\d{3,4}|latest))$")


class UnknownModelPriceWarning(UserWarning):
    """The price table has no price for a model (or a token kind), so its cost is unknown."""


@dataclass(frozen=True)
class TokenUsage:
    """Tokens one LLM call used, in OpenAI's convention.

    ``input_tokens`` *include* ``cached_input_tokens`` and ``output_tokens`` *include*
    ``reasoning_tokens``; ``None`` for either of the last two means 0.
    """

    input_tokens: int
    output_tokens: int = 0
    cached_input_tokens: int | None = None
    reasoning_tokens: int | None = None

    def __post_init__(self) -> None:
        for name in ("input_tokens", "output_tokens", "cached_input_tokens", "reasoning_tokens"):
            value = getattr(self, name)
            if value is None and name in ("cached_input_tokens", "reasoning_tokens"):
                continue
            if isinstance(value, bool):
                raise InvalidInput(
                    f"TokenUsage.{name} must be an integer, got {value!r}", field=name
                )
            try:
                count = operator.index(value)  # accepts numpy integers, refuses floats
            except TypeError:
                raise InvalidInput(
                    f"TokenUsage.{name} must be an integer, got {value!r}", field=name
                ) from None
            if count < 0:
                raise InvalidInput(
                    f"TokenUsage.{name} must not be negative, got {count}", field=name
                )
            object.__setattr__(self, name, count)
        if (self.cached_input_tokens or 0) > self.input_tokens:
            raise InvalidInput(
                f"TokenUsage.cached_input_tokens ({self.cached_input_tokens}) exceeds "
                f"input_tokens ({self.input_tokens}), which include the cached tokens",
                field="cached_input_tokens",
            )
        if (self.reasoning_tokens or 0) > self.output_tokens:
            raise InvalidInput(
                f"TokenUsage.reasoning_tokens ({self.reasoning_tokens}) exceeds "
                f"output_tokens ({self.output_tokens}), which include the reasoning tokens",
                field="reasoning_tokens",
            )


@dataclass(frozen=True)
class ModelPrice:
    """Prices of one model in US dollars per million tokens.

    ``cached_input`` ``None`` prices cached tokens at ``input``; ``reasoning`` ``None``
    prices reasoning tokens at ``output``; ``output`` ``None`` means the model produces no
    output tokens (embedding models).
    """

    provider: str
    model: str
    input: float
    cached_input: float | None = None
    output: float | None = None
    reasoning: float | None = None

    def __post_init__(self) -> None:
        if not self.provider or not self.model or "/" in self.provider:
            raise InvalidInput(
                f"a model price needs a provider and a model name, got "
                f"{self.provider!r} and {self.model!r}",
                field="provider",
            )
        for name in _PRICE_FIELDS:
            value = getattr(self, name)
            if value is None and name != "input":
                continue
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value < 0
            ):
                raise InvalidInput(
                    f"price {self.key}.{name} must be a non-negative number, got {value!r}",
                    field=name,
                )

    @property
    def key(self) -> str:
        """Return the table key, ``"provider/model"``."""
        return f"{self.provider}/{self.model}"

    def cost(self, usage: TokenUsage) -> float | None:
        """Return the cost of ``usage`` in dollars, or ``None`` if it has unpriced output."""
        cached = usage.cached_input_tokens or 0
        reasoning = usage.reasoning_tokens or 0
        if self.output is None and usage.output_tokens > 0:
            return None
        output_price = self.output or 0.0
        cached_price = self.input if self.cached_input is None else self.cached_input
        reasoning_price = output_price if self.reasoning is None else self.reasoning
        total = (
            (usage.input_tokens - cached) * self.input
            + cached * cached_price
            + (usage.output_tokens - reasoning) * output_price
            + reasoning * reasoning_price
        )
        return total / 1_000_000


class PriceTable:
    """A versioned set of model prices that prices :class:`TokenUsage`.

    Build one with :meth:`load` (the shipped table plus an optional override file) or
    directly from :class:`ModelPrice` objects.
    """

    def __init__(
        self, prices: Iterable[ModelPrice], *, version: str, currency: str = "USD"
    ) -> None:
        self._version = version
        self._currency = currency
        self._prices: dict[str, ModelPrice] = {}
        for price in prices:
            self._prices[price.key.lower()] = price
        self._by_model: dict[str, list[ModelPrice]] = {}
        for price in self._prices.values():
            self._by_model.setdefault(price.model.lower(), []).append(price)
        self._warned: set[tuple[str | None, str]] = set()
        self._lock = threading.Lock()

    @classmethod
    def load(cls, overrides: str | Path | None = None) -> PriceTable:
        """Return the shipped price table with the entries of ``overrides`` laid over it.

        ``overrides`` is a JSON or YAML file of the shipped table's shape; its ``models``
        entries replace or add whole entries and its ``version`` replaces the table's.
        Raises :class:`~windlass.exceptions.ConfigError` naming the file and the entry
        when the file is missing, unparsable or of the wrong shape.
        """
        shipped = resources.files("windlass.genai.llm").joinpath("prices.json")
        base = _parse_document(json.loads(shipped.read_text(encoding="utf-8")), _SHIPPED_NAME)
        version = base.version or "unversioned"
        currency = base.currency or "USD"
        prices = dict(base.models)
        if overrides is not None and str(overrides) != "":
            path = Path(overrides).expanduser()
            extra = _parse_document(_read_document(path), str(path))
            if extra.currency is not None and extra.currency != currency:
                raise ConfigError(
                    f"price table {path}: currency {extra.currency!r} differs "
                    f"from the shipped table's {currency!r}",
                    file=str(path),
                    entry="currency",
                )
            prices.update(extra.models)
            version = extra.version or version
        return cls(prices.values(), version=version, currency=currency)

    @property
    def version(self) -> str:
        """Return the table's version (the shipped date, or the override's)."""
        return self._version

    @property
    def currency(self) -> str:
        """Return the currency of every price (``"USD"``)."""
        return self._currency

    @property
    def models(self) -> Mapping[str, ModelPrice]:
        """Return every price by its lower-case ``"provider/model"`` key (read-only)."""
        return MappingProxyType(self._prices)

    def lookup(self, provider: str | None, model: str) -> ModelPrice | None:
        """Return the price of ``model`` as served by ``provider``, or ``None``.

        Tried in order: ``provider/model`` (provider case-insensitive, then its canonical
        name from :data:`PROVIDER_ALIASES`); the same with release suffixes stripped
        (``gpt-4o-mini-2024-07-18`` → ``gpt-4o-mini``, longest name first); then the
        model name alone under any provider when that is unambiguous (an OpenAI-compatible
        endpoint reports provider ``openai`` for every model). A ``provider/`` or
        ``models/`` prefix on the model name is understood.
        """
        name = model.strip().lower()
        if not name:
            return None
        spellings: list[str] = []
        names = [name]
        if provider is not None and provider.strip():
            spellings.append(provider.strip().lower())
        if "/" in name:
            head, _, tail = name.rpartition("/")
            names.append(tail)
            spellings.append(head.rpartition("/")[2])
        providers = _unique(p for s in spellings for p in (s, PROVIDER_ALIASES.get(s, s)))
        candidates = _unique(base for n in names for base in _base_names(n))
        for prov in providers:
            for candidate in candidates:
                hit = self._prices.get(f"{prov}/{candidate}")
                if hit is not None:
                    return hit
        for candidate in candidates:
            entries = self._by_model.get(candidate)
            if entries:
                if len({_rates(e) for e in entries}) == 1:
                    return entries[0]
                return None  # the same name at different prices: guessing would mislead
        return None

    def cost(self, provider: str | None, model: str, usage: TokenUsage) -> float | None:
        """Return what ``usage`` cost in dollars, or ``None`` (with a warning) if unpriced.

        An unknown model is never priced at 0: the cost is ``None`` and an
        :class:`UnknownModelPriceWarning` naming the model is emitted, once per
        ``(provider, model)`` for this table.
        """
        price = self.lookup(provider, model)
        if price is None:
            self._warn_once(
                provider,
                model,
                f"no price for model {model!r} (provider {provider!r}) in price "
                f"table {self._version}; its cost is unknown. Add it to a price "
                f"file named by WINDLASS_PRICE_TABLE.",
            )
            return None
        amount = price.cost(usage)
        if amount is None:
            self._warn_once(
                provider,
                model,
                f"{price.key} has no output price but model {model!r} produced "
                f"{usage.output_tokens} output tokens; its cost is unknown.",
            )
        return amount

    def _warn_once(self, provider: str | None, model: str, message: str) -> None:
        key = (provider.strip().lower() if provider else None, model.strip().lower())
        with self._lock:
            if key in self._warned:
                return
            self._warned.add(key)
        warnings.warn(message, UnknownModelPriceWarning, stacklevel=3)


@dataclass(frozen=True)
class _Document:
    version: str | None
    currency: str | None
    models: dict[str, ModelPrice] = field(default_factory=dict)


def _rates(price: ModelPrice) -> tuple[float | None, ...]:
    return (price.input, price.cached_input, price.output, price.reasoning)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _base_names(name: str) -> list[str]:
    """Return ``name`` and each shorter name left by stripping a release suffix."""
    found = [name]
    while (match := _RELEASE_SUFFIX.search(found[-1])) and match.start() > 0:
        found.append(found[-1][: match.start()])
    return found


def _read_document(path: Path) -> Any:
    """Return the parsed content of a JSON or YAML price file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"price table {path} does not exist", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"price table {path} cannot be read: {exc}", file=str(path)) from None
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"price table {path} is not valid JSON: {exc}", file=str(path)
            ) from None
    import yaml  # lazily: `import windlass` stays light

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"price table {path} is not valid JSON or YAML: {exc}", file=str(path)
        ) from None


def _parse_document(raw: Any, source: str) -> _Document:
    """Return the checked content of one price table document read from ``source``."""
    if not isinstance(raw, dict):
        raise ConfigError(
            f"price table {source} must be a mapping with a 'models' mapping, "
            f"got {type(raw).__name__}",
            file=source,
        )
    unknown = sorted(str(k) for k in raw if k not in _DOCUMENT_KEYS)
    if unknown:
        raise ConfigError(
            f"price table {source}: unknown key(s) {unknown}; expected {sorted(_DOCUMENT_KEYS)}",
            file=source,
            entry=unknown[0],
        )
    version = raw.get("version")
    if isinstance(version, datetime.date | int) and not isinstance(version, bool):
        version = str(version)  # YAML reads `version: 2026-11-15` as a date
    if version is not None and (not isinstance(version, str) or not version.strip()):
        raise ConfigError(
            f"price table {source}: version must be a string, got {version!r}",
            file=source,
            entry="version",
        )
    currency = raw.get("currency")
    if currency is not None and not isinstance(currency, str):
        raise ConfigError(
            f"price table {source}: currency must be a string, got {currency!r}",
            file=source,
            entry="currency",
        )
    unit = raw.get("unit", UNIT)
    if unit != UNIT:
        raise ConfigError(
            f"price table {source}: unit must be {UNIT!r}, got {unit!r}", file=source, entry="unit"
        )
    models = raw.get("models", {})
    if not isinstance(models, dict):
        raise ConfigError(
            f"price table {source}: 'models' must be a mapping of "
            f"'provider/model' to prices, got {type(models).__name__}",
            file=source,
            entry="models",
        )
    prices: dict[str, ModelPrice] = {}
    for key, entry in models.items():
        price = _parse_entry(key, entry, source)
        prices[price.key.lower()] = price
    return _Document(
        version=version, currency=currency.upper() if currency else None, models=prices
    )


def _parse_entry(key: Any, entry: Any, source: str) -> ModelPrice:
    """Return the :class:`ModelPrice` of one ``models`` entry, or raise naming it."""
    provider, _, model = str(key).partition("/")
    if not isinstance(key, str) or not provider.strip() or not model.strip():
        raise ConfigError(
            f"price table {source}: model key {key!r} must be 'provider/model'",
            file=source,
            entry=str(key),
        )
    if not isinstance(entry, dict):
        raise ConfigError(
            f"price table {source}: entry {key!r} must be a mapping of "
            f"{list(_PRICE_FIELDS)} to prices, got {entry!r}",
            file=source,
            entry=key,
        )
    unknown = sorted(str(k) for k in entry if k not in _PRICE_FIELDS)
    if unknown:
        raise ConfigError(
            f"price table {source}: entry {key!r} has unknown field(s) "
            f"{unknown}; expected {list(_PRICE_FIELDS)}",
            file=source,
            entry=key,
        )
    if "input" not in entry:
        raise ConfigError(
            f"price table {source}: entry {key!r} has no 'input' price", file=source, entry=key
        )
    try:
        return ModelPrice(
            provider=provider.strip().lower(),
            model=model.strip().lower(),
            input=entry["input"],
            cached_input=entry.get("cached_input"),
            output=entry.get("output"),
            reasoning=entry.get("reasoning"),
        )
    except InvalidInput as exc:
        raise ConfigError(
            f"price table {source}: entry {key!r}: {exc.message}",
            file=source,
            entry=key,
            field=exc.details.get("field"),
        ) from None


@functools.lru_cache(maxsize=8)
def _load_cached(path: str, stamp: tuple[int, int]) -> PriceTable:
    # ``stamp`` (mtime, size) is only part of the cache key: an edited file is re-read.
    return PriceTable.load(path or None)


def default_price_table() -> PriceTable:
    """Return the process's price table: shipped prices plus ``WINDLASS_PRICE_TABLE``.

    The table is cached per override path and file modification, so changing the
    setting or editing the file takes effect at the next call, and each unknown model
    warns once per process.
    """
    configured: Path | None = config.settings.price_table
    if configured is None:
        return _load_cached("", (0, 0))
    try:
        info = configured.stat()
        stamp = (info.st_mtime_ns, info.st_size)
    except OSError:
        stamp = (-1, -1)  # PriceTable.load raises the ConfigError naming the file
    try:
        return _load_cached(str(configured), stamp)
    except ConfigError as exc:
        raise ConfigError(
            f"WINDLASS_PRICE_TABLE={configured}: {exc.message}",
            **{**exc.details, "setting": "WINDLASS_PRICE_TABLE"},
        ) from None
