"""The floor of the serving benchmark: a bare Starlette + uvicorn app around ``predict``.

Run with windlass's virtualenv (it has starlette, uvicorn, orjson, scikit-learn)::

    .venv/bin/python bench/peers/bare_app.py --model model.joblib --port 8000

``POST /predict`` takes ``{"inputs": [record, ...]}``, builds a float array in the model's
feature order and answers ``{"predictions": [...]}``: what a careful engineer writes by
hand, with no validation beyond a clear 400, no metrics and no logging. One uvicorn
worker, uvloop and httptools (uvicorn's defaults when installed), 127.0.0.1 only.

``--trivial`` serves a fixed response to every request without parsing it (raw asyncio),
to measure how many requests per second the load generator itself can send.
"""

from __future__ import annotations

import argparse
import asyncio
import warnings
from typing import Any

import joblib
import numpy as np
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

# The model was fitted on a DataFrame; it is given a bare array in the same column order,
# which is correct, so silence the warning sklearn raises on every call about names.
warnings.filterwarnings("ignore", message="X does not have valid feature names")


def create_app(model_path: str) -> Starlette:
    """Return the bare app for the model in ``model_path`` (a joblib file)."""
    model = joblib.load(model_path)
    features = list(model.feature_names_in_)

    async def predict(request: Request) -> Response:
        try:
            records = orjson.loads(await request.body())["inputs"]
            x = np.array([[r[name] for name in features] for r in records], dtype=np.float64)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            return Response(
                orjson.dumps({"error": str(exc)}), status_code=400, media_type="application/json"
            )
        predictions = model.predict(x)
        return Response(
            orjson.dumps({"predictions": predictions.tolist()}), media_type="application/json"
        )

    async def health(_request: Request) -> Response:
        return Response(b'{"ok":true}', media_type="application/json")

    return Starlette(
        routes=[
            Route("/predict", predict, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
        ]
    )


_FIXED = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n"
    b"\r\n" + b'{"ok":true}'
)


class _Trivial(asyncio.Protocol):
    """Answer each request head with a fixed response (bodies are not expected)."""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.pending = b""

    def data_received(self, data: bytes) -> None:
        self.pending += data
        count = self.pending.count(b"\r\n\r\n")
        if count:
            self.pending = self.pending[self.pending.rindex(b"\r\n\r\n") + 4 :]
            self.transport.write(_FIXED * count)


async def _serve_trivial(host: str, port: int) -> None:
    server = await asyncio.get_running_loop().create_server(_Trivial, host, port)
    async with server:
        await server.serve_forever()


def main() -> None:
    """Parse the arguments and serve until stopped."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="joblib file of the fitted model")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--trivial", action="store_true", help="fixed answers, no app: the load generator's ceiling"
    )
    args = parser.parse_args()
    if args.trivial:
        import uvloop

        uvloop.run(_serve_trivial(args.host, args.port))
        return
    import uvicorn

    uvicorn.run(
        create_app(args.model),
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
