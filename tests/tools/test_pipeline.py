"""pipeline: steps chained by references, run as ordinary registry calls (limits, deadlines and
caps of each step still apply), the failing step named with its own error code."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from devutils.errors import ToolError, ToolTimeoutError, ValidationError
from devutils.models import NoInput, ToolOutput
from devutils.registry import (
    CallInfo,
    Registry,
    StepCall,
    ToolContext,
    ToolSpec,
    catalogue,
    dump_output,
)
from devutils.tools.pipeline import resolve
from tests.conftest import FIXED_NOW, make_settings
from tests.support import DEVUTILS, run_redis

SHA256_HELLO = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"


def run(registry: Registry, **args: Any) -> dict[str, Any]:
    spec = registry.get("pipeline")
    assert spec is not None
    return dump_output(registry.invoke_sync(spec, args))


async def run_async(registry: Registry, **args: Any) -> dict[str, Any]:
    spec = registry.get("pipeline")
    assert spec is not None
    return dump_output(await registry.invoke(spec, args, CallInfo(frontend="rest")))


def step(tool: str, **args: Any) -> dict[str, Any]:
    return {"tool": tool, "args": args}


def test_prev_feeds_the_next_step(registry: Registry) -> None:
    out = run(
        registry,
        steps=[
            step("crypto_hash", content="hello", algorithm="sha256"),
            step("text_case", content="$prev.hash", caseType="UPPERCASE"),
        ],
    )
    assert out == {"result": {"result": SHA256_HELLO.upper(), "caseType": "UPPERCASE"}}


async def test_the_event_loop_path_gives_the_same_answer(registry: Registry) -> None:
    steps = [
        step("id_uuid", version=4, count=2),
        step("text_case", content="$prev.uuids.1", caseType="UPPERCASE"),
    ]
    out = await run_async(registry, steps=steps, includeSteps=True)
    second_uuid = out["steps"][0]["output"]["uuids"][1]
    assert out["result"]["result"] == second_uuid.upper()
    assert [s["tool"] for s in out["steps"]] == ["id_uuid", "text_case"]


def test_named_steps_paths_and_literal_dollars(registry: Registry) -> None:
    out = run(
        registry,
        steps=[
            {
                "tool": "/api/v1/crypto/hash",
                "id": "h",
                "args": {"content": "hello", "algorithm": "md5"},
            },
            step("text_case", content="$$prev is literal", caseType="UPPERCASE"),
            step("crypto_hmac", content="$h.hash", key="$h.algorithm", algorithm="sha256"),
        ],
        includeSteps=True,
    )
    assert out["steps"][1]["output"]["result"] == "$PREV IS LITERAL"
    assert out["steps"][2]["tool"] == "crypto_hmac"
    assert out["result"]["algorithm"] == "sha256"
    assert "id" not in out["steps"][1]
    assert out["steps"][0]["id"] == "h"


def test_references_resolve_inside_lists_and_objects() -> None:
    outputs = {"prev": {"a": [{"b": "x"}, {"b": "y"}]}}
    assert resolve({"k": ["$prev.a.1.b", 3, {"n": "$prev.a.0.b"}]}, outputs) == {
        "k": ["y", 3, {"n": "x"}]
    }
    with pytest.raises(KeyError):
        resolve("$prev.a.2.b", outputs)
    with pytest.raises(KeyError):
        resolve("$prev.missing", outputs)


@pytest.mark.parametrize(
    "text",
    ["$.store.book[0]", "$..price", "$[0]", "$HOME", "$", "$ 5", "$1.50"],
    ids=["jsonpath", "descendants", "index", "shell-variable", "dollar", "spaced", "money"],
)
def test_strings_that_are_not_references_pass_through(text: str) -> None:
    assert resolve(text, {"prev": {"a": 1}}, frozenset({"h"})) == text


def test_a_dotted_name_that_is_no_step_is_a_mistake() -> None:
    with pytest.raises(KeyError):
        resolve("$jtw.payload.exp", {"prev": {}}, frozenset({"jwt"}))
    # A step id that has not run yet is not an earlier output.
    with pytest.raises(KeyError):
        resolve("$later", {"prev": {}}, frozenset({"later"}))


def test_a_jsonpath_argument_reaches_its_step_untouched(registry: Registry) -> None:
    out = run(
        registry,
        steps=[
            step("data_convert", content="a: [1, 2, 3]\n", **{"from": "yaml", "to": "json"}),
            step("data_query", content="$prev.result", language="jsonpath", query="$.a[1:]"),
        ],
    )
    assert out["result"]["result"] == [2, 3]


@pytest.mark.parametrize(
    ("steps", "details"),
    [
        ([step("nope_tool")], "step 1: unknown tool: nope_tool"),
        ([step("pipeline", steps=[])], "step 1: a pipeline cannot contain a pipeline: pipeline"),
        ([step("network_dns", domain="example.com")],
         "step 1: network_dns makes network requests; pipelines may not unless "
         "PIPELINE_NETWORK_TOOLS is true"),
        ([step("text_case", content="$prev.result", caseType="UPPERCASE")],
         "step 1: $prev.result names no earlier output value (earlier: none)"),
        ([step("crypto_hash", content="a", algorithm="md5"),
          step("text_case", content="$prev.nothing", caseType="UPPERCASE")],
         "step 2: $prev.nothing names no earlier output value (earlier: prev)"),
        ([{"tool": "crypto_hash", "id": "prev", "args": {}}], 'step ids must be unique and not "prev"'),
        ([{"tool": "crypto_hash", "id": "a", "args": {}}, {"tool": "crypto_hash", "id": "a", "args": {}}],
         'step ids must be unique and not "prev"'),
    ],
    ids=["unknown", "nested", "network", "no-earlier", "missing-field", "prev-id", "duplicate-id"],
)  # fmt: skip
def test_refusals_name_the_step(
    registry: Registry, steps: list[dict[str, Any]], details: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        run(registry, steps=steps)
    assert (caught.value.message, caught.value.details) == ("Pipeline failed", details)


def test_a_failing_step_keeps_its_code_and_is_named(registry: Registry) -> None:
    with pytest.raises(ValidationError) as caught:
        run(
            registry,
            steps=[
                step("crypto_hash", content="a", algorithm="md5"),
                {"tool": "transform_base64", "id": "decode", "args": {"content": "$prev.hash"}},
            ],
        )
    error = caught.value
    assert error.message.startswith("Pipeline step 2 (transform_base64) failed: ")
    assert error.details["step"] == 2
    assert error.details["id"] == "decode"
    assert error.details["code"] == "VALIDATION_ERROR"


def test_network_steps_run_when_allowed() -> None:
    settings = make_settings(pipeline_network_tools=True)
    registry = Registry(catalogue(), ToolContext(settings, clock=lambda: FIXED_NOW))
    try:
        with pytest.raises(ToolError) as caught:
            run(registry, steps=[step("network_dns")])
    finally:
        registry.close()
    # Past the pipeline's policy: the step itself refused its (missing) arguments.
    assert caught.value.message.startswith("Pipeline step 1 (network_dns) failed")


async def test_each_step_is_rate_limited_in_its_own_class(make_app: Any) -> None:
    """Three crypto steps that fit the crypto burst of 3, but one direct call spent a token
    first: the third step is refused, as a fourth direct call would be; the pipeline answers 429
    naming the step, with Retry-After."""
    app = make_app(
        rate_limit_enabled=True, rate_limit_crypto_per_minute=1, rate_limit_crypto_burst=3
    )
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            hash_md5 = {"content": "x", "algorithm": "md5"}
            spent = await http.post("/api/v1/crypto/hash", json=hash_md5)
            assert spent.status_code == 200
            body = {
                "steps": [step("crypto_hash", content=str(i), algorithm="md5") for i in range(3)]
            }
            response = await http.post("/api/v1/pipeline", json=body)
            assert response.status_code == 429
            error = response.json()["error"]
            assert error["code"] == "RATE_LIMIT_ERROR"
            assert error["message"].startswith("Pipeline step 3 (crypto_hash) failed")
            assert int(response.headers["retry-after"]) >= 1
            # The two admitted steps spent the class's budget for direct calls too.
            direct = await http.post("/api/v1/crypto/hash", json=hash_md5)
            assert direct.status_code == 429


async def _refused_at_step_3(
    http: httpx.AsyncClient, direct: str, direct_body: dict[str, Any], steps: list[Any]
) -> httpx.Response:
    """Two direct calls spend two tokens, then a three-step pipeline is refused at its third."""
    for _ in range(2):
        assert (await http.post(direct, json=direct_body)).status_code == 200
    response = await http.post("/api/v1/pipeline", json={"steps": steps})
    assert response.status_code == 429
    assert response.json()["error"]["message"].startswith("Pipeline step 3 (")
    return response


async def test_a_refused_step_says_when_the_whole_pipeline_can_pass(make_app: Any) -> None:
    """Crypto: one token a minute, burst 4; two spent directly and two by steps 1 and 2, so the
    bucket is full 240 s later.  One more call could pass in 60 s, but a retry needs 3 crypto
    tokens (its 3 steps): Retry-After is the 180 s until the bucket holds 3, not 60."""
    settings = {"rate_limit_crypto_per_minute": 1, "rate_limit_crypto_burst": 4}
    async with _http(make_app, rate_limit_enabled=True, **settings) as http:
        before = time.time()
        hashes = [step("crypto_hash", content=str(i), algorithm="md5") for i in range(3)]
        response = await _refused_at_step_3(
            http, "/api/v1/crypto/hash", {"content": "x", "algorithm": "md5"}, hashes
        )
        after = time.time()
    assert response.headers["retry-after"] == "180"
    # The X-RateLimit-* headers still describe the refused bucket: empty, full again in 240 s.
    assert response.headers["x-ratelimit-limit"] == "1"
    assert response.headers["x-ratelimit-remaining"] == "0"
    assert before + 239 <= int(response.headers["x-ratelimit-reset"]) <= after + 241


async def test_a_refused_step_in_the_pipelines_class_counts_its_admission(make_app: Any) -> None:
    """The default class, one token a minute, burst 5: two direct calls, the pipeline's own
    admission and steps 1 and 2 spend it all.  A retry needs 4 (itself and 3 steps): 240 s."""
    settings = {"rate_limit_anonymous_per_minute": 1, "rate_limit_anonymous_burst": 5}
    async with _http(make_app, rate_limit_enabled=True, **settings) as http:
        before = time.time()
        response = await _refused_at_step_3(http, "/api/v1/id/ulid", {}, [step("id_ulid")] * 3)
        after = time.time()
    assert response.headers["retry-after"] == "240"
    assert response.headers["x-ratelimit-remaining"] == "0"
    assert before + 299 <= int(response.headers["x-ratelimit-reset"]) <= after + 301


async def test_a_refused_step_says_when_the_pipeline_can_pass_with_redis(make_app: Any) -> None:
    """The same promise from the Redis store (its figures come from Redis TIME)."""
    settings = {"rate_limit_crypto_per_minute": 1, "rate_limit_crypto_burst": 4}
    with run_redis() as server:
        async with _http(
            make_app,
            rate_limit_enabled=True,
            rate_limit_store="redis",
            rate_limit_redis_url=server.url,
            **settings,
        ) as http:
            hashes = [step("crypto_hash", content=str(i), algorithm="md5") for i in range(3)]
            response = await _refused_at_step_3(
                http, "/api/v1/crypto/hash", {"content": "x", "algorithm": "md5"}, hashes
            )
    assert response.headers["retry-after"] == "180"
    assert response.headers["x-ratelimit-remaining"] == "0"


# The shipped bursts (anonymous 10, crypto 5), refilled slowly enough (one token every 60 s,
# every 30 s) that no count drifts while a test runs.
_DEFAULT_LIMITS = {
    "rate_limit_enabled": True,
    "rate_limit_anonymous_burst": 10,
    "rate_limit_anonymous_per_minute": 1,
    "rate_limit_crypto_burst": 5,
    "rate_limit_crypto_per_minute": 2,
}
_TOTP = step("crypto_totp", secret="GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", time=59)


@asynccontextmanager
async def _http(make_app: Callable[..., Any], **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = make_app(**settings)
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            yield http


async def test_a_pipeline_past_the_burst_is_refused_before_any_step(make_app: Any) -> None:
    """10 default-class steps and the pipeline itself (11) against a burst of 10, or 6 crypto
    steps against 5, can never pass: a 400 saying so (no Retry-After: waiting cannot help), and
    no step's token spent.  Only the pipeline request's own token is charged, as for any 400."""
    async with _http(make_app, **_DEFAULT_LIMITS) as http:
        ulids = await http.post("/api/v1/pipeline", json={"steps": [step("id_ulid")] * 10})
        assert ulids.status_code == 400
        assert "retry-after" not in ulids.headers
        error = ulids.json()["error"]
        assert (error["code"], error["message"]) == (
            "VALIDATION_ERROR",
            "Pipeline exceeds your rate limit",
        )
        assert error["details"] == (
            "the pipeline needs 11 calls of rate class default at once (itself and its steps); "
            "your burst in that class is 10, so it can never pass: split it into smaller ones"
        )
        totps = await http.post("/api/v1/pipeline", json={"steps": [_TOTP] * 6})
        assert totps.status_code == 400
        details = totps.json()["error"]["details"]
        assert "needs 6 calls of rate class crypto at once (its steps); " in details
        assert "your burst in that class is 5," in details
        # Nothing spent but the two pipeline requests: 10 - 2 - 1 left after a direct call, and
        # the crypto bucket is whole.
        direct = await http.post("/api/v1/id/ulid", json={})
        assert direct.headers["x-ratelimit-remaining"] == "7"
        crypto = await http.post("/api/v1/crypto/totp", json=_TOTP["args"])
        assert crypto.status_code == 200
        assert crypto.headers["x-ratelimit-remaining"] == "4"
        # A pipeline within the burst and the tokens left (7: itself and 6 steps) runs.
        fits = await http.post("/api/v1/pipeline", json={"steps": [step("id_ulid")] * 6})
        assert fits.status_code == 200, fits.text
    # Without rate limiting there is no burst to fit.
    async with _http(make_app) as http:
        unlimited = await http.post("/api/v1/pipeline", json={"steps": [step("id_ulid")] * 16})
        assert unlimited.status_code == 200


async def test_the_rate_limit_headers_count_the_steps(make_app: Any) -> None:
    """X-RateLimit-* describe the pipeline's own class (default) after its steps have spent
    their tokens; steps of another class (crypto) leave that bucket alone."""
    async with _http(make_app, **_DEFAULT_LIMITS) as http:
        first = await http.post("/api/v1/pipeline", json={"steps": [step("id_ulid")] * 3})
        assert first.status_code == 200
        assert first.headers["x-ratelimit-remaining"] == "6"  # 10 - the pipeline - 3 steps
        assert first.headers["x-ratelimit-limit"] == "1"  # the anonymous class's
        crypto = await http.post("/api/v1/pipeline", json={"steps": [_TOTP] * 2})
        assert crypto.status_code == 200
        assert crypto.headers["x-ratelimit-remaining"] == "5"
        assert crypto.headers["x-ratelimit-limit"] == "1"  # still the anonymous class's
        # The headers were true: exactly 5 more default-class calls pass.
        last = await http.post("/api/v1/pipeline", json={"steps": [step("id_ulid")] * 4})
        assert (last.status_code, last.headers["x-ratelimit-remaining"]) == (200, "0")
        refused = await http.post("/api/v1/id/ulid", json={})
        assert refused.status_code == 429


def test_the_cli_reports_a_pipeline_timeout_as_the_server_does() -> None:
    """The CLI runs the steps under one TOOL_TIMEOUT like the server, and says so the same way:
    the whole pipeline timed out, naming the step that was running (not that step's failure)."""
    bcrypt = step("crypto_password_hash", password="x", algorithm="bcrypt")
    result = subprocess.run(
        [*DEVUTILS, "pipeline", "--steps", json.dumps([bcrypt] * 16)],
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "SECRETS_MOUNT_PATH": "/nonexistent",
            "TOOL_TIMEOUT": "1",
            # The code under test, should the test run against another tree.
            **{key: os.environ[key] for key in ("PYTHONPATH",) if key in os.environ},
        },
        capture_output=True,
        stdin=subprocess.DEVNULL,
        check=False,
        timeout=60,
    )
    assert result.returncode == 75, result.stderr
    error = json.loads(result.stderr or result.stdout)["error"]
    assert (error["code"], error["message"]) == ("TIMEOUT", "Operation timed out")
    assert re.fullmatch(
        r"the steps did not finish within 1 s; step \d+ \(crypto_password_hash\) was running",
        error["details"],
    ), error["details"]


def test_step_outputs_count_against_the_output_cap() -> None:
    settings = make_settings(max_output_bytes=4096)
    registry = Registry(catalogue(), ToolContext(settings, clock=lambda: FIXED_NOW))
    text = "x" * 1500
    try:
        with pytest.raises(ToolError) as caught:
            run(
                registry,
                steps=[step("text_case", content=text, caseType="UPPERCASE") for _ in range(3)],
            )
    finally:
        registry.close()
    assert caught.value.code == "REQUEST_TOO_LARGE"
    assert "at step 3" in str(caught.value.details)


class _Slow(ToolOutput):
    pass


async def _sleepy(inp: NoInput, registry: Registry, call: StepCall) -> _Slow:
    await asyncio.sleep(30)
    return _Slow()


async def test_the_whole_composite_has_one_deadline() -> None:
    spec = ToolSpec(
        path="/api/v1/test/sleepy",
        title="Sleeps",
        description="A composite that never finishes.",
        func=lambda inp, ctx: _Slow(),
        input_model=NoInput,
        output_model=_Slow,
        cost="inline",
        composite=_sleepy,
    )
    registry = Registry((spec,), ToolContext(make_settings(tool_timeout=0.2)))
    with pytest.raises(ToolTimeoutError) as caught:
        await registry.invoke(spec, {}, CallInfo(frontend="rest"))
    assert caught.value.status == 504
    assert caught.value.details == "the steps did not finish within 0.2 s"


async def test_a_step_past_the_deadline_is_stopped_and_named() -> None:
    """The regex that froze the event loop for 12.5 s (issue 13) as a step: its pool process is
    killed at TOOL_TIMEOUT and the pipeline answers 504 naming the step that was running."""
    settings = make_settings(tool_timeout=1.0, regex_max_groups=1000)
    registry = Registry(catalogue(), ToolContext(settings, clock=lambda: FIXED_NOW))
    hostile = {"content": "a" * 60_000, "pattern": "(" * 499 + ".*" + ")" * 499, "flags": "s"}
    steps = [step("crypto_hash", content="a", algorithm="md5"), step("text_regex", **hostile)]
    try:
        with pytest.raises(ToolTimeoutError) as caught:
            await run_async(registry, steps=steps)
        # The pool process was killed, not left burning CPU on the abandoned match.
        assert len(registry.executors.pool("regex").busy) == 0
    finally:
        registry.close()
    error = caught.value
    assert error.status == 504
    # The step's own deadline and the pipeline's fall together; whichever fires, step 2 is named.
    named = f"{error.message} {error.details}"
    assert "step 2 (text_regex)" in named


def test_references_cannot_multiply_a_small_request(registry: Registry) -> None:
    # 100 KB referenced 300 times would be a 30 MB call built from a 105 KB body.
    big = step("text_case", content="a" * 100_000, caseType="UPPERCASE")
    sign = step("transform_jwt_sign", claims={"x": ["$prev.result"] * 300}, algorithm="HS256")
    sign["args"]["key"] = "k" * 40
    spec = registry.get("pipeline")
    assert spec is not None
    with pytest.raises(ToolError) as caught:
        registry.invoke_sync(spec, {"steps": [big, sign]})
    assert (caught.value.status, caught.value.details) == (
        413,
        "step 2: the outputs its arguments reference exceed MAX_BODY_BYTES (1048576 bytes), "
        "the limit of a direct call",
    )
    # Within the limit the same references work.
    sign["args"]["claims"] = {"x": ["$prev.result"] * 5}
    token = run(registry, steps=[big, sign])["result"]["token"]
    assert token.count(".") == 2


@pytest.mark.parametrize("depth", [300, 5000], ids=["past-the-limit", "past-the-stack"])
def test_arguments_nested_too_deep_are_a_400(registry: Registry, depth: int) -> None:
    """A 1 KB body nested 500 deep was a RecursionError, a 500."""
    nested: Any = []
    for _ in range(depth):
        nested = [nested]
    spec = registry.get("pipeline")
    assert spec is not None
    with pytest.raises(ToolError) as caught:
        registry.invoke_sync(spec, {"steps": [step("id_ulid", count=nested)]})
    assert (caught.value.status, caught.value.details) == (
        400,
        "step 1: its arguments nest deeper than MAX_JSON_DEPTH (256)",
    )


def test_null_arguments_are_the_default(registry: Registry) -> None:
    """JSON null for an optional field means its default (docs/api-deltas.md)."""
    out = run(registry, steps=[{"tool": "id_ulid", "args": None}])
    assert len(out["result"]["ulids"]) == 1
