"""The audit trail's action names: what each mutation of a domain service is recorded as.

Every mutation of a domain service appends exactly one audit record, after its store
write succeeded, through :meth:`windlass.access.gate.Access.record`, naming one of the
actions below (dotted: ``<object>.<verb>``). :data:`ACTIONS` maps each name to what it
records; the services use the constants, and ``docs/audit.md`` renders the table.
:data:`IDENTITY_ACTIONS` does the same for :class:`~windlass.access.identity.Identity`:
changes of users, tokens and members, and each failed authentication (``auth.fail``).

Not audited: run heartbeats (a liveness ping, not a change anyone made) and the sweeps
that mark runs without a heartbeat failed (the server's own housekeeping).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ACTIONS",
    "ALIAS_APPROVE",
    "ALIAS_REJECT",
    "ALIAS_REQUEST",
    "AUTH_FAIL",
    "DEPLOYMENT_CREATE",
    "DEPLOYMENT_DELETE",
    "DEPLOYMENT_PROMOTE",
    "DEPLOYMENT_ROLLBACK",
    "DEPLOYMENT_SHADOW",
    "DEPLOYMENT_UPDATE",
    "DEPLOYMENT_WEIGHTS",
    "IDENTITY_ACTIONS",
    "MEMBER_REMOVE",
    "MEMBER_SET",
    "MODEL_ALIAS_DELETE",
    "MODEL_ALIAS_SET",
    "MODEL_CREATE",
    "MODEL_DELETE",
    "MODEL_UPDATE",
    "MODEL_VERSION_CREATE",
    "MODEL_VERSION_DELETE",
    "PROJECT_CREATE",
    "PROJECT_SETTINGS",
    "PROMPT_ALIAS_DELETE",
    "PROMPT_ALIAS_SET",
    "PROMPT_CREATE",
    "PROMPT_DELETE",
    "PROMPT_VERSION_CREATE",
    "RUN_ARTIFACTS",
    "RUN_CREATE",
    "RUN_DELETE",
    "RUN_INPUTS",
    "RUN_METRICS",
    "RUN_PARAMS",
    "RUN_RESTORE",
    "RUN_TAGS",
    "RUN_TAG_DELETE",
    "RUN_UPDATE",
    "TOKEN_CREATE",
    "TOKEN_REVOKE",
    "TRACE_INGEST",
    "USER_CREATE",
    "USER_UPDATE",
]

PROJECT_CREATE: Final = "project.create"
PROJECT_SETTINGS: Final = "project.settings"
ALIAS_REQUEST: Final = "alias.request"
ALIAS_APPROVE: Final = "alias.approve"
ALIAS_REJECT: Final = "alias.reject"
RUN_CREATE: Final = "run.create"
RUN_UPDATE: Final = "run.update"
RUN_DELETE: Final = "run.delete"
RUN_RESTORE: Final = "run.restore"
RUN_PARAMS: Final = "run.params"
RUN_TAGS: Final = "run.tags"
RUN_TAG_DELETE: Final = "run.tag.delete"
RUN_METRICS: Final = "run.metrics"
RUN_INPUTS: Final = "run.inputs"
RUN_ARTIFACTS: Final = "run.artifacts"
MODEL_CREATE: Final = "model.create"
MODEL_UPDATE: Final = "model.update"
MODEL_DELETE: Final = "model.delete"
MODEL_VERSION_CREATE: Final = "model.version.create"
MODEL_VERSION_DELETE: Final = "model.version.delete"
MODEL_ALIAS_SET: Final = "model.alias.set"
MODEL_ALIAS_DELETE: Final = "model.alias.delete"
PROMPT_CREATE: Final = "prompt.create"
PROMPT_DELETE: Final = "prompt.delete"
PROMPT_VERSION_CREATE: Final = "prompt.version.create"
PROMPT_ALIAS_SET: Final = "prompt.alias.set"
PROMPT_ALIAS_DELETE: Final = "prompt.alias.delete"
DEPLOYMENT_CREATE: Final = "deployment.create"
DEPLOYMENT_UPDATE: Final = "deployment.update"
DEPLOYMENT_DELETE: Final = "deployment.delete"
DEPLOYMENT_PROMOTE: Final = "deployment.promote"
DEPLOYMENT_ROLLBACK: Final = "deployment.rollback"
DEPLOYMENT_WEIGHTS: Final = "deployment.weights"
DEPLOYMENT_SHADOW: Final = "deployment.shadow"
TRACE_INGEST: Final = "trace.ingest"
USER_CREATE: Final = "user.create"
USER_UPDATE: Final = "user.update"
TOKEN_CREATE: Final = "token.create"  # noqa: S105 - an action name, not a secret
TOKEN_REVOKE: Final = "token.revoke"  # noqa: S105 - an action name, not a secret
MEMBER_SET: Final = "member.set"
MEMBER_REMOVE: Final = "member.remove"
AUTH_FAIL: Final = "auth.fail"

#: Every action name, with what its record holds (object URI; before; after).
ACTIONS: Final[dict[str, str]] = {
    PROJECT_CREATE: "A project was created. URI `projects:/<name>`; after: the project.",
    PROJECT_SETTINGS: (
        "A project's settings changed (protected aliases, two-person review). URI "
        "`projects:/<name>`; before and after: the settings."
    ),
    ALIAS_REQUEST: (
        "A move of a protected alias waits for a second admin (two-person review). URI "
        "`<kind>s:/<name>@<alias>`; after: the request."
    ),
    ALIAS_APPROVE: (
        "A second admin approved an alias request and the alias moved (recorded in the alias "
        "history as the approver's move). URI `<kind>s:/<name>@<alias>`; before: the version "
        "it named; after: the version, the request id and who requested it."
    ),
    ALIAS_REJECT: (
        "An admin rejected an alias request; the alias did not move. URI "
        "`<kind>s:/<name>@<alias>`; after: the request."
    ),
    RUN_CREATE: "A run was started. URI `runs:/<run id>`; after: the run.",
    RUN_UPDATE: (
        "A run's status, end time or name changed (ending a run too). URI `runs:/<run id>`; "
        "before and after: the changed fields."
    ),
    RUN_DELETE: "A run was soft-deleted. URI `runs:/<run id>`; before/after: `deleted`.",
    RUN_RESTORE: "A deleted run was restored. URI `runs:/<run id>`; before/after: `deleted`.",
    RUN_PARAMS: "Params were logged to a run. URI `runs:/<run id>`; after: the params.",
    RUN_TAGS: "Tags were set on a run. URI `runs:/<run id>`; after: the tags.",
    RUN_TAG_DELETE: "A tag was removed from a run. URI `runs:/<run id>`; before: the key.",
    RUN_METRICS: (
        "A batch of metric points was logged (one record per batch). URI `runs:/<run id>` "
        "(the batch's first run); after: the count of points, the keys and the run ids, "
        "never the values."
    ),
    RUN_INPUTS: "Dataset inputs were recorded for a run. URI `runs:/<run id>`; after: them.",
    RUN_ARTIFACTS: (
        "Files were recorded as a run's artifacts. URI `runs:/<run id>`; after: count and "
        "paths (at most 100)."
    ),
    MODEL_CREATE: "A registered model was created. URI `models:/<name>`; after: the model.",
    MODEL_UPDATE: (
        "A model's description, card or tags changed. URI `models:/<name>`; before and "
        "after: the model."
    ),
    MODEL_DELETE: "A model and its versions were deleted. URI `models:/<name>`.",
    MODEL_VERSION_CREATE: (
        "A model version was registered. URI `models:/<name>/<version>`; after: the version."
    ),
    MODEL_VERSION_DELETE: "A model version was deleted. URI `models:/<name>/<version>`.",
    MODEL_ALIAS_SET: (
        "An alias was moved. URI `models:/<name>@<alias>`; before/after: the version it named."
    ),
    MODEL_ALIAS_DELETE: (
        "An alias was removed. URI `models:/<name>@<alias>`; before: the version it named."
    ),
    PROMPT_CREATE: "A prompt was created. URI `prompts:/<name>`; after: the prompt.",
    PROMPT_DELETE: "A prompt and its versions were deleted. URI `prompts:/<name>`.",
    PROMPT_VERSION_CREATE: (
        "A prompt version was registered. URI `prompts:/<name>/<version>`; after: its number, "
        "content hash and commit message."
    ),
    PROMPT_ALIAS_SET: (
        "A prompt alias was moved. URI `prompts:/<name>@<alias>`; before/after: the version."
    ),
    PROMPT_ALIAS_DELETE: (
        "A prompt alias was removed. URI `prompts:/<name>@<alias>`; before: the version."
    ),
    DEPLOYMENT_CREATE: "A deployment was created. URI `deployments:/<name>`; after: it.",
    DEPLOYMENT_UPDATE: (
        "A deployment's variants were replaced. URI `deployments:/<name>`; before and after: "
        "its revision, variants and shadow."
    ),
    DEPLOYMENT_DELETE: "A deployment and its history were deleted. URI `deployments:/<name>`.",
    DEPLOYMENT_PROMOTE: (
        "One variant got all the traffic. URI `deployments:/<name>`; before/after: the state."
    ),
    DEPLOYMENT_ROLLBACK: (
        "An earlier revision's state was restored. URI `deployments:/<name>`; before/after: "
        "the state."
    ),
    DEPLOYMENT_WEIGHTS: (
        "Variant weights changed. URI `deployments:/<name>`; before/after: the state."
    ),
    DEPLOYMENT_SHADOW: (
        "The shadow variant was set or removed. URI `deployments:/<name>`; before/after: the state."
    ),
    TRACE_INGEST: (
        "Spans were ingested (one record per ingest call and project). URI "
        "`traces:/<project>`; after: spans accepted and duplicates."
    ),
}

#: Every action :class:`~windlass.access.identity.Identity` records, with what it holds.
IDENTITY_ACTIONS: Final[dict[str, str]] = {
    USER_CREATE: "A user was created. URI `users:/<name>`; after: the user (no password hash).",
    USER_UPDATE: (
        "A user was enabled, disabled, made or unmade a server admin, or given a new password. "
        "URI `users:/<name>`; before and after: the user, and whether the password changed."
    ),
    TOKEN_CREATE: (
        "An API token was made. URI `tokens:/<token id>`; after: the token's record (its "
        "public hint, never its secret)."
    ),
    TOKEN_REVOKE: "An API token was revoked. URI `tokens:/<token id>`; after: its record.",
    MEMBER_SET: (
        "A user got a role in a project. URI `projects:/<project>/members/<user>`; before and "
        "after: the membership."
    ),
    MEMBER_REMOVE: ("A user was removed from a project. URI `projects:/<project>/members/<user>`."),
    AUTH_FAIL: (
        "An authentication failed (a bad, unknown, expired or revoked token, a token of a "
        "disabled user, a wrong password). URI `tokens:/<token id>` for a token the store "
        "knows, `tokens:/?` for one it does not, `users:/<name>` for a password login "
        "naming a user, `users:/?` for one whose name cannot be a user's; principal: the "
        "user the credential claims (the token's owner, the name given) or `anonymous`; "
        "auth method: the one tried; after: the reason (malformed, unknown, expired, "
        "revoked, user disabled, wrong password). Never the "
        "secret. Not recorded once the source address is over its failure limit (429), so "
        "a flood cannot fill the trail."
    ),
}
