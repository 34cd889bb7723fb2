"""What one password hash or JWT operation costs, per scheme, at the server's parameters.

    .venv/bin/python -m bench.password_jwt

Runs each computation directly (no pool hop, no HTTP) a few times and prints the median wall time:
hashing with the default parameters of every password scheme, verifying at the server maxima
(the worst a forged hash can ask for), and JWT sign/verify per algorithm family.  These are the
figures behind the maxima in docs/api-deltas.md D12 and the Argon2 gate sizing.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from devutils.settings import load_settings
from devutils.tools import _pwschemes

RUNS = 3


def _median(work: Callable[[], object], runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _password_rows() -> None:
    settings = load_settings({"SECRETS_MOUNT_PATH": "/nonexistent"})
    print("password hash at the defaults (ms, median of 3)")
    schemes: tuple[_pwschemes.Scheme, ...] = (
        "argon2id",
        "bcrypt",
        "scrypt",
        "pbkdf2_sha256",
        "pbkdf2_sha512",
    )
    for scheme in schemes:
        seconds = _median(partial(_pwschemes.hash_password, scheme, "phc", b"pw", settings))
        print(f"  {scheme:<14} {seconds * 1000:8.1f}")
    print("verify at the server maxima (ms, one run)")
    worst = {
        "bcrypt cost 14": "$2b$14$" + "C" * 21 + "." + "C" * 31,
        "scrypt ln=16,r=8,p=4": "$scrypt$ln=16,r=8,p=4$c2FsdHNhbHQ$" + "A" * 43,
        "pbkdf2-sha256 3M": "$pbkdf2-sha256$i=3000000,l=32$c2FsdHNhbHQ$" + "A" * 43,
        "pbkdf2-sha512 1M": "$pbkdf2-sha512$i=1000000,l=64$c2FsdHNhbHQ$" + "A" * 86,
    }
    for name, encoded in worst.items():
        parsed = _pwschemes.parse(encoded)
        if parsed is None or _pwschemes.over_limits(parsed, settings):
            raise SystemExit(f"{name}: not a hash within the maxima")
        seconds = _median(partial(_pwschemes.verify_password, parsed, b"pw"), runs=1)
        print(f"  {name:<22} {seconds * 1000:8.1f}")


def _jwt_row(label: str, key: Any, public: Any) -> None:
    algorithm = label.split()[0]
    token = jwt.encode({"sub": "x"}, key, algorithm=algorithm)
    signing = _median(partial(jwt.encode, {"sub": "x"}, key, algorithm=algorithm), 200)
    checking = _median(partial(jwt.decode, token, public, algorithms=[algorithm]), 200)
    print(f"  {label:<14} {signing * 1e6:9.0f} {checking * 1e6:9.0f}")


def _jwt_rows() -> None:
    print("JWT sign / verify with a loaded key (µs, median of 200)")
    _jwt_row("HS256", b"k" * 32, b"k" * 32)
    for label, bits in (("RS256 (2048)", 2048), ("RS256 (4096)", 4096)):
        private = rsa.generate_private_key(65537, bits)
        _jwt_row(label, private, private.public_key())
    curve = ec.generate_private_key(ec.SECP256R1())
    _jwt_row("ES256", curve, curve.public_key())
    edwards = ed25519.Ed25519PrivateKey.generate()
    _jwt_row("EdDSA", edwards, edwards.public_key())


def main() -> None:
    _password_rows()
    _jwt_rows()


if __name__ == "__main__":
    main()
