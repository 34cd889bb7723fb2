"""Settings: parsing, validation messages naming the variable, secrets, documentation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from devutils.settings import ENV_NAMES, SettingsError, load_settings

# Keys long enough to pass the start-up strength check (16 bytes).
A = "key-a-0123456789abcdef"
B = "key-b-0123456789abcdef"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"


def test_every_variable_is_documented() -> None:
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", DOCS.read_text()))
    missing = sorted(set(ENV_NAMES) - documented)
    assert missing == []


def test_defaults_match_the_reference() -> None:
    settings = load_settings({})
    assert settings.server_port == 8080
    assert settings.auth_method == "none"
    assert settings.rate_limit_store == "memory"
    assert (settings.argon_memory, settings.argon_iterations, settings.argon_parallelism) == (
        65536,
        3,
        4,
    )
    assert (settings.argon_salt_length, settings.argon_key_length) == (16, 32)
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.ssrf_allow_ports == ("80", "443", "8080", "8443")


def test_lists_are_trimmed_and_empties_dropped() -> None:
    settings = load_settings({"AUTH_API_KEYS": f" {A} , ,{B},", "AUTH_METHOD": "api_key"})
    assert settings.auth_api_keys == (A, B)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"SERVER_PORT": "http"}, "SERVER_PORT"),
        ({"SERVER_PORT": "70000"}, "SERVER_PORT"),
        ({"AUTH_METHOD": "basic"}, "AUTH_METHOD"),
        ({"AUTH_METHOD": "api_key"}, "AUTH_API_KEYS"),
        ({"AUTH_METHOD": "jwt"}, "AUTH_JWT_SECRET"),
        ({"RATE_LIMIT_STORE": "redis"}, "RATE_LIMIT_REDIS_URL"),
        ({"RATE_LIMIT_ENABLED": "maybe"}, "RATE_LIMIT_ENABLED"),
        ({"ARGON_MEMORY": "12"}, "ARGON_MEMORY"),
        ({"TRUSTED_PROXIES": "10.0.0.0/33"}, "TRUSTED_PROXIES"),
        ({"SSRF_ALLOW_PORTS": "80,9000-8000"}, "SSRF_ALLOW_PORTS"),
        ({"TRACING_SAMPLE_RATE": "1.5"}, "TRACING_SAMPLE_RATE"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
    ],
)
def test_invalid_values_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        load_settings(env)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"AUTH_METHOD": "api_key", "AUTH_API_KEYS": "CANARY"}, "AUTH_API_KEYS"),
        ({"AUTH_METHOD": "api_key", "AUTH_API_KEYS": f"{A},CANARY-15-bytes"}, "AUTH_API_KEYS"),
        ({"AUTH_METHOD": "jwt", "AUTH_JWT_SECRET": "CANARY"}, "AUTH_JWT_SECRET"),
        ({"AUTH_METHOD": "jwt", "AUTH_JWT_SECRET": "CANARY-" + "s" * 24}, "AUTH_JWT_SECRET"),
    ],
    ids=["short-key", "second-key-15-bytes", "short-secret", "secret-31-bytes"],
)
def test_weak_secrets_refuse_to_start(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError, match=variable) as caught:
        load_settings(env)
    secret = env.get("AUTH_API_KEYS", env.get("AUTH_JWT_SECRET", "")).split(",")[-1]
    assert secret not in str(caught.value)


def test_secrets_at_the_minimum_length_start() -> None:
    keys = load_settings({"AUTH_METHOD": "api_key", "AUTH_API_KEYS": "k" * 16})
    assert keys.auth_api_keys == ("k" * 16,)
    # Bytes, not characters: 8 two-byte characters are 16 bytes.
    assert load_settings({"AUTH_METHOD": "api_key", "AUTH_API_KEYS": "é" * 8}).auth_api_keys
    secret = load_settings({"AUTH_METHOD": "jwt", "AUTH_JWT_SECRET": "s" * 32})
    assert secret.auth_jwt_secret == "s" * 32


def test_port_zero_means_default() -> None:
    assert load_settings({"SERVER_PORT": "0"}).server_port == 8080


def test_mounted_secrets_fill_empty_values(tmp_path: Path) -> None:
    (tmp_path / "api-keys").write_text(f"{A},{B}\n")
    (tmp_path / "redis-url").write_text("redis://127.0.0.1:6379/0\n")
    settings = load_settings(
        {"SECRETS_MOUNT_PATH": str(tmp_path), "AUTH_METHOD": "api_key", "RATE_LIMIT_STORE": "redis"}
    )
    assert settings.auth_api_keys == (A, B)
    assert settings.rate_limit_redis_url == "redis://127.0.0.1:6379/0"
    # An explicit variable wins over the file.
    settings = load_settings({"SECRETS_MOUNT_PATH": str(tmp_path), "AUTH_API_KEYS": "env-key"})
    assert settings.auth_api_keys == ("env-key",)


def test_a_secret_file_may_hold_one_key_per_line(tmp_path: Path) -> None:
    (tmp_path / "api-keys").write_text(f"{A}\r\n  {B}  \n\n")
    settings = load_settings({"SECRETS_MOUNT_PATH": str(tmp_path), "AUTH_METHOD": "api_key"})
    assert settings.auth_api_keys == (A, B)
    # The same from the environment, and commas and newlines mixed.
    settings = load_settings({"AUTH_METHOD": "api_key", "AUTH_API_KEYS": f"{A}\n{B},{A}x"})
    assert settings.auth_api_keys == (A, B, A + "x")


@pytest.mark.parametrize(
    "keys",
    [f"{A},key-CANARY-0123 456789", f"{B}\nkey-CANARY-01234567\t89", "key-CANARY-0123456789\x00"],
    ids=["space", "tab", "nul"],
)
@pytest.mark.parametrize("source", ["environment", "secret-file"])
def test_keys_with_whitespace_or_control_characters_are_refused(
    keys: str, source: str, tmp_path: Path
) -> None:
    env = {"AUTH_METHOD": "api_key", "SECRETS_MOUNT_PATH": str(tmp_path)}
    if source == "environment":
        env["AUTH_API_KEYS"] = keys
    else:
        (tmp_path / "api-keys").write_text(keys)
    with pytest.raises(SettingsError, match=r"AUTH_API_KEYS: .*whitespace or control") as caught:
        load_settings(env)
    assert "CANARY" not in str(caught.value)
    assert "entry 2 of 2" in str(caught.value) or "entry 1 of 1" in str(caught.value)


def test_argon_concurrency_follows_the_memory_budget() -> None:
    settings = load_settings({"ARGON_MEMORY": "65536", "ARGON_MEMORY_BUDGET_MIB": "64"})
    assert settings.argon_concurrency == 1
    assert load_settings({"ARGON_MAX_CONCURRENCY": "7"}).argon_concurrency == 7


def test_cli_refuses_invalid_configuration(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from devutils.cli import main

    monkeypatch.setenv("SERVER_PORT", "not-a-port")
    assert main(["crypto", "hash", "--algorithm", "md5"]) == 78
    assert "SERVER_PORT" in capsys.readouterr().err


# A password as `openssl rand -base64` makes them: '/', '#' and '?' end a URL's authority, so
# redis-py's own parser sees parts of it as a port or a path and quotes them in its errors.
PASSWORD = "CANARY9/Pass#wo?rd"
NO_SECRETS = {"SECRETS_MOUNT_PATH": "/nonexistent"}


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("RATE_LIMIT_REDIS_URL", f"redis://:{PASSWORD}@127.0.0.1:6379/0"),
        ("RATE_LIMIT_REDIS_URL", "redis://:1234/CANARY@127.0.0.1:6379/0"),  # would be localhost
        ("RATE_LIMIT_REDIS_URL", "http://:CANARY@127.0.0.1:6379/0"),
        ("RATE_LIMIT_REDIS_URL", "CANARY-supersecret"),
        ("RATE_LIMIT_REDIS_URL", "redis://:CANARY@127.0.0.1:notaport/0"),
        ("RATE_LIMIT_REDIS_URL", "redis://:CANARY@127.0.0.1:6379/0?CANARY=1"),
        ("RATE_LIMIT_REDIS_URL", "redis://:CANARY@127.0.0.1:6379/CANARY"),  # was database 0
        ("RATE_LIMIT_REDIS_URL", "rediss://:CANARY@127.0.0.1:6379/1x"),
        ("CORS_ALLOW_ORIGINS", "https://ok.example,CANARY"),
        ("CORS_ALLOW_ORIGINS", "https://CANARY.example:http"),
        ("DNS_RESOLVERS", "CANARY"),
        ("DNS_RESOLVERS", "192.0.2.1,192.0.2.2:CANARY"),
        ("DNS_RESOLVERS", "192.0.2.1:70000"),
        ("TRACING_OTLP_ENDPOINT", "CANARY"),
        ("TRACING_OTLP_ENDPOINT", "ftp://CANARY:4318"),
        ("TRACING_OTLP_ENDPOINT", "http://CANARY:port"),
        ("TRACING_OTLP_ENDPOINT", "http://:4318/CANARY"),
    ],
)
def test_unusable_values_are_refused_naming_the_variable_only(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"^invalid configuration: {variable}: ") as caught:
        load_settings({**NO_SECRETS, variable: value})
    message = str(caught.value)
    assert "CANARY" not in message
    assert "Pass" not in message
    assert "(value not shown)" in message


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("RATE_LIMIT_REDIS_URL", "redis://:CANARY9%2FPass%23wo%3Frd@127.0.0.1:6379/0"),
        ("RATE_LIMIT_REDIS_URL", "rediss://user:pw@redis.example:6380/2"),
        ("RATE_LIMIT_REDIS_URL", "unix:///run/redis.sock?db=1"),
        ("CORS_ALLOW_ORIGINS", "https://app.example,http://*.example.com:8080,*"),
        ("DNS_RESOLVERS", "192.0.2.1, 192.0.2.2:5353,[2001:db8::1]:53,2001:db8::2"),
        ("TRACING_OTLP_ENDPOINT", "http://otel-collector:4318"),
        ("TRACING_OTLP_ENDPOINT", "https://c.example/v1/traces"),
        ("TRACING_OTLP_ENDPOINT", "collector:4318"),  # bare host:port means https
    ],
)
def test_usable_values_start(variable: str, value: str) -> None:
    settings = load_settings({**NO_SECRETS, variable: value})
    assert getattr(settings, variable.lower()) in (
        value,
        tuple(v.strip() for v in value.split(",")),
    )


@pytest.mark.parametrize("value", ["abc", "0", "257"])
def test_web_concurrency_is_named_when_it_is_the_source(value: str) -> None:
    with pytest.raises(SettingsError, match=r"^invalid configuration: WEB_CONCURRENCY: ") as caught:
        load_settings({**NO_SECRETS, "WEB_CONCURRENCY": value})
    assert "SERVER_WORKERS" not in str(caught.value)
    with pytest.raises(SettingsError, match=r"^invalid configuration: SERVER_WORKERS: "):
        load_settings({**NO_SECRETS, "SERVER_WORKERS": value, "WEB_CONCURRENCY": "2"})


def test_a_value_from_a_secret_file_is_named_with_its_file(tmp_path: Path) -> None:
    (tmp_path / "redis-url").write_text(f"redis://:{PASSWORD}@redis:6379/0\n")
    with pytest.raises(SettingsError) as caught:
        load_settings({"SECRETS_MOUNT_PATH": str(tmp_path), "RATE_LIMIT_STORE": "redis"})
    message = str(caught.value)
    assert f"RATE_LIMIT_REDIS_URL (secret file {tmp_path / 'redis-url'}): " in message
    assert "CANARY" not in message
