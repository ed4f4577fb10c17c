"""Action groups: the read-only tools agents gather evidence with.

Five tools: CloudWatch metrics, CloudWatch Logs, X-Ray traces, a DynamoDB
lookup (change records, runbooks) and the service graph. A *provider* answers them:

- :class:`FixtureProvider` (default) replays the telemetry recorded in the package's
  ``fixtures/*.json``, so investigations run offline and replay bit for bit;
- :class:`Boto3Provider` asks AWS (``GetMetricData``, ``FilterLogEvents``,
  ``GetTraceSummaries``, ``GetServiceGraph``, DynamoDB ``Query``), read-only.

:class:`Toolbox` bounds every call: at most ``timeout_s`` (2 s) and ``max_bytes`` (10 KB) of
JSON; a slow, failing or oversized call gives a ``TIMEOUT``/``ERROR``/``PARTIAL``
:class:`~examples.incident.model.ToolResult` with whatever data there is, never an
exception.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from importlib import resources
from typing import Any, Generic, Protocol, TypeVar

from .events import iso, parse_time
from .faults import Faults
from .model import Incident, ToolResult

T = TypeVar("T")

TOOL_TIMEOUT_S = 2.0
"""Time bound of one action-group call (at most 2 s: a slow tool must not hold an agent)."""

TOOL_MAX_BYTES = 10 * 1024
"""Size bound of one action-group answer, as compact JSON (at most 10 KB: what a prompt affords)."""

LOOKBACK = timedelta(minutes=60)
"""How far before the incident start tools look (the baseline)."""

LOOKAHEAD = timedelta(minutes=10)
"""How far after detection tools look."""

TOOLS = ("cloudwatch_metrics", "cloudwatch_logs", "xray_traces", "dynamodb_lookup", "service_graph")


# --- bounds -----------------------------------------------------------------------------
@dataclass
class Outcome(Generic[T]):
    """What a time-bounded call produced: a value, an error, or nothing in time."""

    value: T | None = None
    error: BaseException | None = None
    timed_out: bool = False


def call_with_timeout(fn: Callable[[], T], seconds: float) -> Outcome[T]:
    """Run ``fn`` in a daemon thread and wait at most ``seconds``.

    A call that outlives its bound is abandoned, not interrupted (Python threads cannot be
    killed); being a daemon, it never keeps the process alive.
    """
    outcome: Outcome[T] = Outcome()
    done = threading.Event()

    def run() -> None:
        try:
            outcome.value = fn()
        except BaseException as exc:  # noqa: BLE001 - reported, never raised
            outcome.error = exc
        finally:
            done.set()

    threading.Thread(target=run, name="bounded-call", daemon=True).start()
    if not done.wait(seconds):
        return Outcome(timed_out=True)
    return outcome


def json_size(data: Any) -> int:
    """Size of ``data`` as compact, key-sorted JSON (UTF-8 bytes)."""
    return len(json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode())


def fit(data: dict[str, Any], max_bytes: int) -> tuple[dict[str, Any], bool]:
    """Cut ``data`` to at most ``max_bytes`` of JSON, keeping its shape.

    The longest list (at the top level or one level down) loses its tail until the data
    fits; long strings are shortened; as a last resort only a note is kept.

    Returns:
        The data that fits and whether anything was cut.
    """
    if json_size(data) <= max_bytes:
        return data, False
    out: dict[str, Any] = json.loads(json.dumps(data, default=str))

    def lists() -> list[tuple[dict[str, Any], str]]:
        found = [(out, k) for k, v in out.items() if isinstance(v, list)]
        for value in out.values():
            if isinstance(value, dict):
                found += [(value, k) for k, v in value.items() if isinstance(v, list)]
        return found

    while json_size(out) > max_bytes:
        candidates = [(len(holder[key]), holder, key) for holder, key in lists() if holder[key]]
        if not candidates:
            break
        _, holder, key = max(candidates, key=lambda c: c[0])
        items = holder[key]
        holder[key] = items[: len(items) // 2] if len(items) > 1 else []
    if json_size(out) > max_bytes:
        out = {"note": f"answer over {max_bytes} bytes even after cutting; dropped"}
    out["truncated"] = True
    return out, True


def bounded(
    tool: str,
    fn: Callable[[], dict[str, Any]],
    *,
    timeout_s: float = TOOL_TIMEOUT_S,
    max_bytes: int = TOOL_MAX_BYTES,
) -> ToolResult:
    """Call an action group within its time and size bounds; never raises.

    A provider may mark its answer incomplete with ``"partial": True`` (for example when a
    later page failed); the result is then ``PARTIAL`` too.
    """
    outcome = call_with_timeout(fn, timeout_s)
    if outcome.timed_out:
        return ToolResult(
            tool=tool,
            status="TIMEOUT",
            bytes=0,
            truncated=False,
            error=f"no answer within {timeout_s:g} s",
            data={},
        )
    if outcome.error is not None:
        message = f"{type(outcome.error).__name__}: {outcome.error}"[:300]
        return ToolResult(
            tool=tool, status="ERROR", bytes=0, truncated=False, error=message, data={}
        )
    raw = outcome.value if isinstance(outcome.value, dict) else {"value": outcome.value}
    data, truncated = fit(raw, max_bytes)
    partial = truncated or bool(data.get("partial"))
    return ToolResult(
        tool=tool,
        status="PARTIAL" if partial else "OK",
        bytes=json_size(data),
        truncated=truncated,
        error=str(data.get("note")) if partial and data.get("note") else None,
        data=data,
    )


# --- providers --------------------------------------------------------------------------
class ActionGroups(Protocol):
    """Read-only telemetry sources. Every method returns JSON-shaped data.

    Shapes (both providers return the same)::

        cloudwatch_metrics -> {"series": [{"name", "stat", "unit", "points": [[iso, value]]}]}
        cloudwatch_logs    -> {"events": [{"t": iso, "message": str}]}
        xray_traces        -> {"traces": [{"id", "duration", "fault", "error", "throttle",
                                           "root_cause": {"service", "entity", "remote"}}]}
        dynamodb_lookup    -> {"items": [...]}     # change records or runbooks
        service_graph      -> {"edges": [{"to", "requests", "errors", "faults", "throttles",
                                          "p99_ms"}]}

    Any answer may carry ``"partial": True`` and a ``"note"``.
    """

    def cloudwatch_metrics(
        self, incident: Incident, start: datetime, end: datetime
    ) -> dict[str, Any]: ...

    def cloudwatch_logs(
        self, incident: Incident, start: datetime, end: datetime
    ) -> dict[str, Any]: ...

    def xray_traces(self, incident: Incident, start: datetime, end: datetime) -> dict[str, Any]: ...

    def dynamodb_lookup(self, collection: str, incident: Incident) -> dict[str, Any]: ...

    def service_graph(
        self, incident: Incident, start: datetime, end: datetime
    ) -> dict[str, Any]: ...


def load_scenarios() -> dict[str, dict[str, Any]]:
    """The recorded scenarios shipped in ``examples/incident/fixtures/``, by name."""
    folder = resources.files(__package__ or "examples.incident") / "fixtures"
    scenarios: dict[str, dict[str, Any]] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            scenario = json.loads(entry.read_text(encoding="utf-8"))
            scenarios[scenario["name"]] = scenario
    return scenarios


def _in_window(t: str, start: datetime, end: datetime) -> bool:
    return start <= parse_time(t) <= end


class FixtureProvider:
    """Answers from recorded telemetry (the package's fixtures), by service name.

    Args:
        scenarios: Recorded scenarios (default: :func:`load_scenarios`).
    """

    def __init__(self, scenarios: Mapping[str, dict[str, Any]] | None = None) -> None:
        chosen = load_scenarios() if scenarios is None else scenarios
        self._by_service = {
            s["event"]["detail"]["service"]: s["telemetry"] for s in chosen.values()
        }

    def _telemetry(self, incident: Incident) -> dict[str, Any] | None:
        return self._by_service.get(incident["service"])

    def _missing(self, incident: Incident, key: str) -> dict[str, Any]:
        return {
            key: [],
            "partial": True,
            "note": f"no recorded telemetry for service {incident['service']!r}",
        }

    def cloudwatch_metrics(
        self, incident: Incident, start: datetime, end: datetime
    ) -> dict[str, Any]:
        """Recorded metric series of the service, within the window."""
        telemetry = self._telemetry(incident)
        if telemetry is None:
            return self._missing(incident, "series")
        series = [
            {**s, "points": [p for p in s["points"] if _in_window(p[0], start, end)]}
            for s in telemetry["metrics"]
        ]
        return {"series": series}

    def cloudwatch_logs(self, incident: Incident, start: datetime, end: datetime) -> dict[str, Any]:
        """Recorded error log events of the service, within the window."""
        telemetry = self._telemetry(incident)
        if telemetry is None:
            return self._missing(incident, "events")
        events = [e for e in telemetry["logs"] if _in_window(e["t"], start, end)]
        return {"events": events, "log_group": incident["log_group"]}

    def xray_traces(self, incident: Incident, start: datetime, end: datetime) -> dict[str, Any]:
        """Recorded faulty/erroneous trace summaries of the service, within the window."""
        telemetry = self._telemetry(incident)
        if telemetry is None:
            return self._missing(incident, "traces")
        return {"traces": [t for t in telemetry["traces"] if _in_window(t["t"], start, end)]}

    def dynamodb_lookup(self, collection: str, incident: Incident) -> dict[str, Any]:
        """Recorded change records (``changes``) or runbooks (``runbooks``) of the service."""
        telemetry = self._telemetry(incident)
        if telemetry is None:
            return self._missing(incident, "items")
        return {"items": list(telemetry[collection]), "collection": collection}

    def service_graph(self, incident: Incident, start: datetime, end: datetime) -> dict[str, Any]:
        """Recorded outgoing edges of the service."""
        telemetry = self._telemetry(incident)
        if telemetry is None:
            return self._missing(incident, "edges")
        return {"edges": list(telemetry["service_graph"]["edges"])}


def _plain(value: Any) -> Any:
    """DynamoDB's deserialized values (``Decimal``, sets) as JSON-shaped values."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, set, frozenset, tuple)):
        return [_plain(v) for v in value]
    return value


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _from_ms(ms: int) -> str:
    return iso(datetime.fromtimestamp(ms / 1000, tz=timezone.utc))


@dataclass
class Boto3Provider:
    """Answers from AWS, read-only, with short botocore timeouts and few retries.

    Clients are created on first use and reused (one set per Lambda container).

    Args:
        session: A ``boto3.Session`` (default: a new one).
        region_name: AWS region.
        changes_table: DynamoDB table of change records (partition key ``service``).
        runbooks_table: DynamoDB table of runbooks (partition key ``service``).
        clients: Ready clients by service name (``cloudwatch``, ``logs``, ``xray``,
            ``dynamodb``), e.g. stubbed ones in tests.
        max_pages: Pages read per paginated call.
    """

    session: Any = None
    region_name: str | None = None
    changes_table: str | None = None
    runbooks_table: str | None = None
    clients: dict[str, Any] = field(default_factory=dict)
    max_pages: int = 3
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def client(self, name: str) -> Any:
        """The boto3 client of an AWS service, created once."""
        with self._lock:
            if name not in self.clients:
                import boto3
                from botocore.config import Config

                session = self.session or boto3.session.Session()
                self.clients[name] = session.client(
                    name,
                    region_name=self.region_name,
                    config=Config(
                        connect_timeout=1,
                        read_timeout=TOOL_TIMEOUT_S,
                        retries={"mode": "standard", "max_attempts": 2},
                    ),
                )
            return self.clients[name]

    def cloudwatch_metrics(
        self, incident: Incident, start: datetime, end: datetime
    ) -> dict[str, Any]:
        """``GetMetricData`` for the alarm's metric."""
        metric = incident["metric"]
        response = self.client("cloudwatch").get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "m0",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": metric["namespace"],
                            "MetricName": metric["name"],
                            "Dimensions": [
                                {"Name": k, "Value": v}
                                for k, v in sorted(metric.get("dimensions", {}).items())
                            ],
                        },
                        "Period": 60,
                        "Stat": metric.get("stat", "Average"),
                    },
                    "ReturnData": True,
                }
            ],
            StartTime=start,
            EndTime=end,
            ScanBy="TimestampAscending",
        )
        series = []
        partial = False
        for result in response.get("MetricDataResults", []):
            partial = partial or result.get("StatusCode") != "Complete"
            points = [
                [iso(t), float(v)]
                for t, v in zip(
                    result.get("Timestamps", []), result.get("Values", []), strict=False
                )
            ]
            series.append(
                {
                    "name": metric["name"],
                    "stat": metric.get("stat", "Average"),
                    "unit": "",
                    "points": points,
                }
            )
        out: dict[str, Any] = {"series": series}
        if partial:
            out.update(partial=True, note="CloudWatch returned partial data")
        return out

    def cloudwatch_logs(self, incident: Incident, start: datetime, end: datetime) -> dict[str, Any]:
        """``FilterLogEvents`` for error-looking lines, a few pages at most."""
        logs = self.client("logs")
        params: dict[str, Any] = {
            "logGroupName": incident["log_group"],
            "startTime": _ms(start),
            "endTime": _ms(end),
            "filterPattern": "?ERROR ?Error ?Exception ?Timeout ?throttl",
            "limit": 200,
        }
        events: list[dict[str, Any]] = []
        out: dict[str, Any] = {"events": events, "log_group": incident["log_group"]}
        for page in range(self.max_pages):
            try:
                response = logs.filter_log_events(**params)
            except Exception as exc:
                if page == 0:
                    raise
                out.update(partial=True, note=f"page {page + 1} failed: {exc}")
                break
            events += [
                {"t": _from_ms(e["timestamp"]), "message": str(e.get("message", ""))[:500]}
                for e in response.get("events", [])
            ]
            if not response.get("nextToken"):
                break
            params["nextToken"] = response["nextToken"]
        return out

    def xray_traces(self, incident: Incident, start: datetime, end: datetime) -> dict[str, Any]:
        """``GetTraceSummaries`` of faulty, erroneous or throttled traces of the service."""
        response = self.client("xray").get_trace_summaries(
            StartTime=start,
            EndTime=end,
            Sampling=False,
            FilterExpression=f'service("{incident["service"]}") AND (fault OR error OR throttle)',
        )
        traces = []
        for summary in response.get("TraceSummaries", []):
            causes = (
                summary.get("FaultRootCauses")
                or summary.get("ErrorRootCauses")
                or summary.get("ResponseTimeRootCauses")
                or []
            )
            root: dict[str, Any] = {"service": incident["service"], "entity": "", "remote": False}
            services = causes[0].get("Services", []) if causes else []
            if services:
                last = services[-1]
                path = last.get("EntityPath", [])
                root = {
                    "service": last.get("Name", ""),
                    "entity": path[-1].get("Name", "") if path else "",
                    "remote": bool(last.get("Inferred")) or any(e.get("Remote") for e in path),
                }
            traces.append(
                {
                    "t": iso(summary["StartTime"]) if summary.get("StartTime") else "",
                    "id": summary.get("Id", ""),
                    "duration": float(summary.get("ResponseTime") or summary.get("Duration") or 0),
                    "fault": bool(summary.get("HasFault")),
                    "error": bool(summary.get("HasError")),
                    "throttle": bool(summary.get("HasThrottle")),
                    "root_cause": root,
                }
            )
        return {"traces": traces}

    def dynamodb_lookup(self, collection: str, incident: Incident) -> dict[str, Any]:
        """``Query`` the change-records or runbooks table by ``service``."""
        table = self.changes_table if collection == "changes" else self.runbooks_table
        if not table:
            return {"items": [], "partial": True, "note": f"no {collection} table configured"}
        from boto3.dynamodb.types import TypeDeserializer

        response = self.client("dynamodb").query(
            TableName=table,
            KeyConditionExpression="#s = :s",
            ExpressionAttributeNames={"#s": "service"},
            ExpressionAttributeValues={":s": {"S": incident["service"]}},
            ScanIndexForward=False,
            Limit=50,
        )
        deserializer = TypeDeserializer()
        items = [
            _plain({k: deserializer.deserialize(v) for k, v in item.items()})
            for item in response.get("Items", [])
        ]
        return {"items": items, "collection": collection}

    def service_graph(self, incident: Incident, start: datetime, end: datetime) -> dict[str, Any]:
        """``GetServiceGraph``: the service's outgoing edges and their error counts."""
        response = self.client("xray").get_service_graph(StartTime=start, EndTime=end)
        services = response.get("Services", [])
        names = {s.get("ReferenceId"): s.get("Name", "") for s in services}
        edges = []
        for node in services:
            if node.get("Name") != incident["service"]:
                continue
            for edge in node.get("Edges", []):
                stats = edge.get("SummaryStatistics", {})
                errors = stats.get("ErrorStatistics", {})
                total = int(stats.get("TotalCount", 0))
                edges.append(
                    {
                        "to": names.get(edge.get("ReferenceId"), "?"),
                        "requests": total,
                        "errors": int(errors.get("OtherCount", 0)),
                        "throttles": int(errors.get("ThrottleCount", 0)),
                        "faults": int(stats.get("FaultStatistics", {}).get("TotalCount", 0)),
                        "p99_ms": None,
                    }
                )
        return {"edges": edges}


# --- the bounded toolbox ------------------------------------------------------------------
class Toolbox:
    """The action groups as agents call them: bounded, fault-injectable, never raising.

    Args:
        provider: Where the answers come from.
        timeout_s: Time bound per call.
        max_bytes: Size bound per answer.
        faults: Injected faults (``tool_error``, ``tool_slow``, ``tool_big``).
    """

    def __init__(
        self,
        provider: ActionGroups,
        *,
        timeout_s: float = TOOL_TIMEOUT_S,
        max_bytes: int = TOOL_MAX_BYTES,
        faults: Faults | None = None,
    ) -> None:
        self.provider = provider
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self.faults = faults or Faults()

    @staticmethod
    def window(incident: Incident) -> tuple[datetime, datetime]:
        """The time window tools look at: the baseline hour before the start, to shortly
        after detection."""
        return (
            parse_time(incident["started_at"]) - LOOKBACK,
            parse_time(incident["detected_at"]) + LOOKAHEAD,
        )

    def _call(self, tool: str, fn: Callable[[], dict[str, Any]]) -> ToolResult:
        faults = self.faults

        def guarded() -> dict[str, Any]:
            if faults.has("tool_error", tool):
                raise ConnectionError(f"injected failure of {tool}")
            if faults.has("tool_slow", tool):
                time.sleep(self.timeout_s * 3)
            answer = fn()
            if faults.has("tool_big", tool):
                answer = {**answer, "padding": ["x" * 100] * (self.max_bytes // 50)}
            return answer

        return bounded(tool, guarded, timeout_s=self.timeout_s, max_bytes=self.max_bytes)

    def run(self, tool: str, incident: Incident, collection: str = "") -> ToolResult:
        """Call one action group for an incident.

        Args:
            tool: One of :data:`TOOLS`.
            incident: The incident under investigation.
            collection: For ``dynamodb_lookup``: ``changes`` or ``runbooks``.
        """
        start, end = self.window(incident)
        provider = self.provider
        calls: dict[str, Callable[[], dict[str, Any]]] = {
            "cloudwatch_metrics": lambda: provider.cloudwatch_metrics(incident, start, end),
            "cloudwatch_logs": lambda: provider.cloudwatch_logs(incident, start, end),
            "xray_traces": lambda: provider.xray_traces(incident, start, end),
            "dynamodb_lookup": lambda: provider.dynamodb_lookup(collection, incident),
            "service_graph": lambda: provider.service_graph(incident, start, end),
        }
        if tool not in calls:
            raise ValueError(f"unknown tool {tool!r}; tools are {TOOLS}")
        return self._call(tool, calls[tool])
