"""Paths: how bad deleting them is (regenerable build output, temp files, or the root of the disk)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from analyzer.actions.kinds import IRREVERSIBLE, RECOVERABLE
from analyzer.actions.verdicts import _unique
from analyzer.nodes import Reversibility

_REGENERABLE = frozenset({
    "build", "dist", "node_modules", ".cache", "__pycache__", "target", ".pytest_cache", ".venv",
    "venv", ".tox", ".mypy_cache", ".ruff_cache", ".next", ".nuxt", ".turbo", ".parcel-cache",
    "coverage", "htmlcov", ".coverage", ".gradle", ".terraform", "_build", ".eggs", "out",
    ".svelte-kit", ".angular", "bower_components", ".DS_Store", ".nyc_output", "tmp", ".tmp"})
_REGENERABLE_SUFFIXES = (".pyc", ".pyo", ".o", ".class", ".egg-info")
_TEMP_PREFIXES = ("/tmp/", "/var/tmp/", "$TMPDIR", "${TMPDIR}", "/private/tmp/")
_SYSTEM_DIRS = frozenset({"/etc", "/usr", "/var", "/bin", "/sbin", "/lib", "/lib64", "/boot", "/opt", "/home",
                          "/root", "/srv", "/sys", "/proc", "/dev", "/mnt", "/Users", "/System", "/Library",
                          "/Applications", "c:/windows", "c:/users", "c:/program files", "/var/lib",
                          "/usr/local", "/var/log"})
_SAFE_VARIABLES = frozenset({"HOME", "PWD", "TMPDIR", "TMP", "TEMP", "USER"})
_LEADING_VARIABLE = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}?")
_DRIVE_ROOT = re.compile(r"^[a-zA-Z]:/?\*?$")


def _risky_reason(path: str) -> str | None:
    """Why deleting ``path`` is reckless, or None. ``/*``, ``~/`` and ``./**`` count as their root."""
    normal = path.strip().replace("\\", "/")
    bare = normal.rstrip("/*") if len(normal) > 1 else normal
    if (normal.startswith("/") and bare in ("", "/", "/.")) or _DRIVE_ROOT.match(normal):
        return "root"
    if bare in ("~", "$HOME", "${HOME}", "~/.", "$env:USERPROFILE", "%USERPROFILE%"):
        return "home"
    if bare in ("", "*", ".", "..", "./.", "$PWD", "${PWD}"):
        return "cwd"
    variable = _LEADING_VARIABLE.match(normal)
    if variable and variable.group(1) not in _SAFE_VARIABLES and ":?" not in variable.group(2):
        return "unexpanded-variable"
    if bare in _SYSTEM_DIRS or bare.lower() in _SYSTEM_DIRS:
        return "system-dir"
    return None


def _regenerable(path: str) -> bool:
    normal = path.replace("\\", "/")
    if normal.startswith(_TEMP_PREFIXES):
        return True
    parts = [part for part in normal.split("/") if part not in ("", ".", "..", "*")]
    return bool(parts) and (any(part in _REGENERABLE for part in parts)
                            or normal.rstrip("/").endswith(_REGENERABLE_SUFFIXES))


def _path_damage(paths: Sequence[str]) -> tuple[Reversibility, tuple[str, ...]]:
    """Reversibility of deleting ``paths`` and their ``risky-path:`` notes."""
    notes = _unique(f"risky-path:{reason}" for path in paths if (reason := _risky_reason(path)))
    recoverable = bool(paths) and not notes and all(_regenerable(path) for path in paths)
    return (RECOVERABLE if recoverable else IRREVERSIBLE), notes
