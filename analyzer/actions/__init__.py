"""Tool calls → ``Action`` nodes: what one call does, how bad it would be, and what it checks.

``classify(tool, tool_input)`` is called on every tool call of every session, while streaming and
on rebuilds, so it is built to be cheap and total: it never raises (a bug falls back to a
non-destructive action) and caches per command line.

How a call is read:

* Shell calls (Claude Code ``Bash``, Codex ``shell``/``exec_command`` with a string or an argv
  list, OTel and trajectory tools with a ``command``/``cmd`` field) are split by
  ``analyzer.shell`` into simple commands, wrappers already unwrapped. Program *runners* whose
  meaning lies in the command they run (``railway run --``, ``kubectl exec --``, ``docker exec``,
  ``npx``, ``bundle exec``, ``ssh host CMD``, ``dotenv --``) are unwrapped here, their
  environment and credential hints carried over to the inner command.
* Each command goes to a handler picked by program name from the ``PROGRAMS`` table of its
  family's module (``files``, ``git``, ``databases``, ``iac``, ``kubernetes``, ``cloud``, ``http``
  for HTTP/GraphQL, ``platforms``): one small function per program, which returns a
  ``_Verdict``: the ``Step`` plus what does not fit in it (whether it mutates,
  reversibility, force flags, environment hints, credentials, a phrase for the summary).
  Unknown programs mutate (conservatively: not read-only) but are not destructive.
* Generic passes then add what any command can carry: ``$TOKEN``-like variables and sourced
  secret files (credentials); environment words in ``--environment``/``--context``-style flags,
  URL hosts and ``RAILS_ENV=``-style assignments; force flags; ``> file`` truncation (its own
  destructive step, RECOVERABLE: the file may not have existed); ``2>/dev/null`` and ``|| true``
  (silencing, reported as force flags); ``--dry-run`` turns a mutation into a PLAN check.
* Non-shell tools: ``Write``/``NotebookEdit`` (operation ``write``), ``Edit``/``MultiEdit``,
  ``Read``, ``Glob``/``Grep``/``LS``, ``WebFetch``, Codex ``apply_patch`` (``*** Delete File``
  is destructive), SQL or GraphQL carried in a tool input, and any other tool by the words of its
  name (``mcp__db__drop_table``, ``DeleteFile``: destructive; ``EmailSend``: mutates).

Conventions callers rely on:

* ``reversibility`` of an action is that of its worst destructive step (REVERSIBLE when none is).
  ``rm`` of well-known regenerable build/cache paths (``build``, ``dist``, ``node_modules``,
  ``__pycache__``, ``/tmp/...``) is RECOVERABLE; other deletions are IRREVERSIBLE.
* A dangerous *path* is reported in ``force_flags`` as ``"risky-path:<reason>"`` (reasons:
  ``root``, ``home``, ``cwd``, ``system-dir``, ``unexpanded-variable``), the path itself being in
  ``targets``. ``rm -rf $DIR/`` with ``$DIR`` unset is the classic.
* ``credentials`` holds variable names (``RAILWAY_API_TOKEN``), sourced secret files
  (``scripts/domains/.env``), ``profile:NAME`` for ``--profile``, and flag names (``--token``)
  or ``header:Authorization`` for literal secrets; never a secret's value.
* ``environments`` are normalized (``production``, ``staging``, ``development``, ``test``) from
  whole words only: ``prod-cluster`` is production, ``product`` is not.

Cost: a short command takes ~20-40 µs the first time (lexing and building frozen nodes dominate),
about 1 µs when the same (tool, line) was seen before (``lru_cache`` of 8192 lines); non-shell
tools take ~5 µs. Railway's operation list is loaded once, on the first GraphQL call.

Layout: the modules of this package share their ``_``-prefixed names with each other (the package
is the unit of privacy); only ``classify`` is public. ``kinds``, ``options`` and ``verdicts`` are
what every handler builds on, ``programs`` merges the families' tables, ``runners`` unwraps
``railway run``-style commands, ``passes`` adds what any command can carry, ``shell_calls`` and
``tools`` build the ``Action``, ``classifier`` is the entry point.
"""

from __future__ import annotations

# The private names below are what tests/test_actions.py reaches through the package.
from analyzer.actions.classifier import _classify as _classify
from analyzer.actions.classifier import classify
from analyzer.actions.http import _destructive_name as _destructive_name
from analyzer.actions.http import _railway_operations as _railway_operations
from analyzer.actions.passes import _environments as _environments

__all__ = ["classify"]
