"""The one URI parser: store URIs and object URIs."""

from __future__ import annotations

import pytest

from windlass.exceptions import InvalidUri
from windlass.uris import ObjectUri, StoreKind, parse_object_uri, store_kind


@pytest.mark.parametrize(
    ("uri", "kind"),
    [
        ("sqlite:///tmp/x.db", StoreKind.SQL),
        ("postgresql://u@h/db", StoreKind.SQL),
        ("postgresql+psycopg://u@h/db", StoreKind.SQL),
        ("postgres://u@h/db", StoreKind.SQL),
        ("http://127.0.0.1:5000", StoreKind.REST),
        ("https://windlass.example", StoreKind.REST),
    ],
)
def test_store_kinds(uri: str, kind: StoreKind) -> None:
    assert store_kind(uri) is kind


@pytest.mark.parametrize("uri", ["ftp://x", "/just/a/path", "mysql://u@h/db", ""])
def test_unknown_store_uri_names_the_forms(uri: str) -> None:
    with pytest.raises(InvalidUri, match="sqlite:///path"):
        store_kind(uri)


@pytest.mark.parametrize(
    ("uri", "parsed"),
    [
        (
            "runs:/" + "a" * 32 + "/model/weights.bin",
            ObjectUri("runs", "a" * 32, path="model/weights.bin"),
        ),
        ("runs:/" + "b" * 32, ObjectUri("runs", "b" * 32)),
        ("models:/churn/3", ObjectUri("models", "churn", version=3)),
        ("models:/churn@champion", ObjectUri("models", "churn", alias="champion")),
        ("models:/churn", ObjectUri("models", "churn")),
        ("datasets:/customers@latest", ObjectUri("datasets", "customers", alias="latest")),
        ("prompts:/support-answer/4", ObjectUri("prompts", "support-answer", version=4)),
        ("deployments:/churn-prod", ObjectUri("deployments", "churn-prod")),
    ],
)
def test_object_uris_round_trip(uri: str, parsed: ObjectUri) -> None:
    assert parse_object_uri(uri) == parsed
    assert str(parsed) == uri


@pytest.mark.parametrize(
    "uri",
    [
        "models:/",
        "models:/churn/x",
        "models:/churn@",
        "runs:/not-an-id/x",
        "buckets:/x",
        "deployments:/prod/2",
        "models:/../etc",
        "models:/churn/3@alias",
    ],
)
def test_bad_object_uris_are_refused(uri: str) -> None:
    with pytest.raises(InvalidUri):
        parse_object_uri(uri)


@pytest.mark.parametrize(
    ("uri", "parsed"),
    [
        (
            "models://p2/churn@champion",
            ObjectUri("models", "churn", alias="champion", project="p2"),
        ),
        ("models://p2/churn/3", ObjectUri("models", "churn", version=3, project="p2")),
        (
            "prompts://team.a/greet@prod",
            ObjectUri("prompts", "greet", alias="prod", project="team.a"),
        ),
        ("deployments://p2/churn-prod", ObjectUri("deployments", "churn-prod", project="p2")),
        ("datasets://p2/customers", ObjectUri("datasets", "customers", project="p2")),
        (
            "runs://p2/" + "c" * 32 + "/model",
            ObjectUri("runs", "c" * 32, path="model", project="p2"),
        ),
    ],
)
def test_object_uris_may_name_their_project(uri: str, parsed: ObjectUri) -> None:
    assert parse_object_uri(uri) == parsed
    assert str(parsed) == uri


@pytest.mark.parametrize(
    "uri",
    [
        "models:///churn",
        "models://p2/",
        "models://-p/churn",
        "models://p2//churn",
        "models://p2",
        "deployments://p2/prod/2",
        "models://p 2/churn",
    ],
)
def test_bad_project_authorities_are_refused(uri: str) -> None:
    with pytest.raises(InvalidUri):
        parse_object_uri(uri)


def test_a_uri_and_a_project_option_must_agree() -> None:
    from windlass.uris import pick_project, with_project

    assert with_project("models:/churn@a", "p2") == "models://p2/churn@a"
    assert with_project("models://p2/churn@a", "p2") == "models://p2/churn@a"
    assert with_project("models:/churn@a", None) == "models:/churn@a"
    assert with_project("./a/folder", "p2") == "./a/folder"
    assert pick_project(None, None, "models:/m") is None
    with pytest.raises(InvalidUri, match="names project 'p2' but project 'p3'"):
        with_project("models://p2/churn@a", "p3")


@pytest.mark.parametrize(
    ("uri", "path"),
    [
        ("sqlite:///runs.db", "runs.db"),
        ("sqlite:////abs/runs.db", "/abs/runs.db"),
        ("sqlite+pysqlite:///x/y.db?timeout=3", "x/y.db"),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("postgresql://u@h/db", None),
        ("http://h", None),
    ],
)
def test_sqlite_path(uri: str, path: str | None) -> None:
    from windlass.uris import sqlite_path

    assert sqlite_path(uri) == path
