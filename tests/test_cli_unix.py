"""The CLI as a Unix tool: stdin, ``-``, ``@file``, secrets from the environment, ``--raw``, errors,
help and shell completion."""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import io
import json
import os
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import orjson
import pytest
from pydantic import Field

from devutils.cli import main
from devutils.errors import ValidationError
from devutils.frontends.cli_input import decode, encoding_field, subject_field
from devutils.frontends.cli_output import example_command
from devutils.models import ToolInput
from devutils.registry import catalogue
from tests.support import DEVUTILS, in_signal_set
from tests.test_contract import RANDOM_OUTPUT, REAL_CLOCK_IN_CLI, shape

SPECS = {spec.name: spec for spec in catalogue()}
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)


class Result(typing.NamedTuple):
    code: int
    out: bytes
    err: bytes

    def json(self) -> Any:
        return json.loads(self.out)

    def error(self) -> Any:
        assert self.err.count(b"\n") == 1, self.err  # one line
        return json.loads(self.err)["error"]


class _Terminal(io.BytesIO):
    def isatty(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        raise AssertionError("a terminal is never read implicitly")


Run = Callable[..., Result]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes]) -> Run:
    """``main`` in this process with the given bytes as a piped stdin (None: a terminal)."""
    monkeypatch.setenv("SECRETS_MOUNT_PATH", "/nonexistent")

    def run(*argv: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> Result:
        stream: Any = _Terminal() if stdin is None else io.BytesIO(stdin)
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(stream))
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        capsysbinary.readouterr()
        code = main(list(argv))
        captured = capsysbinary.readouterr()
        return Result(code, captured.out, captured.err)

    return run


# -- input: stdin, '-', @file ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "stdin", "expected"),
    [
        (["crypto", "hash", "--algorithm", "sha256"], b"abc", {"hash": "ba7816bf8f01cfea4141"}),
        # Like sha256sum: the bytes piped in, trailing newline included.
        (["crypto", "hash", "--algorithm", "sha256"], b"hi\n", {"hash": "98ea6e4f216f2fb4b69f"}),
        (["crypto", "hash", "--algorithm", "md5", "--content", "-"], b"", {"hash": "d41d8cd98f"}),
        (["text", "info"], b"a b c\nd\n", {"characterCount": 8, "wordCount": 4}),
        (["text", "case", "--case-type", "UPPERCASE"], "héllo\n".encode(), {"result": "HÉLLO\n"}),
        # A one-value field drops the newline echo adds.
        (["network", "ip"], b"10.0.0.1\n", {"ip": "10.0.0.1", "isPrivate": True}),
        (["transform", "jwt", "decode"], JWT.encode() + b"\r\n", {"header": {"alg": "HS256"}}),
        (
            ["crypto", "hmac", "--content", "Hello World", "--algorithm", "sha256", "--key", "-"],
            b"my-secret-key\n",
            {"hmac": "2cd7c25025198d4458002ceb064ad37c"},
        ),
    ],
    ids=[
        "hash-abc",
        "hash-keeps-newline",
        "dash-empty",
        "text-info",
        "utf8",
        "ip-trims-newline",
        "jwt-trims-crlf",
        "hmac-key-dash",
    ],
)
def test_piped_stdin_fills_the_subject(
    cli: Run, argv: list[str], stdin: bytes, expected: dict[str, Any]
) -> None:
    result = cli(*argv, stdin=stdin)
    assert result.code == 0, result.err
    output = result.json()
    for key, value in expected.items():
        if isinstance(value, str) and key in ("hash", "hmac"):
            assert output[key].startswith(value)
        elif isinstance(value, dict):
            assert value.items() <= output[key].items()
        else:
            assert output[key] == value


def test_a_terminal_is_not_read(cli: Run) -> None:
    result = cli("crypto", "hash", "--algorithm", "md5")
    assert result.code == 65
    assert result.error()["message"] == 'field "content" is required'


def test_a_given_field_is_not_replaced_by_stdin(cli: Run) -> None:
    result = cli("crypto", "hash", "--content", "abc", "--algorithm", "md5", stdin=b"other")
    assert result.json()["hash"] == "900150983cd24fb0d6963f7d28e17f72"
    result = cli("crypto", "hash", "--json", '{"content": "abc", "algorithm": "md5"}', stdin=b"x")
    assert result.json()["hash"] == "900150983cd24fb0d6963f7d28e17f72"


def test_json_arguments_from_stdin_and_files(cli: Run, tmp_path: Path) -> None:
    args = tmp_path / "args.json"
    args.write_text('{"content": "abc", "algorithm": "md5"}')
    result = cli("crypto", "hash", "--json", f"@{args}", "--raw")
    assert result.out == b"900150983cd24fb0d6963f7d28e17f72\n"
    result = cli("crypto", "hash", "--json", "-", "--raw", stdin=args.read_bytes())
    assert result.out == b"900150983cd24fb0d6963f7d28e17f72\n"


def test_at_file_and_the_at_escape(cli: Run, tmp_path: Path) -> None:
    message = tmp_path / "message.txt"
    message.write_bytes("héllo\n".encode())
    result = cli("crypto", "hash", "--algorithm", "md5", "--content", f"@{message}", "--raw")
    # md5 of the file's exact bytes (printf 'h\xc3\xa9llo\n' | md5sum)
    assert result.out == b"1082e4bdaee22cfa4057c4f6a5e4c3da\n"
    literal = cli("crypto", "hash", "--algorithm", "md5", "--content", "@@abc", "--raw")
    expected = cli("crypto", "hash", "--algorithm", "md5", "--json", '{"content": "@abc"}', "--raw")
    assert literal.out == expected.out
    assert literal.code == 0


def test_a_missing_file_is_exit_66(cli: Run, tmp_path: Path) -> None:
    result = cli("crypto", "hash", "--algorithm", "md5", "--content", f"@{tmp_path}/nope")
    assert result.code == 66
    error = result.error()
    assert error["code"] == "NOT_FOUND"
    assert error["details"] == f"--content: {tmp_path}/nope: No such file or directory"


def test_binary_stdin_reaches_a_byte_tool_as_base64(cli: Run) -> None:
    # crypto/hash has inputEncoding: bytes that are not UTF-8 are sent base64 with it set.
    result = cli("crypto", "hash", "--algorithm", "sha256", "--raw", stdin=b"ok\xff\xfe")
    assert result.code == 0
    assert result.out == b"8340ff27d79df370081b9e3187740c97f17a52a9626bf4448aa61a558bd0aaee\n"


def test_bytes_that_are_not_utf8_are_refused_clearly(cli: Run) -> None:
    result = cli("text", "case", "--case-type", "UPPERCASE", stdin=b"ok\xff\xfe")
    assert result.code == 65
    assert result.error() == {
        "code": "VALIDATION_ERROR",
        "message": "Input is not UTF-8 text",
        "details": "stdin: invalid UTF-8 at byte 2; this tool takes text "
        "(base64-encode binary data first)",
    }


# Python hands a command-line argument's or a variable's undecodable bytes over as lone
# surrogates (PEP 383): "\udcff" is the byte 0xff.
def test_argument_bytes_follow_the_rules_of_stdin(cli: Run) -> None:
    hashed = cli("crypto", "hash", "--algorithm", "sha256", "--raw", "--content", "ok\udcff\udcfe")
    assert hashed.code == 0
    assert hashed.out == b"8340ff27d79df370081b9e3187740c97f17a52a9626bf4448aa61a558bd0aaee\n"
    for argv, env, origin in [
        (["text", "diff", "--original", "a\udcff", "--modified", "b"], None, "--original"),
        (["text", "case", "--content", "a", "--case-type", "\udcff"], None, "--case-type"),
        (["crypto", "hash", "--json", '{"content":"\udcff"}'], None, "--json"),
        (
            ["crypto", "password", "hash", "--password-env", "PW"],
            {"PW": "\udcff"},
            "--password-env",
        ),
    ]:
        result = cli(*argv, env=env)
        assert result.code == 65, argv
        assert result.error()["message"] == "Input is not UTF-8 text"
        assert result.error()["details"].startswith(f"{origin}: invalid UTF-8 at byte ")


def test_argument_bytes_in_a_real_process() -> None:
    done = subprocess.run(
        [*map(os.fsencode, DEVUTILS), b"web", b"url", b"--action", b"build", b"--scheme", b"\xff"],
        capture_output=True,
        env={**os.environ, "SECRETS_MOUNT_PATH": "/nonexistent"},
        check=False,
        timeout=60,
    )
    assert done.returncode == 65
    assert json.loads(done.stderr)["error"]["details"].startswith("--scheme: invalid UTF-8")
    assert done.stdout == b""


def test_a_binary_secret_in_a_variable_follows_the_rules_of_stdin(cli: Run) -> None:
    # HMAC has keyEncoding: the bytes ff fe go base64 with it set, as from a file or stdin.
    argv = ("crypto", "hmac", "--content", "a", "--algorithm", "sha256", "--raw")
    from_env = cli(*argv, "--key-env", "K", env={"K": "\udcff\udcfe"})
    from_stdin = cli(*argv, "--key", "-", stdin=b"\xff\xfe")
    assert from_env.code == from_stdin.code == 0
    assert (
        from_env.out
        == from_stdin.out
        == (b"962fa1b831da147f75ed5aadf36010df6549c94e4a0ea2f036a37ee535946c4b\n")
    )


@pytest.mark.parametrize("ending", [b"", b"\n", b"\r\n"], ids=["none", "lf", "crlf"])
@pytest.mark.parametrize("key", [b"secret", b"\xffsecret"], ids=["utf8", "binary"])
def test_a_key_file_loses_one_line_break_whatever_its_bytes(
    cli: Run, tmp_path: Path, key: bytes, ending: bytes
) -> None:
    """A binary key went base64 with its line break kept, so `printf '\\xffk\\n'` and
    `printf '\\xffk'` gave different HMACs while their UTF-8 twins agreed."""
    path = tmp_path / "key"
    path.write_bytes(key + ending)
    argv = ("crypto", "hmac", "--content", "hi", "--algorithm", "sha256", "--raw")
    result = cli(*argv, "--key", f"@{path}")
    expected = hmac.new(key, b"hi", "sha256").hexdigest()
    assert (result.code, result.out) == (0, expected.encode() + b"\n")


@pytest.mark.parametrize("raw", [False, True], ids=["json", "raw"])
def test_an_integer_past_64_bits_in_a_result_is_printed_exactly(cli: Run, raw: bool) -> None:
    """REST answers it exactly; the CLI's JSON writer refused it (a TypeError traceback)."""
    big = 12345678901234567890123
    given = json.dumps({"content": json.dumps({"y": {"z": big}}), "query": "$.y"})
    result = cli("data", "query", "--json", given, *(["--raw"] if raw else []))
    assert result.code == 0, result.err
    if raw:
        assert result.out == b'{"z":%d}\n' % big
    else:
        assert json.loads(result.out)["result"] == [{"z": big}]


def test_an_option_wins_over_json_in_either_spelling(cli: Run) -> None:
    for key in ("case_type", "caseType"):
        given = json.dumps({"content": "a", key: "lowercase"})
        result = cli("text", "case", "--json", given, "--case-type", "UPPERCASE", "--raw")
        assert (result.code, result.out) == (0, b"A\n"), key


def test_stdin_is_read_once(cli: Run) -> None:
    result = cli("crypto", "hash", "--json", "-", "--content", "-", stdin=b"{}")
    assert result.code == 65
    assert result.error()["details"] == "--content: standard input is already read by --json"


def test_input_is_capped_by_max_body_bytes(cli: Run) -> None:
    result = cli("text", "info", stdin=b"x" * 2000, env={"MAX_BODY_BYTES": "1024"})
    assert result.code == 65
    assert result.error() == {
        "code": "REQUEST_TOO_LARGE",
        "message": "Request too large",
        "details": "stdin: input exceeds 1024 bytes (MAX_BODY_BYTES)",
    }


class _WithEncoding(ToolInput):
    content: str = Field(description="data")
    content_encoding: Literal["utf8", "base64"] = "utf8"


class _Plain(ToolInput):
    algorithm: Literal["a", "b"]
    token: str


def test_byte_encoding_field_and_subject_are_derived_from_the_model() -> None:
    assert encoding_field(_WithEncoding, "content") == "content_encoding"
    assert encoding_field(_Plain, "token") is None
    assert subject_field(_Plain) == "token"
    assert subject_field(SPECS["web_url"].input_model) is None
    assert decode(b"\xff\x00", "stdin", can_base64=True).text == "/wA="
    with pytest.raises(ValidationError):
        decode(b"\xff\x00", "stdin", can_base64=False)


# -- secrets ----------------------------------------------------------------------------------


def test_secrets_from_environment_file_and_stdin(cli: Run, tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("my-secret-key\n")
    expected = b"2cd7c25025198d4458002ceb064ad37ccfbbe46650876d693f5e080bd954e449\n"
    base = ("crypto", "hmac", "--content", "Hello World", "--algorithm", "sha256", "--raw")
    assert cli(*base, "--key-env", "HMAC_KEY", env={"HMAC_KEY": "my-secret-key"}).out == expected
    assert cli(*base, "--key", f"@{key_file}").out == expected
    hashed = cli("crypto", "password", "hash", "--raw", stdin=b"hunter2-CANARY\n")
    assert hashed.code == 0
    assert hashed.out.startswith(b"$argon2id$")
    verified = cli(
        "crypto",
        "password",
        "verify",
        "--password-env",
        "PW",
        "--hash",
        hashed.out.decode().strip(),
        "--raw",
        env={"PW": "hunter2-CANARY"},
    )
    assert verified.out == b"true\n"


def test_an_unset_secret_variable_is_named(cli: Run) -> None:
    result = cli("crypto", "password", "hash", "--password-env", "DEVUTILS_NOT_SET_ANYWHERE")
    assert result.code == 65
    assert result.error()["details"] == (
        "--password-env: environment variable DEVUTILS_NOT_SET_ANYWHERE is not set"
    )


# -- output -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["crypto", "hash", "--content", "abc", "--algorithm", "md5"],
            b"900150983cd24fb0d6963f7d28e17f72\n",
        ),
        (
            ["data", "json", "format", "--content", '{"a":[1,"x"]}', "--action", "format"],
            b'{\n  "a": [\n    1,\n    "x"\n  ]\n}\n',
        ),
        (["transform", "base64", "--content", "/w==", "--action", "decode"], b"\xff"),
        (["transform", "base64", "--content", "aGk=", "--action", "decode"], b"hi"),
        (
            ["transform", "jwt", "decode", "--token", JWT],
            b'{\n  "sub": "1234567890",\n  "name": "John Doe",\n  "iat": 1516239022\n}\n',
        ),
        (["text", "regex", "--content", "a1 b22 c333", "--pattern", "[0-9]+"], b"1\n22\n333\n"),
        (["text", "info", "--content", "two words"], b"9\n"),
    ],
    ids=[
        "string",
        "json-text-unescaped",
        "binary-exact",
        "decoded-text-exact",
        "object",
        "list",
        "number",
    ],
)
def test_raw_prints_the_main_field(cli: Run, argv: list[str], expected: bytes) -> None:
    result = cli(*argv, "--raw")
    assert (result.code, result.out, result.err) == (0, expected, b"")


TOTP_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # RFC 6238's "12345678901234567890"
TOTP_VERIFY = ["crypto", "totp", "--action", "verify", "--secret", TOTP_SECRET, "--counter", "0"]
REGEX_REPLACE = ["text", "regex", "--content", "2024-01-31", "--pattern", r"(\d+)-(\d+)-(\d+)"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        # A tool with actions prints each action's own main field.
        (["crypto", "totp", "--secret", TOTP_SECRET, "--counter", "0"], b"755224\n"),
        ([*TOTP_VERIFY, "--code", "755224"], b"true\n"),
        ([*TOTP_VERIFY, "--code", "000000"], b"false\n"),
        ([*REGEX_REPLACE, "--action", "replace", "--replacement", "$3/$2/$1"], b"31/01/2024\n"),
        (["id", "inspect", "--id", "01ARYZ6S41TSV4RRFFQ69G5FAV"], b"01ARYZ6S41TSV4RRFFQ69G5FAV\n"),
    ],
    ids=["totp-code", "totp-valid", "totp-invalid", "regex-replace", "id-inspect"],
)
def test_raw_prints_the_field_of_the_action(cli: Run, argv: list[str], expected: bytes) -> None:
    result = cli(*argv, "--raw")
    assert (result.code, result.out) == (0, expected)


def test_raw_prints_the_whole_output_when_the_action_has_no_main_field(cli: Run) -> None:
    result = cli("web", "url", "--action", "parse", "--url", "https://a.b/c?x=1", "--raw")
    assert result.code == 0
    assert json.loads(result.out)["host"] == "a.b"
    random = cli("crypto", "random", "--length", "12", "--count", "2", "--raw")
    assert [len(line) for line in random.out.splitlines()] == [12, 12]


def test_raw_lists_one_item_per_line(cli: Run) -> None:
    result = cli("id", "uuid", "--version", "4", "--count", "3", "--raw")
    lines = result.out.decode().splitlines()
    assert len(lines) == 3
    assert all(len(line) == 36 for line in lines)


def test_errors_are_one_json_line_or_one_raw_line(cli: Run) -> None:
    result = cli("crypto", "hash", "--content", "x", "--algorithm", "sha3")
    assert (result.code, result.out) == (65, b"")
    assert result.error()["code"] == "VALIDATION_ERROR"
    result = cli("crypto", "hash", "--content", "x", "--algorithm", "sha3", "--raw")
    assert result.code == 65
    assert result.err.startswith(b"devutils: VALIDATION_ERROR: ")
    assert result.err.count(b"\n") == 1


def test_usage_errors_exit_64_with_the_envelope(cli: Run) -> None:
    result = cli("crypto", "hash", "--no-such-option")
    assert result.code == 64
    assert result.error() == {
        "code": "VALIDATION_ERROR",
        "message": "Invalid command line",
        "details": "devutils crypto hash: unrecognized arguments: --no-such-option",
    }
    result = cli("id", "uuid", "--version", "4", "--count", "many")
    assert result.code == 64
    assert "invalid int value" in result.error()["details"]


VERIFY = ["crypto", "hash", "verify", "--content", "x", "--algorithm", "sha256"]


@pytest.mark.parametrize(
    ("argv", "details"),
    [
        # the value after an unknown option is not echoed: it may be a secret
        (["id", "uuid", "--bogus", "1"], "devutils id uuid: unrecognized arguments: --bogus"),
        # crypto hash has a sub-tool (verify): x is the value of --bogus, not a sub-tool name
        (
            ["crypto", "hash", "--bogus", "x", "--algorithm", "sha256", "--content", "y"],
            "devutils crypto hash: unrecognized arguments: --bogus",
        ),
        (
            ["crypto", "hash", "verify", "--bogus", "x"],
            "devutils crypto hash verify: unrecognized arguments: --bogus",
        ),
        (["crypto", "--bogus"], "devutils crypto: unrecognized arguments: --bogus"),
        (["serve", "--bogus"], "devutils serve: unrecognized arguments: --bogus"),
        # a stray word after a tool with sub-tools is taken for a sub-tool's name
        (
            ["crypto", "hash", "--algorithm", "sha256", "x"],
            "devutils crypto hash: argument SUB-TOOL: invalid choice: (value not shown) (choose"
            " from 'verify')",
        ),
        # an abbreviation argparse accepts is not unknown: the real error is the stray word
        (
            ["id", "uuid", "--vers", "4", "x"],
            "devutils id uuid: unrecognized arguments: 1 value (not shown)",
        ),
        # a tool with sub-tools takes options whole: an abbreviation could be the sub-tool's
        (
            ["crypto", "hash", "--algo", "sha256"],
            "devutils crypto hash: unrecognized arguments: --algo",
        ),
        # so that the sub-tool's options are the sub-tool's to resolve (--digest was ambiguous
        # in crypto hash's options first); --digest abbreviates one option, spelled two ways
        (
            [*VERIFY, "--digest", "y"],
            "devutils crypto hash verify: argument --digest-size/--digestSize: invalid int"
            " value: (value not shown)",
        ),
        # a prefix of two different options stays ambiguous
        (
            [*VERIFY, "--key-e", "y"],
            "devutils crypto hash verify: ambiguous option: --key-e could match --key-env,"
            " --key-encoding",
        ),
        # after --, words are operands (values), even one spelled like an option; tools take none
        (
            ["id", "uuid", "--version", "4", "--", "--count"],
            "devutils id uuid: unrecognized arguments: 1 value (not shown)",
        ),
    ],
    ids=[
        "tool",
        "tool-with-sub-tool",
        "sub-tool",
        "family",
        "serve",
        "stray-word",
        "stray-values",
        "no-abbreviation-before-sub-tools",
        "sub-tool-resolves-its-options",
        "prefix-of-two-options",
        "operand-after-end-of-options",
    ],
)
def test_usage_errors_name_the_command_and_the_unknown_option(
    argv: list[str], details: str
) -> None:
    done = subprocess.run([*DEVUTILS, *argv], capture_output=True, check=False, timeout=60)
    assert (done.returncode, done.stdout) == (64, b""), done.stderr
    assert Result(done.returncode, done.stdout, done.stderr).error() == {
        "code": "VALIDATION_ERROR",
        "message": "Invalid command line",
        "details": details,
    }


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["password", "hash", "--pasword", "hunter2"], b"--pasword"),
        (["password", "hash", "--pasword=hunter2"], b"--pasword"),
        (["password", "hash", "--password", "x", "--pasword", "-xhunter2"], b"--pasword"),
        # a stray value alone: counted, not shown
        (["password", "hash", "--password", "x", "hunter2"], b"1 value (not shown)"),
        # argparse's own messages quote what was typed: an ambiguous abbreviation...
        (["password", "hash", "--passw=hunter2"], b"ambiguous option: --passw could match"),
        # ... a stray word taken for a sub-tool's name (an unquoted key of several words) ...
        (
            ["hmac", "--content", "x", "--key", "my", "hunter2", "--algorithm", "sha256"],
            b"SUB-TOOL",
        ),
        # ... and a value given to a flag
        (["password", "hash", "--password", "x", "--raw=hunter2"], b"--raw"),
    ],
    ids=[
        "option-value",
        "option-equals",
        "dash-value",
        "stray-value",
        "ambiguous-abbreviation",
        "invalid-sub-tool",
        "flag-value",
    ],
)
def test_a_value_the_command_line_did_not_understand_is_not_echoed(
    cli: Run, argv: list[str], named: bytes
) -> None:
    """A mistyped secret option: its value is not shown in the usage error, its name is."""
    result = cli("crypto", *argv, "--raw")
    assert result.code == 64
    assert result.err.startswith(b"devutils: VALIDATION_ERROR: ")
    assert b"hunter2" not in result.err
    assert named in result.err


@pytest.mark.parametrize(
    ("argv", "code", "details"),
    [
        (
            ["crypto", "hash", "--algorithm", "md5", "--content", "@nofile\udcff"],
            66,
            "--content: nofile\\xff: No such file or directory",
        ),
        (
            ["crypto", "hmac", "--algorithm", "md5", "--content", "x", "--key-env", "V\udcff"],
            65,
            "--key-env: environment variable V\\xff is not set",
        ),
        (
            ["text", "case", "--content", "x", "--case-type", "UPPERCASE", "--bogus\udcff"],
            64,
            "devutils text case: unrecognized arguments: --bogus\\xff",
        ),
    ],
    ids=["file", "variable", "option"],
)
def test_a_name_that_is_not_utf8_is_shown_escaped_in_the_error(
    cli: Run, argv: list[str], code: int, details: str
) -> None:
    """Linux names are bytes: one that is not UTF-8 reaches Python as lone surrogates, which JSON
    cannot carry (was a TypeError traceback and exit 1)."""
    result = cli(*argv)
    assert result.code == code
    assert result.error()["details"] == details


def test_raw_abbreviated_is_raw(cli: Run) -> None:
    """argparse takes --ra for --raw: the output must follow what was parsed."""
    result = cli("text", "case", "--content", "x", "--case-type", "UPPERCASE", "--ra")
    assert (result.code, result.out) == (0, b"X\n")


@pytest.mark.parametrize(
    "words",
    [
        ["--case", "UPPERCASE"],
        ["--case-t", "UPPERCASE"],
        ["--caseT", "UPPERCASE"],
        ["--case=UPPERCASE"],
    ],
)
def test_an_abbreviation_of_both_spellings_of_one_option_is_that_option(
    cli: Run, words: list[str]
) -> None:
    """--case starts --case-type and --caseType, two spellings of one field: not ambiguous."""
    result = cli("text", "case", "--content", "x", *words, "--raw")
    assert (result.code, result.out, result.err) == (0, b"X\n", b"")


def test_a_prefix_of_two_options_is_ambiguous_without_its_value(cli: Run) -> None:
    result = cli("text", "case", "--c=hunter2", "--case-type", "UPPERCASE")
    assert result.code == 64
    assert result.error()["details"] == (
        "devutils text case: ambiguous option: --c could match --content, --case-type, --caseType"
    )


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).hexdigest().encode() + b"\n"


@pytest.mark.parametrize(
    ("argv", "out"),
    [
        (["crypto", "hash", "--algorithm", "sha256", "--raw", "--"], _sha256(b"hi\n")),
        (
            ["crypto", "hash", "--algorithm", "sha256", "--content=-x", "--raw", "--"],
            _sha256(b"-x"),
        ),
        (["text", "case", "--content", "x", "--case-type", "UPPERCASE", "--raw", "--"], b"X\n"),
        (["tools", "--"], None),
        (["completion", "bash", "--"], None),
        (["completion", "--", "bash"], None),
    ],
    ids=["subject-from-stdin", "dash-value", "text-case", "tools", "completion", "operand-after"],
)
def test_a_trailing_end_of_options_is_ignored(cli: Run, argv: list[str], out: bytes | None) -> None:
    """POSIX guideline 10: ``--`` ends the options, as in every Unix tool; with nothing after
    it, it changes nothing (was: unrecognized arguments: --)."""
    result = cli(*argv, stdin=b"hi\n")
    assert (result.code, result.err) == (0, b"")
    expected = cli(*[word for word in argv if word != "--"], stdin=b"hi\n")
    assert result.out == expected.out
    if out is not None:
        assert result.out == out


def test_after_end_of_options_a_word_that_starts_with_a_dash_is_a_value(cli: Run) -> None:
    """``completion -- -x``: -x is the shell operand (an invalid one), not an unknown option."""
    result = cli("completion", "--", "-x")
    assert result.code == 64
    assert result.error()["details"] == (
        "devutils completion: argument shell: invalid choice: '-x' (choose from 'bash', 'zsh',"
        " 'fish')"
    )
    # without --, -x is an option (unknown), and the operand is missing
    assert cli("completion", "-x").error()["details"] == (
        "devutils completion: the following arguments are required: shell"
    )


def test_mcp_takes_a_trailing_end_of_options() -> None:
    done = subprocess.run(
        [*DEVUTILS, "mcp", "--"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=_env(unbuffered=False),
        check=False,
        timeout=60,
    )
    assert (done.returncode, done.stdout) == (0, b""), done.stderr


def test_a_sub_tool_takes_its_own_abbreviations() -> None:
    """crypto hash verify --exp: its own --expected, not refused by crypto hash."""
    digest = "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
    argv = ["crypto", "hash", "verify", "--content", "abc", "--algorithm", "sha256"]
    done = subprocess.run(
        [*DEVUTILS, *argv, "--exp", digest, "--raw"],
        capture_output=True,
        env=_env(unbuffered=False),
        check=False,
        timeout=60,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, b"true\n", b"")


def test_the_help_of_a_tool_with_sub_tools_lists_them_and_does_not_require_one() -> None:
    done = subprocess.run(
        [*DEVUTILS, "crypto", "hash", "--help"], capture_output=True, check=True, timeout=60
    )
    text = done.stdout.decode()
    usage = " ".join(text.split("\n\n")[0].split())
    assert usage.endswith("[--output-format {hex,base64,base64url}]"), usage
    assert "TOOL" not in text
    assert text.rstrip().endswith(
        "sub-tools (each has --help):\n  devutils crypto hash verify         Verify a digest"
    )


def test_a_family_word_alone_prints_its_tools_to_stderr(cli: Run) -> None:
    result = cli("text")
    assert result.code == 64
    assert result.out == b""
    assert b"case" in result.err
    assert b"regex" in result.err


def test_blocked_destination_prints_only_the_error() -> None:
    """No stray plain log line before the JSON error (logging stays off unless --verbose)."""
    argv = [*DEVUTILS, "network", "headers", "--url", "http://127.0.0.1:9/"]
    env = {**os.environ, "SECRETS_MOUNT_PATH": "/nonexistent", "LOG_LEVEL": "info"}
    quiet = subprocess.run(argv, capture_output=True, env=env, check=False, timeout=60)
    assert quiet.returncode == 77
    assert quiet.stdout == b""
    assert [json.loads(line)["error"]["code"] for line in quiet.stderr.splitlines()] == [
        "SSRF_BLOCKED"
    ]
    verbose = subprocess.run(
        [*argv, "--verbose"], capture_output=True, env=env, check=False, timeout=60
    )
    lines = [json.loads(line) for line in verbose.stderr.splitlines()]
    assert any(str(line.get("msg")).startswith("ssrf blocked: ") for line in lines), lines
    assert lines[-1]["error"]["code"] == "SSRF_BLOCKED"


def test_a_real_pipe() -> None:
    done = subprocess.run(
        [*DEVUTILS, "crypto", "hash", "--algorithm", "sha256", "--raw"],
        input=b"abc",
        capture_output=True,
        env={**os.environ, "SECRETS_MOUNT_PATH": "/nonexistent"},
        check=False,
        timeout=60,
    )
    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        b"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n",
        b"",
    )


# -- a Unix tool's exits: the reader left, a full disk, Ctrl-C ----------------------------------

OUTPUT_COMMANDS = {
    "tool": ["crypto", "hash", "--content", "x", "--algorithm", "sha256"],
    "tools": ["tools"],
    "completion": ["completion", "bash"],
    "help": ["crypto", "hash", "--help"],
    "usage": [],
    "version": ["--version"],
}


def _env(unbuffered: bool) -> dict[str, str]:
    """Python buffers stdout unless PYTHONUNBUFFERED is set: a failed write shows up at a
    different place in each case, and both must end the same way."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    env["SECRETS_MOUNT_PATH"] = "/nonexistent"
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("argv", OUTPUT_COMMANDS.values(), ids=OUTPUT_COMMANDS.keys())
def test_a_reader_that_left_ends_the_command_quietly_with_141(
    argv: list[str], unbuffered: bool
) -> None:
    """`devutils tools | head -1`: the pipe's reader is gone before devutils writes."""
    proc = subprocess.Popen(
        [*DEVUTILS, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(unbuffered)
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 141, err
    assert err == b""


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("argv", OUTPUT_COMMANDS.values(), ids=OUTPUT_COMMANDS.keys())
def test_a_full_disk_is_one_line_and_exit_74(argv: list[str], unbuffered: bool) -> None:
    with open("/dev/full", "wb") as full:
        done = subprocess.run(
            [*DEVUTILS, *argv],
            stdout=full,
            stderr=subprocess.PIPE,
            env=_env(unbuffered),
            check=False,
            timeout=60,
        )
    assert (done.returncode, done.stderr) == (
        74,
        b"devutils: write error: No space left on device\n",
    )


# 600,000 bytes in, 800,000 out: more than a pipe holds (64 KiB), so that a write is cut short.
BIG_OUTPUT = ["transform", "base64", "--action", "encode", "--raw"]


def _big_input(tmp_path: Path) -> Path:
    path = tmp_path / "big.txt"
    path.write_bytes(b"a" * 600_000)
    return path


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
def test_a_reader_that_left_midway_ends_the_command_with_141(
    tmp_path: Path, unbuffered: bool
) -> None:
    """`devutils ... | head -c1`: the reader leaves while devutils is in the middle of a write,
    which then returns short; the rest must not be dropped with exit 0."""
    with _big_input(tmp_path).open("rb") as stdin:
        proc = subprocess.Popen(
            [*DEVUTILS, *BIG_OUTPUT],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_env(unbuffered),
        )
    assert proc.stdout is not None
    assert proc.stderr is not None
    assert os.read(proc.stdout.fileno(), 1) == b"Y"  # devutils is writing: the pipe is full
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 141, err
    assert err == b""


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
def test_a_non_blocking_pipe_gets_every_byte(tmp_path: Path, unbuffered: bool) -> None:
    """A pipe whose reader's side set O_NONBLOCK on it (the flag is shared by both ends): when it
    is full, devutils waits for the reader as it would on a blocking pipe."""
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    try:
        with _big_input(tmp_path).open("rb") as stdin:
            proc = subprocess.Popen(
                [*DEVUTILS, *BIG_OUTPUT],
                stdin=stdin,
                stdout=write_end,
                stderr=subprocess.PIPE,
                env=_env(unbuffered),
            )
        os.close(write_end)
        # A slow reader: nothing is read until the pipe is full and a write would block.
        capacity = fcntl.fcntl(read_end, fcntl.F_GETPIPE_SZ)
        deadline = time.monotonic() + 60
        while _pending(read_end) < capacity:
            assert time.monotonic() < deadline, "devutils never filled the pipe"
            time.sleep(0.05)
        received = 0
        while chunk := os.read(read_end, 65536):
            received += len(chunk)
    finally:
        os.close(read_end)
    assert proc.stderr is not None
    err = proc.stderr.read()
    assert (proc.wait(timeout=60), received, err) == (0, 800_000, b"")


def _pending(fd: int) -> int:
    """Bytes waiting in a pipe (FIONREAD)."""
    return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]  # type: ignore[no-any-return]


INITIALIZE = (
    b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",'
    b'"capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}\n'
)


def _started_with(redirect: str, argv: list[str], stdin: bytes = b"") -> Result:
    """``devutils ARGV <&-`` (or ``>&-``, ``2>&-``) as a shell runs it: that descriptor closed."""
    done = subprocess.run(
        ["sh", "-c", f'exec "$@" {redirect}', "sh", *DEVUTILS, *argv],
        input=stdin,
        capture_output=True,
        env=_env(unbuffered=False),
        check=False,
        timeout=60,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def test_mcp_with_stdin_closed_serves_no_input_and_exits_0() -> None:
    """No input is stdin at EOF (docs/mcp.md): exit 0 (uvloop took fd 0 and aborted, 134)."""
    result = _started_with("<&-", ["mcp"])
    assert (result.code, result.out) == (0, b""), result.err
    assert [orjson.loads(line)["msg"] for line in result.err.splitlines()] == [
        "serving MCP over stdio"
    ]


def test_mcp_with_stdout_closed_is_one_line_and_exit_74() -> None:
    """No answer could be written: refused at once, like a tool's closed stdout (was 134)."""
    result = _started_with(">&-", ["mcp"], INITIALIZE)
    assert (result.code, result.err) == (74, b"devutils: write error: Bad file descriptor\n")


def test_mcp_with_stderr_closed_answers() -> None:
    """The logs are lost, the protocol is not (uvloop took fd 2 and aborted, 134)."""
    result = _started_with("2>&-", ["mcp"], INITIALIZE)
    assert result.code == 0
    reply = orjson.loads(result.out)
    assert (reply["id"], reply["result"]["serverInfo"]["name"]) == (1, "dev-utilities")


@pytest.mark.parametrize(
    ("redirect", "argv", "code"),
    [
        ("<&-", ["id", "uuid", "--version", "4", "--raw"], 0),
        ("<&-", ["crypto", "hash", "--algorithm", "md5", "--content", "-"], 65),
        ("2>&-", ["id", "uuid", "--version", "4", "--raw"], 0),
        ("2>&-", ["id", "uuid"], 65),  # the error is lost, its exit code is not (was 1)
        ("2>&-", ["id", "uuid", "--bogus"], 64),
    ],
    ids=["stdin-ok", "stdin-read", "stderr-ok", "stderr-error", "stderr-usage"],
)
def test_a_tool_started_with_a_descriptor_closed_keeps_its_exit_code(
    redirect: str, argv: list[str], code: int
) -> None:
    result = _started_with(redirect, argv)
    assert result.code == code, result.err
    assert len(result.out) == (37 if code == 0 else 0)  # a UUID and a line break
    assert b"Traceback" not in result.err


def _close_stdout() -> None:
    os.close(1)


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("argv", OUTPUT_COMMANDS.values(), ids=OUTPUT_COMMANDS.keys())
def test_a_closed_stdout_is_one_line_and_exit_74(argv: list[str], unbuffered: bool) -> None:
    """`devutils tools >&-`: Python starts with sys.stdout None."""
    done = subprocess.run(
        [*DEVUTILS, *argv],
        stderr=subprocess.PIPE,
        env=_env(unbuffered),
        preexec_fn=_close_stdout,
        check=False,
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (74, b"devutils: write error: Bad file descriptor\n")


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("stdout", ["closed", "/dev/full"])
@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["crypto", "hash", "--content", "x", "--algorithm", "bogus", "--raw"], 65),
        (["crypto", "hash", "--bogus", "--raw"], 64),
    ],
    ids=["invalid-value", "usage"],
)
def test_a_command_that_prints_nothing_keeps_its_exit_code(
    argv: list[str], code: int, stdout: str, unbuffered: bool
) -> None:
    """Nothing to write is no write: write(1, "", 0) fails on /dev/full."""
    with open("/dev/full", "wb") as full:
        done = subprocess.run(
            [*DEVUTILS, *argv],
            stdout=full if stdout == "/dev/full" else None,
            stderr=subprocess.PIPE,
            env=_env(unbuffered),
            preexec_fn=_close_stdout if stdout == "closed" else None,
            check=False,
            timeout=60,
        )
    assert done.returncode == code, done.stderr
    assert done.stderr.startswith(b"devutils: VALIDATION_ERROR: ")
    assert done.stderr.count(b"\n") == 1, done.stderr


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_while_reading_stdin_exits_130_without_a_traceback() -> None:
    """`sleep 10 | devutils crypto hash --algorithm sha256`, then Ctrl-C."""
    proc = subprocess.Popen(
        [*DEVUTILS, "crypto", "hash", "--algorithm", "sha256"],
        stdin=subprocess.PIPE,  # kept open and empty, like sleep's
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(unbuffered=False),
        # A shell starts background jobs with SIGINT ignored, and Python keeps ignoring it then
        # (as it should): when this suite runs in the background, the child must still get the
        # default disposition, as a foreground command has.
        preexec_fn=_default_sigint,
    )
    try:
        # The signal must land while devutils blocks in read(0, ...), not while it starts up.
        deadline = time.monotonic() + 30
        while not Path(f"/proc/{proc.pid}/syscall").read_text().startswith("0 0x0 "):
            assert time.monotonic() < deadline, "devutils never read its stdin"
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else b""
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert (proc.returncode, out, err) == (130, b"", b"")


def _catches_sigint(pid: int) -> bool:
    return in_signal_set(pid, "SigCgt", signal.SIGINT)


def _reads_stdin(pid: int) -> bool:
    return Path(f"/proc/{pid}/syscall").read_text().startswith("0 0x0 ")


def _start_until_devutils_runs() -> subprocess.Popen[bytes]:
    """`devutils crypto hash` started and past the interpreter's own start-up: Python has set its
    SIGINT handler and devutils' entry point has taken it away again.  (A Ctrl-C in the ~20 ms
    before is the interpreter's to report; no code of ours runs there.)  Should this process miss
    those moments (descheduled on a busy machine), it returns at the latest once the command reads
    its stdin: the start-up is then over, and the signal lands later, never earlier."""
    proc = subprocess.Popen(
        [*DEVUTILS, "crypto", "hash", "--algorithm", "sha256"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(unbuffered=False),
        preexec_fn=_default_sigint,
    )
    deadline = time.monotonic() + 30
    python_started = False
    while not _reads_stdin(proc.pid):
        catches = _catches_sigint(proc.pid)
        if python_started and not catches:
            break
        python_started = python_started or catches
        assert time.monotonic() < deadline, "devutils never started"
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else b""
        time.sleep(0.0005)
    return proc


def _start_up_seconds() -> float:
    """From the entry point's taking over to the first read of stdin: the rest of start-up."""
    proc = _start_until_devutils_runs()
    try:
        started = time.monotonic()
        while not _reads_stdin(proc.pid):
            assert time.monotonic() < started + 30, "devutils never read its stdin"
            time.sleep(0.001)
        return time.monotonic() - started
    finally:
        proc.kill()
        proc.communicate()


def test_ctrl_c_during_start_up_ends_quietly() -> None:
    """Ctrl-C while the command still imports its modules (the tools' ones included): no
    traceback, ended as by SIGINT (the shell's 130).  Sent at every fifth of the start-up this
    machine takes, so that each stretch of it is hit whatever the machine's speed."""
    start_up = _start_up_seconds()
    for fifth in range(6):
        proc = _start_until_devutils_runs()
        try:
            time.sleep(start_up * fifth / 5)
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=30)
        finally:
            proc.kill()
        assert b"Traceback" not in err, (fifth, start_up, err)
        assert (proc.returncode, out, err) in ((-signal.SIGINT, b"", b""), (130, b"", b"")), fifth


# Run as `python -c`: records which modules are imported once devutils hands Ctrl-C back to
# Python (KeyboardInterrupt), then runs the command and reports them on stderr's last line.
_LATE_IMPORTS = """
import json, signal, sys
restored = []
real = signal.signal
def spy(signum, handler):
    if signum == signal.SIGINT and handler is signal.default_int_handler and not restored:
        restored.append(set(sys.modules))
    return real(signum, handler)
signal.signal = spy
sys.argv = ["devutils", *sys.argv[1:]]
from devutils.entry import main
status = main()
late = sorted(set(sys.modules) - restored[0]) if restored else None
print(json.dumps({"status": status, "late": late}), file=sys.stderr)
"""


@pytest.mark.parametrize(
    ("argv", "env", "status"),
    [
        (["crypto", "hash", "--algorithm", "sha256"], {}, 0),
        (["crypto", "password", "hash", "--password-env", "DEVUTILS_PW"], {"DEVUTILS_PW": "pw"}, 0),
        (["data", "json", "format", "--action", "format"], {}, 0),
        (["mcp"], {}, 0),
        (["serve"], {"SERVER_PORT": "not-a-port"}, 78),
    ],
)
def test_every_devutils_module_is_imported_before_ctrl_c_is_handed_back(
    argv: list[str], env: dict[str, str], status: int
) -> None:
    """A Ctrl-C inside a module's import can come out as a RuntimeError (inside a class body,
    say a dataclass's fields) that no `except KeyboardInterrupt` catches, so the command must
    import what it runs while SIGINT still has its default action: our modules all, and for a
    tool, nothing at all afterwards.  (The MCP server's event loop imports its own backend.)"""
    done = subprocess.run(
        [sys.executable, "-c", _LATE_IMPORTS, *argv],
        input=b"{}",
        capture_output=True,
        env={**_env(unbuffered=False), **env},
        preexec_fn=_default_sigint,
        check=False,
        timeout=60,
    )
    report = json.loads(done.stderr.splitlines()[-1])
    assert report["status"] == status, done.stderr
    late = report["late"]
    assert late is not None, "SIGINT was never handed back"
    assert [name for name in late if name.startswith("devutils")] == []
    if argv[0] not in ("mcp", "serve"):
        assert late == []


# -- help -------------------------------------------------------------------------------------


def test_help_shows_required_fields_and_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["crypto", "hash", "--help"])
    text = capsys.readouterr().out
    usage = " ".join(text.split("\n\n")[0].split())
    assert "--content CONTENT --algorithm {md5,sha1,sha224,sha256," in usage
    assert "[--content" not in usage
    assert "devutils crypto hash --content 'hello world' --algorithm sha256" in text
    with pytest.raises(SystemExit):
        main(["crypto", "password", "hash", "--help"])
    assert "--password-env VAR" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("name", "index"),
    [(name, i) for name, spec in SPECS.items() for i in range(len(spec.examples))],
)
def test_help_example_lines_run_like_the_json_examples(
    cli: Run, monkeypatch: pytest.MonkeyPatch, name: str, index: int
) -> None:
    """Each command line shown in --help gives what the registry example gives."""
    spec = SPECS[name]
    for key in ("DNS_RESOLVERS", "DNS_TIMEOUT", "NETWORK_TIMEOUT"):
        monkeypatch.setenv(key, {"DNS_RESOLVERS": "127.0.0.1:9"}.get(key, "0.1"))
    line = example_command(spec, spec.examples[index].args)
    words = shlex.split(line)
    assert words[: len(spec.words) + 1] == ["devutils", *spec.words]
    shown = cli(*words[1:], stdin=b"")
    reference = cli(*spec.words, "--json", json.dumps(dict(spec.examples[index].args)), stdin=b"")
    assert shown.code == reference.code, (line, shown.err)
    if shown.code == 0:
        if name in RANDOM_OUTPUT or name in REAL_CLOCK_IN_CLI:
            assert shape(shown.json()) == shape(reference.json())
        else:
            assert shown.json() == reference.json(), line
    else:
        assert shown.error() == reference.error()


# -- completion -------------------------------------------------------------------------------


def _complete(script: str, *words: str) -> list[str]:
    """What bash's completion function offers for ``devutils <words>`` (last word: the prefix)."""
    program = "\n".join(
        [
            script,
            "complete -p devutils",
            f"COMP_WORDS=(devutils {' '.join(shlex.quote(w) for w in words)})",
            f"COMP_CWORD={len(words)}",
            "_devutils",
            'printf "%s\\n" "${COMPREPLY[@]}"',
        ]
    )
    done = subprocess.run(
        ["bash", "--norc", "--noprofile"],
        input=program.encode(),
        capture_output=True,
        check=True,
        timeout=30,
    )
    lines = done.stdout.decode().splitlines()
    assert lines[0] == "complete -F _devutils devutils"
    return [line for line in lines[1:] if line]


def test_bash_completion(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", "bash"]) == 0
    script = capsys.readouterr().out
    top = _complete(script, "")
    assert {"serve", "mcp", "completion", "crypto", "text", "transform"} <= set(top)
    assert _complete(script, "cr") == ["crypto"]
    assert _complete(script, "crypto", "password", "") == ["hash", "inspect", "verify", "--help"]
    assert _complete(script, "crypto", "hash", "--algorithm", "sha5") == ["sha512", "sha512_256"]
    assert "--content" in _complete(script, "crypto", "hash", "--c")
    # Values with spaces stay one candidate, quoted for the command line.
    assert _complete(script, "text", "case", "--case-type", "Ti") == ["Title\\ Case"]
    assert _complete(script, "text", "case", "--case-type", "Title\\ C") == ["Title\\ Case"]
    assert len(_complete(script, "text", "case", "--case-type", "")) == 13
    # compgen on the word list the function offers, as bash itself does.
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", f'{script}\ncompgen -W "$(_devutils_next text)" r'],
        capture_output=True,
        check=True,
        timeout=30,
    )
    assert done.stdout.decode().split() == ["regex"]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_name_every_tool(
    capsys: pytest.CaptureFixture[str], shell: str
) -> None:
    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    for spec in SPECS.values():
        assert f"{' '.join(spec.words[:-1])}|{spec.words[-1]}" in script or (
            f'"{" ".join(spec.words)}")' in script
        )
    if shell == "fish":
        assert "complete -c devutils -n '__devutils_at \\'crypto hash\\'' -l algorithm" in script
        assert " Title\\\\ Case " in script  # \\ in single quotes: fish reads "Title\ Case"
    else:
        assert script.startswith("#compdef devutils\n")
        assert "bashcompinit" in script


def test_a_field_named_like_a_cli_option_stays_reachable_through_json() -> None:
    from devutils.cli import build_parser
    from devutils.models import ToolOutput
    from devutils.registry import ToolSpec

    class _Clash(ToolInput):
        raw: str
        json_text: str = ""

    class _Out(ToolOutput):
        value: str

    spec = ToolSpec(
        path="/api/v1/zz/clash",
        title="clash",
        description="A field called raw.",
        func=lambda inp, ctx: _Out(value=inp.raw),
        input_model=_Clash,
        output_model=_Out,
    )
    parser = build_parser([*SPECS.values(), spec])
    namespace = parser.parse_args(["zz", "clash", "--raw", "--json-text", "x"])
    assert namespace.raw is True
    assert getattr(namespace, "field:json_text") == "x"


def _shell(name: str) -> str:
    """The path of a real zsh or fish; CI installs both (REQUIRE_SHELLS=1), elsewhere a test
    that needs one skips without it."""
    found = shutil.which(name)
    if found is None:
        if os.environ.get("REQUIRE_SHELLS"):
            pytest.fail(f"{name} is not installed (REQUIRE_SHELLS is set)")
        pytest.skip(f"{name} is not installed")
    return found


def _completion_script(shell: str, tmp_path: Path) -> Path:
    script = tmp_path / f"devutils.{shell}"
    done = subprocess.run(
        [*DEVUTILS, "completion", shell], capture_output=True, check=True, timeout=60
    )
    script.write_bytes(done.stdout)
    return script


def test_zsh_loads_the_script_without_compinit_run_before(tmp_path: Path) -> None:
    """The documented `eval "$(devutils completion zsh)"` in a ~/.zshrc that never ran compinit
    failed with "command not found: compdef" and registered nothing."""
    zsh = _shell("zsh")
    script = _completion_script("zsh", tmp_path)
    done = subprocess.run(
        [zsh, "-f", "-c", f'source {script} && print -r -- "$_comps[devutils]"'],
        capture_output=True,
        env={**os.environ, "HOME": str(tmp_path)},  # compinit writes its dump there
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (0, b"")
    assert done.stdout.decode().strip() == "_bash_complete -F _devutils"


def test_fish_completes_an_option_value_with_its_choices_only(tmp_path: Path) -> None:
    """`devutils crypto hash --algorithm s<TAB>` also offered the files of the directory."""
    fish = _shell("fish")
    script = _completion_script("fish", tmp_path)
    (tmp_path / "sha5-notes.txt").write_text("")  # a file the value's prefix matches
    done = subprocess.run(
        [
            fish,
            "--no-config",
            "-c",
            f'source {script}; complete -C "devutils crypto hash --algorithm sha5"',
        ],
        capture_output=True,
        cwd=tmp_path,
        env={**os.environ, "HOME": str(tmp_path)},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().split() == ["sha512", "sha512_256"]
