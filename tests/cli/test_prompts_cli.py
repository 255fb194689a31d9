"""``windlass prompts``: ls, show, versions, diff, alias, render, push, pull; errors named."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import windlass
import windlass.genai.prompts.fluent as prompts
from windlass.cli.commands.prompts import parse_value, parse_vars, read_vars_file
from windlass.cli.main import build_app
from windlass.exceptions import InvalidInput

runner = CliRunner()
SUPPORT_V1 = [
    {"role": "system", "content": "You answer for {{ product }}."},
    {"role": "user", "content": "{{ question }}"},
]
SUPPORT_V2 = [
    {"role": "system", "content": "You answer for {{ product }}, briefly."},
    {"role": "user", "content": "{{ question }}"},
]


@pytest.fixture
def uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A direct SQLite store: ``support-answer`` versions 1 and 2 (chat), ``greet`` 1 (text)."""
    store = f"sqlite:///{tmp_path / 'prompts.db'}"
    monkeypatch.setenv("WINDLASS_PROJECT", "cli-prompts")
    windlass.set_tracking_uri(store)
    prompts.register(
        "support-answer",
        messages=SUPPORT_V1,
        model={"provider": "openai", "name": "gpt-4o-mini", "temperature": 0.2},
        commit_message="first",
    )
    prompts.register(
        "support-answer",
        messages=SUPPORT_V2,
        model={"provider": "openai", "name": "gpt-4o-mini", "temperature": 0.1},
        variables={"question": {"type": "str", "default": "hello?"}},
        commit_message="shorter system prompt",
    )
    prompts.register(
        "greet",
        "Hello {{ who }}, {{ n }} times{% if loud %}!{% endif %}",
        variables={"n": "int", "loud": {"type": "bool", "default": False}},
    )
    windlass.set_tracking_uri(None)
    return store


@pytest.fixture(autouse=True)
def _forget_uri() -> Iterator[None]:
    """``--uri`` points the SDK at a store of this test: do not leave it to the next one."""
    yield
    windlass.set_tracking_uri(None)


def invoke(*args: str) -> tuple[int, str]:
    """Run a command; return its exit code and its output with whitespace runs as one space.

    The error console wraps long messages, so a message is matched on its words.
    """
    result = runner.invoke(build_app(), ["prompts", *args])
    return result.exit_code, " ".join(result.output.split())


def ok(*args: str) -> str:
    result = runner.invoke(build_app(), ["prompts", *args])
    assert result.exit_code == 0, result.output
    return result.output


def ok_json(*args: str) -> Any:
    return json.loads(ok(*args, "--json"))


def ok_items(*args: str) -> Any:
    """The items of a ``--json`` listing (``{"items": [...], "next_page_token": ...}``)."""
    listed = ok_json(*args)
    assert list(listed) == ["items", "next_page_token"]
    return listed["items"]


def test_ls_show_and_versions(uri: str) -> None:
    listed = ok_items("ls", "--uri", uri)
    assert [(p["name"], p["latest_version"]) for p in listed] == [
        ("greet", 1),
        ("support-answer", 2),
    ]
    assert "support-answer" in ok("ls", "--uri", uri)

    shown = ok_json("show", "support-answer", "--uri", uri)
    assert shown["version"] == 2 and shown["template"] == SUPPORT_V2
    assert shown["commit_message"] == "shorter system prompt"
    assert ok_json("show", "support-answer/1", "--uri", uri)["template"] == SUPPORT_V1
    text = ok("show", "support-answer/2", "--uri", uri)
    for expected in (
        "support-answer/2 · chat prompt",
        "[system]",
        "You answer for {{ product }}, briefly.",
        "model.temperature: 0.1",
        "message:",
        "shorter system prompt",
        shown["content_hash"],
        "hello?",
    ):
        assert expected in text
    assert "[template]" in ok("show", "greet", "--uri", uri)

    listed_versions = ok_items("versions", "support-answer", "--uri", uri)
    assert [v["version"] for v in listed_versions] == [2, 1]
    assert "first" in ok("versions", "support-answer", "--uri", uri)


def test_project_option_picks_the_project(uri: str) -> None:
    windlass.set_tracking_uri(uri)
    prompts.register("other", "just {{ x }}", project="elsewhere")
    windlass.set_tracking_uri(None)
    assert [p["name"] for p in ok_items("ls", "-p", "elsewhere", "--uri", uri)] == ["other"]
    code, output = invoke("show", "other", "--uri", uri)
    assert code == 3 and "'other'" in output


def test_diff_reads_like_a_diff(uri: str) -> None:
    text = ok("diff", "support-answer", "1", "2", "--uri", uri)
    assert "--- support-answer/1" in text and "+++ support-answer/2" in text
    assert "-You answer for {{ product }}." in text
    assert "+You answer for {{ product }}, briefly." in text
    assert "-temperature: 0.2" in text and "+temperature: 0.1" in text
    ok("alias", "support-answer", "production", "1", "--uri", uri)
    data = ok_json("diff", "support-answer", "production", "latest", "--uri", uri)
    assert "+temperature: 0.1" in data["diff"]
    assert "same content" in ok("diff", "support-answer", "2", "latest", "--uri", uri)


def test_alias_set_move_delete_and_history(uri: str) -> None:
    assert "support-answer@production → version 1" in ok(
        "alias", "support-answer", "production", "1", "--uri", uri
    )
    moved = ok_json("alias", "support-answer", "production", "2", "--uri", uri)
    assert (moved["from_version"], moved["to_version"]) == (1, 2)
    assert ok_json("show", "support-answer@production", "--uri", uri)["version"] == 2
    assert "removed" in ok("alias", "support-answer", "production", "--delete", "--uri", uri)
    history = ok_items("alias", "support-answer", "--history", "--uri", uri)
    assert [(e["from_version"], e["to_version"]) for e in history] == [(None, 1), (1, 2), (2, None)]
    assert all(e["claimed_by"] and e["at"] for e in history)
    text = ok("alias", "support-answer", "production", "--history", "--uri", uri)
    assert "production" in text and "removed" in text
    code, output = invoke("show", "support-answer@production", "--uri", uri)
    assert code == 3 and "production" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["support-answer"], "give an alias"),
        (["support-answer", "production"], "give the version"),
        (["support-answer", "production", "1", "--delete"], "not a version"),
        (["support-answer", "production", "--delete", "--history"], "not both"),
        (["support-answer", "latest", "1"], "reserved"),
    ],
)
def test_alias_bad_arguments_are_named(uri: str, args: list[str], message: str) -> None:
    code, output = invoke("alias", *args, "--uri", uri)
    assert code == 2 and message in output


def test_render_with_vars_and_vars_files(uri: str, tmp_path: Path) -> None:
    assert (
        ok(
            "render",
            "greet",
            "--var",
            "who=Ann",
            "--var",
            "n=3",
            "--var",
            "loud=true",
            "--uri",
            uri,
        ).strip()
        == "Hello Ann, 3 times!"
    )
    rendered = ok_json(
        "render",
        "support-answer/1",
        "--var",
        "product=Acme",
        "--var",
        'question="42"',
        "--uri",
        uri,
    )
    assert (rendered["name"], rendered["version"]) == ("support-answer", 1)
    assert rendered["rendered"][1] == {"role": "user", "content": "42"}
    text = ok("render", "support-answer", "--var", "product=Acme", "--uri", uri)
    assert "[user]" in text and "hello?" in text
    as_json = tmp_path / "vars.json"
    as_json.write_text(json.dumps({"who": "Bo", "n": 2}))
    as_yaml = tmp_path / "vars.yaml"
    as_yaml.write_text("who: Cy\nn: 5\n")
    assert (
        ok("render", "greet", "--vars-file", str(as_json), "--uri", uri).strip()
        == "Hello Bo, 2 times"
    )
    assert (
        ok("render", "greet", "--vars-file", str(as_yaml), "--var", "n=7", "--uri", uri).strip()
        == "Hello Cy, 7 times"
    )


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["greet", "--var", "who=Ann"], 2, "missing variable 'n'"),
        (["greet", "--var", "who=Ann", "--var", "n=three"], 2, "'n'"),
        (["greet", "--var", "who=Ann", "--var", "n=1", "--var", "colour=red"], 2, "'colour'"),
        (["greet", "--var", "noequals"], 2, "KEY=VALUE"),
        (["nope", "--var", "x=1"], 3, "'nope'"),
        (["greet/9"], 3, "9"),
        (["bad name!"], 2, "bad name!"),
    ],
)
def test_render_errors_are_named(uri: str, args: list[str], code: int, message: str) -> None:
    got, output = invoke("render", *args, "--uri", uri)
    assert got == code and message in output, output


def test_render_sandbox_violation_is_refused(uri: str) -> None:
    windlass.set_tracking_uri(uri)
    prompts.register("probe", "{{ x|attr(name) }}")
    windlass.set_tracking_uri(None)
    code, output = invoke(
        "render", "probe", "--var", "x=1", "--var", "name=__class__", "--uri", uri
    )
    assert code == 2 and "refused by the sandbox" in output and "__class__" in output
    assert "<class" not in output


def test_pull_then_push_is_idempotent_and_edits_make_versions(uri: str, tmp_path: Path) -> None:
    folder = tmp_path / "prompts"
    pulled = ok_items("pull", "greet", "support-answer/1", "-o", str(folder), "--uri", uri)
    assert [Path(p["path"]).name for p in pulled] == ["greet.yaml", "support-answer.yaml"]
    assert "version 1" in (folder / "support-answer.yaml").read_text()
    ok("pull", "support-answer", "-o", str(folder), "--uri", uri)  # back to the newest

    text = ok("push", str(folder), "--uri", uri)
    assert "unchanged greet/1" in text and "unchanged support-answer/2" in text
    assert "0 created, 2 unchanged" in text

    path = folder / "greet.yaml"
    path.write_text(path.read_text().replace("Hello", "Hi"))
    results = ok_items("push", str(folder), "-m", "say hi", "--uri", uri)
    assert {(r["name"], r["version"], r["status"]) for r in results} == {
        ("greet", 2, "created"),
        ("support-answer", 2, "unchanged"),
    }
    newest = ok_json("show", "greet", "--uri", uri)
    assert newest["template"].startswith("Hi ") and newest["commit_message"] == "say hi"
    assert "unchanged greet/2" in ok("push", str(folder), "--uri", uri)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("template: [unclosed\n", "broken.yaml, line"),
        ("template: '{{ x.__class__ }}'\n", "not allowed in a prompt template"),
        ("template: hi\ncolour: red\n", "'colour'"),
    ],
)
def test_push_bad_files_are_named_and_register_nothing(
    uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)  # a short path: the error console folds long words
    folder = Path("prompts")
    folder.mkdir()
    (folder / "fresh.yaml").write_text("template: 'new {{ thing }}'\n")
    (folder / "broken.yaml").write_text(content)
    code, output = invoke("push", str(folder), "--uri", uri)
    assert code == 2 and "broken.yaml" in output and message in output, output
    assert "fresh" not in [p["name"] for p in ok_items("ls", "--uri", uri)]


def test_pull_and_push_errors_are_named(uri: str, tmp_path: Path) -> None:
    code, output = invoke("pull", "greet", "nope", "-o", str(tmp_path / "out"), "--uri", uri)
    assert code == 3 and "'nope'" in output
    code, output = invoke("pull", "greet", "bad name!", "-o", str(tmp_path / "x"), "--uri", uri)
    assert code == 2 and "bad name!" in output and not (tmp_path / "x").exists()
    code, output = invoke("push", str(tmp_path / "missing"), "--uri", uri)
    assert code == 2 and "missing" in output
    code, output = invoke("versions", "nope", "--uri", uri)
    assert code == 3 and "'nope'" in output


def test_parse_value_and_vars() -> None:
    assert parse_value("42") == 42 and parse_value("true") is True
    assert parse_value("[1, 2]") == [1, 2] and parse_value('{"a": 1}') == {"a": 1}
    assert parse_value('"42"') == "42" and parse_value("Acme") == "Acme"
    assert parse_value("") == "" and parse_value("a=b") == "a=b"
    assert parse_vars(["q=a=b", "n=1", "n=2"]) == {"q": "a=b", "n": 2}
    with pytest.raises(InvalidInput, match="KEY=VALUE"):
        parse_vars(["=1"])


def test_read_vars_file_names_bad_files(tmp_path: Path) -> None:
    bad_json = tmp_path / "v.json"
    bad_json.write_text("{nope")
    with pytest.raises(InvalidInput, match=r"v\.json: not valid JSON"):
        read_vars_file(bad_json)
    bad_yaml = tmp_path / "v.yaml"
    bad_yaml.write_text("a: [1\n")
    with pytest.raises(InvalidInput, match=r"v\.yaml: not valid YAML"):
        read_vars_file(bad_yaml)
    a_list = tmp_path / "list.yml"
    a_list.write_text("- 1\n")
    with pytest.raises(InvalidInput, match="mapping"):
        read_vars_file(a_list)
    with pytest.raises(InvalidInput, match="cannot read"):
        read_vars_file(tmp_path / "absent.json")
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert read_vars_file(empty) == {}
