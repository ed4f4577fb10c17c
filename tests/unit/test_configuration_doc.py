"""docs/configuration.md names every public constructor option of ``DynamoDBSaver``,
``DynamoDBStore`` and ``DynamoDBCache`` (their ``__init__``; ``from_table`` passes its
keywords on), and every option it names exists."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from langgraph_dynamodb import DynamoDBCache, DynamoDBSaver, DynamoDBStore

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
FENCE = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
PARAM = re.compile(r"(?:^|,|\()\s*(\w+)\s*[:=]")


def options(cls: type) -> set[str]:
    return {
        name
        for name, p in inspect.signature(cls.__init__).parameters.items()
        if name != "self" and p.kind is not inspect.Parameter.VAR_KEYWORD
    }


def sections() -> dict[str, str]:
    """The page split at its ``## `` headings (the first section is the saver's)."""
    text = DOC.read_text(encoding="utf-8")
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    out = {"DynamoDBSaver": parts[0]}
    out.update(zip(parts[1::2], parts[2::2], strict=True))
    return out


def signature_names(section: str, cls: type) -> set[str]:
    (block,) = [b for b in FENCE.findall(section) if b.lstrip().startswith(f"{cls.__name__}(")]
    body = block.split("(", 1)[1]
    return {m for line in body.splitlines() for m in PARAM.findall(line.split("#")[0])}


def table_names(section: str) -> set[str]:
    return set(re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE))


@pytest.mark.parametrize(
    "cls", [DynamoDBSaver, DynamoDBStore, DynamoDBCache], ids=lambda c: c.__name__
)
def test_the_page_names_every_option_and_nothing_else(cls: type) -> None:
    section = sections()[cls.__name__]
    assert signature_names(section, cls) == options(cls)
    assert table_names(section) <= options(cls), table_names(section) - options(cls)
    assert table_names(section), "no option table"


@pytest.mark.parametrize(
    "cls", [DynamoDBSaver, DynamoDBStore, DynamoDBCache], ids=lambda c: c.__name__
)
def test_from_table_passes_every_option_on(cls: type) -> None:
    params = inspect.signature(cls.from_table).parameters
    assert list(params)[:1] == ["table_name"]
    assert any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    assert f"{cls.__name__}.from_table(name, **options)" in DOC.read_text(encoding="utf-8")
