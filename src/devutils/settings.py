"""Typed settings, read once at start-up from the environment and mounted secret files.

Every field's alias is its environment variable; ``docs/configuration.md`` documents each one (a
test fails when one is missing).  An invalid value raises :class:`SettingsError` naming the
variable, and start-up stops.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from devutils.http.host_patterns import parse_host_pattern, parse_origin_pattern

KIB = 1024
MIB = 1024 * 1024


def _split_list(value: Any) -> Any:
    """Comma-separated text → tuple of trimmed, non-empty items (like the reference)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return value


_KEY_SEPARATORS = re.compile(r"[,\r\n]")


def _split_keys(value: Any) -> Any:
    """Keys separated by commas or line breaks (a secret file often has one key per line)."""
    if isinstance(value, str):
        return tuple(item.strip() for item in _KEY_SEPARATORS.split(value) if item.strip())
    return _split_list(value)


def _blank_is_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


_ZONE = re.compile(r"[a-z0-9_](?:[a-z0-9_.-]{0,251}[a-z0-9_])?")

CommaList = Annotated[tuple[str, ...], BeforeValidator(_split_list)]
KeyList = Annotated[tuple[str, ...], BeforeValidator(_split_keys)]
OptionalText = Annotated[str | None, BeforeValidator(_blank_is_none)]


class SettingsError(ValueError):
    """Invalid configuration: the message names the variable."""


def parse_nameserver(text: str) -> tuple[str, int]:
    """``ip``, ``ip:port``, ``[v6]`` or ``[v6]:port`` → (ip, port).

    Here rather than in :mod:`devutils.netpolicy.resolve`, which uses it per request, so that
    DNS_RESOLVERS is checked at start-up by the very parser the resolver uses.
    """
    text = text.strip()
    port = 53
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            port = int(rest.removeprefix(":"))
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        port = int(port_text)
    else:
        host = text
    ipaddress.ip_address(host)
    if not 1 <= port <= 65535:
        raise ValueError(f"bad DNS port in {text!r}")
    return host, port


# The messages below never quote the value: a Redis URL holds a password, and whatever part of a
# value a parser quotes would end up in the start-up log.
_REDIS_URL_FORM = (
    "not a Redis URL: expected redis://[:password@]host:port/db, rediss://... or "
    "unix:///path, db a number (value not shown); percent-encode '/', '#', '?' and '@' in "
    "the password (%2F, %23, %3F, %40)"
)


def check_redis_url(url: str) -> None:
    """Raise ValueError (without the URL) unless redis-py can build a connection from ``url``.

    The store's client reads the URL with the same ``from_url``; doing it here moves the failure
    from inside every worker's application start (a traceback, a crash loop) to start-up.
    """
    from redis.asyncio import ConnectionPool

    try:
        pool = ConnectionPool.from_url(url)
        # Query parameters redis-py does not know fail only when a connection is made.
        pool.make_connection()  # type: ignore[no-untyped-call]
    except (ValueError, TypeError):
        raise ValueError(_REDIS_URL_FORM) from None
    options = pool.connection_kwargs
    # redis-py falls back to localhost without a host: a password with '/' cut short by the
    # URL parser (redis://:123/rest@host) must not become a silent connection to localhost.
    if not options.get("host") and not options.get("path"):
        raise ValueError(_REDIS_URL_FORM)
    # And to database 0 when the path is no number (redis://host:6379/limits).
    try:
        parts = urlsplit(url)
    except ValueError:
        raise ValueError(_REDIS_URL_FORM) from None
    database = parts.path.removeprefix("/")
    if parts.scheme in ("redis", "rediss") and database and not database.isdigit():
        raise ValueError(_REDIS_URL_FORM)


def check_otlp_endpoint(value: str) -> None:
    """``http[s]://host[:port][/path]``, or a bare ``host:port`` (https, as in the reference)."""
    bare = "://" not in value
    try:
        parts = urlsplit(f"https://{value}" if bare else value)
        port = parts.port
    except ValueError:
        port, parts = None, None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or (bare and port is None)
    ):
        raise ValueError(
            "not an OTLP/HTTP endpoint: expected http[s]://host[:port][/path] or host:port "
            "(value not shown)"
        )


def _check_entries(
    value: tuple[str, ...], parse: Callable[[str], object], expected: str
) -> tuple[str, ...]:
    """Parse every list entry; a bad one is named by its position, not its text."""
    for index, item in enumerate(value, 1):
        try:
            parse(item)
        except ValueError:
            raise ValueError(
                f"entry {index} of {len(value)} is not {expected} (value not shown)"
            ) from None
    return value


class Settings(BaseModel):
    """All configuration.  Field aliases are the environment variable names."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    # --- server -----------------------------------------------------------------------------
    server_host: str = Field("0.0.0.0", alias="SERVER_HOST", description="Address to bind.")  # noqa: S104
    server_port: int = Field(8080, alias="SERVER_PORT", ge=1, le=65535, description="TCP port.")
    server_tls_enabled: bool = Field(
        False,
        alias="SERVER_TLS_ENABLED",
        description="Accepted for compatibility; TLS terminates at the ingress (a warning is logged).",
    )
    shutdown_timeout: float = Field(
        30.0,
        alias="SHUTDOWN_TIMEOUT",
        gt=0,
        le=600,
        description="Seconds to finish in-flight requests after SIGTERM.",
    )
    shutdown_drain_delay: float = Field(
        0.0,
        alias="SHUTDOWN_DRAIN_DELAY",
        ge=0,
        le=60,
        description="Seconds to keep serving (reporting not-ready) after SIGTERM before closing the "
        "listener, so load balancers notice first.",
    )
    server_workers: int | None = Field(
        None,
        alias="SERVER_WORKERS",
        ge=1,
        le=256,
        description="Worker processes for `devutils serve` (also read from WEB_CONCURRENCY); "
        "default: the CPUs the container may use (cgroup quota, CPU affinity).",
    )
    server_max_connections: int = Field(
        1000,
        alias="SERVER_MAX_CONNECTIONS",
        ge=1,
        le=100_000,
        description="Concurrent connections per worker; one more is answered 503 and closed. Keep "
        "it below the file-descriptor limit.",
    )
    server_max_header_bytes: int = Field(
        64 * KIB,
        alias="SERVER_MAX_HEADER_BYTES",
        ge=1 * KIB,
        le=1 * MIB,
        description="Request line plus header block size limit (431).",
    )
    server_max_header_count: int = Field(
        100,
        alias="SERVER_MAX_HEADER_COUNT",
        ge=1,
        le=10_000,
        description="Header count limit (431).",
    )
    server_max_url_bytes: int = Field(
        8 * KIB,
        alias="SERVER_MAX_URL_BYTES",
        ge=256,
        le=1 * MIB,
        description="Request-target length limit (414).",
    )
    server_header_timeout: float = Field(
        10.0,
        alias="SERVER_HEADER_TIMEOUT",
        gt=0,
        le=600,
        description="Seconds from connection open, or from a request's first byte, to the end of "
        "its headers; then the connection is closed (408 if part of a request arrived).",
    )
    server_body_timeout: float = Field(
        30.0,
        alias="SERVER_BODY_TIMEOUT",
        gt=0,
        le=3600,
        description="Seconds from the end of a request's headers to the end of its body; a body "
        "that trickles or stalls past it gets 408 and the connection is closed.",
    )
    server_send_timeout: float = Field(
        30.0,
        alias="SERVER_SEND_TIMEOUT",
        gt=0,
        le=3600,
        description="Seconds the server waits for a client to take response bytes; a client that "
        "takes none for that long (while a response is sent, or after the server closed the "
        "connection) has its connection aborted and the unsent bytes dropped.",
    )
    server_keepalive_timeout: float = Field(
        5.0,
        alias="SERVER_KEEPALIVE_TIMEOUT",
        gt=0,
        le=600,
        description="Seconds an idle keep-alive connection stays open between requests.",
    )
    metrics_multiproc_dir: OptionalText = Field(
        None,
        alias="METRICS_MULTIPROC_DIR",
        description="Directory where workers pool their metrics (more than one worker); emptied at "
        "start.  Default: a temporary directory under /tmp, removed at exit.",
    )
    max_body_bytes: int = Field(
        MIB,
        alias="MAX_BODY_BYTES",
        ge=1 * KIB,
        le=64 * MIB,
        description="Request body limit (413).",
    )
    max_json_depth: int = Field(
        256, alias="MAX_JSON_DEPTH", ge=8, le=1000, description="JSON nesting limit (400)."
    )
    max_output_bytes: int = Field(
        8 * MIB,
        alias="MAX_OUTPUT_BYTES",
        ge=1 * KIB,
        le=64 * MIB,
        description="Largest tool output (its JSON data), checked while it is produced (413).",
    )
    tool_timeout: float = Field(
        10.0,
        alias="TOOL_TIMEOUT",
        gt=0,
        le=300,
        description="Deadline for one tool call, queueing included (504; the work is stopped).",
    )
    inline_max_work: int = Field(
        8 * KIB,
        alias="INLINE_MAX_WORK",
        ge=0,
        le=MIB,
        description="Largest work estimate (about bytes touched) a cpu or regex tool may run on "
        "the event loop; larger calls go to a worker process.",
    )
    pool_cpu_workers: int | None = Field(
        None,
        alias="POOL_CPU_WORKERS",
        ge=1,
        le=64,
        description="Processes of the cpu pool, per server worker; default: the CPUs the container "
        "may use divided among the server workers, at least 1.",
    )
    pool_regex_workers: int | None = Field(
        None,
        alias="POOL_REGEX_WORKERS",
        ge=1,
        le=64,
        description="Processes of the regex pool, per server worker; default as POOL_CPU_WORKERS.",
    )
    pool_queue_size: int = Field(
        16,
        alias="POOL_QUEUE_SIZE",
        ge=0,
        le=1000,
        description="Calls that may wait for a busy pool (or network executor) before 503.",
    )
    pool_memory_limit_mb: int = Field(
        128,
        alias="POOL_MEMORY_LIMIT_MB",
        ge=16,
        le=4096,
        description="Address space one pool process may add to its start-up size (MiB; 413 past).",
    )
    pool_idle_timeout: float = Field(
        60.0,
        alias="POOL_IDLE_TIMEOUT",
        ge=0,
        le=3600,
        description="Seconds an idle pool process lives before it exits (0 = never).",
    )
    network_workers: int = Field(
        8, alias="NETWORK_WORKERS", ge=1, le=256, description="Threads for network tools."
    )
    regex_max_matches: int = Field(
        10_000, alias="REGEX_MAX_MATCHES", ge=1, le=1_000_000, description="Matches reported."
    )
    pipeline_network_tools: bool = Field(
        False,
        alias="PIPELINE_NETWORK_TOOLS",
        description="Allow network tools (DNS, HTTP headers, TLS) as pipeline steps.",
    )
    time_default_timezone: str = Field(
        "UTC",
        alias="TIME_DEFAULT_TIMEZONE",
        max_length=64,
        description="Zone the time tools use when a request names none (IANA name or offset).",
    )
    regex_max_groups: int = Field(
        100,
        alias="REGEX_MAX_GROUPS",
        ge=1,
        le=1000,
        description="Capture groups a regex pattern may have (400 beyond).",
    )

    # --- authentication ---------------------------------------------------------------------
    auth_method: Literal["none", "api_key", "jwt"] = Field(
        "none", alias="AUTH_METHOD", description="none | api_key | jwt."
    )
    auth_api_keys: KeyList = Field(
        (), alias="AUTH_API_KEYS", description="Keys separated by commas or newlines."
    )
    auth_jwt_secret: OptionalText = Field(None, alias="AUTH_JWT_SECRET", description="HMAC secret.")
    auth_jwt_issuer: OptionalText = Field(
        None, alias="AUTH_JWT_ISSUER", description="Required iss."
    )
    auth_jwt_audience: OptionalText = Field(
        None, alias="AUTH_JWT_AUDIENCE", description="Required aud."
    )
    auth_jwt_algorithms: CommaList = Field(
        ("HS256", "HS384", "HS512"), alias="AUTH_JWT_ALGORITHMS", description="Accepted JWT algs."
    )
    auth_jwt_public_key_file: OptionalText = Field(
        None,
        alias="AUTH_JWT_PUBLIC_KEY_FILE",
        description="PEM public key for RS*/ES*/EdDSA tokens.",
    )
    auth_jwt_jwks_file: OptionalText = Field(
        None, alias="AUTH_JWT_JWKS_FILE", description="JWKS file for RS*/ES* tokens (by kid)."
    )
    auth_jwt_leeway: float = Field(
        30.0,
        alias="AUTH_JWT_LEEWAY",
        ge=0,
        le=600,
        description="Clock skew allowed for exp/nbf (s).",
    )
    metrics_require_auth: bool = Field(
        False, alias="METRICS_REQUIRE_AUTH", description="Protect /metrics with the same auth."
    )

    # --- rate limiting ----------------------------------------------------------------------
    rate_limit_enabled: bool = Field(True, alias="RATE_LIMIT_ENABLED", description="On/off.")
    rate_limit_store: Literal["memory", "redis"] = Field(
        "memory", alias="RATE_LIMIT_STORE", description="memory | redis."
    )
    rate_limit_redis_url: OptionalText = Field(
        None, alias="RATE_LIMIT_REDIS_URL", description="redis://[:password@]host:port/db."
    )
    rate_limit_fail_mode: Literal["local", "deny"] = Field(
        "local",
        alias="RATE_LIMIT_FAIL_MODE",
        description="When Redis fails: local (fall back to per-replica limits) or deny (503).",
    )
    rate_limit_redis_timeout: float = Field(
        0.05, alias="RATE_LIMIT_REDIS_TIMEOUT", gt=0, le=5, description="Redis socket timeout (s)."
    )
    rate_limit_anonymous_per_minute: int = Field(
        60,
        alias="RATE_LIMIT_ANONYMOUS_PER_MINUTE",
        ge=1,
        description="Anonymous callers: sustained rate.",
    )
    rate_limit_anonymous_burst: int = Field(
        10, alias="RATE_LIMIT_ANONYMOUS_BURST", ge=1, description="Anonymous callers: burst."
    )
    rate_limit_authenticated_per_minute: int = Field(
        300,
        alias="RATE_LIMIT_AUTHENTICATED_PER_MINUTE",
        ge=1,
        description="Authenticated callers: rate.",
    )
    rate_limit_authenticated_burst: int = Field(
        50,
        alias="RATE_LIMIT_AUTHENTICATED_BURST",
        ge=1,
        description="Authenticated callers: burst.",
    )
    rate_limit_crypto_per_minute: int = Field(
        30, alias="RATE_LIMIT_CRYPTO_PER_MINUTE", ge=1, description="crypto tools: sustained rate."
    )
    rate_limit_crypto_burst: int = Field(
        5, alias="RATE_LIMIT_CRYPTO_BURST", ge=1, description="crypto tools: burst."
    )
    rate_limit_network_per_minute: int = Field(
        30,
        alias="RATE_LIMIT_NETWORK_PER_MINUTE",
        ge=1,
        description="network tools: sustained rate.",
    )
    rate_limit_network_burst: int = Field(
        5, alias="RATE_LIMIT_NETWORK_BURST", ge=1, description="network tools: burst."
    )
    rate_limit_mcp_per_minute: int = Field(
        600,
        alias="RATE_LIMIT_MCP_PER_MINUTE",
        ge=1,
        description="MCP protocol calls other than tools/call (initialize, tools/list, ping ...).",
    )
    rate_limit_mcp_burst: int = Field(
        60, alias="RATE_LIMIT_MCP_BURST", ge=1, description="MCP protocol calls: burst."
    )
    rate_limit_auth_failures_per_minute: int = Field(
        10,
        alias="RATE_LIMIT_AUTH_FAILURES_PER_MINUTE",
        ge=1,
        description="Failed authentications per client address: sustained rate (then 429).",
    )
    rate_limit_auth_failures_burst: int = Field(
        10,
        alias="RATE_LIMIT_AUTH_FAILURES_BURST",
        ge=1,
        description="Failed authentications per client address: burst.",
    )
    rate_limit_ipv6_prefix: int = Field(
        64,
        alias="RATE_LIMIT_IPV6_PREFIX",
        ge=16,
        le=128,
        description="IPv6 clients share a bucket per network of this prefix length (IPv4: /32).",
    )
    rate_limit_memory_max_keys: int = Field(
        100_000, alias="RATE_LIMIT_MEMORY_MAX_KEYS", ge=100, description="Memory store bound."
    )
    trusted_proxies: CommaList = Field(
        (), alias="TRUSTED_PROXIES", description="CIDRs whose X-Forwarded-For is believed."
    )

    # --- logging, metrics, tracing -----------------------------------------------------------
    log_level: Literal["debug", "info", "warn", "warning", "error"] = Field(
        "info", alias="LOG_LEVEL", description="debug | info | warn | error."
    )
    metrics_enabled: bool = Field(True, alias="METRICS_ENABLED", description="Serve /metrics.")
    geo_country_header: OptionalText = Field(
        None,
        alias="GEO_COUNTRY_HEADER",
        description="Request header carrying the client country (set by the load balancer).",
    )
    tracing_enabled: bool = Field(
        False, alias="TRACING_ENABLED", description="OpenTelemetry on/off."
    )
    tracing_service_name: str = Field(
        "dev-utilities",
        alias="TRACING_SERVICE_NAME",
        description="service.name resource attribute.",
    )
    tracing_environment: str = Field(
        "development", alias="TRACING_ENVIRONMENT", description="deployment.environment attribute."
    )
    tracing_exporter: Literal["otlp", "console", "none", "noop"] = Field(
        "otlp", alias="TRACING_EXPORTER", description="otlp | console | none."
    )
    tracing_otlp_endpoint: OptionalText = Field(
        None, alias="TRACING_OTLP_ENDPOINT", description="OTLP/HTTP endpoint (http[s]://host:port)."
    )
    tracing_otlp_headers: OptionalText = Field(
        None, alias="TRACING_OTLP_HEADERS", description="k=v,k2=v2 sent to the collector."
    )
    tracing_sample_rate: float = Field(
        1.0, alias="TRACING_SAMPLE_RATE", ge=0, le=1, description="Parent-based ratio 0..1."
    )

    # --- CORS ---------------------------------------------------------------------------------
    cors_allow_origins: CommaList = Field(
        (), alias="CORS_ALLOW_ORIGINS", description="Allowed browser origins; empty = CORS off."
    )

    # --- Argon2 -------------------------------------------------------------------------------
    argon_memory: int = Field(65536, alias="ARGON_MEMORY", ge=1024, le=4 * MIB, description="KiB.")
    argon_iterations: int = Field(
        3, alias="ARGON_ITERATIONS", ge=1, le=100, description="Passes (t)."
    )
    argon_parallelism: int = Field(
        4, alias="ARGON_PARALLELISM", ge=1, le=64, description="Lanes (p)."
    )
    argon_salt_length: int = Field(
        16, alias="ARGON_SALT_LENGTH", ge=8, le=64, description="Salt bytes."
    )
    argon_key_length: int = Field(
        32, alias="ARGON_KEY_LENGTH", ge=16, le=128, description="Hash bytes."
    )
    argon_memory_budget_mib: int = Field(
        256,
        alias="ARGON_MEMORY_BUDGET_MIB",
        ge=16,
        description="Memory all concurrent Argon2 runs may use; sets the default concurrency.",
    )
    argon_max_concurrency: int | None = Field(
        None,
        alias="ARGON_MAX_CONCURRENCY",
        ge=1,
        le=256,
        description="Hashes in flight; default min(CPU count, budget / ARGON_MEMORY).",
    )
    argon_queue_size: int = Field(
        8, alias="ARGON_QUEUE_SIZE", ge=0, le=1000, description="Requests that may wait for a slot."
    )
    argon_queue_timeout: float = Field(
        2.0, alias="ARGON_QUEUE_TIMEOUT", ge=0, le=60, description="Longest wait for a slot (s)."
    )
    argon_max_password_bytes: int = Field(
        4096, alias="ARGON_MAX_PASSWORD_BYTES", ge=64, le=MIB, description="Longest password."
    )
    argon_verify_max_memory: int | None = Field(
        None,
        alias="ARGON_VERIFY_MAX_MEMORY",
        ge=1024,
        description="Largest m (KiB) a verified hash may ask for; default max(ARGON_MEMORY, 65536).",
    )
    argon_verify_max_iterations: int = Field(
        10,
        alias="ARGON_VERIFY_MAX_ITERATIONS",
        ge=1,
        description="Largest t a verified hash may ask for.",
    )
    argon_verify_max_parallelism: int = Field(
        16,
        alias="ARGON_VERIFY_MAX_PARALLELISM",
        ge=1,
        description="Largest p a verified hash may ask for.",
    )
    argon_verify_max_key_length: int = Field(
        128,
        alias="ARGON_VERIFY_MAX_KEY_LENGTH",
        ge=16,
        description="Longest hash a verified hash may have.",
    )

    # --- outbound network (SSRF policy) ---------------------------------------------------------
    ssrf_allow_cidrs: CommaList = Field(
        (), alias="SSRF_ALLOW_CIDRS", description="CIDRs exempt from the deny table."
    )
    ssrf_allow_hosts: CommaList = Field(
        (), alias="SSRF_ALLOW_HOSTS", description="Host names exempt from the deny table."
    )
    ssrf_allow_ports: CommaList = Field(
        ("80", "443", "8080", "8443"),
        alias="SSRF_ALLOW_PORTS",
        description="Ports and ranges outbound requests may use, e.g. 80,443,8000-9000.",
    )
    network_timeout: float = Field(
        5.0, alias="NETWORK_TIMEOUT", gt=0, le=60, description="Total deadline of a header fetch."
    )
    network_max_header_bytes: int = Field(
        64 * KIB, alias="NETWORK_MAX_HEADER_BYTES", ge=KIB, le=MIB, description="Header block cap."
    )
    dns_resolvers: CommaList = Field(
        (), alias="DNS_RESOLVERS", description="Resolver IPs (ip or ip:port); empty = system's."
    )
    dns_timeout: float = Field(5.0, alias="DNS_TIMEOUT", gt=0, le=60, description="DNS deadline.")
    dns_max_records: int = Field(
        256, alias="DNS_MAX_RECORDS", ge=1, le=10000, description="Answer size cap (records)."
    )
    dns_private_zones: CommaList = Field(
        (),
        alias="DNS_PRIVATE_ZONES",
        description="Extra zones the dns tool treats as internal (with .internal, .local ...).",
    )
    dns_allowed_zones: CommaList = Field(
        (),
        alias="DNS_ALLOWED_ZONES",
        description="Zones the dns tool may look up and return even when internal.",
    )

    # --- front doors: Host/Origin allow-lists, disabled tools ----------------------------------
    allowed_hosts: CommaList = Field(
        (),
        alias="ALLOWED_HOSTS",
        description="Host header values REST and /mcp accept (host, host:port, host:*, "
        "*.suffix, or * for any); empty = the loopback names only.",
    )
    allowed_origins: CommaList = Field(
        (),
        alias="ALLOWED_ORIGINS",
        description="Origin values REST and /mcp accept (scheme://host[:port], * wildcards as in "
        "ALLOWED_HOSTS); loopback origins are allowed while ALLOWED_HOSTS is the loopback "
        "default; requests without Origin are allowed.",
    )
    disabled_tools: CommaList = Field(
        (),
        alias="DISABLED_TOOLS",
        description="Tools to turn off on every front door (REST, MCP, CLI, OpenAPI, catalogue), "
        "by MCP name (crypto_hash) or REST path (/api/v1/crypto/hash).",
    )

    # --- MCP ----------------------------------------------------------------------------------
    mcp_enabled: bool = Field(True, alias="MCP_ENABLED", description="Serve MCP at /mcp.")
    playground_enabled: bool = Field(
        True,
        alias="PLAYGROUND_ENABLED",
        description="Serve the web playground at / and the API reference at /docs.",
    )
    mcp_allowed_hosts: CommaList = Field(
        (),
        alias="MCP_ALLOWED_HOSTS",
        description="Older name of ALLOWED_HOSTS, still read when ALLOWED_HOSTS is unset.",
    )
    mcp_allowed_origins: CommaList = Field(
        (),
        alias="MCP_ALLOWED_ORIGINS",
        description="Older name of ALLOWED_ORIGINS, still read when ALLOWED_ORIGINS is unset.",
    )
    mcp_toolsets: CommaList = Field(
        (),
        alias="MCP_TOOLSETS",
        description="Tool families or presets (essentials) to expose over MCP; empty = all.",
    )
    mcp_output_schemas: bool = Field(
        False,
        alias="MCP_OUTPUT_SCHEMAS",
        description="List each tool's output schema in MCP tools/list (results are structured "
        "either way).",
    )
    mcp_disabled_tools: CommaList = Field(
        (), alias="MCP_DISABLED_TOOLS", description="MCP tool names to hide from MCP only."
    )

    # --- secrets --------------------------------------------------------------------------------
    secrets_mount_path: str = Field(
        "/etc/secrets",
        alias="SECRETS_MOUNT_PATH",
        description="Directory with api-keys, jwt-secret and redis-url files.",
    )

    # --- validators -----------------------------------------------------------------------------
    @field_validator("time_default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from devutils.errors import ValidationError as ToolValidationError
        from devutils.tools._zones import resolve_zone

        try:
            resolve_zone(value, 2000, "TIME_DEFAULT_TIMEZONE")
        except ToolValidationError as exc:
            raise ValueError(str(exc.details)) from None
        return value

    @field_validator("trusted_proxies", "ssrf_allow_cidrs")
    @classmethod
    def _cidrs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            ipaddress.ip_network(item, strict=False)
        return value

    @field_validator("dns_private_zones", "dns_allowed_zones")
    @classmethod
    def _zones(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        zones = []
        for item in value:
            zone = item.lower().removeprefix("*").strip(".")
            if not _ZONE.fullmatch(zone) or ".." in zone:
                raise ValueError(f"bad DNS zone {item!r}")
            zones.append(zone)
        return tuple(zones)

    @field_validator("ssrf_allow_ports")
    @classmethod
    def _ports(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            low, _, high = item.partition("-")
            lo, hi = int(low), int(high or low)
            if not (1 <= lo <= hi <= 65535):
                raise ValueError(f"bad port or range {item!r}")
        return value

    @field_validator("allowed_hosts", "mcp_allowed_hosts")
    @classmethod
    def _host_patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            parse_host_pattern(item)
        return value

    @field_validator("allowed_origins", "mcp_allowed_origins")
    @classmethod
    def _origin_patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            parse_origin_pattern(item)
        return value

    @field_validator("cors_allow_origins")
    @classmethod
    def _cors_origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # ALLOWED_ORIGINS' parser: the CORS middleware builds its patterns with it, so a value
        # it would refuse must stop start-up here instead of raising inside every worker.
        return _check_entries(
            value,
            parse_origin_pattern,
            "an origin (scheme://host[:port], wildcards as in ALLOWED_ORIGINS, or *)",
        )

    @field_validator("dns_resolvers")
    @classmethod
    def _nameservers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _check_entries(value, parse_nameserver, "ip, ip:port, [ipv6] or [ipv6]:port")

    @field_validator("rate_limit_redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None:
            check_redis_url(value)
        return value

    @field_validator("tracing_otlp_endpoint")
    @classmethod
    def _otlp_endpoint(cls, value: str | None) -> str | None:
        if value is not None:
            check_otlp_endpoint(value)
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    # --- derived ------------------------------------------------------------------------------
    @property
    def argon_concurrency(self) -> int:
        if self.argon_max_concurrency is not None:
            return self.argon_max_concurrency
        by_memory = max(1, (self.argon_memory_budget_mib * 1024) // self.argon_memory)
        return max(1, min(os.cpu_count() or 1, by_memory))

    @property
    def argon_verify_memory_limit(self) -> int:
        if self.argon_verify_max_memory is not None:
            return self.argon_verify_max_memory
        return max(self.argon_memory, 65536)

    @property
    def allowed_port_ranges(self) -> tuple[tuple[int, int], ...]:
        ranges = []
        for item in self.ssrf_allow_ports:
            low, _, high = item.partition("-")
            ranges.append((int(low), int(high or low)))
        return tuple(ranges)

    @property
    def effective_allowed_hosts(self) -> tuple[str, ...]:
        """ALLOWED_HOSTS, or its older name MCP_ALLOWED_HOSTS when only that one is set."""
        return self.allowed_hosts or self.mcp_allowed_hosts

    @property
    def effective_allowed_origins(self) -> tuple[str, ...]:
        return self.allowed_origins or self.mcp_allowed_origins

    @property
    def python_log_level(self) -> str:
        return {"warn": "WARNING", "warning": "WARNING"}.get(self.log_level, self.log_level.upper())


SETTING_NAMES: tuple[str, ...] = tuple(
    str(field.alias) for field in Settings.model_fields.values() if field.alias
)
# Other names a setting is read from when its own is unset: WEB_CONCURRENCY is the worker-count
# variable other Python servers and platforms use.
ALTERNATE_NAMES = {"WEB_CONCURRENCY": "SERVER_WORKERS"}
ENV_NAMES: tuple[str, ...] = SETTING_NAMES + tuple(ALTERNATE_NAMES)

# Secret files (reference: only fill values still empty).
_SECRET_FILES = {
    "api-keys": "AUTH_API_KEYS",
    "jwt-secret": "AUTH_JWT_SECRET",
    "redis-url": "RATE_LIMIT_REDIS_URL",
}


def _read_secrets(mount: Path, raw: dict[str, str], sources: dict[str, str]) -> None:
    """Fill empty secret variables from their files, noting in ``sources`` where each came from."""
    if not mount.is_dir():
        return
    for filename, variable in _SECRET_FILES.items():
        if raw.get(variable, "").strip():
            continue
        path = mount / filename
        try:
            if path.is_file():
                raw[variable] = path.read_text(encoding="utf-8").strip()
                sources[variable] = f"{variable} (secret file {path})"
        except OSError as exc:
            raise SettingsError(
                f"{variable}: cannot read secret file {path}: {exc.strerror}"
            ) from exc


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read settings once.  ``overrides`` use field names and win over the environment."""
    env = os.environ if environ is None else environ
    raw: dict[str, Any] = {name: env[name] for name in SETTING_NAMES if name in env}
    # The reference ignores SERVER_PORT=0 / unparsable; we refuse unparsable but keep "0" = default.
    if raw.get("SERVER_PORT", "").strip() == "0":
        raw.pop("SERVER_PORT")
    # What a message calls a setting whose value came from elsewhere than its own variable: the
    # operator must find the name they set (WEB_CONCURRENCY) or the file they mounted.
    sources: dict[str, str] = {}
    for alternate, name in ALTERNATE_NAMES.items():
        if name not in raw and env.get(alternate, "").strip():
            raw[name] = env[alternate]
            sources[name] = alternate
    _read_secrets(Path(raw.get("SECRETS_MOUNT_PATH", "/etc/secrets")), raw, sources)
    for key, value in overrides.items():
        alias = str(Settings.model_fields[key].alias)
        raw[alias] = value
        sources.pop(alias, None)
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            parts = [str(part) for part in err["loc"]]
            if parts:
                parts[0] = sources.get(parts[0], parts[0])
            problems.append(f"{'.'.join(parts) or 'settings'}: {err['msg']}")
        raise SettingsError("invalid configuration: " + "; ".join(problems)) from None
    _check_consistency(settings, env)
    return settings


# Shortest secrets accepted at start-up: a key must not be guessable online (16 bytes is 128 bits
# of random hex or base64 material at most, and always well beyond a password); an HMAC secret
# shorter than the SHA-256 output weakens HS256 (RFC 7518 §3.2 asks for at least the hash size).
MIN_API_KEY_BYTES = 16
MIN_JWT_SECRET_BYTES = 32


def _check_secret_strength(settings: Settings) -> None:
    """Refuse weak secrets for the auth method in use; messages never contain the secret."""
    keys = settings.auth_api_keys
    # No client can send such a key in a header: it is a pasting or file-format mistake.
    garbled = [
        index
        for index, key in enumerate(keys, 1)
        if any(char.isspace() or not char.isprintable() for char in key)
    ]
    if garbled:
        entries = ", ".join(str(index) for index in garbled)
        raise SettingsError(
            f"AUTH_API_KEYS: a key must not contain whitespace or control characters "
            f"(entry {entries} of {len(keys)} does); separate keys with commas or newlines"
        )
    if settings.auth_method == "api_key":
        short = [
            index for index, key in enumerate(keys, 1) if len(key.encode()) < MIN_API_KEY_BYTES
        ]
        if short:
            entries = ", ".join(str(index) for index in short)
            raise SettingsError(
                f"AUTH_API_KEYS: every key must be at least {MIN_API_KEY_BYTES} bytes "
                f"(entry {entries} of {len(keys)} is shorter); generate one with "
                "`openssl rand -hex 32`"
            )
    secret = settings.auth_jwt_secret
    if settings.auth_method == "jwt" and secret and len(secret.encode()) < MIN_JWT_SECRET_BYTES:
        raise SettingsError(
            f"AUTH_JWT_SECRET: an HMAC secret must be at least {MIN_JWT_SECRET_BYTES} bytes; "
            "generate one with `openssl rand -hex 32`"
        )


def _check_consistency(settings: Settings, env: Mapping[str, str]) -> None:
    if settings.auth_method == "api_key" and not settings.auth_api_keys:
        raise SettingsError("AUTH_API_KEYS: at least one key is required when AUTH_METHOD=api_key")
    _check_secret_strength(settings)
    if settings.auth_method == "jwt" and not (
        settings.auth_jwt_secret or settings.auth_jwt_public_key_file or settings.auth_jwt_jwks_file
    ):
        raise SettingsError(
            "AUTH_JWT_SECRET: a secret (or AUTH_JWT_PUBLIC_KEY_FILE / AUTH_JWT_JWKS_FILE) is "
            "required when AUTH_METHOD=jwt"
        )
    if settings.rate_limit_store == "redis" and not settings.rate_limit_redis_url:
        raise SettingsError("RATE_LIMIT_REDIS_URL: required when RATE_LIMIT_STORE=redis")
    if (
        settings.tracing_enabled
        and settings.tracing_exporter == "otlp"
        and not settings.tracing_otlp_endpoint
        and not env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        and not env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    ):
        raise SettingsError("TRACING_OTLP_ENDPOINT: required when TRACING_EXPORTER=otlp")
