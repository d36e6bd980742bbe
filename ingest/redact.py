"""Secret redaction on the ingest path: credentials never reach the log.

Every string of a record (dict keys and values, at any depth) is scanned before it is appended,
and the value of a field named like a secret is taken whole: a dict member (``"password": ...``)
or a named field (``{"key": "db.password", "value": ...}`` in OTLP attributes, ``{"name":
"DB_PASSWORD", "value": ...}`` in Kubernetes env vars and HAR headers). Each credential is
replaced by ``[REDACTED:<kind>:<hash>]`` where ``<hash>`` is the first 8 hex digits of
HMAC-SHA256(key, secret). The same secret therefore gets the same marker wherever it appears (in
an ``export`` and later in a curl header), so its uses still correlate, while neither the secret
nor an unkeyed (brute-forceable) hash of it is stored.

Why detect-secrets: its plugins carry maintained, reviewed regexes for vendor token formats (AWS,
GitHub, Stripe, Slack, OpenAI, JWT, SendGrid, PyPI, passwords in URLs, PEM key headers) and a
vocabulary of secret-looking variable names. We import those compiled ``denylist`` regexes and
that vocabulary, but not the library's scanner: its per-line plugin dispatch, file-type guessing
and filters cost far too much per string for the ingest hot path. Our own patterns only fill the
gaps the library leaves; each says why it exists.

How a string is scanned, and why not with one big alternation: CPython's ``re`` has no
multi-pattern search, so an alternation of ~30 patterns tries every branch at every position
(measured ~1.3 us per byte). Instead each rule lists *anchors*, short literals that all its
matches contain (``AKIA``, ``ghp_``, ``password`` + ``=``/``:``, ...). One regex pass over the
string finds the anchors; only the rules they name are then run, each compiled on its own (where a
literal prefix or a rare first character makes ``re`` skip ahead fast), and their matches are
merged leftmost-first. Anchors are entered at their rarest character ("pivot"), or at one that
other anchors use already, which keeps the anchor pass near ``re``'s floor for such searches.

The same anchors, written to also match their JSON-escaped form, make ``might_contain_secret``:
one regex search over a record's raw JSON text that is False only if ``redact_value`` on the parsed
record would change nothing, so the ingest path skips the Python deep walk for most records.

Deliberately not caught: secrets with no recognisable shape and no telling name or context
(``--password hunter2``, ``mysql -phunter2``, a bare UUID, Oracle's unquoted ``IDENTIFIED BY
tiger``); values written like a variable reference (``password=$ecret``); secrets split across
strings; PuTTY and SSH2-format keys.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass

from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.basic_auth import (
    RESERVED_CHARACTERS,
    SUB_DELIMITER_CHARACTERS,
    BasicAuthDetector,
)
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.jwt import JwtTokenDetector
from detect_secrets.plugins.keyword import DENYLIST as LIBRARY_KEYWORDS
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.stripe import StripeDetector

REDACTED_PREFIX = "[REDACTED:"
_HASH_HEX_DIGITS = 8
# ASCII: no Unicode case folding (the Kelvin sign is no 'k'), so anchors stay exact supersets.
_FLAGS = re.ASCII


@dataclass(frozen=True)
class _Anchor:
    """A literal that is in a string whenever a rule can match it, plus what must follow it.

    ``literal`` must be found verbatim in raw JSON too: it has no character that JSON escapes
    (quote, backslash, control character; '/' may be written '\\/'), or a second anchor spells
    out the escaped form. ``then`` is a regex that must follow it, written to accept escaped forms
    too (``\\"`` for a quote).
    """

    literal: str
    ignore_case: bool = False
    then: str = ""


@dataclass(frozen=True)
class _Rule:
    """One kind of secret: its regex, the anchors its matches contain, and how to judge a match.

    ``secret_groups`` are the capture groups that can hold the secret, the first one that took
    part in the match does (0: the whole match). A
    ``contextual`` rule finds a value by what surrounds it (``password=``, an ``Authorization``
    header, a URL's userinfo) rather than by its shape: if the value is itself a known token
    format, the marker takes that token's kind, so one secret gets one marker wherever it
    appears. ``judge_value`` additionally drops values that read like code or placeholders.
    """

    kind: str
    regex: re.Pattern[str]
    anchors: tuple[_Anchor, ...] = ()
    secret_groups: tuple[int, ...] = (0,)
    contextual: bool = False
    judge_value: bool = False


def _rule(kind: str, pattern: str, anchors: tuple[_Anchor, ...],
          secret_groups: int | tuple[int, ...] = 0, *, contextual: bool = False,
          judge_value: bool = False) -> _Rule:
    groups = (secret_groups,) if isinstance(secret_groups, int) else secret_groups
    return _Rule(kind, re.compile(pattern, _FLAGS), anchors, groups, contextual, judge_value)


def _anchors(*literals: str, ignore_case: bool = False, then: str = "") -> tuple[_Anchor, ...]:
    return tuple(_Anchor(literal, ignore_case, then) for literal in literals)


# --- pivots: entering a literal at its rarest character --------------------------------------------
# Printable ASCII from rarest to commonest in Claude Code transcripts (byte frequencies).
_RAREST_FIRST = ("?^!$'X@J+KQ&*~WYz#VHF|OM;Z`BG]%N<qAPLDjC[RIES>()TU}={wv7xyk98536/4b.f02hg1_mu-,"
                 "pc:ld\\riaostn\"e ")


def _variants(char: str, ignore_case: bool) -> list[str]:
    return sorted({char.lower(), char.upper()}) if ignore_case else [char]


def _rarity(char: str, ignore_case: bool) -> int:
    ranks = (_RAREST_FIRST.find(v) for v in _variants(char, ignore_case))
    return max(len(_RAREST_FIRST) if rank < 0 else rank for rank in ranks)


def _literal_regex(text: str, ignore_case: bool) -> str:
    return "".join(f"[{''.join(_variants(c, True))}]" if ignore_case and c.lower() != c.upper()
                   else re.escape(c) for c in text)


def _pivot_branches(literal: str, ignore_case: bool, suffix: str,
                    among: Collection[str] | None = None) -> Iterator[tuple[str, str]]:
    """(pivot character, what follows it) pairs matching ``literal`` + ``suffix`` from the pivot.

    The branch consumes the literal's characters after the pivot, then a lookbehind checks the
    whole literal: a search tests only the pivot at most positions instead of the first letter.
    The pivot is the literal's rarest character, or its rarest one ``among`` the given pivots.
    """
    positions = [i for i in range(len(literal))
                 if among is None or set(_variants(literal[i], ignore_case)) <= set(among)]
    pivot = min(positions, key=lambda i: _rarity(literal[i], ignore_case))
    rest = _literal_regex(literal[pivot + 1:], ignore_case)
    branch = f"{rest}(?<={_literal_regex(literal, ignore_case)})" + (f"(?:{suffix})" if suffix else "")
    return ((variant, branch) for variant in _variants(literal[pivot], ignore_case))


def _shared_pivots(literals: Iterable[tuple[str, bool]]) -> frozenset[str]:
    """Pivot characters for a search of many literals: fewer than each literal's rarest.

    ``re`` calls its matcher at every position that holds a pivot character, which costs about as
    much as scanning ~10 bytes; a pivot that is not needed costs that at each of its occurrences.
    Starting from every literal's rarest character, the commonest pivots go while every literal
    still holds one of the others (sk_live_ is entered at 'k', as token is, not at 'v').
    """
    literals = list(dict.fromkeys(literals))
    pivots: set[str] = set()
    for literal, ignore_case in literals:
        pivots.update(_variants(min(literal, key=lambda c: _rarity(c, ignore_case)), ignore_case))
    for pivot in sorted(pivots, key=lambda c: _rarity(c, False), reverse=True):
        others = pivots - {pivot}
        if all(any(set(_variants(c, ignore_case)) <= others for c in literal)
               for literal, ignore_case in literals):
            pivots = others
    return frozenset(pivots)


def _pivot_alternation(branches: Iterable[tuple[str, str]]) -> str:
    """One alternative per pivot character, so ``re`` can skip to the next pivot character."""
    grouped: dict[str, list[str]] = {}
    for pivot, branch in branches:
        grouped.setdefault(pivot, []).append(branch)
    return "(?:" + "|".join(f"{re.escape(pivot)}(?:{'|'.join(dict.fromkeys(alternatives))})"
                            for pivot, alternatives in grouped.items()) + ")"


def _spellings(word: str) -> list[str]:
    """'api_?key' -> api_key, api-key, apikey."""
    parts = word.split("_?")
    joins = itertools.product(("_", "-", ""), repeat=len(parts) - 1)
    return ["".join(itertools.chain.from_iterable(zip(parts, (*seps, ""), strict=True)))
            for seps in joins]


def _name(*words: str) -> str:
    """A regex for names ending in one of ``words`` (any case, any _?), fast to search for."""
    spellings = dict.fromkeys(s for word in words for s in _spellings(word))
    return _pivot_alternation(
        branch for spelling in spellings for branch in _pivot_branches(spelling, True, ""))


def _library(pattern: re.Pattern[str], *, before: str = "", after: str = "") -> str:
    """A detect-secrets regex as embeddable source: its flags inlined, optional guards around it."""
    flags = "".join(letter for flag, letter in
                    ((re.IGNORECASE, "i"), (re.MULTILINE, "m"), (re.DOTALL, "s"), (re.VERBOSE, "x"))
                    if pattern.flags & flag)
    return f"{before}(?{flags}:{pattern.pattern}){after}" if flags else (
        f"{before}(?:{pattern.pattern}){after}")


# A token starts where no letter or digit precedes it: "AKIA..." deep inside a base64 blob is data.
_START = r"(?<![A-Za-z0-9])"
_END = r"(?![A-Za-z0-9])"

# --- PEM private keys ------------------------------------------------------------------------------
# The library only spots the "BEGIN ... PRIVATE KEY" header line; we need the whole block (with real
# newlines or escaped "\n" ones), or, if the text was cut off before the END line, the header and
# the base64 that follows. We reuse its list of key labels, plus PKCS#8 "ENCRYPTED PRIVATE KEY".
_PEM_LABELS = sorted(
    {p.pattern.removeprefix("BEGIN ") for p in PrivateKeyDetector.denylist
     if p.pattern.startswith("BEGIN ")} | {"ENCRYPTED PRIVATE KEY"},
    key=len, reverse=True)
_PEM_LABEL = "(?:" + "|".join(map(re.escape, _PEM_LABELS)) + ")"
# Base64, header lines ("Proc-Type: 4,ENCRYPTED"), whitespace, or newlines written as \n or \\n.
_PEM_BODY_CHAR = r"(?:[A-Za-z0-9+/=:,.\s-]|\\+[rn])"
_PEM_BLOCK = (  # "----" first: a literal prefix lets re skip ahead quickly
    rf"-----?BEGIN {_PEM_LABEL}-----?"
    rf"(?:{_PEM_BODY_CHAR}*?-----?END {_PEM_LABEL}-----?"
    rf"|(?=(?:\s|\\+[rn])*[A-Za-z0-9+/]{{40}}){_PEM_BODY_CHAR}+)")

# --- tokens recognisable by their own shape -------------------------------------------------------
_AWS_ACCESS_KEY, _AWS_QUOTED_SECRET = AWSKeyDetector.denylist
_SLACK_TOKEN, _SLACK_WEBHOOK = SlackDetector.denylist

_TOKEN_RULES = (
    _rule("aws-access-key", _library(_AWS_ACCESS_KEY, before=_START, after=_END),
          _anchors("AKIA", "ASIA", "ABIA", "ACCA", "A3T")),
    # The library pattern stops after 36 characters; the tail takes the rest of longer tokens.
    _rule("github-token", _library(GitHubTokenDetector.denylist[0], before=_START,
                                   after="[A-Za-z0-9_]*"),
          _anchors("ghp_", "gho_", "ghu_", "ghs_", "ghr_")),
    # Fine-grained personal access tokens (2022) postdate the library's pattern.
    _rule("github-token", rf"{_START}github_pat_[A-Za-z0-9_]{{22,}}", _anchors("github_pat_")),
    # Current live keys are ~100 characters; the library pattern covers only the first 24.
    _rule("stripe-key", _library(StripeDetector.denylist[0], before=_START, after="[0-9A-Za-z]*"),
          _anchors("sk_live_", "rk_live_")),
    # Test-mode keys and webhook signing secrets are not in the library.
    _rule("stripe-key", rf"{_START}(?:[rs]k_test_[0-9A-Za-z]{{24,}}|whsec_[A-Za-z0-9+/=]{{24,}})",
          _anchors("sk_test_", "rk_test_", "whsec_")),
    _rule("slack-token", _library(_SLACK_TOKEN, before=_START), _anchors("xox", ignore_case=True)),
    _rule("slack-webhook", _library(_SLACK_WEBHOOK),
          _anchors("hooks.slack.com", ignore_case=True)),
    # Anthropic keys (sk-ant-api03-..., sk-ant-oat01-...) are not in the library.
    _rule("anthropic-key", rf"{_START}sk-ant-[A-Za-z0-9_-]{{20,}}", _anchors("sk-ant-")),
    _rule("openai-key", _library(OpenAIDetector.denylist[0], before=_START,
                                 after="[A-Za-z0-9_-]*"), _anchors("sk-")),
    # Newer OpenAI keys (sk-proj-..., sk-svcacct-...) need not contain the T3BlbkFJ marker the
    # library relies on. A run of 20 letters/digits tells a key from kebab-case words ("sk-...").
    _rule("openai-key", rf"{_START}sk-(?!ant-)[A-Za-z0-9_-]*?[A-Za-z0-9]{{20}}[A-Za-z0-9_-]*",
          _anchors("sk-")),
    # The library's lazy tail stops before the signature; ours takes it too.
    _rule("jwt", _library(JwtTokenDetector.denylist[0], before=_START,
                          after=r"[A-Za-z0-9_\-+/=]*"), _anchors("eyJ")),
    _rule("sendgrid-key", _library(SendGridDetector.denylist[0], before=_START),
          _anchors("SG.")),
    *(_rule("pypi-token", _library(p, before=_START), _anchors("pypi-"))
      for p in PypiTokenDetector.denylist),
    # Railway's prefixed API tokens (rw_...); the library knows nothing of Railway.
    _rule("railway-token", rf"{_START}rw_[A-Za-z0-9]{{16,}}{_END}", _anchors("rw_")),
)

# --- secrets recognisable by their context --------------------------------------------------------
_URL_PASSWORD_CHAR = "[^" + re.escape(RESERVED_CHARACTERS + SUB_DELIMITER_CHARACTERS) + r"\s]"
# "://user:pass@", also as raw JSON from producers that escape slashes (":\/\/"). Entered at
# '/' (pivot), which is rarer than ':'.
_URL_USERINFO = _anchors("://", ":\\/\\/", then=r"[^\s/@]*@")
# Between a header's name and its value: ": ", "=", or '", "' as in headers.set("Authorization", ..).
_HEADER_SEPARATOR = r"""\\?["']?[ \t]*[:=,][ \t]*\\?["']?[ \t]*"""
# Between an environment variable's name and its value.
_ENV_ASSIGNS = r"""\\?["']?[ \t]*[:=][ \t]*\\?["']?"""
# A header or env value. '$', '{' and '<' are excluded, so "Bearer $RAILWAY_API_TOKEN",
# "Bearer ${TOKEN}" and "Bearer <token>" (references and placeholders) never match.
_OPAQUE_TOKEN = r"([A-Za-z0-9._~+/=-]{8,}+)"
_AUTHORIZATION = _anchors("authorization", ignore_case=True)

_CONTEXT_RULES = (
    # The library finds AWS secret keys only in quotes; env files and ~/.aws/credentials have none.
    _rule("aws-secret-key", rf"{_name('aws_?secret_?access_?key')}{_ENV_ASSIGNS}"
          r"([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])", _anchors("aws", ignore_case=True), 1),
    _rule("aws-secret-key", _library(_AWS_QUOTED_SECRET), _anchors("aws", ignore_case=True), 1),
    # Only the password is replaced: user and host stay for correlation. The library's character
    # class excludes '*' and '$', so "pocket:********@" (already masked) and "$PASS" stay.
    _rule("url-password", _library(BasicAuthDetector.denylist[0]), _URL_USERINFO, 1,
          contextual=True),
    # redis://:password@host has an empty user, which the library's pattern does not allow.
    _rule("url-password", f"://:({_URL_PASSWORD_CHAR}+)@", _URL_USERINFO, 1, contextual=True),
    # No detect-secrets plugin looks at HTTP headers (this also covers Proxy-Authorization).
    _rule("bearer-token", rf"{_name('authorization')}{_HEADER_SEPARATOR}(?i:bearer|token)[ \t]+"
          rf"{_OPAQUE_TOKEN}", _AUTHORIZATION, 1, contextual=True, judge_value=True),
    _rule("basic-auth", rf"{_name('authorization')}{_HEADER_SEPARATOR}(?i:basic)[ \t]+"
          r"([A-Za-z0-9+/=]{8,}+)", _AUTHORIZATION, 1, contextual=True, judge_value=True),
    # Railway project/account tokens are bare UUIDs: only the variable or header name gives them
    # away (RAILWAY_TOKEN, RAILWAY_API_TOKEN, Project-Access-Token).
    _rule("railway-token", rf"(?<![A-Za-z0-9_])RAILWAY_[A-Z_]*TOKEN{_ENV_ASSIGNS}"
          r"([A-Za-z0-9_-]{8,}+)", _anchors("RAILWAY_"), 1, contextual=True, judge_value=True),
    _rule("railway-token", rf"{_name('project-access-token')}{_HEADER_SEPARATOR}"
          r"([A-Za-z0-9_-]{8,}+)", _anchors("project-access-token", ignore_case=True), 1,
          contextual=True, judge_value=True),
)

# --- SQL statements that set a password -----------------------------------------------------------
# pgAudit (and MySQL's general log) records role changes verbatim: CREATE|ALTER ROLE|USER ...
# [ENCRYPTED] PASSWORD 'pw' (also in CREATE USER MAPPING's OPTIONS), MySQL's IDENTIFIED [WITH
# plugin] BY|AS 'pw' and SET PASSWORD [FOR user] = ['pw' | PASSWORD('pw')]. No detect-secrets plugin
# reads SQL, and no '=' or ':' follows the name. Only the string's content is replaced (the quotes
# and the statement stay readable); PASSWORD NULL and PASSWORD '' are no secrets.
# The string is written as is ('pw'; "pw" in MySQL and Oracle) or inside another quoted string:
# its quotes doubled (dynamic SQL: EXECUTE '... PASSWORD ''pw''', a CSV field: ""pw"") or escaped
# (JSON text: \"pw\"); a quote inside it is doubled once more. Backslashes are characters, as in
# PostgreSQL's standard strings, but not in E'...' (in MySQL's strings a \' ends the match early).
_NOT_A_SQL_SECRET = r"""(?!\[REDACTED|\*+(?:['"]|\\"))"""  # a marker, or a mask: '****'
_SQL_STRING = (
    r"(?:"
    rf"[Ee]'{_NOT_A_SQL_SECRET}((?:[^'\n\\]|''|\\[^\n])+)'"  # E'...' has backslash escapes
    r"|[Ee]?(?:"
    rf"''(?!\s){_NOT_A_SQL_SECRET}((?:[^'\n]|'''')+)''"  # (?!\s): not '' (empty) and more SQL
    rf"|'{_NOT_A_SQL_SECRET}((?:[^'\n]|'')+)'"
    rf'|""(?!\s){_NOT_A_SQL_SECRET}((?:[^"\n]|"""")+)""'
    rf'|"{_NOT_A_SQL_SECRET}((?:[^"\n]|"")+)"'
    rf'|\\"{_NOT_A_SQL_SECRET}((?:[^"\n\\]|\\[^"\n])+)\\"'
    "))")
_SQL_STRING_GROUPS = (1, 2, 3, 4, 5, 6)
_SQL_WORD_START = "(?<![A-Za-z0-9_])"  # not mysql_native_password 'x'
# SQL whitespace as raw JSON may write it: as is, or escaped (\n, \t, ...; others are \u escapes).
_SQL_GAP_IN_RAW_JSON = r"(?:\s|\\[nrtf])"
_SQL_RULES = (
    _rule("sql-password", rf"{_SQL_WORD_START}(?i:password)\s+{_SQL_STRING}",
          _anchors("password", ignore_case=True,
                   then=rf"""{_SQL_GAP_IN_RAW_JSON}+[Ee]?\\*['"]"""),
          _SQL_STRING_GROUPS, contextual=True),
    _rule("sql-password", rf"{_SQL_WORD_START}(?i:identified)\s+(?:(?i:with)\s+\S+\s+)?"
          rf"(?i:by|as)\s+{_SQL_STRING}",
          _anchors("identified", ignore_case=True,
                   then=rf"{_SQL_GAP_IN_RAW_JSON}+(?i:with|by|as){_SQL_GAP_IN_RAW_JSON}"),
          _SQL_STRING_GROUPS, contextual=True),
    _rule("sql-password", rf"{_SQL_WORD_START}(?i:set)\s+(?i:password)(?:\s+(?i:for)\s+[^=;\n]+?)?"
          rf"\s*=\s*(?:(?i:(?:old_)?password)\s*\(\s*)?{_SQL_STRING}",
          _anchors("password", ignore_case=True,
                   then=rf"{_SQL_GAP_IN_RAW_JSON}*=|{_SQL_GAP_IN_RAW_JSON}+(?i:for)"
                        rf"{_SQL_GAP_IN_RAW_JSON}"),
          _SQL_STRING_GROUPS, contextual=True),
)

# --- generic name = value assignments, and dict keys named like secrets ---------------------------
# detect-secrets' vocabulary of secret-looking names ("api_?key", "db_?pass", "secret", ...), minus
# "pwd" (in agent transcripts that is the working directory: PWD=/home/...) and non-ASCII
# spellings (matching is ASCII-only), plus names it lacks that agents' env vars and headers use.
_KEYWORDS = (*(word for word in LIBRARY_KEYWORDS if word != "pwd" and word.isascii()),
             "token", "access_?key", "secret_?key", "secret_?key_?base", "passphrase",
             "authorization")
_PASSWORD_KEYWORDS = tuple(w for w in _KEYWORDS if "pass" in w or w.startswith("contrase"))
_OTHER_KEYWORDS = tuple(w for w in _KEYWORDS if w not in _PASSWORD_KEYWORDS)

# Name-value separators: = := => or :, after an optional (maybe escaped) closing quote.
_ASSIGNS = r"""\\?["']?[ \t]*(?::=|=>|[:=])[ \t]*\\?["'`]?"""
# At least 4 characters. The first is none of $ % { < ( [ * ! # @ & = -: those start variable
# references ($TOKEN, ${X}, %(pw)s, {{ x }}, <your-key>, #{x}), masks (****), flags, or a PEM
# header (which the private-key rule takes whole). Inside quotes the value runs to the quote
# ("Tr0ub4dor&3"); unquoted it stops at shell and code punctuation, and a value followed by "("
# is a function call, not a secret.
_VALUE_START = r"""[^\s"'`,;&|<>(){}\[\]\\$%*!=#@-]"""
_VALUE = (rf"""(?:(?<=["'`])({_VALUE_START}[^\s"'`\\]{{3,}}+)"""
          rf"""|({_VALUE_START}[^\s"'`,;&|<>(){{}}\[\]\\]{{3,}}+)(?!\())""")
# A separator in raw JSON: a key's closing quote, JSON whitespace, ':'; or, inside a string, an
# optional (escaped) quote, spaces or \t, then '=' or ':'.
_ASSIGNS_IN_RAW_JSON = r"""(?:\\*["'])?(?:\s|\\t)*[:=]"""
# The end of a string that is a member's value, as the name of a named field is in raw JSON
# ({"key": "db.password", "value": ...}, see _NAMED_FIELDS).
_NAME_ENDS_IN_RAW_JSON = r'"\s*[,}]'


def _keyword_anchors(words: Iterable[str]) -> tuple[_Anchor, ...]:
    """A name ends in one of its word's spellings, so in the word's last part (api_?key -> key),
    which a separator follows. A last part that is no keyword itself ("key", "pass", "base") must
    end a spelling ('api_key', not '"key"' or 'thread_key'), checked by lookbehinds."""
    spellings_of_tail: dict[str, list[str]] = {}
    for word in words:
        spellings_of_tail.setdefault(word.split("_?")[-1], []).extend(_spellings(word))
    follows = f"(?:{_ASSIGNS_IN_RAW_JSON}|{_NAME_ENDS_IN_RAW_JSON})"
    return tuple(
        _Anchor(tail, True, follows if tail in spellings else "(?:" + "|".join(
            f"(?<={_literal_regex(spelling, True)})" for spelling in spellings) + ")" + follows)
        for tail, spellings in spellings_of_tail.items())


_KEYWORD_RULES = (
    _rule("password", _name(*_PASSWORD_KEYWORDS) + _ASSIGNS + _VALUE,
          _keyword_anchors(_PASSWORD_KEYWORDS), (1, 2), contextual=True, judge_value=True),
    _rule("keyword", _name(*_OTHER_KEYWORDS) + _ASSIGNS + _VALUE,
          _keyword_anchors(_OTHER_KEYWORDS), (1, 2), contextual=True, judge_value=True),
)
# A dict key "named like a secret" ends with one of the words (password, accessToken, X-Api-Key);
# the keyword rules' anchors cover its raw JSON form ('...password": '). Matched reversed from the
# start: a search for "(?:...)\Z" would try every position of the name.
_SENSITIVE_NAME_REVERSED = re.compile(
    "|".join(re.escape(s[::-1]) for w in _KEYWORDS for s in _spellings(w)), re.IGNORECASE | _FLAGS)


def _named_like_secret(name: str) -> bool:
    """Whether ``name`` ends in a secret's name (not "password\n": its raw JSON has no anchor)."""
    return _SENSITIVE_NAME_REVERSED.match(name[::-1]) is not None

# A marker already in the text ([REDACTED:...], or an upstream sanitizer's [REDACTED_SIGNATURE]).
# It is always run and wins over matches starting inside it, so redacting twice changes nothing.
_MARKER_RULE = _rule("", r"\[REDACTED[^\]\s]{0,80}\]", ())
_RULES = (_MARKER_RULE, _rule("private-key", _PEM_BLOCK, _anchors("PRIVATE KEY")),
          *_TOKEN_RULES, *_CONTEXT_RULES, *_SQL_RULES, *_KEYWORD_RULES)
_MARKER_INDEX = _RULES.index(_MARKER_RULE)


def _whole_token_regex(rules: Iterable[_Rule]) -> tuple[re.Pattern[str], dict[int, str]]:
    """An alternation of token rules, each an outer group: ``lastindex`` tells the kind."""
    sources: list[str] = []
    kind_at_group: dict[int, str] = {}
    group = 1
    for rule in rules:
        sources.append(f"({rule.regex.pattern})")
        kind_at_group[group] = rule.kind
        group += 1 + rule.regex.groups
    return re.compile("|".join(sources), _FLAGS), kind_at_group


_WHOLE_TOKEN, _TOKEN_KIND_AT_GROUP = _whole_token_regex(_TOKEN_RULES)

# --- anchor searches -------------------------------------------------------------------------------
# Any \uXXXX escape in raw JSON could be hiding a character of an anchor ("\u0041KIA...").
_UNICODE_ESCAPE = _Anchor("\\u", then="[0-9a-fA-F]{4}")
_ALL_ANCHORS = [anchor for rule in _RULES for anchor in rule.anchors]
_PIVOTS = _shared_pivots((anchor.literal, anchor.ignore_case)
                         for anchor in [*_ALL_ANCHORS, _UNICODE_ESCAPE])
_PREFILTER_SOURCE = _pivot_alternation(
    branch for anchor in [*_ALL_ANCHORS, _UNICODE_ESCAPE]
    for branch in _pivot_branches(anchor.literal, anchor.ignore_case, anchor.then, _PIVOTS))
_PREFILTER_TEXT = re.compile(_PREFILTER_SOURCE, _FLAGS)
_PREFILTER_BYTES = re.compile(_PREFILTER_SOURCE.encode("ascii"))


def _overlaps(first: str, second: str, fold: bool) -> bool:
    """Whether one literal contains the other, so a hit on either may stand for both."""
    if fold:
        first, second = first.lower(), second.lower()
    return first in second or second in first


def _dispatch() -> tuple[re.Pattern[str], dict[str, frozenset[int]]]:
    """A search whose hits name the rules that can match: one tagged branch per anchor literal.

    A hit consumes only its literal (``then`` is a lookahead). At one position the search reports
    a single branch, so a literal also triggers the rules of literals it contains or is contained
    in: "sk-" those of "sk-ant-", "project-access-token" those of "token".
    """
    rules_of: dict[tuple[str, bool], set[int]] = {}
    thens: dict[tuple[str, bool], set[str]] = {}
    for index, rule in enumerate(_RULES):
        for anchor in rule.anchors:
            rules_of.setdefault((anchor.literal, anchor.ignore_case), set()).add(index)
            thens.setdefault((anchor.literal, anchor.ignore_case), set()).add(anchor.then)
    branches: list[tuple[str, str]] = []
    rules_of_tag: dict[str, frozenset[int]] = {}
    for number, (literal, ignore_case) in enumerate(sorted(rules_of, key=lambda k: -len(k[0]))):
        then = "" if "" in thens[literal, ignore_case] else (
            "(?=" + "|".join(sorted(thens[literal, ignore_case])) + ")")
        rules = frozenset(itertools.chain.from_iterable(
            indices for (other, other_case), indices in rules_of.items()
            if _overlaps(other, literal, fold=ignore_case or other_case)))
        # One tag per pivot variant ('k' and 'K'): a group name may occur only once.
        branches_of_literal = _pivot_branches(literal, ignore_case, then, _PIVOTS)
        for variant, (pivot, branch) in enumerate(branches_of_literal):
            tag = f"t{number}_{variant}"
            branches.append((pivot, f"{branch}(?P<{tag}>)"))
            rules_of_tag[tag] = rules
    return re.compile(_pivot_alternation(branches), _FLAGS), rules_of_tag


_DISPATCH, _RULES_OF_TAG = _dispatch()

# --- judging values found by context --------------------------------------------------------------
_PLACEHOLDERS = frozenset({
    "none", "null", "nil", "true", "false", "undefined", "string", "str", "bytes", "required",
    "optional", "redacted", "secret", "password", "token", "bearer", "basic"})
_REPEATED_CHARACTER = re.compile(r"(.)\1*")  # ********, xxxxxxxx
_WORD = r"(?:[a-z]+|[A-Z]+|(?:[A-Z]?[a-z]{2,})+)"
# Variable, type and attribute names: anthropic_api_key, csrfToken, SecretStr, os.environ, API_KEY.
_IDENTIFIER_OF_WORDS = re.compile(rf"{_WORD}(?:[._-]{_WORD})*")
_DOTTED_NAME = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+", _FLAGS)  # self.token2, cfg.v1
_PATH = re.compile(r"(?:~|\.{1,2})?/[\w./-]*", _FLAGS)  # password_file-like values
# A dict value that only refers to a secret: $TOKEN, ${TOKEN}, "Bearer $TOKEN", $(TOKEN) (a
# Kubernetes env var naming another, or a shell command's output), or a mask.
_REFERENCE_OR_MASK = re.compile(
    r"(?:(?i:bearer|token|basic)[ \t]+)?"
    r"(?:\$[A-Za-z_][A-Za-z0-9_]*|\$\{[^{}]*\}|\$\([^()]*\)|\*+)", _FLAGS)


def _looks_like_secret(value: str, quoted: bool) -> bool:
    """False for placeholders and, unless quoted (a literal), for names and paths from code."""
    if value.lower() in _PLACEHOLDERS or _REPEATED_CHARACTER.fullmatch(value):
        return False
    if quoted:
        return True
    return not (_IDENTIFIER_OF_WORDS.fullmatch(value) or _DOTTED_NAME.fullmatch(value)
                or _PATH.fullmatch(value))


def _token_kind(value: str) -> str | None:
    """The kind of a known token format if ``value`` is exactly such a token."""
    match = _WHOLE_TOKEN.fullmatch(value)
    return None if match is None else _TOKEN_KIND_AT_GROUP[match.lastindex or 0]


def _judge(rule: _Rule, secret: str, quoted: bool) -> str | None:
    """The marker kind for a rule's match, or None when the match is not a secret after all."""
    if not rule.contextual:
        return rule.kind
    token_kind = _token_kind(secret)
    if token_kind is not None:
        return token_kind
    # A value holding a known token is a secret whatever it looks like; were it dropped, the token
    # alone would be redacted, and on a second pass the shortened value might be judged otherwise.
    if (rule.judge_value and _WHOLE_TOKEN.search(secret) is None
            and not _looks_like_secret(secret, quoted)):
        return None
    return rule.kind


def _is_secret_value(value: str) -> bool:
    """Whether the value of a field named like a secret is one (not empty, a reference or mask)."""
    return (bool(value) and not value.startswith("[REDACTED")
            and _REFERENCE_OR_MASK.fullmatch(value) is None)


def _is_secret_field(key: str, value: str) -> bool:
    return _named_like_secret(key) and _is_secret_value(value)


# Objects that name a field in one member and hold its value in another: OTLP attributes
# {"key": "db.password", "value": {"stringValue": ...}}, HTTP headers in HAR and Kubernetes env
# vars {"name": "DB_PASSWORD", "value": ...}, AWS tags {"Key": ..., "Value": ...}. When the name
# is named like a secret, the value's strings are the secret (the dict-key rule, one level down).
_NAMED_FIELDS = (("key", "value"), ("name", "value"), ("Key", "Value"), ("Name", "Value"))
# The members of an OTLP AnyValue that hold its strings (kvlistValue holds named fields itself).
_ANY_VALUE_STRINGS = frozenset({"stringValue", "bytesValue", "arrayValue", "values"})


def _named_value_member(mapping: dict[object, object]) -> str | None:
    """The member holding the value of the field ``mapping`` names, if named like a secret."""
    for name_member, value_member in _NAMED_FIELDS:
        name = mapping.get(name_member)
        if isinstance(name, str) and value_member in mapping and _named_like_secret(name):
            return value_member
    return None


def _triggered_rules(text: str) -> set[int]:
    """Indices of the rules whose anchors occur in ``text``."""
    triggered: set[int] = set()
    for hit in _DISPATCH.finditer(text):
        triggered |= _RULES_OF_TAG[hit.lastgroup or ""]
    return triggered


class Redactor:
    """Replaces credentials by ``[REDACTED:<kind>:<hmac8>]`` markers keyed with ``key``."""

    def __init__(self, key: bytes) -> None:
        if not key:
            raise ValueError("the redaction key must not be empty")
        self._key = bytes(key)

    def redact_text(self, text: str) -> str:
        """``text`` with every secret in it replaced; ``text`` itself if it has none."""
        triggered = _triggered_rules(text)
        if not triggered:
            return text
        return self._redact_with(text, sorted(triggered | {_MARKER_INDEX}))

    def redact_value(self, value: object) -> object:
        """A copy of a JSON-like value with secrets replaced; ``value`` itself if it has none."""
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, dict):
            return self._redact_dict(value)
        if isinstance(value, list):
            return self._redact_list(value)
        return value

    def might_contain_secret(self, raw: str | bytes) -> bool:
        """False only if ``redact_value`` of the JSON parsed from ``raw`` would change nothing."""
        if isinstance(raw, str):
            return _PREFILTER_TEXT.search(raw) is not None
        return _PREFILTER_BYTES.search(raw) is not None

    def _redact_with(self, text: str, rule_indices: Iterable[int]) -> str:
        """Runs the given rules over ``text`` like one alternation would: the leftmost match wins
        (then the earlier rule), and every rule resumes its search after an accepted match."""
        upcoming = {index: _RULES[index].regex.search(text) for index in rule_indices}
        pieces: list[str] = []
        end = 0
        while candidates := [(m.start(), i, m) for i, m in upcoming.items() if m is not None]:
            _, index, match = min(candidates, key=lambda candidate: candidate[:2])
            replacement = self._replacement(_RULES[index], match)
            if replacement is None:  # not a secret: this rule moves on, the others are unaffected
                upcoming[index] = _RULES[index].regex.search(text, match.end())
                continue
            pieces += (text[end:match.start()], replacement)
            end = match.end()
            for i, other in upcoming.items():
                if other is not None and other.start() < end:
                    upcoming[i] = _RULES[i].regex.search(text, end)
        redacted = "".join(pieces) + text[end:]
        return text if redacted == text else redacted

    def _replacement(self, rule: _Rule, match: re.Match[str]) -> str | None:
        """The match with its secret replaced by a marker; None if it holds no secret."""
        if rule is _MARKER_RULE:
            return match.group()  # kept as is, and nothing may start inside it
        text = match.string
        start, end = next(span for span in map(match.span, rule.secret_groups) if span[0] >= 0)
        kind = _judge(rule, text[start:end], quoted=start > 0 and text[start - 1] in "\"'`")
        if kind is None:
            return None
        return text[match.start():start] + self._marker(kind, text[start:end]) + (
            text[end:match.end()])

    def _marker(self, kind: str, secret: str) -> str:
        # surrogatepass: JSON may carry lone surrogates ("\ud800"), which strict UTF-8 rejects.
        digest = hmac.new(self._key, secret.encode("utf-8", "surrogatepass"), hashlib.sha256)
        return f"{REDACTED_PREFIX}{kind}:{digest.hexdigest()[:_HASH_HEX_DIGITS]}]"

    def _redact_named_value(self, value: object) -> object:
        """The value of a named field named like a secret: each string in it is replaced whole."""
        if isinstance(value, str):
            return self._marker("keyword", value) if _is_secret_value(value) else (
                self.redact_text(value))
        if isinstance(value, list):
            return self._redact_list(value, named=True)
        if isinstance(value, dict):
            return self._redact_dict(value, named=True)
        return value

    def _redact_list(self, items: list[object], *, named: bool = False) -> list[object]:
        redact = self._redact_named_value if named else self.redact_value
        redacted = [redact(item) for item in items]
        changed = any(new is not old for new, old in zip(redacted, items, strict=True))
        return redacted if changed else items

    def _redact_dict(self, mapping: dict[object, object], *, named: bool = False
                     ) -> dict[object, object]:
        """``named``: ``mapping`` is the value of a named field named like a secret (an AnyValue)."""
        redacted: dict[object, object] = {}
        changed = False
        value_member = _named_value_member(mapping)
        for key, item in mapping.items():
            new_key = self.redact_text(key) if isinstance(key, str) else key
            if key == value_member or (named and key in _ANY_VALUE_STRINGS):
                new_item = self._redact_named_value(item)
            elif isinstance(key, str) and isinstance(item, str) and _is_secret_field(key, item):
                new_item = self._marker("keyword", item)
            else:
                new_item = self.redact_value(item)
            changed = changed or new_key is not key or new_item is not item
            redacted[new_key] = new_item
        return redacted if changed else mapping
