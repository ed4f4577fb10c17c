"""The README's code runs as written: its Python blocks in order, as one program, against
DynamoDB Local (through ``AWS_ENDPOINT_URL_DYNAMODB``, as a user points a shell at it), and
its main command. A block that cannot run here says why in a ``<!-- not run: ... -->``
line right above it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from .conftest import REGION

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
NOT_RUN = re.compile(r"<!-- not run(?: here)?: .+ -->\s*$")


def blocks(path: Path) -> list[tuple[str, str, bool]]:
    """(language, code, marked as not run) of every fenced block."""
    text = path.read_text()
    out = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").splitlines()
        marked = bool(before) and bool(NOT_RUN.search(before[-1]))
        out.append((match.group(1), match.group(2), marked))
    return out


def test_every_readme_block_runs_or_says_why_not() -> None:
    unmarked = [
        (lang, code[:60])
        for lang, code, marked in blocks(ROOT / "README.md")
        if not marked and lang != "python"
    ]
    assert not unmarked, f"blocks neither run nor marked '<!-- not run: why -->': {unmarked}"


def test_readme_python_runs_as_written(ddb_endpoint: str) -> None:
    table = f"readme-{uuid.uuid4().hex[:8]}"
    code = "\n\n".join(
        c for lang, c, marked in blocks(ROOT / "README.md") if lang == "python" and not marked
    )
    code = code.replace('"checkpoints"', repr(table))  # a table of this test's own
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_") or k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    }
    env.update(AWS_ENDPOINT_URL_DYNAMODB=ddb_endpoint, AWS_REGION=REGION)
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "['hi', 'echo: hi']",
        "['from lambda', 'echo: from lambda']",
        "[('m1', 1.0)]",
    ], done.stdout
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
