"""The replay UI as a person uses it: the real ``langgraph-dynamodb ui`` command started
as a user starts it (the URL read from what it prints), on a DynamoDB Local table filled
by real graphs (tests/replay/graphs.py), driven in Debian's headless Chromium through its
chromedriver (Selenium, which then downloads nothing). Every view is clicked through, then
time travel (``--graph --allow-writes``): answer an interrupt, edit a channel and fork,
resume, the same inside a subgraph (and the replay LangGraph cannot do from a subgraph
checkpoint the run left, refused with the root graph's step offered instead); each new
checkpoint appears in the tree. A second server, read-only, shows no
write action.

Screenshots go to ``$LANGGRAPH_DYNAMODB_UI_SCREENSHOTS`` when set (docs/images/ui for
docs/ui.md), else to the test's temporary directory."""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import threading
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from langgraph_dynamodb import DynamoDBSaver
from langgraph_dynamodb.cache import DynamoDBCache
from langgraph_dynamodb.replay import REDACTED
from langgraph_dynamodb.store import DynamoDBStore
from tests.cli.conftest import ROOT, script
from tests.conftest import REGION
from tests.replay.graphs import (
    LONG_CHECKPOINTS,
    SECRET,
    SECRET_THREADS,
    SUMMARY_CHARS,
    Filled,
    fill,
    fill_secrets,
    summarize,
)

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,900",
]
"""Headless, and no connection of its own (a closed network would make it wait)."""

URL_LINE = re.compile(r"^http://127\.0\.0\.1:(\d+)/\?token=([A-Za-z0-9_-]{20,})$")
WAIT = 20
"""Seconds a view may take to show (DynamoDB Local on a CI machine of 2 cores)."""


@dataclass
class Table:
    endpoint: str
    name: str
    threads: Filled


@pytest.fixture(scope="module")
def table(ddb_endpoint: str) -> Table:
    """A table filled by the fixture graphs (:func:`tests.replay.graphs.fill`)."""
    name = f"ui-{uuid.uuid4().hex[:8]}"
    kw: dict[str, Any] = {"table_name": name, "endpoint_url": ddb_endpoint, "region_name": REGION}
    with DynamoDBSaver(**kw) as saver, DynamoDBStore(**kw) as store, DynamoDBCache(**kw) as cache:
        saver.setup(prepare_async=False)
        return Table(ddb_endpoint, name, fill(saver, store, cache))


def start_ui(table: Table, *args: str, log: Path) -> tuple[subprocess.Popen[str], str]:
    """``langgraph-dynamodb --table T --endpoint-url E ui ARGS``, and the URL it printed."""
    with log.open("w") as err:
        proc = subprocess.Popen(
            [script(), "--table", table.name, "--endpoint-url", table.endpoint, "ui", *args],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            cwd=ROOT,  # --graph tests.replay.graphs:builder imports from the project
            env={**os.environ, "AWS_DEFAULT_REGION": REGION},
        )
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    threading.Thread(target=lambda: lines.put(proc.stdout.readline()), daemon=True).start()  # type: ignore[union-attr]
    try:
        url = lines.get(timeout=60).strip()
    except queue.Empty:
        stop(proc)
        pytest.fail(f"langgraph-dynamodb ui printed no URL in 60 s: {log.read_text()}")
    assert URL_LINE.match(url), (url, log.read_text())
    return proc, url


def stop(proc: subprocess.Popen[str]) -> None:
    """Stop the server this test started (by its PID), as Ctrl-C would."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def servers(table: Table, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Two servers of the same table: one with time travel, one read-only (the default)."""
    logs = tmp_path_factory.mktemp("ui-logs")
    writes, writes_url = start_ui(
        table, "--graph", "tests.replay.graphs:builder", "--allow-writes", log=logs / "writes.log"
    )
    try:
        read_only, read_only_url = start_ui(table, log=logs / "read-only.log")
    except BaseException:
        stop(writes)
        raise
    yield {"writes": writes_url, "read-only": read_only_url}
    stop(writes)
    stop(read_only)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """Headless Chromium with a fresh profile, quit (driver and browser) at the end."""
    for path in (CHROMIUM, CHROMEDRIVER):
        assert os.path.exists(path), (
            f"{path} is missing: apt-get install chromium chromium-driver (scripts/_setup.sh does)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def shot(browser: WebDriver, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], None]:
    """``shot("threads")``: a screenshot of the page as it is."""
    where = Path(
        os.environ.get("LANGGRAPH_DYNAMODB_UI_SCREENSHOTS") or tmp_path_factory.mktemp("shots")
    )
    where.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> None:
        browser.save_screenshot(str(where / f"{name}.png"))

    return take


# --- what a person does: look, wait, click ---------------------------------------------------
def until(browser: WebDriver, shown: Callable[[WebDriver], Any], what: str) -> None:
    """Wait until a view shows (an element re-drawn meanwhile is looked up again); on a
    time-out, fail with what the page shows instead."""
    try:
        WebDriverWait(browser, WAIT, ignored_exceptions=(StaleElementReferenceException,)).until(
            shown
        )
    except TimeoutException:
        page = browser.find_element(By.TAG_NAME, "body").text
        pytest.fail(
            f"{what}: not shown in {WAIT} s at {browser.current_url}; the page:\n{page[:3000]}"
        )


def find(browser: WebDriver, css: str, *, count: int = 1) -> list[WebElement]:
    """The elements ``css`` selects, once at least ``count`` are shown."""
    until(
        browser,
        lambda d: len(d.find_elements(By.CSS_SELECTOR, css)) >= count,
        f"{count} of {css!r}",
    )
    return browser.find_elements(By.CSS_SELECTOR, css)


def one(browser: WebDriver, css: str) -> WebElement:
    return find(browser, css)[0]


def wait_text(browser: WebDriver, css: str, text: str) -> WebElement:
    """The element ``css`` selects, once its text holds ``text``."""
    until(
        browser,
        lambda d: any(text in e.text for e in d.find_elements(By.CSS_SELECTOR, css)),
        f"{text!r} in {css!r}",
    )
    return next(e for e in browser.find_elements(By.CSS_SELECTOR, css) if text in e.text)


def rows_of(browser: WebDriver, table: str, attribute: str) -> list[str | None]:
    """The ``attribute`` of each row of ``table`` that has one."""
    rows = browser.find_elements(By.CSS_SELECTOR, f"{table} tr[{attribute}]")
    return [r.get_attribute(attribute) for r in rows]


def summary_of(topic: str) -> str:
    return str(summarize({"topic": topic})["summary"])


def open_thread(browser: WebDriver, thread_id: str) -> None:
    browser.get(browser.current_url.split("#")[0] + "#/threads")
    one(browser, f'#threads tr[data-thread="{thread_id}"] a').click()
    wait_text(browser, "h2", thread_id)
    find(browser, "#tree .cp")


def click_checkpoint(browser: WebDriver, css: str) -> str:
    """Click the checkpoint ``css`` selects in the tree; its id, once its details show."""
    button = one(browser, f"#tree {css}")
    checkpoint_id = button.get_attribute("data-id") or ""
    button.click()
    find(browser, "#detail:not([aria-busy])")
    wait_text(browser, "#detail h3", checkpoint_id)
    one(browser, "#state, #tab-pane p")
    return checkpoint_id


def tab(browser: WebDriver, name: str) -> WebElement:
    one(browser, f'.tabs button[data-tab="{name}"]').click()
    return one(browser, "#tab-pane")


# --- the views ----------------------------------------------------------------------------------
def test_threads_page_shows_status_and_searches(
    browser: WebDriver, servers: dict[str, str], table: Table, shot: Callable[[str], None]
) -> None:
    browser.get(servers["writes"])
    t = table.threads
    rows = find(browser, "#threads tr[data-thread]", count=7)
    status = {
        r.get_attribute("data-thread"): r.find_element(By.CSS_SELECTOR, ".badge").text for r in rows
    }
    assert status == {
        t.long: "finished",
        t.forked: "interrupted",
        t.running: "running",
        t.failed: "error",
        t.failed_in_subgraph: "error",
        t.waiting: "interrupted",
        t.finished: "finished",
    }
    assert str(LONG_CHECKPOINTS) in one(browser, f'#threads tr[data-thread="{t.long}"]').text
    assert one(browser, "#mode").text == "writes allowed"
    shot("threads")

    one(browser, "#threads-refresh").click()  # lists the table anew: the same seven
    until(browser, lambda d: len(rows_of(d, "#threads", "data-thread")) == 7, "the refresh")

    search = one(browser, "#thread-search")
    search.send_keys("wait", Keys.ENTER)
    until(browser, lambda d: rows_of(d, "#threads", "data-thread") == [t.waiting], "the search")


def test_thread_tree_has_forks_as_branches_and_subgraphs_nested(
    browser: WebDriver, servers: dict[str, str], table: Table, shot: Callable[[str], None]
) -> None:
    open_thread(browser, table.threads.forked)
    branches = find(browser, "#tree ul.branch")
    assert len(branches) == 1  # the fork: update_state on the checkpoint after plan
    subgraphs = find(browser, "#tree details.ns", count=2)  # research ran on each branch
    assert all(s.get_attribute("data-ns").startswith("research:") for s in subgraphs)
    nodes = [e.text for e in find(browser, "#tree .cp .nodes")]
    assert {"plan", "research", "write", "approve", "search", "summarize"} <= set(nodes)
    shot("tree")


def test_checkpoint_state_is_collapsible_and_cut_with_show_all(
    browser: WebDriver, servers: dict[str, str], table: Table, shot: Callable[[str], None]
) -> None:
    open_thread(browser, table.threads.finished)
    click_checkpoint(browser, '.cp[data-ns=""][data-step="2"]')  # after research
    summary = one(browser, '#state .channel[data-channel="summary"]')
    assert f"({len(summary_of('otters'))} in all)" in summary.text
    assert one(browser, "#state details")  # objects and lists fold
    shot("checkpoint")
    summary.find_element(By.CSS_SELECTOR, ".show-all").click()
    until(browser, lambda d: "in all)" not in summary.text, "the whole summary")
    assert len(summary.text) > SUMMARY_CHARS


def test_diff_from_parent_and_metadata(
    browser: WebDriver, servers: dict[str, str], table: Table, shot: Callable[[str], None]
) -> None:
    open_thread(browser, table.threads.finished)
    click_checkpoint(browser, '.cp[data-ns=""][data-step="3"]')  # after write
    pane = tab(browser, "Diff")
    draft = wait_text(browser, '#diff .channel[data-channel="draft"]', "added")
    assert "A post about otters" in draft.text
    assert "notes" in pane.text
    shot("diff")
    pane = tab(browser, "Metadata")
    until(browser, lambda d: "source" in pane.text and "loop" in pane.text, "metadata")
    pane = tab(browser, "Writes")
    until(browser, lambda d: "__interrupt__" in pane.text, "the interrupt's write")


def test_interrupts_and_errors_show_on_their_checkpoints(
    browser: WebDriver, servers: dict[str, str], table: Table
) -> None:
    open_thread(browser, table.threads.failed)
    assert find(browser, "#tree .cp .badge.error")
    click_checkpoint(browser, ".cp:has(.badge.error)")
    wait_text(browser, "#detail .error-write", "the writer model returned nothing")
    open_thread(browser, table.threads.waiting)
    click_checkpoint(browser, ".cp:has(.badge.interrupt)")
    wait_text(browser, "#detail .interrupt", "Publish this draft?")


def test_find_the_first_checkpoint_where_a_condition_holds(
    browser: WebDriver, servers: dict[str, str], table: Table, shot: Callable[[str], None]
) -> None:
    open_thread(browser, table.threads.forked)
    one(browser, "#find-path").send_keys("topic")
    one(browser, "#find-value").send_keys('"meteors"')
    one(browser, "#find-value").send_keys(Keys.ENTER)
    found = wait_text(browser, "#find-result", "first at step")
    shot("find")
    target = found.find_element(By.CSS_SELECTOR, "button").text
    found.find_element(By.CSS_SELECTOR, "button").click()
    wait_text(browser, "#detail h3", target)
    assert "meteors" in one(browser, '#state .channel[data-channel="topic"]').text


def test_a_thread_of_10000_checkpoints_opens_a_page_at_a_time(
    browser: WebDriver, servers: dict[str, str], table: Table
) -> None:
    open_thread(browser, table.threads.long)
    first = len(find(browser, "#tree .cp", count=2))
    assert first < LONG_CHECKPOINTS
    assert max(steps(browser)) == LONG_CHECKPOINTS - 1
    one(browser, "#load-older").click()
    find(browser, "#tree .cp", count=2 * first)
    assert min(steps(browser)) > 0  # still not the whole thread


def steps(browser: WebDriver) -> list[int]:
    return [int(e.get_attribute("data-step") or 0) for e in find(browser, "#tree .cp")]


def test_memories_namespaces_items_and_search(
    browser: WebDriver, servers: dict[str, str], shot: Callable[[str], None]
) -> None:
    one(browser, "#nav-memories").click()
    names = [e.text for e in find(browser, "#namespaces li[data-ns]", count=3)]
    assert names == ["facts", "users / alice", "users / bob"]
    find(browser, "#memory-items tr[data-key]", count=4)  # every namespace's, then the layout holds
    one(browser, '#namespaces li[data-ns="users/alice"]').click()
    wait_text(browser, "#memory-scope", "in users/alice")
    keys = [
        e.get_attribute("data-key") for e in find(browser, "#memory-items tr[data-key]", count=2)
    ]
    assert sorted(keys) == ["profile", "style"]
    one(browser, "#memory-filter").send_keys('{"kind": "preference"}', Keys.ENTER)
    until(browser, lambda d: rows_of(d, "#memory-items", "data-key") == ["style"], "the filter")
    shot("memories")


def test_node_cache_entries(browser: WebDriver, servers: dict[str, str]) -> None:
    one(browser, "#nav-cache").click()
    wait_text(browser, "#cache", "plan")


# --- time travel ---------------------------------------------------------------------------------
def test_answer_an_interrupt_and_the_run_goes_on(
    browser: WebDriver, servers: dict[str, str], table: Table
) -> None:
    open_thread(browser, table.threads.waiting)
    before = len(find(browser, "#tree .cp"))
    click_checkpoint(browser, ".cp:has(.badge.interrupt)")
    one(browser, "#answer-value").send_keys("true")
    one(browser, "#answer").click()
    find(browser, "#tree .cp", count=before + 1)
    new = wait_text(browser, "#tree .cp.selected", "approve")
    assert new.get_attribute("data-step") == "4"
    assert "approved: True" in one(browser, '#state .channel[data-channel="notes"]').text


def test_edit_a_channel_fork_and_resume(
    browser: WebDriver, servers: dict[str, str], table: Table, shot: Callable[[str], None]
) -> None:
    open_thread(browser, table.threads.finished)
    assert not browser.find_elements(By.CSS_SELECTOR, "#tree ul.branch")
    click_checkpoint(browser, '.cp[data-ns=""][data-step="1"]')  # after plan
    channel = one(browser, "#fork-channel")
    channel.clear()
    channel.send_keys("topic")
    one(browser, "#fork-value").send_keys('"penguins"')
    shot("time-travel")
    one(browser, "#fork").click()
    one(browser, "#tree ul.branch")  # the fork: a branch of the checkpoint after plan
    forked = wait_text(browser, "#tree .cp.selected", "#2").get_attribute("data-id")
    wait_text(browser, '#state .channel[data-channel="topic"]', "penguins")
    one(browser, "#resume").click()  # research, write, then the interrupt again
    resumed = wait_text(browser, "#tree .cp.selected", "interrupt")
    assert resumed.get_attribute("data-step") == "4"
    assert resumed.get_attribute("data-id") != forked
    shot("forked")


def test_a_subgraph_forks_and_goes_on_where_it_stopped_not_where_it_was_left(
    browser: WebDriver, servers: dict[str, str], table: Table
) -> None:
    browser.get(servers["writes"])
    open_thread(browser, table.threads.failed_in_subgraph)
    failed = '.cp[data-ns^="research:"]:has(.badge.error)'  # where the subgraph's search failed
    stopped = click_checkpoint(browser, failed)
    wait_text(browser, "#detail .error-write", "search: RuntimeError")
    channel = one(browser, "#fork-channel")
    channel.clear()
    channel.send_keys("topic")
    one(browser, "#fork-value").send_keys('"dark energy"')
    one(browser, "#fork").click()
    forked = wait_text(browser, '#tree .cp.selected[data-ns^="research:"]', "update")
    assert forked.get_attribute("data-id") != stopped
    one(browser, "#resume").click()  # the root graph resumes; the subgraph from the fork
    resumed = wait_text(browser, '#tree .cp.selected[data-ns=""]', "interrupt").get_attribute(
        "data-id"
    )
    assert "dark energy" in one(browser, '#state .channel[data-channel="summary"]').text

    click_checkpoint(browser, failed)  # the run has left it: LangGraph would start over
    before = len(find(browser, "#tree .cp"))
    one(browser, "#resume").click()
    assert "#8458" in wait_text(browser, "#error", "not where its run stopped").text
    assert len(find(browser, "#tree .cp")) == before  # nothing ran
    one(browser, "#replay-root").click()  # what it offers instead: the step that ran it
    wait_text(browser, "#error", "the run stopped: RuntimeError")  # on the old topic, again
    replayed = wait_text(browser, '#tree .cp.selected[data-ns=""]', "error").get_attribute(
        "data-id"
    )
    assert replayed != resumed
    assert len(find(browser, "#tree details.ns", count=2)) == 2  # the subgraph, from its start


def test_read_only_shows_no_write_action(
    browser: WebDriver, servers: dict[str, str], table: Table
) -> None:
    browser.get(servers["read-only"])
    wait_text(browser, "#mode", "read-only")
    open_thread(browser, table.threads.waiting)
    click_checkpoint(browser, ".cp:has(.badge.interrupt)")
    assert not browser.find_elements(By.CSS_SELECTOR, "#actions")


# --- --redact, end to end ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def redacting(ddb_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``ui --redact 'sk-live-\\w+'`` on a table of its own, where the secret is in every
    kind of value (:func:`tests.replay.graphs.fill_secrets`); its URL."""
    name = f"ui-secret-{uuid.uuid4().hex[:8]}"
    kw: dict[str, Any] = {"table_name": name, "endpoint_url": ddb_endpoint, "region_name": REGION}
    with DynamoDBSaver(**kw) as saver, DynamoDBStore(**kw) as store:
        saver.setup(prepare_async=False)
        fill_secrets(saver, store)
    log = tmp_path_factory.mktemp("ui-logs") / "redact.log"
    proc, url = start_ui(Table(ddb_endpoint, name, Filled()), "--redact", r"sk-live-\w+", log=log)
    yield url
    stop(proc)


def _api(url: str, endpoint: str, **params: str) -> str:
    """The text of ``GET /api/<endpoint>`` on the server at ``url`` (its token as a bearer)."""
    token = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)["token"][0]
    base = url.split("/?")[0]
    request = urllib.request.Request(
        f"{base}/api/{endpoint}?{urllib.parse.urlencode(params)}",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=WAIT) as answer:
        return str(answer.read().decode())


def test_redact_hides_a_secret_in_every_view_and_endpoint(
    browser: WebDriver, redacting: str
) -> None:
    def clean(where: str) -> None:
        assert SECRET not in browser.page_source, where
        assert "sk-live" not in browser.page_source, where

    browser.get(redacting)
    find(browser, "#threads tr[data-thread]", count=len(SECRET_THREADS))
    clean("threads")
    one(browser, "#thread-search").send_keys("sk-live", Keys.ENTER)  # no probing by metadata
    wait_text(browser, "#threads", "No threads.")
    shown = 0
    for thread in SECRET_THREADS:
        open_thread(browser, thread)
        for checkpoint_id in [e.get_attribute("data-id") for e in find(browser, "#tree .cp")]:
            click_checkpoint(browser, f'.cp[data-id="{checkpoint_id}"]')
            for name, ready in [
                ("State", "#tab-pane #state, #tab-pane > p"),
                ("Diff", "#tab-pane #diff, #tab-pane > p"),
                ("Metadata", "#tab-pane > .json"),
                ("Writes", "#tab-pane #writes, #tab-pane > p"),
            ]:
                tab(browser, name)
                one(browser, ready)
                clean(f"{thread} {checkpoint_id} {name}")
                shown += REDACTED in browser.page_source
        one(browser, "#find-path").send_keys("credentials.token")
        one(browser, "#find-mode").send_keys("matches regex")
        one(browser, "#find-value").send_keys(
            "sk-live", Keys.ENTER
        )  # values are looked at redacted
        wait_text(browser, "#find-result", "no checkpoint matches")
        clean(f"{thread} find")
    assert shown  # the secret was there, redacted
    wait_text(browser, "#detail .error-write", REDACTED)  # the rejected key's error
    one(browser, "#nav-memories").click()
    wait_text(browser, "#memory-items", REDACTED)
    clean("memories")

    seen = [_api(redacting, e) for e in ("threads", "namespaces", "items", "cache")]
    seen.append(_api(redacting, "threads", q="sk-live"))
    for thread in SECRET_THREADS:
        rows = json.loads(_api(redacting, "thread", thread=thread))["checkpoints"]
        seen.append(str(rows))
        seen.append(_api(redacting, "find", thread=thread, path="note", regex="."))
        for row in rows:
            at = {"thread": thread, "ns": row["checkpoint_ns"], "id": row["checkpoint_id"]}
            checkpoint = _api(redacting, "checkpoint", **at)
            seen += [checkpoint, _api(redacting, "diff", **at)]
            state = json.loads(checkpoint)["state"]
            seen += [_api(redacting, "value", **at, channel=c) for c in state]  # "show all"
    assert not [text for text in seen if "sk-live" in text]
    assert REDACTED in "".join(seen)
