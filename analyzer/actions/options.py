"""Option parsing the command handlers share: flags, their values, and the positional words."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

_NUMBER = re.compile(r"^-\d+(?:\.\d+)?$")


@dataclass(slots=True)
class _Args:
    positional: list[str] = field(default_factory=list)
    options: dict[str, list[str]] = field(default_factory=dict)

    def has(self, *names: str) -> bool:
        return any(name in self.options for name in names)

    def get(self, *names: str) -> str | None:
        for name in names:
            values = self.options.get(name)
            if values and values[-1]:
                return values[-1]
        return None

    def values(self, *names: str) -> list[str]:
        return [value for name in names for value in self.options.get(name, ()) if value]

    def letters(self) -> str:
        """Letters of the short-flag clusters: ``-rf -v`` → ``rfv``."""
        return "".join(name[1:] for name in self.options if not name.startswith("--"))


def _args(argv: Sequence[str], start: int = 1, takes_value: frozenset[str] = frozenset(),
          booleans: frozenset[str] | None = None) -> _Args:
    """Split options from positional words. ``--flag=value`` always splits; ``--flag value`` takes
    the next word when the flag is in ``takes_value`` or, in loose mode (``booleans`` given, for
    CLIs whose flags mostly take values: aws, gcloud, az), when the next word is not a flag and
    the flag is not one of the known ``booleans``."""
    parsed = _Args()
    index = start
    while index < len(argv):
        word = argv[index]
        if word == "--":
            parsed.positional.extend(argv[index + 1:])
            break
        if word.startswith("-") and len(word) > 1 and not _NUMBER.match(word):
            name, equals, value = word.partition("=")
            nxt = argv[index + 1] if index + 1 < len(argv) else None
            loose = booleans is not None and name not in booleans and nxt is not None
            if not equals and nxt is not None and (name in takes_value or (loose and nxt[:1] != "-")):
                value = nxt
                index += 1
            parsed.options.setdefault(name, []).append(value)
        else:
            parsed.positional.append(word)
        index += 1
    return parsed
