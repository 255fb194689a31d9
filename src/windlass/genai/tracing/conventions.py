"""Fill a span's GenAI fields from the attribute conventions it arrived with.

Spans reach windlass from many SDKs. :func:`normalize` reads three families of names
and fills :class:`~windlass.entities.Span`'s normalized fields (kind, input, output,
model, provider, token counts, cost, session, user, run, prompt) while leaving every
original attribute untouched:

- windlass's own names (:mod:`windlass.genai.tracing.attributes`), which win when present;
- the OpenTelemetry GenAI semantic conventions (``gen_ai.*``), current and older spellings;
- OpenInference, Arize Phoenix's conventions (``openinference.span.kind``, ``llm.*``,
  ``input.value``), including its flattened indexed lists
  (``llm.input_messages.0.message.role``), which are rebuilt into JSON lists.

For each field the candidate names are tried in order and the first usable value wins;
a value that cannot be used (a negative or non-numeric token count, say) is skipped, never
an error: spans from foreign SDKs are never rejected for their attribute content.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson

from windlass.entities import Span, SpanEvent, SpanKind
from windlass.genai.tracing import attributes as attr

__all__ = [
    "DEFAULT_MAX_CHARS",
    "FIELDS",
    "cap_text",
    "genai_fields",
    "kind_from_attributes",
    "normalize",
    "to_count",
    "to_text",
    "unusable_counts",
]

_COUNT_MAX = 2**63 - 1  # what a signed 64-bit column holds

DEFAULT_MAX_CHARS = 32_000
"""How many characters of a span's input or output are kept before the truncation marker."""

# -- candidate names, best first ---------------------------------------------------------
_KIND_WINDLASS = attr.SPAN_KIND
_KIND_OPENINFERENCE = attr.OPENINFERENCE_SPAN_KIND
_KIND_TRACELOOP = "traceloop.span.kind"  # OpenLLMetry: workflow, task, agent, tool

_PROVIDER_KEYS = (attr.PROVIDER_NAME, attr.SYSTEM, "llm.provider", "llm.system")
_MODEL_KEYS = (
    attr.RESPONSE_MODEL,
    attr.REQUEST_MODEL,
    "llm.response.model_name",
    "llm.model_name",
    "llm.request.model_name",
    "embedding.model_name",
    "reranker.model_name",
)
_INPUT_TOKEN_KEYS = (
    attr.USAGE_INPUT_TOKENS,
    "gen_ai.usage.prompt_tokens",
    "llm.token_count.prompt",
)
_OUTPUT_TOKEN_KEYS = (
    attr.USAGE_OUTPUT_TOKENS,
    "gen_ai.usage.completion_tokens",
    "llm.token_count.completion",
)
_CACHED_TOKEN_KEYS = (
    attr.USAGE_CACHED_INPUT_TOKENS,  # gen_ai.usage.cache_read.input_tokens
    "gen_ai.usage.cache_read_input_tokens",
    "gen_ai.usage.input_tokens.cached",
    "llm.token_count.prompt_details.cache_read",
)
_REASONING_TOKEN_KEYS = (
    attr.USAGE_REASONING_TOKENS,  # windlass.usage.reasoning_tokens
    "gen_ai.usage.reasoning.output_tokens",  # GenAI semantic conventions
    "gen_ai.usage.output_tokens.reasoning",
    "gen_ai.usage.reasoning_tokens",  # OpenLLMetry (Traceloop)
    "gen_ai.usage.output_tokens_details.reasoning_tokens",  # OpenAI's usage object, flattened
    "llm.token_count.completion_details.reasoning",  # OpenInference
)
_COST_KEYS = (attr.COST, "llm.cost.total")
_SESSION_KEYS = (attr.SESSION_ID, "gen_ai.conversation.id")
_USER_KEYS = (attr.USER_ID, "enduser.id")
_RUN_KEYS = (attr.RUN_ID,)
_PROMPT_NAME_KEYS = (attr.PROMPT_NAME, "gen_ai.prompt.name")
_PROMPT_VERSION_KEYS = (attr.PROMPT_VERSION, "llm.prompt_template.version")

# Text kept verbatim (strings) or JSON-encoded; flattened lists come after these.
_INPUT_KEYS = (
    attr.INPUT_VALUE,
    attr.INPUT_MESSAGES,
    "gen_ai.prompt",
    "gen_ai.tool.call.arguments",
    "gen_ai.retrieval.query.text",
)
_OUTPUT_KEYS = (
    attr.OUTPUT_VALUE,
    attr.OUTPUT_MESSAGES,
    "gen_ai.completion",
    "gen_ai.tool.call.result",
    "gen_ai.retrieval.documents",
)

# Flattened indexed lists ("llm.input_messages.0.message.role"), best first, by prefix.
_INPUT_LISTS = ("llm.input_messages.", "gen_ai.prompt.", "llm.prompts.")
_OUTPUT_LISTS = (
    "llm.output_messages.",
    "retrieval.documents.",
    "reranker.output_documents.",
    "gen_ai.completion.",
    "llm.choices.",
)
_ALL_LISTS = _INPUT_LISTS + _OUTPUT_LISTS

# Span events that carry content (GenAI conventions before content moved to attributes).
_INPUT_EVENTS: dict[str, tuple[str, ...]] = {
    "gen_ai.content.prompt": ("gen_ai.prompt",),
    "gen_ai.client.inference.operation.details": (attr.INPUT_MESSAGES,),
}
_OUTPUT_EVENTS: dict[str, tuple[str, ...]] = {
    "gen_ai.content.completion": ("gen_ai.completion",),
    "gen_ai.client.inference.operation.details": (attr.OUTPUT_MESSAGES,),
}

# The first segment of an OpenInference list item's keys ("message.role" → "role").
_ITEM_NAMESPACES = frozenset(
    {
        "message",
        "document",
        "tool_call",
        "message_content",
        "prompt",
        "completion",
        "tool",
        "embedding",
    }
)

# -- kinds ------------------------------------------------------------------------------
_KIND_BY_NAME: dict[str, SpanKind] = {k.value: k for k in SpanKind}
_KIND_BY_OPENINFERENCE: dict[str, SpanKind] = {
    k.value.upper(): k for k in SpanKind if k is not SpanKind.UNKNOWN
}
# PROMPT spans render a template: glue between steps, which windlass calls a chain.
_KIND_BY_OPENINFERENCE["PROMPT"] = SpanKind.CHAIN
_KIND_BY_OPERATION: dict[str, SpanKind] = {
    "chat": SpanKind.LLM,
    "text_completion": SpanKind.LLM,
    "generate_content": SpanKind.LLM,
    "embeddings": SpanKind.EMBEDDING,
    "retrieval": SpanKind.RETRIEVER,
    "execute_tool": SpanKind.TOOL,
    "invoke_agent": SpanKind.AGENT,
    "create_agent": SpanKind.AGENT,
    "invoke_workflow": SpanKind.CHAIN,
}
_KIND_BY_TRACELOOP: dict[str, SpanKind] = {
    "workflow": SpanKind.CHAIN,
    "task": SpanKind.CHAIN,
    "agent": SpanKind.AGENT,
    "tool": SpanKind.TOOL,
}


# -- value coercion ----------------------------------------------------------------------
def to_count(value: Any) -> int | None:
    """Return ``value`` as a non-negative int token count, or ``None`` when it is not one.

    Whole floats (``12.0``) and numeric strings (``"12"``, ``"12.0"``) within int64 are
    accepted (ingest clamps what is stored to ``MAX_TOKEN_COUNT``, see
    :mod:`windlass.genai.tracing.span_bounds`); booleans, negatives, fractions, NaN and anything
    else give ``None``.
    """
    kind = type(value)
    if kind is int:
        return value if 0 <= value <= _COUNT_MAX else None
    if kind is str:
        try:
            return to_count(int(value))
        except ValueError:
            try:
                value = float(value)
            except ValueError:
                return None
            kind = float
    if kind is float:
        if 0 <= value <= _COUNT_MAX and value.is_integer():  # NaN and inf fail too
            return int(value)
        return None
    return None


_COUNT_KEYS = {
    "input_tokens": _INPUT_TOKEN_KEYS,
    "output_tokens": _OUTPUT_TOKEN_KEYS,
    "cached_input_tokens": _CACHED_TOKEN_KEYS,
    "reasoning_tokens": _REASONING_TOKEN_KEYS,
}


def unusable_counts(
    attrs: Mapping[str, Any], fields: Iterable[str] = tuple(_COUNT_KEYS)
) -> list[str]:
    """Name the token-count attributes present whose value is not a count (negative...).

    Such a value is skipped by :func:`genai_fields`, never an error; ingest records these
    notes so that the skip is visible (``["attributes.gen_ai.usage.input_tokens: -5 is not
    a token count, ignored"]``). ``fields`` limits the check to some of ``input_tokens``,
    ``output_tokens``, ``cached_input_tokens``, ``reasoning_tokens`` (ingest checks those
    the span has no value for).
    """
    notes: list[str] = []
    for field in fields:
        for key in _COUNT_KEYS[field]:
            value = attrs.get(key)
            if value is not None and to_count(value) is None:
                shown = to_text(value)
                shown = shown if len(shown) <= 40 else shown[:40] + "…"
                notes.append(f"attributes.{key}: {shown} is not a token count, ignored")
    return notes


def _to_cost(value: Any) -> float | None:
    """Return a non-negative finite dollar amount, or ``None``."""
    kind = type(value)
    if kind is not str and kind is not int and kind is not float:
        return None
    try:
        amount = float(value)
    except (ValueError, OverflowError):
        return None
    return amount if math.isfinite(amount) and amount >= 0 else None


def _to_name(value: Any) -> str | None:
    """Return a non-empty identifier string (ints are spelled out), or ``None``."""
    kind = type(value)
    if kind is str:
        return value or None
    if kind is int and -_COUNT_MAX <= value <= _COUNT_MAX:
        return str(value)
    return None


def _to_version(value: Any) -> int | None:
    """Return a prompt version number (``3``, ``"3"``, ``"v3"``), or ``None``.

    Dotted versions (``"v1.0"``) are not windlass version numbers: ``None``.
    """
    if type(value) is str:
        digits = value[1:] if value[:1] in ("v", "V") else value
        ok = 0 < len(digits) <= 18 and digits.isascii() and digits.isdigit()
        return int(digits) if ok else None
    return to_count(value)


def to_text(value: Any) -> str:
    """Return ``value`` as text: strings unchanged, anything else as compact JSON."""
    if type(value) is str:
        return value
    try:
        return orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):
        # Integers beyond 64 bits and other oddities: a readable form beats losing it.
        try:
            return repr(value)
        except ValueError:  # an integer too long to print
            return f"<unprintable {type(value).__name__}>"


def cap_text(text: str, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """Return ``text`` cut to ``max_chars`` characters plus a ``…[truncated N chars]`` marker."""
    if len(text) <= max_chars:
        return text
    return f"{text[:max_chars]}…[truncated {len(text) - max_chars} chars]"


def _first(attrs: Mapping[str, Any], keys: tuple[str, ...], convert: Callable[[Any], Any]) -> Any:
    """Return the converted value of the first key whose value converts, else ``None``."""
    for key in keys:
        value = attrs.get(key)
        if value is not None:
            converted = convert(value)
            if converted is not None:
                return converted
    return None


# -- kind ----------------------------------------------------------------------------------
def kind_from_attributes(attrs: Mapping[str, Any]) -> SpanKind:
    """Return the span kind the attributes declare, or infer, or ``SpanKind.UNKNOWN``.

    Order: ``windlass.span.kind``, ``openinference.span.kind``, ``gen_ai.operation.name``,
    ``traceloop.span.kind``; failing those, a span with a model and a token count is an
    LLM call.
    """
    value = attrs.get(_KIND_WINDLASS)
    if type(value) is str and (kind := _KIND_BY_NAME.get(value.lower())) is not None:
        return kind
    value = attrs.get(_KIND_OPENINFERENCE)
    if type(value) is str and (kind := _KIND_BY_OPENINFERENCE.get(value.upper())) is not None:
        return kind
    value = attrs.get(attr.OPERATION_NAME)
    if type(value) is str and (kind := _KIND_BY_OPERATION.get(value.lower())) is not None:
        return kind
    value = attrs.get(_KIND_TRACELOOP)
    if type(value) is str and (kind := _KIND_BY_TRACELOOP.get(value.lower())) is not None:
        return kind
    return SpanKind.UNKNOWN


# -- flattened lists -----------------------------------------------------------------------
def _indexed_list(pairs: Iterable[tuple[str, Any]]) -> list[dict[str, Any]]:
    """Rebuild a list from ``"<index>.<namespace>.<field>"`` pairs, ordered by index.

    ``0.message.role`` becomes item 0's ``role``; a field with an index of its own
    (``0.message.tool_calls.1.tool_call.id``) becomes a nested list. Keys whose index is
    not a plain decimal number are skipped.
    """
    items: dict[int, dict[str, Any]] = {}
    nested: dict[tuple[int, str], list[tuple[str, Any]]] = {}
    for rest, value in pairs:
        index, _, tail = rest.partition(".")
        if not tail or len(index) > 9 or not (index.isascii() and index.isdigit()):
            continue
        position = int(index)
        item = items.get(position)
        if item is None:
            item = items[position] = {}
        namespace, dot, field = tail.partition(".")
        if dot and namespace in _ITEM_NAMESPACES:
            tail = field
        if "." not in tail:
            item[tail] = value
            continue
        parts = tail.split(".")
        for i in range(1, len(parts)):
            if parts[i].isdigit():
                nested.setdefault((position, ".".join(parts[:i])), []).append(
                    (".".join(parts[i:]), value)
                )
                break
        else:
            item[tail] = value
    for (position, name), sub in nested.items():
        items[position][name] = _indexed_list(sub)
    return [items[i] for i in sorted(items)]


def _flattened_lists(attrs: Mapping[str, Any]) -> dict[str, list[tuple[str, Any]]]:
    """Collect the keys of every known flattened list, grouped by list prefix."""
    found: dict[str, list[tuple[str, Any]]] = {}
    for key, value in attrs.items():
        if key.startswith(_ALL_LISTS):
            # Every list prefix is two segments long: its end is the second dot.
            cut = key.index(".", key.index(".") + 1) + 1
            found.setdefault(key[:cut], []).append((key[cut:], value))
    return found


def _from_lists(lists: dict[str, list[tuple[str, Any]]], prefixes: tuple[str, ...]) -> Any:
    for prefix in prefixes:
        pairs = lists.get(prefix)
        if pairs:
            rebuilt = _indexed_list(pairs)
            if rebuilt:
                return rebuilt
    return None


def _from_events(events: tuple[SpanEvent, ...], wanted: dict[str, tuple[str, ...]]) -> Any:
    for event in events:
        keys = wanted.get(event.name)
        if keys is not None:
            for key in keys:
                value = event.attributes.get(key)
                if value is not None:
                    return value
    return None


def _content(get: Callable[[str], Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = get(key)
        if value is not None and value != "":
            return value
    return None


# -- the entry point -----------------------------------------------------------------------
FIELDS = (
    "kind",
    "input",
    "output",
    "model",
    "provider",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "reasoning_tokens",
    "cost",
    "session_id",
    "user_id",
    "run_id",
    "prompt_name",
    "prompt_version",
)
"""The :class:`Span` fields :func:`genai_fields` fills, in a fixed order."""


def genai_fields(
    attributes: Mapping[str, Any],
    events: tuple[SpanEvent, ...] = (),
    *,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> dict[str, Any]:
    """Return the normalized GenAI fields of a span, keyed by :class:`Span` field name.

    Every name in :data:`FIELDS` is present (``None`` when the span does not say);
    ``kind`` is always a :class:`SpanKind`. ``events`` are read for content only when the
    attributes carry none. ``input`` and ``output`` are capped at ``max_chars`` characters.
    """
    get = attributes.get
    model = _first(attributes, _MODEL_KEYS, _to_name)
    input_tokens = _first(attributes, _INPUT_TOKEN_KEYS, to_count)
    output_tokens = _first(attributes, _OUTPUT_TOKEN_KEYS, to_count)
    kind = kind_from_attributes(attributes)
    if (
        kind is SpanKind.UNKNOWN
        and model is not None
        and (input_tokens is not None or output_tokens is not None)
    ):
        kind = SpanKind.LLM

    raw_input = _content(get, _INPUT_KEYS)
    raw_output = _content(get, _OUTPUT_KEYS)
    if raw_input is None or raw_output is None:
        # Only now pay for a scan over every key: most spans name their content directly.
        lists = _flattened_lists(attributes)
        if raw_input is None:
            raw_input = _from_lists(lists, _INPUT_LISTS)
            if raw_input is None and events:
                raw_input = _from_events(events, _INPUT_EVENTS)
        if raw_output is None:
            raw_output = _from_lists(lists, _OUTPUT_LISTS)
            if raw_output is None and events:
                raw_output = _from_events(events, _OUTPUT_EVENTS)

    return {
        "kind": kind,
        "input": None if raw_input is None else cap_text(to_text(raw_input), max_chars),
        "output": None if raw_output is None else cap_text(to_text(raw_output), max_chars),
        "model": model,
        "provider": _first(attributes, _PROVIDER_KEYS, _to_name),
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cached_input_tokens": _first(attributes, _CACHED_TOKEN_KEYS, to_count),
        "reasoning_tokens": _first(attributes, _REASONING_TOKEN_KEYS, to_count),
        "cost": _first(attributes, _COST_KEYS, _to_cost),
        "session_id": _first(attributes, _SESSION_KEYS, _to_name),
        "user_id": _first(attributes, _USER_KEYS, _to_name),
        "run_id": _first(attributes, _RUN_KEYS, _to_name),
        "prompt_name": _first(attributes, _PROMPT_NAME_KEYS, _to_name),
        "prompt_version": _first(attributes, _PROMPT_VERSION_KEYS, _to_version),
    }


def normalize(span: Span, *, max_chars: int = DEFAULT_MAX_CHARS) -> Span:
    """Return a copy of ``span`` with its GenAI fields filled from its attributes.

    Fields already set on ``span`` (and a kind other than ``unknown``) are kept; the
    ``attributes`` dict is shared, never modified. ``input`` and ``output`` are capped at
    ``max_chars`` characters. See :func:`genai_fields` for what is read.
    """
    found = genai_fields(span.attributes, span.events, max_chars=max_chars)
    if span.kind is not SpanKind.UNKNOWN:
        del found["kind"]
    for name in FIELDS[1:]:
        if getattr(span, name) is not None:
            del found[name]
    return dataclasses.replace(span, **found)
