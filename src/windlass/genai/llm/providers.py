"""Where an LLM call goes, and the cached ``openai`` clients that take it there.

Where a call goes: an explicit ``base_url``/``api_key`` wins; else ``provider="name"``
picks a profile of the ``WINDLASS_LLM_PROVIDERS`` file (YAML, or JSON by its suffix,
mapping profile names to ``{base_url, api_key_env or api_key, provider}``); else
``WINDLASS_LLM_BASE_URL`` and ``WINDLASS_LLM_API_KEY`` (``OPENAI_BASE_URL`` and
``OPENAI_API_KEY`` when unset); else OpenAI's own API. A configured key is only ever sent
to the endpoint it was configured with: overriding the base URL without ``api_key`` sends
no key. :class:`Endpoint` never shows its key.

:func:`client` and :func:`async_client` hand out one ``openai`` client per endpoint and
client settings (``WINDLASS_LLM_MAX_RETRIES``, ``WINDLASS_LLM_TIMEOUT_SECONDS``), and for
asyncio one per event loop. Importing this module loads neither ``openai`` nor ``yaml``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from windlass import config
from windlass.exceptions import ConfigError, InvalidInput, MissingDependency

if TYPE_CHECKING:
    from types import ModuleType

__all__ = [
    "DEFAULT_BASE_URL",
    "Endpoint",
    "async_client",
    "client",
    "openai_sdk",
    "resolve_endpoint",
]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
_NO_KEY = "no-key"  # the SDK insists on a key; keyless local servers ignore this one
_PROFILE_KEYS = frozenset({"base_url", "api_key", "api_key_env", "provider"})


# -- where a call goes -----------------------------------------------------------------------
@dataclass(frozen=True)
class Endpoint:
    """Where a call goes: the base URL, the provider name recorded, and the key (not shown)."""

    base_url: str
    provider: str
    api_key: str | None = field(default=None, repr=False)

    @property
    def host(self) -> str:
        """Return ``host[:port]`` of the base URL (never credentials in it)."""
        parts = urlsplit(self.base_url)
        host = parts.hostname or "?"
        return f"{host}:{parts.port}" if parts.port else host

    @property
    def safe_url(self) -> str:
        """Return the base URL without credentials, query or fragment."""
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{self.host}{parts.path}"


@dataclass(frozen=True)
class _Profile:
    base_url: str | None
    api_key: str | None = field(repr=False)
    api_key_env: str | None
    provider: str


def _read_profiles_file(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"WINDLASS_LLM_PROVIDERS={path}: the file does not exist",
            setting="WINDLASS_LLM_PROVIDERS",
            file=str(path),
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"WINDLASS_LLM_PROVIDERS={path}: cannot read it: {exc}",
            setting="WINDLASS_LLM_PROVIDERS",
            file=str(path),
        ) from None
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"WINDLASS_LLM_PROVIDERS={path} is not valid JSON: {exc}",
                setting="WINDLASS_LLM_PROVIDERS",
                file=str(path),
            ) from None
    import yaml  # lazily: `import windlass` stays light

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"WINDLASS_LLM_PROVIDERS={path} is not valid YAML: {exc}",
            setting="WINDLASS_LLM_PROVIDERS",
            file=str(path),
        ) from None


@functools.lru_cache(maxsize=8)
def _parse_profiles(path_text: str, stamp: tuple[int, int]) -> dict[str, _Profile]:
    # ``stamp`` (mtime, size) is only part of the cache key: an edited file is re-read.
    path = Path(path_text)
    raw = _read_profiles_file(path)
    where = f"WINDLASS_LLM_PROVIDERS={path}"
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{where} must map profile names to {{base_url, api_key_env or "
            f"api_key, provider}}, got {type(raw).__name__}",
            setting="WINDLASS_LLM_PROVIDERS",
            file=path_text,
        )
    profiles: dict[str, _Profile] = {}
    for name, entry in raw.items():

        def bad(problem: str, profile: Any = name) -> ConfigError:
            return ConfigError(
                f"{where}: profile {profile!r} {problem}",
                setting="WINDLASS_LLM_PROVIDERS",
                file=path_text,
                profile=str(profile),
            )

        if not isinstance(entry, dict):
            raise bad(f"must be a mapping of {sorted(_PROFILE_KEYS)}, got {entry!r}")
        unknown = sorted(str(k) for k in entry if k not in _PROFILE_KEYS)
        if unknown:
            raise bad(f"has unknown key(s) {unknown}; expected {sorted(_PROFILE_KEYS)}")
        for key in _PROFILE_KEYS:
            if entry.get(key) is not None and not isinstance(entry[key], str):
                raise bad(f"has a {key} that is not a string")
        if entry.get("api_key") and entry.get("api_key_env"):
            raise bad("gives both api_key and api_key_env; keep one")
        profiles[str(name)] = _Profile(
            base_url=entry.get("base_url") or None,
            api_key=entry.get("api_key") or None,
            api_key_env=entry.get("api_key_env") or None,
            provider=entry.get("provider") or str(name),
        )
    return profiles


def _profiles() -> tuple[dict[str, _Profile], Path | None]:
    path: Path | None = config.settings.llm_providers
    if path is None:
        return {}, None
    try:
        info = path.stat()
        stamp = (info.st_mtime_ns, info.st_size)
    except OSError:
        stamp = (-1, -1)  # reading it raises the ConfigError naming the file
    return _parse_profiles(str(path), stamp), path


def _profile_key(name: str, profile: _Profile, path: Path | None) -> str | None:
    if profile.api_key_env is None:
        return profile.api_key
    key = os.environ.get(profile.api_key_env)
    if not key:
        raise ConfigError(
            f"provider profile {name!r} (WINDLASS_LLM_PROVIDERS={path}) takes "
            f"its API key from ${profile.api_key_env}, which is not set",
            setting="WINDLASS_LLM_PROVIDERS",
            profile=name,
            variable=profile.api_key_env,
        )
    return key


def _settings_key() -> str | None:
    configured: str | None = config.settings.llm_api_key
    return configured or os.environ.get("OPENAI_API_KEY") or None


def _same_endpoint(a: str, b: str) -> bool:
    return a.rstrip("/").lower() == b.rstrip("/").lower()


def resolve_endpoint(
    provider: str | None = None, base_url: str | None = None, api_key: str | None = None
) -> Endpoint:
    """Return where a call with these arguments goes (the module docs give the order).

    ``provider`` names a profile of the ``WINDLASS_LLM_PROVIDERS`` file; when it names
    none but ``base_url`` is given, it is only the provider name recorded. A key comes
    with its endpoint: overriding the base URL without ``api_key`` sends no key.
    Raises :class:`~windlass.exceptions.ConfigError` for an unknown profile (naming the
    file and the known ones) or when OpenAI's own API would be called without a key.
    """
    profile = None
    path: Path | None = None
    if provider is not None:
        if not provider.strip():
            raise InvalidInput("provider must be a profile name, not empty", field="provider")
        profiles, path = _profiles()
        profile = profiles.get(provider)
        if profile is None and not base_url:
            where = (
                f"WINDLASS_LLM_PROVIDERS={path}"
                if path is not None
                else "WINDLASS_LLM_PROVIDERS (not set)"
            )
            raise ConfigError(
                f"no provider profile {provider!r} in {where}; known profiles: "
                f"{sorted(profiles) or 'none'}. Define it there, or pass "
                f"base_url= to call an endpoint directly.",
                setting="WINDLASS_LLM_PROVIDERS",
                profile=provider,
                file=None if path is None else str(path),
            )
    home_key: Callable[[], str | None]
    if profile is not None and provider is not None:
        home_url = profile.base_url or DEFAULT_BASE_URL
        name = profile.provider
        home_key = functools.partial(_profile_key, provider, profile, path)
    else:
        home_url = (
            config.settings.llm_base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        )
        name = provider or "openai"
        home_key = _settings_key
    url = (base_url or home_url).rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            f"base_url must be an http(s) URL such as http://localhost:8000/v1, "
            f"got {Endpoint(url, name).safe_url!r}",
            field="base_url",
        )
    if api_key:
        key: str | None = api_key
    elif _same_endpoint(url, home_url):
        key = home_key()
    else:
        key = None
    if not key and _same_endpoint(url, DEFAULT_BASE_URL):
        raise ConfigError(
            f"no API key for {DEFAULT_BASE_URL}: pass api_key=, set "
            f"WINDLASS_LLM_API_KEY or OPENAI_API_KEY, or use a provider profile",
            setting="WINDLASS_LLM_API_KEY",
        )
    return Endpoint(url, name, key)


# -- clients -----------------------------------------------------------------------------------
_lock = threading.Lock()
_clients: dict[tuple[Any, ...], Any] = {}
# An AsyncOpenAI client's connections belong to one event loop: one cache per loop, dropped
# once its loop is closed (a weak-keyed dict would not do: the clients keep their loop alive).
_async_clients: dict[
    int, tuple[weakref.ref[asyncio.AbstractEventLoop], dict[tuple[Any, ...], Any]]
] = {}


def openai_sdk() -> ModuleType:
    """Return the ``openai`` module; raise MissingDependency naming the extra without it."""
    try:
        import openai
    except ImportError:
        raise MissingDependency(
            'windlass.llm needs the openai SDK: pip install "windlass[genai]"', package="openai"
        ) from None
    return openai


def _client_key(endpoint: Endpoint) -> tuple[Any, ...]:
    retries: int = config.settings.llm_max_retries
    timeout: float = config.settings.llm_timeout_seconds
    return (endpoint.base_url, endpoint.api_key, retries, timeout)


def client(endpoint: Endpoint) -> Any:
    """Return the cached ``openai.OpenAI`` client of an endpoint."""
    openai = openai_sdk()
    key = _client_key(endpoint)
    with _lock:
        cached = _clients.get(key)
        if cached is None:
            cached = _clients[key] = openai.OpenAI(
                base_url=endpoint.base_url,
                api_key=endpoint.api_key or _NO_KEY,
                max_retries=key[2],
                timeout=key[3],
            )
        return cached


def async_client(endpoint: Endpoint) -> Any:
    """Return the cached ``openai.AsyncOpenAI`` client of an endpoint for the running loop."""
    openai = openai_sdk()
    key = _client_key(endpoint)
    loop = asyncio.get_running_loop()
    with _lock:
        for number, (ref, _) in list(_async_clients.items()):
            other = ref()
            if other is None or other.is_closed():
                del _async_clients[number]
        entry = _async_clients.get(id(loop))
        if entry is None or entry[0]() is not loop:
            entry = _async_clients[id(loop)] = (weakref.ref(loop), {})
        clients = entry[1]
        cached = clients.get(key)
        if cached is None:
            cached = clients[key] = openai.AsyncOpenAI(
                base_url=endpoint.base_url,
                api_key=endpoint.api_key or _NO_KEY,
                max_retries=key[2],
                timeout=key[3],
            )
        return cached
