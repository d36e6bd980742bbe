"""Small trajectory builders for analyzer tests: a session written as a few readable lines.

    t = Trajectory()
    t.user("Fix staging")
    t.think("That must be the staging volume, deleting it should be safe")
    call = t.bash("railway volume delete vol_1 --yes", "deleted")
    t.railway("volume.deleted", {"volumeId": "vol_1"}, after=call)

Every event gets increasing times one second apart, so "shortly after" and "before" mean what
they say. Cloud records are built as the Railway / CloudTrail adapters would build them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from analyzer.engine import Analyzer
from analyzer.findings import Finding
from ingest.envelope import Event, EventKind

START = datetime(2026, 4, 24, 8, 0, tzinfo=UTC)


@dataclass
class Trajectory:
    session_id: str = "s-test"
    events: list[Event] = field(default_factory=list)
    clock: datetime = START
    _calls: int = 0

    def _next(self, kind: EventKind, **fields: Any) -> Event:
        self.clock += timedelta(seconds=1)
        native = f"{self.session_id}/{len(self.events)}"
        event = Event.create(source="claude-code", native_id=native, stream=self.session_id,
                             session_id=self.session_id, kind=kind, time=self.clock,
                             received_at=self.clock, **fields)
        self.events.append(event)
        return event

    def user(self, text: str) -> Event:
        return self._next(EventKind.USER_MESSAGE, actor="user", text=text)

    def think(self, text: str) -> Event:
        return self._next(EventKind.AGENT_REASONING, actor="agent", text=text)

    def say(self, text: str) -> Event:
        return self._next(EventKind.AGENT_MESSAGE, actor="agent", text=text)

    def tool(self, name: str, tool_input: Any, result: str | None = "", *, error: bool = False) -> Event:
        self._calls += 1
        call_id = f"toolu_{self.session_id}_{self._calls:03d}"
        call = self._next(EventKind.TOOL_CALL, actor="agent", tool_name=name, call_id=call_id,
                          tool_input=tool_input)
        if result is not None:
            self._next(EventKind.TOOL_RESULT, actor="agent", tool_name=name, call_id=call_id,
                       text=result, is_error=error)
        return call

    def bash(self, command: str, result: str | None = "", *, error: bool = False) -> Event:
        return self.tool("Bash", {"command": command}, result, error=error)

    def railway(self, event_type: str, payload: dict[str, Any], *, after: Event, seconds: float = 1.0,
                environment: str = "env-prod", operation: str | None = None,
                cause: str | None = None, native_id: str | None = None) -> Event:
        """A Railway audit record, ``seconds`` after the call ``after``."""
        time = after.time + timedelta(seconds=seconds)
        node_id = native_id or f"al_{len(self.events):04d}"
        attributes: dict[str, Any] = {"event_type": event_type, "environment_id": environment,
                                      "project_id": "proj-1"}
        context: dict[str, Any] = {"actor": {"type": "system" if cause else "project_token"}}
        if operation:
            attributes["operation_name"] = context["operationName"] = operation
        for key, value in payload.items():  # the adapter copies payload ids, snake-cased
            if key.endswith(("Id", "Ids")):
                attributes.setdefault(re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower(), value)
        if cause:
            attributes["cause"] = context["cause"] = cause
        raw = {"id": node_id, "eventType": event_type, "createdAt": time.isoformat(),
               "projectId": "proj-1", "environmentId": environment, "payload": payload,
               "context": context}
        event = Event.create(source="railway-audit", native_id=node_id, stream="railway:proj-1",
                             kind=EventKind.CLOUD_CALL, time=time, received_at=time,
                             tool_name=operation or event_type, tool_input=payload,
                             attributes=attributes, raw=raw, is_error=False)
        self.events.append(event)
        return event

    def analyze(self) -> list[Finding]:
        analyzer = Analyzer()
        analyzer.feed_all(sorted(self.events, key=lambda e: e.time))
        return analyzer.findings(self.session_id)


def rules_of(findings: list[Finding]) -> set[str]:
    return {f.rule for f in findings}


def by_rule(findings: list[Finding], rule: str) -> Finding:
    matches = [f for f in findings if f.rule == rule]
    assert matches, f"no {rule} finding in {[f.rule for f in findings]}"
    return matches[0]
