"""The things a sentence is about: resource ids, paths, hosts and environment names.

Claims and constraints carry these so that rules can link "that must be the staging volume
(vol_3f9a…)" to the tool call that deletes ``vol_3f9a…``, or "do not touch prod" to a call whose
target lives in production.

Design:

* One alternation regex (``_RESOURCE``) finds concrete things in a single left-to-right pass:
  URLs (reduced to their host), ARNs, cloud resource ids, UUIDs, IPv4 addresses, host names,
  Windows and POSIX paths. A single token-start look-behind comes first, so the many positions
  inside words fail after one check instead of one per branch. Branch order settles overlaps (a
  URL wins over the host inside it, ``vol_<uuid>`` over the bare UUID). Candidates the regex
  cannot judge cheaply (is ``and/or`` a path?) are kept or dropped by a small check per match.
* A second regex (``_ENVIRONMENT``) finds environment words and names the normalized environment
  by its named group. It runs on the lowercased text and every branch starts with a literal
  letter, so the regex engine skips straight to the letters p, s, d and t. Token boundaries are
  letters and digits only, so ``prod-db``, ``db_prod`` and ``staging.pocket-rentals.app`` count,
  while ``product``, ``reproduce``, ``devices`` and ``latest`` do not. Ambiguous words (``stage``,
  ``test``) count only in environment-like contexts ("test environment", ``--env test``).
* No pattern nests unbounded quantifiers, so every scan is linear, even on 50 KB pasted logs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# Top-level domains accepted for bare host names. Deliberately excludes ones that collide with
# file suffixes (.py, .md, .sh, .rs, .js, .ts): "main.py" is a file, not a host in Paraguay.
_TLDS = (
    "com|net|org|io|app|dev|internal|local|localdomain|cloud|ai|co|xyz|tech|site|online|"
    "us|uk|de|fr|eu|nl|ca|au|jp|gov|edu|info|biz|run"
)

_RESOURCE = re.compile(
    # A resource starts a token (not inside a word, dotted name, path or address) and the token
    # holds a separator; one look-ahead spares plain words the branches below.
    r"(?<![\w.@/~:\\-])(?=[A-Za-z0-9~+]*[./:\\_-])(?:"
    + "|".join(
        (
            # scheme://[user@]host — only the host is kept.
            r"(?P<url>[A-Za-z][A-Za-z0-9+.-]{1,15}://(?:[^\s/@]{0,200}@)?[^\s/:?#'\"<>()\[\]]+)",
            r"(?P<arn>arn:aws[\w-]*:[\w-]+:[\w-]*:\d*:[^\s\"'<>,;()\[\]]+)",
            # Platform ids with a type prefix (Railway-style volumes, volume instances, backups).
            r"(?P<prefixed_id>(?:vol|vi|bk|bkp|snap|svc|srv|prj|proj|dep|env|db)_"
            r"[A-Za-z0-9][A-Za-z0-9-]{5,}(?![\w-]))",
            # AWS ids: i-0abc…, vol-…, sg-…, snap-… (8 or 17 hex digits); RDS resource ids db-XXXX….
            r"(?P<aws_id>(?:(?:i|vol|snap|ami|sg|subnet|vpc|eni|igw|rtb|nat|acl|eipalloc|lt|fs)"
            r"-[0-9a-f]{8}(?:[0-9a-f]{9})?|db-[A-Z0-9]{26})(?![\w-]))",
            r"(?P<uuid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-]))",
            r"(?P<ip>\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?!\w|\.\w))",
            rf"(?P<host>(?:[A-Za-z0-9][A-Za-z0-9.-]*\.(?:{_TLDS})|localhost)(?![\w-]|\.[\w-]))",
            r"(?P<winpath>[A-Za-z]:\\[^\s\"'<>|*?]*)",
            # Any token with a slash; _path_value decides whether it is a path.
            r"(?P<path>(?<!<)[\w.~-]*/[\w./@+~-]*)",  # not a closing tag "</div>"
        )
    )
    + ")"
)

_TRAILING_PUNCTUATION = ".,;:!?)'\""
_FILE_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}$")
_EXPLICIT_PATH_PREFIXES = ("/", "./", "../", "~/")
# Device files show up in pasted commands ("2>/dev/null") and name nothing the agent acts on.
_IGNORED_PATHS = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/zero"})

# Written in lowercase and run on lowercased text. Each branch starts with its letter, then
# checks in a look-behind that the letter starts a token.
_ENVIRONMENT_SOURCE = (
    # "pre-prod" and "non-prod" are not production.
    r"p(?<![a-z0-9]p)(?<!pre-p)(?<!pre_p)(?<!non-p)(?P<production>rod(?:uction)?|rd)"
    r"|s(?<![a-z0-9]s)(?P<staging>taging|tg|(?<=--s)tage"
    r"|tage(?=[ _-](?:env|environment|server|cluster|db|database|api|app)(?![a-z0-9])|\.[a-z]))"
    # "/dev/null" is a device, not the development environment.
    r"|d(?<![a-z0-9/]d)(?P<development>ev(?:elopment)?)"
    r"|t(?<![a-z0-9]t)(?P<test>est(?=[ _-](?:env|environment|db|database|server|cluster|instance|"
    r"stack|project)(?![a-z0-9]))|esting(?= env(?:ironment)?\b)|(?<=--env[= ]t)est|(?<=_env=t)est"
    r"|(?<=\bin t)est(?=\s*(?:$|[.,;:!?)])))"
)
_ENVIRONMENT = re.compile(f"(?:{_ENVIRONMENT_SOURCE})(?![a-z0-9])")
_ENVIRONMENT_ANY_CASE = re.compile(f"(?:{_ENVIRONMENT_SOURCE})(?![a-z0-9])", re.IGNORECASE)


def environments_in(text: str) -> tuple[str, ...]:
    """Normalized environment names ("production", "staging", "development", "test") in order."""
    return tuple(dict.fromkeys(str(match.lastgroup) for match in _environment_matches(text)))


def extract_entities(text: str) -> tuple[str, ...]:
    """Resource ids, paths, hosts and environment names in order of appearance, without repeats.

    URLs contribute their host; an environment word inside a host or path ("staging.pocket…")
    is reported as well, right after the thing that contains it.
    """
    positioned = [
        (match.start(), value)
        for match in _RESOURCE.finditer(text)
        if (value := _resource_value(match)) is not None
    ]
    positioned += [(match.start(), str(match.lastgroup)) for match in _environment_matches(text)]
    positioned.sort(key=lambda item: item[0])  # stable: at equal starts the resource stays first
    return tuple(dict.fromkeys(value for _, value in positioned))


def _environment_matches(text: str) -> Iterator[re.Match[str]]:
    """Environment words, matched on the lowercased text whenever lowering keeps the offsets."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return _ENVIRONMENT.finditer(lowered)
    return _ENVIRONMENT_ANY_CASE.finditer(text)  # rare: "İ" lowers to two code points


def _resource_value(match: re.Match[str]) -> str | None:
    """The entity a ``_RESOURCE`` match names, or None when the candidate is not one."""
    kind, raw = match.lastgroup, match.group()
    if kind == "url":
        return _url_host(raw)
    if kind == "path":
        return _path_value(raw)
    if kind == "prefixed_id" and not any(char.isdigit() for char in raw):
        return None  # "env_file", "db_password": identifiers, not resource ids
    if kind in ("arn", "winpath"):
        return raw.rstrip(_TRAILING_PUNCTUATION) or None
    return raw


def _url_host(url: str) -> str | None:
    authority = url.split("://", 1)[1]
    host = authority.rsplit("@", 1)[-1].rstrip(_TRAILING_PUNCTUATION)
    return host or None


def _path_value(candidate: str) -> str | None:
    """Keep tokens that look like paths: explicit roots, nested relative paths, or file names."""
    path = candidate.rstrip(_TRAILING_PUNCTUATION)
    if path in _IGNORED_PATHS:
        return None
    if path.startswith(_EXPLICIT_PATH_PREFIXES):
        return path if path.strip("/.~") else None
    # One slash alone is usually prose ("and/or", "read/write", "24/7").
    if path.count("/") >= 2 or path.endswith("/") or _FILE_SUFFIX.search(path):
        return path
    return None
