"""Bad input to the deployment routes of a real ``windlass server`` process.

Like ``test_models_bad_input.py``: every refusal is a 4xx whose JSON body has
``error_code`` and ``message``, and no bad request changes the seeded deployment.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from windlass.artifacts.hashing import hash_bytes

API = "/api/v1"
JSON = {"content-type": "application/json"}
WEIGHTS = b"deployed weights " * 20
#: A minimal valid manifest; the stored windlass-model.yaml (JSON is YAML) says the same.
MANIFEST_DATA = {
    "format": "windlass-model/1",
    "flavors": {"sklearn": {}},
    "files": {"model.skops": {"digest": hash_bytes(WEIGHTS), "size": len(WEIGHTS)}},
}
MANIFEST = json.dumps(MANIFEST_DATA).encode()
VARIANTS = [
    {"name": "champion", "model_uri": "models:/churn@champion", "weight": 90.0},
    {"name": "challenger", "model_uri": "models:/churn/1", "weight": 10.0},
]
SHADOW = {"name": "shadow", "model_uri": "models:/churn/2", "weight": 0.0}


def refused(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert ``response`` is the error body with this status (and code); return it."""
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url.path}: expected {status}, got "
        f"{response.status_code}: {response.text[:500]}"
    )
    body = response.json()
    assert isinstance(body.get("error_code"), str) and body["error_code"], body
    assert isinstance(body.get("message"), str) and body["message"], body
    assert "Traceback" not in body["message"]
    if code is not None:
        assert body["error_code"] == code, body
    return body


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text[:500]
    return response.json()


@dataclass
class Seed:
    """A project with model ``churn`` (versions 1, 2; champion on 2) and deployment ``prod``."""

    project_id: str
    project_name: str

    @property
    def deployments(self) -> str:
        return f"{API}/projects/{self.project_name}/deployments"


def _register(client: httpx.Client, project: str) -> None:
    files = [
        {"path": "windlass-model.yaml", "digest": hash_bytes(MANIFEST), "size": len(MANIFEST)},
        {"path": "model.skops", "digest": hash_bytes(WEIGHTS), "size": len(WEIGHTS)},
    ]
    for data in (MANIFEST, WEIGHTS):
        assert client.put(f"{API}/blobs/{hash_bytes(data)}", content=data).is_success
    models = f"{API}/projects/{project}/models"
    for _ in range(2):
        ok(
            client.post(
                f"{models}/churn/versions",
                json={"source": "test", "files": files, "manifest": MANIFEST_DATA},
            )
        )
    ok(client.put(f"{models}/churn/aliases/champion", json={"version": 2}))


@pytest.fixture(scope="module")
def seed(server: Any) -> Seed:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        name = f"dep-bad-{uuid.uuid4().hex[:8]}"
        project = ok(client.post(f"{API}/projects", json={"name": name}))
        _register(client, name)
        seeded = Seed(project["id"], name)
        ok(
            client.post(
                seeded.deployments,
                json={"name": "prod", "variants": VARIANTS, "shadow": SHADOW},
            )
        )
    return seeded


@pytest.fixture
def api(server: Any, seed: Seed) -> Iterator[httpx.Client]:
    """A client; after the test the seeded deployment must be as it was."""
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client
        deployment = ok(client.get(f"{seed.deployments}/prod"))
        assert deployment["revision"] == 1
        assert deployment["variants"] == VARIANTS and deployment["shadow"] == SHADOW
        events = ok(client.get(f"{seed.deployments}/prod/history"))["events"]
        assert [(e["revision"], e["action"], e["claimed_by"]) for e in events] == [
            (1, "create", "anonymous")
        ]


# -- malformed bodies and wrong types -------------------------------------------------------
MALFORMED = [
    pytest.param("POST", "", b"{bad json", id="create-broken"),
    pytest.param("POST", "", b"[]", id="create-list"),
    pytest.param("PATCH", "/prod", b"{", id="patch-truncated"),
    pytest.param("PATCH", "/prod", b'{"weights": {"champion": NaN}}', id="patch-nan"),
    pytest.param("PATCH", "/prod", b'{"weights": {"champion": Infinity}}', id="patch-inf"),
    pytest.param("PATCH", "/prod", b'{"weights": {"champion": 1e999}}', id="patch-overflow"),
    pytest.param("POST", "/prod/promote", b"null", id="promote-null"),
    pytest.param("POST", "/prod/promote", b"", id="promote-empty"),
    pytest.param("POST", "/prod/rollback", b"[1]", id="rollback-list"),
]


@pytest.mark.parametrize(("method", "path", "content"), MALFORMED)
def test_malformed_json_is_refused(
    api: httpx.Client, seed: Seed, method: str, path: str, content: bytes
) -> None:
    response = api.request(method, seed.deployments + path, content=content, headers=JSON)
    refused(response, 400, "INVALID_INPUT")


def variant(**change: Any) -> dict[str, Any]:
    return {"name": "v", "model_uri": "models:/churn/1", "weight": 1.0, **change}


WRONG: list[Any] = [
    ("POST", "", {"name": 5, "variants": VARIANTS}),
    ("POST", "", {"name": "-bad", "variants": VARIANTS}),
    ("POST", "", {"name": "a" * 257, "variants": VARIANTS}),
    ("POST", "", {"name": "ok"}),
    ("POST", "", {"name": "ok", "variants": []}),
    ("POST", "", {"name": "ok", "variants": [variant()] * 101}),
    ("POST", "", {"name": "ok", "variants": variant()}),
    ("POST", "", {"name": "ok", "variants": [variant(weight=-1)]}),
    ("POST", "", {"name": "ok", "variants": [variant(weight="9")]}),
    ("POST", "", {"name": "ok", "variants": [variant(weight=True)]}),
    ("POST", "", {"name": "ok", "variants": [variant(weight=0)]}),
    ("POST", "", {"name": "ok", "variants": [variant(weight=0), variant(name="w", weight=0)]}),
    ("PATCH", "/prod", {"variants": [variant(weight=0)]}),
    (
        "POST",
        "",
        {"name": "ok", "variants": [variant(weight=1e308), variant(name="w", weight=1e308)]},
    ),
    ("POST", "", {"name": "ok", "variants": [variant(name="bad name")]}),
    ("POST", "", {"name": "ok", "variants": [variant(model_uri="churn")]}),
    ("POST", "", {"name": "ok", "variants": [variant(model_uri="datasets:/d@v1")]}),
    ("POST", "", {"name": "ok", "variants": [variant(model_uri="models:/churn/x")]}),
    ("POST", "", {"name": "ok", "variants": [variant(model_uri="runs:/short/model")]}),
    ("POST", "", {"name": "ok", "variants": [variant(model_uri="models:/" + "a" * 1100)]}),
    ("POST", "", {"name": "ok", "variants": [variant(extra=1)]}),
    ("POST", "", {"name": "ok", "variants": [variant(), variant()]}),
    (
        "POST",
        "",
        {
            "name": "ok",
            "variants": [variant(weight=0), variant(name="w", weight=0)],
            "shadow": variant(),
        },
    ),
    ("POST", "", {"name": "ok", "variants": [variant()], "description": "x" * 100_001}),
    ("POST", "", {"name": "ok", "variants": [variant()], "deployment_id": "short"}),
    ("POST", "", {"name": "ok", "variants": [variant()], "claimed_by": "u" * 257}),
    ("POST", "", {"name": "ok", "variants": [variant()], "unexpected": 1}),
    ("PATCH", "/prod", {}),
    ("PATCH", "/prod", {"weights": {}}),
    ("PATCH", "/prod", {"weights": {"champion": -1}}),
    ("PATCH", "/prod", {"weights": {"champion": "90"}}),
    ("PATCH", "/prod", {"weights": {"bad name": 1}}),
    ("PATCH", "/prod", {"weights": {"nobody": 1}}),
    ("PATCH", "/prod", {"weights": {"shadow": 1}}),
    ("PATCH", "/prod", {"weights": {"champion": 0, "challenger": 0}}),
    ("PATCH", "/prod", {"weights": ["champion"]}),
    ("PATCH", "/prod", {"variants": VARIANTS, "weights": {"champion": 1}}),
    ("PATCH", "/prod", {"variants": []}),
    ("PATCH", "/prod", {"variants": [variant(name="shadow")]}),
    ("PATCH", "/prod", {"shadow": variant(name="champion")}),
    ("PATCH", "/prod", {"shadow": "none"}),
    ("PATCH", "/prod", {"weights": {"champion": 1}, "action": "create"}),
    ("PATCH", "/prod", {"weights": {"champion": 1}, "expected_revision": 0}),
    ("PATCH", "/prod", {"weights": {"champion": 1}, "expected_revision": "1"}),
    ("POST", "/prod/promote", {}),
    ("POST", "/prod/promote", {"variant": "nobody"}),
    ("POST", "/prod/promote", {"variant": 1}),
    ("POST", "/prod/rollback", {"to_revision": 0}),
    ("POST", "/prod/rollback", {"to_revision": 1}),
    ("POST", "/prod/rollback", {"to_revision": 2**31}),
    ("POST", "/prod/rollback", {"to_revision": 1.5}),
]


@pytest.mark.parametrize(
    ("method", "path", "body"), WRONG, ids=[f"{m} {p} {json.dumps(b)[:70]}" for m, p, b in WRONG]
)
def test_wrong_bodies_are_refused(
    api: httpx.Client, seed: Seed, method: str, path: str, body: dict[str, Any]
) -> None:
    error = refused(api.request(method, seed.deployments + path, json=body), 400)
    assert error["error_code"] in ("INVALID_INPUT", "INVALID_URI")


def test_errors_name_what_was_wrong(api: httpx.Client, seed: Seed) -> None:
    error = refused(
        api.post(
            seed.deployments, json={"name": "ok", "variants": [variant(name="only", weight=0)]}
        ),
        400,
        "INVALID_INPUT",
    )
    assert "positive sum, got only=0" in error["message"]
    assert error["details"]["weights"] == {"only": 0}
    error = refused(api.patch(f"{seed.deployments}/prod", json={"weights": {"nobody": 1}}), 400)
    assert "'nobody'" in error["message"] and error["details"]["variants"] == ["nobody"]
    error = refused(
        api.post(
            seed.deployments,
            json={"name": "ok", "variants": [variant(name="typo", model_uri="models:/churn/9")]},
        ),
        404,
        "MODEL_VERSION_NOT_FOUND",
    )
    assert "variant 'typo'" in error["message"] and error["details"]["variant"] == "typo"
    refused(
        api.post(
            seed.deployments,
            json={"name": "ok", "variants": [variant(model_uri="models:/chrun/1")]},
        ),
        404,
        "MODEL_NOT_FOUND",
    )
    refused(
        api.post(
            seed.deployments,
            json={"name": "ok", "variants": [variant(model_uri="runs:/" + "0" * 32 + "/model")]},
        ),
        404,
        "RUN_NOT_FOUND",
    )
    refused(api.get(f"{seed.deployments}/ok"), 404, "DEPLOYMENT_NOT_FOUND")


# -- unknown objects ------------------------------------------------------------------------
ROUTES: list[Any] = [
    ("POST", "", {"name": "fresh", "variants": VARIANTS}, None),
    ("GET", "", None, None),
    ("GET", "/prod", None, None),
    ("PATCH", "/prod", {"weights": {"champion": 1}}, None),
    ("DELETE", "/prod", None, None),
    ("POST", "/prod/promote", {"variant": "challenger"}, None),
    ("POST", "/prod/rollback", {}, None),
    ("GET", "/prod/history", None, {"newest_first": "true"}),
    ("GET", "/prod/revisions/1", None, None),
]


@pytest.mark.parametrize("project", ["no-such-project", "0" * 32])
@pytest.mark.parametrize(
    ("method", "path", "body", "params"), ROUTES, ids=[f"{m} {p or '/'}" for m, p, _b, _q in ROUTES]
)
def test_unknown_project(
    api: httpx.Client, project: str, method: str, path: str, body: Any, params: Any
) -> None:
    error = refused(
        api.request(
            method, f"{API}/projects/{project}/deployments{path}", json=body, params=params
        ),
        404,
        "PROJECT_NOT_FOUND",
    )
    assert project in error["message"]


@pytest.mark.parametrize(
    ("method", "path", "body", "params"),
    ROUTES[2:],
    ids=[f"{m} {p}" for m, p, _b, _q in ROUTES[2:]],
)
def test_unknown_deployment(
    api: httpx.Client, seed: Seed, method: str, path: str, body: Any, params: Any
) -> None:
    url = seed.deployments + path.replace("/prod", "/no-such-deployment")
    error = refused(api.request(method, url, json=body, params=params), 404, "DEPLOYMENT_NOT_FOUND")
    assert "no-such-deployment" in error["message"]
    assert seed.project_name in error["message"]


@pytest.mark.parametrize(
    "path",
    ["/-bad", "/a%20b", "/prod/revisions/0", "/prod/revisions/x", f"/prod/revisions/{2**31}"],
)
def test_bad_path_parameters(api: httpx.Client, seed: Seed, path: str) -> None:
    refused(api.get(seed.deployments + path), 400, "INVALID_INPUT")


def test_unknown_revision(api: httpx.Client, seed: Seed) -> None:
    error = refused(api.get(f"{seed.deployments}/prod/revisions/2"), 404, "DEPLOYMENT_NOT_FOUND")
    assert "revision 2" in error["message"]


# -- conflicts, paging ----------------------------------------------------------------------
def test_state_conflicts(api: httpx.Client, seed: Seed) -> None:
    error = refused(
        api.post(seed.deployments, json={"name": "prod", "variants": VARIANTS}),
        409,
        "ALREADY_EXISTS",
    )
    assert "prod" in error["message"]
    refused(api.post(f"{seed.deployments}/prod/rollback"), 409, "INVALID_STATE")
    error = refused(
        api.patch(
            f"{seed.deployments}/prod", json={"weights": {"challenger": 50}, "expected_revision": 3}
        ),
        409,
        "CONFLICT",
    )
    assert error["details"]["revision"] == 1
    # Asking for the state that is already there changes nothing, whatever the revision.
    assert (
        ok(
            api.patch(
                f"{seed.deployments}/prod",
                json={"weights": {"challenger": 10}, "expected_revision": 9},
            )
        )["revision"]
        == 1
    )


@pytest.mark.parametrize("page_token", ["garbage!!", "abc", "eyJrIjoicnVucyJ9", "x" * 5000])
def test_bad_page_tokens(api: httpx.Client, seed: Seed, page_token: str) -> None:
    refused(api.get(seed.deployments, params={"page_token": page_token}), 400, "INVALID_PAGE_TOKEN")
    refused(
        api.get(f"{seed.deployments}/prod/history", params={"page_token": page_token}),
        400,
        "INVALID_PAGE_TOKEN",
    )


@pytest.mark.parametrize("max_results", ["0", "-1", "1001", "many", "9" * 40])
def test_max_results_out_of_range(api: httpx.Client, seed: Seed, max_results: str) -> None:
    refused(api.get(seed.deployments, params={"max_results": max_results}), 400, "INVALID_INPUT")
    refused(
        api.get(f"{seed.deployments}/prod/history", params={"max_results": max_results}),
        400,
        "INVALID_INPUT",
    )


# -- what the routes give back --------------------------------------------------------------
def test_a_deployment_lifecycle_over_http(api: httpx.Client, seed: Seed) -> None:
    base = f"{seed.deployments}/life"
    created = ok(
        api.post(
            seed.deployments,
            json={
                "name": "life",
                "variants": [variant(name="a"), variant(name="b", model_uri="models:/churn/2")],
                "description": "lifecycle",
            },
        )
    )
    assert created["revision"] == 1 and created["description"] == "lifecycle"
    by_id = ok(api.get(f"{API}/projects/{seed.project_id}/deployments/life"))
    assert by_id == created
    weighed = ok(api.patch(base, json={"weights": {"b": 3}}))
    assert [v["weight"] for v in weighed["variants"]] == [1.0, 3.0]
    shadowed = ok(api.patch(base, json={"shadow": variant(name="s", weight=50)}))
    assert shadowed["shadow"] == variant(name="s", weight=0.0) and shadowed["revision"] == 3
    # Absent shadow: kept; null: removed.
    assert ok(api.patch(base, json={"weights": {"a": 2}}))["shadow"]["name"] == "s"
    assert ok(api.patch(base, json={"shadow": None}))["shadow"] is None
    promoted = ok(api.post(f"{base}/promote", json={"variant": "a"}))
    assert [v["weight"] for v in promoted["variants"]] == [100.0, 0.0]
    back = ok(api.post(f"{base}/rollback"))
    assert [v["weight"] for v in back["variants"]] == [2.0, 3.0] and back["revision"] == 7
    first = ok(api.post(f"{base}/rollback", json={"to_revision": 1, "expected_revision": 7}))
    assert first["variants"] == created["variants"] and first["revision"] == 8
    events = ok(api.get(f"{base}/history"))["events"]
    assert [(e["revision"], e["action"]) for e in events] == [
        (1, "create"),
        (2, "set_weights"),
        (3, "set_shadow"),
        (4, "set_weights"),
        (5, "set_shadow"),
        (6, "promote"),
        (7, "rollback"),
        (8, "rollback"),
    ]
    assert events[1]["claimed_by"] == "anonymous" and events[5]["claimed_by"] == "anonymous"
    newest = ok(api.get(f"{base}/history", params={"max_results": 3, "newest_first": True}))
    assert [e["revision"] for e in newest["events"]] == [8, 7, 6]
    more = ok(
        api.get(
            f"{base}/history",
            params={
                "max_results": 3,
                "newest_first": True,
                "page_token": newest["next_page_token"],
            },
        )
    )
    assert [e["revision"] for e in more["events"]] == [5, 4, 3]
    assert ok(api.get(f"{base}/revisions/6")) == events[5]
    listed = ok(api.get(seed.deployments, params={"max_results": 1}))
    assert [d["name"] for d in listed["deployments"]] == ["life"]
    assert (
        ok(api.get(seed.deployments, params={"page_token": listed["next_page_token"]}))[
            "deployments"
        ][0]["name"]
        == "prod"
    )
    assert ok(api.delete(base)) == {}
    refused(api.get(base), 404, "DEPLOYMENT_NOT_FOUND")


def test_a_deployed_version_cannot_be_deleted(api: httpx.Client, seed: Seed) -> None:
    models = f"{API}/projects/{seed.project_name}/models/churn"
    # prod serves version 1 (challenger) and version 2 (shadow; also aliased champion).
    error = refused(api.delete(f"{models}/versions/1"), 409, "IN_USE")
    assert "'prod'" in error["message"] and "'challenger'" in error["message"]
    assert error["details"]["version"] == 1
    error = refused(api.delete(models), 409)
    assert ok(api.get(f"{models}/versions/1"))["version"] == 1


def test_who_changed_a_deployment_is_the_servers_principal(api: httpx.Client, seed: Seed) -> None:
    base = f"{seed.deployments}/claims"
    claimed = {"name": "claims", "variants": [variant()], "claimed_by": "ada"}
    refused(api.post(seed.deployments, json=claimed), 400)
    created = ok(api.post(seed.deployments, json={"name": "claims", "variants": [variant()]}))
    refused(api.patch(base, json={"weights": {"v": 2}, "user": "bob"}), 400)
    refused(api.patch(base, json={"weights": {"v": 2}, "claimed_by": "bob"}), 400)
    ok(api.patch(base, json={"weights": {"v": 2}}))
    events = ok(api.get(f"{base}/history"))["events"]
    assert [(e["revision"], e["claimed_by"]) for e in events] == [
        (1, "anonymous"),
        (2, "anonymous"),
    ]
    assert all("user" not in e for e in events) and created["revision"] == 1
    ok(api.delete(base))
