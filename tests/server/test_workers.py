"""``--workers``: several processes serve one store; every accepted socket gets TCP_NODELAY."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import windlass
from windlass.server.net import http_protocol, set_nodelay
from windlass_testing import ServerProcess


def test_two_workers_serve_one_store(server_factory: type[ServerProcess], tmp_path: Path) -> None:
    server = server_factory(workers=2)
    windlass.set_tracking_uri(server.url)
    try:
        windlass.set_project("workers")
        ids = []
        for i in range(20):  # enough requests to reach both workers
            with windlass.start_run(name=f"r{i}") as run:
                windlass.log_metric("i", i)
            ids.append(run.id)
        runs = windlass.search_runs(
            project="workers", output_format="list", order_by=["metrics.i ASC"]
        )
        assert [r.id for r in runs] == ids  # type: ignore[union-attr]
    finally:
        windlass.set_tracking_uri(None)


def test_set_nodelay_on_an_accepted_connection() -> None:
    seen: list[int] = []

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            set_nodelay(transport)
            sock = transport.get_extra_info("socket")
            seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Probe, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.01)
        writer.close()
        server.close()
        await server.wait_closed()

    asyncio.run(main())
    assert seen and seen[0] != 0


def test_server_protocol_sets_nodelay_before_uvicorn_does_its_work() -> None:
    protocol = http_protocol()
    assert "connection_made" in vars(protocol)  # overridden, not inherited
    assert protocol.__module__ == "windlass.server.net"  # importable by worker processes
