"""The one error tree shared by every front end.

Each class carries its stable wire ``code`` (API-DELTAS D1), the HTTP status REST answers with and
the exit code the CLI uses.  REST renders ``{"success": false, "error": {...}}``, MCP returns
``isError: true`` with ``"<code>: <message>"``, the CLI prints the envelope to stderr.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar


class ToolError(Exception):
    """Base of every error a client may see.  Never carries internal detail such as a traceback."""

    code: ClassVar[str] = "INTERNAL_ERROR"
    status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 70  # EX_SOFTWARE
    default_message: ClassVar[str] = "Internal server error"

    def __init__(
        self,
        message: str | None = None,
        details: Any = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.details = details
        # Extra response headers (Retry-After, WWW-Authenticate, Allow, ...).
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details not in (None, "", [], {}):
            body["details"] = self.details
        return body

    def envelope(self) -> dict[str, Any]:
        return {"success": False, "error": self.to_dict()}

    def mcp_text(self) -> str:
        text = f"{self.code}: {self.message}"
        if isinstance(self.details, str) and self.details:
            text += f" ({self.details})"
        return text


class ValidationError(ToolError):
    code = "VALIDATION_ERROR"
    status = 400
    exit_code = 65  # EX_DATAERR
    default_message = "Invalid request"


class AuthenticationError(ToolError):
    code = "AUTHENTICATION_ERROR"
    status = 401
    exit_code = 77  # EX_NOPERM
    default_message = "Authentication required"


class SSRFBlockedError(ToolError):
    code = "SSRF_BLOCKED"
    status = 403
    exit_code = 77
    default_message = "Destination not allowed by the network policy"


class ForbiddenError(ToolError):
    code = "FORBIDDEN"
    status = 403
    exit_code = 77
    default_message = "Forbidden"


class NotFoundError(ToolError):
    code = "NOT_FOUND"
    status = 404
    exit_code = 66  # EX_NOINPUT
    default_message = "Endpoint not found"


class MethodNotAllowedError(ToolError):
    code = "METHOD_NOT_ALLOWED"
    status = 405
    exit_code = 64
    default_message = "Method not allowed"


class RequestTooLargeError(ToolError):
    code = "REQUEST_TOO_LARGE"
    status = 413
    exit_code = 65
    default_message = "Request too large"


class UriTooLongError(ToolError):
    code = "URI_TOO_LONG"
    status = 414
    exit_code = 65
    default_message = "Request target too long"


class RequestHeaderTooLargeError(ToolError):
    code = "REQUEST_HEADER_TOO_LARGE"
    status = 431
    exit_code = 65
    default_message = "Request header fields too large"


class RequestTimeoutError(ToolError):
    code = "REQUEST_TIMEOUT"
    status = 408
    exit_code = 75
    default_message = "Request not received in time"


class UnsupportedMediaTypeError(ToolError):
    code = "UNSUPPORTED_MEDIA_TYPE"
    status = 415
    exit_code = 65
    default_message = "Unsupported media type"


class RateLimitError(ToolError):
    code = "RATE_LIMIT_ERROR"
    status = 429
    exit_code = 75  # EX_TEMPFAIL
    default_message = "Rate limit exceeded"

    # Set by the limiter that refused: seconds until the refused bucket holds ``n`` tokens.
    wait_for: Callable[[int], float] | None = None

    def retry_needing(self, tokens: int) -> None:
        """Make Retry-After say when ``tokens`` calls in a row will pass, not one: the promise a
        caller whose retry needs that many (a pipeline repeats every admission) must make."""
        if self.wait_for is not None and "Retry-After" in self.headers:
            self.headers["Retry-After"] = self.retry_after(self.wait_for(tokens))

    @staticmethod
    def retry_after(seconds: float) -> str:
        """Retry-After in whole seconds: rounded up (earlier would be refused), at least 1."""
        return str(max(1, math.ceil(seconds)))


class InternalError(ToolError):
    pass


class UpstreamError(ToolError):
    code = "UPSTREAM_ERROR"
    status = 502
    exit_code = 69  # EX_UNAVAILABLE
    default_message = "Upstream request failed"


class UnimplementedError(ToolError):
    """501: the server does not implement what the request needs (RFC 9110 §15.6.2): an unknown
    request method, a transfer coding other than chunked.  Named so as not to shadow Python's
    ``NotImplementedError``."""

    code = "NOT_IMPLEMENTED"
    status = 501
    exit_code = 64
    default_message = "Not implemented"


class HttpVersionNotSupportedError(ToolError):
    """505: a major HTTP version other than 1 on an HTTP/1 request line (RFC 9110 §15.6.6)."""

    code = "HTTP_VERSION_NOT_SUPPORTED"
    status = 505
    exit_code = 64
    default_message = "HTTP version not supported"


class ServiceUnavailableError(ToolError):
    code = "SERVICE_UNAVAILABLE"
    status = 503
    exit_code = 75
    default_message = "Service temporarily unavailable"


class ToolTimeoutError(ToolError):
    code = "TIMEOUT"
    status = 504
    exit_code = 75
    default_message = "Operation timed out"


ALL_ERRORS: tuple[type[ToolError], ...] = (
    ValidationError,
    AuthenticationError,
    SSRFBlockedError,
    ForbiddenError,
    NotFoundError,
    MethodNotAllowedError,
    RequestTooLargeError,
    UriTooLongError,
    RequestHeaderTooLargeError,
    RequestTimeoutError,
    UnsupportedMediaTypeError,
    RateLimitError,
    InternalError,
    UnimplementedError,
    UpstreamError,
    ServiceUnavailableError,
    ToolTimeoutError,
    HttpVersionNotSupportedError,
)
