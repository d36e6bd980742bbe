"""Fixed wording of the post-mortem: contributing factors and action items per rule.

Kept apart from the derivation so the wording can be reviewed (and translated) in one place.
Factor texts get the finding's own facts filled in by ``dashboards.report.build``.
"""

from __future__ import annotations

# rule -> contributing-factor title
FACTOR_TITLES: dict[str, str] = {
    "unverified-assumption": "Acted on an unverified belief",
    "constraint-violated": "A constraint the user gave was ignored",
    "environment-mismatch": "The call reached an environment the task was not about",
    "backups-destroyed": "Backups in the same failure domain as the data",
    "error-escalation": "A failed step was answered with a destructive call",
    "unchecked-precondition": "The plan went on after a failed step",
    "credential-foraging": "Token scope reached beyond the task",
    "false-success": "A failed step was treated as success",
    "force-flags": "Confirmations bypassed with force flags",
}

NO_CONFIRMATION = "No confirmation before an irreversible call"
# Rules that only fire when the user did not approve the call (see analyzer.rules.is_consented).
UNCONFIRMED_RULES = frozenset({"unverified-assumption", "error-escalation"})

# rule -> the action item that removes the condition (blameless: fix the system, not the agent)
ACTION_ITEMS: dict[str, str] = {
    "unverified-assumption": (
        "Require a read-only check of the target before irreversible calls: run agents with the "
        "Blackbox pre-flight guard (`blackbox hook claude-code` as a PreToolUse hook), which asks or "
        "denies destructive calls whose target was never checked."),
    "constraint-violated": (
        "Turn the user's constraint into guard policy (`deny_commands` in the guard policy file) so "
        "it holds even when the agent loses track of it."),
    "environment-mismatch": (
        "Separate environments by credential: give the agent a token that can only reach the "
        "environment of its task (per-environment project tokens), never one that also reaches "
        "production."),
    "backups-destroyed": (
        "Keep backups outside the failure domain of the data they protect (another project or "
        "account, retention that survives deleting the resource) and test a restore."),
    "error-escalation": (
        "Stop on credential and permission errors: instruct agents to report them and ask, and keep "
        "the guard's `ask_risk` threshold so a destructive call right after a failure needs a human."),
    "unchecked-precondition": (
        "Make a failed step stop the plan: the agent must re-check the state before the next "
        "mutating call on the same target."),
    "credential-foraging": (
        "Remove long-lived tokens from the repository and working tree (e.g. `.env` files "
        "outside the task), and scope the ones agents may use to their task."),
    "false-success": (
        "Check results before reporting success: require the agent to verify the outcome (exit "
        "status, a test, an HTTP status) and flag claims that contradict a failed step."),
    "force-flags": (
        "Forbid confirmation-bypassing flags for agents (guard policy `deny_commands`), so the "
        "tool's own confirmation stays in the loop."),
}

PRIORITY = {"critical": "P0", "high": "P1"}  # everything else: P2
