"""Delivery bodies: an alert rendered as our JSON schema, a Slack message or a PagerDuty event.

Bodies are rendered once, when the delivery is stored, so every retry sends the same bytes.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import orjson

from analyzer.findings import Severity
from api.webhooks.models import Alert, Format, Webhook

SCHEMA = "blackbox.alert.v1"
_PAGERDUTY_SUMMARY = 1024  # the Events API's limit on payload.summary
# PagerDuty knows four severities; ours map onto them.
PAGERDUTY_SEVERITY = {Severity.CRITICAL: "critical", Severity.HIGH: "error",
                      Severity.MEDIUM: "warning", Severity.LOW: "info", Severity.INFO: "info"}


def session_link(public_url: str, session_id: str) -> str:
    """The session's timeline page."""
    return f"{public_url.rstrip('/')}/sessions/{quote(session_id, safe='')}"


def render(alert: Alert, hook: Webhook, *, update: bool, public_url: str) -> bytes:
    link = session_link(public_url, alert.session_id)
    if hook.format is Format.SLACK:
        return orjson.dumps(slack_message(alert, update=update, link=link))
    if hook.format is Format.PAGERDUTY:
        return orjson.dumps(pagerduty_event(alert, routing_key=hook.secret, link=link))
    return orjson.dumps(alert_document(alert, update=update, link=link))


def alert_document(alert: Alert, *, update: bool, link: str) -> dict[str, Any]:
    """Our own schema (documented in the README)."""
    return {"schema": SCHEMA, "alert_id": alert.id, "update": update, **alert_record(alert),
            "link": link}


def alert_record(alert: Alert) -> dict[str, Any]:
    """The alert's own fields (what the alerts table keeps)."""
    top = alert.top_finding
    return {"session_id": alert.session_id, "severity": alert.severity.label, "risk": alert.risk,
            "flagged": alert.flagged, "summary": alert.summary,
            "top_finding": top.document() if top else None, "finding_ids": list(alert.finding_ids),
            "source": alert.source, "model": alert.model, "created_at": alert.created_at,
            "updated_at": alert.updated_at}


def slack_message(alert: Alert, *, update: bool, link: str) -> dict[str, Any]:
    """An incoming-webhook message: ``text`` is the notification fallback, ``blocks`` the layout."""
    title = f"{'Updated' if update else 'New'} Blackbox alert: {alert.severity.label} risk session"
    top = alert.top_finding
    fields = [f"*Session*\n`{_slack_escape(alert.session_id)}`", f"*Risk*\n{alert.risk:.2f}",
              f"*Top finding*\n`{top.rule}`" if top else "*Top finding*\nnone (risk flag)",
              f"*Findings*\n{len(alert.finding_ids)}"]
    return {
        "text": f"{title}: {alert.summary} {link}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": _slack_escape(alert.summary)}},
            {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
            {"type": "section", "text": {"type": "mrkdwn", "text": f"<{link}|Open the session timeline>"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"alert `{alert.id}`"}]},
        ],
    }


def pagerduty_event(alert: Alert, *, routing_key: str, link: str) -> dict[str, Any]:
    """An Events API v2 trigger; the alert id as ``dedup_key`` folds updates into one incident."""
    top = alert.top_finding
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": alert.id,
        "payload": {
            "summary": alert.summary[:_PAGERDUTY_SUMMARY], "source": f"blackbox:{alert.session_id}",
            "severity": PAGERDUTY_SEVERITY[alert.severity], "timestamp": alert.updated_at,
            "component": alert.source, "class": top.rule if top else "risk-flag",
            "custom_details": {"session_id": alert.session_id, "risk": alert.risk,
                               "top_finding": top.document() if top else None,
                               "finding_ids": list(alert.finding_ids), "model": alert.model},
        },
        "links": [{"href": link, "text": "Session timeline in Blackbox"}],
        "client": "Blackbox",
        "client_url": link,
    }


def _slack_escape(text: str) -> str:
    """Slack's mrkdwn treats &, < and > as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
