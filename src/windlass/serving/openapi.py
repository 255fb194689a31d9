"""The model server's OpenAPI document, whose request schema is the model's signature."""

from __future__ import annotations

from typing import Any

from windlass.models.signature import Schema
from windlass.serving.source import ServedModel


def _json_type(dtype: str) -> dict[str, Any]:
    import numpy as np

    if dtype in ("string", "bytes"):
        return {"type": "string"}
    kind = np.dtype(dtype).kind
    return {"type": {"b": "boolean", "i": "integer", "u": "integer", "f": "number"}.get(
        kind, "string")}


def _inputs_schema(schema: Schema | None) -> dict[str, Any]:
    if schema is None:
        return {"description": "Records, an object of columns, or rows."}
    if schema.kind == "columns":
        record = {"type": "object", "additionalProperties": False,
                  "required": [c.name for c in schema.columns],
                  "properties": {c.name: _json_type(c.dtype) for c in schema.columns}}
        columns = {"type": "object", "additionalProperties": False,
                   "required": [c.name for c in schema.columns],
                   "properties": {c.name: {"type": "array", "items": _json_type(c.dtype)}
                                  for c in schema.columns}}
        return {"oneOf": [{"type": "array", "items": record, "minItems": 1,
                           "title": "records"}, {**columns, "title": "columns"}]}
    item: dict[str, Any] = _json_type(schema.dtype or "float64")
    for size in reversed((schema.shape or [-1])[1:]):
        item = {"type": "array", "items": item, **({} if size < 0 else
                                                    {"minItems": size, "maxItems": size})}
    return {"type": "array", "items": item, "minItems": 1, "title": "rows"}


def openapi_document(primary: ServedModel) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of a server whose main model is ``primary``."""
    signature = primary.model.signature
    error = {"description": "Error", "content": {"application/json": {"schema": {
        "type": "object", "required": ["error_code", "message"],
        "properties": {"error_code": {"type": "string"}, "message": {"type": "string"},
                       "details": {"type": "object"}}}}}}
    request = {"type": "object", "required": ["inputs"], "additionalProperties": False,
               "properties": {"inputs": _inputs_schema(None if signature is None
                                                       else signature.inputs)}}
    response = {"type": "object", "properties": {
        "predictions": {}, "model": {"type": "string"}, "version": {"type": "string"},
        "variant": {"type": "string"}, "request_id": {"type": "string"}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": f"windlass model server: {primary.name}",
                 "version": primary.version or "0",
                 "description": "Predictions from a windlass model. Inputs are checked "
                                "against the model's signature."},
        "paths": {
            "/predict": {"post": {
                "summary": "Predict", "operationId": "predict",
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": request},
                    "text/csv": {"schema": {"type": "string"}}}},
                "responses": {"200": {"description": "Predictions", "content": {
                    "application/json": {"schema": response}}},
                    "400": error, "503": error}}},
            "/feedback": {"post": {
                "summary": "Delayed ground truth for a prediction", "operationId": "feedback",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"type": "object", "required": ["request_id", "label"],
                               "properties": {"request_id": {"type": "string"},
                                              "label": {}}}}}},
                "responses": {"202": {"description": "Accepted"}, "400": error}}},
            "/v2/models/{name}/infer": {"post": {
                "summary": "Open Inference Protocol V2 infer", "operationId": "infer_v2",
                "parameters": [{"name": "name", "in": "path", "required": True,
                                "schema": {"type": "string"}}],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"type": "object", "required": ["inputs"]}}}},
                "responses": {"200": {"description": "Outputs"}, "400": error,
                              "404": error, "503": error}}},
            "/v2/health/live": {"get": {"summary": "Liveness", "operationId": "live",
                                        "responses": {"200": {"description": "Live"}}}},
            "/v2/health/ready": {"get": {"summary": "Readiness", "operationId": "ready",
                                         "responses": {"200": {"description": "Ready"},
                                                       "503": {"description": "Loading"}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "operationId": "metrics",
                                 "responses": {"200": {"description": "Text format"}}}},
        },
    }
