"""A deployment's traffic read from its prediction log: buckets, window edges, bounds."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from windlass.exceptions import InvalidInput
from windlass.serving.predlog import PredictionLog
from windlass.serving.traffic import MAX_BUCKETS, read_traffic


def test_requests_fall_into_their_buckets_and_the_window_excludes_the_rest(
    tmp_path: Path,
) -> None:
    log = PredictionLog(str(tmp_path), "churn", flush_seconds=3600)
    try:
        for i in range(5):
            log.record(f"a{i}", "churn", "1", "a", float(i + 1), {"x": 1}, [0])
        log.record("b0", "churn", "2", "b", 7.0, {"x": 1}, [0], shadow=True)
    finally:
        log.close()
    now = int(time.time() * 1000)
    found = read_traffic(
        "churn", root=str(tmp_path), start_ms=now - 60_000, end_ms=now + 1_000, bucket_ms=30_500
    )
    assert found.times == [now - 60_000, now - 29_500]
    by_name = {v.variant: v for v in found.variants}
    assert by_name["a"].requests == [0, 5] and by_name["a"].shadow is False
    assert by_name["a"].mean_latency_ms == [None, 3.0]
    assert by_name["a"].p95_latency_ms == [None, 5.0]
    assert by_name["b"].shadow is True and by_name["b"].requests == [0, 1]
    before = read_traffic(
        "churn", root=str(tmp_path), start_ms=now - 120_000, end_ms=now - 60_000, bucket_ms=60_000
    )
    assert before.variants == [] and before.times == [now - 120_000]
    nothing = read_traffic("other", root=str(tmp_path), start_ms=0, end_ms=10, bucket_ms=10)
    assert nothing.variants == [] and nothing.truncated is False


def test_windows_and_buckets_are_bounded(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="at most"):
        read_traffic("x", root=str(tmp_path), start_ms=0, end_ms=MAX_BUCKETS + 1, bucket_ms=1)
    with pytest.raises(InvalidInput):
        read_traffic("x", root=str(tmp_path), start_ms=5, end_ms=5, bucket_ms=1)
    with pytest.raises(InvalidInput):
        read_traffic("x", root=str(tmp_path), start_ms=0, end_ms=5, bucket_ms=0)
