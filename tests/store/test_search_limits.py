"""Search limits and forged page tokens, on every MetadataStore (SQLite, PostgreSQL, REST).

A filter or order-by over a documented limit is LimitExceeded naming the limit (never a
database error surfacing as BackendUnavailable, never a RecursionError), and the store
keeps answering afterwards.
"""

from __future__ import annotations

import base64

import pytest

from windlass.entities import MetricBatch, RunSource
from windlass.exceptions import InvalidPageToken, LimitExceeded
from windlass.ids import new_id, now_ms
from windlass.store import filters
from windlass.store.metadata import MetadataStore


def _seeded(store: MetadataStore) -> tuple[str, str]:
    project = store.runs.get_or_create_project(f"lim-{new_id()[-12:]}", new_id(), now_ms()).id
    run_id = new_id()
    store.runs.create_run(
        run_id=run_id,
        project_id=project,
        name="r",
        start_time=now_ms(),
        parent_run_id=None,
        source=RunSource(),
        tags={"team": "a"},
    )
    batch = MetricBatch(new_id())
    batch.append(run_id, "m0", 2.0, 0, now_ms())
    store.runs.log_metrics(batch)
    return project, run_id


def _conditions(count: int, keyed: bool = True) -> str:
    if keyed:
        return " and ".join(f"metrics.m{i} > 1" for i in range(count))
    return " and ".join("attributes.status = 'running'" for _ in range(count))


OVER_THE_LIMITS = [
    pytest.param({"filter": _conditions(5000)}, "MAX_FILTER_LENGTH", id="5000-and-ed"),
    pytest.param(
        {"filter": _conditions(5000, keyed=False)}, "MAX_FILTER_LENGTH", id="5000-and-ed-attributes"
    ),
    pytest.param(
        {"filter": "(" * 1000 + "metrics.m0 > 1" + ")" * 1000},
        "MAX_DEPTH",
        id="1000-nested-parentheses",
    ),
    pytest.param({"filter": "not " * 1000 + "metrics.m0 > 1"}, "MAX_DEPTH", id="1000-not"),
    pytest.param({"filter": _conditions(filters.MAX_JOINS + 1)}, "MAX_JOINS", id="joins+1"),
    pytest.param(
        {"filter": " or ".join(["params.p = 'x'"] * (filters.MAX_JOINS + 1))},
        "MAX_JOINS",
        id="or-ed-joins+1",
    ),
    pytest.param(
        {"filter": _conditions(filters.MAX_CONDITIONS + 1, keyed=False)},
        "MAX_CONDITIONS",
        id="conditions+1",
    ),
    pytest.param(
        {
            "filter": "params.p in ("
            + ",".join(f"'{i}'" for i in range(filters.MAX_IN_VALUES + 1))
            + ")"
        },
        "MAX_IN_VALUES",
        id="in-values+1",
    ),
    pytest.param(
        {"order_by": [f"metrics.m{i}" for i in range(100)]}, "MAX_ORDER_BY_KEYS", id="100-order-by"
    ),
    pytest.param(
        {"order_by": ["attributes.start_time"] * (filters.MAX_ORDER_BY_KEYS + 1)},
        "MAX_ORDER_BY_KEYS",
        id="order-by+1",
    ),
    pytest.param(
        {"order_by": ["metrics.`" + "k" * 30_000 + "`"]},
        "MAX_FILTER_LENGTH",
        id="huge-order-by-clause",
    ),
]


@pytest.mark.parametrize(("search", "limit"), OVER_THE_LIMITS)
def test_searches_over_a_limit_are_refused_naming_it(
    store: MetadataStore, search: dict[str, object], limit: str
) -> None:
    project, run_id = _seeded(store)
    with pytest.raises(LimitExceeded) as caught:
        store.runs.search_runs([project], **search)  # type: ignore[arg-type]
    assert caught.value.error_code == "LIMIT_EXCEEDED"
    assert limit in caught.value.message
    assert str(getattr(filters, limit)) in caught.value.message
    # The store still answers.
    assert [r.id for r in store.runs.search_runs([project]).items] == [run_id]


def test_searches_at_the_limits_work(store: MetadataStore) -> None:
    project, run_id = _seeded(store)
    found = store.runs.search_runs(
        [project],
        filter=" and ".join(
            [
                *(f"metrics.m{i} > 1" for i in range(1)),
                *(f"tags.t{i} is null" for i in range(filters.MAX_JOINS - 1)),
                *["attributes.status = 'running'"] * (filters.MAX_CONDITIONS - filters.MAX_JOINS),
            ]
        ),
        order_by=[f"metrics.m{i}" for i in range(filters.MAX_ORDER_BY_KEYS)],
    )
    assert [r.id for r in found.items] == [run_id]
    nested = "(" * filters.MAX_DEPTH + "metrics.m0 > 1" + ")" * filters.MAX_DEPTH
    assert [r.id for r in store.runs.search_runs([project], filter=nested).items] == [run_id]
    values = ",".join(f"'{i}'" for i in range(filters.MAX_IN_VALUES - 1))
    assert [
        r.id
        for r in store.runs.search_runs([project], filter=f"tags.team in ({values}, 'a')").items
    ] == [run_id]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "page_token",
    [
        pytest.param("garbage!!", id="not-base64"),
        pytest.param(_b64(bytes(range(256))), id="binary"),
        pytest.param(_b64(b"[" * 4_000 + b"]" * 4_000), id="deeply-nested"),
        pytest.param(_b64(b'{"k": "runs:", "v": ["x", "y", "z", "w"]}'), id="wrong-types"),
        pytest.param(_b64(b'{"k": "runs:", "v": [1, 2]}'), id="wrong-types-2"),
        pytest.param(_b64(b'{"k": "deployments:x", "n": "a"}'), id="another-listing"),
        pytest.param(_b64(b"5"), id="not-an-object"),
    ],
)
def test_forged_page_tokens_are_invalid_page_token(store: MetadataStore, page_token: str) -> None:
    project, run_id = _seeded(store)
    with pytest.raises(InvalidPageToken):
        store.runs.search_runs([project], page_token=page_token)
    with pytest.raises(InvalidPageToken):
        store.runs.get_metric_history(run_id, "m0", page_token=page_token)
    with pytest.raises(InvalidPageToken):
        store.runs.list_projects(page_token=page_token)


def test_huge_page_token_is_invalid_page_token(store: MetadataStore) -> None:
    # Searches send the token in a body, which may carry more than a URL.
    project, _run_id = _seeded(store)
    with pytest.raises(InvalidPageToken, match="longer than"):
        store.runs.search_runs([project], page_token="A" * 2_000_000)
