"""``windlass login --oidc``: a windlass token from the server's OpenID Connect provider.

The CLI asks the server (``--uri http://…``) which provider and client id it uses
(``GET /api/v1/auth/oidc``), gets an ID token from that provider by the OAuth 2.0 device
authorization grant (RFC 8628: it prints a URL and a code to confirm in a browser, then
polls), and exchanges it at the server (``POST /api/v1/auth/oidc/exchange``) for an
expiring windlass token. ``--id-token-stdin`` skips the device flow, for CI systems that
hold an ID token already (one issued for the server's client id).

The CLI keeps no credentials file: the token is printed on stdout alone (every message
goes to stderr), so ``export WINDLASS_TOKEN=$(windlass login --oidc)`` sets it.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import typer

from windlass.cli.context import JSON_OPTION, URI_OPTION
from windlass.cli.render import print_json
from windlass.exceptions import (
    InvalidInput,
    ProviderError,
    Unauthenticated,
    WindlassError,
    error_from_dict,
)

_DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
#: The longest the CLI waits for a device login, whatever the provider allows.
MAX_WAIT_SECONDS = 900


def _json(answer: Any, what: str) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ProviderError(f"{what} answered {answer.status_code} without a JSON object")
    return body


def _server_error(answer: Any) -> WindlassError:
    return error_from_dict(_json(answer, "the server"), answer.status_code)


def device_id_token(http: Any, oidc: dict[str, Any]) -> str:
    """Return an ID token got by the device authorization grant (prints the URL and code)."""
    discovery = http.get(oidc["discovery_url"])
    document = _json(discovery, "the OIDC discovery document")
    device_endpoint = document.get("device_authorization_endpoint")
    if not isinstance(device_endpoint, str):
        raise InvalidInput(
            "the OIDC provider offers no device authorization (no "
            "device_authorization_endpoint): pass an ID token with --id-token-stdin"
        )
    started = http.post(
        device_endpoint, data={"client_id": oidc["client_id"], "scope": oidc["scopes"]}
    )
    grant = _json(started, "the device authorization endpoint")
    if started.status_code != 200 or "device_code" not in grant:
        raise ProviderError(f"the device authorization failed: {grant.get('error', grant)}")
    shown = grant.get("verification_uri_complete") or grant.get("verification_uri")
    typer.echo(f"Open {shown} and confirm the code {grant.get('user_code')}", err=True)
    interval = float(grant.get("interval", 5))
    deadline = time.monotonic() + min(float(grant.get("expires_in", 600)), MAX_WAIT_SECONDS)
    while time.monotonic() < deadline:
        time.sleep(interval)
        polled = http.post(
            document["token_endpoint"],
            data={
                "grant_type": _DEVICE_GRANT,
                "device_code": grant["device_code"],
                "client_id": oidc["client_id"],
            },
        )
        body = _json(polled, "the token endpoint")
        if polled.status_code == 200:
            if not isinstance(body.get("id_token"), str):
                raise ProviderError("the provider sent no id_token (is 'openid' a scope?)")
            return str(body["id_token"])
        error = body.get("error")
        if error == "authorization_pending":
            continue
        if error == "slow_down":
            interval += 5
            continue
        raise Unauthenticated(f"the device login ended: {error or polled.status_code}")
    raise Unauthenticated("the device login was not confirmed in time")


def login(
    oidc: bool = typer.Option(False, "--oidc", help="Log in with the server's OIDC provider."),
    id_token_stdin: bool = typer.Option(
        False, "--id-token-stdin", help="Exchange an ID token read from stdin (CI)."
    ),
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Get an expiring API token by OIDC and print it (export it as WINDLASS_TOKEN)."""
    import httpx

    from windlass import config

    if not oidc:
        raise InvalidInput("windlass login needs --oidc (the one login method for now)")
    server = (uri or "").rstrip("/")
    if not server.startswith(("http://", "https://")):
        raise InvalidInput(
            f"windlass login needs a server: --uri http(s)://host:port, not {server or 'none'!r}"
        )
    with httpx.Client(timeout=config.settings.http_timeout_seconds) as http:
        if id_token_stdin:
            id_token = sys.stdin.readline().strip()
            if not id_token:
                raise InvalidInput("no ID token on stdin")
        else:
            settings = http.get(f"{server}/api/v1/auth/oidc")
            if settings.status_code != 200:
                raise _server_error(settings)
            id_token = device_id_token(http, _json(settings, "the server"))
        answer = http.post(f"{server}/api/v1/auth/oidc/exchange", json={"id_token": id_token})
        if answer.status_code != 200:
            raise _server_error(answer)
        body = _json(answer, "the server")
    if as_json:
        print_json(body)
        return
    token = body["token"]
    typer.echo(
        f"logged in as {body['user']['name']}; token {token['id']} expires "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(token['expires_at'] / 1000))}",
        err=True,
    )
    typer.echo(body["secret"])
