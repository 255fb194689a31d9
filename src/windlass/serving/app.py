"""The model server's ASGI app: /predict, the Open Inference Protocol V2, /metrics, /feedback.

Plain Starlette routes on the request path (no per-request validation framework: the
model's signature is the validation), an OpenAPI document built from that signature at
``/openapi.json`` with Swagger UI at ``/docs``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from windlass.exceptions import InvalidInput, NotFound, WindlassError
from windlass.ids import is_id, new_id
from windlass.serving import oip
from windlass.serving.api_docs import api_docs_routes
from windlass.serving.asgi import (
    ClientDisconnected,
    Receive,
    Scope,
    Send,
    read_body,
    request_headers,
    send_json,
)
from windlass.serving.metrics import ServerMetrics
from windlass.serving.openapi import openapi_document, with_bearer_auth
from windlass.serving.payloads import (
    dumps,
    parse_body,
    parse_csv,
    parse_json,
    row_count,
    to_jsonable,
)
from windlass.serving.predlog import PredictionLog
from windlass.serving.router import Router
from windlass.serving.source import ServedModel
from windlass.serving.validation import check_frame, check_inputs

logger = logging.getLogger("windlass.serving")
_JSON = "application/json"


def _error_body(error: WindlassError) -> bytes:
    return orjson.dumps(error.to_dict(), default=str)


def _retry_after(error: WindlassError) -> list[tuple[bytes, bytes]]:
    retry = error.details.get("retry_after")
    return [] if retry is None else [(b"retry-after", str(retry).encode())]


def _v2_error(error: WindlassError) -> Response:
    """Answer a V2 route's error: our error body plus the protocol's ``error`` key."""
    body = {**error.to_dict(), "error": error.message}
    return Response(
        orjson.dumps(body, default=str),
        status_code=error.http_status,
        media_type=_JSON,
        headers={k.decode(): v.decode() for k, v in _retry_after(error)},
    )


def _error(error: WindlassError) -> Response:
    return Response(
        _error_body(error),
        status_code=error.http_status,
        media_type=_JSON,
        headers={k.decode(): v.decode() for k, v in _retry_after(error)},
    )


class ModelServer:
    """The state behind one serving app: router, metrics, prediction log."""

    def __init__(
        self,
        router: Router,
        *,
        log: PredictionLog | None = None,
        metrics: ServerMetrics | None = None,
        open_paths: frozenset[str] | None = None,
    ) -> None:
        from windlass import config

        self.open_paths = open_paths
        self.router = router
        self.log = log
        self.metrics = metrics or router.metrics
        self.max_body_bytes: int = config.settings.serve_max_body_bytes

    async def _body(self, request: Request) -> bytes:
        return await read_body(request.receive, request_headers(request.scope), self.max_body_bytes)

    @staticmethod
    def _inputs(body: bytes, content_type: bytes | None, served: ServedModel) -> Any:
        """Return a ``/predict`` body's inputs, checked against ``served``'s signature."""
        if content_type == b"application/json":  # what nearly every client sends
            kind = _JSON
        else:
            kind = (content_type or b"").split(b";")[0].strip().lower().decode("latin-1")
        signature = served.model.signature
        schema = None if signature is None else signature.inputs
        if kind == "text/csv":
            frame = parse_csv(body)
            check_frame(schema, frame)
            return frame
        if kind not in (_JSON, "", "application/*", "*/*"):
            raise InvalidInput(
                f"unsupported content type {kind!r}: send application/json or text/csv"
            )
        return check_inputs(schema, parse_json(body))

    async def _run(self, served: ServedModel, inputs: Any) -> tuple[Any, int]:
        prepared = served.prepare(inputs)
        rows = row_count(prepared)
        return await served.batcher.submit(prepared, rows), rows

    def _record(
        self,
        served: ServedModel,
        request_id: str,
        started: float,
        status: str,
        inputs: Any = None,
        output: Any = None,
        shadow: bool = False,
        rows: int = 0,
    ) -> None:
        latency = time.perf_counter() - started
        if not shadow:
            self.metrics.observe_request(
                (served.name, served.version, served.variant), status, latency, rows
            )
        if status == "ok" and self.log is not None:
            self.log.record(
                request_id,
                served.name,
                served.version,
                served.variant,
                latency * 1000,
                inputs,
                output,
                shadow,
            )

    def _failed(
        self, served: ServedModel, request_id: str, started: float, exc: Exception, route: str
    ) -> WindlassError:
        """Count a failed request and return the error to answer with.

        A :class:`WindlassError` is answered as itself; anything else (the model library
        failing) is logged with its traceback and answered 500, counted as
        ``internal_error`` like every other answer.
        """
        if isinstance(exc, WindlassError):
            error = exc
        else:
            logger.error("%s failed on request %s", route, request_id, exc_info=exc)
            error = WindlassError(
                "the model server failed on this request; see its log", request_id=request_id
            )
        self._record(served, request_id, started, error.error_code.lower())
        return error

    async def _shadow(self, request_id: str, inputs: Any) -> None:
        shadow = self.router.shadow
        if shadow is None:
            return
        started = time.perf_counter()
        try:
            output, _rows = await self._run(shadow, inputs)
        except Exception as exc:
            logger.warning(
                "shadow variant %s failed on request %s: %s", shadow.variant, request_id, exc
            )
            return
        self._record(shadow, request_id, started, "ok", inputs, output, shadow=True)

    async def predict(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``POST /predict``: inputs as records, columns, rows or CSV; predictions back.

        Raw ASGI (see :mod:`windlass.serving.asgi`): this is the scoring hot path.
        """
        started = time.perf_counter()
        headers = request_headers(scope)
        given = headers.get(b"x-request-id")
        request_id = given.decode("latin-1") if given is not None else ""
        if not is_id(request_id):
            request_id = new_id()
        key = headers.get(b"x-windlass-key")
        served = self.router.choose(None if key is None else key.decode("latin-1"))
        extra = [
            (b"x-request-id", request_id.encode()),
            (b"x-windlass-variant", served.variant.encode()),
        ]
        try:
            body = await read_body(receive, headers, self.max_body_bytes)
            inputs = self._inputs(body, headers.get(b"content-type"), served)
            output, rows = await self._run(served, inputs)
        except ClientDisconnected:
            return
        except Exception as exc:
            error = self._failed(served, request_id, started, exc, "POST /predict")
            await send_json(
                send, error.http_status, _error_body(error), [*extra, *_retry_after(error)]
            )
            return
        if self.router.shadow is not None:
            task = asyncio.get_running_loop().create_task(self._shadow(request_id, inputs))
            self.router.track(task)
        self._record(served, request_id, started, "ok", inputs, output, rows=rows)
        answer = {
            "predictions": to_jsonable(output),
            "model": served.name,
            "version": served.version,
            "variant": served.variant,
            "request_id": request_id,
        }
        await send_json(send, 200, dumps(answer), extra)

    async def infer_v2(self, request: Request) -> Response:
        """``POST /v2/models/{name}/infer``: the Open Inference Protocol."""
        started = time.perf_counter()
        name = request.path_params["name"]
        try:
            served = self.router.by_model_name(name, request.headers.get("x-windlass-key"))
            body = parse_body(await self._body(request))
        except WindlassError as error:
            return _v2_error(error)
        given = body.get("id") if isinstance(body, dict) else None
        request_id = new_id() if given is None else given
        try:
            if not oip.is_request_id(request_id):
                raise InvalidInput(
                    '"id" must be a string of 1 to 128 printable ASCII characters', field="id"
                )
            signature = served.model.signature
            inputs = oip.decode_request(body, None if signature is None else signature.inputs)
            output, rows = await self._run(served, inputs)
        except Exception as exc:
            request_id = request_id if oip.is_request_id(request_id) else new_id()
            return _v2_error(
                self._failed(served, request_id, started, exc, "POST /v2/models/{name}/infer")
            )
        self._record(served, request_id, started, "ok", inputs, output, rows=rows)
        return Response(
            dumps(
                oip.encode_response(
                    output,
                    model_name=served.name,
                    model_version=served.version,
                    request_id=request_id,
                )
            ),
            media_type=_JSON,
            headers={"X-Request-Id": request_id, "X-Windlass-Variant": served.variant},
        )

    async def model_metadata(self, request: Request) -> Response:
        """``GET /v2/models/{name}``: inputs, outputs, versions, platform."""
        served = self.router.by_model_name(request.path_params["name"], None)
        signature = served.model.signature
        return Response(
            orjson.dumps(
                oip.metadata(
                    served.name,
                    served.version,
                    f"windlass-{served.model.flavor}",
                    None if signature is None else signature.inputs,
                    None if signature is None else signature.outputs,
                )
            ),
            media_type=_JSON,
        )

    async def model_ready(self, request: Request) -> Response:
        """``GET /v2/models/{name}/ready``: 503 while a served model is unavailable."""
        try:
            self.router.by_model_name(request.path_params["name"], None)
        except WindlassError as error:
            return _v2_error(error)
        return self.ready_answer()

    def ready_answer(self) -> Response:
        """Return the readiness answer: 200, or 503 saying why the server is not ready."""
        if not self.router.ready:
            reason = self.router.unavailable or "the models are loading"
            return Response(
                orjson.dumps({"ready": False, "reason": reason}), status_code=503, media_type=_JSON
            )
        return Response(b'{"ready":true}', media_type=_JSON)

    async def live(self, _request: Request) -> Response:
        """``GET /v2/health/live``: the process answers."""
        return Response(b'{"live":true}', media_type=_JSON)

    async def ready(self, _request: Request) -> Response:
        """``GET /v2/health/ready``: every variant is loaded and still available."""
        return self.ready_answer()

    async def server_metadata(self, _request: Request) -> Response:
        """``GET /v2``: the V2 server metadata."""
        from importlib.metadata import version

        return Response(
            orjson.dumps({"name": "windlass", "version": version("windlass"), "extensions": []}),
            media_type=_JSON,
        )

    async def feedback(self, request: Request) -> Response:
        """``POST /feedback``: ``{"request_id": ..., "label": ...}`` for delayed ground truth."""
        try:
            body = orjson.loads(await self._body(request))
        except orjson.JSONDecodeError as exc:
            return _error(InvalidInput(f"request body is not valid JSON: {exc}"))
        if not isinstance(body, dict) or set(body) != {"request_id", "label"}:
            return _error(InvalidInput('feedback must be {"request_id": "...", "label": ...}'))
        if not isinstance(body["request_id"], str) or not is_id(body["request_id"]):
            return _error(
                InvalidInput(
                    "request_id must be the 32-hex X-Request-Id of a prediction", field="request_id"
                )
            )
        if self.log is None:
            return _error(
                InvalidInput(
                    "prediction logging is off on this server, so "
                    "feedback cannot be joined to predictions"
                )
            )
        self.log.feedback(body["request_id"], body["label"])
        return Response(b'{"accepted":true}', status_code=202, media_type=_JSON)

    async def metrics_endpoint(self, _request: Request) -> Response:
        """``GET /metrics``: Prometheus text format."""
        for served in self.router.all_served():
            self.metrics.queue_depth.labels(served.name, served.version).set(
                served.batcher.queue_depth
            )
        body, content_type = self.metrics.render()
        return Response(body, media_type=content_type)

    async def openapi(self, _request: Request) -> Response:
        """``GET /openapi.json``: the API, with the model's signature as request schema."""
        document = openapi_document(self.router.primary())
        if self.open_paths is not None:
            document = with_bearer_auth(document, self.open_paths)
        return Response(orjson.dumps(document), media_type=_JSON)


class Scoring:
    """``POST /predict`` as an ASGI app; an unexpected failure is logged and answered 500."""

    def __init__(self, server: ModelServer) -> None:
        self.server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one scoring request."""
        try:
            await self.server.predict(scope, receive, send)
        except Exception:
            logger.exception("POST /predict failed")
            error = WindlassError("the model server failed on this request; see its log")
            with contextlib.suppress(Exception):  # the response may have started already
                await send_json(send, error.http_status, _error_body(error), [])


class ServingApp:
    """The model server's ASGI app: ``POST /predict`` directly, the rest through ``routes``.

    ``routes`` is the Starlette app of every other route, or that app wrapped in
    middleware meant for those routes only (the model server's security headers, which
    ``POST /predict`` sends itself).
    """

    def __init__(self, scoring: Scoring, routes: ASGIApp) -> None:
        self.scoring = scoring
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI scope."""
        if scope["type"] == "http" and scope["path"] == "/predict" and scope["method"] == "POST":
            await self.scoring(scope, receive, send)
        else:
            await self.routes(scope, receive, send)


def create_serving_app(
    router: Router,
    *,
    log: PredictionLog | None = None,
    open_paths: frozenset[str] | None = None,
) -> ServingApp:
    """Return the ASGI app serving ``router``'s variants.

    ``open_paths``, when given, says the server asks for a bearer token on every path but
    those: its OpenAPI document then declares the scheme and the 401 and 429 answers.
    """
    server = ModelServer(router, log=log, open_paths=open_paths)
    scoring = Scoring(server)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        import gc

        gc.freeze()
        poller = asyncio.get_running_loop().create_task(router.poll_forever())
        try:
            yield
        finally:
            poller.cancel()
            await router.close()
            if log is not None:
                await asyncio.to_thread(log.close)

    async def not_found(request: Request, exc: Exception) -> Response:
        if isinstance(exc, WindlassError):
            return _error(exc)
        return _error(NotFound(f"no route {request.method} {request.url.path}"))

    routes = [
        # ServingApp sends POST straight to `scoring`; Starlette answers other methods 405.
        Route("/predict", scoring, methods=["POST"]),
        Route("/feedback", server.feedback, methods=["POST"]),
        Route("/metrics", server.metrics_endpoint, methods=["GET"]),
        Route("/v2", server.server_metadata, methods=["GET"]),
        Route("/v2/health/live", server.live, methods=["GET"]),
        Route("/v2/health/ready", server.ready, methods=["GET"]),
        Route("/v2/models/{name}", server.model_metadata, methods=["GET"]),
        Route("/v2/models/{name}/ready", server.model_ready, methods=["GET"]),
        Route("/v2/models/{name}/infer", server.infer_v2, methods=["POST"]),
        Route("/openapi.json", server.openapi, methods=["GET"]),
        *api_docs_routes("/openapi.json", "windlass model server"),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={404: not_found, WindlassError: not_found},
    )
    return ServingApp(scoring, app)
