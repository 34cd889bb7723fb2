"""crypto/random: passwords, passphrases, tokens and PINs; classes, exclusions, entropy, caps."""

from __future__ import annotations

import base64
import hashlib
import itertools
import math
import re
import string
from collections import Counter
from importlib import resources
from typing import Any

import httpx
import pytest

from devutils.frontends.schema import input_schema
from devutils.registry import Registry
from devutils.tools.secretgen import (
    LOOKALIKES,
    SYMBOLS,
    _qualifying,
    wordlist,
)

WORDLIST_SHA256 = "addd35536511597a02fa0a9ff1e5284677b8883b83e986e43f15a3db996b903e"
CLASS_CHARS = {
    "lower": set(string.ascii_lowercase),
    "upper": set(string.ascii_uppercase),
    "digits": set(string.digits),
    "symbols": set(SYMBOLS),
}


async def _random(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/api/v1/crypto/random", json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def test_wordlist_is_the_eff_large_list() -> None:
    raw = resources.files("devutils.tools").joinpath("wordlists/eff_large_wordlist.txt")
    assert hashlib.sha256(raw.read_bytes()).hexdigest() == WORDLIST_SHA256
    words = wordlist()
    assert len(words) == len(set(words)) == 6**5
    assert (words[0], words[-1]) == ("abacus", "zoom")
    assert all(re.fullmatch(r"[a-z-]+", word) for word in words)
    attribution = resources.files("devutils.tools").joinpath("wordlists/README.md").read_text()
    assert "CC BY 3.0" in attribution
    assert WORDLIST_SHA256 in attribution


@pytest.mark.parametrize(
    ("sizes", "length"),
    [([26, 10], 1), ([26, 10], 3), ([2, 2], 3), ([3, 1, 2], 4), ([3, 3, 2, 2], 4)],
    ids=["too-short", "two-classes", "tiny", "three-classes", "four-classes"],
)
def test_qualifying_count_matches_enumeration(sizes: list[int], length: int) -> None:
    classes = [
        set(range(sum(sizes[:index]), sum(sizes[: index + 1]))) for index in range(len(sizes))
    ]
    counted = sum(
        all(not group.isdisjoint(candidate) for group in classes)
        for candidate in itertools.product(range(sum(sizes)), repeat=length)
    )
    assert _qualifying(sizes, length) == counted


@pytest.mark.parametrize(
    ("body", "length", "classes"),
    [
        ({}, 20, ["lower", "upper", "digits", "symbols"]),
        ({"kind": "password", "length": 4}, 4, ["lower", "upper", "digits", "symbols"]),
        ({"length": 12, "classes": ["digits", "upper"]}, 12, ["digits", "upper"]),
        ({"length": 256, "classes": ["lower"]}, 256, ["lower"]),
        ({"length": 30, "classes": ["symbols", "symbols"]}, 30, ["symbols"]),
    ],
    ids=["default", "shortest", "two-classes", "longest-one-class", "repeated-class"],
)
async def test_passwords_hold_every_class(
    client: httpx.AsyncClient, body: dict[str, Any], length: int, classes: list[str]
) -> None:
    data = await _random(client, {**body, "count": 100})
    assert data["kind"] == "password"
    allowed = set().union(*(CLASS_CHARS[name] for name in classes))
    for value in data["values"]:
        assert len(value) == length
        assert set(value) <= allowed
        assert all(not CLASS_CHARS[name].isdisjoint(value) for name in classes)
    assert len(set(data["values"])) == 100
    sizes = [len(CLASS_CHARS[name]) for name in dict.fromkeys(classes)]
    assert data["entropyBits"] == round(math.log2(_qualifying(sizes, length)), 2)


async def test_password_entropy_known_values(client: httpx.AsyncClient) -> None:
    # One class: exactly length x log2(size).  Default: 20 characters over 90 symbols with every
    # class present is a little under 20 x log2(90) = 129.83.
    one = await _random(client, {"length": 10, "classes": ["digits"]})
    assert one["entropyBits"] == round(10 * math.log2(10), 2)
    default = await _random(client, {})
    assert 129.5 < default["entropyBits"] < round(20 * math.log2(90), 2)


async def test_password_exclusions(client: httpx.AsyncClient) -> None:
    data = await _random(
        client, {"length": 64, "count": 100, "exclude": "abc#", "excludeLookalikes": True}
    )
    used = set("".join(data["values"]))
    assert used.isdisjoint(set("abc#") | set(LOOKALIKES))
    # Everything else still appears (6,400 characters over 84 symbols).
    everything = set().union(*CLASS_CHARS.values())
    assert used == everything - set("abc#") - set(LOOKALIKES)
    sizes = [26 - 5, 26 - 2, 10 - 2, len(SYMBOLS) - 2]  # abc+l+o, I+O, 0+1, #+|
    assert data["entropyBits"] == round(math.log2(_qualifying(sizes, 64)), 2)


async def test_password_characters_are_uniform(client: httpx.AsyncClient) -> None:
    text = ""
    for _ in range(3):
        data = await _random(client, {"length": 100, "count": 100, "classes": ["lower"]})
        text += "".join(data["values"])
    counts = Counter(text)
    # 30,000 letters, about 1,154 each; a modulo bias or a stuck letter would show.
    assert len(counts) == 26
    assert min(counts.values()) > 950
    assert max(counts.values()) < 1350


async def test_passphrases(client: httpx.AsyncClient) -> None:
    words = set(wordlist())
    data = await _random(client, {"kind": "passphrase", "count": 50})
    assert data["entropyBits"] == round(6 * math.log2(7776), 2) == 77.55
    for value in data["values"]:
        parts = value.split("-")
        # Some EFF words contain a hyphen themselves (e.g. "t-shirt"): rejoin to check.
        assert len(parts) >= 6
        assert all(part in words or "-" in value for part in parts)
    spaced = await _random(
        client, {"kind": "passphrase", "words": 4, "separator": " :: ", "count": 20}
    )
    for value in spaced["values"]:
        parts = value.split(" :: ")
        assert len(parts) == 4
        assert set(parts) <= words
    assert spaced["entropyBits"] == round(4 * math.log2(7776), 2)
    joined = await _random(client, {"kind": "passphrase", "words": 1, "separator": ""})
    assert joined["values"][0] in words
    assert joined["entropyBits"] == 12.92


@pytest.mark.parametrize(
    ("body", "pattern", "bits"),
    [
        ({"kind": "token"}, r"[0-9a-f]{64}", 256.0),
        ({"kind": "token", "length": 8, "encoding": "hex"}, r"[0-9a-f]{16}", 64.0),
        ({"kind": "token", "length": 32, "encoding": "base64url"}, r"[A-Za-z0-9_-]{43}", 256.0),
        ({"kind": "token", "length": 512}, r"[0-9a-f]{1024}", 4096.0),
        (
            {"kind": "token", "length": 22, "encoding": "alphanumeric"},
            r"[A-Za-z0-9]{22}",
            round(22 * math.log2(62), 2),
        ),
        ({"kind": "pin"}, r"[0-9]{6}", 19.93),
        ({"kind": "pin", "length": 4}, r"[0-9]{4}", 13.29),
        ({"kind": "pin", "length": 64}, r"[0-9]{64}", 212.6),
    ],
    ids=[
        "token-default",
        "token-8-hex",
        "token-base64url",
        "token-longest",
        "token-alphanumeric",
        "pin-default",
        "pin-4",
        "pin-64",
    ],
)
async def test_tokens_and_pins(
    client: httpx.AsyncClient, body: dict[str, Any], pattern: str, bits: float
) -> None:
    data = await _random(client, {**body, "count": 20})
    assert len(data["values"]) == 20
    assert all(re.fullmatch(pattern, value) for value in data["values"])
    assert data["entropyBits"] == bits
    if body.get("encoding") == "base64url":
        assert all(len(base64.urlsafe_b64decode(v + "=")) == 32 for v in data["values"])


async def test_pin_digits_are_uniform(client: httpx.AsyncClient) -> None:
    data = await _random(client, {"kind": "pin", "length": 64, "count": 100})
    counts = Counter("".join(data["values"]))
    assert len(counts) == 10
    assert min(counts.values()) > 520  # 6,400 digits, 640 each on average
    assert max(counts.values()) < 760


# Leaves one lower-case letter, one digit and one symbol: a 4-character password holding all four
# classes is drawn once in about 1,133 tries.
RARE = string.ascii_lowercase[1:] + string.digits[:-1] + SYMBOLS[1:]
ERRORS = [
    ("count-zero", {"count": 0}, "count must be between 1 and 100"),
    ("count-over", {"count": 101}, "count must be between 1 and 100"),
    ("password-short", {"length": 3}, "password length must be 4 to 256 characters"),
    ("password-long", {"length": 257}, "password length must be 4 to 256 characters"),
    ("token-short", {"kind": "token", "length": 7}, "token length must be 8 to 512 bytes"),
    ("token-long", {"kind": "token", "length": 513}, "token length must be 8 to 512 bytes"),
    ("pin-short", {"kind": "pin", "length": 3}, "pin length must be 4 to 64 digits"),
    ("pin-long", {"kind": "pin", "length": 65}, "pin length must be 4 to 64 digits"),
    ("no-classes", {"classes": []}, "classes must name at least one class"),
    (
        "all-digits-excluded",
        {"classes": ["digits"], "exclude": string.digits},
        "every digits character is excluded",
    ),
    (
        "too-rare-to-draw",
        {"length": 4, "exclude": RARE},
        "length is too short for these classes and exclusions: use a longer one",
    ),
    ("exclude-long", {"exclude": "x" * 257}, "exclude exceeds maximum length of 256"),
    ("words-zero", {"kind": "passphrase", "words": 0}, "words must be between 1 and 32"),
    ("words-over", {"kind": "passphrase", "words": 33}, "words must be between 1 and 32"),
    (
        "separator-long",
        {"kind": "passphrase", "separator": "-" * 9},
        "separator exceeds maximum length of 8",
    ),
    ("words-for-token", {"kind": "token", "words": 3}, "words does not apply to kind token"),
    (
        "password-options-for-pin",
        {"kind": "pin", "classes": ["digits"], "excludeLookalikes": True},
        "classes, excludeLookalikes does not apply to kind pin",
    ),
    (
        "length-for-passphrase",
        {"kind": "passphrase", "length": 5},
        "length does not apply to kind passphrase",
    ),
    (
        "encoding-for-password",
        {"encoding": "base64url"},
        "encoding does not apply to kind password",
    ),
]


@pytest.mark.parametrize(
    ("body", "details"), [case[1:] for case in ERRORS], ids=[case[0] for case in ERRORS]
)
async def test_errors(client: httpx.AsyncClient, body: dict[str, Any], details: str) -> None:
    response = await client.post("/api/v1/crypto/random", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == {
        "code": "VALIDATION_ERROR",
        "message": "Failed to generate random values",
        "details": details,
    }


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "uuid"},
        {"classes": ["emoji"]},
        {"encoding": "base32", "kind": "token"},
        {"count": "2"},
    ],
    ids=["unknown-kind", "unknown-class", "unknown-encoding", "count-string"],
)
async def test_binding_errors(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await client.post("/api/v1/crypto/random", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Invalid request format"


async def test_classes_name_each_class_at_most_once(
    registry: Registry, client: httpx.AsyncClient
) -> None:
    """maxItems is the number of classes, so a huge list is refused before its items are read."""
    spec = registry.get("crypto_random")
    assert spec is not None
    schema = input_schema(spec)["properties"]["classes"]
    assert [branch.get("maxItems") for branch in schema["anyOf"]] == [len(CLASS_CHARS), None]
    data = await _random(client, {"classes": ["digits", "lower", "digits", "upper"]})
    allowed = CLASS_CHARS["digits"] | CLASS_CHARS["lower"] | CLASS_CHARS["upper"]
    assert set(data["values"][0]) <= allowed
    response = await client.post("/api/v1/crypto/random", json={"classes": ["a"] * 100_000})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "VALIDATION_ERROR",
        "message": "Invalid request format",
        "details": "classes: List should have at most 4 items after validation, not 100000",
    }


async def test_large_requests_run_off_the_event_loop_and_still_answer(
    client: httpx.AsyncClient,
) -> None:
    data = await _random(client, {"length": 256, "count": 100})
    assert len(data["values"]) == 100
    assert {len(value) for value in data["values"]} == {256}


def test_declarations(registry: Registry) -> None:
    expected = {
        "crypto_random": ("crypto", False, "cpu"),
        "crypto_totp": ("crypto", True, "inline"),
        "id_ulid": ("default", False, "inline"),
        "id_inspect": ("default", True, "inline"),
    }
    for name, (rate_class, idempotent, cost) in expected.items():
        spec = registry.get(name)
        assert spec is not None
        assert (spec.rate_class, spec.idempotent, spec.cost_class) == (rate_class, idempotent, cost)
        assert (spec.read_only, spec.open_world) == (True, False)


@pytest.mark.parametrize(
    ("body", "inline"),
    [
        ({}, True),
        ({"length": 256, "count": 100}, False),
        # Four characters, but about 650 candidates drawn per password: off the event loop.
        ({"length": 4, "exclude": RARE[1:]}, False),
        ({"kind": "token", "length": 512, "count": 100}, True),
        ({"kind": "passphrase", "words": 32, "count": 100}, False),
    ],
    ids=["default", "long", "rare-classes", "bytes-token", "long-passphrases"],
)
def test_work_estimate(registry: Registry, body: dict[str, Any], inline: bool) -> None:
    spec = registry.get("crypto_random")
    assert spec is not None
    assert spec.estimate is not None
    parsed = registry.parse(spec, body)
    assert (spec.estimate(parsed) <= registry.context.settings.inline_max_work) is inline


@pytest.mark.parametrize("kind", ["password", "passphrase", "token", "pin"])
async def test_every_option_sent_at_its_published_default_is_accepted(
    registry: Registry, client: httpx.AsyncClient, kind: str
) -> None:
    """A client filling every field from the schema's defaults sends options of other kinds
    too: at their default they are the call that leaves them out, not an option that "does not
    apply"."""
    spec = registry.get("crypto_random")
    assert spec is not None
    properties = input_schema(spec)["properties"]
    defaults = {name: prop["default"] for name, prop in properties.items() if "default" in prop}
    assert {"separator", "encoding", "words", "exclude", "excludeLookalikes"} <= set(defaults)
    response = await client.post("/api/v1/crypto/random", json={**defaults, "kind": kind})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["kind"] == kind
