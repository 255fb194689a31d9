"""``windlass build k8s``: manifests valid against the Kubernetes schemas, and coherent."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from windlass.cli.main import build_app
from windlass.entities import Variant
from windlass.exceptions import InvalidInput
from windlass.ids import new_id, now_ms
from windlass.serving.deployments import DeploymentService
from windlass.serving.packaging import KubernetesSpec, render_manifests
from windlass.serving.packaging.k8s_values import DNS_1035_LABEL, kubernetes_name, quantity
from windlass.store.sql.store import SqlStore
from windlass.uris import NAME_PATTERN

runner = CliRunner()
# The oldest and newest Kubernetes schemas kubernetes-validate bundles (offline).
K8S_VERSIONS = [kubernetes_validate.utils.all_versions()[0], kubernetes_validate.latest_version()]


def invoke(*args: str, check: bool = False) -> tuple[int, str]:
    """Run ``windlass build k8s``; unless ``check``, from the name alone (``--no-check``)."""
    result = runner.invoke(build_app(), ["build", "k8s", *args, *([] if check else ["--no-check"])])
    return result.exit_code, result.output


def load(folder: Path) -> dict[str, dict[str, Any]]:
    documents = {}
    for path in sorted(folder.glob("*.yaml")):
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
        assert len(docs) == 1, f"{path.name} holds {len(docs)} documents"
        documents[path.name] = docs[0]
    return documents


def validate(document: dict[str, Any]) -> None:
    for version in K8S_VERSIONS:
        kubernetes_validate.validate(document, version, strict=True)


def container_port(deployment: dict[str, Any], port: int | str) -> int:
    """Resolve a probe's or Service's port (number or name) against the container."""
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    if isinstance(port, int):
        assert port in [p["containerPort"] for p in container["ports"]]
        return port
    (match,) = [p for p in container["ports"] if p["name"] == port]
    return int(match["containerPort"])


def test_manifests_pass_the_kubernetes_schemas_and_agree(tmp_path: Path) -> None:
    out = tmp_path / "k8s"
    code, output = invoke(
        "deployments:/churn-prod",
        "-o",
        str(out),
        "--image",
        "registry.example.com/churn:3",
        "--namespace",
        "ml",
        "--min-replicas",
        "3",
        "--max-replicas",
        "12",
        "--target-cpu",
        "65",
        "--project",
        "fraud",
    )
    assert code == 0, output
    docs = load(out)
    assert set(docs) == {
        "deployment.yaml",
        "service.yaml",
        "hpa.yaml",
        "pdb.yaml",
        "kustomization.yaml",
    }
    assert (out / "README.txt").read_text().count("windlass-tracking") >= 1
    for name in ("deployment.yaml", "service.yaml", "hpa.yaml", "pdb.yaml"):
        validate(docs[name])
    deployment, service, hpa = docs["deployment.yaml"], docs["service.yaml"], docs["hpa.yaml"]
    assert {d["metadata"]["name"] for d in docs.values() if "metadata" in d} == {"churn-prod"}
    assert {d["metadata"]["namespace"] for d in docs.values() if "metadata" in d} == {"ml"}
    assert docs["kustomization.yaml"]["resources"] == [
        "deployment.yaml",
        "service.yaml",
        "hpa.yaml",
        "pdb.yaml",
    ]

    template = deployment["spec"]["template"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= template["metadata"]["labels"].items()
    assert service["spec"]["selector"].items() <= template["metadata"]["labels"].items()
    assert docs["pdb.yaml"]["spec"]["selector"]["matchLabels"] == selector
    (container,) = template["spec"]["containers"]
    assert container["image"] == "registry.example.com/churn:3"
    assert [*container["command"], *container["args"]] == [
        "windlass",
        "serve",
        "deployments:/churn-prod",
        "--host",
        "0.0.0.0",  # noqa: S104
        "--port",
        "8080",
    ]
    assert container_port(deployment, "http") == 8080

    for probe, path in (
        ("readinessProbe", "/v2/health/ready"),
        ("livenessProbe", "/v2/health/live"),
        ("startupProbe", "/v2/health/live"),
    ):
        assert container[probe]["httpGet"]["path"] == path
        assert container_port(deployment, container[probe]["httpGet"]["port"]) == 8080
    (port,) = service["spec"]["ports"]
    assert service["spec"]["type"] == "ClusterIP" and port["port"] == 80
    assert container_port(deployment, port["targetPort"]) == 8080
    annotations = template["metadata"]["annotations"]
    assert annotations == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": "8080",
        "prometheus.io/path": "/metrics",
    }

    pod_security = template["spec"]["securityContext"]
    assert pod_security["runAsNonRoot"] is True and pod_security["runAsUser"] > 0
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    resources = container["resources"]
    for kind in ("cpu", "memory"):
        assert quantity(resources["requests"][kind], kind) <= quantity(
            resources["limits"][kind], kind
        )
    env = {e["name"]: e for e in container["env"]}
    assert env["WINDLASS_TRACKING_URI"]["valueFrom"]["secretKeyRef"] == {
        "name": "windlass-tracking",
        "key": "WINDLASS_TRACKING_URI",
    }
    assert env["WINDLASS_PROJECT"]["value"] == "fraud"

    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": deployment["apiVersion"],
        "kind": deployment["kind"],
        "name": deployment["metadata"]["name"],
    }
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 12)
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"] == {
        "name": "cpu",
        "target": {"type": "Utilization", "averageUtilization": 65},
    }
    # The autoscaler owns the replica count: a fixed one would reset it on every apply.
    assert "replicas" not in deployment["spec"]


def test_without_autoscaler_the_deployment_has_fixed_replicas(tmp_path: Path) -> None:
    code, output = invoke(
        "churn",
        "-o",
        str(tmp_path / "k8s"),
        "--no-hpa",
        "--replicas",
        "4",
        "--workers",
        "2",
        "--json",
    )
    assert code == 0, output
    assert json.loads(output)["files"] == [
        "deployment.yaml",
        "service.yaml",
        "pdb.yaml",
        "kustomization.yaml",
        "README.txt",
    ]
    docs = load(tmp_path / "k8s")
    assert "hpa.yaml" not in docs and docs["deployment.yaml"]["spec"]["replicas"] == 4
    assert docs["deployment.yaml"]["spec"]["template"]["spec"]["containers"][0]["args"][-2:] == [
        "--workers",
        "2",
    ]
    validate(docs["deployment.yaml"])
    assert "namespace" not in docs["deployment.yaml"]["metadata"]


def test_the_schema_check_is_not_vacuous() -> None:
    documents = render_manifests(KubernetesSpec("churn").checked())
    deployment = documents["deployment.yaml"]
    deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "80"
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(deployment)
    hpa = documents["hpa.yaml"]
    hpa["spec"]["targetCPU"] = 70  # not a field of autoscaling/v2
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(hpa)


def test_names_are_normalized_or_refused_clearly(tmp_path: Path) -> None:
    code, output = invoke("Churn_Prod.v2", "-o", str(tmp_path / "a"), "--json")
    assert code == 0 and json.loads(output)["name"] == "churn-prod-v2"
    assert "churn-prod-v2" in json.loads(output)["notes"][0]
    docs = load(tmp_path / "a")
    args = docs["deployment.yaml"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "deployments:/Churn_Prod.v2" in args  # the server gets the real name
    assert (
        docs["service.yaml"]["metadata"]["annotations"]["windlass.dev/deployment"]
        == "Churn_Prod.v2"
    )

    code, output = invoke("2024_churn", "-o", str(tmp_path / "b"))
    assert code == 2 and "DNS-1035" in output and "--name" in output
    assert invoke("2024_churn", "-o", str(tmp_path / "b"), "--name", "churn-2024")[0] == 0
    code, output = invoke("churn", "-o", str(tmp_path / "c"), "--name", "Churn")
    assert code == 2 and "--name 'Churn'" in output
    code, output = invoke("x" * 64, "-o", str(tmp_path / "c"))
    assert code == 2 and "63" in output
    code, output = invoke("bad name", "-o", str(tmp_path / "c"))
    assert code == 2 and "not a deployment name" in output
    code, output = invoke("deployments:/churn/2", "-o", str(tmp_path / "c"))
    assert code == 2 and "INVALID_URI" in output
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--namespace", "ML_team"], "--namespace 'ML_team'"),
        (["--cpu", "2", "--cpu-limit", "500m"], "cpu request 2 is above its limit 500m"),
        (["--memory", "lots"], "not a Kubernetes quantity"),
        (["--min-replicas", "5", "--max-replicas", "3"], "--min-replicas 5 is above"),
        (["--replicas", "0"], "--replicas must be at least 1"),
        (["--target-cpu", "0"], "--target-cpu"),
        (["--image", "has space:1"], "not an image reference"),
        (["--secret", "Bad_Secret"], "not a valid Secret name"),
    ],
)
def test_bad_values_are_refused_before_writing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    code, output = invoke("churn", "-o", str(tmp_path / "k8s"), *args)
    assert code == 2 and message in " ".join(output.split()), output
    assert not (tmp_path / "k8s").exists()


def test_output_folder_is_refused_when_not_empty_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "k8s"
    out.mkdir()
    (out / "notes.md").write_text("mine")
    code, output = invoke("churn", "-o", str(out))
    assert code == 5 and "ALREADY_EXISTS" in output and "--force" in output
    assert [p.name for p in out.iterdir()] == ["notes.md"]
    (out / "service.yaml").write_text("stale")
    assert invoke("churn", "-o", str(out), "--force")[0] == 0
    assert (out / "notes.md").read_text() == "mine"
    assert load(out)["service.yaml"]["kind"] == "Service"
    assert not [p for p in tmp_path.iterdir() if ".staging-" in p.name]
    (tmp_path / "file").write_text("x")
    code, output = invoke("churn", "-o", str(tmp_path / "file"))
    assert code == 2 and "not a folder" in output


@given(st.from_regex(rf"\A{NAME_PATTERN}\Z").filter(lambda n: len(n) < 80))
def test_derived_names_are_valid_or_refused(name: str) -> None:
    expected = re.sub(r"-+", "-", re.sub(r"[_.]", "-", name.lower())).strip("-")
    if DNS_1035_LABEL.match(expected) and len(expected) <= 63:
        assert kubernetes_name(name) == expected
    else:
        with pytest.raises(InvalidInput, match="--name"):
            kubernetes_name(name)


def test_the_deployment_must_exist_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_uri = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("WINDLASS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WINDLASS_PROJECT", "k8s-check")
    out = tmp_path / "deep" / "k8s"
    code, output = invoke("churn-prod", "-o", str(out), "--uri", store_uri, check=True)
    assert code == 3 and "DEPLOYMENT_NOT_FOUND" in output and "'churn-prod'" in output
    assert not (tmp_path / "deep").exists()  # nothing written, not even the parent folder
    # A deployment whose model is gone (made unchecked) is refused naming the variant.
    store = SqlStore(store_uri)
    try:
        project = store.runs.get_or_create_project("k8s-check", new_id(), now_ms()).id
        DeploymentService(store, check_models=False).create(
            project, "churn-prod", [Variant("main", "models:/churn/1", 1.0)]
        )
    finally:
        store.close()
    code, output = invoke("deployments:/churn-prod", "-o", str(out), "--uri", store_uri, check=True)
    assert code == 3 and "MODEL_NOT_FOUND" in output and "variant 'main'" in output
    assert not (tmp_path / "deep").exists()
    code, output = invoke("churn-prod", "-o", str(out), "--uri", store_uri)  # --no-check
    assert code == 0, output
    assert load(out)["deployment.yaml"]["kind"] == "Deployment"
