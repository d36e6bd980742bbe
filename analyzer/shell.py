"""Shell command lines → simple commands: the lexing half of the action classifier.

A tool call's command line (``source .env && curl ... | jq``) is split into the simple commands a
shell would run, each a ``Command``: its argv, its redirections, the ``VAR=x`` assignments in
front of it, the text fed to its standard input (heredoc, here-string, or ``echo ... |``), the
wrappers it was found inside (``sudo``, ``bash -c``, ``xargs``, ``find -exec``, ``$(...)``) and
the operator that follows it (``&&``, ``||``, ``;``, ``|``, ``&``, newline). ``analyzer.actions``
then classifies each command; nothing here knows what a program does beyond how it wraps others.

How a line is read, in order:

1. Heredoc bodies are cut out at the string level first (``<<'EOF' ... EOF``): they are data, not
   commands, and routinely hold text the lexer would choke on (apostrophes in commit messages).
   Each becomes a placeholder word and its body the command's ``stdin`` (``psql <<EOF`` → SQL).
2. ``#`` comments are removed by a quote-aware scan (a ``#`` only starts a comment at a word
   start, and not inside quotes: ``curl http://x/#a && rm -rf y`` keeps the ``rm``).
3. Tokens come from ``shlex.shlex(posix=True, punctuation_chars=...)`` with ``whitespace_split``
   (so ``$VAR``, ``{}`` and ``--flag=*.env`` stay whole) and the newline as an operator, not as
   whitespace. shlex costs ~0.7 µs per character, so a line where escapes play no part (no
   backslash outside single quotes) takes a regex fast path that yields exactly shlex's tokens (a
   property test checks the two agree); other lines go to shlex itself. Unbalanced quotes do not
   raise: the line is lexed again with quotes and escapes off.
   Windows lines (``C:\\data``, ``cmd /c``, ``powershell``) are lexed with escapes off, since the
   backslash is a path separator there.
4. Tokens are grouped into commands at ``&& || ; | & |&`` and newlines (shlex's glued
   punctuation such as ``);`` is split first); ``( ... )`` groups and unquoted ``$( ... )`` are
   parsed recursively, up to ``MAX_NESTING`` deep; reserved words (``if then do ! {``) are dropped
   and loop headers (``for x in ...``) skipped; redirections are collected (a lone digit before
   ``>`` is taken as the fd, ``2>/dev/null``).
5. Wrappers are unwrapped until a real program is first: ``sudo``/``doas`` and their options,
   ``env`` and leading ``VAR=x``, ``nohup``/``time``/``timeout N``/``nice``/``ionice``/``stdbuf``/
   ``exec``/``command``/``builtin``, ``xargs`` (its command's targets come from stdin: the argv
   gets ``<stdin>`` appended, or substituted for ``-I`` placeholders), ``bash/sh/zsh -c SCRIPT``
   (and a shell fed a heredoc), ``cmd /c``, ``powershell -Command`` / ``-EncodedCommand``.
   ``find ... -exec CMD {} \\;`` yields ``find`` itself plus ``CMD`` with ``{}`` replaced by what
   find matches, as a glob (``find . -name '*.log' -exec rm {} +`` → ``rm ./**/*.log``).
   Quoted ``"$(...)"`` and backticks are parsed best effort, as extra commands placed before the
   one that uses them (they run first).

Known limits, accepted for speed and simplicity: quote removal happens in the lexer, so a quoted
operator (``echo '&&'``) reads as an operator; ``$(pwd)/x`` unquoted splits into two words;
parameter expansion is never performed; lines over ``MAX_LINE`` characters are cut.

Parsing is cached per line (``lru_cache``, 8192 lines of up to ``CACHED_LINE`` characters); the
cached ``Command`` values are frozen, so sharing them between callers is safe.
"""

from __future__ import annotations

import base64
import binascii
import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from itertools import pairwise
from typing import NamedTuple

MAX_LINE = 32_768  # longer lines are cut: lexing is ~0.7 µs per character
CACHED_LINE = 4_096  # longer lines (heredoc file writes) are parsed uncached: the cache holds 8192
MAX_DEPTH = 6  # nested bash -c / $(...) levels parsed; deeper ones stay opaque words
MAX_NESTING = 24  # ( ... ) groups followed; deeper parentheses just separate commands
STDIN = "<stdin>"  # the argument xargs feeds: targets unknown at record time
HEREDOC = "<heredoc>"  # redirect target standing for a heredoc body

SEPARATORS = frozenset({"&&", "||", ";", "|", "&", "\n", "|&", ";;", ";&"})
REDIRECTS = frozenset({">", ">>", ">|", "<", "<<", "<<-", "<<<", ">&", "<&", "&>", "&>>", "<>"})
OPERATORS = SEPARATORS | REDIRECTS | {"(", ")"}
_OPERATOR = re.compile(r"&>>|&&|\|\||;;|;&|>>|>\||>&|&>|<<<|<<-|<<|<&|<>|\|&|[;|&<>()\n]")
_PUNCTUATION = "();<>|&\n"
_PUNCTUATION_SET = frozenset(_PUNCTUATION)
_OPERATOR_RUN = re.compile(r"[();<>|&\n]+")
# One token of the fast path: a whitespace run, an operator run, or a word made of plain characters,
# backslash escapes and quoted parts, grouped exactly as shlex (posix) groups them.
_QUICK_TOKEN = re.compile(
    r"""[ \t\r]+|[();<>|&\n]+|(?:[^ \t\r\n'"();<>|&\\]+|\\[\s\S]|'[^']*'|"(?:[^"\\]|\\[\s\S])*")+""")
_QUICK_TOKEN_NO_ESCAPES = re.compile(r"""[ \t\r]+|[();<>|&\n]+|(?:[^ \t\r\n'"();<>|&]+|'[^']*'|"[^"]*")+""")
# Quote removal as shlex does it: '...' literal; in "...", \" and \\ lose the backslash; outside
# quotes a backslash keeps only the character after it.
_QUOTED = re.compile(r"""'([^']*)'|"((?:[^"\\]|\\[\s\S])*)"|\\([\s\S])""")
_QUOTED_NO_ESCAPES = re.compile(r"'([^']*)'|\"([^\"]*)\"")
_ESCAPE_IN_DOUBLE_QUOTES = re.compile(r'\\(["\\])')
_WINDOWS = re.compile(r"(?i)(?:^|[\s\"'=])[a-z]:\\|^\s*(?:cmd(?:\.exe)?\s+/[ck]|powershell|pwsh)\b")
_HEREDOC_START = re.compile(r"(?<!<)<<(-?)[ \t]*(?:'([^'\n]+)'|\"([^\"\n]+)\"|\\?([A-Za-z_][\w.-]*))")
_HEREDOC_MARK = "__heredoc"
_COMMENT_SCAN = re.compile(r"'[^']*'|\"(?:[^\"\\]|\\.)*\"|\\.|#[^\n]*|[^'\"\\#]+|.", re.S)
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\[[^\]]*\])?\+?=")
_RESERVED_PREFIX = frozenset({"if", "then", "else", "elif", "do", "while", "until", "!", "{", "time"})
_RESERVED_ALONE = frozenset({"fi", "done", "esac", "}", "then", "else", "do", "in"})
_LOOP_HEADERS = frozenset({"for", "select", "case", "function"})


@dataclass(frozen=True, slots=True)
class Redirect:
    """``2>/dev/null`` is ``Redirect("2", ">", "/dev/null")``; ``&>f`` is ``Redirect("", "&>", "f")``."""

    fd: str
    op: str
    target: str

    def text(self) -> str:
        return f"{self.fd}{self.op}{self.target}"


@dataclass(frozen=True, slots=True)
class Command:
    """One simple command, unwrapped: what actually runs, and how the shell feeds it."""

    argv: tuple[str, ...]
    redirects: tuple[Redirect, ...] = ()
    assignments: tuple[tuple[str, str], ...] = ()  # VAR=value in front (or via env)
    stdin: str | None = None  # heredoc body, here-string, or the text an echo pipes in
    piped: bool = False  # its standard input is the previous command's output
    via: tuple[str, ...] = ()  # wrappers it was unwrapped from, outermost first
    then: str = ""  # operator after it: "&&", "||", ";", "|", "&", "\n" or "" at the end

    @property
    def program(self) -> str:
        """The dispatch key: ``program_name`` of argv[0]."""
        return program_name(self.argv[0]) if self.argv else ""


@lru_cache(maxsize=4096)
def program_name(word: str) -> str:
    """``/usr/bin/RM.exe`` → ``rm`` (cached: asked several times per command)."""
    base = word.replace("\\", "/").rsplit("/", 1)[-1].lower()
    return base[:-4] if base.endswith(".exe") else base


def split_commands(line: str) -> tuple[Command, ...]:
    """Every simple command of a shell command line, wrappers unwrapped. Never raises."""
    if not isinstance(line, str) or not line.strip():
        return ()
    line = line[:MAX_LINE]
    if _PLAIN_LINE.fullmatch(line):
        return _parse_plain(line)
    parse = _parse_line if len(line) <= CACHED_LINE else _parse_line.__wrapped__
    return parse(line, _Scope())


# A line with nothing for the shell to interpret (no quotes, escapes, operators, substitutions,
# comments or heredocs) is its whitespace-separated words: one command. Most agent calls are
# such lines (``ls -la src``, ``git status``, ``pytest -q tests``); reading them without the
# lexer and the grouping pass costs a quarter as much, which matters because every tool call of
# every session is classified, and lines seen once gain nothing from ``_parse_line``'s cache.
_PLAIN_LINE = re.compile(r"[^'\"();<>|&\\\n\r$`#]*")
_PLAIN_WORD = re.compile(r"[^ \t]+")


def _parse_plain(line: str) -> tuple[Command, ...]:
    """``_parse_line`` of a ``_PLAIN_LINE``: the same commands, without lexing or grouping."""
    draft = _Draft(_PLAIN_WORD.findall(line))
    _strip_reserved(draft)
    if not draft.words:
        return ()
    scope = _Scope(windows=bool(_WINDOWS.search(line)))
    return tuple(_unwrap(draft, scope))


def split_argv(argv: Sequence[str]) -> tuple[Command, ...]:
    """Like ``split_commands`` for an argv that is already split (Codex ``["bash", "-lc", ...]``)."""
    words = tuple(str(word) for word in argv)
    return unwrap_command(Command(words)) if words else ()


def unwrap_command(command: Command) -> tuple[Command, ...]:
    """The commands a (possibly wrapped) command really runs: ``sudo bash -c 'a; b'`` → a, b."""
    return tuple(_unwrap(command, _Scope()))


# ---------------------------------------------------------------------------------------------
# Line → tokens


class _Scope(NamedTuple):
    """How deep in ``bash -c``/``$(...)`` a line is, how to lex it, and the heredoc bodies cut
    out of the outermost line (nested scripts still refer to them by placeholder)."""

    depth: int = 0
    windows: bool = False
    bodies: tuple[str, ...] = ()

    def inner(self, windows: bool | None = None) -> _Scope:
        return _Scope(self.depth + 1, self.windows if windows is None else windows, self.bodies)


@lru_cache(maxsize=8192)
def _parse_line(line: str, scope: _Scope) -> tuple[Command, ...]:
    line, bodies = _extract_heredocs(line, len(scope.bodies))
    if "#" in line:
        line = _strip_comments(line)
    scope = scope._replace(windows=scope.windows or bool(_WINDOWS.search(line)),
                           bodies=scope.bodies + bodies)
    tokens = _split_operators(_lex(line, scope.windows))
    drafts, _ = _group(tokens, 0, scope)
    _feed_pipes(drafts)
    commands: list[Command] = []
    for draft in drafts:
        commands.extend(_unwrap(draft, scope))
    return tuple(commands)


def _extract_heredocs(line: str, numbered_from: int) -> tuple[str, tuple[str, ...]]:
    """Cut heredoc bodies out of the line; each leaves a placeholder word after its ``<<``
    (``<< 0__heredoc``: starting with a digit, it can never be read as a heredoc delimiter)."""
    if "<<" not in line:
        return line, ()
    parts: list[str] = []
    bodies: list[str] = []
    position = 0
    while (start := _HEREDOC_START.search(line, position)) is not None:
        newline = line.find("\n", start.end())
        if newline < 0:
            break
        delimiter = start.group(2) or start.group(3) or start.group(4)
        end = re.compile(rf"^[ \t]*{re.escape(delimiter)}[ \t]*$", re.M).search(line, newline + 1)
        body_end, resume = (end.start(), end.end()) if end else (len(line), len(line))
        parts.append(f"{line[position:start.start()]}<< {numbered_from + len(bodies)}{_HEREDOC_MARK} ")
        parts.append(line[start.end():newline + 1])
        bodies.append(line[newline + 1:body_end])
        position = resume
    parts.append(line[position:])
    return "".join(parts), tuple(bodies)


def _strip_comments(line: str) -> str:
    """Drop ``# ...`` that starts a word outside quotes (``a#b`` and ``"#x"`` are not comments)."""
    kept: list[str] = []
    for match in _COMMENT_SCAN.finditer(line):
        piece = match.group()
        starts_word = match.start() == 0 or line[match.start() - 1] in " \t\n;&|("
        if not (piece.startswith("#") and starts_word):
            kept.append(piece)
    return "".join(kept)


def _lex(line: str, windows: bool) -> list[str]:
    tokens = _quick_tokens(line, windows)
    if tokens is not None:
        return tokens
    try:
        return list(_lexer(line, quotes=True, escapes=not windows))
    except ValueError:  # unbalanced quotes or a trailing backslash: read the quotes as text
        return list(_lexer(line, quotes=False, escapes=False))


def _quick_tokens(line: str, windows: bool) -> list[str] | None:
    """shlex's tokens, ~10x faster; None when a quote is unbalanced or a backslash ends the line."""
    pieces = (_QUICK_TOKEN_NO_ESCAPES if windows else _QUICK_TOKEN).findall(line)
    if sum(map(len, pieces)) != len(line):
        return None  # what the patterns could not cover left a gap: let shlex decide
    if windows:
        return [_QUOTED_NO_ESCAPES.sub(_unquote_raw, piece) if "'" in piece or '"' in piece else piece
                for piece in pieces if piece[0] not in " \t\r"]
    return [_QUOTED.sub(_unquote, piece) if "'" in piece or '"' in piece or "\\" in piece else piece
            for piece in pieces if piece[0] not in " \t\r"]


def _unquote_raw(quoted: re.Match[str]) -> str:
    return quoted.group(1) if quoted.group(1) is not None else quoted.group(2)


def _unquote(quoted: re.Match[str]) -> str:
    single, double, escaped = quoted.groups()
    if single is not None:
        return single
    if double is not None:
        return _ESCAPE_IN_DOUBLE_QUOTES.sub(r"\1", double) if "\\" in double else double
    return escaped or ""


def _lexer(line: str, *, quotes: bool, escapes: bool) -> shlex.shlex:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=_PUNCTUATION)
    lexer.whitespace = " \t\r"  # newline is an operator here, not whitespace
    lexer.whitespace_split = True
    lexer.commenters = ""  # comments are stripped beforehand, quote-aware
    if not quotes:
        lexer.quotes = ""
    if not escapes:
        lexer.escape = ""
    return lexer


def _split_operators(tokens: list[str]) -> list[str]:
    """shlex joins adjacent punctuation (``);``, ``2>&1``'s ``>&``, ``&&\\n``): one operator per token."""
    split: list[str] = []
    for token in tokens:
        if token[:1] in _PUNCTUATION_SET and _OPERATOR_RUN.fullmatch(token):
            split.extend(_OPERATOR.findall(token))
        else:
            split.append(token)
    return split


# ---------------------------------------------------------------------------------------------
# Tokens → draft commands


@dataclass(slots=True)
class _Draft:
    words: list[str] = field(default_factory=list)
    redirects: list[Redirect] = field(default_factory=list)
    stdin: str | None = None
    piped: bool = False
    then: str = ""
    via: tuple[str, ...] = ()
    before: list[Command] = field(default_factory=list)  # $(...) found in it: they run first


def _group(tokens: list[str], index: int, scope: _Scope,
           nested: bool = False) -> tuple[list[_Draft], int]:
    """Group tokens into drafts up to the end, or the ``)`` closing a nested group; return where it
    stopped. Nothing is dropped: at the top a stray ``)`` separates, and past ``MAX_NESTING`` a
    ``(`` does."""
    drafts: list[_Draft] = []
    current = _Draft()
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if token not in OPERATORS:
            _add_word(current, token, scope)
        elif token == ")" and nested:
            _close(drafts, current)
            return drafts, index
        elif token == "(" and scope.depth < MAX_NESTING:
            index = _open_group(tokens, index, scope, drafts, current)
        elif token in REDIRECTS:
            index = _add_redirect(current, token, tokens, index, scope.bodies)
        elif token == ";" and _in_find_exec(current.words):
            current.words.append(";")  # find's \\; terminator, not a separator
        else:  # a separator, or a parenthesis that cannot open or close a group here
            current.then = token if token in SEPARATORS else ";"
            _close(drafts, current)
            current = _Draft()
    _close(drafts, current)
    return drafts, index


def _add_word(draft: _Draft, word: str, scope: _Scope) -> None:
    if ("$(" in word or "`" in word) and scope.depth < MAX_DEPTH:
        draft.before.extend(_substitutions(word, scope))
    draft.words.append(word)


def _open_group(tokens: list[str], index: int, scope: _Scope, drafts: list[_Draft],
                current: _Draft) -> int:
    """``$( ... )`` inside a word, or a ``( ... )`` subshell: both parsed, run before ``current``."""
    inner, index = _group(tokens, index, scope.inner(), nested=True)
    _feed_pipes(inner)
    if current.words and current.words[-1].endswith("$"):
        current.words[-1] = current.words[-1][:-1] + "$(...)"
        for draft in inner:
            draft.via = ("$()", *draft.via)
            current.before.extend(_unwrap(draft, scope.inner()))
    else:
        drafts.extend(inner)
    return index


def _add_redirect(draft: _Draft, operator: str, tokens: list[str], index: int,
                  bodies: tuple[str, ...]) -> int:
    """Attach ``[fd]op target``; returns the index after the target word (if it took one)."""
    fd = ""
    if draft.words and draft.words[-1].isdigit() and len(draft.words[-1]) == 1:
        fd = draft.words.pop()
    if operator.startswith("&"):
        fd = ""  # &> names both streams itself
    target = ""
    if index < len(tokens) and tokens[index] not in OPERATORS:  # `<(ls)` has no target word
        target = tokens[index]
        index += 1
    if operator in ("<<", "<<-") and target.endswith(_HEREDOC_MARK):
        number = target[:-len(_HEREDOC_MARK)]
        draft.stdin = bodies[int(number)] if number.isdigit() and int(number) < len(bodies) else ""
        target = HEREDOC
    elif operator == "<<<":
        draft.stdin = target
    draft.redirects.append(Redirect(fd, operator, target))
    return index


def _in_find_exec(words: list[str]) -> bool:
    """True while a ``find ... -exec`` has not seen its terminator yet."""
    if not words or program_name(words[0]) != "find":
        return False
    for word in reversed(words):
        if word in (";", "+"):
            return False
        if word in ("-exec", "-execdir", "-ok", "-okdir"):
            return True
    return False


def _close(drafts: list[_Draft], draft: _Draft) -> None:
    _strip_reserved(draft)
    if draft.words or draft.redirects or draft.before:
        drafts.append(draft)
    elif drafts and draft.then:  # "a && \n b": keep the stronger operator on the previous one
        drafts[-1].then = drafts[-1].then or draft.then


def _strip_reserved(draft: _Draft) -> None:
    """``then rm x`` → ``rm x``; ``for f in *; do`` headers and lone ``fi``/``done`` vanish."""
    words = draft.words
    while words and words[0] in _RESERVED_PREFIX:
        words.pop(0)
    if words and (words[0] in _LOOP_HEADERS or (len(words) == 1 and words[0] in _RESERVED_ALONE)):
        words.clear()
    if len(words) >= 2 and words[0].endswith("()"):  # "f() {" function header
        words.clear()


def _substitutions(word: str, scope: _Scope) -> list[Command]:
    """Commands inside ``$(...)`` / backticks of a quoted word, best effort."""
    commands: list[Command] = []
    for inner in _substitution_bodies(word):
        for command in _parse_line(inner, scope.inner()):
            commands.append(replace(command, via=("$()", *command.via)))
    return commands


def _substitution_bodies(word: str) -> list[str]:
    """The scripts of ``$(...)`` (parentheses balanced) and of backticks; escaped ones (``\\$(``,
    ``\\```) are text, not substitutions."""
    bodies: list[str] = []
    position = 0
    for start in (match.end() for match in _SUBSTITUTION_START.finditer(word)):
        if start < position:
            continue  # nested in the previous body: parsed with it
        level, position = 1, start
        while position < len(word) and level:
            level += {"(": 1, ")": -1}.get(word[position], 0)
            position += 1
        bodies.append(word[start:position - 1 if level == 0 else position])
    bodies.extend(_BACKTICKS.findall(word))
    return [body for body in bodies if body.strip()]


_SUBSTITUTION_START = re.compile(r"(?<!\\)\$\(")
_BACKTICKS = re.compile(r"(?<!\\)`((?:[^`\\]|\\.)*)`")


def _feed_pipes(drafts: list[_Draft]) -> None:
    """Mark pipe readers, and give them the text an ``echo``/``printf``/``cat <<EOF`` writes."""
    for writer, reader in pairwise(drafts):
        if writer.then not in ("|", "|&"):
            continue
        reader.piped = True
        if reader.stdin is None:
            reader.stdin = _written_text(writer)


def _written_text(draft: _Draft) -> str | None:
    program = program_name(draft.words[0]) if draft.words else ""
    if program in ("echo", "printf"):
        return " ".join(word for word in draft.words[1:] if not word.startswith("-"))
    if program == "cat" and draft.stdin is not None:
        return draft.stdin
    return None


# ---------------------------------------------------------------------------------------------
# Unwrapping: sudo, env, xargs, bash -c, cmd /c, powershell, find -exec ...

_Unwrapper = Callable[[Command, "_Scope"], "list[Command] | None"]


def _unwrap(item: _Draft | Command, scope: _Scope) -> list[Command]:
    """The commands that really run; ``$(...)`` found inside come first."""
    command, before = _freeze(item)
    result = list(before)
    for _ in range(16):  # wrappers of wrappers: sudo env nohup timeout 5 bash -c ...
        command = _take_assignments(command)
        unwrapper = _UNWRAPPERS.get(command.program)
        inner = unwrapper(command, scope) if unwrapper else None
        if inner is None:
            break
        if len(inner) != 1:
            result.extend(inner)
            return result
        command = inner[0]
    if command.argv or command.assignments or command.redirects:
        result.append(command)
    return result


def _freeze(item: _Draft | Command) -> tuple[Command, list[Command]]:
    if isinstance(item, Command):
        return item, []
    command = Command(tuple(item.words), tuple(item.redirects), (), item.stdin, item.piped,
                      item.via, item.then)
    return command, item.before


def _take_assignments(command: Command) -> Command:
    """Leading ``VAR=value`` words are the command's environment, not its program."""
    argv = command.argv
    count = 0
    while count < len(argv) and _ASSIGNMENT.match(argv[count]):
        count += 1
    if not count:
        return command
    pairs = tuple(_split_assignment(word) for word in argv[:count])
    return replace(command, argv=argv[count:], assignments=command.assignments + pairs)


def _split_assignment(word: str) -> tuple[str, str]:
    name, _, value = word.partition("=")
    return name.rstrip("+"), value


def _rest(command: Command, argv: tuple[str, ...], wrapper: str) -> list[Command]:
    """The command a wrapper runs (``argv``), keeping the wrapper's plumbing."""
    return [replace(command, argv=argv, via=(*command.via, wrapper))]


def _skip_options(argv: tuple[str, ...], start: int, with_value: frozenset[str],
                  stop_at_digits: bool = False) -> int:
    """Index of the first non-option word after ``start`` (``--`` ends options)."""
    index = start
    while index < len(argv):
        word = argv[index]
        if word == "--":
            return index + 1
        if not word.startswith("-") or word == "-" or (stop_at_digits and word[1:].isdigit()):
            return index
        index += 2 if word in with_value else 1
    return index


_SUDO_VALUES = frozenset({"-u", "-g", "-C", "-h", "-p", "-D", "-r", "-t", "-T", "-U", "--user",
                          "--group", "--prompt", "--chdir", "--close-from", "--host", "--role",
                          "--type", "--other-user", "--command-timeout"})


def _unwrap_sudo(command: Command, scope: _Scope) -> list[Command] | None:
    start = _skip_options(command.argv, 1, _SUDO_VALUES)
    if start >= len(command.argv):
        return None
    return _rest(command, command.argv[start:], command.program)


_ENV_VALUES = frozenset({"-u", "--unset", "-C", "--chdir", "-S", "--split-string"})


def _unwrap_env(command: Command, scope: _Scope) -> list[Command] | None:
    argv = command.argv
    index = 1
    while index < len(argv) and argv[index].startswith("-") and argv[index] != "--":
        if argv[index] in ("-S", "--split-string") and index + 1 < len(argv):
            split = tuple(_lex(argv[index + 1], False))
            return _rest(command, split + argv[index + 2:], "env")
        index += 2 if argv[index] in _ENV_VALUES else 1
    if index < len(argv) and argv[index] == "--":
        index += 1
    if index >= len(argv):
        return None  # plain `env`: prints the environment
    return _rest(command, argv[index:], "env")


def _simple_prefix(with_value: frozenset[str], positional: int = 0,
                   stop_at_digits: bool = False) -> _Unwrapper:
    """A wrapper ``prog [options] [N positional] CMD...`` (nohup, time, timeout 5, nice -n 5)."""

    def unwrap(command: Command, scope: _Scope) -> list[Command] | None:
        start = _skip_options(command.argv, 1, with_value, stop_at_digits) + positional
        if start >= len(command.argv):
            return None
        return _rest(command, command.argv[start:], command.program)

    return unwrap


def _unwrap_command_builtin(command: Command, scope: _Scope) -> list[Command] | None:
    if len(command.argv) > 1 and command.argv[1] in ("-v", "-V"):
        return None  # `command -v x` looks a program up; it runs nothing
    return _simple_prefix(frozenset())(command, scope)


_XARGS_VALUES = frozenset({"-n", "-L", "-P", "-d", "-a", "-E", "-s", "-I", "--max-args",
                           "--max-lines", "--max-procs", "--delimiter", "--arg-file", "--eof",
                           "--max-chars", "--process-slot-var"})


def _unwrap_xargs(command: Command, scope: _Scope) -> list[Command] | None:
    """The command xargs runs gets its arguments from stdin: mark them ``<stdin>``."""
    argv = command.argv
    replacement = None
    index = 1
    while index < len(argv) and argv[index].startswith("-") and argv[index] != "--":
        word = argv[index]
        if word == "-I" and index + 1 < len(argv):
            replacement = argv[index + 1]
        elif word.startswith("--replace"):
            replacement = word.partition("=")[2] or "{}"
        elif word.startswith("-I") and len(word) > 2:
            replacement = word[2:]
        elif word.startswith("-i"):
            replacement = word[2:] or "{}"
        index += 2 if word in _XARGS_VALUES else 1
    index += 1 if index < len(argv) and argv[index] == "--" else 0
    inner = argv[index:] or ("echo",)
    if replacement:
        return _rest(command, tuple(word.replace(replacement, STDIN) for word in inner), "xargs")
    return _rest(command, (*inner, STDIN), "xargs")


_SHELL_VALUES = frozenset({"-o", "+o", "-O", "+O", "--rcfile", "--init-file"})


def _unwrap_shell(command: Command, scope: _Scope) -> list[Command] | None:
    """``bash -lc SCRIPT`` → SCRIPT's commands; ``bash <<EOF`` → the heredoc's commands."""
    argv = command.argv
    has_c = False
    index = 1
    while index < len(argv) and argv[index][:1] in ("-", "+") and argv[index] != "--":
        word = argv[index]
        has_c = has_c or (not word.startswith("--") and "c" in word[1:])
        index += 2 if word in _SHELL_VALUES else 1
    if has_c and index < len(argv):
        script = argv[index]
    elif index >= len(argv) and command.stdin:
        script = command.stdin  # the shell reads its script from stdin
    else:
        return None  # `bash script.sh`: the script's content is not in the record
    return _nested(command, script, f"{command.program} -c", scope)


def _nested(command: Command, script: str, wrapper: str, scope: _Scope) -> list[Command] | None:
    """Parse a script string and hand the wrapper's redirects to its first command."""
    if scope.depth >= MAX_DEPTH:
        return None
    inner = list(_parse_line(script[:MAX_LINE], scope.inner()))
    if not inner:
        return [replace(command, argv=())] if command.redirects else []
    inner = [replace(item, via=(*command.via, wrapper, *item.via)) for item in inner]
    inner[0] = replace(inner[0], redirects=inner[0].redirects + command.redirects,
                       assignments=command.assignments + inner[0].assignments,
                       piped=command.piped or inner[0].piped)
    inner[-1] = replace(inner[-1], then=command.then)
    return inner


def _unwrap_eval(command: Command, scope: _Scope) -> list[Command] | None:
    return _nested(command, " ".join(command.argv[1:]), "eval", scope) if len(command.argv) > 1 else None


def _unwrap_cmd(command: Command, scope: _Scope) -> list[Command] | None:
    """``cmd /c rd /s /q C:\\data`` (or one quoted string after /c)."""
    argv = command.argv
    for index, word in enumerate(argv[1:], start=1):
        if word.lower() in ("/c", "/k", "/r"):
            rest = argv[index + 1:]
            if len(rest) == 1:
                return _nested(command, rest[0], "cmd /c", scope._replace(windows=True))
            return _rest(command, rest, "cmd /c") if rest else None
    return None


_POWERSHELL_VALUES = frozenset({"-executionpolicy", "-ep", "-ex", "-file", "-f", "-windowstyle",
                                "-w", "-configurationname", "-workingdirectory", "-wd",
                                "-outputformat", "-of", "-inputformat", "-if", "-version", "-v"})
_POWERSHELL_COMMAND = frozenset({"-command", "-c", "-com"})
_POWERSHELL_ENCODED = frozenset({"-encodedcommand", "-enc", "-e", "-ec"})


def _unwrap_powershell(command: Command, scope: _Scope) -> list[Command] | None:
    argv = command.argv
    index = 1
    while index < len(argv):
        flag = argv[index].lower()
        if flag in _POWERSHELL_COMMAND or not flag.startswith("-"):
            start = index + 1 if flag.startswith("-") else index
            return _nested(command, " ".join(argv[start:]), "powershell", scope._replace(windows=True))
        if flag in _POWERSHELL_ENCODED and index + 1 < len(argv):
            script = _decode_powershell(argv[index + 1])
            return _nested(command, script, "powershell", scope._replace(windows=True)) if script else None
        if flag in ("-file", "-f"):
            return None  # a script file: its content is not in the record
        index += 2 if flag in _POWERSHELL_VALUES else 1
    return None


def _decode_powershell(encoded: str) -> str | None:
    """-EncodedCommand is base64 of UTF-16LE text."""
    try:
        return base64.b64decode(encoded, validate=True).decode("utf-16-le")
    except (binascii.Error, ValueError):
        return None


_FIND_EXEC = frozenset({"-exec", "-execdir", "-ok", "-okdir"})


def _unwrap_find(command: Command, scope: _Scope) -> list[Command] | None:
    """``find ROOTS ... -exec CMD {} ;`` → find itself, then CMD acting on ROOTS."""
    argv = command.argv
    if scope.depth >= MAX_DEPTH or not any(word in _FIND_EXEC for word in argv):
        return None
    matched = find_scope(argv)
    commands = [replace(command, then=";")]
    index = 1
    while index < len(argv):
        if argv[index] not in _FIND_EXEC:
            index += 1
            continue
        end = index + 1
        while end < len(argv) and argv[end] not in (";", "+"):
            end += 1
        inner: list[str] = []
        for word in argv[index + 1:end]:
            inner.extend(matched if word == "{}" else [word.replace("{}", matched[0])])
        if inner:
            exec_command = Command(tuple(inner), via=(*command.via, f"find {argv[index]}"))
            commands.extend(_unwrap(exec_command, scope.inner()))
        index = end + 1
    if len(commands) == 1:
        return None  # -exec with nothing to run
    commands[-1] = replace(commands[-1], then=command.then)
    return commands


def find_scope(argv: Sequence[str]) -> tuple[str, ...]:
    """What ``find`` matches, as globs: ``find . -name '*.log'`` → ``./**/*.log``. Stands for
    ``{}`` in ``-exec``, so ``-exec rm {}`` reads as deleting those files, not the whole root."""
    pattern = ""
    for index, word in enumerate(argv[:-1]):
        if word in ("-name", "-iname"):
            pattern = argv[index + 1]
            break
    roots = find_roots(argv) or (".",)
    return tuple(f"{root.rstrip('/')}/**" + (f"/{pattern}" if pattern else "") for root in roots)


def find_roots(argv: Sequence[str]) -> tuple[str, ...]:
    """The starting points of ``find``: the words before the first test or option."""
    roots: list[str] = []
    for word in argv[1:]:
        if word.startswith(("-", "(", "!", ")")) or word in (";", "+"):
            if word in ("-H", "-L", "-P"):
                continue
            break
        roots.append(word)
    return tuple(roots)


_UNWRAPPERS: dict[str, _Unwrapper] = {
    "sudo": _unwrap_sudo,
    "doas": _unwrap_sudo,
    "env": _unwrap_env,
    "nohup": _simple_prefix(frozenset()),
    "builtin": _simple_prefix(frozenset()),
    "command": _unwrap_command_builtin,
    "exec": _simple_prefix(frozenset({"-a"})),
    "time": _simple_prefix(frozenset({"-f", "-o", "--format", "--output"})),
    "timeout": _simple_prefix(frozenset({"-s", "-k", "--signal", "--kill-after"}), positional=1),
    "nice": _simple_prefix(frozenset({"-n", "--adjustment"}), stop_at_digits=True),
    "ionice": _simple_prefix(frozenset({"-c", "-n", "--class", "--classdata"})),
    "stdbuf": _simple_prefix(frozenset({"-i", "-o", "-e"})),
    "xargs": _unwrap_xargs,
    "eval": _unwrap_eval,
    "bash": _unwrap_shell,
    "sh": _unwrap_shell,
    "zsh": _unwrap_shell,
    "dash": _unwrap_shell,
    "ksh": _unwrap_shell,
    "ash": _unwrap_shell,
    "fish": _unwrap_shell,
    "cmd": _unwrap_cmd,
    "powershell": _unwrap_powershell,
    "pwsh": _unwrap_powershell,
    "find": _unwrap_find,
}
