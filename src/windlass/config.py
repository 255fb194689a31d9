"""Every ``WINDLASS_*`` setting, one line each, with its default and meaning.

Settings are read from the environment each time they are asked for, so a process (or a
test) can change them at run time. The embedded default needs none of them.

Code reads a setting as a typed attribute of :data:`settings`
(``config.settings.http_timeout_seconds`` is a ``float``), so a misspelled name fails mypy
rather than production. ``SETTINGS`` is the one table (name, default, parser, doc; the
README's table lists it); the ``Settings`` class below is generated from it by
``config_codemod.py`` (one property per row, typed by the parser's return annotation,
``| None`` when there is no default), and a test fails when the two disagree.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from windlass.exceptions import ConfigError


@dataclass(frozen=True)
class Setting:
    """One ``WINDLASS_*`` environment setting."""

    name: str
    default: str | None
    parse: Callable[[str], Any]
    doc: str


def _path(value: str) -> Path:
    return Path(value).expanduser()


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError("must be a positive integer")
    return number


def _positive_float(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise ValueError("must be a positive number")
    return number


def _non_negative_int(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError("must be 0 or a positive integer")
    return number


def _non_negative_float(value: str) -> float:
    number = float(value)
    if not number >= 0:
        raise ValueError("must be 0 or a positive number")
    return number


def _on_off(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in ("on", "off"):
        raise ValueError("must be 'on' or 'off'")
    return lowered == "on"


def _fraction(value: str) -> float:
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise ValueError("must be between 0 and 1")
    return number


def _patterns(value: str) -> list[str]:
    return [p.strip() for p in value.split(",") if p.strip()]


def _origins(value: str) -> list[str]:
    origins = _patterns(value)
    for origin in origins:
        scheme, sep, host = origin.partition("://")
        if scheme not in ("http", "https") or not sep or not host or "/" in host:
            raise ValueError(
                f"{origin!r} is not an exact origin: give scheme://host[:port] without a "
                "path (no wildcards)"
            )
    return origins


def _model_sources(value: str) -> list[str]:
    patterns = _patterns(value)
    claimed = [p for p in patterns if p.startswith("user:")]
    if claimed:
        # A model's creator is whatever its manifest says (the uploader's OS login, or any
        # text a writer to the store chose), so trusting it would let anyone get code run.
        raise ValueError(
            f"creator patterns ({', '.join(claimed)}) are no longer accepted: a model's "
            "creator is claimed by whoever wrote it, not authenticated, so it cannot grant "
            "trust; list model URIs instead (models:/churn/*, runs:/*), or registrant:NAME "
            "for versions an authenticated NAME registered"
        )
    empty = [p for p in patterns if p.startswith(REGISTRANT_PREFIX) and not registrant_of(p)]
    if empty:
        raise ValueError(f"{empty[0]!r} names no registrant: write registrant:NAME")
    return patterns


#: The prefix of a ``WINDLASS_TRUSTED_MODEL_SOURCES`` entry naming a registrant.
REGISTRANT_PREFIX = "registrant:"


def registrant_of(pattern: str) -> str | None:
    """Return NAME of a ``registrant:NAME`` source pattern (None for a URI pattern)."""
    if not pattern.startswith(REGISTRANT_PREFIX):
        return None
    return pattern[len(REGISTRANT_PREFIX) :].strip()


def _url(value: str) -> str:
    """Return an ``https://`` URL, or an ``http://`` one to a loopback host (a local provider)."""
    from urllib.parse import urlsplit

    parts = urlsplit(value.strip())
    loopback = parts.hostname in ("127.0.0.1", "::1", "localhost")
    if not parts.hostname or not (parts.scheme == "https" or (parts.scheme == "http" and loopback)):
        raise ValueError(
            f"{value[:200]!r} is not an https:// URL (http:// only to 127.0.0.1, ::1 or localhost)"
        )
    return value.strip()


def _claim(value: str) -> str:
    name = value.strip()
    if not name or len(name) > 256 or any(c in name for c in " ,=\x00"):
        raise ValueError("must be one claim name (no spaces, commas or '=')")
    return name


#: The roles a ``WINDLASS_OIDC_ROLES`` entry may grant in a project, and the server-wide one.
OIDC_PROJECT_ROLES = ("viewer", "editor", "admin")
OIDC_SERVER_ADMIN = "server-admin"
_PROJECT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,255}$")


@dataclass(frozen=True)
class RoleGrant:
    """One ``WINDLASS_OIDC_ROLES`` entry: a claim value and the role it grants.

    ``project`` is None for ``server-admin`` (a server admin: every project, users).
    """

    value: str
    role: str
    project: str | None


def _role_grants(value: str) -> list[RoleGrant]:
    """Parse ``VALUE=ROLE:PROJECT`` and ``VALUE=server-admin`` entries, comma-separated."""
    grants: list[RoleGrant] = []
    for entry in (e.strip() for e in value.split(",")):
        if not entry:
            continue
        claim_value, sep, target = (part.strip() for part in entry.partition("="))
        role, colon, project = (part.strip() for part in target.partition(":"))
        problem = None
        if not sep or not claim_value:
            problem = "write CLAIM_VALUE=ROLE:PROJECT or CLAIM_VALUE=server-admin"
        elif role == OIDC_SERVER_ADMIN:
            if colon:
                problem = "server-admin takes no project"
        elif role not in OIDC_PROJECT_ROLES:
            problem = f"role {role!r} is not viewer, editor, admin or server-admin"
        elif not colon or not _PROJECT_NAME.fullmatch(project):
            problem = f"{role} needs a project name after ':' (e.g. {role}:churn)"
        if problem is not None:
            raise ValueError(f"entry {entry[:120]!r}: {problem}")
        grants.append(RoleGrant(claim_value, role, project if colon else None))
    return grants


def _text(value: str) -> str:
    return value


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in [
        Setting(
            "WINDLASS_HOME",
            "~/.windlass",
            _path,
            "Folder of the embedded default: `windlass.db` (SQLite) and `artifacts/`.",
        ),
        Setting(
            "WINDLASS_TRACKING_URI",
            None,
            _text,
            "Where the SDK writes: unset = embedded default; `sqlite:///path`, "
            "`postgresql://...` = a store used directly; `http(s)://host:port` = a server.",
        ),
        Setting(
            "WINDLASS_ARTIFACT_URI",
            None,
            _text,
            "Artifact root for a store used directly (`/path`, `file:///path`, "
            "`s3://bucket/prefix`); default `$WINDLASS_HOME/artifacts`.",
        ),
        Setting(
            "WINDLASS_S3_ENDPOINT_URL",
            None,
            _text,
            "Endpoint URL for S3-compatible object storage (MinIO, moto, Ceph).",
        ),
        Setting(
            "WINDLASS_PROJECT",
            "default",
            _text,
            "Project used when the code does not call `set_project`.",
        ),
        Setting(
            "WINDLASS_USER",
            None,
            _text,
            "Who the embedded SDK's writes are recorded as (runs, params, model versions, "
            "alias moves, prompt versions, deployment revisions); unset = the OS login of the "
            "caller.",
        ),
        Setting(
            "WINDLASS_SERVER_USER",
            "anonymous",
            _text,
            "Who a server without authentication records every request's writes as; never "
            "a name from the request body, never the server process's OS login.",
        ),
        Setting(
            "WINDLASS_AUTH",
            "off",
            _on_off,
            "`on`: every request needs an API token and every call is checked against the "
            "caller's roles (server, and the embedded SDK with `WINDLASS_TOKEN`); `off`: "
            "everything is allowed. A server bound beyond loopback refuses `off` unless "
            "started with `--insecure-no-auth`.",
        ),
        Setting(
            "WINDLASS_TOKEN",
            None,
            _text,
            "The API token the SDK and CLI send as `Authorization: Bearer` (and check "
            "against a store used directly when `WINDLASS_AUTH=on`). A secret: never printed "
            "or logged.",
        ),
        Setting(
            "WINDLASS_AUTH_CACHE_SECONDS",
            "5",
            _non_negative_float,
            "How long a verified token is trusted without looking it up again (0: always "
            "look up); revoking or disabling clears it at once in the same process.",
        ),
        Setting(
            "WINDLASS_METRIC_BUFFER_SIZE",
            "200000",
            _positive_int,
            "Points the in-process metric buffer holds before `log_metric` waits for a flush.",
        ),
        Setting(
            "WINDLASS_METRIC_BATCH_SIZE",
            "10000",
            _positive_int,
            "Most points sent to the store in one batch.",
        ),
        Setting(
            "WINDLASS_FLUSH_INTERVAL_SECONDS",
            "0.5",
            _positive_float,
            "How often the background flusher sends buffered points.",
        ),
        Setting(
            "WINDLASS_FLUSH_RETRY_SECONDS",
            "120",
            _positive_float,
            "How long the flusher retries an unreachable store (with backoff) before it "
            "reports the points as lost.",
        ),
        Setting(
            "WINDLASS_HTTP_TIMEOUT_SECONDS",
            "60",
            _positive_float,
            "Timeout of one HTTP request from the SDK to a server.",
        ),
        Setting(
            "WINDLASS_HTTP_RETRIES",
            "5",
            _positive_int,
            "Attempts the REST client makes for a request that failed to connect or got "
            "a 502/503/504.",
        ),
        Setting(
            "WINDLASS_MAX_REQUEST_BYTES",
            str(32 * 1024 * 1024),
            _positive_int,
            "Largest JSON request body the server accepts (artifact uploads stream and "
            "are not limited); larger bodies get 413 PAYLOAD_TOO_LARGE.",
        ),
        Setting(
            "WINDLASS_OTLP_MAX_BODY_BYTES",
            str(64 * 1024 * 1024),
            _positive_int,
            "Largest OTLP trace export (`POST /v1/traces`) the server accepts, as sent "
            "and once decompressed; larger ones get 413 PAYLOAD_TOO_LARGE.",
        ),
        Setting(
            "WINDLASS_AUTH_MAX_FAILURES",
            "10",
            _positive_int,
            "Failed authentications (bad token, password or API key) one source address may "
            "make within `WINDLASS_AUTH_FAILURE_WINDOW_SECONDS` before its requests get 429 "
            "with `Retry-After`.",
        ),
        Setting(
            "WINDLASS_AUTH_FAILURE_WINDOW_SECONDS",
            "60",
            _positive_float,
            "Sliding window over which `WINDLASS_AUTH_MAX_FAILURES` counts an address's "
            "failed authentications.",
        ),
        Setting(
            "WINDLASS_OIDC_DISCOVERY_URL",
            None,
            _url,
            "OpenID Connect provider's discovery document "
            "(`https://issuer/.well-known/openid-configuration`); unset = no OIDC login. Turns "
            "on `/api/v1/auth/oidc/login`, its callback, and the token exchange for CLIs.",
        ),
        Setting(
            "WINDLASS_OIDC_CLIENT_ID",
            None,
            _text,
            "The client id windlass is registered with at the OIDC provider; ID tokens must "
            "name it as their audience.",
        ),
        Setting(
            "WINDLASS_OIDC_CLIENT_SECRET",
            None,
            _text,
            "The client secret of that registration (the browser flow's code exchange). A "
            "secret: never printed or logged.",
        ),
        Setting(
            "WINDLASS_OIDC_REDIRECT_URL",
            None,
            _url,
            "The callback URL registered at the provider; unset = "
            "`<this server's URL>/api/v1/auth/oidc/callback` as the request reached it (set "
            "it behind a proxy).",
        ),
        Setting(
            "WINDLASS_OIDC_SCOPES",
            "openid profile email",
            _text,
            "Scopes the login asks for (space-separated; add e.g. `groups` if the provider "
            "sends the role claim only then).",
        ),
        Setting(
            "WINDLASS_OIDC_USERNAME_CLAIM",
            "preferred_username",
            _claim,
            "ID-token claim naming the windlass user (created on first login); `sub` when "
            "the token lacks it.",
        ),
        Setting(
            "WINDLASS_OIDC_ROLE_CLAIM",
            "groups",
            _claim,
            "ID-token claim (a string or a list of strings) that `WINDLASS_OIDC_ROLES` maps "
            "to roles.",
        ),
        Setting(
            "WINDLASS_OIDC_ROLES",
            "",
            _role_grants,
            "Claim value to role, comma-separated: `VALUE=ROLE:PROJECT` (ROLE viewer, editor "
            "or admin) or `VALUE=server-admin`, e.g. `churn-team=editor:churn,"
            "platform=server-admin`; each login sets the roles of the projects named here.",
        ),
        Setting(
            "WINDLASS_OIDC_TOKEN_SECONDS",
            "43200",
            _positive_int,
            "Lifetime of the windlass token an OIDC login or token exchange issues (12 h).",
        ),
        Setting(
            "WINDLASS_CORS_ORIGINS",
            "",
            _origins,
            "Comma-separated exact origins (`https://app.example.com`) whose browser pages may "
            "call the tracking server (CORS); empty = no CORS headers at all.",
        ),
        Setting(
            "WINDLASS_HEARTBEAT_SECONDS",
            "30",
            _positive_float,
            "How often a running run's process tells the store it is alive.",
        ),
        Setting(
            "WINDLASS_STALE_RUN_SECONDS",
            "900",
            _positive_float,
            "A running run without a heartbeat for this long is marked failed.",
        ),
        Setting(
            "WINDLASS_SQLITE_BUSY_TIMEOUT_MS",
            "30000",
            _positive_int,
            "How long a SQLite writer waits for the lock before failing.",
        ),
        Setting(
            "WINDLASS_TRUSTED_MODEL_SOURCES",
            None,
            _model_sources,
            "Comma-separated patterns of model URIs (`models:/churn/*`, `runs:/*`) or "
            "`registrant:NAME` entries whose pickled or code-carrying models load without "
            "`trust=True`; `registrant:NAME` matches a registry version the store recorded "
            "as registered by NAME authenticated (a token, a password or OIDC; never a "
            "name recorded with auth off, nor one written in the model's files); creator "
            "patterns (`user:...`) are refused, as a model's creator is not authenticated.",
        ),
        Setting(
            "WINDLASS_PREDICTION_LOG_URI",
            None,
            _text,
            "Where model servers write prediction logs (Parquet); default "
            "`<artifact root>/prediction-logs`.",
        ),
        Setting(
            "WINDLASS_PREDICTION_LOG_SAMPLE",
            "1.0",
            _fraction,
            "Share of requests a model server logs (0 turns logging off).",
        ),
        Setting(
            "WINDLASS_PREDICTION_LOG_FLUSH_SECONDS",
            "2",
            _positive_float,
            "How often a model server writes its buffered prediction log.",
        ),
        Setting(
            "WINDLASS_SERVE_POLL_SECONDS",
            "5",
            _positive_float,
            "How often a model server checks for alias moves and deployment changes.",
        ),
        Setting(
            "WINDLASS_SERVE_MAX_QUEUE_ROWS",
            "4096",
            _positive_int,
            "Rows a model server queues per model before answering 503 with Retry-After.",
        ),
        Setting(
            "WINDLASS_SERVE_MAX_BODY_BYTES",
            "67108864",
            _positive_int,
            "Largest request body a model server reads (declared or streamed); a larger "
            "one is answered 413.",
        ),
        Setting(
            "WINDLASS_TRACE_MAX_CHARS",
            "32000",
            _positive_int,
            "Longest captured span input or output (characters); longer text is cut with a marker.",
        ),
        Setting(
            "WINDLASS_TEMPLATE_MAX_OUTPUT_CHARS",
            "1000000",
            _positive_int,
            "Longest text one prompt render may produce, and longest string a template "
            "may build while rendering (characters); more is a `TemplateError`.",
        ),
        Setting(
            "WINDLASS_TEMPLATE_MAX_LOOP_ITERATIONS",
            "100000",
            _positive_int,
            "Most `{% for %}` iterations (all loops, nested ones multiplying) of one "
            "prompt render, and the longest `range()`; more is a `TemplateError`.",
        ),
        Setting(
            "WINDLASS_SERVE_SPEC",
            None,
            _text,
            "Set by `windlass serve` for its worker processes (the URI and options, as JSON).",
        ),
        Setting(
            "WINDLASS_SERVER_STORE",
            None,
            _text,
            "Metadata store URI of `windlass server` (set by `--store`).",
        ),
        Setting(
            "WINDLASS_SERVER_ARTIFACTS",
            None,
            _text,
            "Artifact root URI of `windlass server` (set by `--artifacts`).",
        ),
        Setting(
            "WINDLASS_PRICE_TABLE",
            None,
            _path,
            "JSON or YAML file of LLM token prices (USD per million tokens) that replace "
            "or add to the shipped price table; unset = the shipped table only.",
        ),
        Setting(
            "WINDLASS_LLM_BASE_URL",
            None,
            _text,
            "OpenAI-compatible endpoint `windlass.llm` calls when neither `base_url=` nor "
            "`provider=` is given; unset = `OPENAI_BASE_URL`, else OpenAI's API.",
        ),
        Setting(
            "WINDLASS_LLM_API_KEY",
            None,
            _text,
            "API key `windlass.llm` sends to that endpoint (only to it); unset = "
            "`OPENAI_API_KEY`. Never recorded in spans or errors.",
        ),
        Setting(
            "WINDLASS_LLM_PROVIDERS",
            None,
            _path,
            "YAML or JSON file of named LLM provider profiles for `provider=`: "
            "`name: {base_url, api_key_env or api_key, provider}`.",
        ),
        Setting(
            "WINDLASS_LLM_MAX_RETRIES",
            "2",
            _non_negative_int,
            "Retries the `openai` SDK makes (with its backoff) for an LLM call that was "
            "rate limited (429), failed (408, 409, 5xx) or could not connect.",
        ),
        Setting(
            "WINDLASS_LLM_TIMEOUT_SECONDS",
            "600",
            _positive_float,
            "Timeout of one LLM request when the call gives no `timeout=`.",
        ),
    ]
}


def _value(name: str) -> object:
    """Return the parsed value of setting ``name`` from the environment (its default when unset)."""
    setting = SETTINGS[name]
    raw = os.environ.get(name)
    if raw is None or raw == "":
        raw = setting.default
    if raw is None:
        return None
    try:
        value: object = setting.parse(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is invalid: {exc}", setting=name) from None
    return value


# BEGIN generated from SETTINGS by config_codemod.py (tests/test_config.py checks it)
class Settings:
    """Every ``WINDLASS_*`` setting as a typed attribute, read at each access.

    Generated from ``SETTINGS`` by ``config_codemod.py``: add a row there and rerun it.
    """

    __slots__ = ()

    @property
    def home(self) -> Path:
        """``WINDLASS_HOME``, default ``~/.windlass``.

        Folder of the embedded default: `windlass.db` (SQLite) and `artifacts/`.
        """
        return cast("Path", _value("WINDLASS_HOME"))

    @property
    def tracking_uri(self) -> str | None:
        """``WINDLASS_TRACKING_URI``, unset.

        Where the SDK writes: unset = embedded default; `sqlite:///path`, `postgresql://...` = a
        store used directly; `http(s)://host:port` = a server.
        """
        return cast("str | None", _value("WINDLASS_TRACKING_URI"))

    @property
    def artifact_uri(self) -> str | None:
        """``WINDLASS_ARTIFACT_URI``, unset.

        Artifact root for a store used directly (`/path`, `file:///path`, `s3://bucket/prefix`);
        default `$WINDLASS_HOME/artifacts`.
        """
        return cast("str | None", _value("WINDLASS_ARTIFACT_URI"))

    @property
    def s3_endpoint_url(self) -> str | None:
        """``WINDLASS_S3_ENDPOINT_URL``, unset.

        Endpoint URL for S3-compatible object storage (MinIO, moto, Ceph).
        """
        return cast("str | None", _value("WINDLASS_S3_ENDPOINT_URL"))

    @property
    def project(self) -> str:
        """``WINDLASS_PROJECT``, default ``default``.

        Project used when the code does not call `set_project`.
        """
        return cast("str", _value("WINDLASS_PROJECT"))

    @property
    def user(self) -> str | None:
        """``WINDLASS_USER``, unset.

        Who the embedded SDK's writes are recorded as (runs, params, model versions, alias
        moves, prompt versions, deployment revisions); unset = the OS login of the caller.
        """
        return cast("str | None", _value("WINDLASS_USER"))

    @property
    def server_user(self) -> str:
        """``WINDLASS_SERVER_USER``, default ``anonymous``.

        Who a server without authentication records every request's writes as; never a name from
        the request body, never the server process's OS login.
        """
        return cast("str", _value("WINDLASS_SERVER_USER"))

    @property
    def auth(self) -> bool:
        """``WINDLASS_AUTH``, default ``off``.

        `on`: every request needs an API token and every call is checked against the caller's
        roles (server, and the embedded SDK with `WINDLASS_TOKEN`); `off`: everything is allowed.
        A server bound beyond loopback refuses `off` unless started with `--insecure-no-auth`.
        """
        return cast("bool", _value("WINDLASS_AUTH"))

    @property
    def token(self) -> str | None:
        """``WINDLASS_TOKEN``, unset.

        The API token the SDK and CLI send as `Authorization: Bearer` (and check against a store
        used directly when `WINDLASS_AUTH=on`). A secret: never printed or logged.
        """
        return cast("str | None", _value("WINDLASS_TOKEN"))

    @property
    def auth_cache_seconds(self) -> float:
        """``WINDLASS_AUTH_CACHE_SECONDS``, default ``5``.

        How long a verified token is trusted without looking it up again (0: always look up);
        revoking or disabling clears it at once in the same process.
        """
        return cast("float", _value("WINDLASS_AUTH_CACHE_SECONDS"))

    @property
    def metric_buffer_size(self) -> int:
        """``WINDLASS_METRIC_BUFFER_SIZE``, default ``200000``.

        Points the in-process metric buffer holds before `log_metric` waits for a flush.
        """
        return cast("int", _value("WINDLASS_METRIC_BUFFER_SIZE"))

    @property
    def metric_batch_size(self) -> int:
        """``WINDLASS_METRIC_BATCH_SIZE``, default ``10000``.

        Most points sent to the store in one batch.
        """
        return cast("int", _value("WINDLASS_METRIC_BATCH_SIZE"))

    @property
    def flush_interval_seconds(self) -> float:
        """``WINDLASS_FLUSH_INTERVAL_SECONDS``, default ``0.5``.

        How often the background flusher sends buffered points.
        """
        return cast("float", _value("WINDLASS_FLUSH_INTERVAL_SECONDS"))

    @property
    def flush_retry_seconds(self) -> float:
        """``WINDLASS_FLUSH_RETRY_SECONDS``, default ``120``.

        How long the flusher retries an unreachable store (with backoff) before it reports the
        points as lost.
        """
        return cast("float", _value("WINDLASS_FLUSH_RETRY_SECONDS"))

    @property
    def http_timeout_seconds(self) -> float:
        """``WINDLASS_HTTP_TIMEOUT_SECONDS``, default ``60``.

        Timeout of one HTTP request from the SDK to a server.
        """
        return cast("float", _value("WINDLASS_HTTP_TIMEOUT_SECONDS"))

    @property
    def http_retries(self) -> int:
        """``WINDLASS_HTTP_RETRIES``, default ``5``.

        Attempts the REST client makes for a request that failed to connect or got a
        502/503/504.
        """
        return cast("int", _value("WINDLASS_HTTP_RETRIES"))

    @property
    def max_request_bytes(self) -> int:
        """``WINDLASS_MAX_REQUEST_BYTES``, default ``33554432``.

        Largest JSON request body the server accepts (artifact uploads stream and are not
        limited); larger bodies get 413 PAYLOAD_TOO_LARGE.
        """
        return cast("int", _value("WINDLASS_MAX_REQUEST_BYTES"))

    @property
    def otlp_max_body_bytes(self) -> int:
        """``WINDLASS_OTLP_MAX_BODY_BYTES``, default ``67108864``.

        Largest OTLP trace export (`POST /v1/traces`) the server accepts, as sent and once
        decompressed; larger ones get 413 PAYLOAD_TOO_LARGE.
        """
        return cast("int", _value("WINDLASS_OTLP_MAX_BODY_BYTES"))

    @property
    def heartbeat_seconds(self) -> float:
        """``WINDLASS_HEARTBEAT_SECONDS``, default ``30``.

        How often a running run's process tells the store it is alive.
        """
        return cast("float", _value("WINDLASS_HEARTBEAT_SECONDS"))

    @property
    def stale_run_seconds(self) -> float:
        """``WINDLASS_STALE_RUN_SECONDS``, default ``900``.

        A running run without a heartbeat for this long is marked failed.
        """
        return cast("float", _value("WINDLASS_STALE_RUN_SECONDS"))

    @property
    def sqlite_busy_timeout_ms(self) -> int:
        """``WINDLASS_SQLITE_BUSY_TIMEOUT_MS``, default ``30000``.

        How long a SQLite writer waits for the lock before failing.
        """
        return cast("int", _value("WINDLASS_SQLITE_BUSY_TIMEOUT_MS"))

    @property
    def trusted_model_sources(self) -> list[str] | None:
        """``WINDLASS_TRUSTED_MODEL_SOURCES``, unset.

        Comma-separated patterns of model URIs (`models:/churn/*`, `runs:/*`) or
        `registrant:NAME` entries whose pickled or code-carrying models load without
        `trust=True`; `registrant:NAME` matches a registry version the store recorded as
        registered by NAME authenticated (a token, a password or OIDC; never a name recorded
        with auth off, nor one written in the model's files); creator patterns (`user:...`)
        are refused, as a model's creator is not authenticated.
        """
        return cast("list[str] | None", _value("WINDLASS_TRUSTED_MODEL_SOURCES"))

    @property
    def prediction_log_uri(self) -> str | None:
        """``WINDLASS_PREDICTION_LOG_URI``, unset.

        Where model servers write prediction logs (Parquet); default `<artifact
        root>/prediction-logs`.
        """
        return cast("str | None", _value("WINDLASS_PREDICTION_LOG_URI"))

    @property
    def prediction_log_sample(self) -> float:
        """``WINDLASS_PREDICTION_LOG_SAMPLE``, default ``1.0``.

        Share of requests a model server logs (0 turns logging off).
        """
        return cast("float", _value("WINDLASS_PREDICTION_LOG_SAMPLE"))

    @property
    def prediction_log_flush_seconds(self) -> float:
        """``WINDLASS_PREDICTION_LOG_FLUSH_SECONDS``, default ``2``.

        How often a model server writes its buffered prediction log.
        """
        return cast("float", _value("WINDLASS_PREDICTION_LOG_FLUSH_SECONDS"))

    @property
    def serve_poll_seconds(self) -> float:
        """``WINDLASS_SERVE_POLL_SECONDS``, default ``5``.

        How often a model server checks for alias moves and deployment changes.
        """
        return cast("float", _value("WINDLASS_SERVE_POLL_SECONDS"))

    @property
    def serve_max_queue_rows(self) -> int:
        """``WINDLASS_SERVE_MAX_QUEUE_ROWS``, default ``4096``.

        Rows a model server queues per model before answering 503 with Retry-After.
        """
        return cast("int", _value("WINDLASS_SERVE_MAX_QUEUE_ROWS"))

    @property
    def serve_max_body_bytes(self) -> int:
        """``WINDLASS_SERVE_MAX_BODY_BYTES``, default ``67108864``.

        Largest request body a model server reads (declared or streamed); a larger one is
        answered 413.
        """
        return cast("int", _value("WINDLASS_SERVE_MAX_BODY_BYTES"))

    @property
    def trace_max_chars(self) -> int:
        """``WINDLASS_TRACE_MAX_CHARS``, default ``32000``.

        Longest captured span input or output (characters); longer text is cut with a marker.
        """
        return cast("int", _value("WINDLASS_TRACE_MAX_CHARS"))

    @property
    def template_max_output_chars(self) -> int:
        """``WINDLASS_TEMPLATE_MAX_OUTPUT_CHARS``, default ``1000000``.

        Longest text one prompt render may produce, and longest string a template may build
        while rendering (characters); more is a `TemplateError`.
        """
        return cast("int", _value("WINDLASS_TEMPLATE_MAX_OUTPUT_CHARS"))

    @property
    def template_max_loop_iterations(self) -> int:
        """``WINDLASS_TEMPLATE_MAX_LOOP_ITERATIONS``, default ``100000``.

        Most `{% for %}` iterations (all loops, nested ones multiplying) of one prompt render,
        and the longest `range()`; more is a `TemplateError`.
        """
        return cast("int", _value("WINDLASS_TEMPLATE_MAX_LOOP_ITERATIONS"))

    @property
    def serve_spec(self) -> str | None:
        """``WINDLASS_SERVE_SPEC``, unset.

        Set by `windlass serve` for its worker processes (the URI and options, as JSON).
        """
        return cast("str | None", _value("WINDLASS_SERVE_SPEC"))

    @property
    def server_store(self) -> str | None:
        """``WINDLASS_SERVER_STORE``, unset.

        Metadata store URI of `windlass server` (set by `--store`).
        """
        return cast("str | None", _value("WINDLASS_SERVER_STORE"))

    @property
    def server_artifacts(self) -> str | None:
        """``WINDLASS_SERVER_ARTIFACTS``, unset.

        Artifact root URI of `windlass server` (set by `--artifacts`).
        """
        return cast("str | None", _value("WINDLASS_SERVER_ARTIFACTS"))

    @property
    def price_table(self) -> Path | None:
        """``WINDLASS_PRICE_TABLE``, unset.

        JSON or YAML file of LLM token prices (USD per million tokens) that replace or add to
        the shipped price table; unset = the shipped table only.
        """
        return cast("Path | None", _value("WINDLASS_PRICE_TABLE"))

    @property
    def llm_base_url(self) -> str | None:
        """``WINDLASS_LLM_BASE_URL``, unset.

        OpenAI-compatible endpoint `windlass.llm` calls when neither `base_url=` nor `provider=`
        is given; unset = `OPENAI_BASE_URL`, else OpenAI's API.
        """
        return cast("str | None", _value("WINDLASS_LLM_BASE_URL"))

    @property
    def llm_api_key(self) -> str | None:
        """``WINDLASS_LLM_API_KEY``, unset.

        API key `windlass.llm` sends to that endpoint (only to it); unset = `OPENAI_API_KEY`.
        Never recorded in spans or errors.
        """
        return cast("str | None", _value("WINDLASS_LLM_API_KEY"))

    @property
    def llm_providers(self) -> Path | None:
        """``WINDLASS_LLM_PROVIDERS``, unset.

        YAML or JSON file of named LLM provider profiles for `provider=`: `name: {base_url,
        api_key_env or api_key, provider}`.
        """
        return cast("Path | None", _value("WINDLASS_LLM_PROVIDERS"))

    @property
    def llm_max_retries(self) -> int:
        """``WINDLASS_LLM_MAX_RETRIES``, default ``2``.

        Retries the `openai` SDK makes (with its backoff) for an LLM call that was rate limited
        (429), failed (408, 409, 5xx) or could not connect.
        """
        return cast("int", _value("WINDLASS_LLM_MAX_RETRIES"))

    @property
    def llm_timeout_seconds(self) -> float:
        """``WINDLASS_LLM_TIMEOUT_SECONDS``, default ``600``.

        Timeout of one LLM request when the call gives no `timeout=`.
        """
        return cast("float", _value("WINDLASS_LLM_TIMEOUT_SECONDS"))

    @property
    def auth_max_failures(self) -> int:
        """``WINDLASS_AUTH_MAX_FAILURES``, default ``10``.

        Failed authentications (bad token, password or API key) one source address may make
        within `WINDLASS_AUTH_FAILURE_WINDOW_SECONDS` before its requests get 429 with
        `Retry-After`.
        """
        return cast("int", _value("WINDLASS_AUTH_MAX_FAILURES"))

    @property
    def auth_failure_window_seconds(self) -> float:
        """``WINDLASS_AUTH_FAILURE_WINDOW_SECONDS``, default ``60``.

        Sliding window over which `WINDLASS_AUTH_MAX_FAILURES` counts an address's failed
        authentications.
        """
        return cast("float", _value("WINDLASS_AUTH_FAILURE_WINDOW_SECONDS"))

    @property
    def cors_origins(self) -> list[str]:
        """``WINDLASS_CORS_ORIGINS``, default ``""``.

        Comma-separated exact origins (`https://app.example.com`) whose browser pages may call
        the tracking server (CORS); empty = no CORS headers at all.
        """
        return cast("list[str]", _value("WINDLASS_CORS_ORIGINS"))

    @property
    def oidc_discovery_url(self) -> str | None:
        """``WINDLASS_OIDC_DISCOVERY_URL``, unset.

        OpenID Connect provider's discovery document (`https://issuer/.well-known/openid-
        configuration`); unset = no OIDC login. Turns on `/api/v1/auth/oidc/login`, its
        callback, and the token exchange for CLIs.
        """
        return cast("str | None", _value("WINDLASS_OIDC_DISCOVERY_URL"))

    @property
    def oidc_client_id(self) -> str | None:
        """``WINDLASS_OIDC_CLIENT_ID``, unset.

        The client id windlass is registered with at the OIDC provider; ID tokens must name
        it as their audience.
        """
        return cast("str | None", _value("WINDLASS_OIDC_CLIENT_ID"))

    @property
    def oidc_client_secret(self) -> str | None:
        """``WINDLASS_OIDC_CLIENT_SECRET``, unset.

        The client secret of that registration (the browser flow's code exchange). A secret:
        never printed or logged.
        """
        return cast("str | None", _value("WINDLASS_OIDC_CLIENT_SECRET"))

    @property
    def oidc_redirect_url(self) -> str | None:
        """``WINDLASS_OIDC_REDIRECT_URL``, unset.

        The callback URL registered at the provider; unset = `<this server's
        URL>/api/v1/auth/oidc/callback` as the request reached it (set it behind a proxy).
        """
        return cast("str | None", _value("WINDLASS_OIDC_REDIRECT_URL"))

    @property
    def oidc_scopes(self) -> str:
        """``WINDLASS_OIDC_SCOPES``, default ``openid profile email``.

        Scopes the login asks for (space-separated; add e.g. `groups` if the provider sends
        the role claim only then).
        """
        return cast("str", _value("WINDLASS_OIDC_SCOPES"))

    @property
    def oidc_username_claim(self) -> str:
        """``WINDLASS_OIDC_USERNAME_CLAIM``, default ``preferred_username``.

        ID-token claim naming the windlass user (created on first login); `sub` when the
        token lacks it.
        """
        return cast("str", _value("WINDLASS_OIDC_USERNAME_CLAIM"))

    @property
    def oidc_role_claim(self) -> str:
        """``WINDLASS_OIDC_ROLE_CLAIM``, default ``groups``.

        ID-token claim (a string or a list of strings) that `WINDLASS_OIDC_ROLES` maps to
        roles.
        """
        return cast("str", _value("WINDLASS_OIDC_ROLE_CLAIM"))

    @property
    def oidc_roles(self) -> list[RoleGrant]:
        """``WINDLASS_OIDC_ROLES``, default ``""``.

        Claim value to role, comma-separated: `VALUE=ROLE:PROJECT` (ROLE viewer, editor or
        admin) or `VALUE=server-admin`, e.g. `churn-team=editor:churn,platform=server-
        admin`; each login sets the roles of the projects named here.
        """
        return cast("list[RoleGrant]", _value("WINDLASS_OIDC_ROLES"))

    @property
    def oidc_token_seconds(self) -> int:
        """``WINDLASS_OIDC_TOKEN_SECONDS``, default ``43200``.

        Lifetime of the windlass token an OIDC login or token exchange issues (12 h).
        """
        return cast("int", _value("WINDLASS_OIDC_TOKEN_SECONDS"))


# END generated


settings = Settings()
"""The process's settings: ``config.settings.http_timeout_seconds`` is a ``float``."""


def default_store_uri() -> str:
    """Return the embedded default metadata store URI (SQLite under ``WINDLASS_HOME``)."""
    return f"sqlite:///{settings.home / 'windlass.db'}"


def default_artifact_uri() -> str:
    """Return the artifact root used with a direct store: ``WINDLASS_ARTIFACT_URI`` or the home."""
    return settings.artifact_uri or str(settings.home / "artifacts")
