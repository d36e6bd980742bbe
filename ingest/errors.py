"""The one exception tree of Blackbox.

Foreign errors (sqlite3, psycopg, orjson, pydantic, OS errors) are converted into these where
they enter our code, so callers — the API and the CLI — map a small, known set of types to HTTP
statuses and exit codes.
"""

from __future__ import annotations

from typing import Any


class BlackboxError(Exception):
    """Base of every error Blackbox raises on purpose."""


class ConfigError(BlackboxError):
    """A setting or command-line option is unusable (bad database URL, unsafe bind address)."""


class InputError(BlackboxError):
    """Input that can not be accepted as a whole (unreadable body, too large, too deep)."""


class PayloadTooLarge(InputError):
    """The request body or input file exceeds the configured size limit."""


class RecordError(InputError):
    """One record can not be mapped to an event: says where and why.

    ``location`` is the file name (CLI) or ``None`` (HTTP); ``line`` is 1-based for line-oriented
    input, ``index`` is the 0-based record position; ``field`` names the offending field if known.
    """

    def __init__(
        self,
        reason: str,
        *,
        field: str | None = None,
        index: int | None = None,
        line: int | None = None,
        location: str | None = None,
    ) -> None:
        self.reason = reason
        self.field = field
        self.index = index
        self.line = line
        self.location = location
        super().__init__(self.describe())

    def describe(self) -> str:
        where = [p for p in (self.location, _fmt("line", self.line), _fmt("record", self.index)) if p]
        prefix = ", ".join(where)
        field = f"field {self.field!r}: " if self.field else ""
        return f"{prefix}: {field}{self.reason}" if prefix else f"{field}{self.reason}"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled whole (a preparation process sends its errors back): by default an exception
        pickles only its message, and the field, line and index would be lost."""
        return _record_error, (self.reason, self.field, self.index, self.line, self.location)

    def at(self, *, index: int | None = None, line: int | None = None,
           location: str | None = None) -> RecordError:
        """A copy of this error placed at a position (adapters do not know where they are)."""
        return RecordError(
            self.reason,
            field=self.field,
            index=self.index if index is None else index,
            line=self.line if line is None else line,
            location=self.location if location is None else location,
        )


class UnknownFormat(InputError):
    """No adapter of that name, or auto-detection found no adapter for the content."""


class NotFound(InputError):
    """The thing a request names does not exist (a webhook, a delivery)."""


def _record_error(reason: str, field: str | None, index: int | None, line: int | None,
                  location: str | None) -> RecordError:
    return RecordError(reason, field=field, index=index, line=line, location=location)


class Unavailable(BlackboxError):
    """A part of the server that a request needs is down for the moment; retrying is safe."""


class StorageError(BlackboxError):
    """The log backend failed (database unreachable, constraint violated, disk full)."""


class TamperError(StorageError):
    """The database refused to alter stored events (append-only triggers)."""


class AuthError(BlackboxError):
    """Missing, unknown or revoked API key."""


class ScopeError(AuthError):
    """A valid key without the scope this operation needs."""


def _fmt(label: str, value: int | None) -> str | None:
    return None if value is None else f"{label} {value}"
