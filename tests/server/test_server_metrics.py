"""``/metrics`` of ``windlass server``: REST rate, errors and latency; bounded project labels."""

from __future__ import annotations

import json
import uuid

import httpx
from prometheus_client.parser import text_string_to_metric_families

from windlass.server.metrics import MAX_PROJECT_LABELS, OTHER_PROJECTS
from windlass_testing import ServerProcess


def _samples(url: str) -> list[tuple[str, dict[str, str], float]]:
    text = httpx.get(f"{url}/metrics").text
    return [
        (s.name, s.labels, s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
    ]


def _one_span_export() -> str:
    span = {
        "traceId": uuid.uuid4().hex,
        "spanId": uuid.uuid4().hex[:16],
        "name": "s",
        "startTimeUnixNano": "1750000000000000000",
        "endTimeUnixNano": "1750000000001000000",
    }
    return json.dumps(
        {
            "resourceSpans": [
                {
                    "resource": {"attributes": []},
                    "scopeSpans": [{"scope": {"name": "tests"}, "spans": [span]}],
                }
            ]
        }
    )


def test_rest_requests_are_counted_by_route_template(server_factory: type[ServerProcess]) -> None:
    server = server_factory()
    with httpx.Client(base_url=server.url) as client:
        assert client.post("/api/v1/projects", json={"name": "metered"}).status_code == 200
        for _ in range(3):
            assert client.get("/api/v1/projects/metered").status_code == 200
        assert client.get("/api/v1/projects/no-such-project").status_code == 404
        assert client.get("/api/v1/projects/not a name!").status_code in (400, 404)
        assert client.post("/api/v1/projects", json={"name": 5}).status_code in (400, 422)
        assert client.get("/no/such/path").status_code == 404
    samples = _samples(server.url)
    counts = {
        (labels["method"], labels["route"], labels["status"]): value
        for name, labels, value in samples
        if name == "windlass_http_requests_total"
    }
    assert counts[("GET", "/api/v1/projects/{name_or_id}", "200")] == 3
    assert counts[("GET", "/api/v1/projects/{name_or_id}", "404")] >= 1
    assert any(
        route == "/api/v1/projects" and status in ("400", "422") for (_m, route, status) in counts
    )
    assert counts[("GET", "unmatched", "404")] == 1
    routes = {route for (_m, route, _s) in counts}
    assert not any("metered" in r or "no-such" in r or "/no/such" in r for r in routes), routes
    durations = {
        labels["route"]: value
        for name, labels, value in samples
        if name == "windlass_http_request_duration_seconds_count"
    }
    assert durations["/api/v1/projects/{name_or_id}"] >= 4


def test_client_chosen_projects_cannot_grow_the_series_without_bound(
    server_factory: type[ServerProcess],
) -> None:
    server = server_factory()
    sent = MAX_PROJECT_LABELS + 100
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for i in range(sent):
            response = client.post(
                "/v1/traces",
                content=_one_span_export(),
                headers={"content-type": "application/json", "x-windlass-project": f"tenant-{i}"},
            )
            assert response.status_code == 200, response.text
    series = {
        labels["project"]: value
        for name, labels, value in _samples(server.url)
        if name == "windlass_spans_ingested_total"
    }
    assert len(series) <= MAX_PROJECT_LABELS + 1
    assert series[OTHER_PROJECTS] >= sent - MAX_PROJECT_LABELS
    assert sum(series.values()) == sent  # nothing is lost, only grouped
