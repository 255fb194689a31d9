"""The OpenAPI document of a real server is complete: every operation, every status, a schema.

What a generated client, the UI and the fuzzer rely on: each operation declares a success
answer with a schema (a HEAD answer has no body), every error it declares carries the one
error body, and it declares the errors it can give: 500 and 503 always, 400 and 404 for
an object named in its path (which a PUT may create), 400, 413 and 422 for a body
validated by a model.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from windlass_testing import ServerProcess

ERROR_REF = "#/components/schemas/ErrorBody"
# Path parameters that name an object which may not exist (every one the API has today).
OBJECT_PARAMETERS = {
    "project",
    "name_or_id",
    "run_id",
    "name",
    "version",
    "alias",
    "revision",
    "trace_id",
    "span_id",
    "digest",
    "token_id",
    "user",
    "request_id",
}


@pytest.fixture(scope="module")
def document(server: ServerProcess) -> dict[str, Any]:
    answer = httpx.get(f"{server.url}/openapi.json", timeout=30)
    assert answer.status_code == 200
    doc: dict[str, Any] = answer.json()
    return doc


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


def has_schema(response: dict[str, Any]) -> bool:
    content = response.get("content") or {}
    return bool(content) and all("schema" in media for media in content.values())


def test_the_document_lists_the_api(document: dict[str, Any]) -> None:
    paths = document["paths"]
    assert len(operations(document)) >= 70
    for path in ("/health", "/api/v1/runs", "/api/v1/projects/{project}/prompts", "/v1/traces"):
        assert path in paths


def test_every_operation_has_a_success_schema(document: dict[str, Any]) -> None:
    missing = []
    for method, path, operation in operations(document):
        success = {s: r for s, r in operation["responses"].items() if s.startswith("2")}
        redirects = {s: r for s, r in operation["responses"].items() if s.startswith("3")}
        if redirects and not success:
            # A redirect is the success of a browser step (the OIDC login): it names where.
            missing += [
                f"{method} {path}: {status} without a Location header"
                for status, response in redirects.items()
                if "Location" not in response.get("headers", {})
            ]
        elif not success:
            missing.append(f"{method} {path}: no 2xx answer")
        elif method != "HEAD":
            missing += [
                f"{method} {path}: {status} without a schema"
                for status, response in success.items()
                if not has_schema(response)
            ]
    assert not missing, "\n".join(missing)


def test_every_error_answer_is_the_error_body(document: dict[str, Any]) -> None:
    wrong = []
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if schema != {"$ref": ERROR_REF}:
                    wrong.append(f"{method} {path} {status}: {schema}")
    assert not wrong, "\n".join(wrong)
    error = document["components"]["schemas"]["ErrorBody"]
    assert set(error["required"]) == {"error_code", "message"}
    assert set(error["properties"]) == {"error_code", "message", "details"}
    # FastAPI's own validation answer is not what this server sends: it is not documented.
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_every_operation_declares_the_errors_it_can_give(document: dict[str, Any]) -> None:
    missing = []
    for method, path, operation in operations(document):
        declared = set(operation["responses"])
        needed = {"500", "503"}
        parameters = operation.get("parameters", [])
        if parameters:
            needed.add("400")
        named = [p["name"] for p in parameters if p["in"] == "path"]
        if method == "PUT":
            # A PUT creates (or replaces) what its path's last parameter names.
            named = [n for n in named if not path.endswith(f"{{{n}}}")]
        if set(named) & OBJECT_PARAMETERS:
            needed.add("404")
        body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
        if "$ref" in str(body.get("schema", {})):
            needed |= {"400", "413", "422"}
        if not needed <= declared:
            missing.append(f"{method} {path}: lacks {sorted(needed - declared)}")
    assert not missing, "\n".join(missing)


def test_every_path_parameter_is_one_of_the_known_objects(document: dict[str, Any]) -> None:
    # A new path parameter must be judged (does it name an object? then 404) and listed above.
    unknown = {
        p["name"]
        for _, _, operation in operations(document)
        for p in operation.get("parameters", [])
        if p["in"] == "path"
    } - OBJECT_PARAMETERS
    assert not unknown


def test_every_operation_has_a_unique_id_and_a_description(document: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(ids) == len(set(ids))
    undocumented = [
        f"{method} {path}"
        for method, path, operation in operations(document)
        if not operation.get("description")
    ]
    assert not undocumented
