"""The playground and API reference driven in headless Chromium against the real server.

Debian's ``chromium`` and ``chromium-driver`` (nothing is downloaded).  Skipped only when Chromium
is absent and REQUIRE_BROWSER is unset; screenshots of both themes go to ``test-artifacts/``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest

from tests.support import ROOT, ServerProcess, run_server

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
API_KEY = "browser-test-key-0123456789abcdef"
ARTIFACTS = ROOT / "test-artifacts"
SHA256_ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
WAIT = 20.0  # seconds a wait may last before the test fails (not a speed assertion)

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement


def _require_browser() -> None:
    if Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists():
        return
    if os.environ.get("REQUIRE_BROWSER"):
        pytest.fail("chromium and chromium-driver are required (REQUIRE_BROWSER is set)")
    pytest.skip("chromium / chromium-driver not installed")


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    _require_browser()
    env = {"AUTH_METHOD": "api_key", "AUTH_API_KEYS": API_KEY, "RATE_LIMIT_ENABLED": "false"}
    with run_server(env) as server:
        yield server


@pytest.fixture(scope="module")
def driver() -> Iterator[WebDriver]:
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="devutils-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    browser = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_until(driver: WebDriver, condition: Callable[[Any], Any]) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT).until(condition)


def by_id(driver: WebDriver, element_id: str) -> WebElement:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id)


def css(driver: WebDriver, selector: str) -> list[WebElement]:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def open_page(driver: WebDriver, url: str, key: str | None = API_KEY) -> None:
    """Open a page in a fresh tab state; with ``key``, type it into the key field."""
    driver.get(url)
    driver.execute_script("sessionStorage.clear(); localStorage.clear();")
    driver.refresh()  # a new document (a hash-only change would keep the old one) with empty storage
    if key is not None:
        field = by_id(driver, "api-key")
        field.send_keys(key)
        field.send_keys("\t")  # change event


def tools_loaded(driver: WebDriver) -> None:
    wait_until(driver, lambda d: css(d, "#tool-list a[data-tool]"))


def open_tool(driver: WebDriver, server: ServerProcess, tool: str, field: str) -> None:
    """Open ``tool``'s form (with the test key) and wait until its ``field`` is drawn."""
    open_page(driver, server.base + "/#tool=" + tool)
    tools_loaded(driver)
    wait_until(driver, lambda d: css(d, "#f-" + field))


def run_and_wait(driver: WebDriver) -> WebElement:
    driver.execute_script("document.getElementById('result').textContent = ''")
    by_id(driver, "run").click()
    found: list[WebElement] = wait_until(driver, lambda d: css(d, "#outcome"))
    return found[0]


def rest_call(server: ServerProcess, path: str, args: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        server.base.replace("127.0.0.1", "localhost") + path,
        json=args,
        headers={"X-API-Key": API_KEY},
        timeout=10,
    )


def test_without_a_key_the_page_shows_the_authentication_error(
    driver: WebDriver, server: ServerProcess
) -> None:
    open_page(driver, server.base + "/", key=None)
    notice = wait_until(driver, lambda d: by_id(d, "notice").is_displayed() and by_id(d, "notice"))
    assert "AUTHENTICATION_ERROR" in notice.text
    assert not css(driver, "#tool-list a[data-tool]")
    field = by_id(driver, "api-key")
    field.send_keys(API_KEY)
    field.send_keys("\t")
    tools_loaded(driver)
    assert not by_id(driver, "notice").is_displayed()
    # The key lives in this tab's sessionStorage only.
    assert driver.execute_script("return sessionStorage.getItem('devutils.apiKey')") == API_KEY
    stored = driver.execute_script("return JSON.stringify(localStorage)")
    assert API_KEY not in stored


def test_every_tool_is_listed_by_family(driver: WebDriver, server: ServerProcess) -> None:
    open_page(driver, server.base + "/")
    tools_loaded(driver)
    tools = httpx.get(
        server.base + "/api/v1/tools", headers={"X-API-Key": API_KEY}, timeout=10
    ).json()["data"]["tools"]
    shown = {a.get_attribute("data-tool") for a in css(driver, "#tool-list a[data-tool]")}
    assert shown == {tool["name"] for tool in tools}
    families = [str(d.get_attribute("data-family")) for d in css(driver, "#tool-list details")]
    assert sorted(families) == sorted({tool["family"] for tool in tools})


def test_find_by_search_fill_run_and_read_the_result(
    driver: WebDriver, server: ServerProcess
) -> None:
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    open_page(driver, server.base + "/")
    tools_loaded(driver)
    body = css(driver, "body")[0]
    body.send_keys("/")  # keyboard: "/" focuses the search box
    search = by_id(driver, "search")
    assert driver.switch_to.active_element == search
    search.send_keys("hash data checksum")
    visible = [a.get_attribute("data-tool") for a in css(driver, "#tool-list a[data-tool]")]
    assert visible == ["crypto_hash"]
    search.send_keys(Keys.ENTER)  # opens the first match
    wait_until(driver, lambda d: by_id(d, "tool-title").text == "Hash data")
    content = by_id(driver, "f-content")
    assert content.tag_name == "textarea"  # long text as a text area
    content.clear()
    content.send_keys("abc")
    algorithm = Select(by_id(driver, "f-algorithm"))  # enums as selects
    assert [o.text for o in algorithm.options][:4] == ["md5", "sha1", "sha224", "sha256"]
    algorithm.select_by_visible_text("sha256")
    outcome = run_and_wait(driver)
    assert outcome.get_attribute("data-status") == "200"
    assert SHA256_ABC in by_id(driver, "human-view").text
    # Ctrl+Enter runs the call too.
    driver.execute_script("document.getElementById('result').textContent = ''")
    content.send_keys(Keys.CONTROL, Keys.ENTER)
    wait_until(driver, lambda d: css(d, "#outcome"))
    assert SHA256_ABC in by_id(driver, "human-view").text


def test_booleans_are_toggles_and_examples_are_one_click_away(
    driver: WebDriver, server: ServerProcess
) -> None:
    open_tool(driver, server, "data_json_format", "sortKeys")
    toggle = by_id(driver, "f-sortKeys")
    assert toggle.get_attribute("type") == "checkbox"
    assert toggle.get_attribute("role") == "switch"
    css(driver, 'button.example[data-example="2"]')[0].click()  # the third example sorts keys
    assert toggle.is_selected()
    assert by_id(driver, "f-indent").get_attribute("value") == "4"
    run_and_wait(driver)
    assert json.dumps({"a": 2, "b": 1}, indent=4) in by_id(driver, "human-view").text


def test_an_error_shows_its_code_and_message(driver: WebDriver, server: ServerProcess) -> None:
    open_tool(driver, server, "text_regex", "pattern")
    pattern = by_id(driver, "f-pattern")
    pattern.clear()
    pattern.send_keys("(unclosed")
    outcome = run_and_wait(driver)
    assert outcome.get_attribute("data-status") == "400"
    expected = rest_call(
        server,
        "/api/v1/text/regex",
        {"content": "Contact: john@example.com", "pattern": "(unclosed"},
    ).json()["error"]
    assert by_id(driver, "error-code").text == expected["code"] == "VALIDATION_ERROR"
    assert by_id(driver, "error-message").text == expected["message"]
    assert by_id(driver, "error-details").text.strip() == str(expected["details"]).strip()
    # From the tool to its entry in the API reference.
    by_id(driver, "tool-docs").click()
    opened = wait_until(driver, lambda d: css(d, "details#op-text_regex[open]"))
    assert "pattern" in opened[0].text


def test_copied_curl_and_cli_commands_give_the_page_result(
    driver: WebDriver, server: ServerProcess
) -> None:
    open_tool(driver, server, "crypto_hash", "content")
    content = by_id(driver, "f-content")
    content.clear()
    content.send_keys("it's a test")  # a quote the shell quoting must survive
    run_and_wait(driver)
    page_hash = [
        node.text
        for node in css(driver, "#human-view code")
        if len(node.text) == 64  # the sha256 hex
    ]
    by_id(driver, "copy-curl").click()
    copied = driver.execute_script("return window.DU.state.lastCopied")
    assert copied == by_id(driver, "curl-cmd").text
    assert API_KEY not in copied  # the key is read from a variable, never shown
    assert "$DEVUTILS_API_KEY" in copied
    env = {**os.environ, "DEVUTILS_API_KEY": API_KEY}
    result = subprocess.run(
        ["bash", "-c", copied], capture_output=True, text=True, env=env, timeout=30, check=True
    )
    assert json.loads(result.stdout)["data"]["hash"] == page_hash[0]

    by_id(driver, "copy-cli").click()
    cli = driver.execute_script("return window.DU.state.lastCopied")
    assert cli.startswith("devutils crypto hash --json ")
    venv_bin = str(Path(sys.executable).parent)
    result = subprocess.run(
        ["bash", "-c", cli],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": venv_bin + os.pathsep + os.environ.get("PATH", "")},
        timeout=60,
        check=True,
    )
    assert json.loads(result.stdout)["hash"] == page_hash[0]


def test_the_call_is_shared_through_the_url(driver: WebDriver, server: ServerProcess) -> None:
    open_tool(driver, server, "id_nanoid", "size")
    size = by_id(driver, "f-size")
    size.clear()
    size.send_keys("12")
    shared = driver.current_url
    assert "tool=id_nanoid" in shared
    assert "12" in shared
    # Someone else opens the link: the same tool and arguments.
    driver.get(server.base + "/")
    driver.get(shared)
    wait_until(driver, lambda d: css(d, "#f-size") and by_id(d, "f-size").get_attribute("value"))
    assert by_id(driver, "tool-title").text == "Generate Nano IDs"
    assert by_id(driver, "f-size").get_attribute("value") == "12"
    run_and_wait(driver)
    ids = [n.text for n in css(driver, "#human-view li code")] or [
        n.text for n in css(driver, "#human-view td code")
    ]
    assert ids
    assert all(len(value) == 12 for value in ids)
    assert css(driver, "#human-view button.copy")  # generated IDs come with copy buttons


def test_nothing_is_requested_from_another_origin(driver: WebDriver, server: ServerProcess) -> None:
    for page in ("/", "/docs"):
        open_page(driver, server.base + page)
        wait_until(driver, lambda d: css(d, "#tool-list a, #op-list a"))
        origin = urlsplit(server.base)
        resources = driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)"
        )
        assert resources
        for url in [*resources, driver.current_url]:
            parts = urlsplit(url)
            assert (parts.scheme, parts.netloc) == (origin.scheme, origin.netloc), url
        for node in css(driver, "script[src], link[href], img[src]"):
            url = node.get_attribute("src") or node.get_attribute("href")
            parts = urlsplit(url)
            assert (parts.scheme, parts.netloc) == (origin.scheme, origin.netloc), url


def test_the_page_csp_blocks_other_origins(driver: WebDriver, server: ServerProcess) -> None:
    """A script element pointing elsewhere is refused by the browser (the CSP)."""
    open_page(driver, server.base + "/")
    tools_loaded(driver)
    violation = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        document.addEventListener('securitypolicyviolation', e => done(e.violatedDirective));
        const s = document.createElement('script');
        s.src = 'http://192.0.2.1/x.js';
        document.head.append(s);
        """
    )
    assert violation.startswith("script-src")


def test_theme_toggle_and_screenshots(driver: WebDriver, server: ServerProcess) -> None:
    open_tool(driver, server, "crypto_hash", "content")
    run_and_wait(driver)
    ARTIFACTS.mkdir(exist_ok=True)

    def theme() -> tuple[str, str]:
        return driver.execute_script(  # type: ignore[no-any-return]
            "return [document.documentElement.dataset.theme,"
            " getComputedStyle(document.body).backgroundColor]"
        )

    first, first_bg = theme()
    assert first in ("light", "dark")
    driver.save_screenshot(str(ARTIFACTS / f"playground-{first}.png"))
    by_id(driver, "theme-toggle").click()
    second, second_bg = theme()
    assert {first, second} == {"light", "dark"}
    assert first_bg != second_bg
    driver.save_screenshot(str(ARTIFACTS / f"playground-{second}.png"))
    driver.refresh()  # the choice is remembered
    wait_until(driver, lambda d: css(d, "#tool-list a"))
    assert theme()[0] == second
    print(f"screenshots: {ARTIFACTS}/playground-light.png, playground-dark.png")
    for name in ("light", "dark"):
        assert (ARTIFACTS / f"playground-{name}.png").stat().st_size > 1000


def test_the_api_reference_lists_operations_and_tries_them(
    driver: WebDriver, server: ServerProcess
) -> None:
    open_page(driver, server.base + "/docs")
    wait_until(driver, lambda d: css(d, "#operations details.op"))
    spec = httpx.get(
        server.base + "/openapi.json", headers={"X-API-Key": API_KEY}, timeout=10
    ).json()
    operation_ids = {op["operationId"] for item in spec["paths"].values() for op in item.values()}
    shown = {
        str(node.get_attribute("id")).removeprefix("op-")
        for node in css(driver, "#operations details.op")
    }
    assert shown == operation_ids
    search = by_id(driver, "search")
    search.send_keys("crypto/hash checksum")
    visible = [n for n in css(driver, "#operations details.op") if n.is_displayed()]
    assert [n.get_attribute("id") for n in visible] == ["op-crypto_hash"]
    operation = visible[0]
    operation.find_element("css selector", "summary").click()
    assert "algorithm" in operation.text  # the request schema's fields
    area = operation.find_element("css selector", ".try textarea")
    assert json.loads(str(area.get_attribute("value"))) == {
        "content": "hello world",
        "algorithm": "sha256",
    }
    operation.find_element("css selector", ".try button.primary").click()
    wait_until(driver, lambda d: operation.find_elements("css selector", "#outcome"))
    assert "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9" in operation.text


def test_jwts_and_certificates_read_as_tables(driver: WebDriver, server: ServerProcess) -> None:
    open_tool(driver, server, "transform_jwt_decode", "token")
    run_and_wait(driver)
    rows = {
        row.find_element("css selector", "th").text: row
        for row in css(driver, "#human-view table.kv table.kv tr")
    }
    assert rows["alg"].find_element("css selector", "td code").text == "HS256"
    assert "John Doe" in rows["name"].text
    # Claims that are times are shown as dates too (iat 1516239022).
    payload = next(
        row
        for row in css(driver, "#human-view table.kv tr")
        if row.find_element("css selector", "th").text == "payload"
    )
    iat = [
        row.text
        for row in payload.find_elements("css selector", "tr")
        if row.find_element("css selector", "th").text == "iat"
    ]
    assert "2018-01-18T01:30:22.000Z" in iat[0]

    open_tool(driver, server, "crypto_cert_decode", "certificate")
    run_and_wait(driver)
    headings = [th.text for th in css(driver, "#human-view th")]
    for field in ("subject", "issuer", "notBefore", "notAfter", "serialNumber"):
        assert field in headings
    assert "example.com" in by_id(driver, "human-view").text


def test_diffs_are_coloured_by_line(driver: WebDriver, server: ServerProcess) -> None:
    """Any text result in unified-diff form is shown line by line, added and removed coloured."""
    open_page(driver, server.base + "/")
    tools_loaded(driver)
    kinds = driver.execute_script(
        """
        const node = window.DU.renderHuman({diff: "--- a\\n+++ b\\n@@ -1 +1 @@\\n-old\\n+new\\n same"});
        document.body.append(node);
        return Array.from(node.querySelectorAll('pre.diff span')).map(s => [s.className, s.textContent]);
        """
    )
    assert kinds == [
        ["", "--- a"],
        ["", "+++ b"],
        ["hunk", "@@ -1 +1 @@"],
        ["del", "-old"],
        ["add", "+new"],
        ["", " same"],
    ]
    colours = driver.execute_script(
        "return ['add', 'del'].map(k => getComputedStyle(document.querySelector('pre.diff .' + k)).backgroundColor)"
    )
    assert colours[0] != colours[1]


def test_the_page_calls_its_own_server_under_a_configured_host(driver: WebDriver) -> None:
    """With ALLOWED_HOSTS set, loopback origins are no longer allowed as such: the page's calls
    pass because their Origin is the (allowed) Host itself."""
    _require_browser()
    with run_server({"ALLOWED_HOSTS": "127.0.0.1", "RATE_LIMIT_ENABLED": "false"}) as own:
        open_page(driver, own.base + "/#tool=crypto_hash", key=None)
        tools_loaded(driver)
        wait_until(driver, lambda d: css(d, "#f-content"))
        outcome = run_and_wait(driver)
        assert outcome.get_attribute("data-status") == "200"
        foreign = httpx.post(
            own.base + "/api/v1/crypto/hash",
            json={"content": "abc", "algorithm": "sha256"},
            headers={"Origin": "http://localhost:" + str(own.port)},
            timeout=10,
        )
        assert foreign.status_code == 403


def test_a_very_large_result_is_shown_as_text(driver: WebDriver, server: ServerProcess) -> None:
    open_page(driver, server.base + "/")
    tools_loaded(driver)
    shown = driver.execute_script(
        """
        const big = {items: Array.from({length: 30000}, (_, i) => 'id-' + i)};
        const node = window.DU.renderOutcome({ok: true, status: 200, ms: 1, body: {data: big}});
        document.body.append(node);
        return [node.querySelector('#too-large') !== null,
                node.querySelectorAll('li').length,
                node.querySelector('#human-view pre').textContent.length];
        """
    )
    assert shown == [True, 0, 200000]


def _shell(command: str, **env: str) -> str:
    venv_bin = str(Path(sys.executable).parent)
    result = subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""), **env},
        timeout=60,
        check=True,
    )
    return result.stdout


def test_secrets_are_masked_and_kept_out_of_the_url_and_commands(
    driver: WebDriver, server: ServerProcess
) -> None:
    """Fields the schema marks writeOnly (the CLI's secret rule): password inputs, never in the
    address (history, shared links) nor in the commands, which read them from variables."""
    # The shell must neither end the quoting nor expand it, and JSON must escape it.
    secret = 'k3y-Sec\'ret "$HOME"\\!'  # k3y-Sec'ret "$HOME"\!
    open_tool(driver, server, "crypto_hmac", "key")
    key = by_id(driver, "f-key")
    assert key.get_attribute("type") == "password"
    assert key.get_attribute("data-secret") == "true"
    key.clear()
    key.send_keys(secret)
    assert secret not in driver.current_url
    assert "my-secret-key" not in driver.current_url  # nor the example's key
    run_and_wait(driver)
    expected = rest_call(
        server,
        "/api/v1/crypto/hmac",
        {"content": "Hello World", "key": secret, "algorithm": "sha256"},
    ).json()["data"]["hmac"]
    assert expected in by_id(driver, "human-view").text
    assert secret not in driver.current_url
    assert "tool=crypto_hmac" in driver.current_url

    curl = by_id(driver, "curl-cmd").text
    cli = by_id(driver, "cli-cmd").text
    assert secret not in curl
    assert secret not in cli
    assert "$DEVUTILS_KEY" in curl
    assert " --key-env DEVUTILS_KEY " in cli
    out = _shell(curl, DEVUTILS_API_KEY=API_KEY, DEVUTILS_KEY=secret)
    assert json.loads(out)["data"]["hmac"] == expected
    assert json.loads(_shell(cli, DEVUTILS_KEY=secret))["hmac"] == expected

    # "show" reveals what was typed, for checking it.
    by_id(driver, "f-key-show").click()
    assert by_id(driver, "f-key").get_attribute("type") == "text"

    # An old link that carries a secret fills the form, and the address loses it at once.
    args = json.dumps({"content": "x", "key": "linked-secret", "algorithm": "md5"})
    driver.get(server.base + "/")
    driver.get(server.base + "/#tool=crypto_hmac&args=" + quote(args))
    wait_until(driver, lambda d: css(d, "#f-key") and by_id(d, "f-key").get_attribute("value"))
    assert by_id(driver, "f-key").get_attribute("value") == "linked-secret"
    assert "linked-secret" not in driver.current_url
    assert "md5" in driver.current_url

    # Passwords are masked; a secret that may span lines (a PEM key) is a masked text area.
    open_tool(driver, server, "crypto_password_hash", "password")
    assert by_id(driver, "f-password").get_attribute("type") == "password"
    assert "--password-env DEVUTILS_PASSWORD" in by_id(driver, "cli-cmd").text
    open_tool(driver, server, "crypto_cert_selfsigned", "privateKey")
    pem = by_id(driver, "f-privateKey")
    assert pem.tag_name == "textarea"
    assert pem.get_attribute("data-secret") == "true"
    assert "masked" in str(pem.get_attribute("class"))


def test_a_multi_line_secret_reaches_the_server_intact_through_the_curl_line(
    driver: WebDriver, server: ServerProcess
) -> None:
    # A key that spans lines and holds quotes and a backslash, as a PEM key or a pasted secret
    # may: the copied curl command must send exactly it (jq writes it into the body as JSON).
    secret = 'first line "quoted" \\ back\nsecond line, long enough for HS256 keys'
    args = {"claims": {"sub": "42", "iat": 1516239022}, "algorithm": "HS256", "key": secret}
    open_page(driver, server.base + "/#tool=transform_jwt_sign")
    tools_loaded(driver)
    # A link that carries the arguments fills the form (and the address drops the secret).
    driver.get(server.base + "/")
    driver.get(server.base + "/#tool=transform_jwt_sign&args=" + quote(json.dumps(args)))
    wait_until(driver, lambda d: css(d, "#f-key") and by_id(d, "f-key").get_attribute("value"))
    assert by_id(driver, "f-key").get_attribute("value") == secret
    wait_until(driver, lambda d: "DEVUTILS_KEY" in by_id(d, "curl-cmd").text)
    curl = by_id(driver, "curl-cmd").text
    assert "first line" not in curl
    expected = rest_call(server, "/api/v1/transform/jwt/sign", args).json()["data"]
    out = json.loads(_shell(curl, DEVUTILS_API_KEY=API_KEY, DEVUTILS_KEY=secret))
    assert out["data"] == expected


def test_multi_line_text_keeps_its_line_breaks(driver: WebDriver, server: ServerProcess) -> None:
    open_tool(driver, server, "text_diff", "original")
    original = by_id(driver, "f-original")
    assert original.tag_name == "textarea"
    assert original.get_attribute("value") == "a\nb\nc\n"  # the first example, unchanged
    run_and_wait(driver)
    expected = rest_call(
        server, "/api/v1/text/diff", {"original": "a\nb\nc\n", "modified": "a\nB\nc\nd\n"}
    ).json()["data"]
    lines = [span.text for span in css(driver, "#human-view pre.diff span")]
    assert {"-b", "+B", "+d"} <= set(lines)
    assert "-b" in str(expected)
    # The address round-trips the line breaks too.
    driver.get(server.base + "/")
    driver.get(server.base + "/#tool=text_diff&args=" + quote(json.dumps({"original": "x\ny\n"})))
    wait_until(driver, lambda d: css(d, "#f-original"))
    wait_until(driver, lambda d: by_id(d, "f-original").get_attribute("value") == "x\ny\n")

    # YAML, where the line breaks are the syntax.
    from selenium.webdriver.support.ui import Select

    open_tool(driver, server, "data_diff", "original")
    for field, text in (("f-original", "a: 1\nb: 2\n"), ("f-modified", "a: 1\nb: 3\n")):
        area = by_id(driver, field)
        area.clear()
        area.send_keys(text)
    Select(by_id(driver, "f-format")).select_by_visible_text("yaml")
    outcome = run_and_wait(driver)
    assert outcome.get_attribute("data-status") == "200", outcome.text
    assert "/b" in by_id(driver, "human-view").text


def test_one_line_fields_stay_inputs(driver: WebDriver, server: ServerProcess) -> None:
    """Text the schema bounds to a line (a zone name, a domain) is an input, not a text area."""
    open_tool(driver, server, "time_convert", "timezone")
    assert by_id(driver, "f-timezone").tag_name == "input"


def test_text_or_number_fields_are_text(driver: WebDriver, server: ServerProcess) -> None:
    """time_convert's input is a string or an integer: a text field, sent as text (which the
    server takes for the unix formats too)."""
    from selenium.webdriver.support.ui import Select

    open_tool(driver, server, "time_convert", "input")
    field = by_id(driver, "f-input")
    assert field.tag_name == "input"
    assert field.get_attribute("type") == "text"
    assert by_id(driver, "f-input").get_attribute("value") == "1703518245"  # no JSON quotes
    css(driver, 'button.example[data-example="1"]')[0].click()  # the integer 1703518245123
    assert by_id(driver, "f-input").get_attribute("value") == "1703518245123"
    run_and_wait(driver)
    as_integer = rest_call(
        server,
        "/api/v1/time/convert",
        {"input": 1703518245123, "inputFormat": "unix_auto", "outputFormat": "rfc3339"},
    ).json()["data"]
    as_text = rest_call(
        server,
        "/api/v1/time/convert",
        {"input": "1703518245123", "inputFormat": "unix_auto", "outputFormat": "rfc3339"},
    ).json()["data"]
    assert as_text == as_integer
    assert as_integer["result"] in by_id(driver, "human-view").text
    field = by_id(driver, "f-input")
    field.clear()
    field.send_keys("2024-01-01")
    Select(by_id(driver, "f-inputFormat")).select_by_visible_text("iso8601")
    Select(by_id(driver, "f-outputFormat")).select_by_visible_text("unix")
    outcome = run_and_wait(driver)
    assert outcome.get_attribute("data-status") == "200", outcome.text
    assert "1704067200" in by_id(driver, "human-view").text


def test_an_optional_field_can_be_sent_empty(driver: WebDriver, server: ServerProcess) -> None:
    """attributePrefix defaults to "@"; "" (no attributes) needs its own switch, since an empty
    field means the default."""
    open_tool(driver, server, "data_convert", "attributePrefix")
    assert not css(driver, "#f-content-empty")  # only where the default is a non-empty text
    css(driver, 'button.example[data-example="2"]')[0].click()  # XML with an attribute
    run_and_wait(driver)
    assert "@id" in by_id(driver, "human-view").text
    by_id(driver, "f-attributePrefix-empty").click()
    assert not by_id(driver, "f-attributePrefix").is_enabled()
    assert (
        json.loads(parse_qs(urlsplit(driver.current_url).fragment)["args"][0])["attributePrefix"]
        == ""
    )
    outcome = run_and_wait(driver)
    assert outcome.get_attribute("data-status") == "200", outcome.text
    expected = rest_call(
        server,
        "/api/v1/data/convert",
        {
            "content": '<user id="7"><name>Ann</name></user>',
            "from": "xml",
            "to": "json",
            "attributePrefix": "",
        },
    ).json()["data"]
    assert expected["result"] in by_id(driver, "human-view").text
    assert "id" not in json.loads(expected["result"])["user"]
    # The shared address keeps the choice.
    shared = driver.current_url
    driver.get(server.base + "/")
    driver.get(shared)
    wait_until(driver, lambda d: css(d, "#f-attributePrefix-empty"))
    wait_until(driver, lambda d: by_id(d, "f-attributePrefix-empty").is_selected())

    # Not where the schema refuses empty text (text_slug's separator: minLength 1, default "-").
    open_tool(driver, server, "text_slug", "separator")
    assert not css(driver, "#f-separator-empty")


def test_try_it_shows_bodies_without_a_data_member(
    driver: WebDriver, server: ServerProcess
) -> None:
    """/health and /api/v1/status answer with the object itself, not {success, data}."""
    open_page(driver, server.base + "/docs")
    wait_until(driver, lambda d: css(d, "#operations details.op"))
    operation = by_id(driver, "op-health")
    driver.execute_script(
        "arguments[0].open = true; arguments[0].querySelector('.try button.primary').click()",
        operation,
    )
    wait_until(driver, lambda d: operation.find_elements("css selector", "#outcome"))
    text = operation.find_element("css selector", "#outcome").text
    assert "undefined" not in text
    assert "status" in text
