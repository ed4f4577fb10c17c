"""Docs are code: every fenced block of README.md and docs/ runs in this test, or says why
it cannot in a ``<!-- not run: why -->`` line right above it.

- ``python`` blocks run as a user copying one would: each as a program of its own, against
  DynamoDB Local (through ``AWS_ENDPOINT_URL_DYNAMODB``, as a user points a shell at it),
  with the tables they name (``table_name="..."``, ``from_table("..."``) made unique to
  the test. A block right after a
  ``<!-- continues the block above -->`` line runs together with the blocks before it.
  A ``text`` block after an ``<!-- output of the block above -->`` line is what it prints.
- ``json`` blocks parse, and those that are IAM policies pass parliament's checks;
  ``yaml`` and ``toml`` blocks parse.
- Any other block (shell sessions, diagrams) is marked not run, with the reason. The
  README's main command runs below; docs/cli.md is a real session that
  tests/cli/test_docs_page.py runs again.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import tomllib
import yaml

from .conftest import REGION

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
MARK = re.compile(
    r"<!-- (not run(?: here)?: .+|continues the block above|output of the block above) -->\s*$"
)
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
SESSION_PAGES = {ROOT / "docs" / "cli.md"}  # checked by tests/cli/test_docs_page.py
TABLES = re.compile(r'(table_name=|from_table\(\s*)"([a-z][a-z0-9-]*)"')
"""Table names a block uses: each made unique to the test."""


@dataclass
class Block:
    page: Path
    line: int
    lang: str
    code: str
    mark: str | None

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


@dataclass
class Program:
    """Python blocks run together (one, or one continued), and what they must print."""

    blocks: list[Block] = field(default_factory=list)
    output: str | None = None

    @property
    def where(self) -> str:
        return self.blocks[0].where


def blocks(path: Path) -> list[Block]:
    text = path.read_text()
    out = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").splitlines()
        found = MARK.search(before[-1]) if before else None
        line = text.count("\n", 0, match.start()) + 1
        out.append(Block(path, line, match.group(1), match.group(2), found and found.group(1)))
    return out


def programs(path: Path) -> list[Program]:
    out: list[Program] = []
    for block in blocks(path):
        if block.lang == "python" and block.mark is None:
            out.append(Program([block]))
        elif block.lang == "python" and block.mark == "continues the block above":
            assert out, f"{block.where}: continues no python block"
            out[-1].blocks.append(block)
        elif block.mark == "output of the block above":
            assert out, f"{block.where}: the output of no python block"
            out[-1].output = block.code
    return out


ALL_PROGRAMS = [p for page in PAGES if page not in SESSION_PAGES for p in programs(page)]


def test_every_block_runs_or_says_why_not() -> None:
    unmarked = [
        b.where
        for page in PAGES
        if page not in SESSION_PAGES
        for b in blocks(page)
        if b.mark is None and b.lang not in ("python", "json", "yaml", "toml")
    ]
    assert not unmarked, f"blocks neither run nor marked '<!-- not run: why -->': {unmarked}"


def test_data_blocks_parse_and_policies_pass_parliament() -> None:
    import parliament

    checked = 0
    for page in PAGES:
        for b in blocks(page):
            if b.mark is not None and b.mark.startswith("not run"):
                continue
            if b.lang == "json":
                data = json.loads(b.code)
                if isinstance(data, dict) and "Statement" in data:
                    policy = parliament.analyze_policy_string(b.code)
                    findings = [f for f in policy.findings if f.severity in ("HIGH", "MEDIUM")]
                    assert not findings, f"{b.where}: {findings}"
            elif b.lang == "yaml":
                yaml.safe_load(b.code)
            elif b.lang == "toml":
                tomllib.loads(b.code)
            else:
                continue
            checked += 1
    assert checked >= 1


def _run(program: Program, ddb_endpoint: str) -> subprocess.CompletedProcess[str]:
    suffix = uuid.uuid4().hex[:8]
    code = "\n\n".join(b.code for b in program.blocks)
    code = TABLES.sub(lambda m: f'{m.group(1)}"{m.group(2)}-{suffix}"', code)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_") or k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    }
    env.update(AWS_ENDPOINT_URL_DYNAMODB=ddb_endpoint, AWS_REGION=REGION)
    env.pop("LANGGRAPH_DYNAMODB_TRACE_IDS", None)
    return subprocess.run(
        [sys.executable, "-X", "dev", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=180,
        check=False,
    )


@pytest.fixture(scope="module")
def ran(ddb_endpoint: str) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every program run once, as many at a time as there are cores (each is a Python
    process of its own, mostly importing), by where it starts."""
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        done = pool.map(lambda p: _run(p, ddb_endpoint), ALL_PROGRAMS)
        return {p.where: d for p, d in zip(ALL_PROGRAMS, done, strict=True)}


@pytest.mark.parametrize("program", ALL_PROGRAMS, ids=[p.where for p in ALL_PROGRAMS])
def test_python_blocks_run_as_written(
    program: Program, ran: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    done = ran[program.where]
    assert done.returncode == 0, f"{program.where}:\n{done.stderr[-4000:]}"
    if program.output is not None:
        assert done.stdout.strip() == program.output.strip(), f"{program.where}: {done.stdout}"
    assert "Warning" not in done.stderr and "Unclosed" not in done.stderr, done.stderr


def test_readme_main_command_runs_the_demo() -> None:
    """``bash scripts/demo.sh``: its set-up is already done here, so it only runs."""
    done = subprocess.run(
        ["bash", "scripts/demo.sh"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "set-up: installing" not in done.stdout, done.stdout[:2000]
    assert "RECOMMENDATION [SUCCESS]" in done.stdout
    assert "result identical to the uncrashed run: yes" in done.stdout
