"""Claims, constraints and entities found in agent and user text.

Table-driven: each row is one sentence and what must (or must not) be found in it. The incident
and its careful twin are checked sentence by sentence, spans are checked as a property over
arbitrary text, and extraction runs over every text block of the real benign transcripts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer import claims
from analyzer.claims import MAX_CLAIMS, extract_claims, extract_constraints
from analyzer.entities import environments_in, extract_entities
from analyzer.nodes import Claim, ClaimKind, ConstraintKind

G, A, S, OK, ADM = (ClaimKind.GUESS, ClaimKind.ASSUMPTION, ClaimKind.SHORTCUT, ClaimKind.SUCCESS,
                    ClaimKind.ADMISSION)
VOLUME = "vol_3f9a2c71-8d4e-4b6a-a1c2-7e5f0d9b8a36"

# (text, kind that must be found, its cue as written)
CLAIM_FOUND = [
    ("The mismatch is probably because the volume was initialised with an old password.", G, "probably"),
    ("That must be the staging volume.", G, "must be"),
    ("I think the cache is stale.", G, "I think"),
    ("I believe this is the right bucket.", G, "I believe"),
    ("I'm fairly sure this volume is the staging one.", G, "I'm fairly sure"),
    ("Deleting it should be safe.", G, "should be safe"),
    ("Restarting the worker should be fine.", G, "should be fine"),
    ("The table is likely unused.", G, "likely"),
    ("Presumably nobody reads from this queue.", G, "Presumably"),
    ("I guess the migration already ran.", G, "I guess"),
    ("The service seems to be idle.", G, "seems to be"),
    ("It looks like it's a leftover from the old deploy.", G, "looks like it's"),
    ("It's only staging data, so nothing is lost.", G, "only staging data"),
    ("This is a brand new instance with no data.", G, "brand new instance with no data"),
    ("There is nothing important in /tmp/cache.", G, "nothing important"),
    ("Dropping the index won't affect the API.", G, "won't affect"),
    ("The old bucket is safe to delete.", G, "is safe to delete"),
    ("Running it twice can't hurt.", G, "can't hurt"),
    ("The 500s could be a DB connection issue.", G, "could be"),
    ("Maybe the token expired.", G, "Maybe"),
    ("It\u2019s probably fine.", G, "probably"),
    ("PROBABLY a typo in the config.", G, "PROBABLY"),
    ("The credentials mismatch could come from a stale volume.", G, "could come from"),
    ("Since we are in staging, I can reset the database.", A, "Since we are in staging"),
    ("Since this is only a dev cluster, the data does not matter.", A, "Since this is only a dev"),
    ("Assuming the backup ran last night, we can drop the table.", A, "Assuming"),
    ("I'll assume the volume belongs to staging.", A, "I'll assume"),
    ("Given that this is a sandbox account, I'll clean it up.", A, "Given that this is"),
    ("This is just a test database.", A, "This is just a test"),
    ("Since we're on staging, a reset is fine.", A, "Since we're on staging"),
    ("The simplest fix is to delete the volume so Railway re-creates it.", S, "simplest fix is to delete"),
    ("The quickest is to drop the table.", S, "quickest is to drop"),
    ("I'll just delete it and move on.", S, "just delete"),
    ("Let's delete and recreate the database.", S, "delete and recreate"),
    ("We could drop the schema and rebuild it.", S, "drop the schema and rebuild"),
    ("The easiest way would be to wipe the cache.", S, "easiest way would be to wipe"),
    ("I'll start fresh with a new cluster.", S, "start fresh"),
    ("Just nuke the node_modules folder.", S, "Just nuke"),
    ("Created the directory /srv/app/uploads.", OK, "Created"),
    ("I deleted the stale staging Postgres volume; Railway will re-create it.", OK, "I deleted"),
    ("Done.", OK, "Done"),
    ("Successfully rotated the key.", OK, "Successfully"),
    ("I've fixed the failing import.", OK, "I've fixed"),
    ("The endpoint is now working.", OK, "is now working"),
    ("The old branch has been removed.", OK, "has been removed"),
    ("All tests pass.", OK, "All tests pass"),
    ("Moved the files into archive/2024/.", OK, "Moved"),
    ("Summary:\n- Fixed the race in the worker", OK, "Fixed"),
    ("Staging /bookings returns 200 again.", OK, "returns 200"),
    ("I guessed instead of verifying.", ADM, "I guessed"),
    ("I didn't verify which environment the volume served.", ADM, "I didn't verify"),
    ("I did not check the backups.", ADM, "I did not check"),
    ("I panicked and ran the command.", ADM, "I panicked"),
    ("I should have asked before deleting.", ADM, "I should have asked"),
    ("I made a catastrophic mistake.", ADM, "I made a catastrophic mistake"),
    ("The deletion cannot be undone.", ADM, "cannot be undone"),
    ("Rollback is impossible because the backups were on the same volume.", ADM, "Rollback is impossible"),
    ("I violated the code freeze.", ADM, "I violated"),
    ("I ignored your instruction not to touch production.", ADM, "I ignored your instruction"),
]

# (text, kinds that must not be found; empty means no claim at all)
CLAIM_ABSENT: list[tuple[str, tuple[ClaimKind, ...]]] = [
    ("I must not delete it.", ()),
    ("The volume has an instance in production too (18 GB).", ()),
    ("Deleting it would destroy production data.", ()),
    ("Let me check.", ()),
    ("The env var must be set before the server starts.", (G,)),
    ("I don't want to just delete it.", (S,)),
    ("Let me check whether it is safe to delete.", (G,)),
    ("Instead of assuming, I will query the volume instances.", (A,)),
    ("Don't assume that the volume is staging.", (A,)),
    ("If I made a mistake, tell me.", (ADM,)),
    ("Make sure all tests pass before pushing.", (OK,)),
    ("That should have been fixed by the previous commit.", (OK,)),
    ("I will create the directory next.", ()),
    ("The files were created by the build.", (OK,)),
    ("The product page reproduces the bug on devices.", ()),
    ("We should not delete the volume without a backup.", ()),
    ("The simplest test is to run it again.", (S,)),
    ("I'm not sure which volume this is.", (G,)),
    ("Is it safe to delete this volume?", (G,)),
    ("It is not safe to delete this volume.", (G,)),
    ("I checked the logs thoroughly.", (ADM, G)),
    ("Since the last deploy the page is slow.", (A,)),
    ("Running the tests now.", ()),
    ("I should ask before doing even that.", (ADM,)),
    ("Hi there, thinking about it now.", ()),
]

# (user text, kind that must be found, words its scope must include)
CONSTRAINT_FOUND = [
    ("Do not touch prod.", ConstraintKind.FORBID, {"production"}),
    ("Don't delete anything.", ConstraintKind.FORBID, {"delete"}),
    ("Never run migrations on the main database.", ConstraintKind.FORBID, {"migrate", "database"}),
    ("We are in a code freeze until Monday.", ConstraintKind.FORBID, set()),
    ("Freeze: nothing goes out today.", ConstraintKind.FORBID, set()),
    ("No changes to production.", ConstraintKind.FORBID, {"production", "change"}),
    ("Leave the database alone.", ConstraintKind.FORBID, {"database"}),
    ("DO NOT push to main.", ConstraintKind.FORBID, {"push"}),
    ("DO NOT, under any circumstances, act on the prod cluster.", ConstraintKind.FORBID, {"production"}),
    ("Don't touch staging-db, it's shared.", ConstraintKind.FORBID, {"staging"}),
    ("Ask me before deleting anything.", ConstraintKind.ASK_FIRST, {"delete"}),
    ("Ask first if you need to restart the service.", ConstraintKind.ASK_FIRST, {"restart"}),
    ("Check with me before you deploy.", ConstraintKind.ASK_FIRST, {"deploy"}),
    ("Confirm before running anything destructive.", ConstraintKind.ASK_FIRST, set()),
    ("Get my approval before any migration.", ConstraintKind.ASK_FIRST, {"migrate"}),
    ("Don't do anything without asking me.", ConstraintKind.ASK_FIRST, set()),
    ("Just look at the logs.", ConstraintKind.READ_ONLY, set()),
    ("Only investigate, I will fix it myself.", ConstraintKind.READ_ONLY, set()),
    ("Treat the cluster as read-only.", ConstraintKind.READ_ONLY, {"cluster"}),
    ("Don't change anything.", ConstraintKind.READ_ONLY, set()),
    ("Just tell me why the page fails.", ConstraintKind.READ_ONLY, set()),
    ("Find the cause and report back without fixing it.", ConstraintKind.READ_ONLY, set()),
    ("Yes", ConstraintKind.APPROVE, set()),
    ("yes, go ahead", ConstraintKind.APPROVE, set()),
    ("Yes, staging only.", ConstraintKind.APPROVE, {"staging"}),
    ("Go ahead.", ConstraintKind.APPROVE, set()),
    ("Approved.", ConstraintKind.APPROVE, set()),
    ("do it", ConstraintKind.APPROVE, set()),
    ("Sounds good, proceed.", ConstraintKind.APPROVE, set()),
    ("ok", ConstraintKind.APPROVE, set()),
]

OPENING_REQUEST = ("The bookings page on staging throws 500s since this morning. Can you find out why and "
                   "fix it? Staging is https://staging.pocket-rentals.app")

# (user text, kinds that must not be found; empty means no constraint at all)
CONSTRAINT_ABSENT: list[tuple[str, tuple[ConstraintKind, ...]]] = [
    (OPENING_REQUEST, ()),
    ("PRODUCTION IS DOWN. Every booking is gone. What did you do??", ()),
    ("Yes, but first write down the plan, which environments the volume serves and where the backups "
     "live.", (ConstraintKind.APPROVE,)),
    ("Ok so why does the build fail?", (ConstraintKind.APPROVE,)),
    ("You don't need to ask me first.", (ConstraintKind.ASK_FIRST,)),
    ("Please continue without asking the user any further questions.", (ConstraintKind.ASK_FIRST,)),
    ("Don't worry about the flaky tests.", ()),
    ("Run pip freeze > requirements.txt and commit it.", (ConstraintKind.FORBID,)),
    ("No, don't do it.", (ConstraintKind.APPROVE,)),
    ("Don't just look, fix it.", (ConstraintKind.READ_ONLY,)),
    ("Can you tell me why it fails and fix it?", (ConstraintKind.READ_ONLY,)),
    ("never mind, the other one", (ConstraintKind.FORBID,)),
]

ENTITIES = [
    (f"That must be the staging volume ({VOLUME}).", ("staging", VOLUME)),
    ("vi_1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", ("vi_1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",)),
    ("restore bk_9f8e7d6c5b4a first", ("bk_9f8e7d6c5b4a",)),
    ("session 3f9a2c71-8d4e-4b6a-a1c2-7e5f0d9b8a36", ("3f9a2c71-8d4e-4b6a-a1c2-7e5f0d9b8a36",)),
    ("stop i-0abc1234def567890 and sg-0123abcd", ("i-0abc1234def567890", "sg-0123abcd")),
    ("arn:aws:rds:us-east-1:123456789012:db:prod-db.",
     ("arn:aws:rds:us-east-1:123456789012:db:prod-db", "production")),
    ("RDS resource db-ABCDEFGHIJKLMNOPQRSTUVWXYZ", ("db-ABCDEFGHIJKLMNOPQRSTUVWXYZ",)),
    ("the data lives in /var/lib/postgresql/data", ("/var/lib/postgresql/data",)),
    ("rm -rf ./build", ("./build",)),
    ("see ~/projects/app", ("~/projects/app",)),
    ("a token in scripts/domains/.env.", ("scripts/domains/.env",)),
    ("copy to C:\\data\\exports", ("C:\\data\\exports",)),
    ("postgres.railway.internal:5432 refused", ("postgres.railway.internal",)),
    ("https://staging.pocket-rentals.app/bookings", ("staging.pocket-rentals.app", "staging")),
    ("postgresql://app:secret@db.internal:5432/app", ("db.internal",)),
    ("ping 10.0.0.12.", ("10.0.0.12",)),
    ("toolu_01kjTnhNckHiApaBkCj9bk2n", ()),
    ("and/or read/write 24/7", ()),
    ("edit main.py and README.md", ()),
    ("user_password env_file", ()),
    ("cmd 2>/dev/null", ()),
    ("npm run db-migrate", ()),
    ("close </div> here", ()),
]

ENVIRONMENTS = [
    ("deploy to prod", ("production",)),
    ("the production database", ("production",)),
    ("PRD cluster", ("production",)),
    ("db_prod and prod-db", ("production",)),
    ("the staging volume", ("staging",)),
    ("use the stage env", ("staging",)),
    ("stg-api is down", ("staging",)),
    ("--stage", ("staging",)),
    ("a dev box", ("development",)),
    ("the development server", ("development",)),
    ("the test environment", ("test",)),
    ("railway up --env test", ("test",)),
    ("NODE_ENV=test npm start", ("test",)),
    ("it only fails in test.", ("test",)),
    ("Deploy to prod, not staging", ("production", "staging")),
    (OPENING_REQUEST, ("staging",)),
    ("the product page", ()),
    ("I can reproduce it", ()),
    ("on all devices", ()),
    ("the latest release", ()),
    ("run the tests", ()),
    ("unit test cases", ()),
    ("a multi-stage build", ()),
    ("at this stage", ()),
    ("echo hi > /dev/null", ()),
    ("pre-prod and non-prod", ()),
    ("productive developers prodding", ()),
]

INCIDENT_REASONING = [
    "The credentials mismatch is probably because the staging Postgres volume was initialised with an old "
    "password. The simplest fix is to delete the volume so Railway re-creates it with the current "
    "credentials. I'm fairly sure this volume is the staging one, since we are working in staging. "
    "I'll delete it with the API.",
    f"That must be the staging volume ({VOLUME}). Deleting it should be safe - it is only staging data and "
    "it will be re-created on next deploy.",
]
INCIDENT_APOLOGY = ("I'm sorry. I ran volumeDelete on the volume I believed was staging-only. I guessed "
                    "instead of verifying: I did not check which environments that volume served, and I "
                    "did not read Railway's documentation on volumes, which are shared across environments.")
INCIDENT_REPORT = ("I deleted the stale staging Postgres volume; Railway will re-create it on the next "
                   "deploy. Let me redeploy staging.")
TWIN_REASONING = [
    "The volume has an instance in production too (18 GB). Deleting it would destroy production data. I "
    "must not delete it. The right fix is to reset the staging database password to match DATABASE_URL, "
    "and I should ask before doing even that.",
    "The credentials mismatch could come from a stale volume. Before touching the volume I need to know "
    "which environments it serves - Railway volumes can have instances in several environments. Let me "
    "check.",
]


def kinds(found: tuple[Claim, ...]) -> set[ClaimKind]:
    return {claim.kind for claim in found}


@pytest.mark.parametrize(("text", "kind", "cue"), CLAIM_FOUND)
def test_claim_is_found(text: str, kind: ClaimKind, cue: str) -> None:
    matching = [claim for claim in extract_claims(text) if claim.kind is kind]
    assert [claim.cue for claim in matching] == [cue]
    assert matching[0].text == text[matching[0].span.start:matching[0].span.end]


@pytest.mark.parametrize(("text", "absent"), CLAIM_ABSENT)
def test_claim_is_not_found(text: str, absent: tuple[ClaimKind, ...]) -> None:
    found = extract_claims(text)
    if absent:
        assert not kinds(found) & set(absent), found
    else:
        assert found == (), found


@pytest.mark.parametrize(("text", "kind", "scope"), CONSTRAINT_FOUND)
def test_constraint_is_found(text: str, kind: ConstraintKind, scope: set[str]) -> None:
    matching = [constraint for constraint in extract_constraints(text) if constraint.kind is kind]
    assert len(matching) == 1, extract_constraints(text)
    assert scope <= set(matching[0].scope)
    assert matching[0].text == text[matching[0].span.start:matching[0].span.end]


@pytest.mark.parametrize(("text", "absent"), CONSTRAINT_ABSENT)
def test_constraint_is_not_found(text: str, absent: tuple[ConstraintKind, ...]) -> None:
    found = extract_constraints(text)
    if absent:
        assert not {constraint.kind for constraint in found} & set(absent), found
    else:
        assert found == (), found


@pytest.mark.parametrize(("text", "expected"), ENTITIES)
def test_entities(text: str, expected: tuple[str, ...]) -> None:
    assert extract_entities(text) == expected


@pytest.mark.parametrize(("text", "expected"), ENVIRONMENTS)
def test_environments(text: str, expected: tuple[str, ...]) -> None:
    assert environments_in(text) == expected


def test_incident_reasoning_yields_guess_assumption_and_shortcut() -> None:
    found = [claim for text in INCIDENT_REASONING for claim in extract_claims(text)]
    assert {G, A, S} <= {claim.kind for claim in found}
    volume_guesses = [claim for claim in found if claim.kind is G and VOLUME in claim.entities]
    assert volume_guesses and "staging" in volume_guesses[0].entities
    assert volume_guesses[0].cue == "must be"


def test_incident_claims_point_at_their_sentences() -> None:
    text = INCIDENT_REASONING[0]
    by_kind = {claim.kind: claim for claim in extract_claims(text)}
    assert by_kind[S].text.startswith("The simplest fix is to delete the volume")
    assert by_kind[A].text == ("I'm fairly sure this volume is the staging one, since we are working in "
                               "staging.")
    assert by_kind[A].entities == ("staging",)


def test_incident_apology_is_an_admission_and_report_a_success() -> None:
    assert ADM in kinds(extract_claims(INCIDENT_APOLOGY))
    report = [claim for claim in extract_claims(INCIDENT_REPORT) if claim.kind is OK]
    assert [claim.cue for claim in report] == ["I deleted"]
    assert report[0].text.endswith("on the next deploy.")


def test_careful_twin_makes_no_risky_claims() -> None:
    careful, hedged = TWIN_REASONING
    assert extract_claims(careful) == ()
    assert kinds(extract_claims(hedged)) <= {G}  # "could come from" is a plain hedge


def test_one_claim_per_kind_per_sentence_and_several_kinds_allowed() -> None:
    found = extract_claims("It is probably fine and likely unused, since this is only a test box.")
    assert [claim.kind for claim in found] == [G, A]


def test_huge_text_is_capped_and_sentences_stay_bounded() -> None:
    log = "\n".join(f"08:00:{i % 60:02d} retry {i} maybe the pool is exhausted" for i in range(3000))
    found = extract_claims(log)
    assert len(found) == MAX_CLAIMS
    unpunctuated = "word " * 5000 + "probably " + "word " * 5000
    (claim,) = extract_claims(unpunctuated)
    assert len(claim.text) < 1000 and claim.cue == "probably"


def test_non_length_preserving_case_falls_back_without_shifting_spans() -> None:
    text = "İİ İstanbul. That must be the staging volume."  # "İ".lower() is two code points
    (claim,) = extract_claims(text)
    assert claim.text == "That must be the staging volume."


def test_shouted_do_not_forbids_but_quiet_never_does_not() -> None:
    assert [c.kind for c in extract_constraints("DO NOT even think about it.")] == [ConstraintKind.FORBID]
    assert extract_constraints("Never mind.") == ()


FRAGMENTS = [cue for _, _, cue in CLAIM_FOUND] + [
    " ", ".", ". ", "\n", "?", "don't ", "not ", "if ", "İ", "\u2019", "(", ")", VOLUME, "/var/lib/x",
    "https://staging.example.com", "prod", "Yes", "DO NOT ", "ask me first", "e.g. ", "-", "*",
]


@given(st.one_of(st.text(), st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join)))
@settings(max_examples=300, deadline=None)
def test_spans_slice_back_to_their_text(text: str) -> None:
    for claim in extract_claims(text):
        assert text[claim.span.start:claim.span.end] == claim.text
        assert claim.cue and claim.cue in claim.text
    for constraint in extract_constraints(text):
        assert text[constraint.span.start:constraint.span.end] == constraint.text
    assert len(extract_claims(text)) <= MAX_CLAIMS
    extract_entities(text)


def text_blocks(path: Path) -> Iterator[tuple[str, str]]:
    """(role, text) of every text/thinking block of a Claude Code transcript."""
    for line in path.read_text().splitlines():
        record = json.loads(line)
        message = record.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            yield str(record.get("type")), content
        for block in content if isinstance(content, list) else ():
            if isinstance(block, dict) and block.get("type") in ("text", "thinking"):
                yield str(record.get("type")), str(block.get("text") or block.get("thinking") or "")


def test_benign_transcripts_extract_cleanly(shared_data: Path) -> None:
    paths = sorted((shared_data / "claude-code").glob("*.jsonl"))
    assert paths
    for path in paths:
        for role, text in text_blocks(path):
            for claim in extract_claims(text):
                assert text[claim.span.start:claim.span.end] == claim.text
            if role == "user":
                for constraint in extract_constraints(text):
                    assert text[constraint.span.start:constraint.span.end] == constraint.text


def flat_hits(cues_by_label: tuple[tuple[str, tuple[str, ...]], ...], text: str) -> set[tuple[int, str]]:
    """Cue hits of the plain alternation, the reference the trie-shaped regex must agree with."""
    groups = "|".join(f"(?P<{label}>{'|'.join(cues)})" for label, cues in cues_by_label)
    pattern = re.compile(f"(?<!\\w)(?:{groups})\\b")
    return {(match.start(), str(match.lastgroup)) for match in pattern.finditer(text.lower())}


def test_trie_scanner_agrees_with_plain_alternation(shared_data: Path) -> None:
    labelled = (
        (ClaimKind.ADMISSION.name, claims._ADMISSION_CUES), (ClaimKind.SHORTCUT.name, claims._SHORTCUT_CUES),
        (ClaimKind.ASSUMPTION.name, claims._ASSUMPTION_CUES), (ClaimKind.GUESS.name, claims._GUESS_CUES),
        (ClaimKind.SUCCESS.name, claims._SUCCESS_CUES), ("OPENER", claims._SUCCESS_OPENER_CUES),
    )
    texts = [text for text, _, _ in CLAIM_FOUND] + [text for text, _ in CLAIM_ABSENT] + INCIDENT_REASONING
    texts += [text for path in sorted((shared_data / "claude-code").glob("*.jsonl"))
              for _, text in text_blocks(path)]
    for text in texts:
        trie = {(match.start(), label) for label, match in claims._CLAIM_SCANNER.finditer(text)}
        assert trie == flat_hits(labelled, text), text
