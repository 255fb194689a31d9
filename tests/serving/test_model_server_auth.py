"""``windlass serve --auth token``: bearer API keys from a private file, probes open, 429s."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import windlass
from asgi_thread import serving
from windlass.exceptions import ConfigError
from windlass.server.api_keys import StaticApiKeys, read_key_file
from windlass.server.model_server import create_model_server_app
from windlass_testing import ModelServerProcess

KEYS = ["k-" + "a" * 30, "k-" + "b" * 30]
ROWS = {"inputs": [[0.1, 0.2, 0.3], [0.9, 0.8, 0.7]]}


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    windlass.set_tracking_uri(None)
    monkeypatch.setenv("WINDLASS_PROJECT", "guarded")
    x = np.random.default_rng(0).random((30, 3))
    with windlass.start_run():
        windlass.log_model(
            LogisticRegression().fit(x, (x[:, 0] > 0.5).astype(int)),
            name="model",
            input_example=x[:2],
            registered_model_name="guarded",
        )
    yield "models:/guarded/1"
    windlass.set_tracking_uri(None)


def key_file(folder: Path, mode: int = 0o600, keys: list[str] = KEYS) -> Path:
    path = folder / "keys.txt"
    path.write_text("# serving keys\n\n" + "\n".join(keys) + "\n")
    path.chmod(mode)
    return path


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_every_route_but_the_probes_needs_a_key(model: str, tmp_path: Path) -> None:
    keys = key_file(tmp_path)
    server = ModelServerProcess(
        model,
        "--auth",
        "token",
        "--api-key-file",
        str(keys),
        log_dir=tmp_path,
        env={"WINDLASS_AUTH_MAX_FAILURES": "3", "WINDLASS_AUTH_FAILURE_WINDOW_SECONDS": "600"},
    )
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            missing = client.post("/predict", json=ROWS)
            assert missing.status_code == 401, missing.text
            assert missing.json()["error_code"] == "UNAUTHENTICATED"
            assert missing.headers["www-authenticate"].startswith("Bearer")
            assert missing.headers["x-content-type-options"] == "nosniff"
            wrong = client.post("/predict", json=ROWS, headers=bearer("k-" + "c" * 30))
            assert wrong.status_code == 401
            assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
            for key in KEYS:
                right = client.post("/predict", json=ROWS, headers=bearer(key))
                assert right.status_code == 200, right.text
                assert len(right.json()["predictions"]) == 2
            for path in ("/v2", "/v2/models/guarded", "/openapi.json", "/docs", "/nowhere"):
                assert client.get(path).status_code == 401, path
            assert client.get("/v2/models/guarded", headers=bearer(KEYS[0])).status_code == 200
            infer = client.post(
                "/v2/models/guarded/infer",
                json={"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64"}]},
            )
            assert infer.status_code == 401
            for probe in ("/v2/health/live", "/v2/health/ready", "/metrics"):
                assert client.get(probe).status_code == 200, probe

            # Two more bad keys make three failures: the address is refused, good key or not.
            for _ in range(2):
                assert client.get("/v2", headers=bearer("nope-" + "x" * 20)).status_code == 401
            limited = client.post("/predict", json=ROWS, headers=bearer(KEYS[0]))
            assert limited.status_code == 429, limited.text
            assert limited.json()["error_code"] == "TOO_MANY_REQUESTS"
            assert 590 <= int(limited.headers["retry-after"]) <= 600
            assert client.get("/v2/health/ready").status_code == 200  # probes stay open
        log = server.log.read_text()
    finally:
        server.stop()
    assert not [key for key in KEYS if key in log]


def test_protect_probes_closes_health_and_metrics(model: str) -> None:
    app = create_model_server_app(model, authenticate=StaticApiKeys(KEYS), protect_probes=True)
    with serving(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        for probe in ("/v2/health/live", "/v2/health/ready", "/metrics"):
            assert client.get(probe).status_code == 401, probe
            assert client.get(probe, headers=bearer(KEYS[1])).status_code == 200, probe
        document = client.get("/openapi.json", headers=bearer(KEYS[0])).json()
    for path, operations in document["paths"].items():
        for operation in operations.values():
            assert operation["security"] == [{"bearer": []}], path
            assert {"401", "429"} <= set(operation["responses"]), path


def test_the_openapi_document_says_which_routes_need_a_key(model: str) -> None:
    app = create_model_server_app(model, authenticate=StaticApiKeys(KEYS))
    with serving(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        document = client.get("/openapi.json", headers=bearer(KEYS[0])).json()
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    secured = {p for p, ops in document["paths"].items() if "security" in ops.get("post", {})}
    assert {"/predict", "/feedback", "/v2/models/{name}/infer"} <= secured
    predict = document["paths"]["/predict"]["post"]["responses"]
    assert {"200", "400", "401", "413", "429", "503"} <= set(predict)
    for probe in ("/v2/health/live", "/v2/health/ready", "/metrics"):
        operation = document["paths"][probe]["get"]
        assert "security" not in operation and "401" not in operation["responses"], probe
    with serving(create_model_server_app(model)) as url:
        plain = httpx.get(f"{url}/openapi.json").json()
    assert "securitySchemes" not in plain["components"]
    assert "401" not in plain["paths"]["/predict"]["post"]["responses"]


@pytest.mark.parametrize("mode", [0o644, 0o604, 0o666])
def test_a_key_file_other_users_can_read_is_refused(model: str, tmp_path: Path, mode: int) -> None:
    keys = key_file(tmp_path, mode)
    command = [sys.executable, "-m", "windlass", "serve", model, "--auth", "token"]
    done = subprocess.run(
        [*command, "--api-key-file", str(keys), "--dry-run"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    text = " ".join((done.stdout + done.stderr).split())
    assert "readable or writable by every user" in text and "chmod 600" in text, text
    assert "loads" not in done.stdout


def test_the_cli_needs_a_key_file_with_auth_token(model: str, tmp_path: Path) -> None:
    def serve(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "windlass", "serve", model, *args, "--dry-run"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    no_file = serve("--auth", "token")
    assert no_file.returncode != 0 and "--api-key-file" in no_file.stdout + no_file.stderr
    no_auth = serve("--api-key-file", str(key_file(tmp_path)))
    assert no_auth.returncode != 0 and "--auth token" in no_auth.stdout + no_auth.stderr
    fine = serve("--auth", "token", "--api-key-file", str(key_file(tmp_path)))
    assert fine.returncode == 0, fine.stdout + fine.stderr


def test_key_files_are_checked_and_keys_matched_by_digest(tmp_path: Path) -> None:
    assert read_key_file(key_file(tmp_path)) == KEYS
    for bad, problem in (([], "holds no key"), (["short"], "line 3"), (["a b" * 10], "line 3")):
        with pytest.raises(ConfigError, match=problem) as caught:
            read_key_file(key_file(tmp_path, keys=bad))
        assert "short" not in caught.value.message  # a key is never repeated in a message
    with pytest.raises(ConfigError, match="cannot read"):
        read_key_file(tmp_path / "missing.txt")
    check = StaticApiKeys(KEYS)
    assert check(f"Bearer {KEYS[0]}".encode())
    assert check(f"bearer {KEYS[1]}".encode())
    assert check(f"BEARER   {KEYS[1]} ".encode())
    assert not check(None)
    assert not check(KEYS[0].encode())
    assert not check(f"Basic {KEYS[0]}".encode())
    assert not check(f"Bearer {KEYS[0]}x".encode())
    assert not check(b"Bearer ")
    assert KEYS[0].encode() not in b"".join(check._digests)
