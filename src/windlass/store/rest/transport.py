"""The REST client's transport: one httpx client, retries, and errors mapped to windlass's.

Requests that fail to connect, time out, lose their connection (no reply, or a reply cut
off) or get 502/503/504 are retried with exponential backoff (``WINDLASS_HTTP_RETRIES``
attempts). Every write of the API is idempotent (ids are made by the client, versions are
keyed on them, updates send the whole new state), so a retry that reached the server twice
changes nothing twice. A delete retried after its reply was lost may find the object gone
(the lost attempt deleted it): that 404 is the success it stands for. One
:class:`RestTransport` is shared by every area's REST store.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from windlass import config
from windlass.exceptions import BackendUnavailable, error_from_dict
from windlass.store.bulk import paused_gc

_RETRY_STATUS = {502, 503, 504}


def segment(value: str) -> str:
    """Return ``value`` as one URL path segment."""
    return quote(value, safe="")


def paging(max_results: int, page_token: str | None) -> dict[str, Any]:
    """Return the query parameters of one page: its size and, after the first, its token."""
    params: dict[str, Any] = {"max_results": max_results}
    if page_token:
        params["page_token"] = page_token
    return params


class RestTransport:
    """Sends API requests to one windlass server and decodes the answers."""

    def __init__(
        self, base_url: str, client: httpx.Client | None = None, *, token: str | None = None
    ) -> None:
        """``token``: the API token sent as ``Authorization: Bearer`` (default ``WINDLASS_TOKEN``).

        It rides in the headers of the HTTP client made here (shared with the blob store of
        the same server; a ``client`` passed in carries its own), never in a URL, a log
        line or an error message.
        """
        self.base_url = base_url.rstrip("/")
        timeout: float = config.settings.http_timeout_seconds
        secret = token if token is not None else config.settings.token
        headers = {"authorization": f"Bearer {secret.strip()}"} if secret else None
        self.client = client or httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=8),
            headers=headers,
        )
        self.retries: int = config.settings.http_retries

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.client.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        gone_ok: bool = False,
    ) -> Any:
        """Send one API request (with retries) and return its decoded JSON body.

        ``gone_ok`` (for deletes): a 404 after an attempt whose reply was lost returns
        None, since the lost attempt may have been the one that deleted.
        """
        content = None if json is None else orjson.dumps(json)
        headers = {"content-type": "application/json"} if content is not None else None
        delay = 0.2
        lost = False  # an earlier attempt may have reached the server
        for attempt in range(1, self.retries + 1):
            try:
                response = self.client.request(
                    method, path, content=content, params=params, headers=headers
                )
            except httpx.TransportError as exc:
                if attempt == self.retries:
                    raise BackendUnavailable(
                        f"cannot reach windlass server at {self.base_url}: {exc!r}",
                        url=self.base_url,
                    ) from None
                lost = True
            else:
                if gone_ok and lost and response.status_code == 404:
                    return None
                if response.status_code not in _RETRY_STATUS or attempt == self.retries:
                    return self._decode(response)
                lost = True
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
        raise AssertionError("unreachable")

    def _decode(self, response: httpx.Response) -> Any:
        body: Any = None
        if response.content:
            try:
                with paused_gc():  # a search page decodes into tens of thousands of objects
                    body = orjson.loads(response.content)
            except orjson.JSONDecodeError:
                body = {"message": response.text[:500]}
        if response.is_success:
            return body
        if not isinstance(body, dict):
            body = {}
        raise error_from_dict(body, response.status_code)
