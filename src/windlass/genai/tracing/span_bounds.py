"""Bring a span within the documented bounds of what windlass stores, noting what changed.

Every span is bounded on its way in, whichever door it came through (OTLP, the REST
ingest route, the embedded SDK), by :func:`bound_span`, so that nothing accepted can make
a later listing, statistic or roll-up fail. What it does, with the bounds of
:mod:`windlass.entities`:

- times beyond :data:`~windlass.entities.MAX_TIME_NS` (OTLP's unsigned 64-bit times)
  are clamped to it, negative ones to 0; an end before the start is set to the start;
- token counts above :data:`~windlass.entities.MAX_TOKEN_COUNT` are clamped to it,
  negative ones dropped (unknown); so is a prompt version outside int64;
- a cost that is negative, not finite or above
  :data:`~windlass.entities.MAX_SPAN_COST` is dropped (unknown, so re-priced);
- strings longer than :data:`~windlass.entities.MAX_ATTRIBUTE_CHARS` (attribute
  values of the span, its resource and events, at any depth; the span's name, status
  message and scope) are cut there with a ``…[truncated N chars]`` marker; integers
  outside int64 in attributes are kept as their decimal text.

Each change is recorded in the span's ``windlass.adjusted`` attribute
(:data:`~windlass.entities.ADJUSTED_ATTRIBUTE`), a list of
``"<field>: <what happened>"`` strings, and counted by the traces domain (the OTLP answer's
``partialSuccess.errorMessage``, ``adjusted`` of the REST ingest answer, and the server's
``windlass_spans_adjusted_total`` metric). A token-count attribute that cannot be a count
(a negative number, say) is named there too, although the span keeps it as sent.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from windlass.entities import (
    ADJUSTED_ATTRIBUTE,
    MAX_ATTRIBUTE_CHARS,
    MAX_SPAN_COST,
    MAX_TIME_NS,
    MAX_TOKEN_COUNT,
    Span,
    SpanEvent,
)
from windlass.genai.tracing.conventions import cap_text, unusable_counts

__all__ = ["bound_span"]

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_TOKEN_FIELDS = ("input_tokens", "output_tokens", "cached_input_tokens", "reasoning_tokens")
_TEXT_FIELDS = ("name", "status_message", "scope")


def _bounded_value(value: Any, where: str, notes: list[str]) -> Any:
    """Return an attribute value within bounds (the same object when it already is)."""
    kind = type(value)
    if kind is str:
        if len(value) > MAX_ATTRIBUTE_CHARS:
            notes.append(
                f"{where}: truncated from {len(value)} to {MAX_ATTRIBUTE_CHARS} characters"
            )
            return cap_text(value, MAX_ATTRIBUTE_CHARS)
        return value
    if kind is int:
        if not _INT64_MIN <= value <= _INT64_MAX:
            notes.append(f"{where}: integer outside int64 kept as text")
            return str(value)
        return value
    if kind is dict:
        return _bounded_mapping(value, where, notes)
    if kind is list or kind is tuple:
        items = [_bounded_value(v, f"{where}[{i}]", notes) for i, v in enumerate(value)]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    return value


def _bounded_mapping(values: dict[str, Any], where: str, notes: list[str]) -> dict[str, Any]:
    """Return attributes within bounds: the same dict unless a value had to change."""
    # Most values are short strings, numbers and booleans: one cheap pass settles them all.
    for value in values.values():
        kind = type(value)
        if kind is str:
            if len(value) > MAX_ATTRIBUTE_CHARS:
                break
        elif kind is int:
            if not _INT64_MIN <= value <= _INT64_MAX:
                break
        elif kind is dict or kind is list or kind is tuple:
            break
    else:
        return values
    changed: dict[str, Any] | None = None
    for key, value in values.items():
        bounded = _bounded_value(value, f"{where}.{key}", notes)
        if bounded is not value:
            if changed is None:
                changed = dict(values)
            changed[key] = bounded
    return values if changed is None else changed


def _time(value: int, name: str, notes: list[str]) -> int:
    if value > MAX_TIME_NS:
        notes.append(f"{name}: {value} is after the latest time stored, clamped to {MAX_TIME_NS}")
        return MAX_TIME_NS
    if value < 0:
        notes.append(f"{name}: {value} is negative, set to 0")
        return 0
    return value


def bound_span(span: Span) -> Span:
    """Return ``span`` within the stored bounds: itself when it already was, else a copy.

    The copy's ``windlass.adjusted`` attribute lists what was changed (see the module
    docstring); the span's other attributes are never modified in place.
    """
    notes: list[str] = []
    changes: dict[str, Any] = {}
    start = _time(span.start_time_ns, "start_time_ns", notes)
    end = _time(span.end_time_ns, "end_time_ns", notes)
    if end < start:
        notes.append(f"end_time_ns: {end} is before start_time_ns {start}, set to it")
        end = start
    if start != span.start_time_ns:
        changes["start_time_ns"] = start
    if end != span.end_time_ns:
        changes["end_time_ns"] = end
    for name in _TOKEN_FIELDS:
        count = getattr(span, name)
        if count is None:
            continue
        if count > MAX_TOKEN_COUNT:
            notes.append(f"{name}: {count} clamped to {MAX_TOKEN_COUNT}")
            changes[name] = MAX_TOKEN_COUNT
        elif count < 0:
            notes.append(f"{name}: {count} is negative, dropped")
            changes[name] = None
    version = span.prompt_version
    if version is not None and not 0 <= version <= _INT64_MAX:
        notes.append(f"prompt_version: {version} is outside 0..{_INT64_MAX}, dropped")
        changes["prompt_version"] = None
    cost = span.cost
    if cost is not None and not (math.isfinite(cost) and 0 <= cost <= MAX_SPAN_COST):
        notes.append(f"cost: {cost} is not an amount between 0 and {MAX_SPAN_COST:g}, dropped")
        changes["cost"] = None
    for name in _TEXT_FIELDS:
        text = getattr(span, name)
        if len(text) > MAX_ATTRIBUTE_CHARS:
            notes.append(f"{name}: truncated from {len(text)} to {MAX_ATTRIBUTE_CHARS} characters")
            changes[name] = cap_text(text, MAX_ATTRIBUTE_CHARS)
    attributes = _bounded_mapping(span.attributes, "attributes", notes)
    resource = _bounded_mapping(span.resource, "resource", notes)
    if resource is not span.resource:
        changes["resource"] = resource
    events = []
    for i, event in enumerate(span.events):
        where = f"events[{i}]"
        time_ns = _time(event.time_ns, f"{where}.time_ns", notes)
        event_attributes = _bounded_mapping(event.attributes, f"{where}.attributes", notes)
        if time_ns != event.time_ns or event_attributes is not event.attributes:
            event = SpanEvent(event.name, time_ns, event_attributes)
        events.append(event)
    if any(a is not b for a, b in zip(events, span.events, strict=True)):
        changes["events"] = tuple(events)
    missing = [name for name in _TOKEN_FIELDS if getattr(span, name) is None]
    if missing:
        notes += unusable_counts(span.attributes, missing)
    if not notes:
        return span
    if attributes is span.attributes:
        attributes = dict(attributes)
    earlier = attributes.get(ADJUSTED_ATTRIBUTE)
    attributes[ADJUSTED_ATTRIBUTE] = (earlier if type(earlier) is list else []) + notes
    changes["attributes"] = attributes
    return dataclasses.replace(span, **changes)
