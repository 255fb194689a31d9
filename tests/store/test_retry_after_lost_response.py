"""A write retried after its response was lost is made once, and the call returns normally.

A small real HTTP proxy (a thread serving a socket on 127.0.0.1) stands between the REST
client and a real ``windlass server``. For the first request of a chosen kind it forwards
the request, lets the server do the work and answer, and then loses the answer: it closes
the client's connection without a reply (``close``), or sends half of the reply and resets
the connection (``reset``). The REST client retries (``WINDLASS_HTTP_RETRIES`` attempts),
the retry goes through, and because every create carries the writer's id (or is keyed on
what it writes), exactly one object exists afterwards.
"""

from __future__ import annotations

import http.client
import io
import json
import re
import socket
import struct
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from windlass.artifacts.hashing import hash_bytes
from windlass.artifacts.http import RestBlobStore
from windlass.entities import MANIFEST_FILE, ArtifactEntry, DatasetInput, MetricBatch, Span
from windlass.exceptions import BackendUnavailable
from windlass.genai.prompts.registry import PromptRegistry
from windlass.genai.tracing.service import TraceService
from windlass.ids import new_id, now_ms
from windlass.models.manifest import FORMAT
from windlass.models.registry import ModelRegistry
from windlass.serving.deployments import DeploymentService
from windlass.store.rest.store import RestStore
from windlass.tracking.service import Tracking
from windlass_testing import ServerProcess

# Headers that describe one hop, not the message: the proxy sets its own.
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass
class _Loss:
    method: str
    path: re.Pattern[str]
    mode: str  # "close": no reply at all; "reset": half a reply, then a reset


class LossyProxy:
    """An HTTP/1.1 proxy to ``upstream`` that loses the response of chosen requests."""

    def __init__(self, upstream: str) -> None:
        target = urlsplit(upstream)
        self.upstream = (target.hostname or "127.0.0.1", target.port or 80)
        self.forwarded: Counter[tuple[str, str]] = Counter()
        self.lost: list[tuple[str, str]] = []
        self._losses: list[_Loss] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        """Serve in a daemon thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def reset(self) -> None:
        """Forget counts, losses done and losses planned."""
        with self._lock:
            self.forwarded.clear()
            self.lost.clear()
            self._losses.clear()

    def lose(self, method: str, path: str, mode: str = "close") -> None:
        """Lose the response of the next ``method`` request whose path matches ``path``.

        Counts start again from here: they are the ones of the call under test.
        """
        with self._lock:
            self.forwarded.clear()
            self.lost.clear()
            self._losses.append(_Loss(method, re.compile(path), mode))

    def count(self, method: str, path: str) -> int:
        """Return how many ``method`` requests to a path matching ``path`` were forwarded."""
        pattern = re.compile(path)
        with self._lock:
            return sum(
                n for (m, p), n in self.forwarded.items() if m == method and pattern.fullmatch(p)
            )

    def _take(self, method: str, path: str) -> str | None:
        with self._lock:
            self.forwarded[(method, path)] += 1
            for loss in self._losses:
                if loss.method == method and loss.path.fullmatch(path):
                    self._losses.remove(loss)
                    self.lost.append((method, path))
                    return loss.mode
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Stay quiet (pytest shows failures, not traffic)."""

            def forward(self) -> None:
                """Send the request upstream, then relay, lose or break off the reply."""
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                upstream = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    reply = upstream.getresponse()
                    data = reply.read()  # the server has done the work and answered
                finally:
                    upstream.close()
                mode = proxy._take(self.command, urlsplit(self.path).path)
                self.close_connection = mode is not None
                if mode == "close":
                    return  # nothing written: the client sees the connection closed
                head = [f"HTTP/1.1 {reply.status} {reply.reason}"]
                head += [
                    f"{key}: {value}"
                    for key, value in reply.getheaders()
                    if key.lower() not in _HOP
                ]
                # A HEAD reply has no body but states the length a GET would have.
                stated = reply.getheader("content-length") if self.command == "HEAD" else None
                head.append(f"Content-Length: {stated or len(data)}")
                raw = "\r\n".join(head).encode("latin-1") + b"\r\n\r\n" + data
                if mode == "reset":
                    # Half the reply (headers or body), then a reset (linger 0) on close.
                    self.wfile.write(raw[: len(raw) // 2])
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    return
                self.wfile.write(raw)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = forward

        return Handler


@pytest.fixture(scope="module")
def proxy(server: ServerProcess) -> Iterator[LossyProxy]:
    """A lossy proxy in front of the session's real server."""
    lossy = LossyProxy(server.url)
    lossy.start()
    yield lossy
    lossy.stop()


@pytest.fixture
def store(proxy: LossyProxy, monkeypatch: pytest.MonkeyPatch) -> Iterator[RestStore]:
    """A REST client through the proxy, with three attempts per request."""
    proxy.reset()
    monkeypatch.setenv("WINDLASS_HTTP_RETRIES", "3")
    rest = RestStore(proxy.url)
    yield rest
    rest.close()


@pytest.fixture
def project(store: RestStore) -> str:
    """A new project's id."""
    return Tracking(store, _blobs(store)).project(f"retry-{new_id()[-12:]}").id


def _blobs(store: RestStore) -> RestBlobStore:
    return RestBlobStore(store.base_url, store.client)


MODES = pytest.mark.parametrize("mode", ["close", "reset"])


def _lost_once(proxy: LossyProxy, method: str, path: str) -> None:
    """The response was lost once, and the request was sent again (and answered)."""
    assert [m for m, _p in proxy.lost] == [method]
    assert re.fullmatch(path, proxy.lost[0][1])
    assert proxy.count(method, path) == 2


# -- projects, runs, params, metrics, inputs ---------------------------------------------
@MODES
def test_project(store: RestStore, proxy: LossyProxy, mode: str) -> None:
    name, project_id = f"retry-{new_id()[-12:]}", new_id()
    proxy.lose("POST", "/api/v1/projects", mode)
    made = store.runs.get_or_create_project(name, project_id, now_ms())
    _lost_once(proxy, "POST", "/api/v1/projects")
    assert made.id == project_id
    assert store.runs.get_project(name).id == project_id
    named = [p for p in store.runs.list_projects(10_000).items if p.name == name]
    assert len(named) == 1


@MODES
def test_run(store: RestStore, proxy: LossyProxy, project: str, mode: str) -> None:
    tracking = Tracking(store, _blobs(store))
    proxy.lose("POST", "/api/v1/runs", mode)
    run = tracking.create_run(project, name="train")
    _lost_once(proxy, "POST", "/api/v1/runs")
    runs = store.runs.search_runs([project]).items
    assert [(r.id, r.name) for r in runs] == [(run.id, "train")]


@MODES
def test_params_and_tags(store: RestStore, proxy: LossyProxy, project: str, mode: str) -> None:
    tracking = Tracking(store, _blobs(store))
    run = tracking.create_run(project)
    proxy.lose("POST", r"/api/v1/runs/\w+/params", mode)
    tracking.log_params(run.id, {"lr": 0.1, "depth": 4})
    _lost_once(proxy, "POST", r"/api/v1/runs/\w+/params")
    proxy.lose("POST", r"/api/v1/runs/\w+/tags", mode)
    tracking.set_tags(run.id, {"team": "a"})
    _lost_once(proxy, "POST", r"/api/v1/runs/\w+/tags")
    stored = store.runs.get_run(run.id)
    assert stored.params == {"lr": "0.1", "depth": "4"}
    assert stored.tags.get("team") == "a"


@MODES
def test_run_end_and_delete(store: RestStore, proxy: LossyProxy, project: str, mode: str) -> None:
    tracking = Tracking(store, _blobs(store))
    run = tracking.create_run(project)
    proxy.lose("PATCH", r"/api/v1/runs/\w+", mode)
    assert tracking.end_run(run.id).status.value == "finished"
    _lost_once(proxy, "PATCH", r"/api/v1/runs/\w+")
    proxy.lose("DELETE", r"/api/v1/runs/\w+", mode)
    assert tracking.delete_run(run.id).deleted
    _lost_once(proxy, "DELETE", r"/api/v1/runs/\w+")
    assert store.runs.get_run(run.id).status.value == "finished"


@MODES
def test_metric_batch(store: RestStore, proxy: LossyProxy, project: str, mode: str) -> None:
    tracking = Tracking(store, _blobs(store))
    run = tracking.create_run(project)
    batch = MetricBatch(new_id())
    for step in range(5):
        batch.append(run.id, "loss", 1.0 / (step + 1), step, 1_700_000_000_000 + step)
    proxy.lose("POST", "/api/v1/metrics", mode)
    tracking.log_metrics(batch)
    _lost_once(proxy, "POST", "/api/v1/metrics")
    history = store.runs.get_metric_history(run.id, "loss").items
    assert [p.step for p in history] == [0, 1, 2, 3, 4]


@MODES
def test_run_inputs(store: RestStore, proxy: LossyProxy, project: str, mode: str) -> None:
    tracking = Tracking(store, _blobs(store))
    run = tracking.create_run(project)
    data = DatasetInput("train", hash_bytes(b"rows"), "training", "s3://b/train.csv")
    proxy.lose("POST", r"/api/v1/runs/\w+/inputs", mode)
    tracking.log_inputs(run.id, [data])
    _lost_once(proxy, "POST", r"/api/v1/runs/\w+/inputs")
    assert [(d.name, d.digest) for d in store.runs.list_inputs(run.id)] == [("train", data.digest)]


# -- artifacts: blobs and the run's index -------------------------------------------------
BLOB = r"/api/v1/blobs/[0-9a-f]{64}"


@MODES
def test_blob_upload(
    store: RestStore, proxy: LossyProxy, project: str, mode: str, tmp_path: Path
) -> None:
    tracking = Tracking(store, _blobs(store))
    run = tracking.create_run(project)
    weights = tmp_path / "weights.bin"
    weights.write_bytes(new_id().encode() * 10_000)  # new content: the upload is needed
    proxy.lose("PUT", BLOB, mode)
    [entry] = tracking.log_artifact(run.id, weights)
    # The lost upload stored the blob: the client asks for it and does not send it again.
    assert [m for m, _p in proxy.lost] == ["PUT"]
    assert proxy.count("PUT", BLOB) == 1
    assert entry.size == weights.stat().st_size
    assert _blobs(store).has(entry.digest)
    assert store.artifacts.walk_artifacts(run.id) == [entry]


@MODES
def test_artifact_record(
    store: RestStore, proxy: LossyProxy, project: str, mode: str, tmp_path: Path
) -> None:
    tracking = Tracking(store, _blobs(store))
    run = tracking.create_run(project)
    (tmp_path / "out").mkdir()
    for name in ("a.txt", "b.txt"):
        (tmp_path / "out" / name).write_text(f"{name} {new_id()}")
    proxy.lose("POST", r"/api/v1/runs/\w+/artifacts", mode)
    entries = tracking.log_artifact(run.id, tmp_path / "out")
    _lost_once(proxy, "POST", r"/api/v1/runs/\w+/artifacts")
    assert [e.path for e in store.artifacts.walk_artifacts(run.id)] == ["out/a.txt", "out/b.txt"]
    assert store.artifacts.walk_artifacts(run.id) == entries


# -- the model registry -----------------------------------------------------------------
def _model_files(store: RestStore) -> tuple[list[ArtifactEntry], dict[str, Any]]:
    manifest = {
        "format": FORMAT,
        "flavors": {"sklearn": {}},
        "files": {"model.skops": {"digest": hash_bytes(b"weights"), "size": 7}},
    }
    contents = {MANIFEST_FILE: json.dumps(manifest).encode(), "model.skops": b"weights"}
    blobs = _blobs(store)
    for data in contents.values():
        blobs.put_stream(io.BytesIO(data))
    return [ArtifactEntry(p, hash_bytes(d), len(d)) for p, d in contents.items()], manifest


def _version(models: ModelRegistry, store: RestStore, project: str) -> int:
    files, manifest = _model_files(store)
    return models.create_version(
        project, "churn", source="test", files=files, manifest=manifest
    ).version


MODELS = r"/api/v1/projects/\w+/models"


@MODES
def test_registered_model(store: RestStore, proxy: LossyProxy, project: str, mode: str) -> None:
    models = ModelRegistry(store, _blobs(store))
    proxy.lose("POST", MODELS, mode)
    made = models.create_model(project, "churn", description="churn", tags={"team": "a"})
    _lost_once(proxy, "POST", MODELS)
    assert [m.id for m in models.list_models(project).items] == [made.id]


@MODES
def test_model_version(store: RestStore, proxy: LossyProxy, project: str, mode: str) -> None:
    models = ModelRegistry(store, _blobs(store))
    models.create_model(project, "churn")
    proxy.lose("POST", f"{MODELS}/churn/versions", mode)
    assert _version(models, store, project) == 1
    _lost_once(proxy, "POST", f"{MODELS}/churn/versions")
    assert [v.version for v in models.list_versions(project, "churn").items] == [1]
    assert _version(models, store, project) == 2  # no number was used up by the retry


@MODES
def test_first_version_creating_its_model(
    store: RestStore, proxy: LossyProxy, project: str, mode: str
) -> None:
    # The first register of a new model creates the model on the way: lose that answer.
    models = ModelRegistry(store, _blobs(store))
    proxy.lose("POST", MODELS, mode)
    assert _version(models, store, project) == 1
    _lost_once(proxy, "POST", MODELS)
    assert [m.name for m in models.list_models(project).items] == ["churn"]
    assert [v.version for v in models.list_versions(project, "churn").items] == [1]


@MODES
def test_model_alias_move(store: RestStore, proxy: LossyProxy, project: str, mode: str) -> None:
    models = ModelRegistry(store, _blobs(store))
    _version(models, store, project)
    _version(models, store, project)
    models.set_alias(project, "churn", "champion", 1)
    proxy.lose("PUT", f"{MODELS}/churn/aliases/champion", mode)
    event = models.set_alias(project, "churn", "champion", 2)
    _lost_once(proxy, "PUT", f"{MODELS}/churn/aliases/champion")
    assert event.to_version == 2
    history = models.alias_history(project, "churn", "champion")
    assert [(e.from_version, e.to_version) for e in history] == [(None, 1), (1, 2)]
    assert models.get_version_by_alias(project, "churn", "champion").version == 2


@MODES
def test_model_alias_removal(store: RestStore, proxy: LossyProxy, project: str, mode: str) -> None:
    models = ModelRegistry(store, _blobs(store))
    _version(models, store, project)
    models.set_alias(project, "churn", "champion", 1)
    proxy.lose("DELETE", f"{MODELS}/churn/aliases/champion", mode)
    removed = models.delete_alias(project, "churn", "champion")
    _lost_once(proxy, "DELETE", f"{MODELS}/churn/aliases/champion")
    # The retry found the alias gone and answers with the removal its lost attempt made.
    assert (removed.from_version, removed.to_version, removed.claimed_by) == (1, None, "anonymous")
    history = models.alias_history(project, "churn", "champion")
    assert [(e.from_version, e.to_version) for e in history] == [(None, 1), (1, None)]


@MODES
def test_registry_deletes(store: RestStore, proxy: LossyProxy, project: str, mode: str) -> None:
    models = ModelRegistry(store, _blobs(store))
    _version(models, store, project)
    _version(models, store, project)
    proxy.lose("DELETE", f"{MODELS}/churn/versions/2", mode)
    models.delete_version(project, "churn", 2)
    _lost_once(proxy, "DELETE", f"{MODELS}/churn/versions/2")
    assert [v.version for v in models.list_versions(project, "churn").items] == [1]
    proxy.lose("DELETE", f"{MODELS}/churn", mode)
    models.delete_model(project, "churn")
    _lost_once(proxy, "DELETE", f"{MODELS}/churn")
    assert models.list_models(project).items == []


# -- prompts ----------------------------------------------------------------------------
PROMPTS = r"/api/v1/projects/\w+/prompts"


@MODES
def test_prompt(store: RestStore, proxy: LossyProxy, project: str, mode: str) -> None:
    prompts = PromptRegistry(store)
    proxy.lose("POST", PROMPTS, mode)
    made = prompts.create_prompt(project, "support", description="answers")
    _lost_once(proxy, "POST", PROMPTS)
    assert [p.id for p in prompts.list_prompts(project).items] == [made.id]


@MODES
def test_prompt_version(store: RestStore, proxy: LossyProxy, project: str, mode: str) -> None:
    prompts = PromptRegistry(store)
    prompts.register(project, "support", template="Hello {{ name }}")
    proxy.lose("POST", f"{PROMPTS}/support/versions", mode)
    made = prompts.register(project, "support", template="Hi {{ name }}")
    _lost_once(proxy, "POST", f"{PROMPTS}/support/versions")
    assert made.version == 2
    assert [v.version for v in prompts.list_versions(project, "support").items] == [2, 1]


@MODES
def test_prompt_alias_move(store: RestStore, proxy: LossyProxy, project: str, mode: str) -> None:
    prompts = PromptRegistry(store)
    prompts.register(project, "support", template="Hello {{ name }}")
    proxy.lose("PUT", f"{PROMPTS}/support/aliases/production", mode)
    prompts.set_alias(project, "support", "production", 1)
    _lost_once(proxy, "PUT", f"{PROMPTS}/support/aliases/production")
    history = prompts.alias_history(project, "support")
    assert [(e.alias, e.from_version, e.to_version) for e in history] == [("production", None, 1)]


@MODES
def test_prompt_alias_removal_and_delete(
    store: RestStore, proxy: LossyProxy, project: str, mode: str
) -> None:
    prompts = PromptRegistry(store)
    prompts.register(project, "support", template="Hello {{ name }}")
    prompts.set_alias(project, "support", "production", 1)
    proxy.lose("DELETE", f"{PROMPTS}/support/aliases/production", mode)
    removed = prompts.delete_alias(project, "support", "production")
    _lost_once(proxy, "DELETE", f"{PROMPTS}/support/aliases/production")
    assert (removed.from_version, removed.to_version, removed.claimed_by) == (1, None, "anonymous")
    history = prompts.alias_history(project, "support")
    assert [(e.from_version, e.to_version) for e in history] == [(None, 1), (1, None)]
    proxy.lose("DELETE", f"{PROMPTS}/support", mode)
    prompts.delete_prompt(project, "support")
    _lost_once(proxy, "DELETE", f"{PROMPTS}/support")
    assert prompts.list_prompts(project).items == []


# -- deployments ------------------------------------------------------------------------
DEPLOYMENTS = r"/api/v1/projects/\w+/deployments"


def _deployable(store: RestStore, project: str) -> DeploymentService:
    models = ModelRegistry(store, _blobs(store))
    _version(models, store, project)
    _version(models, store, project)
    return DeploymentService(store)


VARIANTS = [
    {"name": "champion", "model_uri": "models:/churn/1", "weight": 90},
    {"name": "challenger", "model_uri": "models:/churn/2", "weight": 10},
]


@MODES
def test_deployment_create(store: RestStore, proxy: LossyProxy, project: str, mode: str) -> None:
    deployments = _deployable(store, project)
    proxy.lose("POST", DEPLOYMENTS, mode)
    made = deployments.create(project, "prod", VARIANTS)
    _lost_once(proxy, "POST", DEPLOYMENTS)
    assert [d.id for d in deployments.list(project).items] == [made.id]
    assert [e.revision for e in deployments.history(project, "prod").items] == [1]


@MODES
def test_deployment_update(store: RestStore, proxy: LossyProxy, project: str, mode: str) -> None:
    deployments = _deployable(store, project)
    deployments.create(project, "prod", VARIANTS)
    proxy.lose("PATCH", f"{DEPLOYMENTS}/prod", mode)
    changed = deployments.update(
        project, "prod", weights={"champion": 50, "challenger": 50}, expected_revision=1
    )
    _lost_once(proxy, "PATCH", f"{DEPLOYMENTS}/prod")
    assert changed.revision == 2
    assert [v.weight for v in changed.variants] == [50, 50]
    assert [e.revision for e in deployments.history(project, "prod").items] == [1, 2]


@MODES
def test_deployment_delete(store: RestStore, proxy: LossyProxy, project: str, mode: str) -> None:
    deployments = _deployable(store, project)
    deployments.create(project, "prod", VARIANTS)
    proxy.lose("DELETE", f"{DEPLOYMENTS}/prod", mode)
    deployments.delete(project, "prod")
    _lost_once(proxy, "DELETE", f"{DEPLOYMENTS}/prod")
    assert deployments.list(project).items == []


# -- traces -----------------------------------------------------------------------------
@MODES
def test_span_batch(store: RestStore, proxy: LossyProxy, project: str, mode: str) -> None:
    trace_id = new_id()
    start = now_ms() * 1_000_000
    spans = [
        Span(trace_id, f"{i + 1:016x}", f"step {i}", start + i, start + i + 1_000) for i in range(3)
    ]
    proxy.lose("POST", r"/api/v1/projects/\w+/spans", mode)
    TraceService(store).ingest_into(project, spans)
    _lost_once(proxy, "POST", r"/api/v1/projects/\w+/spans")
    stored = store.traces.get_trace(trace_id, project)
    assert sorted(s.span_id for s in stored) == [s.span_id for s in spans]
    assert len(store.traces.search_traces([project]).items) == 1


# -- retries are what saves these calls ---------------------------------------------------
def test_without_retries_the_lost_response_is_backend_unavailable(
    proxy: LossyProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy.reset()
    monkeypatch.setenv("WINDLASS_HTTP_RETRIES", "1")
    store = RestStore(proxy.url)
    try:
        name = f"retry-{new_id()[-12:]}"
        proxy.lose("POST", "/api/v1/projects", "close")
        with pytest.raises(BackendUnavailable) as caught:
            store.runs.get_or_create_project(name, new_id(), now_ms())
        assert caught.value.error_code == "BACKEND_UNAVAILABLE"
        # The server did the work: the project exists, though the caller was not told.
        assert store.runs.get_project(name).name == name
    finally:
        store.close()
