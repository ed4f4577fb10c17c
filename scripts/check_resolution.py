"""Does the package install beside the stacks users have, without pip falling back to old
releases? Run by ``scripts/compat.sh`` (needs the package registry).

For each scenario, ``pip install --dry-run`` resolves the wheel (with or without the
``async`` extra) together with one requirement users have (the newest boto3, the leading
DynamoDB checkpointer, an old boto3 line, a pinned aiobotocore, langchain-aws), and the
two alone. Combining them must not force anything older: the package's own dependencies,
the requirement and the requirement's own dependencies come out at the lower of the
versions the two resolutions chose alone (as langchain-aws did not, falling back to 1.1.0,
when the package pinned aioboto3). The AWS SDK family (boto3, botocore, s3transfer,
aiobotocore) is exempt where aiobotocore is in the mix: each aiobotocore release accepts a
few botocore patch releases, so the two move together; without it, botocore is held to
the same rule. It also checks that the package declares ranges only, and that
``constraints-floor.txt`` holds exactly the floors ``pyproject.toml`` declares.

    python scripts/check_resolution.py dist/langgraph_dynamodb-0.1.0-py3-none-any.whl
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]

SCENARIOS: list[tuple[str, str]] = [
    ("", "boto3==1.44.5"),
    ("", "langgraph-checkpoint-aws==1.2.6"),
    ("", "boto3>=1.35,<1.36"),
    ("", "aiobotocore==3.10.0"),
    ("", "langchain-aws==1.9.1"),
    ("async", "langgraph-checkpoint-aws==1.2.6"),
    ("async", "boto3>=1.35,<1.36"),
    ("async", "aiobotocore==3.10.0"),
    ("async", "langchain-aws==1.9.1"),
    ("cli,otel", "boto3==1.44.5"),
    ("cli,otel", "langgraph-checkpoint-aws==1.2.6"),
]
"""(extra, requirement): each must resolve, with nothing older than alone."""

NOT_YET: list[tuple[str, str]] = [("async", "boto3==1.44.5")]
"""Expected not to resolve until aiobotocore accepts that botocore: reported, not failed."""


SDK_FAMILY = frozenset({"boto3", "botocore", "s3transfer", "aiobotocore"})

Resolution = tuple[dict[str, Version], dict[str, list[str]]]
"""Versions pip chose, and each package's direct requirements."""


def resolve(requirements: list[str]) -> Resolution | str:
    """What pip would install into an empty environment, or its error."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "-q"]
        + ["--disable-pip-version-check", "--report", "-", *requirements],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        lines = [ln for ln in done.stderr.splitlines() if "WARNING: Location" not in ln]
        return "\n".join(lines[-12:])
    report = json.loads(done.stdout)
    versions, requires = {}, {}
    for entry in report["install"]:
        name = canonicalize_name(entry["metadata"]["name"])
        versions[name] = Version(entry["metadata"]["version"])
        requires[name] = [
            canonicalize_name(Requirement(r).name)
            for r in entry["metadata"].get("requires_dist", [])
            if "extra ==" not in r
        ]
    return versions, requires


def check_ranges(pyproject: dict) -> list[str]:
    """Exact pins anywhere in the package's metadata."""
    project = pyproject["project"]
    declared = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        declared += [r for r in extra if not r.startswith(project["name"])]
    return [f"pinned, not a range: {r}" for r in declared if "==" in r or "===" in r]


def check_floors(pyproject: dict) -> list[str]:
    """``constraints-floor.txt`` against the lower bounds pyproject declares."""
    project = pyproject["project"]
    declared: dict[str, str] = {}
    wanted = list(project["dependencies"])
    for extra in ("async", "encryption", "otel", "test"):
        wanted += project["optional-dependencies"][extra]
    for text in wanted:
        req = Requirement(text)
        for spec in req.specifier:
            if spec.operator == ">=":
                declared[canonicalize_name(req.name)] = spec.version
    floors: dict[str, str] = {}
    for line in (ROOT / "constraints-floor.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            floors[canonicalize_name(name)] = version
    problems = []
    for name, version in floors.items():
        if name == "botocore":  # boto3's own pin, not declared by us
            continue
        if name not in declared:
            problems.append(f"constraints-floor.txt pins {name}, which pyproject does not declare")
        elif Version(declared[name]) != Version(version):
            problems.append(f"{name}: floor {version} but pyproject declares >={declared[name]}")
    for name in ("langgraph-checkpoint", "boto3", "zstandard", "ormsgpack", "aiobotocore"):
        if name not in floors:
            problems.append(f"constraints-floor.txt lacks the floor of {name}")
    return problems


def main(wheel: str) -> int:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    problems = check_ranges(pyproject) + check_floors(pyproject)
    ours = {"": wheel, "async": f"{wheel}[async]", "cli,otel": f"{wheel}[cli,otel]"}
    alone_jobs = {key: [ours[key]] for key in ours}
    for _, req in SCENARIOS + NOT_YET:
        alone_jobs[req] = [req]
    combined_jobs = {(extra, req): [ours[extra], req] for extra, req in SCENARIOS + NOT_YET}
    with ThreadPoolExecutor(4) as pool:
        alone = dict(zip(alone_jobs, pool.map(resolve, alone_jobs.values()), strict=True))
        combined = dict(zip(combined_jobs, pool.map(resolve, combined_jobs.values()), strict=True))
    for key, found in alone.items():
        if isinstance(found, str):
            problems.append(f"{key or 'the package'} alone does not resolve:\n{found}")
    for (extra, req), found in combined.items():
        label = f"langgraph-dynamodb{'[' + extra + ']' if extra else ''} + {req}"
        if (extra, req) in NOT_YET:
            state = "does not resolve yet" if isinstance(found, str) else "now resolves"
            print(f"  (known) {label}: {state}")
            continue
        if isinstance(found, str):
            problems.append(f"{label} does not resolve:\n{found}")
            continue
        base, other = alone[extra], alone[req]
        if isinstance(base, str) or isinstance(other, str):
            continue
        versions, requires = found
        named = canonicalize_name(Requirement(req).name)
        watched = {named, *requires.get(named, []), *requires.get("langgraph-dynamodb", [])}
        if "aiobotocore" in versions:
            watched -= SDK_FAMILY
        else:
            watched = (watched - SDK_FAMILY) | {"botocore"}
        older = []
        for name in sorted(watched & set(versions)):
            chosen = [v[0][name] for v in (base, other) if name in v[0]]
            if chosen and versions[name] < min(chosen):
                older.append(f"{name} {versions[name]} (alone: {min(chosen)})")
        if older:
            problems.append(f"{label} falls back to older releases: {', '.join(older)}")
        shown = dict.fromkeys(("boto3", "aiobotocore", "langgraph-checkpoint", named))
        sdk = ", ".join(f"{n} {versions[n]}" for n in shown if n in versions)
        print(f"  ok {label}: {sdk}")
    for problem in problems:
        print(f"FAIL {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 2 or not re.search(r"\.whl$", sys.argv[1]):
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
