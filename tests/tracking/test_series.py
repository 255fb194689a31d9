"""Downsampling a metric series for a chart: bounded, ordered, extremes and ends kept."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from windlass.entities import MetricPoint
from windlass.exceptions import InvalidInput
from windlass.tracking.series import downsample


def points(values: list[float]) -> list[MetricPoint]:
    return [MetricPoint("m", v, step, 1000 + step) for step, v in enumerate(values)]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(allow_nan=True, allow_infinity=False, width=32), max_size=600),
    st.integers(min_value=2, max_value=300),
)
def test_downsampling_keeps_order_bounds_ends_and_extremes(
    values: list[float], max_points: int
) -> None:
    series = points(values)
    kept = downsample(series, max_points)
    assert len(kept) <= max_points
    steps = [p.step for p in kept]
    assert steps == sorted(set(steps))  # a subset, in step order, no point twice
    assert all(series[p.step] == p for p in kept)
    if series:
        assert kept[0] == series[0] and kept[-1] == series[-1]
    finite = [v for v in values if not math.isnan(v)]
    if finite and max_points >= 4:
        kept_values = [p.value for p in kept if not math.isnan(p.value)]
        assert min(finite) in kept_values and max(finite) in kept_values


def test_a_short_series_is_returned_whole() -> None:
    series = points([3.0, 1.0, 2.0])
    assert downsample(series, 3) == series


def test_a_spike_survives_downsampling() -> None:
    values = [0.0] * 100_000
    values[54_321] = 1e9
    kept = downsample(points(values), 100)
    assert any(p.value == 1e9 and p.step == 54_321 for p in kept)


def test_fewer_than_two_points_is_refused() -> None:
    with pytest.raises(InvalidInput, match="max_points"):
        downsample(points([1.0, 2.0, 3.0]), 1)
