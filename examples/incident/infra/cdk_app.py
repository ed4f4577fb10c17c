"""The CDK app: ``cdk deploy`` from this folder (see ``cdk.json``), or ``app.synth()`` in tests.

Build the Lambda code first: ``python -m examples.incident.infra.bundle`` (from the
repository root) writes ``build/incident-lambda``. Context values (``cdk deploy -c
key=value``): ``codeDir``, ``telemetry``, ``changesTable``, ``runbooksTable``.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script by the cdk CLI: make the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
    sys.path.insert(1, str(Path(__file__).resolve().parents[3] / "src"))

import aws_cdk as cdk  # noqa: E402
from aws_cdk import aws_lambda as lambda_  # noqa: E402

from examples.incident.infra.bundle import DEFAULT_OUT  # noqa: E402
from examples.incident.infra.stack import IncidentInvestigatorStack  # noqa: E402


def build_app(
    *, code_dir: str | Path | None = None, outdir: str | None = None
) -> tuple[cdk.App, IncidentInvestigatorStack]:
    """The app and its one stack.

    Args:
        code_dir: The Lambda code folder (default: context ``codeDir``, else
            ``build/incident-lambda``).
        outdir: Where ``synth()`` writes the cloud assembly (default: CDK's).

    Raises:
        FileNotFoundError: The code folder does not exist (run the bundler first).
    """
    app = cdk.App(outdir=outdir) if outdir else cdk.App()
    folder = Path(code_dir or app.node.try_get_context("codeDir") or DEFAULT_OUT)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"no Lambda code at {folder}: run 'python -m examples.incident.infra.bundle' first"
        )
    stack = IncidentInvestigatorStack(
        app,
        "IncidentInvestigator",
        code=lambda_.Code.from_asset(str(folder)),
        telemetry=app.node.try_get_context("telemetry") or "fixtures",
        changes_table_name=app.node.try_get_context("changesTable") or "incident-changes",
        runbooks_table_name=app.node.try_get_context("runbooksTable") or "incident-runbooks",
    )
    return app, stack


if __name__ == "__main__":
    build_app()[0].synth()
