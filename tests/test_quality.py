"""The code base stays typed (mypy --strict) and linted (ruff): checked with the tests."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_is_clean() -> None:
    result = run_tool("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean() -> None:
    result = run_tool("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_imports_point_one_way() -> None:
    """ingest → analyzer → dashboards → api: nothing imports api, ingest imports no later layer."""
    layers = ["ingest", "analyzer", "dashboards", "api"]
    for rank, package in enumerate(layers):
        later = layers[rank + 1:]
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text()
            for name in later:
                assert f"from {name}" not in text and f"import {name}" not in text, (path, name)
