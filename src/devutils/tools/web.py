"""web/url: parse a URL into parts or build one from parts, with Go ``net/url`` rules."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from devutils.errors import ValidationError
from devutils.models import ToolInput, ToolOutput, omit_none
from devutils.registry import Example, ToolContext, tool
from devutils.tools import _gourl
from devutils.tools._casing import go_trim_space
from devutils.tools._gotext import strconv_quote


class UrlInput(ToolInput):
    action: Literal["parse", "build"] = Field(description="parse a url, or build one from parts.")
    url: str = Field("", description="parse: the URL text.")
    scheme: str = Field("", description="build: scheme, e.g. https (required).")
    host: str = Field(
        "", description="build: host name or [IPv6], optionally with :port (required)."
    )
    port: int | None = Field(None, ge=1, le=65535, description="build: port appended to host.")
    path: str = Field("", description="build: path (escaped for you).")
    query: dict[str, str] = Field(
        default_factory=dict, description="build: query parameters (keys are sorted)."
    )
    fragment: str = Field("", description="build: fragment, without '#'.")


class UrlOutput(ToolOutput):
    """parse fills the parts (plus the additive fields); build fills only ``url``."""

    url: str | None = Field(None, exclude_if=omit_none, description="build: the URL.")
    scheme: str | None = Field(None, exclude_if=omit_none, description="Lower-cased scheme.")
    host: str | None = Field(
        None, exclude_if=omit_none, description="host[:port] as written, never the userinfo."
    )
    path: str | None = Field(None, exclude_if=omit_none, description="Percent-decoded path.")
    query: dict[str, str] | None = Field(
        None, exclude_if=omit_none, description="First value of each query key."
    )
    fragment: str | None = Field(None, exclude_if=omit_none, description="Decoded fragment.")
    query_all: dict[str, list[str]] | None = Field(
        None, exclude_if=omit_none, description="Every value of each query key."
    )
    hostname: str | None = Field(
        None, exclude_if=omit_none, description="Host without port or IPv6 brackets."
    )
    port: int | None = Field(
        None, exclude_if=omit_none, description="Explicit port, when given and 0-65535."
    )
    username: str | None = Field(
        None, exclude_if=omit_none, description="Decoded user name, when the URL has userinfo."
    )
    has_password: bool | None = Field(
        None, exclude_if=omit_none, description="Whether userinfo has a password (never shown)."
    )


def _parse_failed(details: str) -> ValidationError:
    return ValidationError("URL parsing failed", details)


def _parse(raw: str) -> UrlOutput:
    if not raw:
        raise ValidationError("URL is required for parse operation")
    if not go_trim_space(raw):
        raise _parse_failed("empty URL")
    try:
        url = _gourl.parse(raw)
    except _gourl.URLError as exc:
        raise _parse_failed(f"failed to parse URL: {exc}") from None
    if not url.scheme and not url.host and "://" not in raw:
        raise _parse_failed("invalid URL format")
    port_text = url.port
    port = int(port_text) if port_text and len(port_text) <= 5 and int(port_text) <= 65535 else None
    return UrlOutput(
        scheme=url.scheme,
        host=url.host,
        path=url.path,
        query={key: values[0] for key, values in sorted(url.query.items())},
        fragment=url.fragment,
        query_all=dict(sorted(url.query.items())),
        hostname=url.hostname,
        port=port,
        username=url.username,
        has_password=url.password is not None,
    )


def _host_with_port(host: str, port: int | None) -> str:
    if not host.startswith("[") and host.count(":") > 1:
        # An IPv6 address, which a URL writes in brackets (RFC 3986 §3.2.2): bare, its last
        # group would read as a port.  ``check_host`` then refuses one that is no address.
        host = f"[{host}]"
    if port is None:
        return host
    if host.startswith("["):
        if not host.endswith("]"):
            raise ValidationError("Invalid request", "host already has a port; omit 'port'")
        return f"{host}:{port}"
    if ":" in host:
        raise ValidationError("Invalid request", "host already has a port; omit 'port'")
    return f"{host}:{port}"


def _build(inp: UrlInput) -> UrlOutput:
    if not inp.scheme or not inp.host:
        raise ValidationError("Scheme and host are required for build operation")
    host = _host_with_port(inp.host, inp.port)
    try:
        _gourl.check_host(host)
    except _gourl.URLError as exc:
        raise ValidationError(
            "Invalid request", f"host {strconv_quote(inp.host.encode())}: {exc}"
        ) from None
    return UrlOutput(url=_gourl.build(inp.scheme, host, inp.path, inp.query, inp.fragment))


@tool(
    "/api/v1/web/url",
    raw="url",
    blocking="large",  # up to ~1 s of CPU for a 1 MiB body: off the event loop
    title="Parse or build a URL",
    description="parse: split a URL into scheme, host, port, path, query and fragment (Go net/url "
    "rules; passwords never echoed). build: assemble and escape a URL from parts.",
    examples=(
        Example({"action": "parse", "url": "https://example.com:8443/a%20b?q=1&q=2#top"}),
        Example(
            {
                "action": "build",
                "scheme": "https",
                "host": "example.com",
                "path": "/search",
                "query": {"q": "hello world"},
            }
        ),
    ),
)
def web_url(inp: UrlInput, ctx: ToolContext) -> UrlOutput:
    return _parse(inp.url) if inp.action == "parse" else _build(inp)
