"""Claims in agent text and constraints in user text, found by cue phrases.

A *claim* is a sentence of the agent's that carries a cue: a hedge ("probably", "must be"), a
premise ("since we are in staging"), a shortcut ("simplest fix is to delete"), a report of
success ("I deleted …") or an admission ("I didn't verify"). A *constraint* is a sentence of the
user's that forbids, asks for a check-in, restricts to reading, or approves. Rules elsewhere
decide which of them matter; this module only finds them, cheaply and with exact offsets.

Design, driven by the streaming budget (every reasoning and message event, ≥20k events/s):

* Cues are written in lowercase, one tuple per kind, each cue starting with a letter. All kinds
  of a family are compiled into one regex shaped as a one-level trie: a branch per first letter,
  inside it a named group per kind (``GUESS_p``). The text is lowercased (offsets unchanged) and
  scanned once; because every top-level branch starts with a literal letter, the regex engine
  skips to candidate letters in C and rejects mid-word positions with one look-behind. That
  single pass is the prefilter: no match means no further work and no sentence splitting.
* Where cues of two kinds start at the same place, the kind listed first wins; this is how
  "don't change anything" is read-only rather than a plain prohibition. A few labels are not
  kinds but need one more check on the original text: a bare past participle only reports
  success at a sentence start ("Created the directory"), and a bare "DO NOT" only forbids when
  shouted.
* Sentences are found lazily around each hit, looking at most ``_SENTENCE_REACH`` characters
  either way for a sentence end (``.!?`` before whitespace, or a line break). A hit in a 50 KB
  log without punctuation therefore yields a bounded excerpt, never the whole log.
* A cue right after a negation or a condition ("don't just delete it", "check whether it is
  safe to delete", "if I made a mistake") is dropped, judged from the few words before it.
* One claim per kind per sentence, at most ``MAX_CLAIMS`` per text, and no nested unbounded
  quantifiers anywhere, so no input can make a pattern backtrack badly.
"""

from __future__ import annotations

import itertools
import re
import sys
from collections.abc import Iterator, Mapping, Sequence

from analyzer.entities import extract_entities
from analyzer.nodes import Claim, ClaimKind, Constraint, ConstraintKind, Span

MAX_CLAIMS = 50  # per text: a pasted log full of "maybe" must not flood the graph
MAX_CONSTRAINTS = 50
_SENTENCE_REACH = 400  # characters looked at on each side of a cue for the sentence's ends
_APPROVAL_MAX_WORDS = 12  # an approval is a short reply

_CURLY_APOSTROPHE = "\u2019"
_APOS = f"['{_CURLY_APOSTROPHE}]"  # models write both straight and curly apostrophes


def _each(heads: str, tail: str) -> tuple[str, ...]:
    """One cue per head, so every cue starts with a letter: ("could be", "might be", …)."""
    return tuple(head + tail for head in heads.split("|"))


# Words that mark a non-production target in premises.
_THROWAWAY_ENV = (
    "staging|stage|stg|dev|development|test|testing|sandbox|local|scratch|throwaway|demo|preview|qa|"
    "non-?prod(?:uction)?"
)
_DESTROY_VERB = (
    "delete|drop|recreate|re-create|reset|wipe|remove|nuke|purge|truncate|destroy|"
    "reinitiali[sz]e|rm|start over|start fresh|force[- ]push|blow away"
)
# After "must be" these make an obligation ("must be set"), not a belief ("must be the one").
_DEONTIC_COMPLEMENT = (
    "set|run|done|called|used|installed|configured|provided|enabled|given|passed|added|placed|"
    "defined|specified|updated|created|kept|escaped|quoted|restarted|built|applied|handled|"
    "present|valid|unique|true|false|non-empty|a string|an? (?:integer|number|list)"
)
_PAST_ACTION = (
    "deleted|removed|created|fixed|updated|added|moved|renamed|deployed|redeployed|migrated|"
    "restored|resolved|installed|configured|changed|modified|refactored|implemented|wrote|written|"
    "cleaned up|dropped|rolled back|merged|pushed|committed|applied|copied|restarted|set up|"
    "verified|confirmed|checked|tested|ran|wiped|reset|recreated|re-created"
)

_GUESS_CUES = (
    "probably", "presumably", "likely", "unlikely",
    f"must be(?! (?:{_DEONTIC_COMPLEMENT})\\b)", "must have been",
    "i think", "i believe", "i guess", "i suspect",
    f"i(?:{_APOS}m| am) (?:fairly |pretty |quite |reasonably |almost |very )?(?:sure|certain|confident)",
    "should be (?:safe|fine|ok|okay|harmless|unused|empty|enough)",
    "seems? to be", "seems like", "appears to be", f"looks like (?:it|this|that)(?:{_APOS}?s| is)",
    *_each("could|might|may", " (?:be|have been|come from)"), "maybe", "perhaps", "possibly",
    *_each("only|just",
           " (?:staging|stage|test|testing|dev|development|sample|dummy|throwaway|scratch|demo) data"),
    *_each("brand[- ]new|fresh|empty",
           " (?:\\w+ )?(?:instance|database|db|volume|cluster|table|bucket)s? with no (?:real )?data"),
    *_each("has|have|with|contains?", " no (?:real |important |production |user |customer )?data"),
    "nothing (?:important|of value|valuable|critical)", "no one uses",
    *_each(f"won{_APOS}t|will not|shouldn{_APOS}t|should not|doesn{_APOS}t|does not",
           " (?:affect|break|impact)"),
    *_each(f"is|are|it{_APOS}s|that{_APOS}s",
           " safe to (?:delete|remove|drop|wipe|reset|overwrite|discard|purge|truncate)"),
    *_each(f"can{_APOS}t|cannot|won{_APOS}t", " hurt"),
)
_ASSUMPTION_CUES = (
    f"since (?:we(?:{_APOS}re| are)(?: \\w+)? (?:in|on)|(?:this|it|that)(?:{_APOS}s| is)|(?:the )?\\w+ is)"
    f" (?:only |just |all )?(?:a |an |the |our )?(?:{_THROWAWAY_ENV})",
    "assuming", f"i(?:{_APOS}ll| will|{_APOS}m going to| am going to)? assume",
    *_each(f"let{_APOS}s|we can|we{_APOS}ll|we will", " assume"), "assume that", "on the assumption",
    f"given (?:that )?(?:(?:this|it)(?:{_APOS}s| is)|we(?:{_APOS}re| are))",
    "this is (?:just|only) (?:a|an) (?:test|dev|staging|sandbox|scratch|throwaway|demo|toy|temp|temporary)",
)
_SHORTCUT_CUES = (
    *_each("simplest|easiest|quickest|fastest|cleanest",
           f"(?: \\w+)? (?:is|would be|will be|{_APOS}s) to (?:just |simply )?(?:{_DESTROY_VERB})"),
    "just (?:delete|drop|wipe|nuke|recreate|re-create|reset|purge|truncate|destroy|rm -rf|"
    "force[- ]push|blow away|start over)",
    *_each("delete|drop|remove|wipe|destroy|nuke|tear down|blow away",
           "(?: \\w+){0,3} and re-?(?:create|build|provision|initiali[sz]e|deploy)"),
    "start (?:fresh|from scratch|over)", *_each("from|with", " a clean slate"),
)
_SUCCESS_CUES = (
    f"i(?:{_APOS}ve| have)? (?:now |just |successfully |already )?(?:{_PAST_ACTION})",
    "successfully",
    *_each("is|are", " now (?:working|fixed|running|passing|live|up|deployed|resolved|gone|clean|green)"),
    "now works", "works (?:now|again)", "working again", *_each("is|are", " back (?:up|online)"),
    *_each("has|have", f" been (?:successfully )?(?:{_PAST_ACTION})"),
    "all (?:the |\\d+ )?(?:unit |integration )?tests? (?:now )?(?:pass(?:ed|es)?|succeed(?:ed)?|"
    "are (?:now )?passing)",
    "tests? (?:are|now) (?:now )?passing",
    *_each("returns?|responds? with", " (?:a )?200"),
)
# Success only when the participle opens a sentence: "Created the directory." (checked later).
_SUCCESS_OPENER_CUES = (*_PAST_ACTION.split("|"), "done", "all done")
_ADMISSION_CUES = (
    "i guessed", "i (?:wrongly |incorrectly |mistakenly )?assumed", "i panicked", "i violated",
    "i disregarded", "i destroyed", "i was wrong",
    f"i (?:didn{_APOS}t|did not|never|failed to) "
    "(?:verify|check|confirm|read|test|ask|look|double-check|wait)",
    "i should have (?:asked|checked|verified|confirmed|read|waited|stopped|looked|tested|listened)",
    f"i should(?:n{_APOS}t| not) have",
    "i made (?:a|an) (?:\\w+ )?(?:mistake|error)", "my (?:\\w+ )?(?:mistake|fault)",
    *_each("rollback|recovery|undo|restoring it", " is (?:impossible|not possible)"),
    *_each(f"cannot|can{_APOS}t|can not", " be (?:undone|recovered|reversed|restored|rolled back)"),
    "i ignored (?:your|the|an?) (?:\\w+ )?(?:instructions?|request|rules?|freeze|warnings?|constraint|"
    "guidance|directive)",
)

_FORBID_VERB = (
    "touch|delete|drop|deploy|run|push|modify|change|remove|migrate|restart|apply|commit|merge|rm|"
    "truncate|destroy|make|edit|write|update|alter|reset|wipe|kill|stop|force|rename|move|overwrite|"
    "install|upgrade|rollback|roll back|mess with|go near|access|create|scale|terminate|disable|"
    "do (?:it|that|this)|use|rebase|publish|release|ship"
)
_FORBID_GERUND = (
    "deleting|dropping|touching|deploying|running|pushing|changing|modifying|migrating|removing|"
    "destroying|wiping|restarting|truncating|resetting"
)
_ASK_FIRST_CUES = (
    "ask (?:me |us )?(?:before|first)", "ask (?:me|us) for (?:permission|approval|confirmation)",
    "check with (?:me|us)", "confirm (?:with (?:me|us) )?(?:before|first)",
    *_each("get|need|wait for|have", " (?:my|our) (?:explicit )?(?:approval|ok|okay|sign[- ]off|"
           "go[- ]ahead|permission|confirmation|consent)"),
    "without (?:asking|checking with|confirming with|consulting) (?:me|us)", "without asking first",
    "without (?:my|our) (?:explicit )?(?:approval|ok|okay|permission|sign[- ]off|go[- ]ahead|consent)",
    *_each("let me know|tell me|show me", " (?:\\w+ ){0,3}(?:before|first)"),
    "run (?:it|this|that|them|everything|anything) by (?:me|us)",
    *_each("wait|hold off", " (?:for|until) (?:my|i|me)"),
)
_READ_ONLY_CUES = (
    "just (?:look|investigate|diagnose|check|read|explore|report|tell me|find out|explain|analy[sz]e|review)",
    "only (?:investigate|look|diagnose|read|report|check|analy[sz]e)",
    *_each("investigate|diagnose|look|analy[sz]e", " only"), "read[- ]only",
    *_each(f"don{_APOS}t|do not", " (?:change|modify|fix|touch|edit) (?:anything|any \\w+|it yet)"),
    *_each(f"don{_APOS}t|do not", " fix (?:it|this|that)"),
    *_each(f"don{_APOS}t|do not", " make any (?:changes|edits|modifications)"),
    *_each("make|making", " no (?:changes|edits)"),
    "without (?:fixing|changing|modifying|touching|editing) (?:it|anything)", "report back without",
)
_FORBID_CUES = (
    *_each(f"do not|don{_APOS}t|dont|never|must not|mustn{_APOS}t|should not|shouldn{_APOS}t|"
           f"you can{_APOS}t|you cannot|you may not|you are not allowed to",
           f" (?:ever |even )?(?:{_FORBID_VERB})"),
    *_each("avoid|stop|no", f" (?:{_FORBID_GERUND})"),
    *_each("code|deploy|deployment|change|feature", " freeze"), "f(?<!pip f)reeze",
    "no (?:more )?(?:changes|deploys|deployments|writes|migrations|deletions|deletes|pushes|commits|"
    "destructive)",
    "leave (?:\\w+ ){0,3}alone", "hands off", "stay away from", "off[- ]limits", "not allowed to",
    "forbidden", "prohibited", "under no circumstances",
)
# A bare "DO NOT …" forbids whatever follows, but only when shouted (checked later).
_SHOUTED_CUES = _each(f"do not|don{_APOS}t|never", "")

# Scope words of constraints, each mapped to its normal form.
_SCOPE_FORMS: Mapping[str, str] = {
    **dict.fromkeys(("delete", "deletes", "deleted", "deleting", "deletion", "deletions", "remove",
                     "removing", "rm"), "delete"),
    **dict.fromkeys(("drop", "drops", "dropping", "truncate", "truncating"), "drop"),
    **dict.fromkeys(("deploy", "deploys", "deploying", "deployment", "deployments", "redeploy",
                     "release", "ship"), "deploy"),
    **dict.fromkeys(("migrate", "migrates", "migrating", "migration", "migrations"), "migrate"),
    **dict.fromkeys(("push", "pushes", "pushing", "force-push", "merge", "merging"), "push"),
    **dict.fromkeys(("reset", "resetting", "wipe", "wiping", "destroy", "destroying", "nuke"), "destroy"),
    **dict.fromkeys(("restart", "restarting", "reboot"), "restart"),
    **dict.fromkeys(("change", "changes", "changing", "modify", "modifying", "edit", "edits",
                     "write", "writes", "update", "updates"), "change"),
    **dict.fromkeys(("database", "databases", "db"), "database"),
    **dict.fromkeys(("volume", "volumes"), "volume"),
    **dict.fromkeys(("table", "tables"), "table"),
    **dict.fromkeys(("backup", "backups", "snapshot", "snapshots"), "backup"),
    **dict.fromkeys(("bucket", "buckets"), "bucket"),
    **dict.fromkeys(("cluster", "clusters"), "cluster"),
    **dict.fromkeys(("branch", "branches"), "branch"),
}

# Words before a cue that void it, alone or followed by up to two filler words.
_VOIDING_PHRASES = frozenset({
    ("not",), ("never",), ("without",), ("instead", "of"), ("rather", "than"), ("no", "need", "to"),
    ("avoid",), ("if",), ("whether",), ("unless",), ("until",), ("make", "sure"), ("ensure",),
    ("verify",), ("check",),
})
_VOIDING_LAST_WORDS = frozenset(phrase[-1] for phrase in _VOIDING_PHRASES)
_FILLER_WORDS = frozenset({
    "want", "need", "have", "going", "try", "trying", "to", "be", "just", "simply", "yet", "really", "even",
    "ever", "go", "so", "the", "that", "it", "this", "they", "we", "i", "you", "all",
})
_MODALS = frozenset({"should", "would", "could", "might", "must", "may", "will", "to"})
_VOIDING_WINDOW = 60  # characters before a cue: enough for three words and a negation

# Sentence ends: a line break, or .!? (plus closing quotes/brackets) before whitespace, but not
# the dots of "e.g." and "i.e.". Starts with a character class so the engine skips to candidates.
_SENTENCE_END = re.compile(
    r"[\n.!?](?:(?<=\n)|(?<!\be\.g\.)(?<!\bi\.e\.)[.!?]*[\"')\]\u2019\u201d]*(?=\s|$))"
)
# What may precede a sentence-opening participle: a sentence end, a line start, a list marker.
_SENTENCE_OPENING = re.compile(r"(?:^|[.!?:]\s+|\n\s*)(?:[-*•]\s+|\d{1,3}[.)]\s+)?\**$")

_AFFIRMATIVE_START = re.compile(
    r"\s*(?:yes|yep|yeah|yup|sure|ok(?:ay)?|go ahead|approved?|do it|sounds good|proceed|lgtm|"
    r"please (?:do|proceed|go ahead)|go for it|ship it|confirmed|y(?=\W*$))\b",
    re.IGNORECASE,
)
_AFFIRMATIVE_ANYWHERE = re.compile(r"\b(?:go ahead|approved?|do it|proceed|lgtm|ship it|go for it)\b",
                                   re.IGNORECASE)


class _TrieNode:
    """A node of the literal-prefix trie the cue regex is shaped after."""

    def __init__(self) -> None:
        self.children: dict[str, _TrieNode] = {}
        self.leaves: dict[str, list[str]] = {}  # label → regex tails of cues ending here
        self.rank = sys.maxsize  # best (lowest) label rank at or below this node

    def add(self, literal: str, label: str, rank: int, tail: str) -> None:
        node = self
        node.rank = min(node.rank, rank)
        for char in literal:
            node = node.children.setdefault(char, _TrieNode())
            node.rank = min(node.rank, rank)
        node.leaves.setdefault(label, []).append(tail)

    def source(self, ranks: Mapping[str, int], names: Iterator[int]) -> str:
        """Regex for what may follow this node; higher-ranked kinds are tried first."""
        alternatives = [(child.rank, re.escape(char) + child.source(ranks, names))
                        for char, child in self.children.items()]
        alternatives += [(ranks[label], f"(?P<{label}_{next(names)}>{'|'.join(tails)})")
                         for label, tails in self.leaves.items()]
        alternatives.sort(key=lambda alternative: alternative[0])
        if len(alternatives) == 1:
            return alternatives[0][1]
        return "(?:" + "|".join(source for _, source in alternatives) + ")"


_QUANTIFIERS = ("?", "*", "+", "{")
_LITERAL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789 ")


def _literal_prefix(cue: str) -> int:
    """Length of the cue's leading plain characters (those not under a quantifier)."""
    length = 0
    while (length < len(cue) and cue[length] in _LITERAL_CHARS
           and cue[length + 1:length + 2] not in _QUANTIFIERS):
        length += 1
    return length


class _CueScanner:
    """Finds cues of several labels in one pass.

    The regex is shaped as a trie over the cues' literal prefixes, so at each word start the
    engine follows one path of single-character checks instead of trying every cue in turn.
    Group names are ``<label>_<n>``; labels listed first win where cues start at the same place.
    """

    def __init__(self, cues_by_label: Sequence[tuple[str, tuple[str, ...]]]) -> None:
        root = _TrieNode()
        ranks = {label: rank for rank, (label, _) in enumerate(cues_by_label)}
        for label, cues in cues_by_label:
            for cue in cues:
                length = _literal_prefix(cue)
                if cue != cue.lower() or not cue[:1].isalpha() or length == 0:
                    raise ValueError(f"cue must start with a plain lowercase letter: {cue!r}")
                root.add(cue[:length], label, ranks[label], cue[length:])
        # One look-behind up front: the many positions inside words fail after a single check.
        source = f"(?<!\\w){root.source(ranks, itertools.count())}\\b"
        self._lowercase = re.compile(source)  # fast path: runs on text.lower()
        self._any_case = re.compile(source, re.IGNORECASE)

    def finditer(self, text: str) -> Iterator[tuple[str, re.Match[str]]]:
        """(label, match) per cue; match offsets are valid in ``text``."""
        lowered = text.lower()
        if len(lowered) == len(text):
            matches = self._lowercase.finditer(lowered)
        else:  # rare: some characters ("İ") lower to two code points and would shift offsets
            matches = self._any_case.finditer(text)
        for match in matches:
            yield str(match.lastgroup).rpartition("_")[0], match


_CLAIM_SCANNER = _CueScanner((
    (ClaimKind.ADMISSION.name, _ADMISSION_CUES),
    (ClaimKind.SHORTCUT.name, _SHORTCUT_CUES),
    (ClaimKind.ASSUMPTION.name, _ASSUMPTION_CUES),
    (ClaimKind.GUESS.name, _GUESS_CUES),
    (ClaimKind.SUCCESS.name, _SUCCESS_CUES),
    ("OPENER", _SUCCESS_OPENER_CUES),
))
# Order matters: "don't do anything without asking" is ask-first and "don't change anything" is
# read-only, although both also read as prohibitions.
_CONSTRAINT_SCANNER = _CueScanner((
    (ConstraintKind.ASK_FIRST.name, _ASK_FIRST_CUES),
    (ConstraintKind.READ_ONLY.name, _READ_ONLY_CUES),
    (ConstraintKind.FORBID.name, _FORBID_CUES),
    ("SHOUTED", _SHOUTED_CUES),
))
_SCOPE_SCANNER = _CueScanner((("SCOPE", tuple(re.escape(form) for form in _SCOPE_FORMS)),))


def extract_claims(text: str) -> tuple[Claim, ...]:
    """Claims in one piece of agent text (reasoning or message), in order, at most ``MAX_CLAIMS``."""
    claims: list[Claim] = []
    entities_by_sentence: dict[int, tuple[str, ...]] = {}
    for cue, kind, start, end in _sentence_hits(text, _CLAIM_SCANNER, MAX_CLAIMS):
        sentence = text[start:end]
        if start not in entities_by_sentence:
            entities_by_sentence[start] = extract_entities(sentence)
        claims.append(Claim(kind=ClaimKind[kind], text=sentence, span=Span(start, end), cue=cue,
                            entities=entities_by_sentence[start]))
    return tuple(claims)


def extract_constraints(text: str) -> tuple[Constraint, ...]:
    """Constraints in one user message, in order; a short affirmative reply is an approval."""
    constraints: list[Constraint] = []
    approval = _approval(text)
    if approval is not None:
        constraints.append(approval)
    room = MAX_CONSTRAINTS - len(constraints)
    for cue, kind, start, end in _sentence_hits(text, _CONSTRAINT_SCANNER, room):
        sentence = text[start:end]
        constraints.append(Constraint(kind=ConstraintKind[kind], text=sentence, span=Span(start, end),
                                      cue=cue, scope=_scope(sentence)))
    return tuple(constraints)


def _sentence_hits(text: str, scanner: _CueScanner, limit: int) -> Iterator[tuple[str, str, int, int]]:
    """(cue, kind name, sentence start, sentence end) per live cue, one per kind and sentence."""
    seen: set[tuple[str, int]] = set()
    for label, match in scanner.finditer(text):
        kind = _kind_of(label, text, match)
        if kind is None or _is_voided(text, match.start()):
            continue
        start, end = _sentence_bounds(text, match.start(), match.end())
        if (kind, start) in seen:
            continue
        seen.add((kind, start))
        yield text[match.start():match.end()], kind, start, end
        if len(seen) >= limit:
            return


def _kind_of(label: str, text: str, match: re.Match[str]) -> str | None:
    """The kind a cue label stands for, after the extra checks some labels need."""
    if label == "OPENER":
        opening = _SENTENCE_OPENING.search(text, max(0, match.start() - 12), match.start())
        return ClaimKind.SUCCESS.name if opening is not None else None
    if label == "SHOUTED":
        return ConstraintKind.FORBID.name if text[match.start():match.end()].isupper() else None
    if label == ClaimKind.SUCCESS.name and _word_before(text, match.start()) in _MODALS:
        return None  # "that should have been fixed" hopes, it does not report
    return label


def _word_before(text: str, position: int) -> str:
    words = text[max(0, position - 12):position].lower().split()
    return words[-1] if words else ""


def _is_voided(text: str, cue_start: int) -> bool:
    """True after a negation or condition: "don't just delete", "check whether it is safe"."""
    if cue_start > 0 and not text[cue_start - 1].isspace():
        return False  # the cue follows punctuation such as "(" or "—": a new clause
    words = text[max(0, cue_start - _VOIDING_WINDOW):cue_start].lower().split()[-5:]
    for fillers in range(3):  # up to two filler words between the negation and the cue
        end = len(words) - fillers
        if end < 1 or (fillers and words[end] not in _FILLER_WORDS):
            return False
        last = words[end - 1]
        if last.endswith(("n't", f"n{_CURLY_APOSTROPHE}t")):
            return True
        if last in _VOIDING_LAST_WORDS and any(
            tuple(words[max(0, end - size):end]) in _VOIDING_PHRASES for size in (1, 2, 3)
        ):
            return True
    return False


def _sentence_bounds(text: str, cue_start: int, cue_end: int) -> tuple[int, int]:
    """[start, end) of the sentence around a cue, trimmed of whitespace, at most a reach each way."""
    return _sentence_start(text, cue_start), _sentence_end(text, cue_end)


def _sentence_start(text: str, cue_start: int) -> int:
    low = max(0, cue_start - _SENTENCE_REACH)
    start = low
    for boundary in _SENTENCE_END.finditer(text, low, cue_start):
        start = boundary.end()
    if start == low and low > 0:
        # No sentence end within reach: begin at a word boundary rather than mid-word.
        space = text.find(" ", low, cue_start)
        start = space + 1 if space >= 0 else low
    while start < cue_start and text[start].isspace():
        start += 1
    return start


def _sentence_end(text: str, cue_end: int) -> int:
    high = min(len(text), cue_end + _SENTENCE_REACH)
    boundary = _SENTENCE_END.search(text, cue_end, high)
    if boundary is not None:
        end = boundary.start() if boundary.group() == "\n" else boundary.end()
    elif high < len(text):
        space = text.rfind(" ", cue_end, high)  # end at a word boundary, not mid-word
        end = space if space >= 0 else high
    else:
        end = high
    while end > cue_end and text[end - 1].isspace():
        end -= 1
    return end


def _approval(text: str) -> Constraint | None:
    """A short reply that is or starts with an affirmative ("Yes, staging only.") approves."""
    if "?" in text or len(text) > 160 or len(text.split()) > _APPROVAL_MAX_WORDS:
        return None
    match = _AFFIRMATIVE_START.match(text) or _AFFIRMATIVE_ANYWHERE.search(text)
    if match is None or _is_voided(text, match.start()):
        return None
    start = len(text) - len(text.lstrip())
    end = len(text.rstrip())
    return Constraint(kind=ConstraintKind.APPROVE, text=text[start:end], span=Span(start, end),
                      cue=match.group().strip(), scope=_scope(text))


def _scope(sentence: str) -> tuple[str, ...]:
    """What a constraint covers: environments and entities in order, then verbs and resource nouns."""
    words = (_SCOPE_FORMS[match.group().lower()] for _, match in _SCOPE_SCANNER.finditer(sentence))
    return tuple(dict.fromkeys((*extract_entities(sentence), *words)))
