"""The output budget: a running count against MAX_OUTPUT_BYTES with one clear 413."""

from __future__ import annotations

import pytest

from devutils.errors import RequestTooLargeError
from devutils.execution.budget import OutputBudget, describe_size

MIB = 1024 * 1024


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (16 * MIB, "16 MiB"),
        (64 * 1024, "64 KiB"),
        (1000, "1000 bytes"),
        (MIB + 1, f"{MIB + 1} bytes"),
    ],
    ids=["mib", "kib", "bytes", "odd"],
)
def test_limits_read_as_configured(size: int, text: str) -> None:
    assert describe_size(size) == text


def test_charge_up_to_the_limit_then_413() -> None:
    budget = OutputBudget(1024, "JSON formatting failed")
    budget.charge(1000)
    budget.charge(24)
    assert budget.remaining == 0
    with pytest.raises(RequestTooLargeError) as refused:
        budget.charge(1)
    assert refused.value.message == "JSON formatting failed"
    assert refused.value.details == "output would exceed 1 KiB (MAX_OUTPUT_BYTES)"
    assert refused.value.status == 413


def test_check_refuses_before_producing_and_charges_nothing() -> None:
    budget = OutputBudget(2048)
    budget.check(2048)
    with pytest.raises(RequestTooLargeError):
        budget.check(2049)
    assert budget.used == 0
