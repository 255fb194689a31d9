"""CORS is off unless ``WINDLASS_CORS_ORIGINS`` names exact origins."""

from __future__ import annotations

import httpx
import pytest

from windlass import config
from windlass.exceptions import ConfigError
from windlass_testing import ServerProcess

ORIGIN = "https://app.example.com"
PREFLIGHT = {
    "Origin": ORIGIN,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


def allow_headers(answer: httpx.Response) -> list[str]:
    return [name for name in answer.headers if name.startswith("access-control-")]


def test_without_origins_no_response_carries_cors_headers(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        plain = client.get("/api/v1/projects", headers={"Origin": ORIGIN})
        assert plain.status_code == 200
        assert allow_headers(plain) == []
        preflight = client.options("/api/v1/projects", headers=PREFLIGHT)
        assert preflight.status_code in (404, 405)
        assert allow_headers(preflight) == []


def test_configured_origins_and_only_those_are_allowed(
    server_factory: type[ServerProcess],
) -> None:
    origins = f"{ORIGIN}, http://localhost:3000"
    server = server_factory(env={"WINDLASS_CORS_ORIGINS": origins})
    with httpx.Client(base_url=server.url, timeout=30) as client:
        preflight = client.options("/api/v1/projects", headers=PREFLIGHT)
        assert preflight.status_code == 200, preflight.text
        assert preflight.headers["access-control-allow-origin"] == ORIGIN
        assert "POST" in preflight.headers["access-control-allow-methods"]
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
        assert "access-control-allow-credentials" not in preflight.headers
        plain = client.get("/api/v1/projects", headers={"Origin": "http://localhost:3000"})
        assert plain.headers["access-control-allow-origin"] == "http://localhost:3000"
        assert "retry-after" in plain.headers["access-control-expose-headers"].lower()

        other = {**PREFLIGHT, "Origin": "https://evil.example.com"}
        refused = client.options("/api/v1/projects", headers=other)
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers
        plain = client.get("/api/v1/projects", headers={"Origin": "https://evil.example.com"})
        assert plain.status_code == 200 and "access-control-allow-origin" not in plain.headers


@pytest.mark.parametrize(
    "value", ["*", "https://app.example.com/", "app.example.com", "ftp://x", "https://a.com/ui"]
)
def test_an_origin_that_is_not_exact_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("WINDLASS_CORS_ORIGINS", value)
    with pytest.raises(ConfigError, match=r"WINDLASS_CORS_ORIGINS.*not an exact origin"):
        _ = config.settings.cors_origins


def test_origins_are_read_as_a_list(monkeypatch: pytest.MonkeyPatch) -> None:
    assert config.settings.cors_origins == []
    monkeypatch.setenv("WINDLASS_CORS_ORIGINS", " https://a.example.com ,http://127.0.0.1:8000")
    assert config.settings.cors_origins == ["https://a.example.com", "http://127.0.0.1:8000"]
