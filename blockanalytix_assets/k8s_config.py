"""Per-asset Kubernetes pod settings, the values of the `dagster-k8s/config` tag used by k8s_job_executor."""

from __future__ import annotations

import copy
from typing import Any

from blockanalytix_assets.settings import Settings

K8S_CONFIG_TAG = "dagster-k8s/config"
GPU_NODE_LABEL = "blockanalytix/gpu"
GPU_RESOURCE = "nvidia.com/gpu"

# Hardening that holds for every step. The read-only root filesystem and the writable /tmp
# emptyDir come from the Helm values (run launcher + code location), which every step pod inherits;
# repeating the volume here would mount /tmp twice after dagster-k8s appends the lists.
_STEP_SECURITY_CONTEXT: dict[str, Any] = {
    "run_as_non_root": True,
    "allow_privilege_escalation": False,
    "capabilities": {"drop": ["ALL"]},
}


def resources(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> dict[str, Any]:
    """A container `resources` block with requests and limits."""
    return {
        "requests": {"cpu": cpu, "memory": memory},
        "limits": {"cpu": cpu_limit, "memory": memory_limit},
    }


def step_k8s_config(
    container_resources: dict[str, Any],
    node_selector: dict[str, str] | None = None,
    tolerations: list[dict[str, Any]] | None = None,
    image: str | None = None,
    env: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """The `dagster-k8s/config` dict for one kind of step: resources, placement, hardening."""
    container: dict[str, Any] = {
        "resources": copy.deepcopy(container_resources),
        "security_context": copy.deepcopy(_STEP_SECURITY_CONTEXT),
    }
    if image:
        container["image"] = image
    if env:
        container["env"] = copy.deepcopy(env)
    # Step pods only compute; they never call the Kubernetes API.
    pod: dict[str, Any] = {"automount_service_account_token": False}
    if node_selector:
        pod["node_selector"] = dict(node_selector)
    if tolerations:
        pod["tolerations"] = copy.deepcopy(tolerations)
    return {"container_config": container, "pod_spec_config": pod}


def training_k8s_config(gpu_image: str | None = None) -> dict[str, Any]:
    """Training steps: one NVIDIA GPU on the GPU node pool, optionally a CUDA-enabled image."""
    container_resources = resources("4", "16Gi", "8", "32Gi")
    # Extended resources are limit-only: Kubernetes sets the request equal to the limit.
    container_resources["limits"][GPU_RESOURCE] = 1
    # The GPU image is the same Dockerfile built with jax[cuda12]; the default image is CPU-only.
    env = [{"name": "KERAS_BACKEND", "value": "jax"}] if gpu_image else None
    return step_k8s_config(
        container_resources,
        # On GKE the pool's own label `cloud.google.com/gke-accelerator: nvidia-l4` works too; a
        # project label keeps this portable: put it on the GPU pool's nodes (deployment/k8s/README.md).
        node_selector={GPU_NODE_LABEL: "true"},
        tolerations=[{"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}],
        image=gpu_image,
        env=env,
    )


INGEST_K8S_CONFIG: dict[str, Any] = step_k8s_config(resources("500m", "1Gi", "2", "4Gi"))
SCORING_K8S_CONFIG: dict[str, Any] = step_k8s_config(resources("2", "4Gi", "4", "12Gi"))
TRAINING_K8S_CONFIG: dict[str, Any] = training_k8s_config(Settings.from_env().gpu_image)


def k8s_tags(config: dict[str, Any]) -> dict[str, Any]:
    """Op tags carrying one of the configs above, ready for `@dg.asset(op_tags=...)`."""
    return {K8S_CONFIG_TAG: copy.deepcopy(config)}
