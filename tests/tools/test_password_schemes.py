"""crypto/password/* beyond Argon2id: bcrypt, scrypt, PBKDF2 and password/inspect (issue #15).

Known answers come from published vectors: RFC 7914 (scrypt, and its PBKDF2-HMAC-SHA256 section),
the widely republished PBKDF2-HMAC-SHA256/512 vectors for "password"/"salt", OpenWall
crypt_blowfish's bcrypt test vectors, PHP's password_hash/password_verify documentation
(``$2y$``), passlib's scrypt documentation and Django's own scrypt test.  The vectors are written
in each supported string format; every one runs through the real registry (pool, gate, precheck).
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

import argon2
import bcrypt
import httpx
import pytest

from devutils.errors import ValidationError
from devutils.models import ToolOutput
from devutils.registry import CallInfo, Registry, ToolContext, catalogue
from devutils.tools.password import PasswordHashOutput, PasswordInspectOutput, PasswordVerifyOutput
from tests.conftest import FIXED_NOW, make_settings

CHEAP = {"argon_memory": 1024, "argon_iterations": 1, "argon_parallelism": 1}
INSPECT_PATH = "/api/v1/crypto/password/inspect"
HASH_PATH = "/api/v1/crypto/password/hash"
VERIFY_PATH = "/api/v1/crypto/password/verify"


def _b64(hex_text: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_text)).decode()


# RFC 7914 §12 (scrypt) and §11 (PBKDF2-HMAC-SHA256), 64-byte keys.
RFC7914_SCRYPT_1 = "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906"
RFC7914_SCRYPT_2 = "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"
RFC7914_SCRYPT_3 = "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887"
RFC7914_PBKDF2_1 = "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"
RFC7914_PBKDF2_2 = "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d"
# PBKDF2-HMAC-SHA256 "password"/"salt", c=4096, 32 bytes; PBKDF2-HMAC-SHA512 c=1, 64 bytes.
PBKDF2_SHA256_4096 = "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"
PBKDF2_SHA512_1 = "867f70cf1ade02cff3752599a3a53dc4af34c7a669815ae5d513554e1c8cf252c02d470a285a0501bad999bfe943c08f050235d7d68b1da55e63f73b60a57fce"


def _phc(text: str) -> str:
    return text.rstrip("=")


KNOWN = [
    # scrypt, PHC strings of the RFC 7914 vectors (salt "" / "NaCl" / "SodiumChloride")
    ("", f"$scrypt$ln=4,r=1,p=1$${_phc(_b64(RFC7914_SCRYPT_1))}"),
    ("password", f"$scrypt$ln=10,r=8,p=16$TmFDbA${_phc(_b64(RFC7914_SCRYPT_2))}"),
    (
        "pleaseletmein",
        f"$scrypt$ln=14,r=8,p=1$U29kaXVtQ2hsb3JpZGU${_phc(_b64(RFC7914_SCRYPT_3))}",
    ),
    # the same vector in Django's layout (N written out, text salt, padded base64)
    ("pleaseletmein", f"scrypt$16384$SodiumChloride$8$1${_b64(RFC7914_SCRYPT_3)}"),
    # passlib's documented scrypt example
    (
        "password",
        "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
    ),
    # Django's own scrypt test (tests/auth_tests/test_hashers.py)
    (
        "lètmein",
        "scrypt$16384$seasalt$8$1$Qj3+9PPyRjSJIebHnG81TMjsqtaIGxNQG/aEB/NYafTJ7tibgfYz71m0ldQESkXFRkdVCBhhY8mx7rQwite/Pw==",
    ),
    # PBKDF2-HMAC-SHA256 (RFC 7914 §11) as PHC strings
    ("passwd", f"$pbkdf2-sha256$i=1,l=64$c2FsdA${_phc(_b64(RFC7914_PBKDF2_1))}"),
    ("Password", f"$pbkdf2-sha256$i=80000,l=64$TmFDbA${_phc(_b64(RFC7914_PBKDF2_2))}"),
    ("password", f"$pbkdf2-sha256$i=4096$c2FsdA${_phc(_b64(PBKDF2_SHA256_4096))}"),
    # ... in passlib's layout ("." for "+") and Django's
    (
        "password",
        f"$pbkdf2-sha256$4096$c2FsdA${_phc(_b64(PBKDF2_SHA256_4096)).replace('+', '.')}",
    ),
    ("password", f"pbkdf2_sha256$4096$salt${_b64(PBKDF2_SHA256_4096)}"),
    ("password", f"$pbkdf2-sha512$i=1,l=64$c2FsdA${_phc(_b64(PBKDF2_SHA512_1))}"),
    ("password", f"pbkdf2_sha512$1$salt${_b64(PBKDF2_SHA512_1)}"),
    # bcrypt: OpenWall crypt_blowfish vectors, PHP documentation ($2y$), passlib ($2b$), Django
    ("U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"),
    ("U*U*", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK"),
    ("U*U*U", "$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a"),
    ("", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy"),
    ("rasmuslerdorf", "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a"),
    ("rasmuslerdorf", "$2y$07$BCryptRequires22Chrcte/VlQH0piJtjXl.0t1XkA8pw9dMXTpOq"),
    ("password", "$2b$12$GhvMmNVjRW29ulnudl.LbuAnUtN/LRfe1JsBm1Xu6LE3059z5Tr8m"),
    ("U*U", "bcrypt$$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"),
]
KNOWN_IDS = [
    "scrypt-rfc7914-1",
    "scrypt-rfc7914-2",
    "scrypt-rfc7914-3",
    "scrypt-rfc7914-3-django",
    "scrypt-passlib-docs",
    "scrypt-django-test",
    "pbkdf2-sha256-rfc7914-1",
    "pbkdf2-sha256-rfc7914-2",
    "pbkdf2-sha256-4096-no-l",
    "pbkdf2-sha256-4096-passlib",
    "pbkdf2-sha256-4096-django",
    "pbkdf2-sha512-1",
    "pbkdf2-sha512-1-django",
    "bcrypt-openwall-U*U",
    "bcrypt-openwall-U*U*",
    "bcrypt-openwall-U*U*U",
    "bcrypt-openwall-empty",
    "bcrypt-2y-php-password-hash",
    "bcrypt-2y-php-password-verify",
    "bcrypt-2b-passlib",
    "bcrypt-django",
]


def registry_with(**overrides: Any) -> Registry:
    return Registry(catalogue(), ToolContext(make_settings(**overrides), clock=lambda: FIXED_NOW))


@pytest.fixture
def cheap() -> Any:
    registry = registry_with(**CHEAP)
    yield registry
    registry.close()


async def invoke(registry: Registry, name: str, args: dict[str, Any]) -> ToolOutput:
    spec = registry.get(name)
    assert spec is not None
    return await registry.invoke(spec, args, CallInfo(frontend="rest"))


async def verify(registry: Registry, password: str, encoded: str) -> bool:
    result = await invoke(
        registry, "crypto_password_verify", {"password": password, "hash": encoded}
    )
    assert isinstance(result, PasswordVerifyOutput)
    return result.valid


async def inspect(registry: Registry, encoded: str) -> PasswordInspectOutput:
    result = await invoke(registry, "crypto_password_inspect", {"hash": encoded})
    assert isinstance(result, PasswordInspectOutput)
    return result


# --- known answers ---------------------------------------------------------------------------


@pytest.mark.parametrize(("password", "encoded"), KNOWN, ids=KNOWN_IDS)
async def test_known_hashes_verify(cheap: Registry, password: str, encoded: str) -> None:
    assert await verify(cheap, password, encoded) is True
    assert await verify(cheap, password + "x", encoded) is False


@pytest.mark.parametrize(("password", "encoded"), KNOWN, ids=KNOWN_IDS)
async def test_one_changed_key_character_is_not_valid(
    cheap: Registry, password: str, encoded: str
) -> None:
    last = encoded[-3]  # not the last: base64 padding bits may be ignored there
    swapped = encoded[:-3] + ("B" if last != "B" else "C") + encoded[-2:]
    assert await verify(cheap, password, swapped) is False


@pytest.mark.parametrize(
    ("encoded", "scheme", "layout", "params", "sizes"),
    [
        (KNOWN[2][1], "scrypt", "phc", {"ln": 14, "r": 8, "p": 1}, (14, 64)),
        (KNOWN[3][1], "scrypt", "django", {"ln": 14, "r": 8, "p": 1}, (14, 64)),
        (KNOWN[7][1], "pbkdf2_sha256", "phc", {"i": 80000}, (4, 64)),
        (KNOWN[9][1], "pbkdf2_sha256", "passlib", {"i": 4096}, (4, 32)),
        (KNOWN[12][1], "pbkdf2_sha512", "django", {"i": 1}, (4, 64)),
        (KNOWN[17][1], "bcrypt", "mcf", {"cost": 10}, (16, 23)),
        (KNOWN[20][1], "bcrypt", "django", {"cost": 5}, (16, 23)),
        (
            "$argon2id$v=19$m=65536,t=3,p=4$+/v8Ev5O/wV0sqgbO9T+6g$rJC9rG01hIF/M6lZkhGfQC25aLfu9xLxUv1fRTAQ5c4",
            "argon2id",
            "phc",
            {"m": 65536, "t": 3, "p": 4},
            (16, 32),
        ),
    ],
    ids=[
        "scrypt-phc",
        "scrypt-django",
        "pbkdf2-phc",
        "pbkdf2-passlib",
        "pbkdf2-sha512-django",
        "bcrypt-2y",
        "bcrypt-django",
        "argon2id",
    ],
)
async def test_inspect_reports_scheme_and_parameters(
    cheap: Registry,
    encoded: str,
    scheme: str,
    layout: str,
    params: dict[str, int],
    sizes: tuple[int, int],
) -> None:
    result = await inspect(registry_with(), encoded)
    assert (result.scheme, result.format, result.params) == (scheme, layout, params)
    assert (result.salt_bytes, result.hash_bytes) == sizes
    assert result.verifiable is True
    assert result.problems == []
    assert result.variant == ("2y" if "$2y$" in encoded else "2b" if "$2b$" in encoded else None)


# --- hashing ---------------------------------------------------------------------------------

HASH_SHAPES = {
    ("bcrypt", "phc"): r"\$2b\$12\$[./A-Za-z0-9]{53}",
    ("bcrypt", "django"): r"bcrypt\$\$2b\$12\$[./A-Za-z0-9]{53}",
    ("scrypt", "phc"): r"\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}",
    ("scrypt", "django"): r"scrypt\$32768\$[A-Za-z0-9]{22}\$8\$1\$[A-Za-z0-9+/]{86}==",
    (
        "pbkdf2_sha256",
        "phc",
    ): r"\$pbkdf2-sha256\$i=600000,l=32\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}",
    ("pbkdf2_sha256", "django"): r"pbkdf2_sha256\$600000\$[A-Za-z0-9]{22}\$[A-Za-z0-9+/]{43}=",
    (
        "pbkdf2_sha512",
        "phc",
    ): r"\$pbkdf2-sha512\$i=210000,l=64\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{86}",
    ("pbkdf2_sha512", "django"): r"pbkdf2_sha512\$210000\$[A-Za-z0-9]{22}\$[A-Za-z0-9+/]{86}==",
    (
        "argon2id",
        "django",
    ): r"argon2\$argon2id\$v=19\$m=1024,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}",
}


def _independent_check(algorithm: str, encoded: str, password: bytes) -> bool:
    """Recompute with the libraries directly, not through the tool's parser."""
    if algorithm == "bcrypt":
        return bcrypt.checkpw(password, encoded.removeprefix("bcrypt$").encode())
    if algorithm == "argon2id":
        return argon2.PasswordHasher().verify(encoded.removeprefix("argon2"), password)
    parts = encoded.split("$")
    if encoded.startswith("scrypt$"):
        _, n_text, salt, r_text, p_text, key = parts
        raw = base64.b64decode(key)
        derived = hashlib.scrypt(
            password,
            salt=salt.encode(),
            n=int(n_text),
            r=int(r_text),
            p=int(p_text),
            dklen=len(raw),
            maxmem=64 * 2**20,
        )
        return derived == raw
    if encoded.startswith("$scrypt$"):
        ln, r, p = (int(item.split("=")[1]) for item in parts[2].split(","))
        salt_raw, raw = (base64.b64decode(item + "==") for item in parts[3:5])
        derived = hashlib.scrypt(
            password, salt=salt_raw, n=2**ln, r=r, p=p, dklen=len(raw), maxmem=64 * 2**20
        )
        return derived == raw
    if encoded.startswith("pbkdf2_"):
        name, count, salt, key = parts
        raw = base64.b64decode(key)
        digest = name.removeprefix("pbkdf2_")
        return hashlib.pbkdf2_hmac(digest, password, salt.encode(), int(count)) == raw
    digest = parts[1].removeprefix("pbkdf2-")
    iterations = int(parts[2].split(",")[0].removeprefix("i="))
    salt_raw, raw = (base64.b64decode(item + "==") for item in parts[3:5])
    return hashlib.pbkdf2_hmac(digest, password, salt_raw, iterations) == raw


@pytest.mark.parametrize(
    ("algorithm", "layout"), sorted(HASH_SHAPES), ids=[f"{a}-{f}" for a, f in sorted(HASH_SHAPES)]
)
async def test_hash_every_scheme_and_format(cheap: Registry, algorithm: str, layout: str) -> None:
    password = "pässwörd 🔑"
    result = await invoke(
        cheap,
        "crypto_password_hash",
        {"password": password, "algorithm": algorithm, "format": layout},
    )
    assert isinstance(result, PasswordHashOutput)
    assert re.fullmatch(HASH_SHAPES[algorithm, layout], result.hash), result.hash
    assert _independent_check(algorithm, result.hash, password.encode())
    assert await verify(cheap, password, result.hash)
    assert not await verify(cheap, "passwörd 🔑", result.hash)
    assert (await inspect(cheap, result.hash)).scheme == algorithm


async def test_algorithm_defaults_to_argon2id_phc(client: httpx.AsyncClient) -> None:
    response = await client.post(HASH_PATH, json={"password": "pw", "algorithm": None})
    assert response.status_code == 200, response.text
    assert set(response.json()["data"]) == {"hash"}
    assert response.json()["data"]["hash"].startswith("$argon2id$v=19$m=65536,t=3,p=4$")


@pytest.mark.parametrize("body", [{"algorithm": "md5"}, {"algorithm": "argon2i"}, {"format": "x"}])
async def test_unknown_scheme_or_format_is_refused(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    response = await client.post(HASH_PATH, json={"password": "pw", **body})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


# --- bcrypt's 72 bytes and NUL ---------------------------------------------------------------

OPENWALL_LONG = "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui"
OPENWALL_LONG_PASSWORD = (
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    "chars after 72 are ignored"
)


async def test_bcrypt_accepts_exactly_72_bytes(cheap: Registry) -> None:
    password = "é" * 36  # 72 UTF-8 bytes
    result = await invoke(
        cheap, "crypto_password_hash", {"password": password, "algorithm": "bcrypt"}
    )
    assert isinstance(result, PasswordHashOutput)
    assert await verify(cheap, password, result.hash)


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("crypto_password_hash", {"password": "é" * 36 + "x", "algorithm": "bcrypt"}),
        ("crypto_password_verify", {"password": "é" * 36 + "x", "hash": KNOWN[13][1]}),
        # OpenWall's vector that shows other implementations silently dropping the tail
        ("crypto_password_verify", {"password": OPENWALL_LONG_PASSWORD, "hash": OPENWALL_LONG}),
    ],
    ids=["hash-73-bytes", "verify-73-bytes", "verify-openwall-truncation-vector"],
)
async def test_bcrypt_refuses_passwords_over_72_bytes(
    cheap: Registry, tool: str, args: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError) as refused:
        await invoke(cheap, tool, args)
    assert refused.value.message == "Password too long for bcrypt"
    assert "bytes; bcrypt uses at most 72" in refused.value.details


async def test_long_passwords_still_work_with_other_schemes(cheap: Registry) -> None:
    password = "x" * 100
    result = await invoke(
        cheap, "crypto_password_hash", {"password": password, "algorithm": "scrypt"}
    )
    assert isinstance(result, PasswordHashOutput)
    assert await verify(cheap, password, result.hash)


@pytest.mark.parametrize("tool", ["crypto_password_hash", "crypto_password_verify"])
async def test_bcrypt_refuses_nul_bytes(cheap: Registry, tool: str) -> None:
    args = {"algorithm": "bcrypt"} if tool == "crypto_password_hash" else {"hash": KNOWN[13][1]}
    with pytest.raises(ValidationError) as refused:
        await invoke(cheap, tool, {"password": "a\0b", **args})
    assert refused.value.details == "password contains a NUL byte"


# --- server maxima ---------------------------------------------------------------------------

OVER_LIMITS = [
    ("$2b$15$" + KNOWN[19][1][7:], "cost=15 exceeds the maximum 14"),
    ("$2b$31$" + KNOWN[19][1][7:], "cost=31 exceeds the maximum 14"),
    (
        KNOWN[4][1].replace("ln=16", "ln=17"),
        "memory KiB (128*r*N)=131072 exceeds the maximum 65536",
    ),
    (KNOWN[4][1].replace("ln=16", "ln=21"), "ln=21 exceeds the maximum 20"),
    (KNOWN[2][1].replace("r=8", "r=33"), "r=33 exceeds the maximum 32"),
    (KNOWN[2][1].replace("p=1", "p=17"), "p=17 exceeds the maximum 16"),
    (
        "scrypt$1073741824$salt$8$1$" + _b64(RFC7914_SCRYPT_3),
        "ln=30 exceeds the maximum 20",
    ),
    (KNOWN[8][1].replace("i=4096", "i=3000001"), "i=3000001 exceeds the maximum 3000000"),
    (KNOWN[11][1].replace("i=1,", "i=1000001,"), "i=1000001 exceeds the maximum 1000000"),
    (
        KNOWN[7][1].replace("i=80000", "i=1500001"),
        "i*2 blocks=3000002 exceeds the maximum 3000000",
    ),
    (
        KNOWN[1][1].replace("ln=10", "ln=15"),
        "work KiB (128*r*N*p)=524288 exceeds the maximum 262144",
    ),
    (
        f"pbkdf2_sha256$99999999999999999999$salt${_b64(PBKDF2_SHA256_4096)}",
        "i=99999999999999999999 exceeds",
    ),
    (
        "$pbkdf2-sha256$i=1$c2FsdA$" + base64.b64encode(bytes(65)).decode().rstrip("="),
        "key length=65 exceeds the maximum 64",
    ),
]
OVER_LIMIT_IDS = [
    "bcrypt-cost-15",
    "bcrypt-cost-31",
    "scrypt-128mib",
    "scrypt-ln-21",
    "scrypt-r-33",
    "scrypt-p-17",
    "scrypt-django-n-2^30",
    "pbkdf2-one-over",
    "pbkdf2-sha512-one-over",
    "pbkdf2-two-blocks",
    "scrypt-work",
    "pbkdf2-20-digits",
    "pbkdf2-key-65-bytes",
]


@pytest.mark.parametrize(("encoded", "complaint"), OVER_LIMITS, ids=OVER_LIMIT_IDS)
async def test_hashes_over_the_maxima_are_refused(
    cheap: Registry, encoded: str, complaint: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        await verify(cheap, "password", encoded)
    assert refused.value.message == "Hash parameters exceed server limits"
    assert complaint in refused.value.details
    # inspect answers the same finding as data
    found = await inspect(cheap, encoded)
    assert found.verifiable is False
    assert any(complaint in problem for problem in found.problems)


async def test_scrypt_memory_follows_the_argon2_memory_maximum() -> None:
    roomy = registry_with(**CHEAP, argon_verify_max_memory=131072)
    try:
        assert (await inspect(roomy, KNOWN[4][1].replace("ln=16", "ln=17"))).verifiable
    finally:
        roomy.close()


async def test_rest_refusal_envelope(client: httpx.AsyncClient) -> None:
    response = await client.post(
        VERIFY_PATH, json={"password": "password", "hash": "$2b$20$" + KNOWN[19][1][7:]}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["message"]) == (
        "VALIDATION_ERROR",
        "Hash parameters exceed server limits",
    )


# --- malformed hashes: not valid (verify), 400 (inspect) ----------------------------------------

MALFORMED = [
    "$2x$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",  # crypt_blowfish's buggy 2x
    "$2b$5$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
    "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe",
    "$2b$05$CCCCCCCCCCCCCCCCCCCCC+E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
    "$2b$05$CCCCCCCCCCCCCCCCCCCCCCE5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",  # salt's spare bits set
    "$scrypt$ln=14,r=8$U29kaXVtQ2hsb3JpZGU$" + _phc(_b64(RFC7914_SCRYPT_3)),
    "$scrypt$ln=14,r=8,p=1$U29kaXVtQ2hsb3JpZGU=$" + _phc(_b64(RFC7914_SCRYPT_3)),
    "scrypt$16383$SodiumChloride$8$1$" + _b64(RFC7914_SCRYPT_3),
    "$pbkdf2-sha256$i=4096,l=31$c2FsdA$" + _phc(_b64(PBKDF2_SHA256_4096)),
    "$pbkdf2-sha1$i=4096$c2FsdA$" + _phc(_b64(PBKDF2_SHA256_4096)),
    "pbkdf2_sha256$4096$salt$" + _b64(PBKDF2_SHA256_4096).rstrip("="),
    "pbkdf2_sha256$٤٠٩٦$salt$" + _b64(PBKDF2_SHA256_4096),  # Arabic-Indic digits
    "$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
    "md5$salt$hash",
    "not a hash",
]
MALFORMED_IDS = [
    "bcrypt-2x",
    "bcrypt-one-digit-cost",
    "bcrypt-short",
    "bcrypt-foreign-alphabet",
    "bcrypt-salt-padding-bits",
    "scrypt-missing-p",
    "scrypt-padded-salt",
    "scrypt-django-n-not-power-of-two",
    "pbkdf2-l-mismatch",
    "pbkdf2-sha1",
    "pbkdf2-django-unpadded",
    "pbkdf2-non-ascii-digits",
    "argon2i",
    "django-md5",
    "free-text",
]


@pytest.mark.parametrize("encoded", MALFORMED, ids=MALFORMED_IDS)
async def test_malformed_hashes_are_not_valid(cheap: Registry, encoded: str) -> None:
    assert await verify(cheap, "password", encoded) is False
    with pytest.raises(ValidationError) as refused:
        await inspect(cheap, encoded)
    assert refused.value.message == "Unrecognised password hash"


@pytest.mark.parametrize(
    ("encoded", "problem"),
    [
        ("$2b$03$" + KNOWN[19][1][7:], "cost below 4"),
        ("$scrypt$ln=0,r=8,p=1$c2FsdA$" + _phc(_b64(PBKDF2_SHA256_4096)), "ln, r and p"),
        ("$pbkdf2-sha256$i=0$c2FsdA$" + _phc(_b64(PBKDF2_SHA256_4096)), "i must be"),
    ],
    ids=["bcrypt-cost-3", "scrypt-ln-0", "pbkdf2-i-0"],
)
async def test_parameters_below_the_floor_are_not_valid(
    cheap: Registry, encoded: str, problem: str
) -> None:
    assert await verify(cheap, "password", encoded) is False
    found = await inspect(cheap, encoded)
    assert found.verifiable is False
    assert any(problem in item for item in found.problems)


def _scrypt_phc(password: bytes, salt: bytes, ln: int, r: int) -> str:
    key = hashlib.scrypt(password, salt=salt, n=2**ln, r=r, p=1, dklen=32)
    return f"$scrypt$ln={ln},r={r},p=1${_phc(_b64(salt.hex()))}${_phc(_b64(key.hex()))}"


async def test_scrypt_n_below_2_to_the_16r_is_the_largest_verifiable(cheap: Registry) -> None:
    # RFC 7914 section 2: N < 2^(128*r/8).  ln=15 with r=1 is the largest N hashlib computes.
    encoded = _scrypt_phc(b"password", b"saltsaltsaltsalt", 15, 1)
    assert (await inspect(cheap, encoded)).verifiable is True
    assert await verify(cheap, "password", encoded) is True


@pytest.mark.parametrize(
    ("encoded", "problem"),
    [
        (
            "$scrypt$ln=16,r=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$" + _phc(_b64("00" * 32)),
            "ln=16 must be below 16*r=16 (RFC 7914: N < 2^(16*r))",
        ),
        (
            "$scrypt$ln=17,r=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$" + _phc(_b64("00" * 32)),
            "ln=17 must be below 16*r=16 (RFC 7914: N < 2^(16*r))",
        ),
        (
            "scrypt$65536$salt$1$1$" + _b64("00" * 32),
            "ln=16 must be below 16*r=16 (RFC 7914: N < 2^(16*r))",
        ),
    ],
    ids=["phc-ln-16-r-1", "phc-ln-17-r-1", "django-n-2^16-r-1"],
)
async def test_scrypt_n_at_2_to_the_16r_is_not_verifiable(
    cheap: Registry, encoded: str, problem: str
) -> None:
    # OpenSSL refuses N >= 2^(16*r) with this message, though r=2 (twice the memory) computes:
    # no password could ever match such a hash.
    with pytest.raises(ValueError, match="memory limit exceeded"):
        hashlib.scrypt(b"password", salt=b"salt", n=2**16, r=1, p=1, dklen=32)
    assert len(hashlib.scrypt(b"password", salt=b"salt", n=2**16, r=2, p=1, dklen=32)) == 32
    found = await inspect(cheap, encoded)
    assert (found.verifiable, found.problems) == (False, [problem])
    assert await verify(cheap, "password", encoded) is False


async def test_inspect_over_rest(client: httpx.AsyncClient) -> None:
    response = await client.post(INSPECT_PATH, json={"hash": KNOWN[17][1]})
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {
        "scheme": "bcrypt",
        "format": "mcf",
        "variant": "2y",
        "params": {"cost": 10},
        "saltBytes": 16,
        "hashBytes": 23,
        "verifiable": True,
        "problems": [],
    }
    refused = await client.post(INSPECT_PATH, json={"hash": "x" * 1025})
    assert refused.status_code == 400


def test_declarations(registry: Registry) -> None:
    inspecting = registry.get("crypto_password_inspect")
    assert inspecting is not None
    assert (inspecting.cost_class, inspecting.gate, inspecting.rate_class) == (
        "inline",
        None,
        "crypto",
    )
    for name in ("crypto_password_hash", "crypto_password_verify"):
        spec = registry.get(name)
        assert spec is not None
        assert (spec.cost_class, spec.gate) == ("argon2", "argon2")
