"""``windlass.Client``: clients over different stores side by side, in threads, and the default."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import windlass
from windlass.client import Client, default_client
from windlass.entities import Run, RunStatus
from windlass.principal import Principal, PrincipalKind
from windlass_testing import ServerProcess


def _runs(client: Client, project: str) -> list[Run]:
    found = client.runs.search(project, output_format="list")
    assert isinstance(found, list)
    return found


def test_two_clients_over_two_stores_keep_their_own_runs(tmp_path: Path) -> None:
    a = Client(f"sqlite:///{tmp_path / 'a.db'}", "exp", artifact_uri=str(tmp_path / "a-art"))
    b = Client(f"sqlite:///{tmp_path / 'b.db'}", "exp", artifact_uri=str(tmp_path / "b-art"))
    with a, b:
        with a.runs.start(name="in-a") as run_a, b.runs.start(name="in-b") as run_b:
            a.runs.log_params({"lr": 0.1})
            b.runs.log_params({"lr": 0.2})
            for step in range(3):
                a.runs.log_metric("loss", 1.0 / (step + 1), step=step)
                b.runs.log_metric("loss", 2.0, step=step)
            assert a.runs.active() is run_a and b.runs.active() is run_b
        assert a.runs.active() is None and b.runs.active() is None
        assert [r.name for r in _runs(a, "exp")] == ["in-a"]
        assert [r.name for r in _runs(b, "exp")] == ["in-b"]
        got_a, got_b = a.runs.get(run_a.id), b.runs.get(run_b.id)
        assert got_a.params == {"lr": "0.1"} and got_b.params == {"lr": "0.2"}
        assert got_a.status is RunStatus.FINISHED
        assert [p.value for p in a.runs.get_metric_history(run_a.id, "loss")] == [
            1.0,
            0.5,
            1.0 / 3,
        ]
        assert [p.value for p in b.runs.get_metric_history(run_b.id, "loss")] == [2.0] * 3
    # The flat functions use neither: the default client has its own store.
    assert windlass.get_tracking_uri() not in {a.tracking_uri, b.tracking_uri}
    assert windlass.active_run() is None


def test_clients_in_threads_each_write_only_their_own_store(tmp_path: Path) -> None:
    threads, runs_each, points = 4, 3, 50
    errors: list[BaseException] = []
    clients = [
        Client(f"sqlite:///{tmp_path / f's{i}.db'}", "exp", artifact_uri=str(tmp_path / f"a{i}"))
        for i in range(threads)
    ]
    start = threading.Barrier(threads)

    def work(i: int) -> None:
        try:
            client = clients[i]
            start.wait()
            for r in range(runs_each):
                with client.runs.start(name=f"t{i}-r{r}"):
                    client.runs.log_params({"thread": i, "run": r})
                    client.runs.set_tag("owner", f"t{i}")
                    for step in range(points):
                        client.runs.log_metric("x", float(i), step=step)
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert not errors, errors
    for i, client in enumerate(clients):
        with client:
            runs = _runs(client, "exp")
            assert sorted(r.name for r in runs) == [f"t{i}-r{r}" for r in range(runs_each)]
            for run in runs:
                assert run.params["thread"] == str(i) and run.tags["owner"] == f"t{i}"
                assert run.status is RunStatus.FINISHED
                history = client.runs.get_metric_history(run.id, "x")
                assert [p.value for p in history] == [float(i)] * points


def test_a_server_client_next_to_an_embedded_one(server: ServerProcess, tmp_path: Path) -> None:
    project = f"client-{tmp_path.name}"
    remote = Client(server.url, project)
    local = Client(f"sqlite:///{tmp_path / 'local.db'}", project)
    with remote, local:
        with remote.runs.start(name="remote") as r, local.runs.start(name="local") as lo:
            remote.runs.log_metric("m", 1.0)
            local.runs.log_metric("m", 2.0)
            remote.runs.log_params({"where": "server"})
            local.runs.log_params({"where": "embedded"})
        assert [x.name for x in _runs(remote, project)] == ["remote"]
        assert [x.name for x in _runs(local, project)] == ["local"]
        assert remote.runs.get(r.id).params == {"where": "server"}
        assert local.runs.get(lo.id).metrics["m"].value == 2.0
        # Each client has its own project ids: the same name is two projects.
        assert remote.project_id() != local.project_id()


def test_namespaces_reach_the_client_store(tmp_path: Path) -> None:
    with Client(f"sqlite:///{tmp_path / 'n.db'}", "ns", artifact_uri=str(tmp_path / "art")) as c:
        prompt = c.prompts.register("greet", "hi {{ name }}")
        c.prompts.set_alias("greet", "prod", prompt.version)
        assert c.prompts.load("greet@prod").render(name="ada") == "hi ada"
        assert [p.name for p in c.prompts.list_prompts()] == ["greet"]
        assert c.models.list_models() == [] and c.deployments.list_deployments() == []
        assert c.traces.search().items == []
    # Nothing leaked into the default client's store.
    assert windlass.prompts.list_prompts(project="ns") == []


def test_close_ends_active_runs_and_the_client_reopens(tmp_path: Path) -> None:
    client = Client(f"sqlite:///{tmp_path / 'c.db'}", "exp", artifact_uri=str(tmp_path / "art"))
    run = client.runs.start(name="left-open")
    client.runs.log_metric("m", 1.0)
    client.close()
    assert client.runs.active() is None
    again = client.runs.get(run.id)
    assert again.status is RunStatus.FINISHED and again.metrics["m"].value == 1.0
    client.close()


def test_set_tracking_uri_replaces_the_default_client(tmp_path: Path) -> None:
    first = default_client()
    assert default_client() is first
    windlass.set_project("kept")
    uri = f"sqlite:///{tmp_path / 'other.db'}"
    windlass.set_tracking_uri(uri)
    second = default_client()
    assert second is not first and second.tracking_uri == uri == windlass.get_tracking_uri()
    assert windlass.current_project() == "kept"
    with windlass.start_run(name="flat") as run:
        windlass.log_metric("m", 3.0)
    assert second.runs.get(run.id).metrics["m"].value == 3.0


def test_a_bad_tracking_uri_is_refused_when_the_client_is_made() -> None:
    with pytest.raises(windlass.InvalidUri):
        Client("ftp://nowhere")


def test_windlass_user_names_the_embedded_sdks_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WINDLASS_USER", "ada")
    windlass.set_tracking_uri(f"sqlite:///{tmp_path / 'who.db'}")  # a new default client
    assert default_client().principal == Principal("ada")
    version = windlass.prompts.register("greet", "hi {{ name }}")
    moved = windlass.prompts.set_alias("greet", "prod", version.version)
    assert (version.claimed_by, moved.claimed_by) == ("ada", "ada")
    assert [e.claimed_by for e in windlass.prompts.alias_history("greet")] == ["ada"]


def test_a_clients_principal_names_its_writes(server: ServerProcess, tmp_path: Path) -> None:
    bot = Principal("release-bot", PrincipalKind.SERVICE)
    with Client(f"sqlite:///{tmp_path / 'p.db'}", "who", principal=bot) as client:
        assert client.principal is bot
        version = client.prompts.register("greet", "hi {{ name }}")
        assert client.prompts.set_alias("greet", "prod", version.version).claimed_by == (
            "release-bot"
        )
        assert client.prompts.get("greet").aliases == {"prod": 1}
    # Against a server, what is recorded is the server's principal, whatever the client is.
    with Client(server.url, f"who-{tmp_path.name}", principal=bot) as remote:
        version = remote.prompts.register("greet", "hi {{ name }}")
        assert version.claimed_by == "anonymous"
        assert remote.prompts.set_alias("greet", "prod", 1).claimed_by == "anonymous"
        assert remote.prompts.delete_alias("greet", "prod").claimed_by == "anonymous"
