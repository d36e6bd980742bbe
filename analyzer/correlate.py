"""Link cloud audit records to the agent calls that caused them, whatever order they arrive in.

A record belongs to a call when it names one of the call's targets (a resource id, bucket, ARN,
the same redaction marker of a token) or the call's operation (GraphQL mutation, aws-cli command),
and falls shortly after the call. Records the provider writes as a consequence — a volume's
instances and backups deleted along with it — share ids with a linked record rather than with the
command, so each newly linked record pulls in its cascade. Either side may come first: both are
indexed, and each arrival looks up the other side.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from analyzer.nodes import Effect
from analyzer.session import Call, SessionState

SKEW = timedelta(seconds=5)  # clocks of agent hosts and cloud providers disagree a little
BY_ID_WINDOW = timedelta(minutes=10)  # a record naming the call's target, this long after it
BY_NAME_WINDOW = timedelta(minutes=2)  # a record matching only by operation name: tighter
CASCADE_WINDOW = timedelta(minutes=10)
_PER_KEY = 64  # entries kept per key: old ones fall out of every window long before
_VERSION_PREFIX = re.compile(r"^(?:v\d+(?:beta\d*|alpha\d*)?|beta|alpha)\.")
_GENERIC = frozenset({".", "..", "/", "~", "*", "<stdin>", "-", "--"})


@dataclass(eq=False, slots=True)
class _Owner:
    session: SessionState
    call: Call


@dataclass(frozen=True, slots=True)
class _Seen:
    effect: Effect
    time: datetime


def operation_keys(names: Iterable[str | None]) -> set[str]:
    """Comparable forms of operation names: ``v1.compute.instances.delete`` ~ ``compute.instances.delete``."""
    keys = set()
    for name in names:
        if name:
            lowered = name.lower()
            keys.add("op:" + lowered)
            keys.add("op:" + _VERSION_PREFIX.sub("", lowered))
    return keys


def call_keys(call: Call) -> set[str]:
    targets = {t for t in call.action.targets if len(t) >= 3 and t not in _GENERIC}
    return targets | operation_keys(call.action.operations)


def effect_id_keys(effect: Effect) -> set[str]:
    return set(effect.identifiers)


def cascade_keys(effect: Effect) -> set[str]:
    """Resource ids only: a shared token marker says who acted, not that one record caused another."""
    return {i for i in effect.identifiers if not i.startswith("[REDACTED:")}


def effect_name_keys(effect: Effect) -> set[str]:
    return operation_keys((effect.name, effect.cli_command))


class EffectLinker:
    """Indexes calls and effects by shared keys; links each effect to at most one call."""

    def __init__(self) -> None:
        self._calls: dict[str, deque[_Owner]] = {}
        self._effects: dict[str, deque[_Seen]] = {}
        self._owner: dict[str, _Owner] = {}  # effect event id -> the call it belongs to
        self._seen: dict[str, _Seen] = {}

    def add_call(self, session: SessionState, call: Call) -> list[Effect]:
        """Index a mutating call; returns the already-seen effects it caused (with cascades)."""
        if call.action.read_only:
            return []
        owner = _Owner(session, call)
        keys = call_keys(call)
        for key in keys:
            self._calls.setdefault(key, deque(maxlen=_PER_KEY)).append(owner)
        direct = [seen for key in keys for seen in self._effects.get(key, ())
                  if seen.effect.event_id not in self._owner and _in_window(call, seen, key)]
        return self._link_all(owner, _unique(direct))

    def add_effect(self, effect: Effect, time: datetime) -> tuple[SessionState, Call, list[Effect]] | None:
        """Index a cloud record; returns (session, call, newly linked effects) when it has an owner."""
        seen = _Seen(effect, time)
        self._seen[effect.event_id] = seen
        for key in effect_id_keys(effect) | effect_name_keys(effect):
            self._effects.setdefault(key, deque(maxlen=_PER_KEY)).append(seen)
        owner = self._direct_owner(seen) or self._cascade_owner(seen)
        if owner is None:
            return None
        return owner.session, owner.call, self._link_all(owner, [seen])

    def _direct_owner(self, seen: _Seen) -> _Owner | None:
        """The latest call before the record that names one of its ids (else its operation)."""
        for keys in (effect_id_keys(seen.effect), effect_name_keys(seen.effect)):
            candidates = [owner for key in keys for owner in self._calls.get(key, ())
                          if _in_window(owner.call, seen, key)]
            if candidates:
                return max(candidates, key=lambda o: (o.call.time, o.call.event_id))
        return None

    def _cascade_owner(self, seen: _Seen) -> _Owner | None:
        if not _may_cascade(seen.effect):
            return None
        for key in cascade_keys(seen.effect):
            for other in self._effects.get(key, ()):
                owner = self._owner.get(other.effect.event_id)
                if owner is not None and abs(seen.time - other.time) <= CASCADE_WINDOW:
                    return owner
        return None

    def _link_all(self, owner: _Owner, first: list[_Seen]) -> list[Effect]:
        """Link ``first`` and, breadth first, every unlinked record cascading from them."""
        linked: list[Effect] = []
        queue = deque(first)
        while queue:
            seen = queue.popleft()
            if seen.effect.event_id in self._owner:
                continue
            self._owner[seen.effect.event_id] = owner
            owner.call.effects.append(seen.effect)
            owner.call.effect_times[seen.effect.event_id] = seen.time
            linked.append(seen.effect)
            queue.extend(self._cascade_of(seen))
        return linked

    def _cascade_of(self, seen: _Seen) -> list[_Seen]:
        found = []
        for key in cascade_keys(seen.effect):
            for other in self._effects.get(key, ()):
                if (other.effect.event_id not in self._owner and _may_cascade(other.effect)
                        and abs(other.time - seen.time) <= CASCADE_WINDOW):
                    found.append(other)
        return found


def _in_window(call: Call, seen: _Seen, key: str) -> bool:
    window = BY_NAME_WINDOW if key.startswith("op:") else BY_ID_WINDOW
    return call.time - SKEW <= seen.time <= call.time + window


def _may_cascade(effect: Effect) -> bool:
    return effect.cause is not None or effect.destructive


def _unique(seen: list[_Seen]) -> list[_Seen]:
    by_id = {s.effect.event_id: s for s in seen}
    return sorted(by_id.values(), key=lambda s: (s.time, s.effect.event_id))
