"""``windlass build``: docker (a build context for one model), k8s (deployment manifests)."""

from __future__ import annotations

from pathlib import Path

import typer

from windlass.cli.context import JSON_OPTION, URI_OPTION
from windlass.cli.render import console, print_json

app = typer.Typer(
    help="Package models for production: Docker build contexts, Kubernetes manifests.",
    no_args_is_help=True,
)

OUT_OPTION = typer.Option(..., "--output", "-o", help="Folder to write (new or empty).")
FORCE_OPTION = typer.Option(
    False,
    "--force",
    help="Write into a non-empty folder, replacing "
    "the files the build writes (others are left alone).",
)


@app.command("docker")
def docker(
    model_uri: str = typer.Argument(
        ...,
        metavar="MODEL_URI",
        help="models:/NAME/VERSION, models:/NAME@ALIAS, runs:/RUN_ID/PATH or a model folder.",
    ),
    out: Path = OUT_OPTION,
    force: bool = FORCE_OPTION,
    windlass_wheel: Path = typer.Option(
        None,
        "--windlass-wheel",
        help="Ship this windlass wheel instead of building one from the running windlass.",
    ),
    base_image: str = typer.Option(
        None,
        "--base-image",
        help="Base image (default: python:X.Y-slim with the model's Python version).",
    ),
    trust: bool = typer.Option(
        False,
        "--trust",
        help="The model's files run code "
        "when loaded (pickle, Python models) and you trust "
        "its source: the image serves it with --trust.",
    ),
    workers: int = typer.Option(None, "--workers", help="Server worker processes."),
    project: str | None = typer.Option(
        None, "--project", "-p", help="Project name (default: WINDLASS_PROJECT)."
    ),
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Write a Docker build context that serves MODEL_URI on port 8080."""
    import windlass
    from windlass.serving.packaging import build_docker_context

    windlass.set_tracking_uri(uri)
    built = build_docker_context(
        model_uri,
        out,
        force=force,
        project=project,
        windlass_wheel_file=windlass_wheel,
        base_image=base_image,
        trust=trust,
        workers=workers,
    )
    if as_json:
        print_json(
            {
                "path": str(built.path),
                "model_uri": built.model_uri,
                "base_image": built.base_image,
                "requirements": built.requirements,
                "wheel": built.wheel,
                "image_tag": built.image_tag,
                "command": built.command,
                "notes": built.notes,
            }
        )
        return
    for note in built.notes:
        console.print(f"note: {note}", markup=False, highlight=False)
    console.print(
        f"wrote a build context for {built.model_uri} to {built.path} "
        f"({built.base_image}, {len(built.requirements)} requirements)\n"
        f"build it with: docker build -t {built.image_tag} {built.path}",
        markup=False,
        highlight=False,
    )


@app.command("k8s")
def k8s(
    deployment: str = typer.Argument(
        ..., metavar="DEPLOYMENT", help="Deployment name or deployments:/NAME."
    ),
    out: Path = OUT_OPTION,
    force: bool = FORCE_OPTION,
    image: str = typer.Option(
        None,
        "--image",
        help="Image with windlass and the models' "
        "requirements (e.g. from `windlass build docker`).",
    ),
    name: str = typer.Option(
        None, "--name", help="Kubernetes object name (default: from the deployment name)."
    ),
    namespace: str = typer.Option(None, "--namespace", "-n", help="Namespace to set."),
    replicas: int = typer.Option(
        2,
        "--replicas",
        help="Replicas (the autoscaler's minimum, or the fixed count with --no-hpa).",
    ),
    hpa: bool = typer.Option(True, "--hpa/--no-hpa", help="Write an autoscaler."),
    min_replicas: int = typer.Option(
        None, "--min-replicas", help="Autoscaler minimum (default: --replicas)."
    ),
    max_replicas: int = typer.Option(
        None, "--max-replicas", help="Autoscaler maximum (default: 10)."
    ),
    target_cpu: int = typer.Option(
        70, "--target-cpu", help="Average CPU use, in % of the request, the autoscaler aims at."
    ),
    cpu: str = typer.Option("250m", "--cpu", help="CPU request."),
    memory: str = typer.Option("512Mi", "--memory", help="Memory request."),
    cpu_limit: str = typer.Option("1", "--cpu-limit", help="CPU limit."),
    memory_limit: str = typer.Option("1Gi", "--memory-limit", help="Memory limit."),
    workers: int = typer.Option(None, "--workers", help="Server worker processes."),
    secret: str = typer.Option(
        "windlass-tracking",
        "--secret",
        help="Secret holding WINDLASS_TRACKING_URI (and any other WINDLASS_*/AWS_* variables).",
    ),
    project: str = typer.Option(
        None,
        "--project",
        "-p",
        help="WINDLASS_PROJECT of the server (default: WINDLASS_PROJECT here).",
    ),
    check: bool = typer.Option(
        True,
        "--check/--no-check",
        help="Check that the "
        "deployment exists and its models resolve in the "
        "registry (--uri) before writing anything.",
    ),
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Write Kubernetes manifests that serve DEPLOYMENT with `windlass serve deployments:/…`."""
    import windlass
    from windlass.serving.packaging import KubernetesSpec, build_k8s_manifests

    windlass.set_tracking_uri(uri)
    built = build_k8s_manifests(
        KubernetesSpec(
            deployment=deployment,
            name=name,
            image=image,
            namespace=namespace,
            replicas=replicas,
            autoscale=hpa,
            min_replicas=min_replicas,
            max_replicas=max_replicas,
            target_cpu=target_cpu,
            cpu_request=cpu,
            memory_request=memory,
            cpu_limit=cpu_limit,
            memory_limit=memory_limit,
            secret=secret,
            project=project,
            workers=workers,
        ),
        out,
        force=force,
        check=check,
    )
    if as_json:
        print_json(
            {
                "path": str(built.path),
                "files": built.files,
                "name": built.spec.name,
                "image": built.spec.image,
                "notes": built.spec.notes,
            }
        )
        return
    for note in built.spec.notes:
        console.print(f"note: {note}", markup=False, highlight=False)
    console.print(
        f"wrote {', '.join(built.files)} to {built.path}\n"
        f"create the Secret {built.spec.secret!r} first (see README.txt), then: "
        f"kubectl apply -k {built.path}",
        markup=False,
        highlight=False,
    )
