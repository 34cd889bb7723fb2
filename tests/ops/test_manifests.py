"""Kubernetes manifests: schema-valid offline, and shaped so every runbook command works."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.ops.kustomize import Manifest, build, load_documents, strategic_merge
from tests.support import ROOT

K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = kubernetes_validate.latest_version()
KUSTOMIZATIONS = ["base", "overlays/production", "overlays/green", "redis"]


def rendered(name: str) -> list[Manifest]:
    return build(K8S / name)


def find(docs: list[Manifest], kind: str, name: str) -> Manifest:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def container(deployment: Manifest, name: str = "dev-utilities") -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if c["name"] == name)


def all_manifests() -> list[tuple[str, Manifest]]:
    items = [
        (f"{k}:{d['kind']}/{d['metadata']['name']}", d) for k in KUSTOMIZATIONS for d in rendered(k)
    ]
    items += [
        (f"{p.relative_to(K8S)}:{d['kind']}", d)
        for p in sorted((K8S / "secrets").glob("*.yaml"))
        for d in load_documents(p)
    ]
    return items


@pytest.mark.parametrize(
    ("label", "manifest"), all_manifests(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_manifest_matches_kubernetes_schema(label: str, manifest: Manifest) -> None:
    kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_every_yaml_file_is_rendered_or_a_template() -> None:
    used = {p.resolve() for p in K8S.rglob("*.yaml")}
    referenced: set[Path] = set()
    for kustomization in K8S.rglob("kustomization.yaml"):
        referenced.add(kustomization.resolve())
        data = yaml.safe_load(kustomization.read_text())
        for entry in data.get("resources", []):
            referenced.add((kustomization.parent / entry).resolve())
        for patch in data.get("patches", []):
            referenced.add((kustomization.parent / patch["path"]).resolve())
    templates = {p.resolve() for p in (K8S / "secrets").glob("*.yaml")}
    assert used - referenced - templates == set()


def test_deployment_matches_the_runbook() -> None:
    docs = rendered("base")
    deployment = find(docs, "Deployment", "dev-utilities")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert labels["app"] == "dev-utilities"
    assert labels["version"] == "v1.0.0"
    # The autoscaler owns the count: a count in the manifest would be re-applied over it.
    assert "replicas" not in deployment["spec"]
    hpa = find(docs, "HorizontalPodAutoscaler", "dev-utilities")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "dev-utilities",
    }
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 10)
    main = container(deployment)  # `kubectl set image deployment/dev-utilities dev-utilities=...`
    assert main["resources"] == {
        "requests": {"memory": "128Mi", "cpu": "100m"},
        "limits": {"memory": "512Mi", "cpu": "500m"},
    }
    assert main["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert main["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_pod_is_hardened() -> None:
    deployment = find(rendered("base"), "Deployment", "dev-utilities")
    pod = deployment["spec"]["template"]["spec"]
    main = container(deployment)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    ctx = main["securityContext"]
    assert ctx["readOnlyRootFilesystem"] is True
    assert ctx["allowPrivilegeEscalation"] is False
    assert ctx["capabilities"]["drop"] == ["ALL"]
    # Only /tmp (and the read-only secrets) are mounted: the image needs nothing else writable.
    mounts = {m["mountPath"]: m.get("readOnly", False) for m in main["volumeMounts"]}
    assert mounts == {"/tmp": False, "/etc/secrets": True}


def test_grace_period_covers_drain_and_shutdown_timeout() -> None:
    docs = rendered("base")
    config = find(docs, "ConfigMap", "dev-utilities-config")["data"]
    pod = find(docs, "Deployment", "dev-utilities")["spec"]["template"]["spec"]
    needed = float(config["SHUTDOWN_DRAIN_DELAY"]) + float(config["SHUTDOWN_TIMEOUT"])
    assert pod["terminationGracePeriodSeconds"] > needed


def test_configmap_keys_are_settings() -> None:
    from devutils.settings import ENV_NAMES, load_settings

    for name in ("base", "overlays/production"):
        config = find(rendered(name), "ConfigMap", "dev-utilities-config")["data"]
        assert set(config) <= set(ENV_NAMES)
        env = {**config, "AUTH_API_KEYS": "k" * 32, "RATE_LIMIT_REDIS_URL": "redis://redis:6379/0"}
        settings = load_settings(env)
        assert settings.server_port == 8080
    assert (
        find(rendered("overlays/production"), "ConfigMap", "dev-utilities-config")["data"][
            "RATE_LIMIT_STORE"
        ]
        == "redis"
    )


def test_secret_template_and_mount() -> None:
    secret = load_documents(K8S / "secrets" / "secret.example.yaml")[0]
    assert secret["metadata"]["name"] == "dev-utilities-secrets"
    assert set(secret["stringData"]) == {"api-keys", "redis-url"}
    deployment = find(rendered("base"), "Deployment", "dev-utilities")
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["secrets"]["secret"]["secretName"] == "dev-utilities-secrets"
    mount = next(m for m in container(deployment)["volumeMounts"] if m["name"] == "secrets")
    config = find(rendered("base"), "ConfigMap", "dev-utilities-config")["data"]
    assert mount["mountPath"] == config["SECRETS_MOUNT_PATH"]
    # Files are root-owned with the pod's fsGroup: the mode must let the group read them.
    assert volumes["secrets"]["secret"]["defaultMode"] & 0o040


def test_autoscaler_and_disruption_budget() -> None:
    docs = rendered("base")
    hpa = find(docs, "HorizontalPodAutoscaler", "dev-utilities")["spec"]
    assert hpa["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "dev-utilities",
    }
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 10)
    assert hpa["metrics"][0]["resource"]["target"] == {
        "type": "Utilization",
        "averageUtilization": 70,
    }
    pdb = find(docs, "PodDisruptionBudget", "dev-utilities")["spec"]
    assert pdb["selector"]["matchLabels"] == {"app": "dev-utilities"}


def _egress_ports(rule: dict[str, Any]) -> set[int]:
    return {int(p["port"]) for p in rule.get("ports", [])}


def test_network_policy_admits_prometheus_and_public_https_only() -> None:
    policy = find(rendered("base"), "NetworkPolicy", "dev-utilities")["spec"]
    peers = [peer for rule in policy["ingress"] for peer in rule["from"]]
    namespaces = {
        p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for p in peers
    }
    assert namespaces == {"ingress-nginx", "monitoring"}
    public = [rule for rule in policy["egress"] if any("ipBlock" in peer for peer in rule["to"])]
    assert len(public) == 1
    assert _egress_ports(public[0]) == {80, 443}
    blocks = {peer["ipBlock"]["cidr"]: peer["ipBlock"]["except"] for peer in public[0]["to"]}
    excepted = [ipaddress.ip_network(c) for c in blocks["0.0.0.0/0"] + blocks["::/0"]]
    for private in (
        "10.1.2.3",
        "172.20.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "127.0.0.1",
        "fd00::1",
    ):
        address = ipaddress.ip_address(private)
        assert any(address in net for net in excepted if net.version == address.version), private
    assert not any(
        ipaddress.ip_address("93.184.216.34") in net for net in excepted if net.version == 4
    )
    dns = [rule for rule in policy["egress"] if 53 in _egress_ports(rule)]
    assert len(dns) == 1


def test_redis_is_private_and_password_protected() -> None:
    docs = rendered("overlays/production")
    redis = find(docs, "Deployment", "redis")
    args = " ".join(container(redis, "redis")["args"])
    assert "--requirepass" in args
    assert '--appendonly "${REDIS_APPENDONLY:-yes}"' in args
    assert "REDIS_APPENDONLY" not in {e["name"] for e in container(redis, "redis")["env"]}
    assert find(docs, "Service", "redis")["spec"].get("type", "ClusterIP") == "ClusterIP"
    policy = find(docs, "NetworkPolicy", "redis")["spec"]
    assert policy["ingress"][0]["from"] == [
        {"podSelector": {"matchLabels": {"app": "dev-utilities"}}}
    ]


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def test_blue_green_switch_with_the_runbook_patch() -> None:
    base = rendered("base")
    green = rendered("overlays/green")
    service = find(base, "Service", "dev-utilities")
    blue_pods = find(base, "Deployment", "dev-utilities")["spec"]["template"]["metadata"]["labels"]
    green_deployment = find(green, "Deployment", "dev-utilities-green")
    green_pods = green_deployment["spec"]["template"]["metadata"]["labels"]
    assert container(green_deployment)["image"] == "ghcr.io/example/dev-utilities:v1.1.0"
    # No autoscaler scales green, so it carries its own count.
    assert green_deployment["spec"]["replicas"] == 3
    assert not [d for d in green if d["kind"] == "HorizontalPodAutoscaler"]
    assert _selects(green_deployment["spec"]["selector"]["matchLabels"], green_pods)
    # Before the switch the production Service must not send traffic to the staged version.
    assert _selects(service["spec"]["selector"], blue_pods)
    assert not _selects(service["spec"]["selector"], green_pods)
    assert _selects(find(green, "Service", "dev-utilities-green")["spec"]["selector"], green_pods)
    # kubectl patch service dev-utilities -p '{"spec":{"selector":{"version":"v1.1.0"}}}'
    patched = strategic_merge(service, {"spec": {"selector": {"version": "v1.1.0"}}})
    assert _selects(patched["spec"]["selector"], green_pods)
    assert not _selects(patched["spec"]["selector"], blue_pods)


def test_runbook_env_patch_targets_the_container() -> None:
    deployment = find(rendered("base"), "Deployment", "dev-utilities")
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "dev-utilities", "env": [{"name": "LOG_LEVEL", "value": "debug"}]}
                    ]
                }
            }
        }
    }
    patched = strategic_merge(deployment, patch)
    main = container(patched)
    assert main["env"] == [{"name": "LOG_LEVEL", "value": "debug"}]
    assert main["image"] == container(deployment)["image"]  # merged, not replaced
    assert len(patched["spec"]["template"]["spec"]["containers"]) == 1
