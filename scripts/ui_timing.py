"""How fast the replay UI answers on a big table, as a person meets it: fills a table of
DynamoDB Local with N threads (``replay_threads_timing.fill``: two checkpoints each) and
one thread of 10,000 checkpoints (``tests/replay/graphs.long_thread``), starts the real
``langgraph-dynamodb ui``, then times the threads page and opening the long thread, over
HTTP (the JSON the page asks for) and in headless Chromium (until the rows, or the tree,
are drawn). A measurement, not a test.

    python scripts/ui_timing.py --threads 100000
    python scripts/ui_timing.py --endpoint-url http://127.0.0.1:8000 --table T   # filled before
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.replay: the browser test's long thread and flags

from replay_threads_timing import fill  # noqa: E402  (this directory's)

from langgraph_dynamodb import DynamoDBSaver  # noqa: E402
from langgraph_dynamodb.local import DynamoDBLocal  # noqa: E402
from tests.replay.graphs import LONG_CHECKPOINTS, LONG_THREAD, long_thread  # noqa: E402

REPEAT = 3
"""Each figure is the best of this many runs (the first, cold, is printed too)."""


def timed(what: str, call: Callable[[], Any]) -> Any:
    times, result = [], None
    for _ in range(REPEAT):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    print(f"{what}: first {times[0]:.3f} s, best {min(times):.3f} s", flush=True)
    return result


def start_ui(endpoint: str, table: str) -> tuple[subprocess.Popen[str], str]:
    exe = Path(sys.executable).parent / "langgraph-dynamodb"
    proc = subprocess.Popen(
        [str(exe), "--table", table, "--endpoint-url", endpoint, "ui"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"},
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def get(url: str) -> Any:
    with urllib.request.urlopen(url) as resp:  # noqa: S310 - the local server's URL
        return json.loads(resp.read())


def browser_timings(url: str) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.replay.test_browser import CHROMEDRIVER, CHROMIUM, CHROMIUM_FLAGS

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={tempfile.mkdtemp()}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:

        def shown(page: str, css: str) -> None:
            driver.get("about:blank")
            driver.get(page)
            WebDriverWait(driver, 120).until(lambda d: d.find_elements(By.CSS_SELECTOR, css))

        timed(
            "browser: threads page, from navigation to rows drawn",
            lambda: shown(url, "#threads tr[data-thread]"),
        )
        timed(
            f"browser: the {LONG_CHECKPOINTS:,}-checkpoint thread, to its tree and state drawn",
            lambda: shown(f"{url}#/thread/{LONG_THREAD}", "#state"),
        )
    finally:
        driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=100_000)
    parser.add_argument("--endpoint-url", help="a running DynamoDB Local (default: start one)")
    parser.add_argument("--table", help="a table already filled (default: a new one, filled)")
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    with ExitStack() as stack:
        endpoint = args.endpoint_url or stack.enter_context(DynamoDBLocal()).endpoint_url
        table = args.table or f"ui-timing-{uuid.uuid4().hex[:8]}"
        if not args.table:
            kw: dict[str, Any] = {"endpoint_url": endpoint, "region_name": "us-east-1"}
            with DynamoDBSaver(table_name=table, **kw) as saver:
                saver.setup()
                start = time.perf_counter()
                fill(saver, args.threads)
                long_thread(saver, LONG_THREAD, LONG_CHECKPOINTS)
                print(f"filled {table} in {time.perf_counter() - start:.0f} s", flush=True)
        proc, url = start_ui(endpoint, table)
        try:
            base, token = url.split("/?token=")

            def call(path: str) -> Any:
                sep = "&" if "?" in path else "?"
                return get(f"{base}/api/{path}{sep}token={token}")

            first = timed("HTTP: threads, first page of 50", lambda: call("threads"))
            print(
                f"  listed by {first.get('listing')}, of {first.get('total')} threads", flush=True
            )
            timed("HTTP: threads, next page", lambda: call(f"threads?cursor={first['cursor']}"))
            long = f"thread?thread={LONG_THREAD}"
            page = timed(f"HTTP: {LONG_THREAD}, first page of checkpoints", lambda: call(long))
            latest = page["checkpoints"][0]["checkpoint_id"]
            timed(
                f"HTTP: {LONG_THREAD}, next page", lambda: call(f"{long}&cursor={page['cursor']}")
            )
            timed(
                f"HTTP: {LONG_THREAD}, its latest checkpoint decoded",
                lambda: call(f"checkpoint?thread={LONG_THREAD}&id={latest}"),
            )
            browser_timings(url)
        finally:
            proc.terminate()
            proc.wait(timeout=15)


if __name__ == "__main__":
    main()
