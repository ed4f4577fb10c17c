"""Helpers for the template tests: resolve intrinsic functions, collect IAM statements."""

from __future__ import annotations

import json
import re
from typing import Any

from parliament import analyze_policy_string

ACCOUNT = "123456789012"
REGION = "us-east-1"
PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::StackName": "stack",
    "AWS::URLSuffix": "amazonaws.com",
}


QUEUES = ("IncidentQueue", "IncidentDeadLetters")
"""The templates' SQS queues, by logical id prefix (CDK adds a hash); every other
``GetAtt Arn`` here is a table's."""


def table_arn(logical_id: str) -> str:
    """The ARN a table's ``GetAtt Arn`` stands for, in these tests."""
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{logical_id}"


def queue_arn(logical_id: str) -> str:
    """The ARN a queue's ``GetAtt Arn`` stands for, in these tests."""
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{logical_id}"


def resolve(value: Any, parameters: dict[str, str] | None = None) -> Any:
    """Replace the intrinsic functions IAM documents use with plain strings."""
    params = {**PSEUDO, **(parameters or {})}
    if isinstance(value, list):
        return [resolve(v, parameters) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        return params.get(value["Ref"], value["Ref"])
    if set(value) == {"Fn::GetAtt"}:
        target, attribute = value["Fn::GetAtt"]
        if attribute != "Arn":
            return f"{target}.{attribute}"
        return queue_arn(target) if target.startswith(QUEUES) else table_arn(target)
    if set(value) == {"Fn::Sub"}:
        text = value["Fn::Sub"]

        def sub(found: re.Match[str]) -> str:
            name = found.group(1)
            if name.endswith(".Arn"):
                return table_arn(name.removesuffix(".Arn"))
            return params.get(name, name)

        return re.sub(r"\$\{([^}]+)\}", sub, text)
    if set(value) == {"Fn::Join"}:
        sep, parts = value["Fn::Join"]
        return sep.join(str(resolve(p, parameters)) for p in parts)
    return {k: resolve(v, parameters) for k, v in value.items()}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(policies: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Statements of policy documents, by Sid."""
    out = {}
    for doc in policies:
        for i, st in enumerate(doc["Statement"]):  # CDK's own grants have no Sid
            out[st.get("Sid", f"#{i}")] = {**st, "Action": sorted(as_list(st["Action"]))}
    return out


NEWER_THAN_PARLIAMENT = frozenset({"dynamodb:SearchVectors"})
"""Real actions parliament's catalogue predates (DynamoDB's vector search, 2026)."""


def parliament_findings(document: dict[str, Any]) -> list[str]:
    """What parliament (offline; it ships the IAM action catalogue) finds in a policy,
    but for the actions its catalogue predates."""
    policy = analyze_policy_string(json.dumps(document))
    return [
        f"{f.issue}: {f.detail}"
        for f in policy.findings
        if not (
            f.issue == "UNKNOWN_ACTION"
            and any(str(f.detail).endswith(a) for a in NEWER_THAN_PARLIAMENT)
        )
    ]
