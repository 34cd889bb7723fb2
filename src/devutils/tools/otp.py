"""crypto/totp: one-time codes of RFC 4226 (HOTP, a counter) and RFC 6238 (TOTP, time steps).

A short implementation of the RFCs' algorithm (HMAC, dynamic truncation, modulo) with their
appendix vectors in the tests, rather than pyotp: it takes the time from the injected clock,
verifies a window in constant time, and is about forty lines.  Secrets are never logged.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from typing import Literal
from urllib.parse import quote, urlencode

from pydantic import Field

from devutils.errors import ValidationError
from devutils.models import ToolInput, ToolOutput, wire_name
from devutils.registry import Example, ToolContext, tool
from devutils.tools._timefmt import unix_seconds

_ERROR = "Failed to process one-time code"
MIN_SECRET_BYTES = 10  # 80 bits: the shortest secret authenticator apps issue
MAX_SECRET_BYTES = 256
MAX_WINDOW = 10
MAX_TIME = 253402300799  # 9999-12-31T23:59:59Z
MAX_LABEL = 256
MAX_COUNTER = (1 << 64) - 1
_BASE32 = re.compile(r"[A-Z2-7]+=*")
_DIGITS = re.compile(r"[0-9]+")

Algorithm = Literal["sha1", "sha256", "sha512"]


class TotpInput(ToolInput):
    action: Literal["generate", "verify", "uri"] = "generate"
    secret: str = Field(description="Base32 secret.")
    code: str = Field("", description="verify: the code.")
    # The bounds are checked by the tool (its messages); the schema states them for clients.
    digits: int = Field(6, description="6 to 8.", json_schema_extra={"minimum": 6, "maximum": 8})
    period: int = Field(
        30, description="Seconds, 1 to 3600.", json_schema_extra={"minimum": 1, "maximum": 3600}
    )
    algorithm: Algorithm = "sha1"
    counter: int | None = Field(None, description="HOTP counter (instead of time).")
    time: int | None = Field(
        None,
        description="Unix seconds instead of now.",
        json_schema_extra={"minimum": 0, "maximum": MAX_TIME},
    )
    window: int = Field(
        1,
        description="verify: steps either side (HOTP: ahead), 0 to 10.",
        json_schema_extra={"minimum": 0, "maximum": MAX_WINDOW},
    )
    issuer: str = Field("", description="uri only.")
    account: str = Field("", description="uri only.")


class TotpOutput(ToolOutput):
    code: str | None = None
    counter: int | None = Field(None, description="Counter or time step used or matched.")
    remaining_seconds: int | None = None
    valid: bool | None = None
    offset: int | None = Field(None, description="Matched step minus the current one.")
    uri: str | None = None


def hotp(key: bytes, counter: int, digits: int, algorithm: str) -> str:
    """RFC 4226 §5.3: HMAC of the 8-byte counter, dynamic truncation, modulo 10^digits."""
    mac = hmac.digest(key, counter.to_bytes(8, "big"), algorithm)
    start = mac[-1] & 0x0F
    binary = int.from_bytes(mac[start : start + 4], "big") & 0x7FFFFFFF
    return f"{binary % 10**digits:0{digits}d}"


def _secret(text: str) -> bytes:
    cleaned = "".join(text.split())
    # Only ASCII is upper-cased: str.upper() maps ſ to S and ı to I, which would pass as base32.
    cleaned = cleaned.upper() if cleaned.isascii() else cleaned
    if not _BASE32.fullmatch(cleaned):
        raise ValidationError(_ERROR, "secret must be base32 (letters A-Z and digits 2-7)")
    cleaned = cleaned.rstrip("=")
    try:
        key = base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
    except binascii.Error:
        raise ValidationError(_ERROR, "secret is not valid base32") from None
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise ValidationError(
            _ERROR,
            f"secret must decode to {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes, not {len(key)}",
        )
    return key


def _check(inp: TotpInput) -> None:
    if not 6 <= inp.digits <= 8:
        raise ValidationError(_ERROR, "digits must be 6, 7 or 8")
    if not 1 <= inp.period <= 3600:
        raise ValidationError(_ERROR, "period must be 1 to 3600 seconds")
    if not 0 <= inp.window <= MAX_WINDOW:
        raise ValidationError(_ERROR, f"window must be 0 to {MAX_WINDOW}")
    if inp.counter is not None and not 0 <= inp.counter <= MAX_COUNTER:
        raise ValidationError(_ERROR, "counter must be 0 to 2^64-1")
    if inp.counter is not None and inp.time is not None:
        raise ValidationError(_ERROR, "give a counter (HOTP) or a time (TOTP), not both")
    if inp.time is not None and not 0 <= inp.time <= MAX_TIME:
        raise ValidationError(_ERROR, "time must be Unix seconds from 0 to 253402300799")
    allowed = {
        "generate": {"counter", "time"},
        "verify": {"counter", "time", "code", "window"},
        "uri": {"counter", "issuer", "account"},
    }[inp.action]
    stray = sorted(
        ({"code", "window", "issuer", "account", "counter", "time"} & inp.changed_fields())
        - allowed
    )
    if stray:
        names = ", ".join(wire_name(name) for name in stray)
        raise ValidationError(_ERROR, f"{names} does not apply to action {inp.action}")
    for name in ("issuer", "account"):
        value = getattr(inp, name)
        if len(value) > MAX_LABEL:
            raise ValidationError(_ERROR, f"{name} exceeds maximum length of {MAX_LABEL}")
        if ":" in value:
            # The Key URI format's label is issuer:account; neither may hold a colon.
            raise ValidationError(_ERROR, f"{name} cannot contain ':'")


def _uri(inp: TotpInput, key: bytes) -> str:
    kind = "totp" if inp.counter is None else "hotp"
    account = inp.account
    label = f"{inp.issuer}:{account}" if inp.issuer else account
    params = {"secret": base64.b32encode(key).decode("ascii").rstrip("=")}
    if inp.issuer:
        params["issuer"] = inp.issuer
    params |= {"algorithm": inp.algorithm.upper(), "digits": str(inp.digits)}
    if inp.counter is None:
        params["period"] = str(inp.period)
    else:
        params["counter"] = str(inp.counter)
    return f"otpauth://{kind}/{quote(label, safe=':@')}?{urlencode(params, quote_via=quote)}"


def _verify(inp: TotpInput, key: bytes, current: int) -> TotpOutput:
    if not inp.code:
        raise ValidationError(_ERROR, 'verify needs "code"')
    code = "".join(inp.code.split())
    if not _DIGITS.fullmatch(code) or len(code) > 16:
        raise ValidationError(_ERROR, "code must be digits")
    if inp.counter is None:
        steps = range(max(0, current - inp.window), current + inp.window + 1)
    else:
        steps = range(current, min(current + inp.window, MAX_COUNTER) + 1)
    matched: int | None = None
    given = code.encode("ascii")
    # Every candidate is computed and compared (compare_digest), so the time taken does not tell
    # which step matched or how many characters agreed.
    for step in steps:
        if hmac.compare_digest(hotp(key, step, inp.digits, inp.algorithm).encode(), given):
            matched = step if matched is None else matched
    return TotpOutput(
        valid=matched is not None,
        counter=matched,
        offset=None if matched is None else matched - current,
    )


@tool(
    "/api/v1/crypto/totp",
    raw=("uri", "valid", "code"),
    title="TOTP / HOTP one-time codes",
    description=(
        "Generate or verify RFC 6238 TOTP (or RFC 4226 HOTP with a counter) codes from a base32 "
        "secret, or build the otpauth:// URI."
    ),
    rate_class="crypto",
    bind_error_message="Invalid request format",
    examples=(
        Example({"secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "time": 59, "digits": 8}),
        Example(
            {
                "action": "verify",
                "secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
                "counter": 0,
                "code": "755224",
            },
            title="HOTP",
        ),
        Example(
            {
                "action": "uri",
                "secret": "JBSWY3DPEHPK3PXP",
                "issuer": "Example",
                "account": "alice@example.com",
            }
        ),
    ),
)
def crypto_totp(inp: TotpInput, ctx: ToolContext) -> TotpOutput:
    _check(inp)
    key = _secret(inp.secret)
    if inp.action == "uri":
        return TotpOutput(uri=_uri(inp, key))
    if inp.counter is not None:
        current = inp.counter
        remaining = None
    else:
        now = unix_seconds(ctx.clock()) if inp.time is None else inp.time
        current, elapsed = divmod(now, inp.period)
        remaining = inp.period - elapsed
    if inp.action == "verify":
        return _verify(inp, key, current)
    code = hotp(key, current, inp.digits, inp.algorithm)
    return TotpOutput(code=code, counter=current, remaining_seconds=remaining)
