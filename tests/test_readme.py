"""The README's first run: its CLI examples run as written, its docker lines fit the Dockerfile, the
licence it ships under is there; the agent configurations in the README and docs start a real
``devutils`` command."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from devutils.errors import ToolError
from tests.support import DEVUTILS, ROOT

README = (ROOT / "README.md").read_text()
VENV_BIN = Path(sys.executable).parent


def console_blocks(text: str) -> list[list[tuple[str, str]]]:
    """Each ```console block as (command, expected stdout) pairs: ``$ `` starts a command, the
    lines up to the next one are its output."""
    blocks = []
    for body in re.findall(r"^```console\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL):
        pairs: list[tuple[str, str]] = []
        for line in body.splitlines(keepends=True):
            if line.startswith("$ "):
                pairs.append((line[2:].rstrip("\n"), ""))
            else:
                assert pairs, f"output before any command: {line!r}"
                command, output = pairs[-1]
                pairs[-1] = (command, output + line)
        blocks.append(pairs)
    return blocks


BLOCKS = console_blocks(README)


def test_the_readme_has_cli_examples() -> None:
    commands = [command for block in BLOCKS for command, _ in block]
    assert len(commands) >= 10
    assert any("| devutils" in command for command in commands)  # stdin
    assert any("@" in command for command in commands)  # files
    assert any("--raw" in command for command in commands)


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_cli_examples_run_as_written(block: list[tuple[str, str]], tmp_path: Path) -> None:
    """In a fresh shell: only the venv's bin on PATH (as after activating it), an empty directory."""
    env = {"PATH": f"{VENV_BIN}:/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    for command, expected in block:
        done = subprocess.run(
            ["bash", "--norc", "--noprofile", "-c", command],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=False,
            timeout=60,
        )
        assert done.stdout.decode() == expected, (command, done.stderr.decode())
        assert done.returncode == 0, (command, done.stderr.decode())


def test_docker_lines_fit_the_dockerfile() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["devutils"]' in dockerfile
    assert 'CMD ["serve"]' in dockerfile
    exposed = re.findall(r"^EXPOSE (\d+)$", dockerfile, flags=re.MULTILINE)
    assert exposed == ["8080"]
    assert "SERVER_PORT=8080" in dockerfile
    lines = [line for line in README.splitlines() if line.startswith("docker ")]
    build = [shlex.split(line) for line in lines if line.startswith("docker build")]
    assert build == [["docker", "build", "-f", "deploy/Dockerfile", "-t", "dev-utilities", "."]]
    runs = [shlex.split(line.split("<")[0]) for line in lines if line.startswith("docker run")]
    assert runs
    for run in runs:
        image = run.index("dev-utilities")
        assert image > 0
        if "-p" in run:  # the published container port is the one the image listens on
            assert run[run.index("-p") + 1].rsplit(":", 1)[1] == exposed[0]
        # what follows the image is a devutils command line (the entrypoint)
        assert run[image + 1 :] == [] or run[image + 1] in ("serve", "crypto", "text", "tools")


def stdio_servers() -> list[tuple[str, str, list[str]]]:
    """(document, command, args) of every stdio server in the ```json agent configurations."""
    found = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = path.read_text()
        for block in re.findall(r"^```json\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL):
            servers = json.loads(block).get("mcpServers", {})
            for server in servers.values():
                if "command" in server:
                    found.append((path.name, server["command"], server.get("args", [])))
    return found


# `docker run` options that take a value (the ones an agent configuration would use)
DOCKER_VALUE_OPTIONS = {"-e", "--env", "--env-file", "-v", "--volume", "--name", "--network"}


def devutils_words(command: str, args: list[str]) -> list[str]:
    """The devutils command line a server configuration runs: after the image for docker, whose
    entrypoint is devutils (test_docker_lines_fit_the_dockerfile)."""
    if Path(command).name == "devutils":
        return args
    assert command == "docker", command
    assert args[0] == "run", args
    assert "--entrypoint" not in args, args
    index = 1
    while args[index].startswith("-"):
        index += 2 if args[index] in DOCKER_VALUE_OPTIONS else 1
    return args[index + 1 :]


def test_agent_configurations_run_a_devutils_command() -> None:
    servers = stdio_servers()
    assert {command for _, command, _ in servers} == {"devutils", "docker"}
    assert devutils_words("docker", ["run", "-i", "--rm", "-e", "A=1", "img", "mcp"]) == ["mcp"]
    for document, command, args in servers:
        words = devutils_words(command, args)
        assert words == ["mcp"], (document, args)
        # and the real command line parses (`devutils devutils mcp` would be a usage error, 64)
        done = subprocess.run(
            [*DEVUTILS, *words, "--help"], capture_output=True, check=False, timeout=60
        )
        assert done.returncode == 0, (document, args, done.stderr)
        assert done.stdout.startswith(b"usage: devutils mcp"), done.stdout


def test_readme_keeps_its_first_two_commands_on_top() -> None:
    blocks = re.findall(r"^```bash\n(.*?)^```$", README, flags=re.MULTILINE | re.DOTALL)
    assert blocks[0].startswith("python3 -m venv .venv && ")
    assert blocks[0].rstrip().endswith(".venv/bin/devutils serve")
    assert blocks[1] == "bash scripts/test.sh\n"


def test_the_licence_named_in_pyproject_is_shipped() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'license = { text = "MIT" }' in pyproject
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n")
    assert "Permission is hereby granted, free of charge" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND' in text


def test_cli_exit_codes_in_the_docs_match_the_error_classes() -> None:
    table = (ROOT / "docs" / "cli.md").read_text()
    by_code = {
        cls.code: cls.exit_code for cls in _error_classes() if cls.__module__ == "devutils.errors"
    }
    checked = 0
    for exit_code, codes in re.findall(r"^\| (\d+) \|[^|]*\|([^|]*)\|$", table, re.MULTILINE):
        for code in re.findall(r"`([A-Z_]+)`", codes):
            if code == "VALIDATION_ERROR" and exit_code == "64":
                continue  # command-line errors: the CLI's UsageError
            assert by_code[code] == int(exit_code), code
            checked += 1
    assert checked >= 8


def _error_classes() -> list[type[ToolError]]:
    found: list[type[ToolError]] = []
    pending: list[type[ToolError]] = [ToolError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found
