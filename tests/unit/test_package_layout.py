"""The package's arrows point one way: only the command line imports the command line
(the replay UI and MCP server, which ``cli`` starts, read through ``views`` and
``survey``, never through ``cli``)."""

from __future__ import annotations

import ast
from pathlib import Path

import langgraph_dynamodb

PACKAGE = Path(langgraph_dynamodb.__file__).resolve().parent


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_only_the_command_line_imports_the_command_line() -> None:
    back = {
        str(path.relative_to(PACKAGE)): sorted(
            name for name in _imports(path) if name.startswith("langgraph_dynamodb.cli")
        )
        for path in PACKAGE.rglob("*.py")
        if path.relative_to(PACKAGE).parts[0] != "cli"
    }
    assert {module: names for module, names in back.items() if names} == {}
