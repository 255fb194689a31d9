"""``windlass build docker``: a Docker build context that serves one model.

The context holds the verified model files (``model/``), a wheel of this windlass
(``wheels/``), ``requirements.txt`` (the model's pinned requirements plus that wheel), a
``Dockerfile`` on ``python:<model's major.minor>-slim`` that installs them and runs
``windlass serve`` as a non-root user with a healthcheck, an allowlist ``.dockerignore``
and a ``README.txt`` saying how to build and run it.
"""

from __future__ import annotations

import json
import platform
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from windlass.entities import MANIFEST_FILE
from windlass.exceptions import ArtifactNotFound, InvalidInput, NotFound, UntrustedModel
from windlass.models.manifest import ModelManifest, read_manifest, verify_folder
from windlass.models.trust import unsafe_reasons
from windlass.serving.packaging import texts
from windlass.serving.packaging.output import check_output_dir, staged_output
from windlass.serving.packaging.wheel import DIST, wheel_version, windlass_wheel

PORT = 8080
#: The user the image runs as: numeric, so Kubernetes ``runAsNonRoot`` can verify it.
UID = 10001
APP_DIR = "/app"
_PYTHON = re.compile(r"^(\d+)\.(\d+)")
_PROJECT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_PINNED_VERSION = re.compile(r"==\s*([^\s;,]+)")


@dataclass(frozen=True)
class DockerContext:
    """What :func:`build_docker_context` wrote: where, for which model, with what."""

    path: Path
    model_uri: str
    python_version: str
    base_image: str
    requirements: list[str]
    wheel: str
    image_tag: str
    command: list[str]
    notes: list[str] = field(default_factory=list)


def python_minor(version: str) -> str:
    """Return ``major.minor`` of a Python version (the running one when ``version`` is empty)."""
    match = _PYTHON.match(version.strip()) if version else None
    if match is None:
        if version:
            raise InvalidInput(
                f"{MANIFEST_FILE}: python_version {version!r} is not a Python version (like 3.11.9)"
            )
        match = _PYTHON.match(platform.python_version())
        assert match is not None
    return f"{match[1]}.{match[2]}"


def _project(requirement: str) -> str | None:
    match = _PROJECT_NAME.match(requirement)
    return re.sub(r"[-_.]+", "-", match[1]).lower() if match else None


def model_requirements(manifest: ModelManifest, wheel_file: str, notes: list[str]) -> list[str]:
    """Return requirements.txt lines: the model's requirements, then the windlass wheel.

    windlass comes from the shipped wheel with its ``ml`` extra, whatever version the
    model names.

    pip options (``-e``, ``--index-url``...) are refused: a model's requirements must not
    redirect where the image installs packages from.
    """
    lines: list[str] = []
    for raw in manifest.requirements:
        for line in raw.splitlines():
            line = line.split(" #", 1)[0].strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("-"):
                raise InvalidInput(
                    f"{MANIFEST_FILE}: requirement {line!r} is a pip option; "
                    "a model's requirements may only name packages"
                )
            if _project(line) == DIST:
                pinned = _PINNED_VERSION.search(line)
                shipped = wheel_version(Path(wheel_file))
                if pinned and pinned[1] != shipped:
                    notes.append(
                        f"the model was saved with windlass {pinned[1]}; the image "
                        f"gets windlass {shipped} (wheels/{wheel_file})"
                    )
                continue
            lines.append(line)
    if any(_project(line) == "torch" for line in lines):
        notes.append(
            "the model needs torch: on PyPI the Linux torch wheel is the CUDA build "
            "(several GB); for a CPU image add --extra-index-url "
            "https://download.pytorch.org/whl/cpu to requirements.txt"
        )
    # The image serves models, a windlass[ml] feature (the prediction log writes Parquet).
    return [*dict.fromkeys(lines), f"./wheels/{wheel_file}[ml]"]


def resolve_model_uri(model_uri: str, project: str | None) -> str:
    """Return ``models:/NAME/VERSION`` for an alias (or bare name) URI; others unchanged.

    The image is labelled with the version it holds, not with an alias that moves on.
    """
    if not model_uri.startswith("models:/"):
        return model_uri
    from windlass.models.fluent import get_model_version
    from windlass.uris import parse_object_uri, pick_project

    parsed = parse_object_uri(model_uri)
    if parsed.version is not None:
        return model_uri
    version = get_model_version(
        parsed.name, alias=parsed.alias, project=pick_project(parsed.project, project, model_uri)
    )
    return str(parse_object_uri(version.uri).in_project(parsed.project))


def check_model_exists(model_uri: str, project: str | None, wheel_file: Path | None = None) -> None:
    """Raise the error of a model (or ``--windlass-wheel``) that is not there, writing nothing.

    ``models:/`` must name an existing version (ModelNotFound, ModelVersionNotFound),
    ``runs:/`` a run holding a packaged model (RunNotFound, ArtifactNotFound), anything else
    an existing folder with a ``windlass-model.yaml`` (InvalidInput); the wheel, when
    given, an existing file (NotFound).
    """
    from windlass.uris import parse_object_uri

    if wheel_file is not None and not Path(wheel_file).is_file():
        raise NotFound(f"--windlass-wheel {wheel_file} does not exist", path=str(wheel_file))
    if model_uri.startswith("models:/"):
        from windlass.models.fluent import get_model_version

        parsed = parse_object_uri(model_uri)
        get_model_version(parsed.name, parsed.version, alias=parsed.alias, project=project)
    elif model_uri.startswith("runs:/"):
        from windlass.tracking.fluent import get_run, list_artifacts

        parsed = parse_object_uri(model_uri)
        get_run(parsed.name)
        names = {
            entry.path.rsplit("/", 1)[-1]
            for entry in list_artifacts(parsed.name, parsed.path)
            if not entry.is_dir
        }
        if MANIFEST_FILE not in names:
            raise ArtifactNotFound(
                f"{model_uri} is not a windlass model (no {MANIFEST_FILE} there)",
                run_id=parsed.name,
                path=parsed.path,
            )
    elif not Path(model_uri).is_dir():
        raise InvalidInput(
            f"{model_uri!r} is neither a model URI (models:/, runs:/) nor a model folder",
            uri=model_uri,
        )
    elif not (Path(model_uri) / MANIFEST_FILE).is_file():
        raise InvalidInput(
            f"{model_uri} is not a windlass model: it has no {MANIFEST_FILE}", path=model_uri
        )


def _fetch_model(model_uri: str, dest: Path, project: str | None) -> None:
    """Download (or copy, for a folder) the model into ``dest`` and verify every file."""
    if model_uri.startswith(("models:/", "runs:/")):
        from windlass.models.fluent import download_model

        download_model(model_uri, dest, project=project)
        return
    from windlass.artifacts.paths import walk_local

    source = Path(model_uri)
    if not source.is_dir():
        raise InvalidInput(
            f"{model_uri!r} is neither a model URI (models:/, runs:/) nor a model folder",
            uri=model_uri,
        )
    for file, rel in walk_local(source):
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, target)
    verify_folder(dest, read_manifest(dest))


def _make_readable(folder: Path) -> None:
    """Give every folder 0755 and file 0644: the image's non-root user must read them."""
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def image_tag(model_uri: str) -> str:
    """Return a suggested image tag: ``windlass-churn:3``, ``windlass-churn:champion``..."""
    from windlass.uris import parse_object_uri

    if model_uri.startswith("models:/"):
        parsed = parse_object_uri(model_uri)
        name, tag = parsed.name, str(parsed.version or parsed.alias or "latest")
    elif model_uri.startswith("runs:/"):
        parsed = parse_object_uri(model_uri)
        name, tag = parsed.path.rsplit("/", 1)[-1] or "model", parsed.name[:12]
    else:
        name, tag = Path(model_uri).resolve().name or "model", "latest"
    name = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-._") or "model"
    tag = re.sub(r"[^A-Za-z0-9._-]+", "-", tag)[:128] or "latest"
    return f"windlass-{name}:{tag}"


def serve_command(*, trust: bool = False, workers: int | None = None) -> list[str]:
    """Return the image's command: ``windlass serve /app/model`` on all interfaces, port 8080."""
    command = [
        DIST,
        "serve",
        f"{APP_DIR}/model",
        "--host",
        "0.0.0.0",  # noqa: S104
        "--port",
        str(PORT),
    ]
    if workers is not None:
        if workers < 1:
            raise InvalidInput(f"--workers must be at least 1, not {workers}")
        command += ["--workers", str(workers)]
    return [*command, "--trust"] if trust else command


def _check_trust(model_uri: str, manifest: ModelManifest, trust: bool) -> None:
    """Refuse, at build time, a model the image could not load without ``--trust``."""
    reasons = unsafe_reasons(manifest)
    if reasons and not trust:
        raise UntrustedModel(
            f"{model_uri} was made by {manifest.creator()} and loading it runs code from its "
            f"files ({'; '.join(reasons)}): the image could not serve it. If you trust its "
            "source, pass --trust to build an image that serves it with `--trust`",
            uri=model_uri,
            reasons=reasons,
        )


def render_dockerfile(
    model_uri: str,
    manifest: ModelManifest,
    base_image: str,
    windlass_version: str,
    command: list[str],
) -> str:
    """Return the Dockerfile of a model image (values in labels are JSON-quoted)."""
    source = (
        model_uri
        if model_uri.startswith(("models:/", "runs:/"))
        else f"folder:{Path(model_uri).resolve().name}"
    )
    healthcheck = json.dumps(["python", "-c", texts.HEALTHCHECK_CODE.format(port=PORT)])
    serve = json.dumps(command)
    return texts.DOCKERFILE.format(
        windlass_version=windlass_version,
        base_image=base_image,
        uid=UID,
        app=APP_DIR,
        port=PORT,
        healthcheck=healthcheck,
        serve=serve,
        source=json.dumps(source),
        flavor=json.dumps(manifest.flavor),
        version_label=json.dumps(windlass_version),
    )


def build_docker_context(
    model_uri: str,
    out: str | Path,
    *,
    force: bool = False,
    project: str | None = None,
    windlass_wheel_file: Path | None = None,
    base_image: str | None = None,
    trust: bool = False,
    workers: int | None = None,
) -> DockerContext:
    """Write a Docker build context serving ``model_uri`` into the folder ``out``.

    ``model_uri`` is ``models:/...``, ``runs:/...`` or a model folder; it must exist
    (checked before anything is written: NotFound, or InvalidInput for a path that is no
    model folder), and every file is verified against its recorded hash. ``out`` must be
    new or empty unless ``force``.
    A model whose files run code when loaded needs ``trust`` (the image then serves it
    with ``--trust``).
    """
    out = Path(out)
    notes: list[str] = []
    command = serve_command(trust=trust, workers=workers)
    requested = str(model_uri)
    check_output_dir(out, force=force)
    check_model_exists(requested, project, windlass_wheel_file)
    model_uri = resolve_model_uri(requested, project)
    if model_uri != requested:
        notes.append(f"{requested} is {model_uri}: the image holds that version")
    with staged_output(out, force=force) as staging:
        _fetch_model(model_uri, staging / "model", project)
        manifest = read_manifest(staging / "model")
        _check_trust(model_uri, manifest, trust)
        python = python_minor(manifest.python_version)
        if not manifest.python_version:
            notes.append(f"the model does not record its Python version; using {python}")
        image = base_image or f"python:{python}-slim"
        wheel = windlass_wheel(staging / "wheels", windlass_wheel_file)
        requirements = model_requirements(manifest, wheel.name, notes)
        tag = image_tag(model_uri)
        (staging / "requirements.txt").write_text(
            texts.REQUIREMENTS_HEADER.format(uri=model_uri) + "\n".join(requirements) + "\n"
        )
        (staging / "Dockerfile").write_text(
            render_dockerfile(model_uri, manifest, image, wheel_version(wheel), command)
        )
        (staging / ".dockerignore").write_text(texts.DOCKERIGNORE)
        _make_readable(staging / "model")
        _make_readable(staging / "wheels")
        (staging / "README.txt").write_text(
            texts.DOCKER_README.format(
                uri=model_uri,
                tag=tag,
                port=PORT,
                notes="".join(f"- {n}\n" for n in notes) or "- none\n",
            )
        )
    return DockerContext(
        path=out,
        model_uri=model_uri,
        python_version=python,
        base_image=image,
        requirements=requirements,
        wheel=wheel.name,
        image_tag=tag,
        command=command,
        notes=notes,
    )
