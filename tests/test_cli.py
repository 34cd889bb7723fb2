"""The CLI: version, tool listing, tool commands generated from the registry, errors and exit codes."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from devutils import __version__
from devutils.cli import main
from devutils.registry import catalogue
from tests.support import DEVUTILS


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"dev-utilities {__version__}"


def test_tools_lists_every_tool(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tools"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(catalogue())
    assert any(line.startswith("crypto hash ") for line in lines)


def test_tool_with_flags(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "crypto",
                "hmac",
                "--content",
                "Hello World",
                "--key",
                "my-secret-key",
                "--algorithm",
                "sha256",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out) == {
        "hmac": "2cd7c25025198d4458002ceb064ad37ccfbbe46650876d693f5e080bd954e449",
        "algorithm": "sha256",
    }


def test_tool_with_json_and_flag_override(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "crypto",
                "hash",
                "--json",
                '{"content": "x", "algorithm": "sha1"}',
                "--algorithm",
                "md5",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["hash"] == "9dd4e461268c8034f5c8564e155c67a6"


def test_validation_error_goes_to_stderr_with_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["crypto", "hash", "--algorithm", "sha3"]) == 65
    captured = capsys.readouterr()
    assert captured.out == ""
    error = json.loads(captured.err)["error"]
    assert error["code"] == "VALIDATION_ERROR"


def test_a_bug_in_a_tool_is_an_internal_error_without_a_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """As REST answers it (500): exit 70 and the error object, never the exception's text."""
    from devutils.tools import text

    def broken(*_: object) -> None:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(text, "go_lower", broken)
    assert main(["text", "slug", "--content", "Hello"]) == 70
    captured = capsys.readouterr()
    assert captured.out == ""
    assert json.loads(captured.err) == {
        "success": False,
        "error": {"code": "INTERNAL_ERROR", "message": "Internal server error"},
    }


def test_unknown_json_field_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    args = '{"text": "hello", "algorithm": "sha256"}'
    assert main(["crypto", "hash", "--json", args]) == 65
    captured = capsys.readouterr()
    assert captured.out == ""
    assert json.loads(captured.err)["error"] == {
        "code": "VALIDATION_ERROR",
        "message": 'unknown field "text"; did you mean "content"?',
        "details": 'field "content" is required; allowed fields: content, algorithm, '
        "inputEncoding, length, digestSize, key, keyEncoding, outputFormat",
    }


def test_a_tool_can_also_be_a_group(capsys: pytest.CaptureFixture[str]) -> None:
    # crypto hash is a command and holds crypto hash verify.
    assert main(["crypto", "hash", "--content", "abc", "--algorithm", "crc32"]) == 0
    assert json.loads(capsys.readouterr().out)["hash"] == "352441c2"
    args = ["crypto", "hash", "verify", "--content", "abc", "--algorithm", "crc32"]
    assert main([*args, "--expected", "352441C2"]) == 0
    assert json.loads(capsys.readouterr().out) == {"valid": True, "algorithm": "crc32"}


def test_bad_json_argument(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["crypto", "hash", "--json", "{nope"]) == 65
    assert "malformed JSON" in capsys.readouterr().err


def test_python_dash_m_reads_stdin_json() -> None:
    result = subprocess.run(
        [*DEVUTILS, "crypto", "hash", "--json", "-"],
        input=b'{"content": "hello world", "algorithm": "sha256"}',
        capture_output=True,
        check=False,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["hash"].startswith("b94d27b9934d3e08")


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 64
    assert "COMMAND" in capsys.readouterr().out


def test_healthcheck_fails_without_server(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["healthcheck", "--url", "http://127.0.0.1:1/health/live", "--timeout", "0.5"]) == 1
    assert "failed" in capsys.readouterr().err


def test_service_commands_load_no_tool_module() -> None:
    """The supervisor of several workers and the container's health check run `devutils serve`
    and `devutils healthcheck`: neither uses a tool, so neither pays for importing them all."""
    probe = (
        "import sys\n"
        "from devutils.cli import main\n"
        "main(sys.argv[1:])\n"
        "print(sorted(m for m in sys.modules if m.startswith('devutils.tools.')), file=sys.stderr)"
    )

    def tool_modules(*argv: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", probe, *argv],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        return done.stderr.strip().splitlines()[-1]

    assert tool_modules("healthcheck", "--url", "http://127.0.0.1:1/", "--timeout", "0.2") == "[]"
    assert "'devutils.tools.crypto'" in tool_modules("tools")  # the probe sees a tool command's


@pytest.mark.parametrize(
    ("command", "env", "variable"),
    [
        (
            "serve",
            {"AUTH_METHOD": "jwt", "AUTH_JWT_SECRET": "s" * 32, "AUTH_JWT_ALGORITHMS": "none"},
            "AUTH_JWT_ALGORITHMS",
        ),
        ("serve", {"SERVER_PORT": "99999"}, "SERVER_PORT"),
        (
            "serve",
            {"AUTH_METHOD": "api_key", "AUTH_API_KEYS": "weak-CANARY-1"},
            "AUTH_API_KEYS",
        ),
        ("serve", {"AUTH_METHOD": "jwt", "AUTH_JWT_SECRET": "weak-CANARY-2"}, "AUTH_JWT_SECRET"),
        (
            "serve",
            {"AUTH_METHOD": "api_key", "AUTH_API_KEYS": "key-CANARY-3-0123456789 abc"},
            "AUTH_API_KEYS",
        ),
        ("mcp", {"MCP_TOOLSETS": "nosuchfamily"}, "MCP_TOOLSETS"),
    ],
    ids=[
        "jwt-alg-none",
        "bad-port",
        "weak-api-key",
        "weak-jwt-secret",
        "api-key-with-space",
        "unknown-toolset",
    ],
)
def test_bad_configuration_exits_78_naming_the_variable(
    command: str, env: dict[str, str], variable: str
) -> None:
    result = subprocess.run(
        [*DEVUTILS, command],
        env={
            "PATH": "/usr/bin:/bin",
            "SECRETS_MOUNT_PATH": "/nonexistent",
            # Any free port: some refusals come after the socket is bound (in the worker), so a
            # fixed port another process holds would fail first.
            "SERVER_PORT": "0",
            **env,
        },
        capture_output=True,
        stdin=subprocess.DEVNULL,
        check=False,
        timeout=60,
    )
    assert result.returncode == 78, result.stderr
    assert variable.encode() in result.stderr
    assert b"Traceback" not in result.stderr
    assert b"CANARY" not in result.stderr + result.stdout  # secrets are named, never printed
    if command == "serve":
        # The server's log is JSON lines (read with jq): the refusal is one more of them, from
        # the command itself or (an error found while building the app) from each worker.
        lines = (result.stdout + result.stderr).decode().splitlines()
        entries = [json.loads(line) for line in lines]
        refusals = [e for e in entries if e["msg"] == "invalid configuration, not starting"]
        assert refusals
        for entry in refusals:
            assert entry["level"] == "ERROR"
            assert variable in entry["error"]
            assert entry["exit_code"] == 78
            assert entry["time"]
    else:  # the MCP stdio server's stdout is the protocol; people read its stderr
        assert result.stderr.startswith(b"devutils: ")


@pytest.mark.parametrize(
    ("host", "problem", "setting"),
    [
        ("127.0.0.1", "address already in use", "SERVER_PORT"),
        ("192.0.2.1", "address not available on this host", "SERVER_HOST"),  # TEST-NET-1
    ],
    ids=["port-in-use", "address-not-here"],
)
def test_serve_that_cannot_listen_exits_78_with_one_line(
    host: str, problem: str, setting: str
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        result = subprocess.run(
            [*DEVUTILS, "serve", "--host", host, "--port", str(port), "--workers", "1"],
            env={"PATH": "/usr/bin:/bin", "SECRETS_MOUNT_PATH": "/nonexistent"},
            capture_output=True,
            stdin=subprocess.DEVNULL,
            check=False,
            timeout=60,
        )
    assert result.returncode == 78, result.stderr
    assert b"Traceback" not in result.stderr
    # one line, the server's usual refusal of a configuration (test above)
    [line] = result.stderr.decode().splitlines()
    entry = json.loads(line)
    assert (entry["msg"], entry["exit_code"]) == ("invalid configuration, not starting", 78)
    assert entry["error"].startswith(f"cannot listen on {host}:{port}: {problem} ")
    assert setting in entry["error"]


def test_serve_refuses_a_port_out_of_range_as_a_usage_error() -> None:
    result = subprocess.run(
        [*DEVUTILS, "serve", "--port", "70000"], capture_output=True, check=False, timeout=60
    )
    assert result.returncode == 64, result.stderr
    assert b"expected a port from 0 to 65535" in result.stderr
    assert b"Traceback" not in result.stderr
