"""A virtualenv per peer, made once under ``bench/.venvs/`` and reused.

Each peer is installed with ``pip install <peer>==<version> langgraph`` and pip resolves
the rest; the versions it picked are recorded (``pip list``) in the venv and in the
results. A venv is rebuilt when its requirements change or its install did not finish.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench.savers import SaverSpec

DEFAULT_ROOT = Path(__file__).resolve().parent / ".venvs"
MARKER = "bench-venv.json"


@dataclass
class Venv:
    """A ready venv: its python, what was asked and what pip installed."""

    name: str
    python: Path
    requirements: list[str]
    installed: dict[str, str]
    created_s: float
    reused: bool


def _python(path: Path) -> Path:
    return path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def installed_versions(python: Path) -> dict[str, str]:
    """Every distribution in the environment of ``python``, name -> version."""
    code = (
        "import importlib.metadata as m, json; "
        "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
    )
    listing = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return dict(sorted(json.loads(listing.stdout).items(), key=lambda kv: kv[0].lower()))


def ensure(spec: SaverSpec, root: Path = DEFAULT_ROOT, log=print) -> Venv:  # type: ignore[no-untyped-def]
    """The venv for ``spec`` (its ``venv`` folder), creating or refreshing it if needed."""
    assert spec.requirements is not None and spec.venv is not None
    path = root / spec.venv
    marker = path / MARKER
    requirements = list(spec.requirements)
    if marker.is_file():
        recorded = json.loads(marker.read_text())
        if recorded.get("requirements") == requirements and _python(path).exists():
            return Venv(spec.venv, _python(path), requirements, recorded["installed"], 0.0, True)
    started = time.monotonic()
    log(f"creating venv {path} for {' '.join(requirements)} (pip resolves the rest) ...")
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(path)], check=True)
    pip = [str(_python(path)), "-m", "pip", "--disable-pip-version-check", "-q"]
    result = subprocess.run(
        [*pip, "install", *requirements], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"pip install {' '.join(requirements)} failed in {path}:\n{result.stderr[-3000:]}"
        )
    installed = installed_versions(_python(path))
    marker.write_text(json.dumps({"requirements": requirements, "installed": installed}, indent=1))
    return Venv(
        spec.venv, _python(path), requirements, installed, time.monotonic() - started, False
    )


def ensure_all(specs: list[SaverSpec], root: Path = DEFAULT_ROOT, log=print) -> dict[str, Venv]:  # type: ignore[no-untyped-def]
    """Venvs for every peer in ``specs`` (one per venv folder), built in parallel."""
    by_folder: dict[str, SaverSpec] = {}
    for spec in specs:
        if spec.venv is not None:
            by_folder.setdefault(spec.venv, spec)
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {name: pool.submit(ensure, spec, root, log) for name, spec in by_folder.items()}
        return {name: future.result() for name, future in futures.items()}
