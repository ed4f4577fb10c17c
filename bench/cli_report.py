"""The table of the command-line workload (``k``): each command's wall time on the
10,000-checkpoint table."""

from __future__ import annotations

from typing import Any


def tables(results: dict[str, Any]) -> list[str]:
    """The Markdown table, when the workload ran."""
    w = results["savers"].get("ours-cli", {}).get("workloads", {}).get("cli")
    if not w:
        return []
    notes = w.get("notes", {})
    lines = [
        f"| (k) the command line on {notes.get('checkpoints', 0):,} checkpoints "
        f"({notes.get('threads', '?')} threads) | wall time |",
        "|---|---|",
    ]
    for name, ms in notes.get("timings_ms", {}).items():
        lines.append(f"| `langgraph-dynamodb {name}` | {ms / 1000:.2f} s |")
    size = notes.get("export_bytes")
    if size:
        lines.append(
            f"| export file | {size / 1e6:.1f} MB, {notes.get('export_lines', 0):,} lines |"
        )
    if "import_equal_sampled" in notes:
        lines.append(
            f"| import read back equal (a sample of threads) | {notes['import_equal_sampled']} |"
        )
    if w.get("error"):
        lines.append(f"| error | {str(w['error'])[:120]} |")
    return ["\n".join(lines)]
