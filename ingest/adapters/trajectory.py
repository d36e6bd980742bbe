"""Agent trajectories of safety benchmarks (ASSEBench / AgentAuditor, R-Judge, ...): one record each.

A record is one episode: ``id``, ``profile`` (the agent's system prompt), ``contents`` = a list of
rounds, each a list of turns ``{"role": "user", "content"}`` / ``{"role": "agent", "thought",
"action"}`` / ``{"role": "environment", "content"}``. Files are JSON arrays of records (the reader
splits them). ``action`` is ``ToolName: {json}``, ``tool_name{python-literal dict}``,
``tool_name()`` / ``tool_name(k=v)`` or free text.

Benchmark annotations (``label``, ``risk_type``, ``failure_mode``, ``ambiguous``,
``risk_description``, ``application_scenario``; R-Judge's ``scenario``, ``goal`` — the judge's
prompt — and ``attack_type``) are the answers a risk model is scored against. They are kept in
``raw`` only — the trajectory event's raw is the record minus ``contents`` — and never reach
``text``, ``tool_input``, ``attributes`` or ids: those are what the analyzer reads, and a label
there would leak into the model. Attributes hold only counts and positions computed here.

Times: records carry none. An episode's events get a synthetic, deterministic time — the Unix
epoch plus the event's position in the record, in seconds (``attributes["synthetic_time"]``). Not
the ingest time: the same record must map to byte-identical events whenever it is ingested, and
1970 makes plain that the time is not a real one.

Ids: session and stream are the record's ``id`` as a string (prefixed by ``--param dataset=NAME``
when given, since ids repeat across benchmark files). Native ids add a digest of the record's
``id``, ``profile`` and ``contents`` — not of its labels — so two different episodes sharing an id
never collide, while re-ingesting a record appends nothing.
"""

from __future__ import annotations

import ast
import contextlib
import json
import re
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import orjson

from ingest.adapters.base import AdapterContext
from ingest.adapters.fields import opt_str
from ingest.envelope import JSON, Event, EventKind, content_id, type_name
from ingest.errors import RecordError

SOURCE = "agent-trajectory"
SYNTHETIC_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# The fields the record's identity (and so every native id) is derived from: never the labels.
_IDENTITY_KEYS = ("id", "profile", "contents")
# ``ToolName: {json}`` (R-Judge), ``tool_name{python literal}`` (AgentHarm), ``tool_name(...)`` (ASB).
_COLON_CALL = re.compile(r"\s*([A-Za-z_][\w.\-]*)\s*:\s*(\{.*\})\s*", re.DOTALL)
_BRACE_CALL = re.compile(r"\s*([A-Za-z_][\w.\-]*)\s*(\{.*\})\s*", re.DOTALL)
_PAREN_CALL = re.compile(r"\s*([A-Za-z_][\w.]*)\s*\((.*)\)\s*", re.DOTALL)
# What ast.literal_eval / json.loads raise on malformed or pathological (deeply nested) text.
_PARSE_ERRORS = (ValueError, SyntaxError, TypeError, MemoryError, RecursionError)


class TrajectoryAdapter:
    name: ClassVar[str] = "agent-trajectory"

    def unwrap(self, document: Mapping[str, JSON]) -> Sequence[JSON] | None:
        return None  # files are JSON arrays of records; an object is one record

    def accepts(self, record: JSON) -> bool:
        if not isinstance(record, Mapping) or not _is_id(record.get("id")):
            return False
        contents = record.get("contents")
        if not isinstance(contents, list) or not all(isinstance(r, list) for r in contents):
            return False
        first = next((turn for round_ in contents for turn in round_), None)
        if first is None:
            return "profile" in record
        return isinstance(first, Mapping) and "role" in first

    def to_events(self, record: JSON, ctx: AdapterContext) -> list[Event]:
        if not isinstance(record, Mapping):
            raise RecordError(f"expected an object, got {type_name(record)}")
        episode = _episode(record, ctx)
        _trajectory_event(episode)
        for round_index, round_ in enumerate(episode.rounds):
            episode.open_call = None  # a result answers a call of its own round only
            for turn_index, turn in enumerate(round_):
                _map_turn(_Turn(episode, turn, round_index, turn_index))
        return episode.events


def _is_id(value: JSON) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, str) and bool(value))


# --- one episode ------------------------------------------------------------------------------


@dataclass
class _Episode:
    record: Mapping[str, JSON]
    session: str
    digest: str
    rounds: list[list[Mapping[str, JSON]]]
    received_at: datetime
    events: list[Event] = field(default_factory=list)
    open_call: tuple[str, str] | None = None  # (call id, tool name) still waiting for its result

    def emit(self, suffix: str, kind: EventKind, *, raw: JSON, extra: Mapping[str, JSON],
             **fields: Any) -> None:
        self.events.append(Event.create(
            source=SOURCE,
            native_id=f"{self.session}/{self.digest}/{suffix}",
            stream=self.session,
            session_id=self.session,
            kind=kind,
            time=SYNTHETIC_EPOCH + timedelta(seconds=len(self.events)),
            received_at=self.received_at,
            attributes={"synthetic_time": True, "trajectory": self.digest, **extra},
            raw=raw,
            **fields,
        ))


def _episode(record: Mapping[str, JSON], ctx: AdapterContext) -> _Episode:
    ident = record.get("id")
    if not _is_id(ident):
        raise RecordError(f"expected a non-empty string or an integer, got {_describe(ident)}",
                          field="id")
    dataset = ctx.params.get("dataset")
    session = f"{dataset}/{ident}" if dataset else str(ident)
    return _Episode(record=record, session=session, digest=_digest(record),
                    rounds=_rounds(record), received_at=ctx.received_at)


def _rounds(record: Mapping[str, JSON]) -> list[list[Mapping[str, JSON]]]:
    contents = record.get("contents")
    if not isinstance(contents, list):
        raise RecordError(f"expected a list of rounds, got {type_name(contents)}", field="contents")
    for r, round_ in enumerate(contents):
        if not isinstance(round_, list):
            raise RecordError(f"expected a list of turns, got {type_name(round_)}",
                              field=f"contents[{r}]")
        for t, turn in enumerate(round_):
            if not isinstance(turn, Mapping):
                raise RecordError(f"expected an object, got {type_name(turn)}",
                                  field=f"contents[{r}][{t}]")
    return contents


def _digest(record: Mapping[str, JSON]) -> str:
    identity = {key: record.get(key) for key in _IDENTITY_KEYS}
    try:
        return content_id(identity)[:16]
    except (TypeError, ValueError) as exc:  # orjson: integers beyond 64 bits, too deep nesting
        raise RecordError(f"can not be encoded as JSON: {exc}") from None


def _trajectory_event(episode: _Episode) -> None:
    """The episode itself: the profile as text, the record minus its turns (labels too) as raw."""
    record = episode.record
    profile = opt_str(record, "profile", "profile")
    raw = {key: value for key, value in record.items() if key != "contents"}
    extra: dict[str, JSON] = {"record_type": "trajectory", "rounds": len(episode.rounds),
                              "turns": sum(len(r) for r in episode.rounds)}
    episode.emit("trajectory", EventKind.SYSTEM, raw=raw, extra=extra, actor="system", text=profile)


# --- one function per role ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Turn:
    episode: _Episode
    turn: Mapping[str, JSON]
    round: int
    index: int

    def field(self, name: str) -> str:
        return f"contents[{self.round}][{self.index}].{name}"

    def text(self, key: str) -> str | None:
        return opt_str(self.turn, key, self.field(key))

    @property
    def role(self) -> str:
        role = self.turn.get("role")
        if not isinstance(role, str):
            raise RecordError(f"expected a string, got {type_name(role)}", field=self.field("role"))
        return role

    def emit(self, kind: EventKind, *, part: str = "", extra: Mapping[str, JSON] | None = None,
             **fields: Any) -> None:
        suffix = f"{self.round}/{self.index}" + (f"/{part}" if part else "")
        attributes = {"record_type": "turn", "round": self.round, "turn": self.index,
                      "role": self.role, **(extra or {})}
        self.episode.emit(suffix, kind, raw=self.turn, extra=attributes, **fields)


def _map_turn(turn: _Turn) -> None:
    _BY_ROLE.get(turn.role, _other)(turn)


def _user(turn: _Turn) -> None:
    turn.emit(EventKind.USER_MESSAGE, actor="user", text=turn.text("content"))


def _agent(turn: _Turn) -> None:
    """Thought → reasoning; action → a tool call when it parses as one, else the agent's message."""
    thought = turn.text("thought")
    action = turn.text("action")
    thinks = bool(thought and thought.strip())
    if thinks:
        turn.emit(EventKind.AGENT_REASONING, part="thought", actor="agent", text=thought)
    call = _parse_call(action) if action else None
    if call is not None:
        name, tool_input, syntax = call
        call_id = f"{turn.episode.session}/{turn.round}/{turn.index}"
        turn.episode.open_call = (call_id, name)
        turn.emit(EventKind.TOOL_CALL, actor="agent", tool_name=name, call_id=call_id,
                  tool_input=tool_input, extra={"call_syntax": syntax})
    elif action or not thinks:  # an empty turn still becomes an event: nothing is dropped
        turn.emit(EventKind.AGENT_MESSAGE, actor="agent", text=action)


def _environment(turn: _Turn) -> None:
    """The answer to the round's pending call; without one, something the environment said."""
    content = turn.text("content")
    call = turn.episode.open_call
    if call is None:
        turn.emit(EventKind.SYSTEM, actor="system", text=content,
                  extra={"system_reason": "environment"})
        return
    turn.episode.open_call = None
    call_id, name = call
    turn.emit(EventKind.TOOL_RESULT, actor="agent", call_id=call_id, tool_name=name, text=content)


def _other(turn: _Turn) -> None:
    content = turn.turn.get("content")
    turn.emit(EventKind.OTHER, text=content if isinstance(content, str) else None)


_BY_ROLE: dict[str, Callable[[_Turn], None]] = {
    "user": _user,
    "agent": _agent,
    "environment": _environment,
}


# --- parsing actions ----------------------------------------------------------------------------


def _parse_call(action: str) -> tuple[str, dict[str, JSON], str] | None:
    """(tool name, input, syntax) when the action is a tool call; None when it is free text."""
    for pattern, syntax, parse in _CALL_SHAPES:
        match = pattern.fullmatch(action)
        if match:
            tool_input = parse(match.group(2))
            if tool_input is not None:
                return match.group(1), tool_input, syntax
    return None


def _dict_literal(text: str) -> dict[str, JSON] | None:
    """A JSON object, or a Python dict literal (``ast.literal_eval``: never ``eval``)."""
    try:
        value = json.loads(text)
    except _PARSE_ERRORS:
        try:
            with _quiet_parser(text):
                value = ast.literal_eval(text)
        except _PARSE_ERRORS:
            return None
    return _json_object(value)


def _call_arguments(text: str) -> dict[str, JSON] | None:
    """``k=v, ...`` of ``tool(k=v)`` as a dict; positional literals go under ``args``."""
    try:
        with _quiet_parser(text):
            call = ast.parse(f"f({text})", mode="eval").body
        # Exactly ``f(...)``: text such as ``a').b('c`` parses as a call on something else.
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                and call.func.id == "f") or any(kw.arg is None for kw in call.keywords):
            return None
        value: dict[Any, Any] = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}
        if call.args:
            value["args"] = [ast.literal_eval(arg) for arg in call.args]
    except _PARSE_ERRORS:
        return None
    return _json_object(value)


@contextlib.contextmanager
def _quiet_parser(text: str) -> Iterator[None]:
    """Python's parser warns about escapes like ``'C:\\d'``, and under ``-W error`` (the test
    suite) the warning becomes a SyntaxError: silence it so a literal parses the same everywhere.
    Only when a backslash is present, because ``catch_warnings`` is process-global, not per thread."""
    if "\\" not in text:
        yield
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", SyntaxWarning)
        yield


def _json_object(value: object) -> dict[str, JSON] | None:
    """The value as plain JSON if it is an object JSON can hold (tuples → lists; sets, bytes,
    non-string keys or 65-bit integers → not a tool input)."""
    if not isinstance(value, dict):
        return None
    try:
        plain = orjson.loads(orjson.dumps(value))
    except (orjson.JSONEncodeError, TypeError):
        return None
    return plain if isinstance(plain, dict) else None


_CALL_SHAPES: tuple[tuple[re.Pattern[str], str, Callable[[str], dict[str, JSON] | None]], ...] = (
    (_COLON_CALL, "name: {json}", _dict_literal),
    (_BRACE_CALL, "name{dict}", _dict_literal),
    (_PAREN_CALL, "name(args)", _call_arguments),
)


# --- small helpers ----------------------------------------------------------------------------


def _describe(value: object) -> str:
    return "an empty string" if value == "" else type_name(value)
