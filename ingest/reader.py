"""Turn input bytes into records, remembering where each came from (file, line, index).

Accepted shapes: a JSON array, an object holding a list (the adapter says which key), a single
object, or NDJSON (one JSON value per line). Gzipped input is unpacked. Invalid JSON becomes a
RecordError at its line; it never hides the valid records around it. Formats of text logs
(``line_format``) read the input as lines instead: ``text_records``.
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

import orjson

from ingest.envelope import JSON
from ingest.errors import InputError, PayloadTooLarge, RecordError

_GZIP_MAGIC = b"\x1f\x8b"
_NON_BLANK = re.compile(rb"\S")
_READ_BLOCK = 1 << 20


@dataclass(frozen=True, slots=True)
class TopValue:
    """One top-level JSON value of an input, with its source text when it is one line of NDJSON."""

    value: JSON
    line: int | None
    text: str | None


def decompress(data: bytes, *, limit: int) -> bytes:
    """Gunzip when the data is gzip; refuse output past ``limit`` bytes (zip bombs)."""
    if not data.startswith(_GZIP_MAGIC):
        return data
    try:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise InputError(f"corrupt gzip data: {exc}") from None
    if len(out) > limit:
        raise PayloadTooLarge(f"decompressed input exceeds {limit} bytes")
    return out


@dataclass(frozen=True, slots=True)
class BadInput:
    """Input that is not JSON: the error (with its line when known) and the offending text."""

    error: RecordError
    text: str


def top_values(data: bytes) -> Iterator[TopValue | BadInput]:
    """The top-level values of a JSON document or of NDJSON lines."""
    start = _NON_BLANK.search(data)
    if start is None:
        return
    if not _looks_like_ndjson(data, start.start()):
        yield _whole_document(data)
        return
    for number, raw_line in enumerate(_lines(data), start=1):
        if raw_line.strip():
            yield _one_line(raw_line, number)


def _lines(data: bytes) -> Iterator[bytes]:
    """The ``\n``-separated lines of ``data``, one at a time (``split`` would copy all of it
    at once: for a large file, another copy of its size held until the last line is read)."""
    start = 0
    while (end := data.find(b"\n", start)) != -1:
        yield data[start:end]
        start = end + 1
    yield data[start:]


# How a line format groups a text into records: (1-based first line, record text) pairs.
LineSplitter = Callable[[str], Iterable[tuple[int, str]]]


def text_records(data: bytes, split: LineSplitter | None = None) -> Iterator[TopValue]:
    """The records of a text log (input that is not JSON): each non-blank line by default, or
    the multi-line records ``split`` groups lines into. A record's value is its text."""
    text = data.decode("utf-8", errors="replace")
    for number, record in (split or text_lines)(text):
        yield TopValue(record, number, record)


def text_lines(text: str) -> Iterator[tuple[int, str]]:
    """Non-blank lines with their 1-based numbers (only ``\\n`` ends a line, as in NDJSON)."""
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if line.strip():
            yield number, line


def _looks_like_ndjson(data: bytes, start: int) -> bool:
    """NDJSON when the first non-blank line (from ``start``) is a complete JSON value and more
    non-blank text follows. Offsets, not slices of the rest: no copy of a large input."""
    newline = data.find(b"\n", start)
    if newline == -1 or _NON_BLANK.search(data, newline) is None:
        return False
    try:
        orjson.loads(data[start:newline])
    except orjson.JSONDecodeError:
        return False
    return True


def _whole_document(data: bytes) -> TopValue | BadInput:
    try:
        return TopValue(orjson.loads(data), None, None)
    except orjson.JSONDecodeError as exc:
        error = RecordError(_json_reason(exc), line=getattr(exc, "lineno", None))
        return BadInput(error, data.decode("utf-8", errors="replace").strip())


def _one_line(raw_line: bytes, number: int) -> TopValue | BadInput:
    text = raw_line.decode("utf-8", errors="replace").rstrip("\r")
    try:
        return TopValue(orjson.loads(raw_line), number, text)
    except orjson.JSONDecodeError as exc:
        return BadInput(RecordError(_json_reason(exc), line=number), text)


def _json_reason(exc: orjson.JSONDecodeError) -> str:
    message = str(exc)
    if "recursion" in message.lower():
        return "invalid JSON: nested too deeply"
    return f"invalid JSON: {message}"


def max_depth_exceeded(value: JSON, limit: int) -> bool:
    """True when containers nest deeper than ``limit`` (iterative: no recursion to blow up)."""
    stack: list[tuple[JSON, int]] = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        children: Iterable[JSON]
        if isinstance(current, dict):
            children = current.values()
        elif isinstance(current, list):
            children = current
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


_NOT_STRUCTURE = bytes(range(256)).translate(None, b'[]{}"')
_INNERMOST_PAIR = re.compile(rb"\{\}|\[\]")


def nesting_exceeds(data: str | bytes, limit: int) -> bool:
    """Whether valid JSON text nests deeper than ``limit``, computed at C speed.

    Escaped backslashes and quotes go first, then every byte but brackets and quotes; string
    contents are the odd pieces between quotes. What is left is the bracket skeleton, and each
    regex pass removes its innermost pairs: the number of passes is the nesting depth.
    """
    raw = data.encode() if isinstance(data, str) else data
    raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURE)
    skeleton = b"".join(raw.split(b'"')[0::2])
    for _ in range(limit):
        if not skeleton:
            return False
        skeleton = _INNERMOST_PAIR.sub(b"", skeleton)
    return bool(skeleton)


def container_count(text: str | bytes) -> int:
    """Upper bound of nesting depth, at C speed: a value can not nest deeper than its brackets."""
    if isinstance(text, bytes):
        return text.count(b"{") + text.count(b"[")
    return text.count("{") + text.count("[")


def read_path_bytes(path: str, *, limit: int) -> bytes:
    try:
        with open(path, "rb") as handle:
            data = _read_within(handle, limit)
    except OSError as exc:
        raise InputError(f"{path}: can not read: {exc.strerror}") from None
    if data is None:
        raise PayloadTooLarge(f"{path}: larger than {limit} bytes")
    return decompress(data, limit=limit)


def _read_within(handle: BinaryIO, limit: int) -> bytes | None:
    """The whole content, or None when it is larger than ``limit`` bytes. ``read(limit + 1)``
    would allocate that much first (4 GiB for the CLI's limit), so a regular file is read whole
    once its size is known, anything else (a pipe) in blocks."""
    size = os.fstat(handle.fileno()).st_size
    if size > limit:
        return None
    if size > 0:
        data = handle.read()  # a file still being written may have grown meanwhile
        return data if len(data) <= limit else None
    parts, total = [], 0
    while total <= limit and (part := handle.read(min(_READ_BLOCK, limit + 1 - total))):
        parts.append(part)
        total += len(part)
    return b"".join(parts) if total <= limit else None
