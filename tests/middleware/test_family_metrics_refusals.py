"""A call refused with 429 before its tool ran is a rate-limit hit, not a failed crypto
operation: ``crypto_operations_total`` counts operations that ran (real server)."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support import run_server

ENV = {
    "AUTH_METHOD": "none",
    "LOG_LEVEL": "warning",
    "RATE_LIMIT_CRYPTO_PER_MINUTE": "2",
    "RATE_LIMIT_CRYPTO_BURST": "2",
}


def samples(base: str, name: str) -> dict[frozenset[tuple[str, str]], float]:
    body = httpx.get(f"{base}/metrics", timeout=10).text
    return {
        frozenset(sample.labels.items()): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
        if sample.name == name
    }


def test_rate_limited_calls_are_not_crypto_errors() -> None:
    with run_server(ENV) as server:
        statuses = [
            httpx.post(
                f"{server.base}/api/v1/crypto/hash",
                json={"content": "x", "algorithm": "sha256"},
                timeout=10,
            ).status_code
            for _ in range(5)
        ]
        assert statuses == [200, 200, 429, 429, 429]
        crypto = samples(server.base, "crypto_operations_total")
        success = frozenset(
            {"operation": "hash", "algorithm": "sha256", "status": "success"}.items()
        )
        assert crypto[success] == 2
        errors = {
            labels: value for labels, value in crypto.items() if ("status", "error") in labels
        }
        assert errors == {}, errors
        # The refusals are still seen where they belong.
        calls = samples(server.base, "tool_calls_total")
        limited = frozenset(
            {"tool": "crypto_hash", "frontend": "rest", "status": "RATE_LIMIT_ERROR"}.items()
        )
        assert calls[limited] == 3
        hits = samples(server.base, "rate_limit_hits_total")
        assert sum(hits.values()) == 3
