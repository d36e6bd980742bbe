"""The report's own compact figure: the session's risk over time with its key moments marked.

Deterministic on purpose (a fixed div id, no template lookups that vary): the same log renders
the same bytes, so a report's hash means something. Long sessions arrive decimated
(``timeline.MAX_CURVE_POINTS``); the figure never carries 10,000 points.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import plotly.graph_objects as go

from dashboards.report.model import FigureData

DIV_ID = "blackbox-report-figure"
WIDTH, HEIGHT = 940, 340
_ROLE_COLOURS = {
    "action": "#b91c1c", "effect": "#ea580c", "backup destroyed": "#7f1d1d", "claim": "#7c3aed",
    "trigger": "#0369a1", "error": "#0369a1", "credential hunt": "#a16207", "flag": "#111827",
    "guard": "#15803d", "task": "#4b5563",
}
_OTHER = "#6b7280"


def figure(data: FigureData) -> go.Figure:
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[t for t, _ in data.curve], y=[r for _, r in data.curve], mode="lines",
                             name="risk", line={"color": "#1f2937", "width": 2, "shape": "hv"},
                             hovertemplate="%{x}<br>risk %{y:.0%}<extra></extra>"))
    for role in dict.fromkeys(m.role for m in data.marks):
        marks = [m for m in data.marks if m.role == role]
        fig.add_trace(go.Scatter(
            x=[m.time for m in marks], y=[m.risk for m in marks], mode="markers", name=role,
            # plotly reads <b>, <br>, <a href> in text as markup: the agent's words are escaped
            text=[html.escape(m.label) for m in marks], hovertemplate="%{text}<extra></extra>",
            marker={"size": 11, "color": _ROLE_COLOURS.get(role, _OTHER), "line": {"width": 1,
                                                                                  "color": "white"}}))
    _decorate(fig, data)
    return fig


def _decorate(fig: go.Figure, data: FigureData) -> None:
    fig.add_hline(y=data.threshold, line={"dash": "dot", "color": "#b91c1c", "width": 1},
                  annotation_text=f"flag threshold {data.threshold:.0%}", annotation_position="top left")
    if data.flagged_at:
        fig.add_vline(x=data.flagged_at, line={"dash": "dash", "color": "#111827", "width": 1})
    fig.update_layout(
        template="none", width=WIDTH, height=HEIGHT, margin={"l": 56, "r": 16, "t": 24, "b": 48},
        paper_bgcolor="white", plot_bgcolor="white", font={"family": "sans-serif", "size": 12},
        legend={"orientation": "h", "y": -0.22, "x": 0},
        yaxis={"title": {"text": "session risk"}, "range": [-0.03, 1.05], "tickformat": ".0%",
               "gridcolor": "#e5e7eb"},
        xaxis={"gridcolor": "#f3f4f6"})


def figure_html(data: FigureData) -> str:
    """The figure as an HTML fragment with plotly.js inlined: no fetch, works offline and in print."""
    html: str = figure(data).to_html(
        full_html=False, include_plotlyjs=True, div_id=DIV_ID,
        config={"displaylogo": False, "responsive": False,
                "modeBarButtonsToRemove": ["sendDataToCloud"]})
    return html


@dataclass(frozen=True, slots=True)
class Png:
    """A PNG export, or why there is none."""

    data: bytes | None
    reason: str | None  # set when ``data`` is None


def figure_png(data: FigureData) -> Png:
    """The figure as PNG through plotly's kaleido, which drives a local Chrome or Chromium.

    Both are optional (``pip install kaleido``; a browser the machine has): without them the
    Markdown report says the figure was omitted and why, instead of failing."""
    try:
        import kaleido  # noqa: F401  # plotly imports it lazily; fail early with a clear reason
    except ImportError:
        return Png(None, "the image exporter (kaleido) is not installed")
    try:
        return Png(figure(data).to_image(format="png", width=WIDTH, height=HEIGHT, scale=2), None)
    except Exception as exc:  # a missing or crashing browser surfaces as many foreign types
        return Png(None, f"the image export failed ({type(exc).__name__}: {str(exc)[:160]})")
