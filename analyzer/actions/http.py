"""HTTP and GraphQL: ``curl``, ``wget``, HTTPie, and the GraphQL operations their bodies carry."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources

from analyzer.actions.kinds import _SEVERITY, HTTP, IRREVERSIBLE, QUERY, RECOVERABLE
from analyzer.actions.verdicts import (
    _changes,
    _destroys,
    _Handler,
    _inspects,
    _names,
    _verb,
    _Verdict,
    _words,
)
from analyzer.nodes import Reversibility
from analyzer.shell import Command

_URL_HOST = re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://(?:[^@/\s'\"]*@)?([^/:?#\s'\"\[\]]+)")
_SINKS = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "-", "NUL", "nul", "$null",
                    "/dev/fd/1", "/dev/fd/2"})
_CURL_SHORT_VALUES = frozenset("XHdoFuAebcwmTxKrEY:")
_CURL_LONG_VALUES = frozenset({
    "--request", "--header", "--data", "--data-raw", "--data-binary", "--data-ascii", "--data-urlencode",
    "--json", "--form", "--form-string", "--output", "--user", "--user-agent", "--referer", "--cookie",
    "--cookie-jar", "--write-out", "--max-time", "--connect-timeout", "--url", "--upload-file", "--proxy",
    "--config", "--retry", "--cacert", "--cert", "--key", "--range", "--resolve", "--oauth2-bearer",
    "--aws-sigv4", "--variable", "--retry-delay", "--retry-max-time", "--limit-rate", "--interface"})
_CURL_SHORT_NAMES = {"-X": "--request", "-H": "--header", "-d": "--data", "-F": "--form", "-o": "--output",
                     "-u": "--user", "-T": "--upload-file", "-w": "--write-out", "-b": "--cookie"}
_SECRET_HEADER = re.compile(r"(?i)^\s*(authorization|proxy-authorization|[\w-]*(?:token|api-?key|secret)"
                            r"[\w-]*)\s*:")


@dataclass(slots=True)
class _Request:
    method: str = ""
    urls: list[str] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    data: list[str] = field(default_factory=list)
    writes_file: bool = False
    head: bool = False
    get: bool = False


def _url_hosts(words: Iterable[str]) -> list[str]:
    return [host for word in words if "://" in word for host in _URL_HOST.findall(word)]


def _curl_request(argv: Sequence[str]) -> _Request:
    request = _Request()
    index = 1
    while index < len(argv):
        word = argv[index]
        name, value, consumed = _curl_option(argv, index)
        if name is None:
            request.urls.append(word)
        else:
            _curl_apply(request, name, value)
        index += consumed
    return request


def _curl_option(argv: Sequence[str], index: int) -> tuple[str | None, str, int]:
    """(long option name, value, words consumed); name None for a URL word."""
    word = argv[index]
    nxt = argv[index + 1] if index + 1 < len(argv) else ""
    if word.startswith("--"):
        name, equals, value = word.partition("=")
        if name in _CURL_LONG_VALUES and not equals:
            return name, nxt, 2
        return name, value, 1
    if word.startswith("-") and len(word) > 1:
        for position, letter in enumerate(word[1:], start=1):
            if letter in _CURL_SHORT_VALUES:
                name = _CURL_SHORT_NAMES.get(f"-{letter}", f"-{letter}")
                attached = word[position + 1:]
                return (name, attached, 1) if attached else (name, nxt, 2)
            if letter in "IGO":
                return {"I": "--head", "G": "--get", "O": "--remote-name"}[letter], "", 1
        return word, "", 1
    return None, "", 1


def _curl_apply(request: _Request, name: str, value: str) -> None:
    if name == "--request":
        request.method = value.upper()
    elif name == "--header":
        request.headers.append(value)
    elif name.startswith("--data") or name in ("--json", "--form", "--form-string"):
        request.data.append(value)
    elif name == "--upload-file":
        request.method = request.method or "PUT"
    elif name == "--url":
        request.urls.append(value)
    elif name == "--output":
        request.writes_file = request.writes_file or value not in _SINKS
    elif name == "--remote-name":
        request.writes_file = True
    elif name == "--head":
        request.head = True
    elif name == "--get":
        request.get = True


def _curl(command: Command) -> _Verdict:
    request = _curl_request(command.argv)
    if request.data and any(data.startswith("@-") for data in request.data) and command.stdin:
        request.data.append(command.stdin)
    implied = "HEAD" if request.head else "GET" if request.get or not request.data else "POST"
    method = request.method or implied
    return _http_verdict(command, request, method, "curl")


def _http_verdict(command: Command, request: _Request, method: str, client: str) -> _Verdict:
    hosts = _url_hosts(request.urls)
    credentials = tuple(f"header:{match.group(1)}" for header in request.headers
                        if (match := _SECRET_HEADER.match(header)) and "$" not in header)  # literal secret
    graphql = _graphql_request(request) if request.data else None
    if graphql is not None:
        verdict = _graphql_verdict(command.argv, graphql, hosts, client)
    elif method == "DELETE":
        verdict = _destroys(command.argv, HTTP, "HTTP DELETE", [*request.urls, *hosts], IRREVERSIBLE,
                            f"deletes {_names(request.urls)} (HTTP DELETE via {client})", hints=hosts)
    elif method in ("GET", "HEAD", "OPTIONS"):
        verdict = _inspects(command.argv, HTTP, QUERY, f"HTTP {method}", request.urls,
                            f"requests {_names(request.urls)} (HTTP {method} via {client})", hints=hosts,
                            mutates=request.writes_file)
    else:
        verdict = _changes(command.argv, HTTP, f"HTTP {method}", request.urls,
                           f"sends HTTP {method} to {_names(request.urls)} via {client}", hints=hosts)
    return replace(verdict, credentials=verdict.credentials + credentials)


def _wget(command: Command) -> _Verdict:
    request = _Request(writes_file=True)
    argv = command.argv
    index = 1
    while index < len(argv):
        word = argv[index]
        name, equals, value = word.partition("=")
        nxt = argv[index + 1] if index + 1 < len(argv) else ""
        if name in ("--method", "--post-data", "--body-data", "--header", "--output-document") and not equals:
            value, index = nxt, index + 1
        if name == "--method":
            request.method = value.upper()
        elif name in ("--post-data", "--body-data", "--post-file"):
            request.data.append(value)
        elif name == "--header":
            request.headers.append(value)
        elif name == "--spider" or (name == "--output-document" and value in _SINKS):
            request.writes_file = False
        elif word.startswith("-") and not word.startswith("--") and "O" in word:
            attached = word.split("O", 1)[1]
            target = attached or nxt
            index += 0 if attached else 1
            request.writes_file = target not in _SINKS
        elif not word.startswith("-"):
            request.urls.append(word)
        index += 1
    method = request.method or ("POST" if request.data else "GET")
    return _http_verdict(command, request, method, "wget")


_HTTPIE_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
_HTTPIE_ITEM = re.compile(r"^([\w.\[\]-]+)(:=|==|=|:)(.*)$", re.S)


def _httpie(command: Command) -> _Verdict:
    words = [word for word in command.argv[1:] if not word.startswith("-")]
    request = _Request()
    if words and words[0].upper() in _HTTPIE_METHODS and words[0].isupper():
        request.method = words.pop(0)
    if words:
        url = words.pop(0)
        request.urls.append(url if "://" in url else f"http://{url.lstrip(':')}")
    fields: dict[str, object] = {}
    for item in words:
        match = _HTTPIE_ITEM.match(item)
        if match is None:
            continue
        key, separator, value = match.groups()
        if separator == ":":
            request.headers.append(f"{key}: {value}")
        elif separator in ("=", ":="):
            fields[key] = value
    if fields:
        request.data.append(json.dumps(fields))
    method = request.method or ("POST" if fields else "GET")
    return _http_verdict(command, request, method, command.program)


# GraphQL -------------------------------------------------------------------------------------

_GQL_TOKEN = re.compile(r'"""[\s\S]*?"""|"(?:[^"\\]|\\.)*"|\.\.\.|\$?[A-Za-z_]\w*|[{}()\[\]:,!=@]|#[^\n]*|'
                        r'-?\d[\w.+-]*')
_DESTRUCTIVE_VERBS = {"delete": IRREVERSIBLE, "destroy": IRREVERSIBLE, "purge": IRREVERSIBLE,
                      "wipe": IRREVERSIBLE, "drop": IRREVERSIBLE, "truncate": IRREVERSIBLE,
                      "erase": IRREVERSIBLE, "terminate": IRREVERSIBLE, "remove": RECOVERABLE,
                      "reset": RECOVERABLE}
_NOT_DESTRUCTIVE_ENDINGS = frozenset({"cancel", "undo", "preview", "check", "status", "validate", "estimate",
                                      "restore", "recover", "dry", "can"})


@dataclass(frozen=True, slots=True)
class _GraphQL:
    kind: str  # "query" | "mutation" | "subscription"
    fields: tuple[str, ...]
    literals: tuple[str, ...]  # string arguments and referenced variable values


def _destructive_name(name: str) -> Reversibility | None:
    """``volumeDelete``, ``deleteUser``, ``projectScheduleDeleteForce`` are destructive;
    ``projectScheduleDeleteCancel`` is not."""
    words = [word.lower() for word in _words(name)]
    if not words or words[-1] in _NOT_DESTRUCTIVE_ENDINGS:
        return None
    found = [_DESTRUCTIVE_VERBS[word] for word in words if word in _DESTRUCTIVE_VERBS]
    return max(found, key=_SEVERITY.__getitem__) if found else None


@cache
def _railway_operations() -> dict[str, dict[str, list[str]]]:
    """Railway's GraphQL operations (MIT, see data/LICENSE-railway): name → argument names."""
    text = resources.files("analyzer.data").joinpath("railway_operations.json").read_text("utf-8")
    data = json.loads(text)
    return {"mutation": data["mutation"], "query": data["query"]}


_GRAPHQL_START = re.compile(r"\s*(mutation|query)\b\s*[\w({]")


def _graphql_request(request: _Request) -> _GraphQL | None:
    for data in request.data:
        body = _json_object(data)
        document = body.get("query") if body is not None else None
        if isinstance(document, str):
            return _parse_graphql(document, body.get("variables") if body is not None else None)
        if body is None and _GRAPHQL_START.match(data):
            return _parse_graphql(data, None)
    return None


def _json_object(text: str) -> dict[str, object] | None:
    if not text.lstrip().startswith("{"):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _parse_graphql(document: str, variables: object) -> _GraphQL:
    """Operation type, top-level fields and string arguments of the first operation."""
    tokens = [token for token in _GQL_TOKEN.findall(document[:50_000]) if not token.startswith("#")]
    kind = tokens[0] if tokens and tokens[0] in ("query", "mutation", "subscription") else "query"
    index = 0
    while index < len(tokens) and tokens[index] != "{":
        index += _skip_parens(tokens, index) if tokens[index] == "(" else 1
    fields, literals = _selection(tokens, index, variables if isinstance(variables, dict) else {})
    railway = _railway_operations()
    shorthand = tokens[:1] == ["{"]
    if kind == "query" and shorthand and fields and all(name in railway["mutation"] for name in fields):
        kind = "mutation"  # shorthand braces around Railway mutation names: still an attempt to mutate
    return _GraphQL(kind, tuple(fields), tuple(literals))


def _skip_parens(tokens: Sequence[str], index: int) -> int:
    depth, start = 0, index
    while index < len(tokens):
        depth += {"(": 1, ")": -1}.get(tokens[index], 0)
        index += 1
        if depth == 0:
            break
    return index - start


def _selection(tokens: Sequence[str], index: int,
               variables: Mapping[str, object]) -> tuple[list[str], list[str]]:
    """Top-level field names of the selection set opening at ``index``, and every string argument."""
    fields: list[str] = []
    literals: list[str] = []
    depth = parens = 0
    previous = ""
    while index < len(tokens):
        token = tokens[index]
        following = tokens[index + 1] if index + 1 < len(tokens) else ""
        if token in ("{", "}"):
            depth += 1 if token == "{" else -1
            if depth == 0:
                break
        elif token in ("(", ")"):
            parens += 1 if token == "(" else -1
        elif parens and token.startswith('"'):
            literals.append(_graphql_string(token))
        elif parens and token.startswith("$"):
            literals.extend(_variable_strings(variables.get(token[1:])))
        elif (depth == 1 and not parens and (token[:1].isalpha() or token[:1] == "_")
              and following != ":" and previous not in ("...", "on", "@")):
            fields.append(token)  # not an alias (``a: field``), fragment spread or directive
        previous = token
        index += 1
    return fields, literals


def _graphql_string(token: str) -> str:
    if token.startswith('"""'):
        return token[3:-3].strip()
    try:
        value = json.loads(token)
    except ValueError:
        return token.strip('"')
    return value if isinstance(value, str) else token.strip('"')


def _variable_strings(value: object, depth: int = 0) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [str(value)]
    if isinstance(value, dict) and depth < 3:
        return [text for item in value.values() for text in _variable_strings(item, depth + 1)]
    if isinstance(value, list) and depth < 3:
        return [text for item in value[:20] for text in _variable_strings(item, depth + 1)]
    return []


def _graphql_verdict(argv: Sequence[str], graphql: _GraphQL, hosts: Sequence[str], client: str) -> _Verdict:
    platform = "Railway " if any("railway" in host for host in hosts) else ""
    literals = [literal for literal in graphql.literals if literal and len(literal) < 300]
    if graphql.kind == "mutation":
        damage = [(name, harm) for name in graphql.fields if (harm := _destructive_name(name))]
        if damage:
            name, reversibility = max(damage, key=lambda pair: _SEVERITY[pair[1]])
            noun = " ".join(word.lower() for word in _words(name) if word.lower() not in _DESTRUCTIVE_VERBS)
            phrase = (f"{_verb(name)} {platform}{noun} {_names(literals) or '(no id given)'} "
                      f"(GraphQL {name} via {client})").replace("  ", " ")
            return _destroys(argv, HTTP, name, [*literals, *hosts], reversibility, phrase,
                             hints=[*literals, *hosts])
        name = graphql.fields[0] if graphql.fields else "mutation"
        return _changes(argv, HTTP, name, [*literals, *hosts],
                        f"runs {platform}GraphQL mutation {', '.join(graphql.fields) or name} via {client}",
                        hints=[*literals, *hosts])
    name = graphql.fields[0] if graphql.fields else "query"
    fields = ", ".join(graphql.fields) or "GraphQL"
    phrase = f"queries {platform}{fields} {_names(literals)} (GraphQL query via {client})".replace("  ", " ")
    return _inspects(argv, HTTP, QUERY, name, [*literals, *hosts], phrase, hints=[*literals, *hosts])


# The programs this module reads, by name (``programs`` merges every family's table).
PROGRAMS: dict[str, _Handler] = {
    "curl": _curl, "wget": _wget, "http": _httpie, "https": _httpie, "xh": _httpie, "xhs": _httpie,
}
