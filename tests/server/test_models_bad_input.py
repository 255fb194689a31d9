"""Bad input to the registry and run-input routes of a real ``windlass server`` process.

Like ``test_bad_input.py``: every refusal is a 4xx whose JSON body has ``error_code`` and
``message``, and no bad request changes the seeded model (two versions, an alias, tags).
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
from windlass.ids import new_id

API = "/api/v1"
UNKNOWN = "0" * 32
JSON = {"content-type": "application/json"}
WEIGHTS = b"seeded weights " * 50
#: A minimal valid manifest; the stored windlass-model.yaml (JSON is YAML) says the same.
MANIFEST_DATA = {
    "format": "windlass-model/1",
    "flavors": {"sklearn": {}},
    "files": {"model.skops": {"digest": hash_bytes(WEIGHTS), "size": len(WEIGHTS)}},
}
MANIFEST = json.dumps(MANIFEST_DATA).encode()


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


def files(**change: Any) -> list[dict[str, Any]]:
    entries = [
        {"path": "windlass-model.yaml", "digest": hash_bytes(MANIFEST), "size": len(MANIFEST)},
        {"path": "model.skops", "digest": hash_bytes(WEIGHTS), "size": len(WEIGHTS)},
    ]
    entries[1].update(change)
    return entries


def version_body(**change: Any) -> dict[str, Any]:
    return {"source": "runs:/x/model", "files": files(), "manifest": MANIFEST_DATA, **change}


@dataclass
class Seed:
    """A project with a model (two versions, alias ``champion`` on 2) and a run."""

    project_id: str
    project_name: str
    run_id: str

    @property
    def models(self) -> str:
        return f"{API}/projects/{self.project_name}/models"


@pytest.fixture(scope="module")
def seed(server: Any) -> Seed:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        name = f"reg-bad-{uuid.uuid4().hex[:8]}"
        project = ok(client.post(f"{API}/projects", json={"name": name}))
        run = ok(client.post(f"{API}/runs", json={"project_id": project["id"]}))
        for data in (MANIFEST, WEIGHTS):
            assert client.put(f"{API}/blobs/{hash_bytes(data)}", content=data).is_success
        seeded = Seed(project["id"], name, run["id"])
        ok(client.post(seeded.models, json={"name": "churn", "tags": {"team": "growth"}}))
        for _ in range(2):
            ok(client.post(f"{seeded.models}/churn/versions", json=version_body(run_id=run["id"])))
        ok(client.put(f"{seeded.models}/churn/aliases/champion", json={"version": 2}))
    return seeded


@pytest.fixture
def api(server: Any, seed: Seed) -> Iterator[httpx.Client]:
    """A client; after the test the seeded model must be as it was."""
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client
        model = ok(client.get(f"{seed.models}/churn"))
        assert model["tags"] == {"team": "growth"}
        assert model["aliases"] == {"champion": 2} and model["latest_version"] == 2
        versions = ok(client.get(f"{seed.models}/churn/versions"))["versions"]
        assert [v["version"] for v in versions] == [2, 1]
        assert versions[0]["files"] == sorted(files(), key=lambda f: f["path"])
        history = ok(client.get(f"{seed.models}/churn/alias-history"))["events"]
        assert [(e["from_version"], e["to_version"]) for e in history] == [(None, 2)]


# -- malformed bodies and wrong types -------------------------------------------------------
MALFORMED = [
    pytest.param("POST", "", b"{bad json", id="create-broken"),
    pytest.param("POST", "", b"[]", id="create-list"),
    pytest.param("PATCH", "/churn", b"{", id="patch-truncated"),
    pytest.param("POST", "/churn/versions", b'{"source": "x",}', id="version-trailing-comma"),
    pytest.param("POST", "/churn/versions", b"null", id="version-null"),
    pytest.param("PUT", "/churn/aliases/champion", b"2", id="alias-number-body"),
    pytest.param("PUT", "/churn/aliases/champion", b"", id="alias-empty-body"),
]


@pytest.mark.parametrize(("method", "path", "content"), MALFORMED)
def test_malformed_json_is_refused(
    api: httpx.Client, seed: Seed, method: str, path: str, content: bytes
) -> None:
    response = api.request(method, seed.models + path, content=content, headers=JSON)
    refused(response, 400, "INVALID_INPUT")


def test_malformed_run_inputs_body(api: httpx.Client, seed: Seed) -> None:
    refused(
        api.post(f"{API}/runs/{seed.run_id}/inputs", content=b"{", headers=JSON),
        400,
        "INVALID_INPUT",
    )


WRONG_TYPES: list[Any] = [
    ("POST", "", {"name": 5}),
    ("POST", "", {"name": "-bad"}),
    ("POST", "", {"name": "a" * 257}),
    ("POST", "", {"name": "ok", "tags": ["a"]}),
    ("POST", "", {"name": "ok", "tags": {"a": 1}}),
    ("POST", "", {"name": "ok", "exist_ok": "yes"}),
    ("POST", "", {"name": "ok", "unexpected": 1}),
    ("PATCH", "/churn", {"card": 5}),
    ("PATCH", "/churn", {"description": ["x"]}),
    ("PATCH", "/churn", {"set_tags": {"bad key!": "x"}}),
    ("PATCH", "/churn", {"delete_tags": "team"}),
    ("PATCH", "/churn", {"set_tags": {"team": "x"}, "delete_tags": ["team"]}),
    ("POST", "/churn/versions", version_body(files={"path": "x"})),
    ("POST", "/churn/versions", version_body(files=[])),
    ("POST", "/churn/versions", version_body(manifest=[1])),
    ("POST", "/churn/versions", version_body(source="")),
    ("POST", "/churn/versions", version_body(run_id="short")),
    ("POST", "/churn/versions", version_body(version_id=7)),
    ("POST", "/churn/versions", version_body(files=files(size=-1))),
    ("POST", "/churn/versions", version_body(files=files(size="big"))),
    ("POST", "/churn/versions", version_body(files=files(size=2**70))),
    ("POST", "/churn/versions", version_body(files=files(digest="abc"))),
    ("POST", "/churn/versions", version_body(files=files(path="windlass-model.yaml"))),
    ("POST", "/churn/versions", version_body(files=files()[1:])),
    ("POST", "/churn/versions", version_body(files=files(digest="ab" * 32))),
    ("PUT", "/churn/aliases/champion", {"version": "1"}),
    ("PUT", "/churn/aliases/champion", {"version": 0}),
    ("PUT", "/churn/aliases/champion", {"version": 2**31}),
    ("PUT", "/churn/aliases/champion", {"version": 1.5}),
    ("PUT", "/churn/aliases/champion", {}),
    ("PUT", "/churn/aliases/latest", {"version": 1}),
    ("PUT", "/churn/aliases/3", {"version": 1}),
    ("PUT", "/churn/aliases/-bad", {"version": 1}),
    ("PUT", "/-bad/aliases/champion", {"version": 1}),
]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    WRONG_TYPES,
    ids=[f"{m} {p} {json.dumps(b)[:70]}" for m, p, b in WRONG_TYPES],
)
def test_wrong_types_are_refused(
    api: httpx.Client, seed: Seed, method: str, path: str, body: dict[str, Any]
) -> None:
    refused(api.request(method, seed.models + path, json=body), 400)


@pytest.mark.parametrize("path", ["../x", "/etc/passwd", "a/../../b", "a\\b"])
def test_unsafe_version_file_paths(api: httpx.Client, seed: Seed, path: str) -> None:
    error = refused(
        api.post(f"{seed.models}/churn/versions", json=version_body(files=files(path=path))),
        400,
        "UNSAFE_PATH",
    )
    assert error["details"]["path"] == path


def test_missing_blob_names_the_file(api: httpx.Client, seed: Seed) -> None:
    error = refused(
        api.post(
            f"{seed.models}/churn/versions",
            json=version_body(files=files(path="w.bin", digest="cd" * 32)),
        ),
        400,
        "INVALID_INPUT",
    )
    assert "w.bin" in error["message"] and error["details"]["path"] == "w.bin"


@pytest.mark.parametrize(
    "inputs",
    [
        [{"name": "bad name", "digest": "d"}],
        [{"name": "ok", "digest": ""}],
        [{"name": "ok", "digest": "d" * 129}],
        [{"name": "ok", "digest": "d", "context": "c" * 65}],
        [{"name": "ok", "digest": "d", "rows": -1}],
        [{"name": "ok", "digest": "d", "rows": 2**64}],
        [{"name": "ok", "digest": "d", "schema": {"a": 1}}],
        [{"name": "ok", "digest": "d", "schema": ["a"]}],
        [{"name": "ok", "digest": "d", "extra": 1}],
        [{"digest": "d"}],
        {"name": "ok", "digest": "d"},
    ],
)
def test_bad_run_inputs_store_nothing(api: httpx.Client, seed: Seed, inputs: Any) -> None:
    run_id = ok(api.post(f"{API}/runs", json={"project_id": seed.project_id}))["id"]
    body = (
        {"inputs": [{"name": "fine", "digest": "f" * 64}, *inputs]}
        if isinstance(inputs, list)
        else {"inputs": inputs}
    )
    refused(api.post(f"{API}/runs/{run_id}/inputs", json=body), 400, "INVALID_INPUT")
    assert ok(api.get(f"{API}/runs/{run_id}/inputs")) == {"inputs": []}


# -- unknown objects ------------------------------------------------------------------------
ROUTES = [
    ("POST", "", {"name": "fresh"}, None),
    ("GET", "", None, None),
    ("GET", "/churn", None, None),
    ("PATCH", "/churn", {"description": "x"}, None),
    ("DELETE", "/churn", None, None),
    ("POST", "/churn/versions", version_body(), None),
    ("GET", "/churn/versions", None, None),
    ("GET", "/churn/versions/1", None, None),
    ("DELETE", "/churn/versions/1", None, None),
    ("GET", "/churn/versions/1/lineage", None, None),
    ("GET", "/churn/aliases/champion", None, None),
    ("PUT", "/churn/aliases/champion", {"version": 1}, None),
    ("DELETE", "/churn/aliases/champion", None, {"claimed_by": "x"}),
    ("GET", "/churn/alias-history", None, {"alias": "champion"}),
]


@pytest.mark.parametrize("project", ["no-such-project", UNKNOWN])
@pytest.mark.parametrize(
    ("method", "path", "body", "params"), ROUTES, ids=[f"{m} {p or '/'}" for m, p, _b, _q in ROUTES]
)
def test_unknown_project(
    api: httpx.Client, project: str, method: str, path: str, body: Any, params: Any
) -> None:
    url = f"{API}/projects/{project}/models{path}"
    error = refused(api.request(method, url, json=body, params=params), 404, "PROJECT_NOT_FOUND")
    assert project in error["message"]


@pytest.mark.parametrize(
    ("method", "path", "body", "params"),
    ROUTES[2:],
    ids=[f"{m} {p}" for m, p, _b, _q in ROUTES[2:]],
)
def test_unknown_model(
    api: httpx.Client, seed: Seed, method: str, path: str, body: Any, params: Any
) -> None:
    url = seed.models + path.replace("/churn", "/no-such-model")
    if path == "/churn/versions" and method == "POST":
        body = {**body, "create_missing_model": False}
    error = refused(api.request(method, url, json=body, params=params), 404, "MODEL_NOT_FOUND")
    assert "no-such-model" in error["message"] and seed.project_name in error["message"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/churn/versions/3", None),
        ("DELETE", "/churn/versions/3", None),
        ("GET", "/churn/versions/3/lineage", None),
        ("PUT", "/churn/aliases/challenger", {"version": 3}),
        ("GET", "/churn/aliases/challenger", None),
        ("DELETE", "/churn/aliases/challenger", None),
    ],
)
def test_unknown_version_or_alias(
    api: httpx.Client, seed: Seed, method: str, path: str, body: Any
) -> None:
    refused(api.request(method, seed.models + path, json=body), 404, "MODEL_VERSION_NOT_FOUND")


@pytest.mark.parametrize("version", ["0", "-1", "x", "1.5", str(2**31), "9" * 40])
def test_bad_version_in_path(api: httpx.Client, seed: Seed, version: str) -> None:
    refused(api.get(f"{seed.models}/churn/versions/{version}"), 400, "INVALID_INPUT")


def test_unknown_run_inputs(api: httpx.Client) -> None:
    refused(api.get(f"{API}/runs/{UNKNOWN}/inputs"), 404, "RUN_NOT_FOUND")
    refused(api.post(f"{API}/runs/{UNKNOWN}/inputs", json={"inputs": []}), 404, "RUN_NOT_FOUND")


# -- conflicts, paging ----------------------------------------------------------------------
def test_state_conflicts(api: httpx.Client, seed: Seed) -> None:
    refused(api.post(seed.models, json={"name": "churn"}), 409, "ALREADY_EXISTS")
    assert ok(api.post(seed.models, json={"name": "churn", "exist_ok": True}))["name"] == "churn"
    error = refused(api.delete(f"{seed.models}/churn/versions/2"), 409, "INVALID_STATE")
    assert "champion" in error["message"] and error["details"]["aliases"] == ["champion"]
    error = refused(api.delete(f"{seed.models}/churn"), 409, "INVALID_STATE")
    assert "champion" in error["message"]
    refused(api.delete(f"{seed.models}/churn/aliases/latest"), 400, "INVALID_INPUT")


@pytest.mark.parametrize("page_token", ["garbage!!", "abc", "eyJrIjoicnVucyJ9"])
def test_bad_page_tokens(api: httpx.Client, seed: Seed, page_token: str) -> None:
    refused(api.get(seed.models, params={"page_token": page_token}), 400, "INVALID_PAGE_TOKEN")
    refused(
        api.get(f"{seed.models}/churn/versions", params={"page_token": page_token}),
        400,
        "INVALID_PAGE_TOKEN",
    )


@pytest.mark.parametrize("max_results", ["0", "-1", "1001", "many", "9" * 40])
def test_max_results_out_of_range(api: httpx.Client, seed: Seed, max_results: str) -> None:
    refused(api.get(seed.models, params={"max_results": max_results}), 400, "INVALID_INPUT")
    refused(
        api.get(f"{seed.models}/churn/versions", params={"max_results": max_results}),
        400,
        "INVALID_INPUT",
    )


# -- what the routes give back --------------------------------------------------------------
def test_project_by_name_or_id(api: httpx.Client, seed: Seed) -> None:
    by_id = ok(api.get(f"{API}/projects/{seed.project_id}/models/churn"))
    assert by_id == ok(api.get(f"{seed.models}/churn"))
    assert ok(api.get(f"{seed.models}/churn/aliases/latest"))["version"] == 2
    assert ok(api.get(f"{seed.models}/churn/aliases/champion"))["aliases"] == ["champion"]


def test_lineage_and_inputs(api: httpx.Client, seed: Seed) -> None:
    project = ok(api.post(f"{API}/projects", json={"name": f"lin-{uuid.uuid4().hex[:8]}"}))
    models = f"{API}/projects/{project['id']}/models"
    run_id = ok(
        api.post(
            f"{API}/runs",
            json={
                "project_id": project["id"],
                "name": "train",
                "source": {"git_commit": "c0ffee", "git_dirty": True},
            },
        )
    )["id"]
    ok(api.post(f"{API}/runs/{run_id}/params", json={"params": {"lr": "0.1"}}))
    ok(
        api.post(
            f"{API}/metrics",
            json={
                "id": new_id(),
                "run_ids": [run_id] * 2,
                "keys": ["loss", "odd"],
                "values": [0.25, "NaN"],
                "steps": [0, 0],
                "timestamps": [1, 1],
            },
        )
    )
    train = {
        "name": "train",
        "digest": "d" * 64,
        "context": "training",
        "source": "s3://t",
        "rows": 10,
        "schema": {"age": "int64"},
    }
    ok(api.post(f"{API}/runs/{run_id}/inputs", json={"inputs": [train, train]}))
    ok(
        api.post(
            f"{API}/runs/{run_id}/inputs", json={"inputs": [{"name": "test", "digest": "e" * 8}]}
        )
    )
    inputs = ok(api.get(f"{API}/runs/{run_id}/inputs"))["inputs"]
    assert [i["name"] for i in inputs] == ["train", "test"] and inputs[0] == train
    assert inputs[1]["context"] == "training" and inputs[1]["rows"] is None
    version = ok(api.post(f"{models}/churn/versions", json=version_body(run_id=run_id)))
    assert version["version"] == 1 and version["run_id"] == run_id
    lineage = ok(api.get(f"{models}/churn/versions/1/lineage"))
    assert lineage["run_name"] == "train" and lineage["params"] == {"lr": "0.1"}
    assert lineage["metrics"] == {"loss": 0.25, "odd": "NaN"}
    assert lineage["inputs"] == inputs
    # Who ran it is the server's principal (WINDLASS_SERVER_USER, default "anonymous").
    assert (lineage["git_commit"], lineage["git_dirty"], lineage["user"]) == (
        "c0ffee",
        True,
        "anonymous",
    )
    moved = ok(api.put(f"{models}/churn/aliases/prod", json={"version": 1}))
    assert (moved["from_version"], moved["to_version"], moved["claimed_by"]) == (
        None,
        1,
        "anonymous",
    )
    gone = ok(api.delete(f"{models}/churn/aliases/prod", params={"claimed_by": "ops"}))
    assert (gone["from_version"], gone["to_version"], gone["claimed_by"]) == (
        1,
        None,
        "anonymous",
    )
    ok(api.delete(f"{models}/churn/versions/1"))
    ok(api.delete(f"{models}/churn"))
    refused(api.get(f"{models}/churn"), 404, "MODEL_NOT_FOUND")


def test_who_is_recorded_is_the_servers_principal(api: httpx.Client) -> None:
    # The recorded name is the principal the server derived from the request (without
    # auth: WINDLASS_SERVER_USER, default "anonymous"), returned as ``claimed_by``, never
    # as ``created_by`` or ``user``; a name in a body is refused, one in a query ignored,
    # and the server's own OS login is never recorded.
    project = ok(api.post(f"{API}/projects", json={"name": f"claim-{uuid.uuid4().hex[:8]}"}))
    models = f"{API}/projects/{project['id']}/models"
    refused(api.post(f"{models}/churn/versions", json=version_body(claimed_by="ada")), 400)
    version = ok(api.post(f"{models}/churn/versions", json=version_body()))
    assert version["claimed_by"] == "anonymous" and "created_by" not in version
    assert ok(api.get(f"{models}/churn/versions/1"))["claimed_by"] == "anonymous"
    refused(api.post(f"{models}/churn/versions", json=version_body(created_by="ada")), 400)
    refused(api.put(f"{models}/churn/aliases/prod", json={"version": 1, "user": "ada"}), 400)
    refused(api.put(f"{models}/churn/aliases/prod", json={"version": 1, "claimed_by": "a"}), 400)
    quiet = ok(api.put(f"{models}/churn/aliases/prod", json={"version": 1}))
    assert quiet["claimed_by"] == "anonymous" and "user" not in quiet
    gone = ok(api.delete(f"{models}/churn/aliases/prod", params={"claimed_by": "ops"}))
    assert gone["claimed_by"] == "anonymous"
    history = ok(api.get(f"{models}/churn/alias-history"))["events"]
    assert [(e["claimed_by"], "user" not in e) for e in history] == [("anonymous", True)] * 2
    prompts = f"{API}/projects/{project['id']}/prompts"
    body = {"template": "hi {{ name }}", "claimed_by": "bob"}
    refused(api.post(f"{prompts}/greet/versions", json=body), 400)
    prompt = ok(api.post(f"{prompts}/greet/versions", json={"template": "hi {{ name }}"}))
    assert prompt["claimed_by"] == "anonymous" and "created_by" not in prompt
    refused(api.put(f"{prompts}/greet/aliases/prod", json={"version": 1, "claimed_by": "c"}), 400)
    moved = ok(api.put(f"{prompts}/greet/aliases/prod", json={"version": 1}))
    assert moved["claimed_by"] == "anonymous" and "user" not in moved
    gone = ok(api.delete(f"{prompts}/greet/aliases/prod", params={"claimed_by": "cy"}))
    assert gone["claimed_by"] == "anonymous"


def test_windlass_server_user_names_the_servers_writes(server_factory: Any) -> None:
    # The server process's OS login is never what is recorded: its setting is.
    srv = server_factory(env={"WINDLASS_SERVER_USER": "ci-bot", "USER": "root-login"})
    with httpx.Client(base_url=srv.url, timeout=60) as api:
        project = ok(api.post(f"{API}/projects", json={"name": "who"}))
        prompts = f"{API}/projects/{project['id']}/prompts"
        version = ok(api.post(f"{prompts}/greet/versions", json={"template": "hi"}))
        assert version["claimed_by"] == "ci-bot"
        moved = ok(api.put(f"{prompts}/greet/aliases/prod", json={"version": 1}))
        assert moved["claimed_by"] == "ci-bot"


@pytest.mark.parametrize(
    ("manifest", "status", "named"),
    [
        ({**MANIFEST_DATA, "flavors": {"xgboost": {}}}, 422, "flavors: the manifest says"),
        (
            {
                **MANIFEST_DATA,
                "files": {"model.skops": {"digest": "ab" * 32, "size": len(WEIGHTS)}},
            },
            422,
            "files: ",
        ),
        ({**MANIFEST_DATA, "requirements": ["evil==1.0"]}, 422, "requirements: "),
        ({"flavors": {"sklearn": {}}}, 400, "format"),
        ({**MANIFEST_DATA, "label": "unchecked"}, 400, "unknown manifest field(s) 'label'"),
    ],
)
def test_manifest_must_agree_with_the_stored_file(
    api: httpx.Client, seed: Seed, manifest: dict[str, Any], status: int, named: str
) -> None:
    error = refused(
        api.post(f"{seed.models}/churn/versions", json=version_body(manifest=manifest)), status
    )
    assert named in error["message"]
    assert ok(api.get(f"{seed.models}/churn"))["latest_version"] == 2  # nothing stored


def test_files_must_be_the_ones_the_manifest_lists(api: httpx.Client, seed: Seed) -> None:
    extra = b"not in the manifest"
    assert api.put(f"{API}/blobs/{hash_bytes(extra)}", content=extra).is_success
    listed = [*files(), {"path": "extra.bin", "digest": hash_bytes(extra), "size": len(extra)}]
    error = refused(
        api.post(f"{seed.models}/churn/versions", json=version_body(files=listed)),
        422,
        "INTEGRITY_FAILURE",
    )
    assert "extra.bin is among the version's files but not listed" in error["message"]
    # A manifest file that is not a manifest at all.
    assert api.put(f"{API}/blobs/{hash_bytes(extra)}", content=extra).is_success
    bogus = [
        {"path": "windlass-model.yaml", "digest": hash_bytes(extra), "size": len(extra)},
        files()[1],
    ]
    error = refused(
        api.post(f"{seed.models}/churn/versions", json=version_body(files=bogus)),
        400,
        "INVALID_INPUT",
    )
    assert "the stored windlass-model.yaml" in error["message"]
