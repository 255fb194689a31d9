"""Packaging for serving: Docker build contexts and Kubernetes manifests.

``build_docker_context`` writes a folder ``docker build`` turns into an image serving one
model; ``build_k8s_manifests`` writes the Deployment, Service, HorizontalPodAutoscaler and
PodDisruptionBudget that run a windlass deployment on Kubernetes.
"""

from __future__ import annotations

from windlass.serving.packaging.docker import DockerContext, build_docker_context
from windlass.serving.packaging.kubernetes import (
    KubernetesManifests,
    KubernetesSpec,
    build_k8s_manifests,
    render_manifests,
)

__all__ = [
    "DockerContext",
    "KubernetesManifests",
    "KubernetesSpec",
    "build_docker_context",
    "build_k8s_manifests",
    "render_manifests",
]
