"""The workers the shipped manifests start, and whether the pod's memory limit holds them."""

from __future__ import annotations

from pathlib import Path

import pytest

from devutils.settings import load_settings
from devutils.workers import cpu_limit
from tests.ops.test_manifests import container, find, rendered

# Measured: RSS of one serving worker after start-up and some requests (docs/operations.md).
WORKER_RSS_MIB = 90
PERIOD_US = 100_000


def cpu_quota_us(quantity: str) -> int:
    """A Kubernetes CPU quantity as the CFS quota the kubelet writes for it."""
    if quantity.endswith("m"):
        return int(quantity[:-1]) * PERIOD_US // 1000
    return int(float(quantity) * PERIOD_US)


def mebibytes(quantity: str) -> int:
    units = {"Mi": 1, "Gi": 1024}
    return int(quantity[:-2]) * units[quantity[-2:]]


@pytest.mark.parametrize("overlay", ["base", "overlays/production"])
def test_the_pod_memory_limit_holds_its_workers(overlay: str, tmp_path: Path) -> None:
    docs = rendered(overlay)
    main = container(find(docs, "Deployment", "dev-utilities"))
    config = find(docs, "ConfigMap", "dev-utilities-config")["data"]
    settings = load_settings(
        {**config, "AUTH_API_KEYS": "k" * 32, "RATE_LIMIT_REDIS_URL": "redis://redis:6379/0"}
    )
    limits = main["resources"]["limits"]
    # What the workers' cgroup default sees in this container (unless the ConfigMap sets a count).
    (tmp_path / "cpu.max").write_text(f"{cpu_quota_us(limits['cpu'])} {PERIOD_US}\n")
    workers = settings.server_workers or cpu_limit(tmp_path)
    assert main["args"] == ["serve"]
    assert workers == 1  # 500m: one worker, as the comment in deployment.yaml says
    argon_mib = settings.argon_concurrency * settings.argon_memory // 1024
    assert workers * (WORKER_RSS_MIB + argon_mib) <= mebibytes(limits["memory"]) * 0.9


def test_the_metrics_directory_default_is_on_the_writable_tmp() -> None:
    main = container(find(rendered("base"), "Deployment", "dev-utilities"))
    mounts = {m["mountPath"]: m.get("readOnly", False) for m in main["volumeMounts"]}
    assert mounts["/tmp"] is False
    config = find(rendered("base"), "ConfigMap", "dev-utilities-config")["data"]
    assert "METRICS_MULTIPROC_DIR" not in config  # the default: a temporary directory in /tmp
