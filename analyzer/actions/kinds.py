"""Short names for the ``Family``, ``Reversibility`` and ``InspectKind`` members the handlers use."""

from __future__ import annotations

from analyzer.nodes import Family, InspectKind, Reversibility

FILES, GIT, DATABASE, IAC = Family.FILES, Family.GIT, Family.DATABASE, Family.IAC
KUBERNETES, CLOUD, HTTP, PLATFORM, TOOL = (Family.KUBERNETES, Family.CLOUD, Family.HTTP,
                                           Family.PLATFORM, Family.TOOL)
REVERSIBLE, RECOVERABLE, IRREVERSIBLE = (Reversibility.REVERSIBLE, Reversibility.RECOVERABLE,
                                         Reversibility.IRREVERSIBLE)
LISTING, STATUS, DESCRIBE, CONTEXT, PLAN, QUERY, READ = (
    InspectKind.LISTING, InspectKind.STATUS, InspectKind.DESCRIBE, InspectKind.CONTEXT,
    InspectKind.PLAN, InspectKind.QUERY, InspectKind.READ)
_SEVERITY = {REVERSIBLE: 0, RECOVERABLE: 1, IRREVERSIBLE: 2}
