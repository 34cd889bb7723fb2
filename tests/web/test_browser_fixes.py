"""Browser checks for the playground defects a browser hunt found (narrow layout, late answers,
secrets in pipeline steps, Retry-After, bad numbers, large inputs, the key field, keyboard
navigation, the unknown-tool notice, integers above 2^53).

Same server, browser and helpers as ``test_browser.py``; every call goes to the real server.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from tests.support import ServerProcess, run_server
from tests.web.test_browser import (
    API_KEY,
    _require_browser,
    _shell,
    by_id,
    css,
    driver,
    open_page,
    open_tool,
    rest_call,
    run_and_wait,
    server,
    tools_loaded,
    wait_until,
)

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver

__all__ = ["driver", "server"]  # the shared module fixtures, used here by name

HMAC_SECRET = "MY-HMAC-SECRET-123"


def requests_to(driver: WebDriver, path: str) -> list[float]:
    """responseEnd of each finished request the page made to ``path`` (0 while in flight)."""
    ends: list[float] = driver.execute_script(
        "return performance.getEntriesByType('resource')"
        ".filter(e => new URL(e.name).pathname === arguments[0]).map(e => e.responseEnd)",
        path,
    )
    return ends


def settle(driver: WebDriver, milliseconds: int = 500) -> None:
    """Let the page handle what has arrived (a late answer would be rendered by now)."""
    driver.execute_async_script(
        "const done = arguments[arguments.length - 1]; setTimeout(done, arguments[0]);",
        milliseconds,
    )


def set_value(driver: WebDriver, element_id: str, value: str) -> None:
    """Set a field as if typed in one go (one input event)."""
    driver.execute_script(
        "const f = document.getElementById(arguments[0]); f.value = arguments[1];"
        " f.dispatchEvent(new Event('input', {bubbles: true}));",
        element_id,
        value,
    )


def hash_args(driver: WebDriver) -> dict[str, Any]:
    fragment = parse_qs(urlsplit(driver.current_url).fragment)
    return json.loads(fragment["args"][0]) if "args" in fragment else {}


# ---- 1. narrow windows ----------------------------------------------------------------------

COVERED = """
const out = {};
for (const el of arguments[0]) {
  el.scrollIntoView({block: 'center'});
  const r = el.getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + Math.min(5, r.width / 2), r.top + Math.min(5, r.height / 2));
  out[el.id || el.className] = hit !== null && (hit === el || el.contains(hit));
}
return out;
"""


@pytest.fixture
def phone(driver: WebDriver) -> Iterator[WebDriver]:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 375, "height": 667, "deviceScaleFactor": 1, "mobile": True},
    )
    try:
        yield driver
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_at_375_px_the_tool_list_covers_nothing(phone: WebDriver, server: ServerProcess) -> None:
    driver = phone
    open_tool(driver, server, "crypto_hash", "content")
    assert driver.execute_script("return innerWidth") == 375
    run_and_wait(driver)
    ids = ("f-content", "run", "outcome", "copy-curl", "copy-cli")
    reachable = driver.execute_script(COVERED, [by_id(driver, i) for i in ids])
    assert reachable == dict.fromkeys(ids, True)
    # The list itself is still there, above the tool, and its links can be reached too.
    assert driver.execute_script(COVERED, css(driver, "#tool-list a[data-tool]")[-1:]) == {"": True}

    open_page(driver, server.base + "/docs")
    wait_until(driver, lambda d: css(d, "#op-health"))
    driver.execute_script("document.getElementById('op-health').open = true")
    send = css(driver, "#op-health .try button.primary")[0]
    last = css(driver, "#operations details.op > summary")[-1]
    assert driver.execute_script(COVERED, [send, last]) == {"primary": True, "": True}


# ---- 2. late answers ------------------------------------------------------------------------


def test_an_answer_to_an_earlier_call_is_not_shown(
    driver: WebDriver, server: ServerProcess
) -> None:
    open_tool(driver, server, "crypto_hash", "content")
    path = "/api/v1/crypto/hash"
    # In one go (no answer can arrive in between): run, switch to another tool and back.
    driver.execute_script(
        """
        performance.clearResourceTimings();
        document.getElementById('run').click();
        document.querySelector('#tool-list a[data-tool="text_slug"]').click();
        document.querySelector('#tool-list a[data-tool="crypto_hash"]').click();
        """
    )
    wait_until(driver, lambda d: [end for end in requests_to(d, path) if end > 0])
    settle(driver)
    assert by_id(driver, "tool-title").text == "Hash data"
    assert not css(driver, "#outcome")  # the answer belongs to the view left behind
    assert by_id(driver, "run").is_enabled()
    # This view's own call is shown.
    assert run_and_wait(driver).get_attribute("data-status") == "200"

    # Ctrl+Enter while a call is in flight sends nothing, like the disabled Run button.
    driver.execute_script(
        """
        performance.clearResourceTimings();
        document.getElementById('result').textContent = '';
        document.getElementById('run').click();
        const field = document.getElementById('f-content');
        for (let i = 0; i < 2; i++) {
          field.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', ctrlKey: true, bubbles: true}));
        }
        """
    )
    wait_until(driver, lambda d: css(d, "#outcome"))
    settle(driver)
    assert len(requests_to(driver, path)) == 1


# ---- 3. secrets inside pipeline steps -------------------------------------------------------


def test_secrets_in_pipeline_steps_stay_out_of_the_url_and_commands(
    driver: WebDriver, server: ServerProcess
) -> None:
    steps = [
        {
            "tool": "crypto_hmac",
            "args": {"content": "msg", "key": HMAC_SECRET, "algorithm": "sha256"},
        },
        {"tool": "text_case", "args": {"content": "$prev.hmac", "caseType": "UPPERCASE"}},
    ]
    open_tool(driver, server, "pipeline", "steps")
    set_value(driver, "f-steps", json.dumps(steps))
    wait_until(driver, lambda d: "crypto_hmac" in unquote(d.current_url))
    assert HMAC_SECRET not in unquote(driver.current_url)
    shared = hash_args(driver)["steps"]
    assert "key" not in shared[0]["args"]
    assert shared[0]["args"]["content"] == "msg"
    assert shared[1]["args"]["content"] == "$prev.hmac"  # a reference is no secret

    outcome = run_and_wait(driver)
    assert outcome.get_attribute("data-status") == "200", outcome.text
    expected = rest_call(server, "/api/v1/pipeline", {"steps": steps}).json()["data"]
    assert expected["result"]["result"] in by_id(driver, "human-view").text
    assert HMAC_SECRET not in unquote(driver.current_url)

    curl = by_id(driver, "curl-cmd").text
    cli = by_id(driver, "cli-cmd").text
    assert HMAC_SECRET not in curl
    assert HMAC_SECRET not in cli
    assert "$DEVUTILS_STEP1_KEY" in curl
    out = _shell(curl, DEVUTILS_API_KEY=API_KEY, DEVUTILS_STEP1_KEY=HMAC_SECRET)
    assert json.loads(out)["data"] == expected
    assert json.loads(_shell(cli, DEVUTILS_STEP1_KEY=HMAC_SECRET))["result"] == expected["result"]

    # The built-in example that decodes a JWT keeps the token out of the address.
    token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    example = next(
        button
        for button in css(driver, "button.example")
        if "transform_jwt_decode" in str(button.get_attribute("title"))
    )
    example.click()
    wait_until(driver, lambda d: "transform_jwt_decode" in unquote(d.current_url))
    assert token not in unquote(driver.current_url)
    assert token not in by_id(driver, "cli-cmd").text
    assert token in str(by_id(driver, "f-steps").get_attribute("value"))  # the form keeps it


# ---- 4. Retry-After -------------------------------------------------------------------------


def test_a_429_shows_when_to_retry(driver: WebDriver) -> None:
    _require_browser()
    env = {"RATE_LIMIT_CRYPTO_BURST": "1", "RATE_LIMIT_CRYPTO_PER_MINUTE": "1"}
    with run_server(env) as limited:
        open_page(driver, limited.base + "/#tool=crypto_hash", key=None)
        tools_loaded(driver)
        wait_until(driver, lambda d: css(d, "#f-content"))
        assert run_and_wait(driver).get_attribute("data-status") == "200"
        outcome = run_and_wait(driver)
        assert outcome.get_attribute("data-status") == "429"
        shown = outcome.find_element("css selector", ".retry-after").text
        found = re.fullmatch(r"retry after (\d+) s", shown)
        assert found, shown
        assert 0 < int(found.group(1)) <= 60


# ---- 5. invalid numbers ---------------------------------------------------------------------


def test_an_invalid_number_is_an_error_not_the_default(
    driver: WebDriver, server: ServerProcess
) -> None:
    open_tool(driver, server, "id_nanoid", "size")
    driver.execute_script("performance.clearResourceTimings()")
    size = by_id(driver, "f-size")
    size.clear()
    size.send_keys("5-")
    outcome = run_and_wait(driver)
    assert by_id(driver, "error-code").text == "NOT_SENT"
    assert "size" in by_id(driver, "error-details").text
    assert outcome.get_attribute("data-status") == "0"
    settle(driver, 200)
    assert requests_to(driver, "/api/v1/id/nanoid") == []
    size.clear()
    size.send_keys("7")
    assert run_and_wait(driver).get_attribute("data-status") == "200"


# ---- 6. large inputs ------------------------------------------------------------------------


def test_a_large_input_is_not_written_to_the_url_on_each_keystroke(
    driver: WebDriver, server: ServerProcess
) -> None:
    open_tool(driver, server, "text_info", "content")
    big = "x" * 300_000
    curl_now = driver.execute_script(
        """
        const f = document.getElementById('f-content');
        f.value = arguments[0];
        f.dispatchEvent(new Event('input', {bubbles: true}));
        return document.getElementById('curl-cmd').textContent.length;
        """,
        big,
    )
    assert curl_now < 1000  # not rewritten within the keystroke
    wait_until(driver, lambda d: big in by_id(d, "curl-cmd").text)  # after a pause
    assert len(driver.current_url) < 10_000
    assert urlsplit(driver.current_url).fragment == "tool=text_info"
    note = by_id(driver, "url-note")
    assert note.is_displayed()
    assert "too large" in note.text
    assert run_and_wait(driver).get_attribute("data-status") == "200"
    assert len(driver.current_url) < 10_000

    set_value(driver, "f-content", "small text")
    assert hash_args(driver) == {"content": "small text"}
    assert not by_id(driver, "url-note").is_displayed()


# ---- 7. the key field -----------------------------------------------------------------------


def test_the_key_typed_is_used_before_the_field_loses_focus(
    driver: WebDriver, server: ServerProcess
) -> None:
    from selenium.webdriver.common.keys import Keys

    open_tool(driver, server, "crypto_hash", "content")
    field = by_id(driver, "api-key")
    field.click()
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys("revoked-key-0123456789")
    field.send_keys(Keys.CONTROL, Keys.ENTER)  # still in the field: no change event yet
    wait_until(driver, lambda d: css(d, "#outcome"))
    assert by_id(driver, "outcome").get_attribute("data-status") == "401"
    driver.execute_script("document.getElementById('result').textContent = ''")
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(API_KEY)
    field.send_keys(Keys.CONTROL, Keys.ENTER)
    wait_until(driver, lambda d: css(d, "#outcome"))
    assert by_id(driver, "outcome").get_attribute("data-status") == "200"


# ---- 8. keyboard navigation with a collapsed family ------------------------------------------


def test_keyboard_navigation_skips_collapsed_families(
    driver: WebDriver, server: ServerProcess
) -> None:
    from selenium.webdriver.common.keys import Keys

    open_page(driver, server.base + "/")
    tools_loaded(driver)
    families = css(driver, "#tool-list details")
    families[0].find_element("css selector", "summary").click()  # collapse the first family
    assert families[0].get_attribute("open") is None
    first_visible = families[1].find_element("css selector", "a[data-tool]")
    search = by_id(driver, "search")
    search.click()
    search.send_keys(Keys.ARROW_DOWN)
    assert driver.switch_to.active_element == first_visible
    search.click()
    search.send_keys(Keys.ENTER)
    name = first_visible.get_attribute("data-tool")
    wait_until(driver, lambda d: by_id(d, "tool-name").text == name)


# ---- 9. the unknown-tool notice -------------------------------------------------------------


def test_the_unknown_tool_notice_goes_once_a_tool_is_chosen(
    driver: WebDriver, server: ServerProcess
) -> None:
    open_page(driver, server.base + "/#tool=crypto_hsh")
    tools_loaded(driver)
    notice = wait_until(driver, lambda d: by_id(d, "notice").is_displayed() and by_id(d, "notice"))
    assert "No tool named crypto_hsh" in notice.text
    css(driver, '#tool-list a[data-tool="crypto_hash"]')[0].click()
    wait_until(driver, lambda d: by_id(d, "tool-title").text == "Hash data")
    assert not by_id(driver, "notice").is_displayed()


# ---- 10. integers above 2^53 ----------------------------------------------------------------


def test_integers_above_2_53_are_shown_and_sent_exactly(
    driver: WebDriver, server: ServerProcess
) -> None:
    open_tool(driver, server, "data_query", "content")
    set_value(driver, "f-content", '{"id": 12345678901234567890}')
    set_value(driver, "f-query", "$.id")
    run_and_wait(driver)
    assert "12345678901234567890" in by_id(driver, "human-view").text
    css(driver, ".tabs button")[1].click()  # the JSON view and its copy
    assert "12345678901234567890" in by_id(driver, "json-view").text
    by_id(driver, "json-view").find_element("css selector", "button.copy").click()
    copied = driver.execute_script("return window.DU.state.lastCopied")
    assert "12345678901234567890" in copied

    # An integer field: the digits as typed reach the server (and the commands).
    counter = 9007199254740993  # 2^53 + 1: a float would make it ...992
    open_tool(driver, server, "crypto_totp", "counter")
    by_id(driver, "reset").click()
    set_value(driver, "f-secret", "JBSWY3DPEHPK3PXP")
    set_value(driver, "f-counter", str(counter))
    assert str(counter) in by_id(driver, "curl-cmd").text
    outcome = run_and_wait(driver)
    assert outcome.get_attribute("data-status") == "200", outcome.text
    exact = rest_call(
        server, "/api/v1/crypto/totp", {"secret": "JBSWY3DPEHPK3PXP", "counter": counter}
    ).json()["data"]["code"]
    rounded = rest_call(
        server, "/api/v1/crypto/totp", {"secret": "JBSWY3DPEHPK3PXP", "counter": counter - 1}
    ).json()["data"]["code"]
    assert exact != rounded
    codes = [node.text for node in css(driver, "#human-view code")]
    assert exact in codes
