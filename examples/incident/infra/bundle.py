"""Build the Lambda code folder: ``python -m examples.incident.infra.bundle [--out DIR]``.

Copies ``langgraph_dynamodb`` and the ``examples.incident`` package (without ``infra``),
writes ``requirements.txt``, and installs the requirements for the Lambda platform
(``manylinux2014_x86_64``, CPython 3.12, wheels only) next to the code. ``--no-deps`` skips
the install (``sam build`` installs ``requirements.txt`` itself). Both templates point at
the result, ``build/incident-lambda`` by default.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import examples
import langgraph_dynamodb

REPO_ROOT = Path(examples.__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "build" / "incident-lambda"

REQUIREMENTS = (
    # the library's own dependencies and its async extra (see pyproject.toml)
    "langgraph-checkpoint>=4.3,<5",
    "boto3>=1.35.16,<2",
    "aiobotocore>=2.15,<4",
    "zstandard>=0.23",
    "ormsgpack>=1.12",
    # the example's
    "langgraph>=1.2.13,<2",
    "aws-lambda-powertools>=3.20,<4",
    "pydantic>=2.7,<3",
)
"""What the function needs at run time (pip picks the boto3 that aiobotocore accepts)."""

_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "infra")


def bundle(out: Path, *, install: bool = True, python_version: str = "3.12") -> Path:
    """Write the Lambda code folder.

    Args:
        out: The folder (replaced if it exists).
        install: Install the requirements for the Lambda platform into it.
        python_version: The Lambda runtime's Python.

    Returns:
        The folder.
    """
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    library = Path(langgraph_dynamodb.__file__).resolve().parent
    shutil.copytree(library, out / "langgraph_dynamodb", ignore=_IGNORE)
    package = Path(examples.__file__).resolve().parent
    (out / "examples").mkdir()
    shutil.copy2(package / "__init__.py", out / "examples" / "__init__.py")
    shutil.copytree(package / "incident", out / "examples" / "incident", ignore=_IGNORE)
    (out / "requirements.txt").write_text("\n".join(REQUIREMENTS) + "\n", encoding="utf-8")
    if install:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--target",
                str(out),
                "--platform",
                "manylinux2014_x86_64",
                "--implementation",
                "cp",
                "--python-version",
                python_version,
                "--only-binary=:all:",
                "--no-warn-conflicts",
                "-r",
                str(out / "requirements.txt"),
            ],
            check=True,
        )
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--no-deps", action="store_true", help="do not install requirements")
    args = parser.parse_args(argv)
    folder = bundle(args.out, install=not args.no_deps)
    print(f"Lambda code in {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
