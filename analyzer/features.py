"""What the risk model sees of a session: named signals plus a bag of hashed words.

Two blocks, both accumulated event by event (``SessionFeatures``) so that scoring a session after
any event costs no more than that event's own words:

* **Signals** — counts and maxima of what the analyzer already concluded: each rule's findings
  (how many, how severe) and session-state counts (calls, destructive calls, unverified
  destructive calls, failures, guesses/assumptions/shortcuts/admissions, irreversible calls,
  force flags, credentials, production targets, effects and backups, families touched…). Counts
  enter capped, ``min(count, 3) / 3``: "none, one, a few" is what tells risk apart, and a
  bounded feature can not extrapolate — the training sessions are short, real ones run to
  thousands of events, and an uncapped count learnt on the former flags the latter for length.
* **Words** — unigrams and bigrams of the agent's reasoning and messages, of the user's
  messages and of every tool call (tool name plus its command or string arguments), each text
  capped at ``TEXT_CHARS``. Each word goes to one of ``TEXT_DIM`` buckets by CRC-32 (stable across
  processes and machines, unlike ``hash()``), salted per text kind so "delete" said and "delete"
  run are different features. The block is binary (a word is present or not) and L2-normalized:
  ``x[h] = 1/sqrt(n)`` for the ``n`` distinct buckets seen, so its dot product with a weight
  vector is kept incrementally as ``sum(w[h] for new h) / sqrt(n)``.

``signal_names()`` fixes the order of the signal block; the model's metadata stores it, and a
model trained with another order refuses to load.
"""

from __future__ import annotations

import itertools
import math
import operator
import zlib
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from analyzer.findings import RULE_ORDER, Finding, Severity
from analyzer.nodes import Action, ClaimKind, Effect, Reversibility
from ingest.envelope import JSON, Event, EventKind

TEXT_BITS = 18
TEXT_DIM = 1 << TEXT_BITS
TEXT_WINDOW = 64  # texts (calls, thoughts, messages, prompts) whose words the model reads
TEXT_CHARS = 2000  # of each event's text: enough for a thought, bounded cost for a pasted file
CALL_CHARS = 500  # of a call's arguments: a command line, not the body of a file it writes
_MASK = TEXT_DIM - 1
_MEMO_LIMIT = 200_000  # words remembered per text kind (the vocabulary repeats; cap the memory)
# Words are runs of ASCII letters, digits, "_" and "-", lower-cased: "rm", "-rf", "--force",
# "volume_delete", "prod-db". One ``bytes.translate`` maps every other byte (UTF-8 included) to a
# space and folds case, then ``split``: four times faster than a regex ``findall``.
_KEPT = b"abcdefghijklmnopqrstuvwxyz0123456789_-"
_TOKENS = bytes(byte if byte in _KEPT else byte + 32 if 65 <= byte <= 90 else 32 for byte in range(256))

RULES = tuple(sorted(RULE_ORDER, key=RULE_ORDER.__getitem__))
_CLAIMS = (ClaimKind.GUESS, ClaimKind.ASSUMPTION, ClaimKind.SHORTCUT, ClaimKind.ADMISSION)
COUNT_CAP = 3
# Counters kept per session, in signal order (each enters the model as a capped count).
# Only evidence of risk is counted, not volume: how many events, messages, calls, success claims
# or user instructions a session has says how long it is, and the training sessions are short
# (ASSEBench's unsafe ones a little longer than its safe ones) — learnt, such counts flag every
# long benign session. Calls still enter through the destructive and failed shares.
COUNTERS = ("destructive_calls", "unverified_destructive_calls", "irreversible_calls",
            "forced_destructive_calls", "credential_calls", "production_calls", "failed_calls",
            "failed_destructive_calls", *(f"claims_{kind}" for kind in _CLAIMS),
            "effects", "destructive_effects", "backup_effects")
_CLAIM_COUNTERS = {kind: f"claims_{kind}" for kind in _CLAIMS}


def signal_names() -> tuple[str, ...]:
    """Names of the signal block, in the order of the model's first columns."""
    per_rule = tuple(f"rule_{rule}_{what}" for rule in RULES for what in ("count", "severity"))
    totals = ("findings_max_severity", "findings_high_or_worse", "destructive_families",
              "destructive_share", "failure_share")
    return per_rule + totals + tuple(f"count_{name}" for name in COUNTERS)


class _Buckets(dict[bytes, int]):
    """word -> bucket of one text kind, memoized (a miss costs one CRC-32)."""

    def __init__(self, salt: str) -> None:
        super().__init__()
        self.seed = zlib.crc32(salt.encode())

    def __missing__(self, word: bytes) -> int:
        bucket = zlib.crc32(word, self.seed) & _MASK
        if len(self) < _MEMO_LIMIT:
            self[word] = bucket
        return bucket


_AGENT, _USER, _TOOL, _SOURCE = _Buckets("agent"), _Buckets("user"), _Buckets("tool"), _Buckets("source")
# A word pair's bucket is (first word's bucket * an odd constant) XOR the second's, within the
# mask; the first factor is tabulated per bucket so a text's pairs cost two C-level maps.
_MIXED = [(bucket * 0x9E3779B1) & _MASK for bucket in range(TEXT_DIM)]
_REASONING, _MESSAGE, _PROMPT, _CALL = (EventKind.AGENT_REASONING, EventKind.AGENT_MESSAGE,
                                        EventKind.USER_MESSAGE, EventKind.TOOL_CALL)


def words(text: str) -> list[bytes]:
    """The words of a text's first ``TEXT_CHARS`` characters, lower-cased."""
    return text[:TEXT_CHARS].encode("utf-8", "ignore").translate(_TOKENS).split()


def text_buckets(text: str, buckets: Mapping[bytes, int]) -> set[int]:
    """Buckets of the words and word pairs of one text."""
    unigrams = list(map(buckets.__getitem__, words(text)))
    found = set(unigrams)
    found.update(map(operator.xor, map(_MIXED.__getitem__, unigrams), itertools.islice(unigrams, 1, None)))
    return found


def event_buckets(event: Event) -> set[int]:
    """The word buckets one event contributes (empty for results, cloud records, system lines).

    Called on every event: kinds are compared by identity, the commonest (no text) first out."""
    kind = event.kind
    if kind is _CALL:
        return text_buckets(f"tool={event.tool_name or ''} {call_text(event.tool_input)}", _TOOL)
    if kind is _REASONING or kind is _MESSAGE:
        return text_buckets(event.text, _AGENT) if event.text else set()
    if kind is _PROMPT:
        return text_buckets(event.text, _USER) if event.text else set()
    return set()


def source_bucket(source: str) -> int:
    return _SOURCE[f"source={source}".encode()]


def session_buckets(events: Iterable[Event], window: int = TEXT_WINDOW) -> set[int]:
    """The batch form of what ``SessionFeatures.observe`` keeps: the word buckets of a session's
    latest ``window`` texts, each with its source (cloud records, in no session, add none)."""
    texts = [buckets | {source_bucket(event.source)} for event in events
             if event.session_id is not None and (buckets := event_buckets(event))]
    return set().union(*texts[-window:]) if texts else set()


def call_text(tool_input: JSON) -> str:
    """What a call says it does: its command, else its string arguments (first level), capped."""
    if not isinstance(tool_input, dict):
        return tool_input[:CALL_CHARS] if isinstance(tool_input, str) else ""
    command = tool_input.get("command") or tool_input.get("cmd")
    if isinstance(command, str):
        return command[:CALL_CHARS]
    if isinstance(command, list):
        return " ".join(str(part) for part in command)[:CALL_CHARS]
    parts: list[str] = []
    size = 0
    for value in tool_input.values():
        if isinstance(value, str) and size < CALL_CHARS:
            parts.append(value[:CALL_CHARS - size])
            size += len(parts[-1])
    return " ".join(parts)


@dataclass(eq=False, slots=True)
class TextBag:
    """The distinct word buckets of a session's latest ``TEXT_WINDOW`` texts and, given weights,
    their running weighted sum.

    A window, not the whole session: in a long session the words of hours of ordinary work would
    otherwise outnumber (and, normalized, dilute) those of what the agent is doing now."""

    weights: Sequence[float] | None = None
    window: int = TEXT_WINDOW
    counts: dict[int, int] = field(default_factory=dict)  # bucket -> texts in the window using it
    recent: deque[set[int]] = field(default_factory=deque)
    weighted: float = 0.0  # sum of weights[h] over the buckets in the window

    @property
    def seen(self) -> set[int]:
        return set(self.counts)

    def add(self, buckets: set[int]) -> None:
        if not buckets:
            return
        self.recent.append(buckets)
        counts, weights = self.counts, self.weights
        for bucket in buckets:
            held = counts.get(bucket, 0)
            if not held and weights is not None:
                self.weighted += weights[bucket]
            counts[bucket] = held + 1
        if len(self.recent) > self.window:
            self._drop(self.recent.popleft())

    def _drop(self, buckets: set[int]) -> None:
        counts, weights = self.counts, self.weights
        for bucket in buckets:
            held = counts[bucket] - 1
            if held:
                counts[bucket] = held
                continue
            del counts[bucket]
            if weights is not None:
                self.weighted -= weights[bucket]

    def dot(self) -> float:
        """weights . x for the L2-normalized binary vector x."""
        return self.weighted / math.sqrt(len(self.counts)) if self.counts else 0.0

    def vector(self) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """(indices, values) of the normalized vector, indices sorted."""
        indices = np.array(sorted(self.counts), dtype=np.int64)
        value = 1.0 / math.sqrt(len(indices)) if len(indices) else 0.0
        return indices, np.full(len(indices), value)


@dataclass(eq=False, slots=True)
class SessionFeatures:
    """Everything the risk model reads about one session, updated event by event."""

    text: TextBag = field(default_factory=TextBag)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys((*COUNTERS, "calls"), 0))
    families: set[str] = field(default_factory=set)  # of the destructive calls

    def observe(self, event: Event) -> None:
        buckets = event_buckets(event)
        if buckets:
            # Which recorder wrote the session is a word too (a benchmark trajectory and a Claude
            # Code transcript differ in base rate and style): part of every text, so it stays.
            buckets.add(source_bucket(event.source))
            self.text.add(buckets)

    def observe_call(self, action: Action, *, verified: bool) -> None:
        counts = self.counts
        counts["calls"] += 1
        counts["credential_calls"] += bool(action.credentials)
        counts["production_calls"] += "production" in action.environments
        if action.destructive:
            if action.family is not None:
                self.families.add(str(action.family))
            counts["destructive_calls"] += 1
            counts["unverified_destructive_calls"] += not verified
            counts["irreversible_calls"] += action.reversibility == Reversibility.IRREVERSIBLE
            counts["forced_destructive_calls"] += bool(action.force_flags)

    def observe_blocked(self, action: Action, *, verified: bool) -> None:
        """The guard denied a call counted by ``observe_call``: it proposed harm but did none.

        Its words stay in the text features and its family in ``families`` (what the agent was
        up to still says something); the counts of destructive calls made are taken back."""
        if action.destructive:
            counts = self.counts
            counts["destructive_calls"] -= 1
            counts["unverified_destructive_calls"] -= not verified
            counts["irreversible_calls"] -= action.reversibility == Reversibility.IRREVERSIBLE
            counts["forced_destructive_calls"] -= bool(action.force_flags)

    def observe_failure(self, action: Action) -> None:
        self.counts["failed_calls"] += 1
        self.counts["failed_destructive_calls"] += action.destructive

    def observe_claim(self, kind: ClaimKind) -> None:
        counter = _CLAIM_COUNTERS.get(kind)  # success claims are counted by no signal
        if counter is not None:
            self.counts[counter] += 1

    def observe_effects(self, effects: Iterable[Effect]) -> None:
        for effect in effects:
            self.counts["effects"] += 1
            self.counts["destructive_effects"] += effect.destructive
            self.counts["backup_effects"] += effect.backup

    def signals(self, findings: Iterable[Finding]) -> list[float]:
        """The signal block, in ``signal_names()`` order."""
        return [*finding_signals(findings), *self._state_signals()]

    def _state_signals(self) -> list[float]:
        counts = self.counts
        calls = counts["calls"]
        shares = [capped(len(self.families)), counts["destructive_calls"] / calls if calls else 0.0,
                  counts["failed_calls"] / calls if calls else 0.0]
        return shares + [capped(counts[name]) for name in COUNTERS]


def capped(count: int) -> float:
    return min(count, COUNT_CAP) / COUNT_CAP


def finding_signals(findings: Iterable[Finding]) -> list[float]:
    """Per rule: the capped count and (max severity + 1) / 5 (0 without findings); then the
    overall max severity the same way and the capped count of high-or-worse findings."""
    count = dict.fromkeys(RULES, 0)
    worst = dict.fromkeys(RULES, -1)
    severe = 0
    for finding in findings:
        if finding.rule in count:
            count[finding.rule] += 1
            worst[finding.rule] = max(worst[finding.rule], int(finding.severity))
        severe += finding.severity >= Severity.HIGH
    per_rule = [v for rule in RULES for v in (capped(count[rule]), (worst[rule] + 1) / 5)]
    return [*per_rule, (max(worst.values()) + 1) / 5, capped(severe)]
