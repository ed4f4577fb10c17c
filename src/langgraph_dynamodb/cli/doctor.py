"""``doctor``'s checks of a checkpoint table, from what DynamoDB describes of it: key
schema, status, TTL, point-in-time recovery, encryption, billing, deletion protection.
Each check is ok, a warning, a problem (exit code 1) or skipped, with its fix. A table
that ``setup()`` made has no problem: what it leaves to the deployment (TTL without
``--ttl``, point-in-time recovery, deletion protection) is a warning. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from langgraph_dynamodb import schema

OK, WARN, PROBLEM, SKIP = "ok", "warn", "problem", "skip"

LOW_PROVISIONED_UNITS = 5
"""Provisioned read or write capacity below this is flagged (LangGraph writes in bursts)."""


@dataclass(frozen=True)
class Check:
    """One finding: what was checked, its status, what was found, how to fix it."""

    name: str
    status: str
    found: str
    fix: str = ""


def _aws(table: str, args: str) -> str:
    return f"aws dynamodb {args.format(table=table)}"


def checks(
    table: str,
    described: Mapping[str, Any] | None,
    ttl: Mapping[str, Any] | None,
    backups: Mapping[str, Any] | None,
    *,
    local: bool,
) -> list[Check]:
    """Every check, in order. ``described`` is ``None`` when the table does not exist;
    ``backups`` when DynamoDB (Local) cannot describe them."""
    if described is None:
        return [
            Check(
                "table",
                PROBLEM,
                f"table {table!r} does not exist",
                f"langgraph-dynamodb --table {table} setup",
            )
        ]
    out: list[Check] = []
    status = described.get("TableStatus", "?")
    if status == "ACTIVE":
        out.append(Check("status", OK, status))
    elif status in ("CREATING", "UPDATING"):
        out.append(Check("status", WARN, status, "wait a minute, then run doctor again"))
    else:
        out.append(Check("status", PROBLEM, status, "check the table in the AWS console"))
    types = {
        a["AttributeName"]: a["AttributeType"] for a in described.get("AttributeDefinitions", [])
    }
    key_schema = {
        (k["AttributeName"], k["KeyType"], types.get(k["AttributeName"], "?"))
        for k in described.get("KeySchema", [])
    }
    found = ", ".join(f"{n} ({t}, {kt})" for n, kt, t in sorted(key_schema))
    out.append(
        Check("key schema", OK, found)
        if key_schema == schema.EXPECTED_KEY_SCHEMA
        else Check(
            "key schema",
            PROBLEM,
            found,
            f"this library needs {schema.PK!r} (S, HASH) and {schema.SK!r} (S, RANGE): use another "
            "table name and create it with 'setup'",
        )
    )
    out.append(_ttl(table, ttl))
    out.append(_pitr(table, backups, local))
    out.append(_encryption(described, local))
    out.append(_billing(table, described))
    if local:
        out.append(Check("deletion protection", SKIP, "not in DynamoDB Local"))
    elif described.get("DeletionProtectionEnabled"):
        out.append(Check("deletion protection", OK, "enabled"))
    else:
        out.append(
            Check(
                "deletion protection",
                WARN,
                "disabled: a 'delete-table' removes every thread",
                _aws(table, "update-table --table-name {table} --deletion-protection-enabled"),
            )
        )
    return out


def _ttl(table: str, ttl: Mapping[str, Any] | None) -> Check:
    desc = (ttl or {}).get("TimeToLiveDescription", {})
    status, attr = desc.get("TimeToLiveStatus", "DISABLED"), desc.get("AttributeName")
    if status in ("ENABLED", "ENABLING") and attr == schema.TTL:
        return Check("TTL", OK, f"{status.lower()} on {attr!r}")
    if status in ("ENABLED", "ENABLING"):
        return Check(
            "TTL",
            PROBLEM,
            f"enabled on {attr!r}, but expiry is written to {schema.TTL!r}: nothing expires",
            "disable TTL and enable it on 'ttl' (it can change once an hour), or use another table",
        )
    return Check(
        "TTL",
        WARN,
        f"{status.lower()}: checkpoints written with ttl= are never deleted",
        _aws(
            table,
            "update-time-to-live --table-name {table} "
            f"--time-to-live-specification Enabled=true,AttributeName={schema.TTL}",
        )
        + " (or 'setup --ttl')",
    )


def _pitr(table: str, backups: Mapping[str, Any] | None, local: bool) -> Check:
    if local:
        return Check("point-in-time recovery", SKIP, "not in DynamoDB Local")
    desc = (backups or {}).get("ContinuousBackupsDescription", {})
    status = desc.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus")
    if status == "ENABLED":
        return Check("point-in-time recovery", OK, "enabled (35 days of restore points)")
    # A warning, not a problem: setup() leaves PITR to the deployment (it costs per GB-month
    # stored), so a table setup() made passes doctor; the templates in docs/iac.md enable it.
    return Check(
        "point-in-time recovery",
        WARN,
        f"{(status or 'unknown').lower()}: a bad deploy or a wrong 'delete' cannot be undone",
        _aws(
            table,
            "update-continuous-backups --table-name {table} "
            "--point-in-time-recovery-specification PointInTimeRecoveryEnabled=true",
        ),
    )


def _encryption(described: Mapping[str, Any], local: bool) -> Check:
    if local:
        return Check("encryption at rest", SKIP, "not in DynamoDB Local")
    sse = described.get("SSEDescription") or {}
    if not sse:
        return Check("encryption at rest", OK, "AWS owned key (the default)")
    if sse.get("Status") in ("ENABLED", "ENABLING", "UPDATING"):
        return Check("encryption at rest", OK, f"{sse.get('SSEType', 'KMS')} key")
    return Check(
        "encryption at rest",
        PROBLEM,
        f"{sse.get('Status', '?').lower()}: the KMS key may be disabled or inaccessible",
        "check the table's KMS key in the AWS console (enable it, or restore access)",
    )


def _billing(table: str, described: Mapping[str, Any]) -> Check:
    mode = (described.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")
    if mode == "PAY_PER_REQUEST":
        return Check("billing", OK, "on demand")
    throughput = described.get("ProvisionedThroughput") or {}
    rcu, wcu = throughput.get("ReadCapacityUnits", 0), throughput.get("WriteCapacityUnits", 0)
    found = f"provisioned, {rcu} RCU / {wcu} WCU"
    if min(rcu, wcu) < LOW_PROVISIONED_UNITS:
        return Check(
            "billing",
            WARN,
            found + ": agents write in bursts and will be throttled",
            _aws(table, "update-table --table-name {table} --billing-mode PAY_PER_REQUEST"),
        )
    return Check("billing", OK, found)
