"""Fleet dashboard figures: pure functions from plain data to counts, and from counts to plotly
figures. The API layer gathers the data (sessions, alerts, findings, destructive calls) and
passes it in; the same figures can be embedded elsewhere from their JSON."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any

import plotly.graph_objects as go

from dashboards.sessions import SessionRow
from ingest.envelope import format_time

# Risk bands: the flag threshold (0.5 by default) splits "medium" from "high".
BANDS: tuple[tuple[str, float], ...] = (("low", 0.0), ("medium", 0.2), ("high", 0.5), ("critical", 0.8))
BAND_COLOURS = {"low": "#6c9a8b", "medium": "#e0b04a", "high": "#e07a3a", "critical": "#c2313a",
                "unknown": "#9aa0a6"}
SEVERITIES = ("critical", "high", "medium", "low", "info")
SEVERITY_COLOURS = {"critical": "#c2313a", "high": "#e07a3a", "medium": "#e0b04a", "low": "#6c9a8b",
                    "info": "#9aa0a6"}
STATES = ("unverified", "verified", "blocked")
STATE_COLOURS = {"unverified": "#c2313a", "verified": "#4a8f5a", "blocked": "#5470c6"}
LEAD_BINS = (0, 5, 15, 30, 60, 120, 300, 600, 1800, 3600)  # seconds


@dataclass(frozen=True, slots=True)
class AlertPoint:
    session_id: str
    created_at: str  # canonical UTC
    severity: str


@dataclass(frozen=True, slots=True)
class ActionPoint:
    """Destructive calls of one session, family and state (was it checked first, or blocked)."""

    session_id: str
    family: str
    state: str  # one of STATES
    count: int = 1


def risk_band(risk: float | None) -> str:
    if risk is None:
        return "unknown"
    return next(name for name, floor in reversed(BANDS) if risk >= floor)


def bucket_of(time: str, hourly: bool) -> str:
    """The start of the hour or day holding a canonical UTC time (text, so it sorts and shows)."""
    return time[:13] + ":00Z" if hourly else time[:10]


def choose_hourly(times: Iterable[str]) -> bool:
    """Hours when everything falls within two days, days beyond."""
    ordered = sorted(times)
    if not ordered:
        return False
    span = datetime.fromisoformat(ordered[-1]) - datetime.fromisoformat(ordered[0])
    return span.total_seconds() <= 2 * 86400


def sessions_by_band(rows: Sequence[SessionRow], hourly: bool) -> dict[str, Counter[str]]:
    """Sessions started per time bucket, by risk band."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        counts[risk_band(row.risk)][bucket_of(row.first_time, hourly)] += 1
    return dict(counts)


def alerts_by_band(alerts: Sequence[AlertPoint], risks: Mapping[str, float | None],
                   hourly: bool) -> dict[str, Counter[str]]:
    """Alerts raised per time bucket, by the alerted session's current risk band."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for alert in alerts:
        counts[risk_band(risks.get(alert.session_id))][bucket_of(alert.created_at, hourly)] += 1
    return dict(counts)


def findings_by_rule(findings: Iterable[Mapping[str, Any]]) -> dict[str, Counter[str]]:
    """Findings per rule, by severity."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for finding in findings:
        counts[str(finding["rule"])][str(finding["severity"])] += 1
    return dict(counts)


def actions_by_family(actions: Iterable[ActionPoint]) -> dict[str, Counter[str]]:
    """Destructive calls per family, by verification state."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for action in actions:
        counts[action.family][action.state] += action.count
    return dict(counts)


def model_of(row: SessionRow) -> str:
    return f"{row.source} / {row.model or 'unknown model'}"


def per_model(rows: Sequence[SessionRow], actions: Sequence[ActionPoint] = ()) -> list[dict[str, Any]]:
    """Per agent (source) and model: sessions, flagged sessions, mean risk, destructive calls and
    how many of them nobody checked first."""
    groups: dict[str, list[SessionRow]] = defaultdict(list)
    for row in rows:
        groups[model_of(row)].append(row)
    names = {row.session_id: model_of(row) for row in rows}
    calls: dict[str, Counter[str]] = defaultdict(Counter)
    for action in actions:
        if action.session_id in names:
            calls[names[action.session_id]][action.state] += action.count
    result = []
    for name in sorted(groups):
        members = groups[name]
        risks = [r.risk for r in members if r.risk is not None]
        result.append({"name": name, "sessions": len(members), "flagged": sum(r.flagged for r in members),
                       "mean_risk": round(sum(risks) / len(risks), 4) if risks else None,
                       "destructive": sum(calls[name].values()), "unverified": calls[name]["unverified"]})
    return result


def lead_times(findings: Iterable[Mapping[str, Any]]) -> list[float]:
    """Seconds from the first warning signal (the guess, the error) to the destructive call."""
    return sorted(float(f["lead_time_s"]) for f in findings if f.get("lead_time_s") is not None)


def lead_time_histogram(values: Sequence[float]) -> list[tuple[str, int]]:
    """Counts per fixed bin (``[lo, hi)`` seconds; the last bin is open-ended)."""
    labels = [f"{lo} to {hi} s" for lo, hi in pairwise(LEAD_BINS)]
    labels.append(f"≥ {LEAD_BINS[-1]} s")
    counts = [0] * len(labels)
    for value in values:
        index = sum(1 for edge in LEAD_BINS[1:] if value >= edge)
        counts[index] += 1
    return list(zip(labels, counts, strict=True))


def destructive_actions(counts: Iterable[tuple[str, str, str, int]]) -> list[ActionPoint]:
    """The analysis projections' destructive-call counts (``FindingStore.action_counts``): every
    call of every session, without an analyzer in memory."""
    return [ActionPoint(session_id, family, state, n) for session_id, family, state, n in counts]


# -- figures ------------------------------------------------------------------------------------

def _layout(fig: go.Figure, title: str, **extra: Any) -> go.Figure:
    fig.update_layout(title={"text": title, "x": 0.01}, margin={"l": 50, "r": 20, "t": 50, "b": 50},
                      template="plotly_white", legend={"orientation": "h", "y": -0.2}, **extra)
    return fig


def _stacked(counts: Mapping[str, Counter[str]], order: Sequence[str], colours: Mapping[str, str],
             title: str, x_order: Sequence[str] | None = None) -> go.Figure:
    xs = list(x_order) if x_order is not None else sorted({x for c in counts.values() for x in c})
    fig = go.Figure()
    for name in [*order, *sorted(set(counts) - set(order))]:
        if name in counts:
            fig.add_bar(name=name, x=xs, y=[counts[name].get(x, 0) for x in xs],
                        marker_color=colours.get(name, "#9aa0a6"))
    return _layout(fig, title, barmode="stack")


def _over_time(fig: go.Figure, hourly: bool) -> go.Figure:
    # Buckets are labels, not dates: a date axis would stretch one bar across empty months.
    fig.update_xaxes(type="category", title={"text": "hour (UTC)" if hourly else "day (UTC)"})
    return fig


def sessions_figure(rows: Sequence[SessionRow], hourly: bool) -> go.Figure:
    bands = [name for name, _ in BANDS] + ["unknown"]
    return _over_time(_stacked(sessions_by_band(rows, hourly), bands, BAND_COLOURS,
                               "Sessions started, by risk band"), hourly)


def alerts_figure(alerts: Sequence[AlertPoint], risks: Mapping[str, float | None], hourly: bool) -> go.Figure:
    bands = [name for name, _ in BANDS] + ["unknown"]
    return _over_time(_stacked(alerts_by_band(alerts, risks, hourly), bands, BAND_COLOURS,
                               "Alerts raised, by the session's risk band"), hourly)


def _transposed(counts: Mapping[str, Counter[str]]) -> tuple[dict[str, Counter[str]], list[str]]:
    """{x: {series: n}} as {series: {x: n}}, and the xs ordered by their totals (largest first)."""
    xs = sorted(counts, key=lambda x: -sum(counts[x].values()))
    per_series: dict[str, Counter[str]] = defaultdict(Counter)
    for x, by_series in counts.items():
        for series, n in by_series.items():
            per_series[series][x] = n
    return per_series, xs


def findings_figure(findings: Sequence[Mapping[str, Any]]) -> go.Figure:
    per_severity, rules = _transposed(findings_by_rule(findings))
    return _stacked(per_severity, SEVERITIES, SEVERITY_COLOURS, "Findings by rule", rules)


def actions_figure(actions: Sequence[ActionPoint]) -> go.Figure:
    per_state, families = _transposed(actions_by_family(actions))
    return _stacked(per_state, STATES, STATE_COLOURS,
                    "Destructive calls by family and verification", families)


def models_figure(rows: Sequence[SessionRow], actions: Sequence[ActionPoint] = ()) -> go.Figure:
    stats = per_model(rows, actions)
    names = [s["name"] for s in stats]
    fig = go.Figure()
    fig.add_bar(name="sessions", x=names, y=[s["sessions"] for s in stats], marker_color="#5470c6")
    fig.add_bar(name="flagged sessions", x=names, y=[s["flagged"] for s in stats], marker_color="#c2313a")
    fig.add_bar(name="destructive calls", x=names, y=[s["destructive"] for s in stats],
                marker_color="#e07a3a")
    fig.add_bar(name="unverified destructive", x=names, y=[s["unverified"] for s in stats],
                marker_color="#8e2430")
    fig.add_scatter(name="mean risk", x=names, y=[s["mean_risk"] for s in stats], yaxis="y2",
                    mode="markers", marker={"size": 12, "color": "#222", "symbol": "diamond"})
    return _layout(fig, "Per agent / model", barmode="group",
                   yaxis2={"overlaying": "y", "side": "right", "range": [0, 1], "tickformat": ".0%",
                           "dtick": 0.25, "title": {"text": "mean risk"}, "showgrid": False})


def lead_time_figure(findings: Sequence[Mapping[str, Any]]) -> go.Figure:
    bins = lead_time_histogram(lead_times(findings))
    fig = go.Figure()
    fig.add_bar(x=[label for label, _ in bins], y=[n for _, n in bins], marker_color="#5470c6",
                name="findings")
    return _layout(fig, "Lead time: first warning → destructive call", showlegend=False,
                   xaxis={"title": "seconds"})


@dataclass(frozen=True, slots=True)
class FleetData:
    """Everything the dashboard needs, gathered by the caller."""

    rows: Sequence[SessionRow]
    findings: Sequence[Mapping[str, Any]]
    alerts: Sequence[AlertPoint]
    actions: Sequence[ActionPoint]


FIGURES = ("sessions", "alerts", "findings", "actions", "models", "lead_times")


def dashboard_figures(data: FleetData) -> dict[str, go.Figure]:
    hourly = choose_hourly([r.first_time for r in data.rows] + [a.created_at for a in data.alerts])
    risks = {r.session_id: r.risk for r in data.rows}
    return {
        "sessions": sessions_figure(data.rows, hourly),
        "alerts": alerts_figure(data.alerts, risks, hourly),
        "findings": findings_figure(data.findings),
        "actions": actions_figure(data.actions),
        "models": models_figure(data.rows, data.actions),
        "lead_times": lead_time_figure(data.findings),
    }


def generated_at() -> str:
    return format_time(datetime.now().astimezone())
