"""The OIDC settings and the claim → role mapping, without a provider."""

from __future__ import annotations

import pytest

from windlass import config
from windlass.access.oidc import granted_roles, identity_from_claims
from windlass.config import RoleGrant
from windlass.exceptions import ConfigError, InvalidInput, Unauthenticated
from windlass.principal import Role
from windlass.server.oidc import LoginState, safe_next


def test_role_mapping_parses_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "WINDLASS_OIDC_ROLES", " churn-team=editor:churn , ml admins=admin:churn,ops=server-admin,"
    )
    assert config.settings.oidc_roles == [
        RoleGrant("churn-team", "editor", "churn"),
        RoleGrant("ml admins", "admin", "churn"),
        RoleGrant("ops", "server-admin", None),
    ]
    monkeypatch.delenv("WINDLASS_OIDC_ROLES")
    assert config.settings.oidc_roles == []


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("churn-team", "write CLAIM_VALUE=ROLE:PROJECT"),
        ("=editor:churn", "write CLAIM_VALUE=ROLE:PROJECT"),
        ("churn-team=owner:churn", "role 'owner' is not viewer, editor, admin or server-admin"),
        ("churn-team=editor", "editor needs a project name"),
        ("churn-team=editor:", "editor needs a project name"),
        ("churn-team=editor:bad/name", "editor needs a project name"),
        ("ops=server-admin:churn", "server-admin takes no project"),
    ],
)
def test_a_bad_mapping_entry_is_named(
    monkeypatch: pytest.MonkeyPatch, entry: str, problem: str
) -> None:
    monkeypatch.setenv("WINDLASS_OIDC_ROLES", f"ok=viewer:churn,{entry}")
    with pytest.raises(ConfigError) as refused:
        _ = config.settings.oidc_roles
    assert "WINDLASS_OIDC_ROLES" in refused.value.message
    assert f"entry {entry!r}" in refused.value.message and problem in refused.value.message


@pytest.mark.parametrize(
    "url", ["http://idp.example.com/x", "ftp://127.0.0.1/", "not a url", "https://"]
)
def test_the_discovery_url_must_be_https_or_loopback(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("WINDLASS_OIDC_DISCOVERY_URL", url)
    with pytest.raises(ConfigError, match="WINDLASS_OIDC_DISCOVERY_URL"):
        _ = config.settings.oidc_discovery_url


def test_loopback_http_and_https_discovery_urls_are_accepted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for url in ("https://idp.example.com/.well-known/openid-configuration", "http://127.0.0.1:8/"):
        monkeypatch.setenv("WINDLASS_OIDC_DISCOVERY_URL", url)
        assert config.settings.oidc_discovery_url == url


def test_granted_roles_take_the_highest_and_name_every_mapped_project() -> None:
    grants = [
        RoleGrant("readers", "viewer", "churn"),
        RoleGrant("writers", "editor", "churn"),
        RoleGrant("fraud", "viewer", "fraud"),
        RoleGrant("ops", "server-admin", None),
    ]
    assert granted_roles(grants, frozenset({"readers", "writers"})) == (
        {"churn": Role.EDITOR, "fraud": None},
        False,
    )
    assert granted_roles(grants, frozenset({"ops"})) == ({"churn": None, "fraud": None}, True)
    assert granted_roles(grants[:1], frozenset()) == ({"churn": None}, None)


def test_identity_from_claims_falls_back_to_sub_and_reads_string_or_list() -> None:
    base = {"iss": "https://idp", "sub": "s-1"}
    who = identity_from_claims(
        {**base, "preferred_username": "ada", "groups": ["a", 3, "b"]},
        username_claim="preferred_username",
        role_claim="groups",
    )
    assert (who.username, who.claim_values, who.link) == ("ada", {"a", "b"}, "https://idp s-1")
    who = identity_from_claims(
        {**base, "preferred_username": " ", "role": "x"},
        username_claim="preferred_username",
        role_claim="role",
    )
    assert (who.username, who.claim_values) == ("s-1", {"x"})


@pytest.mark.parametrize(
    "target", ["https://evil.example", "//evil.example", "/\\evil", "relative", "/a\nb"]
)
def test_next_refuses_anything_off_the_server(target: str) -> None:
    with pytest.raises(InvalidInput):
        safe_next(target)


def test_next_keeps_a_path() -> None:
    assert safe_next(None) == "/"
    assert safe_next("/ui/runs?page=2#top") == "/ui/runs?page=2#top"


def test_login_state_cookie_is_signed_and_expires() -> None:
    key = b"k" * 32
    state = LoginState.new("/x")
    assert LoginState.open(state.seal(key), key) == state
    body, _, signature = state.seal(key).partition(".")
    with pytest.raises(Unauthenticated):
        LoginState.open(state.seal(b"other key"), key)
    with pytest.raises(Unauthenticated):
        LoginState.open(f"{body}x.{signature}", key)
    old = LoginState(state.state, state.nonce, state.verifier, "/", expires=1.0)
    with pytest.raises(Unauthenticated, match="too long"):
        LoginState.open(old.seal(key), key)
