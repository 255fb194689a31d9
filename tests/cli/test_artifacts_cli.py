"""``windlass artifacts get`` on each failure: a clear message and the documented exit code.

Exit codes (docs/server.md): 0 ok, 1 error, 2 bad input, 3 not found, 4 store unreachable.
Never a traceback, and nothing half-written.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import windlass
from windlass.cli.main import build_app

runner = CliRunner()


@pytest.fixture
def tracked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """A run with ``model/weights.bin`` and ``model/config.json``; returns (uri, run id)."""
    uri = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("WINDLASS_ARTIFACT_URI", str(tmp_path / "cli-artifacts"))
    windlass.set_tracking_uri(uri)
    windlass.set_project("cli-artifacts")
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"weights")
    (folder / "config.json").write_text("{}")
    with windlass.start_run() as run:
        windlass.log_artifact(folder)
    windlass.set_tracking_uri(None)
    return uri, run.id


def get(*args: str) -> tuple[int, str]:
    result = runner.invoke(build_app(), ["artifacts", "get", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"the command raised {result.exception!r}") from result.exception
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_download_works(tracked: tuple[str, str], tmp_path: Path) -> None:
    uri, run_id = tracked
    code, out = get(run_id, "model", "--uri", uri, "--dest", str(tmp_path / "out"))
    assert code == 0, out
    assert (tmp_path / "out" / "model" / "weights.bin").read_bytes() == b"weights"
    # Again: existing files are replaced.
    assert get(run_id, "model", "--uri", uri, "--dest", str(tmp_path / "out"))[0] == 0


def test_not_found(tracked: tuple[str, str], tmp_path: Path) -> None:
    uri, run_id = tracked
    code, out = get("0" * 32, "--uri", uri, "--dest", str(tmp_path / "out"))
    assert code == 3 and "RUN_NOT_FOUND" in out
    code, out = get(run_id, "nothing/here", "--uri", uri, "--dest", str(tmp_path / "out"))
    assert code == 3 and "ARTIFACT_NOT_FOUND" in out and "nothing/here" in out
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("path", ["../x", "/etc/passwd", "model/../../x"])
def test_unsafe_path(tracked: tuple[str, str], tmp_path: Path, path: str) -> None:
    uri, run_id = tracked
    code, out = get(run_id, path, "--uri", uri, "--dest", str(tmp_path / "out"))
    assert code == 2 and "UNSAFE_PATH" in out


def test_destination_is_a_file(tracked: tuple[str, str], tmp_path: Path) -> None:
    uri, run_id = tracked
    taken = tmp_path / "taken"
    taken.write_text("mine")
    code, out = get(run_id, "model", "--uri", uri, "--dest", str(taken))
    assert code == 2 and "INVALID_INPUT" in out and "is a file" in out
    assert taken.read_text() == "mine"


def test_a_folder_where_a_file_goes(tracked: tuple[str, str], tmp_path: Path) -> None:
    uri, run_id = tracked
    (tmp_path / "out" / "model" / "weights.bin").mkdir(parents=True)
    code, out = get(run_id, "model", "--uri", uri, "--dest", str(tmp_path / "out"))
    assert code == 2 and "a folder is there" in out
    # Checked before anything was written: the other file is not there either.
    assert not (tmp_path / "out" / "model" / "config.json").exists()


def test_a_file_where_a_folder_goes(tracked: tuple[str, str], tmp_path: Path) -> None:
    uri, run_id = tracked
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "model").write_text("a file")
    code, out = get(run_id, "model", "--uri", uri, "--dest", str(tmp_path / "out"))
    assert code == 2 and "is a file" in out


def test_symlink_out_of_the_destination(tracked: tuple[str, str], tmp_path: Path) -> None:
    uri, run_id = tracked
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "model").symlink_to(outside)
    code, out = get(run_id, "model", "--uri", uri, "--dest", str(tmp_path / "out"))
    assert code == 2 and "UNSAFE_PATH" in out
    assert list(outside.iterdir()) == []


def test_unwritable_destination(tracked: tuple[str, str], tmp_path: Path) -> None:
    """A destination the OS refuses (a name over NAME_MAX: even root cannot create it)."""
    uri, run_id = tracked
    code, out = get(run_id, "model", "--uri", uri, "--dest", str(tmp_path / ("x" * 300)))
    assert code == 2 and "cannot write" in out
    assert "Traceback" not in out


def test_server_down(tmp_path: Path) -> None:
    code, out = get("0" * 32, "--uri", "http://127.0.0.1:9", "--dest", str(tmp_path / "o"))
    assert code == 4 and "BACKEND_UNAVAILABLE" in out
