"""Artifact path safety: cleaning, confined folder walks and confined destinations."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from windlass.artifacts.paths import clean_artifact_path, confined_destination, walk_local
from windlass.exceptions import ArtifactNotFound, InvalidInput, UnsafePath


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("model.pkl", "model.pkl"),
        ("a/b/c.txt", "a/b/c.txt"),
        ("a//b/./c.txt", "a/b/c.txt"),
        ("./a/b/", "a/b"),
        ("dir with spaces/ü.txt", "dir with spaces/ü.txt"),
        ("a..b/..c", "a..b/..c"),
        ("ab:c", "ab:c"),
        ("logs/12:00.txt", "logs/12:00.txt"),
    ],
)
def test_clean_paths_are_normalized(raw: str, clean: str) -> None:
    assert clean_artifact_path(raw) == clean


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        (".", "empty"),
        ("./", "empty"),
        ("..", "'..'"),
        ("../secret", "'..'"),
        ("a/../../b", "'..'"),
        ("a/..", "'..'"),
        ("/etc/passwd", "absolute"),
        ("//server/share", "absolute"),
        ("C:/Windows", "drive letter"),
        ("c:evil", "drive letter"),
        ("x:y", "drive letter"),
        ("..\\..\\evil", "backslash"),
        ("a\\b", "backslash"),
        ("a\x00b", "NUL"),
        ("a\nb", "control character"),
    ],
)
def test_unsafe_paths_are_refused(raw: str, reason: str) -> None:
    with pytest.raises(UnsafePath) as caught:
        clean_artifact_path(raw)
    assert reason in caught.value.message
    assert repr(raw) in caught.value.message
    assert isinstance(caught.value, InvalidInput)
    assert caught.value.to_dict()["error_code"] == "UNSAFE_PATH"


def test_non_string_path_is_refused() -> None:
    with pytest.raises(UnsafePath):
        clean_artifact_path(b"bytes")  # type: ignore[arg-type]


@given(st.text(alphabet=st.sampled_from(["a", "b", ".", "/", "\\", ":", "\x00", "C"]), max_size=12))
def test_cleaned_paths_never_escape(raw: str) -> None:
    try:
        clean = clean_artifact_path(raw)
    except UnsafePath:
        return
    parts = clean.split("/")
    assert clean
    assert not clean.startswith("/")
    assert ".." not in parts
    assert "." not in parts
    assert "" not in parts
    assert "\\" not in clean
    assert "\x00" not in clean
    assert clean_artifact_path(clean) == clean


def _tree(root: Path) -> Path:
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "a.txt").write_text("a")
    (root / "sub" / "b.txt").write_text("b")
    (root / "sub" / "deeper" / "c.txt").write_text("c")
    return root


def test_walk_folder_yields_relative_posix_paths(tmp_path: Path) -> None:
    root = _tree(tmp_path / "run")
    found = [(rel, file.read_text()) for file, rel in walk_local(root)]
    assert found == [("a.txt", "a"), ("sub/b.txt", "b"), ("sub/deeper/c.txt", "c")]


def test_walk_single_file(tmp_path: Path) -> None:
    file = tmp_path / "model.bin"
    file.write_bytes(b"m")
    assert list(walk_local(file)) == [(file.resolve(), "model.bin")]


def test_walk_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ArtifactNotFound):
        list(walk_local(tmp_path / "nope"))


def test_walk_follows_symlinks_inside_the_folder(tmp_path: Path) -> None:
    root = _tree(tmp_path / "run")
    (root / "link.txt").symlink_to(root / "sub" / "b.txt")
    (root / "linked-dir").symlink_to(root / "sub" / "deeper")
    found = {rel: file.read_text() for file, rel in walk_local(root)}
    assert found["link.txt"] == "b"
    assert found["linked-dir/c.txt"] == "c"


def test_walk_refuses_symlink_leading_out(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("do not log me")
    root = _tree(tmp_path / "run")
    (root / "sub" / "innocent.txt").symlink_to(secret)
    with pytest.raises(UnsafePath) as caught:
        list(walk_local(root))
    assert "sub/innocent.txt" in caught.value.message
    assert "outside" in caught.value.message


def test_walk_refuses_relative_symlink_leading_out(tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    root = _tree(tmp_path / "run")
    (root / "escape").symlink_to(Path("..") / "outside")
    with pytest.raises(UnsafePath):
        list(walk_local(root))


def test_walk_refuses_symlink_loop(tmp_path: Path) -> None:
    root = _tree(tmp_path / "run")
    (root / "sub" / "loop").symlink_to(root / "sub")
    with pytest.raises(UnsafePath) as caught:
        list(walk_local(root))
    assert "loop" in caught.value.message


def test_walk_refuses_dangling_symlink(tmp_path: Path) -> None:
    root = _tree(tmp_path / "run")
    (root / "dangling").symlink_to(root / "gone")
    with pytest.raises(ArtifactNotFound):
        list(walk_local(root))


def test_walk_skips_fifos(tmp_path: Path) -> None:
    root = _tree(tmp_path / "run")
    os.mkfifo(root / "pipe")
    assert [rel for _, rel in walk_local(root)] == ["a.txt", "sub/b.txt", "sub/deeper/c.txt"]


def test_confined_destination_inside_root(tmp_path: Path) -> None:
    assert confined_destination(tmp_path, "a/b.txt") == tmp_path.resolve() / "a" / "b.txt"


@pytest.mark.parametrize("rel", ["../x", "/etc/passwd", "a/../../x", "", "a\x00b", "..\\x"])
def test_confined_destination_refuses_escapes(tmp_path: Path, rel: str) -> None:
    with pytest.raises(UnsafePath):
        confined_destination(tmp_path / "dest", rel)


def test_confined_destination_refuses_symlink_escape(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (dest / "out").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UnsafePath) as caught:
        confined_destination(dest, "out/file.txt")
    assert "outside" in caught.value.message
