"""Socket options uvicorn does not set for us, and one write per response.

With ``--workers`` > 1 uvicorn hands sockets to worker processes in a way that loses
TCP_NODELAY (uvicorn issue #3149): every response on a reused keep-alive connection then
waits for the client's delayed ACK (~40 ms). The protocol classes below set TCP_NODELAY on
each accepted connection themselves.

uvicorn writes a response's head and body with two ``transport.write`` calls, and with
TCP_NODELAY each is its own ``send`` and its own packet. For small answers (a prediction)
those two syscalls were the largest single cost of a request. :class:`CoalescingTransport`
gathers the writes of one event-loop turn and sends them together.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

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


class CoalescingTransport:
    """A transport proxy sending everything written in one event-loop turn as one write.

    Data is never reordered or held past the current turn: the first write of a turn
    schedules a flush with ``call_soon``; closing flushes first. Every other attribute is
    the wrapped transport's.
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        """Queue ``data`` for this turn's single write."""
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(data)

    def _flush(self) -> None:
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        """Send what is queued, then close."""
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


if HttpToolsProtocol is not None:

    class NoDelayHttpToolsProtocol(HttpToolsProtocol):  # type: ignore[misc,valid-type]
        """uvicorn's httptools protocol with TCP_NODELAY on every connection."""

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            """Set TCP_NODELAY, then proceed as uvicorn does."""
            set_nodelay(transport)
            super().connection_made(transport)

    class CoalescingHttpToolsProtocol(NoDelayHttpToolsProtocol):  # type: ignore[misc,valid-type]
        """The TCP_NODELAY httptools protocol writing each response with one ``send``."""

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            """Set TCP_NODELAY and wrap the transport in a :class:`CoalescingTransport`."""
            set_nodelay(transport)
            coalescing: Any = CoalescingTransport(transport, asyncio.get_running_loop())
            HttpToolsProtocol.connection_made(self, coalescing)


def http_protocol(*, coalesce_writes: bool = False) -> Any:
    """Return the fastest available uvicorn HTTP protocol class, with TCP_NODELAY.

    ``coalesce_writes`` sends each response with one write (httptools only): the model
    server's small answers gain most from it.
    """
    if HttpToolsProtocol is None:
        return _no_delay_h11_protocol()
    return CoalescingHttpToolsProtocol if coalesce_writes else NoDelayHttpToolsProtocol


def _no_delay_h11_protocol() -> Any:
    """Return uvicorn's h11 protocol with TCP_NODELAY (imported only without httptools)."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class NoDelayH11Protocol(H11Protocol):
        """uvicorn's h11 protocol with TCP_NODELAY on every connection."""

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            """Set TCP_NODELAY, then proceed as uvicorn does."""
            set_nodelay(transport)
            super().connection_made(transport)

    return NoDelayH11Protocol
