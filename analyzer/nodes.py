"""Typed nodes the analyzer derives from events: claims, actions, effects.

Each node is a small frozen value computed from one event (claims and actions) or one cloud audit
record (effects). Rules combine them into findings; nothing here looks at more than one event.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ClaimKind(StrEnum):
    GUESS = "guess"  # hedged belief: "probably", "must be", "I think", "should be safe"
    ASSUMPTION = "assumption"  # premise taken as given: "since we are in staging", "assuming"
    SUCCESS = "success"  # the agent says something worked or was done: "Created the directory"
    ADMISSION = "admission"  # afterwards: "I guessed", "I didn't verify", "I panicked"
    SHORTCUT = "shortcut"  # "simplest is to delete and recreate", "just drop it"


class ConstraintKind(StrEnum):
    FORBID = "forbid"  # "do not touch prod", "code freeze", "don't delete anything"
    ASK_FIRST = "ask_first"  # "ask me before…", "check with me first"
    READ_ONLY = "read_only"  # "just look", "only investigate", "don't change anything"
    APPROVE = "approve"  # "yes, go ahead", "yes, staging only", "approved"


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Claim:
    """A statement of the agent's, found in one reasoning or message event."""

    kind: ClaimKind
    text: str  # the sentence the cue sits in, verbatim
    span: Span  # of ``text`` within the event's text
    cue: str  # the words that made it a claim, e.g. "must be"
    entities: tuple[str, ...]  # resource ids, paths, hosts, environment names it is about


@dataclass(frozen=True, slots=True)
class Constraint:
    """An instruction of the user's, found in one user message."""

    kind: ConstraintKind
    text: str
    span: Span
    cue: str
    scope: tuple[str, ...]  # what it covers: environments ("production"), targets, verbs ("delete")


class Family(StrEnum):
    FILES = "files"
    GIT = "git"
    DATABASE = "database"
    IAC = "iac"
    KUBERNETES = "kubernetes"
    CLOUD = "cloud"  # aws, gcloud, az
    HTTP = "http"  # curl/wget/httpie REST and GraphQL calls
    PLATFORM = "platform"  # railway, heroku, vercel, fly, supabase, netlify
    TOOL = "tool"  # non-shell tools: file writes, MCP tools


class Reversibility(StrEnum):
    REVERSIBLE = "reversible"  # undo is routine (git revert of a commit, re-create a pod)
    RECOVERABLE = "recoverable"  # only with effort or luck (reflog, trash, snapshots)
    IRREVERSIBLE = "irreversible"  # data is gone (rm -rf, DROP, volume delete)


class InspectKind(StrEnum):
    """Read-only steps that count as checking a target or scope before acting on it."""

    LISTING = "listing"  # ls, du, find without -delete, stat, tree
    STATUS = "status"  # git status/diff/log, git clean -n
    DESCRIBE = "describe"  # kubectl get/describe, aws describe-*/list-*/get-*, gcloud describe
    CONTEXT = "context"  # kubectl config current-context, aws sts get-caller-identity, railway status
    PLAN = "plan"  # terraform/tofu plan, pulumi preview, --dry-run, -n
    QUERY = "query"  # SELECT / COUNT, GraphQL query (not mutation), HTTP GET
    READ = "read"  # cat/head/Read tool of a file


@dataclass(frozen=True, slots=True)
class Step:
    """One simple command of a tool call after splitting ``&&``, ``;``, pipes and wrappers."""

    argv: tuple[str, ...]
    destructive: bool
    family: Family | None
    operation: str | None  # e.g. "rm", "git reset --hard", "volumeDelete", "rds.delete-db-instance"
    targets: tuple[str, ...]
    inspects: InspectKind | None  # set when this step is a read-only check


@dataclass(frozen=True, slots=True)
class Action:
    """What one tool call does, classified. ``steps`` keeps each simple command."""

    tool: str
    command: str | None  # the shell command line, when the tool runs one
    steps: tuple[Step, ...]
    destructive: bool
    family: Family | None  # of the most dangerous step
    reversibility: Reversibility
    operations: tuple[str, ...]  # of the destructive steps (all steps when none is destructive)
    targets: tuple[str, ...]  # ids, paths, names, URLs the call acts on
    force_flags: tuple[str, ...]  # "-y", "--force", "-auto-approve", "--quiet", "2>/dev/null"…
    environments: tuple[str, ...]  # normalized hints: "production", "staging", "development", "test"
    credentials: tuple[str, ...]  # token variables used ("RAILWAY_API_TOKEN") and sourced files
    inspects: tuple[InspectKind, ...]  # kinds of read-only checks the call makes
    inspected: tuple[str, ...]  # the targets those checks look at
    read_only: bool  # no step mutates anything
    summary: str  # "deletes Railway volume vol_3f9a… (GraphQL volumeDelete)"


@dataclass(frozen=True, slots=True)
class Effect:
    """What a cloud audit record says happened, normalized across CloudTrail, GCP, k8s, Railway."""

    event_id: str
    source: str
    native_id: str
    name: str  # operation: "volumeDelete", "volume_instance.deleted", "DeleteTrail", "delete"
    resource: str | None  # the main resource id or name the record is about
    identifiers: frozenset[str]  # every resource id the record names (for correlation)
    destructive: bool
    backup: bool  # the record destroys a backup or snapshot
    environment: str | None  # environment / namespace / project id the resource lived in
    cause: str | None  # the record that triggered this one (cascades), when the source says so
    credential: str | None  # token id / access key marker that made the call
    user_agent: str | None
    cli_command: str | None  # aws-cli / gcloud command from the user agent
