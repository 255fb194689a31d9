"""Socket options uvicorn does not set for us.

With ``--workers`` > 1 uvicorn hands sockets to worker processes in a way that loses
TCP_NODELAY (uvicorn issue #3149): every response on a reused keep-alive connection then
waits for the client's delayed ACK (~40 ms). The protocol classes below set TCP_NODELAY on
each accepted connection themselves.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

HttpToolsProtocol: Any
try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools is optional in uvicorn
    HttpToolsProtocol = None


def set_nodelay(transport: asyncio.BaseTransport) -> None:
    """Set TCP_NODELAY on a transport's socket (a no-op for non-TCP sockets)."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with TCP_NODELAY on every connection."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Set TCP_NODELAY, then proceed as uvicorn does."""
        set_nodelay(transport)
        super().connection_made(transport)


if HttpToolsProtocol is not None:

    class NoDelayHttpToolsProtocol(HttpToolsProtocol):  # type: ignore[misc,valid-type]
        """uvicorn's httptools protocol with TCP_NODELAY on every connection."""

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            """Set TCP_NODELAY, then proceed as uvicorn does."""
            set_nodelay(transport)
            super().connection_made(transport)


def http_protocol() -> Any:
    """Return the fastest available uvicorn HTTP protocol class, with TCP_NODELAY."""
    if HttpToolsProtocol is None:
        return NoDelayH11Protocol
    return NoDelayHttpToolsProtocol
