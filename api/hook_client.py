"""The client side of Claude Code hooks, run as ``blackbox hook claude-code`` for every hook event.

One call: read the payload from stdin, stamp it with a unique ``blackbox_hook_id`` and the send
time, take the state directory's lock (hooks of parallel tool calls and sessions run at once),
send what the spool holds (oldest first), ship the transcript lines written since the previous
call (hooks carry no reasoning; the transcript does), post the payload, and print the server's
hook output. When the server can not be reached, times out or fails (5xx and the like), the
unsent lines and the payload go to the spool (fsynced) and the answer follows the fail mode:
``open`` allows the tool call, ``closed`` denies it. Nothing is lost and nothing is recorded twice:
re-sent payloads and lines carry the ids the log dedupes on.

This module is imported by every hook call, so it stays light: no FastAPI, no database.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import os
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import orjson

from ingest.envelope import format_time, utc_now
from ingest.watch import (
    NewLines,
    OffsetStore,
    Position,
    ShipFailed,
    Unshippable,
    fsync_dir,
    read_new_lines,
    write_atomic,
)

DEFAULT_SERVER = "http://127.0.0.1:8765"
HOOK_ENDPOINT = "/v1/hooks/claude-code"
TRANSCRIPT_FORMAT = "claude-code"
HOOKS_FORMAT = "claude-code-hooks"
HOOK_ID = "blackbox_hook_id"
SENT_AT = "blackbox_sent_at"
TIMEOUT_SECONDS = 2.0  # per connect / read: a hook must not stall the agent on a dead server
FLUSH_SECONDS = 10.0  # at most this long draining the spool in one call; the rest waits
BATCH_BYTES = 512 * 1024  # small enough for the server to answer well within the timeout
SPOOL_NAME = "spool.jsonl"


class FailMode(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


def default_state_dir() -> Path:
    """``$BLACKBOX_STATE_DIR``, else ``$XDG_STATE_HOME/blackbox``, else ``~/.local/state/blackbox``."""
    configured = os.environ.get("BLACKBOX_STATE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "blackbox"


def make_state_dir(path: Path) -> Path:
    """Private to the user: the spool holds transcript lines before the server redacts them."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


@contextmanager
def locked(path: Path, *, wait: bool = True) -> Iterator[bool]:
    """An exclusive lock on ``path``; yields False if taken and ``wait`` is False. POSIX only."""
    with path.open("a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True  # released when the handle closes, or by the OS when the process dies


# --- talking to the server --------------------------------------------------------------------


class Shipper:
    """Posts to a Blackbox server and sorts each answer into kept, retry later, or never."""

    def __init__(self, server: str, *, api_key: str | None, timeout: float = TIMEOUT_SECONDS,
                 batch_bytes: int = BATCH_BYTES, transport: httpx.BaseTransport | None = None) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.server = server
        self.batch_bytes = batch_bytes
        self._client = httpx.Client(base_url=server, timeout=timeout, headers=headers,
                                    transport=transport)

    def __enter__(self) -> Shipper:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._client.close()

    def post(self, path: str, body: bytes) -> httpx.Response:
        """2xx, or 422 (the server keeps rejected records in its quarantine): delivered."""
        try:
            response = self._client.post(path, content=body,
                                         headers={"Content-Type": "application/json"})
        except httpx.HTTPError as exc:
            raise ShipFailed(f"{self.server} unreachable ({type(exc).__name__}: {exc})") from None
        if response.is_success or response.status_code == 422:
            return response
        if response.status_code == 413:
            raise Unshippable(f"{self.server} refuses the body as too large")
        # 5xx, and also 401/403/404: a key or a server version fixed later still gets the events.
        raise ShipFailed(f"{self.server} answered {response.status_code}: {response.text[:200]}")

    def ingest(self, fmt: str, lines: bytes) -> None:
        """NDJSON records; a body the server finds too large is halved until single lines remain."""
        try:
            self.post(f"/v1/ingest/{fmt}", lines)
        except Unshippable:
            halves = split_lines(lines)
            if halves is None:
                raise
            for half in halves:
                self.ingest(fmt, half)

    def sink(self, _path: Path, lines: bytes) -> None:
        """The watcher's sink: transcript lines to ``/v1/ingest/claude-code``."""
        self.ingest(TRANSCRIPT_FORMAT, lines)


def split_lines(lines: bytes) -> tuple[bytes, bytes] | None:
    """Two halves at a line boundary, or None for a single line."""
    parts = lines.splitlines(keepends=True)
    if len(parts) < 2:
        return None
    middle = len(parts) // 2
    return b"".join(parts[:middle]), b"".join(parts[middle:])


# --- the spool: what the server has not acknowledged yet, oldest first -----------------------


@dataclass(frozen=True, slots=True)
class Entry:
    format: str  # the ingest format of ``body``
    body: bytes  # NDJSON: complete lines, each ending in a newline


class Spool:
    """A JSONL file of entries; appends are fsynced, removals rewrite it atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def entries(self) -> list[Entry]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        return [entry for line in data.splitlines() if (entry := _decode(line)) is not None]

    def append(self, entries: Sequence[Entry]) -> None:
        separator = b"\n" if self._torn() else b""  # never glue an entry to a crashed append
        created = not self.path.exists()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "ab") as handle:
            handle.write(separator + b"".join(_encode(entry) for entry in entries))
            handle.flush()
            os.fsync(handle.fileno())
        if created:
            fsync_dir(self.path.parent)

    def replace(self, entries: Sequence[Entry]) -> None:
        write_atomic(self.path, b"".join(_encode(entry) for entry in entries))

    def _torn(self) -> bool:
        try:
            with self.path.open("rb") as handle:
                handle.seek(-1, os.SEEK_END)
                return handle.read(1) != b"\n"
        except OSError:  # missing or empty
            return False


def _encode(entry: Entry) -> bytes:
    # base64 keeps transcript bytes exact even when they are not valid UTF-8.
    doc = {"format": entry.format, "body": base64.b64encode(entry.body).decode()}
    return orjson.dumps(doc) + b"\n"


def _decode(line: bytes) -> Entry | None:
    try:
        doc = orjson.loads(line)
        return Entry(str(doc["format"]), base64.b64decode(doc["body"], validate=True))
    except (orjson.JSONDecodeError, KeyError, TypeError, binascii.Error):
        return None  # the torn tail of an append that crashed: its hook never answered


def flush(spool: Spool, shipper: Shipper, *, deadline: float) -> None:
    """Send the spool oldest first; ShipFailed (progress kept) unless it ends up empty."""
    entries = spool.entries()
    sent = 0
    try:
        for end, batch in _batches(entries, shipper.batch_bytes):
            if time.monotonic() > deadline:  # newer events queue behind: the order is the record
                raise ShipFailed(f"{shipper.server}: still sending {len(entries) - sent} spooled "
                                 "entries")
            _send_entry(shipper, batch)
            sent = end
    finally:
        if sent:
            spool.replace(entries[sent:])  # a crash before this re-sends them: the log dedupes


def _batches(entries: Sequence[Entry], limit: int) -> Iterator[tuple[int, Entry]]:
    """Consecutive entries of one format joined up to ``limit`` bytes: (entries consumed, batch)."""
    start = 0
    while start < len(entries):
        end, size = start + 1, len(entries[start].body)
        while (end < len(entries) and entries[end].format == entries[start].format
               and size + len(entries[end].body) <= limit):
            size += len(entries[end].body)
            end += 1
        yield end, Entry(entries[start].format, b"".join(e.body for e in entries[start:end]))
        start = end


def _send_entry(shipper: Shipper, entry: Entry) -> None:
    try:
        shipper.ingest(entry.format, entry.body)
    except Unshippable as exc:
        warn(f"dropped a spooled {entry.format} line the server will never take: {exc}")


# --- one hook call ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HookConfig:
    server: str = DEFAULT_SERVER
    api_key: str | None = None
    fail_mode: FailMode = FailMode.OPEN
    state_dir: Path | None = None
    timeout: float = TIMEOUT_SECONDS

    @property
    def state(self) -> Path:
        return self.state_dir or default_state_dir()


def parse_payload(raw: bytes) -> dict[str, Any]:
    """The hook input: one JSON object (ValueError otherwise)."""
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"hook input is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise ValueError("hook input is not a JSON object")
    return payload


def stamp(payload: dict[str, Any]) -> dict[str, Any]:
    """Give the payload the id the log dedupes on, once: a re-sent payload keeps its stamp."""
    payload.setdefault(HOOK_ID, str(uuid.uuid4()))
    payload.setdefault(SENT_AT, format_time(utc_now()))
    return payload


def run_hook(payload: dict[str, Any], config: HookConfig) -> dict[str, Any]:
    """Record one stamped payload; returns the hook output to print."""
    state = make_state_dir(config.state)
    with locked(state / "hook.lock"):
        return _deliver(payload, config, state)


def _deliver(payload: dict[str, Any], config: HookConfig, state: Path) -> dict[str, Any]:
    spool, store = Spool(state / SPOOL_NAME), OffsetStore(state / "hook-offsets")
    event = event_name(payload)
    with Shipper(config.server, api_key=config.api_key, timeout=config.timeout) as shipper:
        try:
            flush(spool, shipper, deadline=time.monotonic() + FLUSH_SECONDS)
            _ship_transcripts(payload, store, shipper)
            response = shipper.post(HOOK_ENDPOINT, orjson.dumps(payload))
        except ShipFailed as exc:
            _spool_rest(payload, store, spool)
            return failure_output(event, config.fail_mode, f"{exc}; the event is spooled")
    return _answer(response, event, config.fail_mode)


def _answer(response: httpx.Response, event: str | None, mode: FailMode) -> dict[str, Any]:
    try:
        output = response.json()
    except ValueError:
        output = None
    if response.is_success and isinstance(output, dict):
        return output
    # 422: the server kept the payload in its quarantine, but there is no event to vouch for.
    return failure_output(event, mode, f"{response.status_code} from the server: "
                                       f"{response.text[:200]}")


def _ship_transcripts(payload: dict[str, Any], store: OffsetStore, shipper: Shipper) -> None:
    """Ship the transcript lines written since the previous call, saving offsets once acked."""
    for path in transcript_paths(payload):
        for new in _unread(path, store.get(path), shipper.batch_bytes):
            try:
                shipper.ingest(TRANSCRIPT_FORMAT, new.data)
            except Unshippable as exc:
                warn(f"skipped {len(new.data)} bytes of {path}: {exc}")
            store.save(path, new.position)


def _spool_rest(payload: dict[str, Any], store: OffsetStore, spool: Spool) -> None:
    """Unsent transcript lines and the payload into the spool, then advance the offsets."""
    entries: list[Entry] = []
    positions: list[tuple[Path, Position]] = []
    for path in transcript_paths(payload):
        for new in _unread(path, store.get(path), BATCH_BYTES):
            entries.append(Entry(TRANSCRIPT_FORMAT, new.data))
            positions.append((path, new.position))
    entries.append(Entry(HOOKS_FORMAT, orjson.dumps(payload) + b"\n"))
    spool.append(entries)
    for path, position in positions:  # only now: the lines are durable in the spool
        store.save(path, position)


def _unread(path: Path, saved: Position | None, limit: int) -> Iterator[NewLines]:
    position = saved
    try:
        while (new := read_new_lines(path, position, limit=limit)) is not None:
            yield new
            position = new.position
    except OSError as exc:  # an unreadable transcript must not cost the hook event itself
        warn(f"can not read {path}: {exc}")


def transcript_paths(payload: dict[str, Any]) -> list[Path]:
    """The session transcript, its subagents' side files (their reasoning lives there), and
    SubagentStop's ``agent_transcript_path``."""
    paths: list[Path] = []
    main = payload.get("transcript_path")
    if isinstance(main, str) and main:
        transcript = Path(main).expanduser()
        paths.append(transcript)
        paths.extend(sorted((transcript.parent / transcript.stem / "subagents").glob("*.jsonl")))
    agent = payload.get("agent_transcript_path")
    if isinstance(agent, str) and agent:
        paths.append(Path(agent).expanduser())
    return list(dict.fromkeys(paths))


# --- hook output --------------------------------------------------------------------------------


def event_name(payload: dict[str, Any]) -> str | None:
    name = payload.get("hook_event_name")
    return name if isinstance(name, str) else None


def pre_tool_use_output(decision: str, reason: str) -> dict[str, Any]:
    """Claude Code's PreToolUse output (read from stdout when the hook exits 0)."""
    return {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": decision,
                                   "permissionDecisionReason": reason}}


def failure_output(event: str | None, mode: FailMode, reason: str) -> dict[str, Any]:
    """The answer without the server: only a tool call can be denied; other events go on."""
    warn(reason)
    if event != "PreToolUse":
        return {}
    if mode is FailMode.CLOSED:
        return pre_tool_use_output("deny", f"Blackbox could not record this tool call ({reason}); "
                                           "fail-closed mode denies unrecorded calls")
    return pre_tool_use_output("allow", f"Blackbox server unavailable ({reason}); fail-open")


def warn(message: str) -> None:
    """stderr only: Claude Code reads the hook output from stdout."""
    print(f"blackbox hook: {message}", file=sys.stderr)
