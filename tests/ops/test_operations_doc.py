"""docs/operations.md refers only to things that exist: settings, metrics, files, objects, alerts."""

from __future__ import annotations

import re
from collections.abc import Iterator

from devutils.errors import ALL_ERRORS
from devutils.settings import ENV_NAMES
from tests.ops.kustomize import Manifest, build, load_documents
from tests.ops.promql import exported_metric_names
from tests.ops.test_prometheus_rules import EXTERNAL_METRICS, rules
from tests.support import ROOT

DOC = (ROOT / "docs" / "operations.md").read_text()
K8S = ROOT / "deploy" / "k8s"
CODE_LINES = [
    line.strip()
    for block in re.findall(r"```(?:bash|yaml)?\n(.*?)```", DOC, re.S)
    for line in block.splitlines()
]


def manifests() -> list[Manifest]:
    docs = [d for name in ("overlays/production", "overlays/green") for d in build(K8S / name)]
    return docs + load_documents(K8S / "secrets" / "secret.example.yaml")


def test_upper_case_names_are_settings_error_codes_or_defined_here() -> None:
    shell_vars = set(re.findall(r"\b([A-Z][A-Z0-9_]*)=", "\n".join(CODE_LINES)))
    error_codes = {error.code for error in ALL_ERRORS} | {"INTERNAL_ERROR"}
    redis_manifest = (K8S / "redis" / "redis.yaml").read_text()
    redis_env = {"REDISCLI_AUTH", "REDIS_APPENDONLY"}
    assert all(name in redis_manifest for name in redis_env)
    names = set(re.findall(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9]\b", DOC))
    unknown = names - set(ENV_NAMES) - error_codes - shell_vars - redis_env
    assert not unknown, sorted(unknown)
    for stem in re.findall(r"`(\w+)_PER_MINUTE`/`_BURST`", DOC):
        assert {f"{stem}_PER_MINUTE", f"{stem}_BURST"} <= set(ENV_NAMES), stem


def test_metric_names_are_exported_or_external() -> None:
    pattern = r"\b[a-z][a-z0-9_]*_(?:total|bytes|seconds|bucket|fds|degraded|in_flight|info)\b"
    used = set(re.findall(pattern, DOC)) - {"go_memstats"}
    assert {"process_resident_memory_bytes", "http_requests_by_country_total"} <= used
    exported = exported_metric_names()
    unknown = {
        n for n in used - EXTERNAL_METRICS if n not in exported and f"{n}_bucket" not in exported
    }
    assert not unknown
    assert "go_memstats" not in "\n".join(CODE_LINES)


def test_repository_paths_exist() -> None:
    # `kubectl exec deploy/redis` names a Deployment, not a path.
    pattern = r"(?<!exec )\b(?:deploy|docs|scripts|tests)/[\w./-]+"
    paths = {p.rstrip(".,:)") for p in re.findall(pattern, DOC)}
    assert "deploy/k8s/overlays/green" in paths
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert not missing


def _secret_references(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        if "secretName" in node:
            yield node["secretName"]
        if "secretKeyRef" in node:
            yield node["secretKeyRef"]["name"]
        for value in node.values():
            yield from _secret_references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _secret_references(item)


def test_kubectl_commands_name_objects_we_ship() -> None:
    docs = manifests()
    names: dict[str, set[str]] = {}
    for doc in docs:
        names.setdefault(doc["kind"], set()).add(doc["metadata"]["name"])
    # Secrets the manifests reference (created with kubectl, not applied from files).
    names["Secret"] |= set(_secret_references(docs))
    kinds = {
        "deployment": "Deployment",
        "deploy": "Deployment",
        "service": "Service",
        "hpa": "HorizontalPodAutoscaler",
        "secret": "Secret",
    }
    found = 0
    for line in CODE_LINES:
        if not line.startswith("kubectl"):
            continue
        for word, name in re.findall(
            r"\b(deployment|deploy|service|hpa|secret)(?: generic)?[ /]([a-z][a-z0-9-]*)(?![\w/.-])",
            line,
        ):
            if word == "deploy" and name == "k8s":
                continue
            assert name in names.get(kinds[word], set()), (line, word, name)
            found += 1
    assert found > 30
    labels = {
        f"app={doc['spec']['template']['metadata']['labels']['app']}"
        for doc in docs
        if doc["kind"] == "Deployment"
    }
    for selector in re.findall(r"-l (\S+)", "\n".join(CODE_LINES)):
        assert selector in labels, selector


def test_every_alert_is_documented() -> None:
    for name in rules():
        assert f"| {name}" in DOC, name


def test_devutils_commands_exist() -> None:
    for command in re.findall(r"`devutils (\w+)", DOC):
        assert command in {"serve", "healthcheck", "tools", "mcp"}, command
