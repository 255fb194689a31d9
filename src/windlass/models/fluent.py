"""The models SDK: log, register, alias, load and download models in the current project.

Model URIs: ``models:/<name>/<version>``, ``models:/<name>@<alias>`` (``@latest`` is the
newest version) in the current project, ``runs:/<run id>/<path>``, or a local folder.
Every load verifies each file against the digest recorded when the model was saved.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from windlass.entities import (
    MANIFEST_FILE,
    AliasEvent,
    Lineage,
    ModelInfo,
    ModelVersion,
    RegisteredModel,
    all_pages,
)
from windlass.exceptions import InvalidInput, InvalidUri
from windlass.models.signature import Signature
from windlass.tracking.context import default_client

if TYPE_CHECKING:
    from windlass.models.loading import LoadedModel
    from windlass.models.registry import ModelRegistry
    from windlass.tracking.context import SdkClient
    from windlass.tracking.service import Tracking


def _run_files(tracking: Tracking, run_id: str, path: str) -> list[Any]:
    from windlass.models.transfer import relative

    files = relative(tracking.walk_artifacts(run_id, path), path)
    if not any(f.path == MANIFEST_FILE for f in files):
        raise InvalidInput(
            f"runs:/{run_id}/{path} is not a windlass model (no {MANIFEST_FILE} there)",
            run_id=run_id,
            path=path,
        )
    return files


def _is_uri(value: str | Path) -> bool:
    return isinstance(value, str) and value.startswith(("models:/", "runs:/"))


def _run_exists(tracking: Tracking, run_id: str) -> bool:
    from windlass.exceptions import RunNotFound

    try:
        tracking.get_run(run_id)
    except RunNotFound:
        return False
    return True


class Models:
    """The ``client.models`` namespace: log, register, load, alias and inspect models."""

    def __init__(self, client: SdkClient) -> None:
        self._client = client
        self._registry: ModelRegistry | None = None

    def _services(self) -> tuple[Tracking, ModelRegistry]:
        tracking = self._client.tracking
        if self._registry is None:
            from windlass.models.registry import ModelRegistry

            self._registry = ModelRegistry(
                tracking.store,
                tracking.blobs,
                principal=self._client.principal,
                access=tracking.access,
            )
        return tracking, self._registry

    def _project(self, project: str | None) -> str:
        return self._client.project_id(project)

    def log(
        self,
        model: Any,
        name: str = "model",
        *,
        input_example: Any = None,
        signature: Signature | dict[str, Any] | None = None,
        registered_model_name: str | None = None,
        flavor: str | None = None,
        serialization: str | None = None,
        requirements: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        run_id: str | None = None,
        **options: Any,
    ) -> ModelInfo:
        """Package ``model`` into the active run's artifacts at ``name``; register it if asked.

        Returns a :class:`~windlass.ModelInfo` with the ``runs:/`` URI, the flavor, the
        signature and, with ``registered_model_name``, the new version number.
        """
        from windlass.artifacts.paths import clean_artifact_path
        from windlass.models.package import save_model as _save
        from windlass.models.transfer import prefixed, upload_folder

        rid = self._client.runs.run_id(run_id)
        artifact_path = clean_artifact_path(name)
        tracking, registry = self._services()
        with tempfile.TemporaryDirectory(prefix="windlass-model-") as tmp:
            folder = Path(tmp) / "model"
            manifest = _save(
                model,
                folder,
                flavor=flavor,
                input_example=input_example,
                signature=signature,
                serialization=serialization,
                requirements=requirements,
                metadata=metadata,
                run_id=rid,
                **options,
            )
            files = upload_folder(tracking.blobs, folder)
        tracking.record_artifacts(rid, prefixed(files, artifact_path))
        uri = f"runs:/{rid}/{artifact_path}"
        version = None
        if registered_model_name is not None:
            run = tracking.get_run(rid)
            version = registry.create_version(
                run.project_id,
                registered_model_name,
                source=uri,
                files=files,
                manifest=manifest.to_dict(),
                run_id=rid,
            ).version
        return ModelInfo(
            uri=uri,
            run_id=rid,
            artifact_path=artifact_path,
            flavors=list(manifest.flavors),
            signature=None if manifest.signature is None else manifest.signature.to_dict(),
            registered_model_name=registered_model_name,
            version=version,
        )

    def _resolve_files(
        self, uri: str, project: str | None
    ) -> tuple[str, list[Any], ModelVersion | None]:
        """Return (canonical URI, recorded files, registry version or None) for a model URI.

        The project is the one the URI names (``models://<project>/...``), else ``project``,
        else the current one; a URI and a ``project`` that disagree are refused.
        """
        from windlass.exceptions import RunNotFound
        from windlass.uris import parse_object_uri, pick_project

        parsed = parse_object_uri(uri)
        project = pick_project(parsed.project, project, uri)
        tracking, registry = self._services()
        if parsed.kind == "runs":
            if not parsed.path:
                raise InvalidUri(
                    f"{uri!r} names a run, not a model folder in it: "
                    "add its path (runs:/<id>/model)",
                    uri=uri,
                )
            if (
                parsed.project is not None
                and tracking.get_run(parsed.name).project_id
                != tracking.store.runs.get_project(parsed.project).id
            ):
                raise RunNotFound(
                    f"run {parsed.name} is not in project {parsed.project!r}",
                    run_id=parsed.name,
                    project=parsed.project,
                )
            return uri, _run_files(tracking, parsed.name, parsed.path), None
        if parsed.kind != "models":
            raise InvalidUri(
                f"{uri!r} is not a model URI (models:/..., runs:/... or a folder)", uri=uri
            )
        version = registry.resolve(
            self._project(project), parsed.name, version=parsed.version, alias=parsed.alias
        )
        pinned = (
            version.uri
            if parsed.project is None
            else str(parse_object_uri(version.uri).in_project(parsed.project))
        )
        return pinned, version.files, version

    def load(
        self, model_uri: str | Path, *, trust: bool = False, project: str | None = None
    ) -> LoadedModel:
        """Load a model by URI or local folder, verifying every file's hash first.

        Models whose files can run code (pickle, the python flavor) load only with
        ``trust=True`` or a matching ``WINDLASS_TRUSTED_MODEL_SOURCES`` entry: a URI
        pattern, or ``registrant:NAME`` for a registry version NAME registered authenticated.
        """
        from windlass.models.loading import load_model_folder
        from windlass.models.transfer import download_files

        if not _is_uri(model_uri):
            folder = Path(model_uri)
            if not folder.is_dir():
                raise InvalidUri(
                    f"{str(model_uri)!r} is neither a model URI (models:/, runs:/) "
                    "nor a model folder",
                    uri=str(model_uri),
                )
            return load_model_folder(folder, trust=trust)
        uri, files, version = self._resolve_files(str(model_uri), project)
        tracking, _registry = self._services()
        keep = tempfile.TemporaryDirectory(prefix="windlass-load-")
        try:
            folder = download_files(tracking.blobs, files, Path(keep.name))
            return load_model_folder(
                folder, trust=trust, uri=uri, recorded=files, keep=keep, version=version
            )
        except BaseException:
            keep.cleanup()
            raise

    def download(self, model_uri: str, dst: str | Path, *, project: str | None = None) -> Path:
        """Download a model's files into the folder ``dst`` (verified); return the folder."""
        from windlass.models.loading import check_against_registry
        from windlass.models.manifest import read_manifest, verify_folder
        from windlass.models.transfer import download_files

        _uri, files, _version = self._resolve_files(model_uri, project)
        dest = Path(dst)
        if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
            raise InvalidInput(f"{dest} exists and is not an empty folder", path=str(dest))
        tracking, _registry = self._services()
        download_files(tracking.blobs, files, dest)
        manifest = read_manifest(dest)
        check_against_registry(dest, manifest, files)
        verify_folder(dest, manifest)
        return dest

    def register(
        self, model_uri: str | Path, name: str, *, description: str = "", project: str | None = None
    ) -> ModelVersion:
        """Register a logged model (``runs:/``), a registered one (``models:/``) or a folder."""
        from windlass.models.manifest import read_manifest, verify_folder
        from windlass.models.transfer import download_files, upload_folder

        tracking, registry = self._services()
        project_id = self._project(project)
        if not _is_uri(model_uri):
            folder = Path(model_uri)
            manifest = read_manifest(folder)
            verify_folder(folder, manifest)
            files = upload_folder(tracking.blobs, folder)
            return registry.create_version(
                project_id,
                name,
                source=str(folder.resolve()),
                files=files,
                manifest=manifest.to_dict(),
                run_id=manifest.run_id
                if manifest.run_id and _run_exists(tracking, manifest.run_id)
                else None,
                description=description,
            )
        source, files, version = self._resolve_files(str(model_uri), project)
        with tempfile.TemporaryDirectory(prefix="windlass-register-") as tmp:
            manifest_entry = [f for f in files if f.path == MANIFEST_FILE]
            download_files(tracking.blobs, manifest_entry, Path(tmp))
            manifest = read_manifest(Path(tmp))
        run_id = version.run_id if version is not None else source.split("/")[1]
        return registry.create_version(
            project_id,
            name,
            source=source,
            files=files,
            manifest=manifest.to_dict(),
            run_id=run_id,
            description=description,
        )

    def get(self, name: str, *, project: str | None = None) -> RegisteredModel:
        """Return a registered model: description, tags, card, aliases, newest version."""
        _tracking, registry = self._services()
        return registry.get_model(self._project(project), name)

    def list_models(self, *, project: str | None = None) -> list[RegisteredModel]:
        """Return every registered model of the project, by name."""
        _tracking, registry = self._services()
        project_id = self._project(project)
        return all_pages(lambda token: registry.list_models(project_id, 1000, token))

    def update(
        self,
        name: str,
        *,
        description: str | None = None,
        card: str | None = None,
        tags: dict[str, Any] | None = None,
        delete_tags: list[str] | None = None,
        project: str | None = None,
    ) -> RegisteredModel:
        """Change a registered model's description, Markdown model card or tags."""
        _tracking, registry = self._services()
        return registry.update_model(
            self._project(project),
            name,
            description=description,
            card=card,
            set_tags=None if tags is None else {k: str(v) for k, v in tags.items()},
            delete_tags=delete_tags,
        )

    def delete(self, name: str, *, project: str | None = None) -> None:
        """Delete a registered model and its versions (refused while it has aliases)."""
        _tracking, registry = self._services()
        registry.delete_model(self._project(project), name)

    def get_version(
        self,
        name: str,
        version: int | None = None,
        *,
        alias: str | None = None,
        project: str | None = None,
    ) -> ModelVersion:
        """Return a version by number or alias (neither: the newest)."""
        _tracking, registry = self._services()
        return registry.resolve(self._project(project), name, version=version, alias=alias)

    def list_versions(self, name: str, *, project: str | None = None) -> list[ModelVersion]:
        """Return every version of a registered model, newest first."""
        _tracking, registry = self._services()
        project_id = self._project(project)
        return all_pages(lambda token: registry.list_versions(project_id, name, 1000, token))

    def delete_version(self, name: str, version: int, *, project: str | None = None) -> None:
        """Delete a version (refused while an alias points to it: move the alias first)."""
        _tracking, registry = self._services()
        registry.delete_version(self._project(project), name, version)

    def set_alias(
        self, name: str, alias: str, version: int, *, project: str | None = None
    ) -> AliasEvent:
        """Point ``alias`` (``champion``, ``challenger``...) at ``version``; record the move."""
        _tracking, registry = self._services()
        return registry.set_alias(self._project(project), name, alias, version)

    def delete_alias(self, name: str, alias: str, *, project: str | None = None) -> AliasEvent:
        """Remove an alias; the removal is recorded."""
        _tracking, registry = self._services()
        return registry.delete_alias(self._project(project), name, alias)

    def alias_history(
        self, name: str, alias: str | None = None, *, project: str | None = None
    ) -> list[AliasEvent]:
        """Return every recorded alias move of a model (or one alias), oldest first."""
        _tracking, registry = self._services()
        return registry.alias_history(self._project(project), name, alias)

    def lineage(self, name: str, version: int, *, project: str | None = None) -> Lineage:
        """Return where a version came from: run, params, metrics, dataset inputs, code version."""
        _tracking, registry = self._services()
        return registry.lineage(self._project(project), name, version)

    def missing_files(self, model_uri: str, *, project: str | None = None) -> list[str]:
        """Return the files of a model URI that the artifact store no longer holds.

        Raises a :class:`~windlass.exceptions.NotFound` when the URI names nothing any more
        (the version was deleted). Model servers ask this at every poll.
        """
        _uri, files, _version = self._resolve_files(model_uri, project)
        tracking, _registry = self._services()
        return [f.path for f in files if not tracking.blobs.has(f.digest)]


# -- the flat functions: the default client's models --
def log_model(
    model: Any,
    name: str = "model",
    *,
    input_example: Any = None,
    signature: Signature | dict[str, Any] | None = None,
    registered_model_name: str | None = None,
    flavor: str | None = None,
    serialization: str | None = None,
    requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    run_id: str | None = None,
    **options: Any,
) -> ModelInfo:
    """Package ``model`` into the active run's artifacts at ``name``; register it if asked.

    Returns a :class:`~windlass.ModelInfo` with the ``runs:/`` URI, the flavor, the
    signature and, with ``registered_model_name``, the new version number.
    """
    return default_client().models.log(
        model,
        name,
        input_example=input_example,
        signature=signature,
        registered_model_name=registered_model_name,
        flavor=flavor,
        serialization=serialization,
        requirements=requirements,
        metadata=metadata,
        run_id=run_id,
        **options,
    )


def load_model(
    model_uri: str | Path, *, trust: bool = False, project: str | None = None
) -> LoadedModel:
    """Load a model by URI or local folder, verifying every file's hash first.

    Models whose files can run code (pickle, the python flavor) load only with
    ``trust=True`` or a matching ``WINDLASS_TRUSTED_MODEL_SOURCES`` entry (a URI pattern,
    or ``registrant:NAME`` for a version NAME registered authenticated).
    """
    return default_client().models.load(model_uri, trust=trust, project=project)


def download_model(model_uri: str, dst: str | Path, *, project: str | None = None) -> Path:
    """Download a model's files into the folder ``dst`` (verified); return the folder."""
    return default_client().models.download(model_uri, dst, project=project)


def register_model(
    model_uri: str | Path, name: str, *, description: str = "", project: str | None = None
) -> ModelVersion:
    """Register a logged model (``runs:/``), a registered one (``models:/``) or a folder."""
    return default_client().models.register(
        model_uri, name, description=description, project=project
    )


def get_registered_model(name: str, *, project: str | None = None) -> RegisteredModel:
    """Return a registered model: description, tags, card, aliases, newest version."""
    return default_client().models.get(name, project=project)


def list_registered_models(*, project: str | None = None) -> list[RegisteredModel]:
    """Return every registered model of the project, by name."""
    return default_client().models.list_models(project=project)


def update_registered_model(
    name: str,
    *,
    description: str | None = None,
    card: str | None = None,
    tags: dict[str, Any] | None = None,
    delete_tags: list[str] | None = None,
    project: str | None = None,
) -> RegisteredModel:
    """Change a registered model's description, Markdown model card or tags."""
    return default_client().models.update(
        name,
        description=description,
        card=card,
        tags=tags,
        delete_tags=delete_tags,
        project=project,
    )


def delete_registered_model(name: str, *, project: str | None = None) -> None:
    """Delete a registered model and its versions (refused while it has aliases)."""
    default_client().models.delete(name, project=project)


def get_model_version(
    name: str, version: int | None = None, *, alias: str | None = None, project: str | None = None
) -> ModelVersion:
    """Return a version by number or alias (neither: the newest)."""
    return default_client().models.get_version(name, version, alias=alias, project=project)


def list_model_versions(name: str, *, project: str | None = None) -> list[ModelVersion]:
    """Return every version of a registered model, newest first."""
    return default_client().models.list_versions(name, project=project)


def delete_model_version(name: str, version: int, *, project: str | None = None) -> None:
    """Delete a version (refused while an alias points to it: move the alias first)."""
    default_client().models.delete_version(name, version, project=project)


def set_alias(name: str, alias: str, version: int, *, project: str | None = None) -> AliasEvent:
    """Point ``alias`` (``champion``, ``challenger``...) at ``version``; the move is recorded."""
    return default_client().models.set_alias(name, alias, version, project=project)


def delete_alias(name: str, alias: str, *, project: str | None = None) -> AliasEvent:
    """Remove an alias; the removal is recorded."""
    return default_client().models.delete_alias(name, alias, project=project)


def get_alias_history(
    name: str, alias: str | None = None, *, project: str | None = None
) -> list[AliasEvent]:
    """Return every recorded alias move of a model (or one alias), oldest first."""
    return default_client().models.alias_history(name, alias, project=project)


def get_model_lineage(name: str, version: int, *, project: str | None = None) -> Lineage:
    """Return where a version came from: run, params, metrics, dataset inputs, code version."""
    return default_client().models.lineage(name, version, project=project)


def missing_model_files(model_uri: str, *, project: str | None = None) -> list[str]:
    """Return the files of a model URI that the artifact store no longer holds.

    Raises a :class:`~windlass.exceptions.NotFound` when the URI names nothing any more
    (the version was deleted). Model servers ask this at every poll.
    """
    return default_client().models.missing_files(model_uri, project=project)
