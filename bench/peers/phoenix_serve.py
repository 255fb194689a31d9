"""Run ``phoenix serve`` with its OTLP gRPC listener bound to 127.0.0.1 instead of ``[::]``.

Run by ``.bench/phoenix-venv/bin/python``. Phoenix 20.26.1 reads its HTTP host from
``PHOENIX_HOST`` and its gRPC port from ``PHOENIX_GRPC_PORT``, but has no setting for the
gRPC host: ``phoenix/server/grpc_server.py`` calls ``add_insecure_port(f"[::]:{port}")``,
which listens on every interface. The only switch that turns the listener off is
``--read-only``, which changes far more than the listener. So this launcher rewrites the
address of grpc.aio's ``add_insecure_port``/``add_secure_port`` to the loopback address
and then runs Phoenix's own command-line entry point, unchanged otherwise. The benchmark
does not trust this alone: it checks with ``ss -ltnp`` that every listener of the server's
process tree is on 127.0.0.1, and refuses to run otherwise.
"""

from __future__ import annotations

import sys
from typing import Any

from grpc.aio import _server

LOOPBACK = "127.0.0.1"
_ALL_INTERFACES = ("[::]:", "0.0.0.0:", "[::0]:", ":")


def _loopback(address: str) -> str:
    """Return ``address`` with an all-interfaces host replaced by 127.0.0.1."""
    for prefix in _ALL_INTERFACES:
        if address.startswith(prefix):
            return f"{LOOPBACK}:{address[len(prefix) :]}"
    return address


_insecure = _server.Server.add_insecure_port
_secure = _server.Server.add_secure_port


def _add_insecure_port(self: Any, address: str) -> int:
    return int(_insecure(self, _loopback(address)))


def _add_secure_port(self: Any, address: str, server_credentials: Any) -> int:
    return int(_secure(self, _loopback(address), server_credentials))


_server.Server.add_insecure_port = _add_insecure_port  # type: ignore[method-assign]
_server.Server.add_secure_port = _add_secure_port  # type: ignore[method-assign]

if __name__ == "__main__":
    from phoenix.server.main import main

    sys.argv = ["phoenix", "serve", *sys.argv[1:]]
    main()
