"""Per-asset `dagster-k8s/config` tags, merged as dagster-k8s merges them, give valid 1.30 step Jobs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import kubernetes
import kubernetes_validate
import pytest
import yaml
from dagster_k8s.container_context import K8sContainerContext
from dagster_k8s.job import (
    DagsterK8sJobConfig,
    UserDefinedDagsterK8sConfig,
    construct_dagster_k8s_job,
    get_user_defined_k8s_config,
)

from blockanalytix_assets import k8s_config

REPO = Path(__file__).resolve().parents[2]
VALUES = yaml.safe_load((REPO / "deployment" / "helm" / "values.yaml").read_text())
K8S_VERSION = "1.30.0"
CONFIGS = {
    "ingest": k8s_config.INGEST_K8S_CONFIG,
    "scoring": k8s_config.SCORING_K8S_CONFIG,
    "training": k8s_config.training_k8s_config(),
    "training_gpu_image": k8s_config.training_k8s_config("registry.example.com/blockanalytix-gpu:0.1.0"),
}


def _names(sources: list[dict[str, str]]) -> list[str]:
    return [source["name"] for source in sources]


def _launcher_context() -> K8sContainerContext:
    """What K8sRunLauncher, configured from the Helm values, contributes to every run and step pod."""
    launcher = VALUES["runLauncher"]["config"]["k8sRunLauncher"]
    run_k8s = launcher["runK8sConfig"]
    return K8sContainerContext(
        image_pull_policy=launcher["imagePullPolicy"],
        env_config_maps=_names(launcher["envConfigMaps"]),
        env_secrets=_names(launcher["envSecrets"]),
        volume_mounts=launcher["volumeMounts"],
        volumes=launcher["volumes"],
        resources=launcher["resources"],
        security_context=launcher["securityContext"],
        run_k8s_config=UserDefinedDagsterK8sConfig.from_dict(
            {"pod_spec_config": run_k8s["podSpecConfig"], "job_spec_config": run_k8s["jobSpecConfig"]}
        ),
    )


def _code_location_context() -> K8sContainerContext:
    """The container context the chart hands the code server (its k8sContainerContext helper)."""
    deployment = VALUES["dagster-user-deployments"]["deployments"][0]
    k8s = {
        "image_pull_policy": deployment["image"]["pullPolicy"],
        "env_config_maps": [
            f"blockanalytix-{deployment['name']}-user-env",
            *_names(deployment["envConfigMaps"]),
        ],
        "env_secrets": _names(deployment["envSecrets"]),
        "volume_mounts": deployment["volumeMounts"],
        "volumes": deployment["volumes"],
        "labels": deployment["labels"],
        "resources": deployment["resources"],
        "namespace": "blockanalytix",
        "service_account_name": "blockanalytix-dagster-user-deployments",
        "run_k8s_config": {"pod_spec_config": {"automount_service_account_token": True}},
    }
    return K8sContainerContext.create_from_config({"k8s": k8s})


def _step_job(config: dict[str, Any]) -> dict[str, Any]:
    """The step Job k8s_job_executor would create for a step tagged with `config`, as a manifest."""
    tags = {k8s_config.K8S_CONFIG_TAG: json.dumps(config)}
    step = K8sContainerContext(run_k8s_config=get_user_defined_k8s_config(tags))
    context = _launcher_context().merge(_code_location_context()).merge(step)
    image = VALUES["dagster-user-deployments"]["deployments"][0]["image"]
    job = construct_dagster_k8s_job(
        job_config=DagsterK8sJobConfig(
            job_image=f"{image['repository']}:{image['tag']}",
            dagster_home="/opt/dagster/dagster_home",
            instance_config_map="blockanalytix-dagster-instance",
            postgres_password_secret=VALUES["global"]["postgresqlSecretName"],
        ),
        args=["dagster", "api", "execute_step"],
        job_name="dagster-step-0123456789abcdef",
        component="step_worker",
        user_defined_k8s_config=context.run_k8s_config,
    )
    manifest = kubernetes.client.ApiClient().sanitize_for_serialization(job)
    return {"apiVersion": "batch/v1", "kind": "Job", **manifest}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_step_job_is_valid_and_hardened(name: str) -> None:
    job = _step_job(CONFIGS[name])
    assert kubernetes_validate.validate(job, K8S_VERSION, strict=True) == "1.30"
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["runAsNonRoot"] is True and security["allowPrivilegeEscalation"] is False
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["automountServiceAccountToken"] is False
    # Exactly one writable /tmp, from the code location's volume, despite three merged sources.
    assert [m["mountPath"] for m in container["volumeMounts"]].count("/tmp") == 1
    env_from = {(k, v["name"]) for src in container["envFrom"] for k, v in src.items()}
    assert ("secretRef", "blockanalytix-secrets") in env_from
    assert ("configMapRef", "blockanalytix-config") in env_from
    # The step's own resources win over the launcher's and the code server's.
    wanted = CONFIGS[name]["container_config"]["resources"]
    assert container["resources"]["requests"] == wanted["requests"]
    assert {k: str(v) for k, v in container["resources"]["limits"].items()} == {
        k: str(v) for k, v in wanted["limits"].items()
    }


@pytest.mark.parametrize("name", ["training", "training_gpu_image"])
def test_training_steps_land_on_the_gpu_pool(name: str) -> None:
    pod = _step_job(CONFIGS[name])["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert str(container["resources"]["limits"]["nvidia.com/gpu"]) == "1"
    assert pod["nodeSelector"] == {k8s_config.GPU_NODE_LABEL: "true"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]


@pytest.mark.parametrize("name", ["ingest", "scoring"])
def test_cpu_steps_stay_off_the_gpu_pool(name: str) -> None:
    pod = _step_job(CONFIGS[name])["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert "nvidia.com/gpu" not in container["resources"]["limits"]
    assert not pod.get("nodeSelector") and not pod.get("tolerations")


def test_untagged_steps_get_the_code_locations_resources() -> None:
    """Transform, features and report steps carry no tag: deployment/SCALING.md gives them these resources."""
    (container,) = _step_job({})["spec"]["template"]["spec"]["containers"]
    wanted = VALUES["dagster-user-deployments"]["deployments"][0]["resources"]
    assert container["resources"]["requests"] == wanted["requests"]
    assert container["resources"]["limits"] == wanted["limits"]


def test_gpu_image_switches_image_and_keras_backend() -> None:
    container = _step_job(CONFIGS["training_gpu_image"])["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.example.com/blockanalytix-gpu:0.1.0"
    assert {"name": "KERAS_BACKEND", "value": "jax"} in container["env"]
    default = _step_job(CONFIGS["training"])["spec"]["template"]["spec"]["containers"][0]
    assert default["image"].endswith("/blockanalytix:0.1.0")
    assert all(e["name"] != "KERAS_BACKEND" for e in default.get("env", []))


def test_k8s_tags_are_independent_copies() -> None:
    tags = k8s_config.k8s_tags(k8s_config.INGEST_K8S_CONFIG)
    tags[k8s_config.K8S_CONFIG_TAG]["container_config"]["resources"]["limits"]["cpu"] = "64"
    assert k8s_config.INGEST_K8S_CONFIG["container_config"]["resources"]["limits"]["cpu"] != "64"
