"""The model server's OpenAPI document, whose request schema is the model's signature.

Every route the server answers is here with its request and response bodies and every
status it returns, so the document can generate a client and drive a fuzzer (the tests
run schemathesis over it). The V2 routes follow the Open Inference Protocol's REST bodies.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from windlass.models.signature import Schema
from windlass.serving.oip import MAX_DATA_DEPTH, V2_DATATYPES
from windlass.serving.source import ServedModel

_JSON = "application/json"


def _json_type(dtype: str) -> dict[str, Any]:
    import numpy as np

    if dtype in ("string", "bytes"):
        return {"type": "string"}
    kind = np.dtype(dtype).kind
    if kind in "iu":
        info = np.iinfo(np.dtype(dtype))
        return {"type": "integer", "minimum": int(info.min), "maximum": int(info.max)}
    return {"type": {"b": "boolean", "f": "number"}.get(kind, "string")}


def _inputs_schema(schema: Schema | None) -> dict[str, Any]:
    if schema is None:
        return {"description": "Records, an object of columns, or rows."}
    if schema.kind == "columns":
        record = {
            "type": "object",
            "additionalProperties": False,
            "required": [c.name for c in schema.columns],
            "properties": {c.name: _json_type(c.dtype) for c in schema.columns},
        }
        columns = {
            "type": "object",
            "additionalProperties": False,
            "required": [c.name for c in schema.columns],
            "properties": {
                c.name: {"type": "array", "items": _json_type(c.dtype)} for c in schema.columns
            },
        }
        width = len(schema.columns)
        rows = {
            "type": "array",
            "minItems": 1,
            "title": "rows",
            "items": {"type": "array", "minItems": width, "maxItems": width},
        }
        return {
            "oneOf": [
                {"type": "array", "items": record, "minItems": 1, "title": "records"},
                {**columns, "title": "columns"},
                rows,
            ]
        }
    item: dict[str, Any] = _json_type(schema.dtype or "float64")
    for size in reversed((schema.shape or [-1])[1:]):
        item = {
            "type": "array",
            "items": item,
            **({} if size < 0 else {"minItems": size, "maxItems": size}),
        }
    return {"type": "array", "items": item, "minItems": 1, "title": "rows"}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {_JSON: {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(description: str, ref: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {_JSON: {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
    }


_NAME = [
    {
        "name": "name",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
        "description": "The model's name (or a variant's name).",
    }
]

_COMPONENTS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error_code", "message", "details"],
        "properties": {
            "error_code": {"type": "string"},
            "message": {"type": "string"},
            "details": {"type": "object"},
            "error": {
                "type": "string",
                "description": "The message again, as V2 protocol clients read it "
                "(V2 routes only).",
            },
        },
    },
    "Predictions": {
        "type": "object",
        "required": ["predictions", "model", "version", "variant", "request_id"],
        "properties": {
            "predictions": {},
            "model": {"type": "string"},
            "version": {"type": "string"},
            "variant": {"type": "string"},
            "request_id": {"type": "string"},
        },
    },
    "Feedback": {
        "type": "object",
        "required": ["request_id", "label"],
        "additionalProperties": False,
        "properties": {"request_id": {"type": "string", "pattern": "^[0-9a-f]{32}$"}, "label": {}},
    },
    "Accepted": {
        "type": "object",
        "required": ["accepted"],
        "properties": {"accepted": {"type": "boolean"}},
    },
    "Live": {"type": "object", "required": ["live"], "properties": {"live": {"type": "boolean"}}},
    "Ready": {
        "type": "object",
        "required": ["ready"],
        "properties": {
            "ready": {"type": "boolean"},
            "reason": {"type": "string", "description": "Why the server is not ready (503 only)."},
        },
    },
    "ServerMetadata": {
        "type": "object",
        "required": ["name", "version", "extensions"],
        "properties": {
            "name": {"type": "string"},
            "version": {"type": "string"},
            "extensions": {"type": "array", "items": {"type": "string"}},
        },
    },
    "TensorMetadata": {
        "type": "object",
        "required": ["name", "datatype", "shape"],
        "properties": {
            "name": {"type": "string"},
            "datatype": {"type": "string"},
            "shape": {"type": "array", "items": {"type": "integer"}},
        },
    },
    "ModelMetadata": {
        "type": "object",
        "required": ["name", "versions", "platform", "inputs", "outputs"],
        "properties": {
            "name": {"type": "string"},
            "versions": {"type": "array", "items": {"type": "string"}},
            "platform": {"type": "string"},
            "inputs": {"type": "array", "items": {"$ref": "#/components/schemas/TensorMetadata"}},
            "outputs": {"type": "array", "items": {"$ref": "#/components/schemas/TensorMetadata"}},
        },
    },
    "RequestInput": {
        "type": "object",
        "required": ["name", "shape", "datatype", "data"],
        "properties": {
            "name": {"type": "string", "minLength": 1},
            "shape": {
                "type": "array",
                "maxItems": MAX_DATA_DEPTH,
                "items": {"type": "integer", "minimum": 0},
            },
            "datatype": {"type": "string", "enum": list(V2_DATATYPES)},
            "parameters": {"type": "object"},
            "data": {"type": "array", "description": "Row-major values, flat or nested."},
        },
    },
    "InferenceRequest": {
        "type": "object",
        "required": ["inputs"],
        "properties": {
            "id": {"type": "string", "minLength": 1, "maxLength": 128},
            "parameters": {"type": "object"},
            "inputs": {
                "type": "array",
                "minItems": 1,
                "items": {"$ref": "#/components/schemas/RequestInput"},
            },
            "outputs": {"type": "array", "items": {"type": "object"}},
        },
    },
    "ResponseOutput": {
        "type": "object",
        "required": ["name", "shape", "datatype", "data"],
        "properties": {
            "name": {"type": "string"},
            "shape": {"type": "array", "items": {"type": "integer"}},
            "datatype": {"type": "string"},
            "data": {"type": "array"},
        },
    },
    "InferenceResponse": {
        "type": "object",
        "required": ["model_name", "model_version", "id", "outputs"],
        "properties": {
            "model_name": {"type": "string"},
            "model_version": {"type": "string"},
            "id": {"type": "string"},
            "outputs": {"type": "array", "items": {"$ref": "#/components/schemas/ResponseOutput"}},
        },
    },
}


def openapi_document(primary: ServedModel) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of a server whose main model is ``primary``."""
    signature = primary.model.signature
    request = {
        "type": "object",
        "required": ["inputs"],
        "additionalProperties": False,
        "properties": {
            "inputs": _inputs_schema(None if signature is None else signature.inputs),
            "params": {"type": "object"},
        },
    }
    too_large = _error("The body is over WINDLASS_SERVE_MAX_BODY_BYTES")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"windlass model server: {primary.name}",
            "version": primary.version or "0",
            "description": "Predictions from a windlass model. Inputs are checked "
            "against the model's signature.",
        },
        "paths": {
            "/predict": {
                "post": {
                    "summary": "Predict",
                    "operationId": "predict",
                    "requestBody": {
                        "required": True,
                        "content": {
                            _JSON: {"schema": request},
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    "responses": {
                        "200": _json("Predictions", "Predictions"),
                        "400": _error("The input does not fit the model's signature"),
                        "413": too_large,
                        "503": _error("Overloaded: retry after Retry-After seconds"),
                    },
                }
            },
            "/feedback": {
                "post": {
                    "summary": "Delayed ground truth for a prediction",
                    "operationId": "feedback",
                    "requestBody": {
                        "required": True,
                        "content": {_JSON: {"schema": {"$ref": "#/components/schemas/Feedback"}}},
                    },
                    "responses": {
                        "202": _json("Accepted", "Accepted"),
                        "400": _error("Not a feedback body, or logging is off"),
                        "413": too_large,
                    },
                }
            },
            "/v2": {
                "get": {
                    "summary": "V2 server metadata",
                    "operationId": "server_metadata",
                    "responses": {"200": _json("Server metadata", "ServerMetadata")},
                }
            },
            "/v2/health/live": {
                "get": {
                    "summary": "Liveness",
                    "operationId": "live",
                    "responses": {"200": _json("Live", "Live")},
                }
            },
            "/v2/health/ready": {
                "get": {
                    "summary": "Readiness",
                    "operationId": "ready",
                    "responses": {
                        "200": _json("Ready", "Ready"),
                        "503": _json("Loading, or a served model is gone", "Ready"),
                    },
                }
            },
            "/v2/models/{name}": {
                "get": {
                    "summary": "V2 model metadata",
                    "operationId": "model_metadata",
                    "parameters": _NAME,
                    "responses": {
                        "200": _json("Model metadata", "ModelMetadata"),
                        "404": _error("No such model on this server"),
                    },
                }
            },
            "/v2/models/{name}/ready": {
                "get": {
                    "summary": "V2 model readiness",
                    "operationId": "model_ready",
                    "parameters": _NAME,
                    "responses": {
                        "200": _json("Ready", "Ready"),
                        "404": _error("No such model on this server"),
                        "503": _json("A served model is gone", "Ready"),
                    },
                }
            },
            "/v2/models/{name}/infer": {
                "post": {
                    "summary": "Open Inference Protocol V2 infer",
                    "operationId": "infer_v2",
                    "parameters": _NAME,
                    "requestBody": {
                        "required": True,
                        "content": {
                            _JSON: {"schema": {"$ref": "#/components/schemas/InferenceRequest"}}
                        },
                    },
                    "responses": {
                        "200": _json("Outputs", "InferenceResponse"),
                        "400": _error("The tensors do not fit the model's signature"),
                        "404": _error("No such model on this server"),
                        "413": too_large,
                        "503": _error("Overloaded: retry after Retry-After seconds"),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "operationId": "metrics",
                    "responses": {
                        "200": {
                            "description": "Prometheus text exposition format",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
        },
        "components": {"schemas": _COMPONENTS},
    }


def with_bearer_auth(document: dict[str, Any], open_paths: Collection[str]) -> dict[str, Any]:
    """Return ``document`` with a bearer scheme on every operation but those of ``open_paths``.

    Each secured operation also declares its ``401`` (no or a wrong key), ``403`` (with
    ``--auth store``: a valid token without a role in the served project) and ``429`` (too
    many wrong keys from the address, see ``Retry-After``) answers.
    """
    paths: dict[str, Any] = {}
    for path, operations in document["paths"].items():
        if path in open_paths:
            paths[path] = operations
            continue
        paths[path] = {
            method: {
                **operation,
                "security": [{"bearer": []}],
                "responses": {
                    **operation["responses"],
                    "401": _error("No API key, or not a valid one (see WWW-Authenticate)"),
                    "403": _error(
                        "A valid API token of the store without a role in the served "
                        "project (--auth store)"
                    ),
                    "429": _error("Too many wrong keys from this address: see Retry-After"),
                },
            }
            for method, operation in operations.items()
        }
    components = {
        **document["components"],
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "An API key of the server's --api-key-file, or (--auth "
                "store) an API token of the store the model comes from",
            }
        },
    }
    return {**document, "paths": paths, "components": components}
