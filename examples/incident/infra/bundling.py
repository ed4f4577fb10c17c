"""The Lambda code for the CDK app, bundled the standard way: CDK's asset bundling.

The asset is ``examples/`` (the SAM template's ``CodeUri`` too): the ``incident`` package
and ``requirements.txt``. Bundling installs the requirements next to the code, for
Lambda's platform (``manylinux2014_x86_64``, CPython 3.12, wheels only): with pip on this
machine when it can (:class:`LocalPip`, CDK's ``ILocalBundling``), else in the SAM build
image with Docker, which is what CDK does for any asset.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_

from . import spec

PLATFORM = "manylinux2014_x86_64"
PYTHON_VERSION = "3.12"
EXCLUDE = ("**/__pycache__", "**/*.pyc", "incident/infra/cdk.out", "quickstart.py")
"""What the asset leaves out (nothing the function imports)."""


def install(code_dir: Path, out: Path) -> None:
    """Copy the code and install its requirements for Lambda into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(
        code_dir,
        out,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "cdk.out", "quickstart.py"),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--requirement",
            str(code_dir / "requirements.txt"),
            "--target",
            str(out),
            "--platform",
            PLATFORM,
            "--implementation",
            "cp",
            "--python-version",
            PYTHON_VERSION,
            "--only-binary=:all:",
            "--upgrade",
        ],
        check=True,
    )


@jsii.implements(cdk.ILocalBundling)
class LocalPip:
    """Bundles with this machine's pip (no Docker)."""

    def try_bundle(self, output_dir: str, *, image: cdk.DockerImage, **_: object) -> bool:
        install(spec.CODE_DIR, Path(output_dir))
        return True


def code() -> lambda_.Code:
    """The function's code asset, bundled at synth time."""
    return lambda_.Code.from_asset(
        str(spec.CODE_DIR),
        exclude=list(EXCLUDE),
        bundling=cdk.BundlingOptions(
            image=lambda_.Runtime.PYTHON_3_12.bundling_image,
            command=[
                "bash",
                "-c",
                "pip install -r requirements.txt -t /asset-output && cp -au . /asset-output",
            ],
            local=LocalPip(),
        ),
    )
