"""The CDK app: ``cdk deploy`` from this folder (see ``cdk.json``), or ``app.synth()`` in tests.

``cdk.json`` runs it as ``python3 -m examples.incident.infra.cdk_app`` from the repository
root, in an environment with this repository's ``infra`` extra installed
(``pip install -e '.[infra]'``). The function's code is bundled by CDK (see
:mod:`.bundling`). Context values (``cdk deploy -c key=value``): ``telemetry``,
``changesTable``, ``runbooksTable``, ``serviceName``, ``metricNamespace``.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_

from .. import observability as obs
from . import bundling
from .stack import IncidentInvestigatorStack


def build_app(
    *, code_dir: str | Path | None = None, outdir: str | None = None
) -> tuple[cdk.App, IncidentInvestigatorStack]:
    """The app and its one stack.

    Args:
        code_dir: A folder to use as the function's code as it is (tests); default: the
            code bundled with its requirements (:func:`.bundling.code`).
        outdir: Where ``synth()`` writes the cloud assembly (default: CDK's).

    Raises:
        FileNotFoundError: ``code_dir`` does not exist.
    """
    app = cdk.App(outdir=outdir) if outdir else cdk.App()
    if code_dir is not None and not Path(code_dir).is_dir():
        raise FileNotFoundError(f"no Lambda code at {code_dir}")
    code = lambda_.Code.from_asset(str(code_dir)) if code_dir is not None else bundling.code()
    stack = IncidentInvestigatorStack(
        app,
        "IncidentInvestigator",
        code=code,
        telemetry=app.node.try_get_context("telemetry") or "fixtures",
        changes_table_name=app.node.try_get_context("changesTable") or "incident-changes",
        runbooks_table_name=app.node.try_get_context("runbooksTable") or "incident-runbooks",
        service_name=app.node.try_get_context("serviceName") or obs.SERVICE,
        metric_namespace=app.node.try_get_context("metricNamespace") or obs.NAMESPACE,
    )
    return app, stack


if __name__ == "__main__":
    build_app()[0].synth()
