"""``windlass build docker``: the build context is sound, and its requirements really serve.

There is no Docker engine here, so the Dockerfile is checked by parsing it, and the key
promise is checked the way the image would keep it: a fresh virtual environment installs
requirements.txt (the wheel included) from the build context, then runs the Dockerfile's
own CMD and HEALTHCHECK against the copied model.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from dockerfile_parse import DockerfileParser
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

import windlass
from windlass.cli.main import build_app
from windlass.exceptions import InvalidInput
from windlass.models.manifest import ModelManifest, read_manifest, verify_folder
from windlass.serving.packaging.docker import model_requirements, python_minor
from windlass.serving.packaging.wheel import repack_installed
from windlass_testing import free_port

runner = CliRunner()
INSTRUCTIONS = {
    "FROM",
    "LABEL",
    "ENV",
    "RUN",
    "WORKDIR",
    "COPY",
    "USER",
    "EXPOSE",
    "HEALTHCHECK",
    "CMD",
    "ARG",
}


@dataclass(frozen=True)
class Built:
    """A registry with one model and the build context made from it."""

    store: str
    artifacts: str
    context: Path
    inputs: pd.DataFrame


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(build_app(), ["build", "docker", *args], env=env)
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Register ``churn`` v1 in a SQLite store and build its context once for the module."""
    root = tmp_path_factory.mktemp("build-docker")
    store, artifacts = f"sqlite:///{root / 'store.db'}", str(root / "artifacts")
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(rng.normal(size=(60, 4)), columns=["a", "b", "c", "d"])
    label = (frame.a + frame.b > 0).astype(int)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WINDLASS_HOME", str(root / "home"))
        env.setenv("WINDLASS_ARTIFACT_URI", artifacts)
        env.setenv("WINDLASS_PROJECT", "packaging")
        windlass.set_tracking_uri(store)
        try:
            with windlass.start_run():
                windlass.log_model(
                    LogisticRegression().fit(frame, label),
                    name="model",
                    input_example=frame[:5],
                    registered_model_name="churn",
                )
            code, output = invoke("models:/churn/1", "-o", str(root / "context"), "--uri", store)
        finally:
            windlass.set_tracking_uri(None)
    assert code == 0, output
    return Built(store, artifacts, root / "context", frame)


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """Parse a Dockerfile into (INSTRUCTION, arguments): continuations joined, comments out."""
    parsed: list[tuple[str, str]] = []
    pending = ""
    for line in dockerfile.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, rest = (pending + line).strip().partition(" ")
        parsed.append((keyword.upper(), rest.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return parsed


def exec_form(value: str) -> list[str]:
    command = json.loads(value)
    assert isinstance(command, list) and all(isinstance(c, str) for c in command)
    return command


def test_dockerfile_is_well_formed(built: Built) -> None:
    steps = instructions(built.context / "Dockerfile")
    names = [name for name, _ in steps]
    assert set(names) <= INSTRUCTIONS, set(names) - INSTRUCTIONS
    assert names[0] == "FROM" and dict(steps)["FROM"] == "python:3.11-slim"
    assert names.count("CMD") == 1 and names[-1] == "CMD"
    manifest = read_manifest(built.context / "model")
    assert dict(steps)["FROM"] == f"python:{python_minor(manifest.python_version)}-slim"

    user_at = names.index("USER")
    user = dict(steps)["USER"].split(":")[0]
    assert user.isdigit() and int(user) > 0, "the image must run as a numeric non-root user"
    assert f"--uid {user}" in next(v for n, v in steps if n == "RUN" and "useradd" in v)
    assert names.index("RUN", names.index("WORKDIR")) < user_at < names.index("CMD")
    assert "pip install --no-cache-dir -r requirements.txt" in " ".join(
        v for n, v in steps[:user_at] if n == "RUN"
    )

    command = exec_form(dict(steps)["CMD"])
    assert command[:3] == ["windlass", "serve", "/app/model"]
    port = command[command.index("--port") + 1]
    assert dict(steps)["EXPOSE"] == port == "8080"
    assert command[command.index("--host") + 1] == "0.0.0.0"  # noqa: S104 - in the container

    health = dict(steps)["HEALTHCHECK"]
    options, _, check = health.partition(" CMD ")
    assert "--interval=" in options and "--timeout=" in options
    check_command = exec_form(check)
    assert check_command[:2] == ["python", "-c"]
    compile(check_command[2], "<healthcheck>", "exec")
    assert f"127.0.0.1:{port}/v2/health/live" in check_command[2]

    copies = [v.split() for n, v in steps if n == "COPY"]
    for *sources, _dest in copies:
        for source in sources:
            assert (built.context / source).exists(), f"COPY {source}: not in the context"
    ignore = (built.context / ".dockerignore").read_text().splitlines()
    rules = [r for r in ignore if r and not r.startswith("#")]
    assert rules[0] == "*", ".dockerignore must be an allowlist"
    for *sources, _dest in copies:
        for source in sources:
            assert f"!{source.rstrip('/')}" in rules, f"{source} is not allowlisted"

    # An independent parser reads the same structure.
    parser = DockerfileParser(path=str(built.context / "Dockerfile"))
    assert parser.baseimage == "python:3.11-slim"
    assert parser.labels["windlass.model.source"] == "models:/churn/1"
    assert parser.labels["windlass.model.flavor"] == "sklearn"
    assert [s["instruction"] for s in parser.structure if s["instruction"] != "COMMENT"] == names


def test_context_holds_the_verified_model_and_pinned_requirements(built: Built) -> None:
    model = built.context / "model"
    manifest = read_manifest(model)
    verify_folder(model, manifest)
    lines = [
        line
        for line in (built.context / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    model_lines = [r for r in manifest.requirements if not r.startswith("windlass")]
    assert model_lines and all("==" in r for r in model_lines)
    assert lines[:-1] == model_lines
    (wheel,) = (built.context / "wheels").glob("windlass-*.whl")
    assert lines[-1] == f"./wheels/{wheel.name}[ml]"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert {
            "windlass/__init__.py",
            "windlass/cli/commands/build.py",
            "windlass/serving/packaging/docker.py",
        } <= names
        assert any(n.startswith("windlass/store/sql/migrations/versions/") for n in names)
        info = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        assert "windlass = windlass.cli.main:main" in archive.read(info).decode()
        assert not any("__pycache__" in n for n in names)
    for path in [model, *model.rglob("*"), wheel]:
        assert path.stat().st_mode & 0o004, f"{path} is not readable by the image's user"
    readme = (built.context / "README.txt").read_text()
    assert "docker build -t windlass-churn:1 ." in readme


def test_refusals_leave_the_output_alone(built: Built, tmp_path: Path) -> None:
    code, output = invoke("models:/churn/1", "-o", str(built.context), "--uri", built.store)
    assert code == 5 and "ALREADY_EXISTS" in output and "--force" in output
    code, output = invoke("models:/nobody/1", "-o", str(tmp_path / "a"), "--uri", built.store)
    assert code == 3 and "MODEL_NOT_FOUND" in output
    code, output = invoke(str(tmp_path / "missing"), "-o", str(tmp_path / "a"))
    assert code == 2 and "neither a model URI" in output

    tampered = tmp_path / "tampered"
    shutil.copytree(built.context / "model", tampered)
    (tampered / "input_example.json").write_text("[]")
    code, output = invoke(str(tampered), "-o", str(tmp_path / "a"))
    assert code == 6 and "INTEGRITY_FAILURE" in output and "input_example.json" in output
    assert not (tmp_path / "a").exists()
    assert not [p for p in tmp_path.iterdir() if ".staging-" in p.name]


def test_what_is_packaged_must_exist_before_anything_is_written(
    built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WINDLASS_ARTIFACT_URI", built.artifacts)
    monkeypatch.setenv("WINDLASS_PROJECT", "packaging")
    windlass.set_tracking_uri(built.store)
    try:
        run_id = windlass.get_model_version("churn", 1).run_id
    finally:
        windlass.set_tracking_uri(None)
    out = str(tmp_path / "deep" / "context")
    for args, code_name in [
        (["models:/churn/9"], "MODEL_VERSION_NOT_FOUND"),
        (["runs:/" + "0" * 32 + "/model"], "RUN_NOT_FOUND"),
        ([f"runs:/{run_id}/not-a-model"], "ARTIFACT_NOT_FOUND"),
        (["models:/churn/1", "--windlass-wheel", str(tmp_path / "none.whl")], "NOT_FOUND"),
    ]:
        code, output = invoke(*args, "-o", out, "--uri", built.store)
        assert code == 3 and f"({code_name})" in output, (args, output)
    assert not (tmp_path / "deep").exists()  # not even the parent folder


def test_an_alias_is_built_as_the_version_it_points_to(
    built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WINDLASS_ARTIFACT_URI", built.artifacts)
    monkeypatch.setenv("WINDLASS_PROJECT", "packaging")
    windlass.set_tracking_uri(built.store)
    try:
        windlass.set_alias("churn", "champion", 1)
    finally:
        windlass.set_tracking_uri(None)
    (wheel,) = (built.context / "wheels").glob("*.whl")
    code, output = invoke(
        "models:/churn@champion",
        "-o",
        str(tmp_path / "c"),
        "--uri",
        built.store,
        "--windlass-wheel",
        str(wheel),
        "--json",
    )
    assert code == 0, output
    result = json.loads(output)
    assert result["model_uri"] == "models:/churn/1" and result["image_tag"] == "windlass-churn:1"
    assert "models:/churn@champion is models:/churn/1" in result["notes"][0]
    parser = DockerfileParser(path=str(tmp_path / "c" / "Dockerfile"))
    assert parser.labels["windlass.model.source"] == "models:/churn/1"


def test_local_folder_with_a_given_wheel_and_forced_rebuild(built: Built, tmp_path: Path) -> None:
    source = tmp_path / "my-model"
    shutil.copytree(built.context / "model", source)
    manifest_file = source / "windlass-model.yaml"
    # The manifest itself is not hashed: a model saved by Python 3.12 gets a 3.12 image.
    manifest_file.write_text(
        manifest_file.read_text().replace("python_version: 3.11", "python_version: 3.12")
    )
    (wheel,) = (built.context / "wheels").glob("*.whl")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    args = [str(source), "-o", str(out), "--windlass-wheel", str(wheel), "--workers", "2", "--json"]
    assert invoke(*args)[0] == 5  # ALREADY_EXISTS: a conflict
    code, output = invoke(*args, "--force")
    assert code == 0, output
    result = json.loads(output)
    assert (
        result["base_image"] == "python:3.12-slim"
        and result["image_tag"] == "windlass-my-model:latest"
    )
    assert result["command"][-2:] == ["--workers", "2"]
    assert (out / "keep.txt").read_text() == "mine"
    parser = DockerfileParser(path=str(out / "Dockerfile"))
    assert parser.baseimage == "python:3.12-slim"
    assert parser.labels["windlass.model.source"] == "folder:my-model"
    assert (out / "wheels" / wheel.name).read_bytes() == wheel.read_bytes()


def test_code_running_models_need_trust(built: Built, tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": np.arange(10.0)})
    windlass.save_model(
        LogisticRegression().fit(frame, frame.x > 4),
        tmp_path / "pickled",
        serialization="pickle",
        input_example=frame[:2],
    )
    (given,) = (built.context / "wheels").glob("*.whl")
    code, output = invoke(
        str(tmp_path / "pickled"), "-o", str(tmp_path / "a"), "--windlass-wheel", str(given)
    )
    assert code == 6 and "UNTRUSTED_MODEL" in output and "--trust" in output
    code, output = invoke(
        str(tmp_path / "pickled"),
        "-o",
        str(tmp_path / "a"),
        "--windlass-wheel",
        str(given),
        "--trust",
        "--json",
    )
    assert code == 0 and json.loads(output)["command"][-1] == "--trust"


def test_model_requirements_keep_packages_only() -> None:
    manifest = ModelManifest(
        flavors={"sklearn": {}},
        requirements=[
            "scikit-learn==1.5.0",
            "windlass==0.0.9",
            "numpy==2.0.0  # arrays",
            "",
            "# a comment",
            "scikit-learn==1.5.0",
            "torch==2.13.0",
        ],
    )
    notes: list[str] = []
    lines = model_requirements(manifest, "windlass-0.1.0-py3-none-any.whl", notes)
    assert lines == [
        "scikit-learn==1.5.0",
        "numpy==2.0.0",
        "torch==2.13.0",
        "./wheels/windlass-0.1.0-py3-none-any.whl[ml]",
    ]
    assert any("windlass 0.0.9" in n for n in notes) and any("CUDA" in n for n in notes)
    for bad in ("--index-url http://mirror.invalid/simple", "numpy\n-e git+https://x/y"):
        with pytest.raises(InvalidInput, match="pip option"):
            model_requirements(
                ModelManifest(flavors={"sklearn": {}}, requirements=[bad]),
                "windlass-0.1.0-py3-none-any.whl",
                [],
            )
    assert python_minor("3.12.4") == "3.12"
    with pytest.raises(InvalidInput, match="python_version"):
        python_minor("three")


def test_repacked_install_is_an_installable_wheel(tmp_path: Path) -> None:
    import pluggy

    wheel = repack_installed("pluggy", tmp_path)
    target = tmp_path / "target"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "--quiet",
            "--target",
            str(target),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (target / "pluggy" / "__init__.py").read_bytes() == Path(pluggy.__file__).read_bytes()


def _venv_env(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME") and not k.startswith("WINDLASS_")
    }
    return {**env, "WINDLASS_HOME": str(home)}


@pytest.mark.timeout(900)
def test_requirements_install_and_serve_in_a_fresh_venv(
    built: Built, tmp_path: Path, record_property: pytest.RecordProperty
) -> None:
    venv = tmp_path / "venv"
    env = _venv_env(tmp_path / "serve-home")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    started = time.monotonic()
    # The Dockerfile's install step, run from the build context as its WORKDIR.
    done = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--no-cache-dir", "-r", "requirements.txt"],
        cwd=built.context,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=800,
    )
    install_seconds = time.monotonic() - started
    record_property("fresh_venv_install_seconds", round(install_seconds, 1))
    print(f"fresh venv: pip install -r requirements.txt took {install_seconds:.1f} s")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    check = subprocess.run(
        [str(venv / "bin" / "pip"), "check"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import windlass; print(windlass.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert Path(where.stdout.strip()).is_relative_to(venv), "windlass must come from the wheel"

    steps = dict(instructions(built.context / "Dockerfile"))
    port = free_port()
    command = [
        {
            "windlass": str(venv / "bin" / "windlass"),
            "/app/model": str(built.context / "model"),
            "0.0.0.0": "127.0.0.1",  # noqa: S104 - the image's bind address, replaced
            "8080": str(port),
        }.get(part, part)
        for part in exec_form(steps["CMD"])
    ]
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, f"server exited: {log.read_text()[-3000:]}"
            try:
                if httpx.get(f"{url}/v2/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"not ready: {log.read_text()[-3000:]}"
            time.sleep(0.2)
        record_property(
            "fresh_venv_ready_seconds", round(time.monotonic() - started - install_seconds, 1)
        )

        _options, _, check_cmd = steps["HEALTHCHECK"].partition(" CMD ")
        health = exec_form(check_cmd)
        health = [
            str(venv / "bin" / "python"),
            health[1],
            health[2].replace("127.0.0.1:8080", f"127.0.0.1:{port}"),
        ]
        assert subprocess.run(health, env=env, timeout=30, check=False).returncode == 0

        inputs = built.inputs.iloc[:25]
        expected = windlass.load_model(built.context / "model").predict(inputs)
        response = httpx.post(
            f"{url}/predict", json={"inputs": inputs.to_dict("records")}, timeout=30
        )
        assert response.status_code == 200, response.text
        assert np.array_equal(np.asarray(response.json()["predictions"]), np.asarray(expected))
        metrics = httpx.get(f"{url}/metrics", timeout=10)
        assert (
            metrics.status_code == 200
            and metrics.headers["content-type"].startswith("text/plain")
            and "# TYPE" in metrics.text
        )
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
