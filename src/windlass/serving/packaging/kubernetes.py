"""``windlass build k8s``: Deployment, Service, autoscaler and disruption budget manifests.

The pods run ``windlass serve deployments:/NAME``: the server reads the deployment (its
variants and weights) from the registry named by ``WINDLASS_TRACKING_URI``, which comes
from a Secret. Before anything is written the deployment is looked up in the registry
this process is configured for, and every model it names must resolve (a typo is
DeploymentNotFound, exit code 3); with ``check=False`` (``--no-check``) the manifests
are generated from the name alone, for a deployment that does not exist yet or a
registry out of reach (the server's readiness probe stays 503 until its models load).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from windlass import config
from windlass.exceptions import InvalidInput
from windlass.serving.packaging import k8s_values, texts
from windlass.serving.packaging.output import check_output_dir, staged_output
from windlass.serving.packaging.wheel import windlass_version

PORT = 8080
SERVICE_PORT = 80
UID = 10001
CONTAINER = "server"
DEFAULT_SECRET = "windlass-tracking"  # noqa: S105 - the Secret's name, not a secret


@dataclass(frozen=True)
class KubernetesSpec:
    """What the manifests describe; :meth:`checked` validates every value up front."""

    deployment: str
    name: str | None = None
    image: str | None = None
    namespace: str | None = None
    replicas: int = 2
    autoscale: bool = True
    min_replicas: int | None = None
    max_replicas: int | None = None
    target_cpu: int = 70
    cpu_request: str = "250m"
    memory_request: str = "512Mi"
    cpu_limit: str = "1"
    memory_limit: str = "1Gi"
    secret: str = DEFAULT_SECRET
    project: str | None = None
    workers: int | None = None
    notes: list[str] = field(default_factory=list, compare=False)

    def checked(self) -> KubernetesSpec:
        """Return a copy with names resolved and every value checked (InvalidInput if not)."""
        deployment = k8s_values.deployment_name(self.deployment)
        project = self.project
        if self.deployment.startswith("deployments:/"):  # deployments://P/NAME names its project
            from windlass.uris import parse_object_uri, pick_project

            project = pick_project(
                parse_object_uri(self.deployment).project, project, self.deployment
            )
        name = k8s_values.kubernetes_name(deployment, self.name)
        notes = (
            []
            if name == deployment or self.name
            else [f"Kubernetes objects are named {name!r} (from the deployment {deployment!r})"]
        )
        minimum = self.replicas if self.min_replicas is None else self.min_replicas
        maximum = self.max_replicas if self.max_replicas is not None else max(10, minimum)
        for value, what in (
            (self.replicas, "--replicas"),
            (minimum, "--min-replicas"),
            (maximum, "--max-replicas"),
        ):
            if value < 1:
                raise InvalidInput(f"{what} must be at least 1, not {value}", value=value)
        if self.autoscale and minimum > maximum:
            raise InvalidInput(f"--min-replicas {minimum} is above --max-replicas {maximum}")
        if self.target_cpu < 1:
            raise InvalidInput(f"--target-cpu must be a positive percentage, not {self.target_cpu}")
        if self.workers is not None and self.workers < 1:
            raise InvalidInput(f"--workers must be at least 1, not {self.workers}")
        k8s_values.check_request_within_limit(self.cpu_request, self.cpu_limit, "cpu")
        k8s_values.check_request_within_limit(self.memory_request, self.memory_limit, "memory")
        return KubernetesSpec(
            deployment=deployment,
            name=name,
            image=k8s_values.check_image(self.image or f"windlass-serve:{windlass_version()}"),
            namespace=None
            if self.namespace is None
            else k8s_values.check_namespace(self.namespace),
            replicas=self.replicas,
            autoscale=self.autoscale,
            min_replicas=minimum,
            max_replicas=maximum,
            target_cpu=self.target_cpu,
            cpu_request=self.cpu_request,
            memory_request=self.memory_request,
            cpu_limit=self.cpu_limit,
            memory_limit=self.memory_limit,
            secret=k8s_values.check_secret_name(self.secret),
            project=project or str(config.settings.project),
            workers=self.workers,
            notes=notes,
        )


@dataclass(frozen=True)
class KubernetesManifests:
    """What :func:`build_k8s_manifests` wrote: the folder, the files, the checked spec."""

    path: Path
    files: list[str]
    spec: KubernetesSpec


def _labels(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": "windlass-model-server", "app.kubernetes.io/instance": name}


def _metadata(spec: KubernetesSpec, kind_labels: dict[str, str]) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": spec.name}
    if spec.namespace:
        meta["namespace"] = spec.namespace
    meta["labels"] = {
        **kind_labels,
        "app.kubernetes.io/part-of": "windlass",
        "app.kubernetes.io/component": "model-server",
    }
    meta["annotations"] = {"windlass.dev/deployment": spec.deployment}
    return meta


def _probe(path: str, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": 3,
        "failureThreshold": failures,
    }


def _container(spec: KubernetesSpec) -> dict[str, Any]:
    args = [
        "serve",
        f"deployments:/{spec.deployment}",
        "--host",
        "0.0.0.0",  # noqa: S104
        "--port",
        str(PORT),
    ]
    if spec.workers is not None:
        args += ["--workers", str(spec.workers)]
    return {
        "name": CONTAINER,
        "image": spec.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["windlass"],
        "args": args,
        "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
        "env": [
            {
                "name": "WINDLASS_TRACKING_URI",
                "valueFrom": {
                    "secretKeyRef": {"name": spec.secret, "key": "WINDLASS_TRACKING_URI"}
                },
            },
            {"name": "WINDLASS_PROJECT", "value": spec.project},
            # The root file system is read-only: local state goes to the /tmp volume.
            {"name": "WINDLASS_HOME", "value": "/tmp/windlass"},  # noqa: S108 - pod's own
        ],
        "envFrom": [{"secretRef": {"name": spec.secret}}],
        "resources": {
            "requests": {"cpu": spec.cpu_request, "memory": spec.memory_request},
            "limits": {"cpu": spec.cpu_limit, "memory": spec.memory_limit},
        },
        # Startup allows two minutes for loading models before liveness may restart the pod.
        "startupProbe": _probe("/v2/health/live", 2, 60),
        "readinessProbe": _probe("/v2/health/ready", 5, 3),
        "livenessProbe": _probe("/v2/health/live", 10, 3),
        # Endpoints drop the pod before the server stops taking requests.
        "lifecycle": {
            "preStop": {"exec": {"command": ["python", "-c", "import time; time.sleep(5)"]}}
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108
    }


def deployment_manifest(spec: KubernetesSpec) -> dict[str, Any]:
    """Return the apps/v1 Deployment running ``windlass serve deployments:/NAME``."""
    selector = _labels(str(spec.name))
    body: dict[str, Any] = {
        "revisionHistoryLimit": 5,
        "selector": {"matchLabels": selector},
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
        },
        "template": {
            "metadata": {
                "labels": dict(selector),
                "annotations": {
                    "prometheus.io/scrape": "true",
                    "prometheus.io/port": str(PORT),
                    "prometheus.io/path": "/metrics",
                },
            },
            "spec": {
                "automountServiceAccountToken": False,
                "terminationGracePeriodSeconds": 30,
                "securityContext": {
                    "runAsNonRoot": True,
                    "runAsUser": UID,
                    "runAsGroup": UID,
                    "fsGroup": UID,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "containers": [_container(spec)],
                "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}],
            },
        },
    }
    if not spec.autoscale:
        # With an autoscaler the replica count is its job: a fixed count here would reset
        # the scale on every `kubectl apply`.
        body = {"replicas": spec.replicas, **body}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(spec, selector),
        "spec": body,
    }


def service_manifest(spec: KubernetesSpec) -> dict[str, Any]:
    """Return the v1 ClusterIP Service: port 80 to the container's port 8080."""
    selector = _labels(str(spec.name))
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(spec, selector),
        "spec": {
            "type": "ClusterIP",
            "selector": selector,
            "ports": [
                {"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}
            ],
        },
    }


def hpa_manifest(spec: KubernetesSpec) -> dict[str, Any]:
    """Return the autoscaling/v2 HorizontalPodAutoscaler scaling the Deployment on CPU."""
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _metadata(spec, _labels(str(spec.name))),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": spec.name},
            "minReplicas": spec.min_replicas,
            "maxReplicas": spec.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": spec.target_cpu},
                    },
                }
            ],
        },
    }


def pdb_manifest(spec: KubernetesSpec) -> dict[str, Any]:
    """Return the policy/v1 PodDisruptionBudget: node drains take one pod at a time."""
    selector = _labels(str(spec.name))
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _metadata(spec, selector),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector}},
    }


def render_manifests(spec: KubernetesSpec) -> dict[str, dict[str, Any]]:
    """Return every manifest of a checked spec by file name."""
    documents = {
        "deployment.yaml": deployment_manifest(spec),
        "service.yaml": service_manifest(spec),
    }
    if spec.autoscale:
        documents["hpa.yaml"] = hpa_manifest(spec)
    documents["pdb.yaml"] = pdb_manifest(spec)
    return documents


def _dump(document: dict[str, Any], header: str) -> str:
    import yaml

    return header + yaml.safe_dump(document, sort_keys=False, default_flow_style=False)


def build_k8s_manifests(
    spec: KubernetesSpec, out: str | Path, *, force: bool = False, check: bool = True
) -> KubernetesManifests:
    """Write the manifests of ``spec`` into the folder ``out`` (new or empty unless ``force``).

    With ``check`` the deployment must exist (in ``spec.project``) and its models resolve,
    checked before anything is written.
    """
    spec = spec.checked()
    if check:
        from windlass.serving.fluent import check_deployment

        check_output_dir(Path(out), force=force)
        check_deployment(spec.deployment, project=spec.project)
    documents = render_manifests(spec)
    header = (
        f"# Generated by windlass {windlass_version()} for the deployment {spec.deployment!r}.\n"
    )
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": list(documents),
    }
    with staged_output(Path(out), force=force) as staging:
        for file, document in documents.items():
            (staging / file).write_text(_dump(document, header))
        (staging / "kustomization.yaml").write_text(_dump(kustomization, header))
        (staging / "README.txt").write_text(
            texts.K8S_README.format(
                deployment=spec.deployment,
                name=spec.name,
                image=spec.image,
                port=PORT,
                secret=spec.secret,
                project=spec.project,
                ns_flag=f" -n {spec.namespace}" if spec.namespace else "",
                hpa_line=(
                    f"hpa.yaml         autoscaling/v2 HorizontalPodAutoscaler: "
                    f"{spec.min_replicas}-{spec.max_replicas} replicas at "
                    f"{spec.target_cpu}% CPU"
                )
                if spec.autoscale
                else f"(no autoscaler: {spec.replicas} replicas)",
            )
        )
    return KubernetesManifests(
        path=Path(out), files=[*documents, "kustomization.yaml", "README.txt"], spec=spec
    )
