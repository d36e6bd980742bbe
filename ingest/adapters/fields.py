"""Typed access to the fields of one JSON record, shared by the adapters.

Every accessor raises ``RecordError`` naming the offending field, so a bad input says where it
is wrong in the same words whichever adapter read it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import orjson

from ingest.envelope import JSON, type_name
from ingest.errors import RecordError

_T = TypeVar("_T")
_S = TypeVar("_S")

# Bigger values than this stay in the raw record only: attributes should stay cheap to show.
SMALL_VALUE_BYTES = 1024

_KIND_NAMES: dict[type, str] = {str: "a string", bool: "true/false", int: "an integer",
                                list: "a list", Mapping: "an object"}


def record_of(record: JSON) -> Mapping[str, JSON]:
    """The record as an object: every adapter maps objects only."""
    if not isinstance(record, Mapping):
        raise RecordError(f"expected an object, got {type_name(record)}")
    return record


def listed(document: Mapping[str, JSON], key: str,
           is_record: Callable[[JSON], bool]) -> list[JSON] | None:
    """The records a file lists under ``key``, unless the document is a record itself."""
    records = document.get(key)
    return records if isinstance(records, list) and not is_record(document) else None


def lists_records(document: Mapping[str, JSON], key: str, is_record: Callable[[JSON], bool]) -> bool:
    """A whole file of records under ``key`` (auto-detection samples top-level values)."""
    records = document.get(key)
    return isinstance(records, list) and bool(records) and is_record(records[0])


def opt_str(record: Mapping[str, JSON], key: str, field: str | None = None) -> str | None:
    value = record.get(key)
    if value is not None and not isinstance(value, str):
        raise RecordError(f"expected a string, got {type_name(value)}", field=field or key)
    return value


def required_str(record: Mapping[str, JSON], key: str, field: str | None = None) -> str:
    value = opt_str(record, key, field)
    if not value:
        raise RecordError("is required", field=field or key)
    return value


def first_text(values: Iterable[JSON]) -> str | None:
    """The first value that is a non-empty string."""
    return next((value for value in values if isinstance(value, str) and value), None)


def non_empty_str(record: Mapping[str, JSON], key: str) -> str:
    """Like ``required_str``, with one message for absent, empty and mistyped values."""
    value = record.get(key)
    if not isinstance(value, str) or not value:
        raise RecordError(f"expected a non-empty string, got {type_name(value)}", field=key)
    return value


def mapping(record: Mapping[str, JSON], key: str, field: str) -> Mapping[str, JSON]:
    """The object at ``key``; absent means empty."""
    value = record.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise RecordError(f"expected an object, got {type_name(value)}", field=field)
    return value


def opt_int(record: Mapping[str, JSON], key: str, field: str) -> int | None:
    value = record.get(key)
    if value is None:
        return None
    # bool is an int in Python, but true is no count.
    if isinstance(value, bool) or not isinstance(value, int):
        raise RecordError(f"expected an integer, got {type_name(value)}", field=field)
    return value


def opt_str_list(record: Mapping[str, JSON], key: str, field: str) -> list[str] | None:
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise RecordError(f"expected a list of strings, got {type_name(value)}", field=field)
    return value


def put(target: dict[str, JSON], name: str, value: JSON) -> None:
    """Set an attribute only when it has a value: absent stays absent."""
    if value is not None:
        target[name] = value


def copy_present(source: Mapping[str, JSON], names: Sequence[tuple[str, str]],
                 target: dict[str, JSON]) -> None:
    """Copy ``source[key]`` to ``target[name]`` for each pair whose value is present."""
    for key, name in names:
        put(target, name, source.get(key))


def copy_str(source: Mapping[str, JSON], names: Sequence[tuple[str, str]], prefix: str,
             target: dict[str, JSON]) -> None:
    """``copy_present`` for string fields, checked; errors name ``<prefix>.<key>``."""
    for key, name in names:
        put(target, name, opt_str(source, key, f"{prefix}.{key}"))


def is_small(value: JSON) -> bool:
    try:
        return len(orjson.dumps(value)) <= SMALL_VALUE_BYTES
    except (orjson.JSONEncodeError, TypeError):  # beyond 64-bit integers, too deep: raw only
        return False


def cli_command(pattern: re.Pattern[str], user_agent: JSON) -> str | None:
    """The command a CLI's user agent names (its first group), None when it names none."""
    if not isinstance(user_agent, str):
        return None
    match = pattern.search(user_agent)
    return match.group(1) if match else None


def input_state(state: dict[str, object], key: str, factory: type[_S]) -> _S:
    """The adapter's state for the current input, created on first use."""
    value = state.get(key)
    if not isinstance(value, factory):
        value = state[key] = factory()
    return value


@dataclass(frozen=True)
class JsonDoc:
    """A record plus the path prefix its fields have in the input (``detail.`` in an envelope).

    Fields are read by dotted path; errors name the full path of what is wrong.
    """

    record: Mapping[str, JSON]
    prefix: str = ""

    def get(self, path: str, kind: type[_T]) -> _T | None:
        value = self.lookup(path, kind)
        return value if isinstance(value, kind) else None

    def lookup(self, path: str, kind: type) -> JSON:
        """The value at a dotted path, None when absent; RecordError when of the wrong type."""
        node: JSON = self.record
        keys = path.split(".")
        for depth, key in enumerate(keys):
            if not isinstance(node, Mapping):
                raise RecordError(f"expected an object, got {type_name(node)}",
                                  field=self.prefix + ".".join(keys[:depth]))
            node = node.get(key)
            if node is None:
                return None
        # bool is an int in Python, but true is no status code.
        if isinstance(node, kind) and not (kind is int and isinstance(node, bool)):
            return node
        raise RecordError(f"expected {_KIND_NAMES[kind]}, got {type_name(node)}",
                          field=self.prefix + path)

    def required(self, path: str) -> str:
        value = self.get(path, str)
        if not value:
            raise RecordError("missing or empty", field=self.prefix + path)
        return value

    def items(self, path: str) -> list[Mapping[str, JSON]]:
        """A list of objects (absent means empty)."""
        value = self.lookup(path, list)
        if not isinstance(value, list):
            return []
        for index, item in enumerate(value):
            if not isinstance(item, Mapping):
                raise RecordError(f"expected an object, got {type_name(item)}",
                                  field=f"{self.prefix}{path}[{index}]")
        return value
