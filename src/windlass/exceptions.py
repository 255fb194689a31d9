"""The one error tree of windlass.

Every error windlass raises on purpose derives from :class:`WindlassError` and carries a
stable ``error_code`` (for scripts and the REST API) and an ``http_status`` (used by the
server's single error handler). The REST client maps an ``error_code`` it receives back
to the same class, so embedded and server mode raise the same errors.

::

    WindlassError                      INTERNAL_ERROR        500
    ├── InvalidInput                   INVALID_INPUT         400
    │   ├── InvalidFilter              INVALID_FILTER        400
    │   ├── InvalidUri                 INVALID_URI           400
    │   ├── UnsafePath                 UNSAFE_PATH           400
    │   ├── ConfigError                CONFIG_ERROR          400
    │   │   └── MissingDependency      MISSING_DEPENDENCY    400
    │   ├── SchemaMismatch             SCHEMA_MISMATCH       400
    │   ├── TemplateError              TEMPLATE_ERROR        400
    │   ├── InvalidPageToken           INVALID_PAGE_TOKEN    400
    │   └── LimitExceeded              LIMIT_EXCEEDED        400
    ├── NotFound                       NOT_FOUND             404
    │   ├── ProjectNotFound            PROJECT_NOT_FOUND     404
    │   ├── RunNotFound                RUN_NOT_FOUND         404
    │   ├── ArtifactNotFound           ARTIFACT_NOT_FOUND    404
    │   ├── ModelNotFound              MODEL_NOT_FOUND       404
    │   ├── ModelVersionNotFound       MODEL_VERSION_NOT_FOUND 404
    │   ├── DeploymentNotFound         DEPLOYMENT_NOT_FOUND  404
    │   ├── TraceNotFound              TRACE_NOT_FOUND       404
    │   ├── PromptNotFound             PROMPT_NOT_FOUND      404
    │   └── PromptVersionNotFound      PROMPT_VERSION_NOT_FOUND 404
    ├── Conflict                       CONFLICT              409
    │   ├── AlreadyExists              ALREADY_EXISTS        409
    │   ├── ParamConflict              PARAM_CONFLICT        409
    │   ├── IdConflict                 ID_CONFLICT           409
    │   ├── InUse                      IN_USE                409
    │   └── InvalidState               INVALID_STATE         409
    │       └── ApprovalPending        APPROVAL_PENDING      409
    ├── IntegrityFailure               INTEGRITY_FAILURE     422
    ├── Unauthenticated                UNAUTHENTICATED       401
    ├── PermissionDenied               PERMISSION_DENIED     403
    ├── UntrustedModel                 UNTRUSTED_MODEL       403
    ├── TooManyRequests                TOO_MANY_REQUESTS     429
    ├── PayloadTooLarge                PAYLOAD_TOO_LARGE     413
    ├── UnsupportedMediaType           UNSUPPORTED_MEDIA_TYPE 415
    ├── Overloaded                     OVERLOADED            503
    ├── BackendUnavailable             BACKEND_UNAVAILABLE   503
    ├── ProviderError                  PROVIDER_ERROR        502
    └── DeliveryFailed                 DELIVERY_FAILED       500

``ApprovalPending`` is not a failure of the call: a protected alias of a project with
two-person review on did not move yet; its ``request`` (an alias request) waits for a
second admin. The alias route answers it 202 with the request, and the REST client raises
it again, so embedded and server mode behave alike.
"""

from __future__ import annotations

from typing import Any, ClassVar


class WindlassError(Exception):
    """Base of every error windlass raises on purpose."""

    error_code: ClassVar[str] = "INTERNAL_ERROR"
    http_status: ClassVar[int] = 500

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details

    def to_dict(self) -> dict[str, Any]:
        """Return the REST error body: ``error_code``, ``message`` and ``details``."""
        return {"error_code": self.error_code, "message": self.message, "details": self.details}


class InvalidInput(WindlassError):
    """The caller passed a value windlass cannot accept."""

    error_code = "INVALID_INPUT"
    http_status = 400


class InvalidFilter(InvalidInput):
    """A search filter or order-by clause does not parse; ``details['position']`` says where."""

    error_code = "INVALID_FILTER"


class InvalidUri(InvalidInput):
    """A URI (store, artifact or object URI) is malformed or of an unknown scheme."""

    error_code = "INVALID_URI"


class UnsafePath(InvalidInput):
    """An artifact path tries to leave its root (``..``, absolute path, escaping symlink)."""

    error_code = "UNSAFE_PATH"


class ConfigError(InvalidInput):
    """A ``WINDLASS_*`` setting has a value windlass cannot use."""

    error_code = "CONFIG_ERROR"


class MissingDependency(ConfigError):
    """An optional framework is not installed; the message names the extra to install."""

    error_code = "MISSING_DEPENDENCY"


class SchemaMismatch(InvalidInput):
    """Model input does not match the model's signature; ``details['column']`` names where."""

    error_code = "SCHEMA_MISMATCH"


class TemplateError(InvalidInput):
    """A prompt template does not compile, or cannot render with the variables given.

    The message names the problem: the variable (``details['variable']``) that is
    missing, unexpected or of the wrong type, the template line (``details['line']``) of
    a syntax error, or the unsafe attribute a sandboxed template tried to reach.
    """

    error_code = "TEMPLATE_ERROR"


class InvalidPageToken(InvalidInput):
    """A ``page_token`` is not one this listing handed out (forged, damaged or foreign)."""

    error_code = "INVALID_PAGE_TOKEN"


class LimitExceeded(InvalidInput):
    """The request goes over a documented bound (sort keys, joins, sizes, iterations)."""

    error_code = "LIMIT_EXCEEDED"


class NotFound(WindlassError):
    """The named object does not exist."""

    error_code = "NOT_FOUND"
    http_status = 404


class ProjectNotFound(NotFound):
    """No project has this name or id."""

    error_code = "PROJECT_NOT_FOUND"


class RunNotFound(NotFound):
    """No run has this id."""

    error_code = "RUN_NOT_FOUND"


class ArtifactNotFound(NotFound):
    """No artifact (or blob) exists at this path or digest."""

    error_code = "ARTIFACT_NOT_FOUND"


class ModelNotFound(NotFound):
    """No registered model has this name in the project."""

    error_code = "MODEL_NOT_FOUND"


class ModelVersionNotFound(NotFound):
    """The registered model has no such version (or no version under this alias)."""

    error_code = "MODEL_VERSION_NOT_FOUND"


class DeploymentNotFound(NotFound):
    """No deployment has this name in the project."""

    error_code = "DEPLOYMENT_NOT_FOUND"


class TraceNotFound(NotFound):
    """No trace has this id (in the project, when one is named)."""

    error_code = "TRACE_NOT_FOUND"


class PromptNotFound(NotFound):
    """No prompt has this name in the project."""

    error_code = "PROMPT_NOT_FOUND"


class PromptVersionNotFound(NotFound):
    """The prompt has no such version (or no version under this alias)."""

    error_code = "PROMPT_VERSION_NOT_FOUND"


class Conflict(WindlassError):
    """The request conflicts with the current state of the store."""

    error_code = "CONFLICT"
    http_status = 409


class AlreadyExists(Conflict):
    """An object with this name already exists."""

    error_code = "ALREADY_EXISTS"


class ParamConflict(Conflict):
    """A parameter was logged again with a different value; parameters are immutable."""

    error_code = "PARAM_CONFLICT"


class IdConflict(Conflict):
    """A client-chosen id was reused with a different body (idempotent retries must match)."""

    error_code = "ID_CONFLICT"


class InUse(Conflict):
    """The object cannot be removed: another object depends on it (named in the message)."""

    error_code = "IN_USE"


class InvalidState(Conflict):
    """The object is in a state that does not allow this operation."""

    error_code = "INVALID_STATE"


class IntegrityFailure(WindlassError):
    """Stored or uploaded bytes do not match their recorded content hash."""

    error_code = "INTEGRITY_FAILURE"
    http_status = 422


class Unauthenticated(WindlassError):
    """No credentials, or credentials the server could not verify (a bad or expired token).

    The message never says whether a named user or token exists.
    """

    error_code = "UNAUTHENTICATED"
    http_status = 401


class PermissionDenied(WindlassError):
    """The caller is known but its role does not allow the operation.

    ``details`` name the permission needed, never whether another project's object exists.
    """

    error_code = "PERMISSION_DENIED"
    http_status = 403


class TooManyRequests(WindlassError):
    """Too many failed logins or token checks from one address; retry after ``retry_after`` s."""

    error_code = "TOO_MANY_REQUESTS"
    http_status = 429


class UntrustedModel(WindlassError):
    """Loading this model would run code from its files (pickle, packaged Python code).

    Pass ``trust=True`` or list its source in ``WINDLASS_TRUSTED_MODEL_SOURCES``.
    """

    error_code = "UNTRUSTED_MODEL"
    http_status = 403


class PayloadTooLarge(WindlassError):
    """A request body exceeds the documented limit (``WINDLASS_MAX_REQUEST_BYTES``)."""

    error_code = "PAYLOAD_TOO_LARGE"
    http_status = 413


class UnsupportedMediaType(WindlassError):
    """The request body's content type or encoding is not one the route reads."""

    error_code = "UNSUPPORTED_MEDIA_TYPE"
    http_status = 415


class Overloaded(WindlassError):
    """The model server's queue is full; retry after ``details['retry_after']`` seconds."""

    error_code = "OVERLOADED"
    http_status = 503


class BackendUnavailable(WindlassError):
    """A store or server could not be reached (after retries)."""

    error_code = "BACKEND_UNAVAILABLE"
    http_status = 503


class ProviderError(WindlassError):
    """An LLM provider answered with an error or could not be reached (after the retries).

    The message names the endpoint's host, the model, the HTTP status and the provider's
    own message, never the API key; ``details`` holds ``status`` (``None`` when no answer
    came), ``model`` and ``base_url``.
    """

    error_code = "PROVIDER_ERROR"
    http_status = 502


class DeliveryFailed(WindlassError):
    """Buffered data (metric points) could not be delivered and was lost; the message says why."""

    error_code = "DELIVERY_FAILED"
    http_status = 500


def _all_error_classes() -> list[type[WindlassError]]:
    found: list[type[WindlassError]] = []
    pending: list[type[WindlassError]] = [WindlassError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


class ApprovalPending(InvalidState):
    """A protected alias move waits for a second admin's approval (two-person review).

    ``request`` is the pending :class:`~windlass.entities.governance.AliasRequest` (its
    ``id`` is what ``windlass aliases approve`` takes); ``details`` hold its id and dict.
    """

    error_code = "APPROVAL_PENDING"

    def __init__(self, message: str, *, request: Any = None, **details: Any) -> None:
        if request is not None:
            details.setdefault("request_id", request.id)
            details.setdefault("request", request.to_dict())
        super().__init__(message, **details)
        #: The pending request (None when rebuilt from a REST error body).
        self.request = request

    @classmethod
    def held(cls, request: Any) -> ApprovalPending:
        """Return the error for ``request``, a held move, naming it and how to approve it."""
        return cls(
            f"{request.object_uri} is protected and two-person review is on: the move to "
            f"version {request.version} waits for a second admin (alias request "
            f"{request.id}; approve with `windlass aliases approve {request.id}`)",
            request=request,
        )


#: The class of an answer with no error code of ours, by HTTP status.
_CLASS_BY_STATUS: dict[int, type[WindlassError]] = {
    401: Unauthenticated,
    403: PermissionDenied,
    404: NotFound,
    429: TooManyRequests,
}


def error_from_dict(body: dict[str, Any], status: int) -> WindlassError:
    """Rebuild the error a server reported from its REST error body."""
    code = str(body.get("error_code", ""))
    message = str(body.get("message", f"server answered HTTP {status}"))
    details = body.get("details") or {}
    for cls in _all_error_classes():
        if cls.error_code == code:
            return cls(message, **details)
    if status in _CLASS_BY_STATUS:  # no (known) error code: a HEAD answer, a proxy
        return _CLASS_BY_STATUS[status](message, **details)
    if status == 413:
        return PayloadTooLarge(message, **details)
    if 400 <= status < 500:
        return InvalidInput(message, **details)
    return WindlassError(message, **details)
