"""The cross-front-end contract: every example of every tool gives the same JSON over REST, MCP
and the CLI; and secrets sent through MCP never reach the server's logs.

REST and MCP share one in-process app (fixed clock).  The CLI runs every example through its
entry point (``devutils.cli.main``: parsing, invoking, printing) and each tool's first example
also as a real ``python -m devutils`` subprocess, so the process count stays one per tool.
Network tools resolve through a closed loopback port, so their examples fail the same way
everywhere without any traffic leaving the machine.
"""

from __future__ import annotations

import base64
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import httpx2
import orjson
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult

from devutils.cli import main as cli_main
from devutils.frontends.mcp import build_server
from devutils.http.app import Application
from devutils.registry import ToolSpec, catalogue
from tests.frontends.mcp_support import structured, tool_error
from tests.support import DEVUTILS, ROOT, ServerProcess, run_server

SPECS = catalogue()
CASES = [(spec, index) for spec in SPECS for index in range(len(spec.examples))]
CASE_IDS = [f"{spec.name}-{index}" for spec, index in CASES]

# Outputs that differ between any two runs, so only their shape (keys, list and string lengths,
# value types) can match: random values and salts.
RANDOM_OUTPUT = {
    "id_uuid": "random (v4) or time-plus-random (v1, v6, v7) UUIDs",
    "id_nanoid": "random IDs",
    "id_ulid": "time plus 80 random bits",
    "crypto_random": "random passwords, passphrases, tokens and PINs",
    "crypto_password_hash": "a fresh random salt per hash",
    "crypto_keypair": "fresh random keys",
    "crypto_cert_selfsigned": "a fresh key and a random serial per certificate",
}
# REST and MCP share the test app's fixed clock; the CLI process reads the real one.
REAL_CLOCK_IN_CLI = {
    "time_now": "the current time",
    "crypto_cert_decode": "days left until notAfter",
}

# Outbound lookups go to a closed loopback port and time out quickly: identical errors, no traffic.
NETWORK_SETTINGS = {"DNS_RESOLVERS": "127.0.0.1:9", "DNS_TIMEOUT": "0.1", "NETWORK_TIMEOUT": "2"}

Outcome = tuple[str, Any]


def shape(value: Any) -> Any:
    """What two runs of a random tool still share."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    if isinstance(value, str):
        return ("str", len(value))
    if isinstance(value, bool) or value is None:
        return value
    return type(value).__name__


def rest_outcome(response: httpx.Response) -> Outcome:
    body = response.json()
    if body["success"]:
        assert response.status_code == 200
        return ("ok", body["data"])
    assert response.status_code >= 400
    return ("error", body["error"])


def mcp_outcome(result: CallToolResult) -> Outcome:
    if result.is_error:
        return ("error", tool_error(result))
    return ("ok", structured(result))


def cli_outcome(returncode: int, stdout: bytes | str, stderr: bytes | str) -> Outcome:
    if returncode == 0:
        return ("ok", orjson.loads(stdout))
    envelope = orjson.loads(stderr)
    assert envelope["success"] is False
    return ("error", envelope["error"])


_CLEARED = ("AUTH_", "RATE_LIMIT_", "TRACING_", "SSRF_", "MCP_", "ARGON_", "DNS_", "NETWORK_")


def _cli_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(_CLEARED)}
    env.update(SECRETS_MOUNT_PATH="/nonexistent", **NETWORK_SETTINGS)
    return env


def _argv(spec: ToolSpec, index: int) -> list[str]:
    return [*spec.words, "--json", orjson.dumps(dict(spec.examples[index].args)).decode()]


def _run_cli_process(spec: ToolSpec) -> Outcome:
    done = subprocess.run(
        [*DEVUTILS, *_argv(spec, 0)], capture_output=True, env=_cli_env(), cwd=ROOT, timeout=60
    )
    return cli_outcome(done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="module")
def cli_processes() -> dict[str, Outcome]:
    """Each tool's first example through a real CLI process, a few at a time."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        runs = {spec.name: pool.submit(_run_cli_process, spec) for spec in SPECS if spec.examples}
        return {name: future.result() for name, future in runs.items()}


@pytest.fixture
def run_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[[ToolSpec, int], Outcome]:
    """The CLI's entry point in this process, with the same environment as the subprocesses."""
    for key in list(os.environ):
        if key.startswith(_CLEARED):
            monkeypatch.delenv(key)
    for key, value in {"SECRETS_MOUNT_PATH": "/nonexistent", **NETWORK_SETTINGS}.items():
        monkeypatch.setenv(key, value)

    def run(spec: ToolSpec, index: int) -> Outcome:
        capsys.readouterr()
        code = cli_main(_argv(spec, index))
        captured = capsys.readouterr()
        return cli_outcome(code, captured.out, captured.err)

    return run


@pytest.fixture
def contract_app(make_app: Callable[..., Application]) -> Application:
    return make_app(**{key.lower(): value for key, value in NETWORK_SETTINGS.items()})


def test_every_tool_has_an_example() -> None:
    assert [spec.name for spec in SPECS if not spec.examples] == []


@pytest.mark.parametrize(("spec", "index"), CASES, ids=CASE_IDS)
async def test_example_is_the_same_over_rest_mcp_and_cli(
    contract_app: Application,
    cli_processes: dict[str, Outcome],
    run_cli: Callable[[ToolSpec, int], Outcome],
    spec: ToolSpec,
    index: int,
) -> None:
    args = dict(spec.examples[index].args)
    async with contract_app.lifespan():
        transport = httpx.ASGITransport(app=contract_app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            if spec.method == "GET":
                response = await http.get(spec.path)
            else:
                response = await http.post(spec.path, json=args)
        rest = rest_outcome(response)
        server = build_server(contract_app.registry, contract_app.settings)
        async with Client(server) as mcp:
            mcp_result = mcp_outcome(await mcp.call_tool(spec.name, args))
    clis = [run_cli(spec, index)]
    if index == 0:
        clis.append(cli_processes[spec.name])

    if spec.name in RANDOM_OUTPUT:
        assert rest[0] == "ok"
        assert shape(mcp_result) == shape(rest)
        for cli in clis:
            assert shape(cli) == shape(rest)
    elif spec.name in REAL_CLOCK_IN_CLI:
        assert mcp_result == rest
        for cli in clis:
            assert shape(cli) == shape(rest)
    else:
        assert mcp_result == rest
        for cli in clis:
            assert cli == rest


def test_random_tools_really_are_random(run_cli: Callable[[ToolSpec, int], Outcome]) -> None:
    """Keeps the exemption list honest: each listed tool gives two different answers."""
    for name in RANDOM_OUTPUT:
        spec = next((s for s in SPECS if s.name == name), None)
        if spec is None or not spec.examples:
            continue
        first = run_cli(spec, 0)
        assert first[0] == "ok"
        assert run_cli(spec, 0) != first, name


# --- canaries: secrets sent through MCP over HTTP never reach the logs --------------------------

CANARY = f"CANARY-{uuid.uuid4()}"
CANARY_KEY = f"CANARY-{uuid.uuid4()}"
# A TOTP secret must be base32; spelled "CANARY" + base32 letters so the log check catches it too.
CANARY_BASE32 = "CANARY" + base64.b32encode(uuid.uuid4().bytes).decode().rstrip("=")


@pytest.fixture(scope="module")
def chatty_server() -> Iterator[ServerProcess]:
    env = {
        "LOG_LEVEL": "debug",
        "AUTH_METHOD": "api_key",
        "AUTH_API_KEYS": CANARY_KEY,
        "RATE_LIMIT_ENABLED": "false",
        "ARGON_MEMORY": "8192",
        "ARGON_ITERATIONS": "1",
    }
    with run_server(env) as server:
        yield server


SECRET_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("crypto_password_hash", {"password": CANARY}),
    ("crypto_password_verify", {"password": CANARY, "hash": f"$argon2id${CANARY}"}),
    ("crypto_hmac", {"content": CANARY, "key": CANARY, "algorithm": "sha256"}),
    ("crypto_hmac", {"content": CANARY, "key": CANARY, "algorithm": CANARY}),
    ("transform_jwt_decode", {"token": CANARY}),
    ("transform_jwt_decode", {"token": f"{CANARY}.{CANARY}.{CANARY}"}),
    ("crypto_cert_decode", {"certificate": CANARY}),
    ("crypto_cert_decode", {"certificate": CANARY, "privateKey": CANARY}),
    ("crypto_cert_selfsigned", {"subject": "CN=x", "privateKey": CANARY}),
    ("crypto_hash", {"content": CANARY, "algorithm": "sha256"}),
    ("crypto_totp", {"secret": CANARY}),
    ("crypto_totp", {"action": "verify", "secret": CANARY_BASE32, "code": "123456"}),
    ("crypto_totp", {"action": "uri", "secret": CANARY_BASE32, "account": CANARY}),
    ("crypto_random", {"kind": "password", "exclude": CANARY}),
    ("crypto_hash", {"content": CANARY, "algorithm": "blake2b", "key": CANARY}),
    ("crypto_hash", {"content": "", "algorithm": "blake3", "key": CANARY, "keyEncoding": "hex"}),
    (
        "crypto_hmac",
        {"content": CANARY, "key": CANARY, "keyEncoding": "base64", "algorithm": "md5"},
    ),
    (
        "crypto_hmac_verify",
        {"content": CANARY, "key": CANARY, "algorithm": "sha3_256", "expected": CANARY},
    ),
    ("transform_encode", {"content": CANARY, "codec": "base58", "direction": "decode"}),
    ("crypto_password_hash", {"password": CANARY, "algorithm": "bcrypt"}),
    ("crypto_password_verify", {"password": CANARY, "hash": f"pbkdf2_sha256$1${CANARY}$AA=="}),
    ("crypto_password_inspect", {"hash": f"$scrypt${CANARY}"}),
    ("transform_jwt_sign", {"claims": {"c": CANARY}, "algorithm": "HS256", "key": CANARY}),
    ("transform_jwt_sign", {"claims": {}, "algorithm": "RS256", "key": f"-----BEGIN {CANARY}"}),
    ("transform_jwt_verify", {"token": CANARY, "key": CANARY, "algorithms": ["HS256"]}),
    ("transform_jwt_verify", {"token": f"{CANARY}.{CANARY}.{CANARY}", "key": f"{{{CANARY}"}),
]


async def _send_secrets(server: ServerProcess, mode: str) -> list[bool]:
    names = {spec.name for spec in SPECS}
    http = httpx2.AsyncClient(
        headers={"Authorization": f"Bearer {CANARY_KEY}", "X-Request-ID": f"canary-{mode}"}
    )
    transport = streamable_http_client(f"{server.base}/mcp", http_client=http)
    outcomes = []
    async with http, Client(transport, mode=mode) as mcp:
        for name, arguments in SECRET_CALLS:
            if name in names:
                outcomes.append(bool((await mcp.call_tool(name, arguments)).is_error))
    return outcomes


async def test_canaries_never_reach_the_server_logs(chatty_server: ServerProcess) -> None:
    outcomes = await _send_secrets(chatty_server, "auto")
    outcomes += await _send_secrets(chatty_server, "legacy")
    assert len(outcomes) >= 8
    assert False in outcomes
    assert True in outcomes
    # A refused key is logged as a failure too: it must not appear either.
    async with httpx.AsyncClient() as http_client:
        refused = await http_client.post(
            f"{chatty_server.base}/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
            headers={"Authorization": f"Bearer {CANARY}-wrong"},
        )
    assert refused.status_code == 401

    chatty_server.stop()  # flushes buffered log lines
    logs = chatty_server.logs()
    assert '"/mcp"' in logs  # logging was on and saw these requests
    assert "canary-auto" in logs
    assert "canary-legacy" in logs
    assert "CANARY" not in logs
