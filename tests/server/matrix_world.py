"""The world the role-matrix tests share: a seeded store behind a server with auth on.

Project ``alpha`` holds a run, a model ``m`` (version 1, alias ``staging``), a deployment
``d``, a prompt ``greet`` and a trace; ``beta`` is another project. The callers are
anonymous, a viewer, an editor and an admin of alpha, an admin of beta (``other``), and
``root``, a server admin. :func:`operations` reads every operation and the permission it
declares from the server's OpenAPI document: the table both matrix tests (raw HTTP and
the REST client) derive their expectations from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import windlass
from windlass.access.identity import Identity
from windlass.access.policy import Policy
from windlass.principal import AuthMethod, Principal, Role
from windlass.store.sql.store import SqlStore
from windlass_testing import ServerProcess

ROLES = ("anonymous", "other", "viewer", "editor", "admin")
#: The least project role each declared permission needs (None: no project role involved).
NEEDED = {"read": Role.VIEWER, "write": Role.EDITOR, "admin": Role.ADMIN}
#: Routes reading across projects without naming one: an outsider gets its own (empty) view.
CROSS_PROJECT = {
    ("POST", "/api/v1/runs/search"),
    ("GET", "/api/v1/spans"),
    ("GET", "/api/v1/traces"),
    ("GET", "/api/v1/traces/stats"),
    ("GET", "/api/v1/traces/rollup"),
}


#: Mutating operations that write no audit record, and why (each is documented).
NOT_AUDITED = {
    ("POST", "/api/v1/runs/search"): "a read sent as POST (the filter is the body)",
    ("POST", "/api/v1/projects/{project}/prompts/{name}/render"): (
        "a read sent as POST (the variables are the body); nothing is stored"
    ),
    ("POST", "/api/v1/runs/{run_id}/heartbeat"): "liveness, not a change of content",
    ("POST", "/api/v1/runs/fail-stale"): "the stale-run sweep is housekeeping",
    ("PUT", "/api/v1/blobs/{digest}"): "content-addressed bytes; the record using them is audited",
    ("POST", "/api/v1/auth/oidc/exchange"): (
        "OIDC is off here; tests/server/test_oidc.py checks a sign-in appends one login.oidc"
    ),
}


@dataclass
class World:
    """The seeded store: ids and names the requests fill their paths and bodies with."""

    url: str
    alpha: str
    run: str
    trace: str
    blob: bytes
    tokens: dict[str, str | None]
    user_token_id: str
    log: Path

    def assert_no_secret_logged(self) -> None:
        """The server's log (stdout and stderr) holds none of the tokens it was sent."""
        logged = self.log.read_text(errors="replace")
        assert logged, "the server wrote no log at all"
        for role, token in self.tokens.items():
            assert not token or token not in logged, f"{role}'s token is in the server log"
            assert not token or token[3:] not in logged, f"{role}'s token body is logged"
        self.assert_no_secret_audited()

    def assert_no_secret_audited(self) -> None:
        """No audit record (read through the API, every page) holds a token it was sent."""
        headers = {"Authorization": f"Bearer {self.tokens['root']}"}
        params: dict[str, Any] = {"max_results": 1000}
        pages = []
        for _ in range(100):
            answer = httpx.get(f"{self.url}/api/v1/audit", params=params, headers=headers)
            assert answer.status_code == 200, answer.text
            pages.append(answer.text)
            params["page_token"] = answer.json()["next_page_token"]
            if params["page_token"] is None:
                break
        audited = "".join(pages)
        assert '"action":"run.create"' in audited.replace(" ", "")
        for role, token in self.tokens.items():
            assert not token or token[3:] not in audited, f"{role}'s token is in the audit trail"


def seed(uri: str) -> tuple[str, str, str]:
    """Fill project alpha in embedded mode (auth off): a run, a model, a deployment, ..."""
    from windlass.serving import fluent as deployments

    windlass.set_tracking_uri(uri)
    alpha = windlass.set_project("alpha").id
    windlass.set_project("beta")
    windlass.set_project("alpha")
    frame = pd.DataFrame({"x": np.arange(20.0)})
    with windlass.start_run(name="seed") as run:
        windlass.log_params({"depth": 3})
        windlass.set_tag("t", "v")
        windlass.log_metric("loss", 0.5)
        windlass.log_model(
            LogisticRegression().fit(frame, (frame.x > 9).astype(int)),
            name="model",
            input_example=frame[:3],
            registered_model_name="m",
        )
    windlass.set_alias("m", "staging", 1)
    deployments.create_deployment(
        "d", [{"name": "one", "model_uri": "models:/m@staging", "weight": 1.0}]
    )
    windlass.prompts.register("greet", "hi {{ x }}")
    windlass.prompts.set_alias("greet", "staging", 1)
    with windlass.span("seed-span") as span:
        pass
    assert windlass.flush_traces()
    windlass.set_tracking_uri(None)
    return alpha, run.id, span.trace_id


def make_tokens(uri: str) -> tuple[dict[str, str | None], str]:
    """Make the callers: root (server admin) and a user per role; return their tokens."""
    store = SqlStore(uri)
    try:
        identity = Identity(store, Policy(enabled=True))
        root_user = identity.create_user(Principal("installer"), "root", bootstrap=True)
        root = Principal("root", auth=AuthMethod.TOKEN, user_id=root_user.id, admin=True)
        root = identity.authenticate(identity.create_token(root, name="root")[1])
        tokens: dict[str, str | None] = {"anonymous": None}
        for role, name, project in (
            ("viewer", "vic", "alpha"),
            ("editor", "eda", "alpha"),
            ("admin", "ada", "alpha"),
            ("other", "sam", "beta"),
        ):
            identity.create_user(root, name)
            identity.set_member(root, project, name, Role.ADMIN if role == "other" else Role(role))
            tokens[role] = identity.create_token(root, user=name, name=f"{name}-t")[1]
        spare = identity.create_token(root, user="eda", name="spare")[0]
        tokens["root"] = identity.create_token(root, name="ops")[1]
    finally:
        store.close()
    return tokens, spare.id


def make_world(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    server_factory: type[ServerProcess],
    monkeypatch: pytest.MonkeyPatch,
) -> World:
    """Start a server with auth on over a seeded store (``request.param``: the backend)."""
    monkeypatch.delenv("WINDLASS_AUTH", raising=False)
    if request.param == "sqlite":
        uri = f"sqlite:///{tmp_path / 'matrix.db'}"
    else:
        uri = request.getfixturevalue("postgres_url")
    artifacts = str(tmp_path / "artifacts")
    monkeypatch.setenv("WINDLASS_ARTIFACT_URI", artifacts)
    alpha, run, trace = seed(uri)
    tokens, spare = make_tokens(uri)
    server = server_factory(uri, artifacts, env={"WINDLASS_AUTH": "on"})
    return World(server.url, alpha, run, trace, b"matrix blob", tokens, spare, server.log)


def operations(url: str) -> list[tuple[str, str, str]]:
    """Return (method, path, permission) of every operation, deletes and revokes last."""
    document = httpx.get(f"{url}/openapi.json", timeout=30).json()
    found = [
        (method.upper(), path, operation["x-windlass-permission"])
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    ]
    return sorted(found, key=lambda op: (op[0] == "DELETE", "/restore" in op[1]))
