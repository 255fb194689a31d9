"""The model registry domain: registered models, their versions, aliases and lineage.

Both faces (the SDK and the REST server) call :class:`ModelRegistry`; it is the one writer
of the registry. It checks names and values, makes sure every file of a version is a
stored blob, fills in ids and times, and leaves storing to the metadata store.

Who registered a version or moved an alias is recorded as ``claimed_by``: the name of the
:class:`~windlass.principal.Principal` of the call (``principal=``, else the one the
registry was made with). The server's principal comes from the request, never its body;
until authentication lands it is unauthenticated, so nothing may base a trust decision on it.

The alias ``latest`` is reserved: it always resolves to the newest version and cannot be
set or deleted.

Every public call first asks the registry's :class:`~windlass.access.gate.Access`: reads
need read in the project, creating and updating models and versions write, deleting them
admin (moving a protected alias too, see :mod:`windlass.versioning.objects`); every
mutation is then audited once (:mod:`windlass.access.actions`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

import orjson

from windlass.access import actions
from windlass.access.gate import Access
from windlass.access.policy import Permission
from windlass.artifacts.cas import BlobStore
from windlass.artifacts.paths import clean_artifact_path
from windlass.entities import (
    MANIFEST_FILE,
    AliasEvent,
    ArtifactEntry,
    Lineage,
    ModelVersion,
    Page,
    RegisteredModel,
)
from windlass.exceptions import (
    InvalidInput,
    ModelNotFound,
    ModelVersionNotFound,
    RunNotFound,
)
from windlass.ids import is_id, now_ms, writer_id
from windlass.models.agreement import agreeing_manifest
from windlass.principal import Principal
from windlass.store.metadata import MetadataStore
from windlass.tracking import validation as v
from windlass.uris import (
    check_name,
    check_version,
)
from windlass.versioning.checks import checked_text
from windlass.versioning.objects import VersionedObjects

MAX_DESCRIPTION_LENGTH = 100_000
MAX_CARD_BYTES = 1024 * 1024
MAX_SOURCE_LENGTH = 10_000
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
MAX_FILES = 100_000
_DIGEST = re.compile(r"[0-9a-f]{64}")
_INT64 = 2**63


def _tags(tags: Mapping[str, Any] | None) -> dict[str, str]:
    return {
        v.key("tag", k): checked_text(f"tag {k!r}", v.tag_value(k, val), v.MAX_TAG_VALUE_LENGTH)
        for k, val in (tags or {}).items()
    }


class ModelRegistry(VersionedObjects[RegisteredModel, ModelVersion, AliasEvent]):
    """Registered models, versions, aliases and lineage over a metadata and a blob store."""

    def __init__(
        self,
        store: MetadataStore,
        blobs: BlobStore,
        *,
        principal: Principal | None = None,
        access: Access | None = None,
    ) -> None:
        self.store = store
        self.blobs = blobs
        super().__init__(
            store.registry.objects,
            "model",
            object_not_found=ModelNotFound,
            version_not_found=ModelVersionNotFound,
            principal=principal,
            access=access,
            projects=store.runs.get_project,
            governance=store.governance,
            transaction=store.transaction,
        )

    # -- registered models ---------------------------------------------------------------
    def create_model(
        self,
        project_id: str,
        name: str,
        *,
        description: str = "",
        tags: Mapping[str, Any] | None = None,
        exist_ok: bool = False,
        model_id: str | None = None,
        principal: Principal | None = None,
    ) -> RegisteredModel:
        """Create a registered model; with ``exist_ok`` an existing one is returned as is.

        ``model_id`` (32 hex characters; default: a new one) makes a retry safe: the same
        id again returns the model it created.
        """
        return self.create_object(
            partial(self.store.registry.create_registered_model, tags=_tags(tags)),
            project_id,
            name,
            description=description,
            exist_ok=exist_ok,
            object_id=model_id,
            principal=principal,
        )

    def get_model(
        self, project_id: str, name: str, *, principal: Principal | None = None
    ) -> RegisteredModel:
        """Return a registered model with its tags, aliases and newest version."""
        return self.get_object(project_id, name, principal=principal)

    def list_models(
        self,
        project_id: str,
        max_results: int = 100,
        page_token: str | None = None,
        *,
        principal: Principal | None = None,
    ) -> Page[RegisteredModel]:
        """Return one page of a project's registered models, by name."""
        return self.list_objects(project_id, max_results, page_token, principal=principal)

    def update_model(
        self,
        project_id: str,
        name: str,
        *,
        description: str | None = None,
        card: str | None = None,
        set_tags: Mapping[str, Any] | None = None,
        delete_tags: Iterable[str] | None = None,
        principal: Principal | None = None,
    ) -> RegisteredModel:
        """Change a model's description, Markdown card (at most 1 MiB) or tags."""
        who = self._require(principal, Permission.WRITE, project_id)
        if description is not None:
            checked_text("description", description, MAX_DESCRIPTION_LENGTH)
        if card is not None:
            size = len(checked_text("model card", card, MAX_CARD_BYTES).encode())
            if size > MAX_CARD_BYTES:
                raise InvalidInput(
                    f"model card is {size} bytes; the limit is 1 MiB ({MAX_CARD_BYTES} bytes)",
                    size=size,
                )
        to_set = _tags(set_tags)
        to_delete = sorted({v.key("tag", k) for k in (delete_tags or [])})
        both = sorted(set(to_set) & set(to_delete))
        if both:
            raise InvalidInput(
                f"tag(s) {', '.join(map(repr, both))} both set and deleted", keys=both
            )
        name = check_name("model name", name)
        with self._transaction():
            before = (
                self.objects.get_object(project_id, name)
                if self._access.audit is not None
                else None
            )
            model = self.store.registry.update_registered_model(
                project_id,
                name,
                description=description,
                card=card,
                set_tags=to_set or None,
                delete_tags=to_delete or None,
                updated_at=now_ms(),
            )
            self._access.record(
                who,
                actions.MODEL_UPDATE,
                self.uri(name),
                project_id=project_id,
                before=None if before is None else before.to_dict(),
                after=model.to_dict(),
            )
        return model

    def delete_model(
        self, project_id: str, name: str, *, principal: Principal | None = None
    ) -> None:
        """Delete a model with all its versions (refused while aliased or deployed)."""
        self.delete_object(project_id, name, principal=principal)

    # -- versions ------------------------------------------------------------------------
    def _check_files(self, files: Iterable[ArtifactEntry]) -> list[ArtifactEntry]:
        clean: dict[str, ArtifactEntry] = {}
        for entry in files:
            if not isinstance(entry, ArtifactEntry):
                raise InvalidInput(
                    f"model files must be ArtifactEntry objects, got {type(entry).__name__}"
                )
            path = clean_artifact_path(entry.path)
            if path in clean:
                raise InvalidInput(f"model file {path!r} is listed twice", path=path)
            digest = entry.digest.lower() if isinstance(entry.digest, str) else entry.digest
            if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
                raise InvalidInput(
                    f"model file {path!r} has digest {entry.digest!r}, not a 64-hex BLAKE3 digest",
                    path=path,
                )
            size = entry.size
            if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size < _INT64:
                raise InvalidInput(
                    f"model file {path!r} has size {size!r}, not a non-negative integer", path=path
                )
            clean[path] = ArtifactEntry(path, digest, size)
            if len(clean) > MAX_FILES:
                raise InvalidInput(f"a model version holds at most {MAX_FILES} files")
        if not clean:
            raise InvalidInput("a model version needs at least one file")
        if MANIFEST_FILE not in clean:
            raise InvalidInput(
                f"a model version needs its manifest {MANIFEST_FILE!r} at the root of its files",
                path=MANIFEST_FILE,
            )
        for path, entry in clean.items():
            if not self.blobs.has(entry.digest):
                raise InvalidInput(
                    f"model file {path!r}: blob {entry.digest} was not uploaded",
                    path=path,
                    digest=entry.digest,
                )
        return [clean[p] for p in sorted(clean)]

    @staticmethod
    def _check_manifest(manifest: Any) -> dict[str, Any]:
        if not isinstance(manifest, dict):
            raise InvalidInput(f"the manifest must be a mapping, got {type(manifest).__name__}")
        try:
            size = len(orjson.dumps(manifest))
        except TypeError as exc:
            raise InvalidInput(f"the manifest is not JSON-ready: {exc}") from None
        if size > MAX_MANIFEST_BYTES:
            raise InvalidInput(
                f"the manifest is {size} bytes as JSON; the limit is {MAX_MANIFEST_BYTES}"
            )
        return manifest

    def create_version(
        self,
        project_id: str,
        name: str,
        *,
        source: str,
        files: list[ArtifactEntry],
        manifest: dict[str, Any],
        run_id: str | None = None,
        description: str = "",
        version_id: str | None = None,
        principal: Principal | None = None,
        create_missing_model: bool = True,
    ) -> ModelVersion:
        """Register the model's next version (creating the model on first use).

        ``files`` are the packaged model's files, ``windlass-model.yaml`` among them, each
        already stored in the blob store. ``manifest`` must agree with that stored file
        and list exactly the other files, with their digests (else IntegrityFailure naming
        each disagreement, and nothing is stored). The same ``version_id`` again returns the version
        already registered, so a retried call registers once. With
        ``create_missing_model=False`` a model that does not exist is ModelNotFound.
        """
        who = self._require(principal, Permission.WRITE, project_id)
        name = check_name("model name", name)
        version_id = writer_id("version", version_id)
        source = checked_text("source", source, MAX_SOURCE_LENGTH)
        if not source:
            raise InvalidInput("a model version needs a source (where its files came from)")
        description = checked_text("description", description, MAX_DESCRIPTION_LENGTH)
        creator = self.recorded(who)
        manifest = self._check_manifest(manifest)
        clean = self._check_files(files)
        manifest = agreeing_manifest(manifest, clean, self.blobs)
        if run_id is not None:
            if not is_id(run_id):
                raise RunNotFound(
                    f"run {run_id!r} does not exist (not a run id)", run_id=str(run_id)
                )
            self.store.runs.get_run(run_id)
        with self._transaction():
            created = self._create_with_object(
                lambda: self.store.registry.create_model_version(
                    version_id=version_id,
                    project_id=project_id,
                    name=name,
                    source=source,
                    run_id=run_id,
                    files=clean,
                    manifest=manifest,
                    description=description,
                    claimed_by=creator,
                    created_at=now_ms(),
                    registered_auth=who.auth,
                ),
                lambda: self.create_model(project_id, name, exist_ok=True, principal=who),
                create_missing=create_missing_model,
            )
            if created.id == version_id:  # not a retry answered with the version registered
                self._access.record(
                    who,
                    actions.MODEL_VERSION_CREATE,
                    self.uri(name, created.version),
                    project_id=project_id,
                    after=_version_summary(created),
                )
        return created

    def delete_version(
        self, project_id: str, name: str, version: int, *, principal: Principal | None = None
    ) -> None:
        """Delete a version (refused while an alias points to it or a deployment serves it).

        A deployment serves a version it names by number, and the newest version when it
        names ``@latest`` (or no version); deleting it then is InUse naming the deployment.
        """
        who = self._require(principal, Permission.ADMIN, project_id)
        name = check_name("model name", name)
        version = check_version(version, "model")
        with self._transaction():
            self.store.registry.delete_model_version(project_id, name, version)
            self._access.record(
                who, actions.MODEL_VERSION_DELETE, self.uri(name, version), project_id=project_id
            )

    # -- lineage -------------------------------------------------------------------------
    def lineage(
        self, project_id: str, name: str, version: int, *, principal: Principal | None = None
    ) -> Lineage:
        """Return where a version came from: its run's params, metrics, datasets and code."""
        who = self._require(principal, Permission.READ, project_id)
        found = self.get_version(project_id, name, version, principal=who)
        if found.run_id is None:
            return Lineage(source=found.source)
        try:
            run = self.store.runs.get_run(found.run_id)
        except RunNotFound:
            return Lineage(source=found.source, run_id=found.run_id)
        return Lineage(
            source=found.source,
            run_id=run.id,
            run_name=run.name,
            project_id=run.project_id,
            params=dict(run.params),
            metrics={key: float(m.value) for key, m in run.metrics.items()},
            inputs=self.store.runs.list_inputs(run.id),
            git_commit=run.source.git_commit,
            git_dirty=run.source.git_dirty,
            user=run.source.user,
        )


def _version_summary(version: ModelVersion) -> dict[str, Any]:
    """Return what an audit record keeps of a registered version (not its whole manifest)."""
    return {
        "id": version.id,
        "version": version.version,
        "source": version.source,
        "run_id": version.run_id,
        "claimed_by": version.claimed_by,
        "registered_auth": version.registered_auth.value,
        "files": len(version.files),
    }
