"""The report's formats: no markup or secret gets through from the log, Markdown is well formed,
the figure's PNG is written beside the Markdown or its absence explained, and the HTML renders
(and prints) in a real browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from markdown_it import MarkdownIt

from api.cli import main
from dashboards.report import figure as figure_module
from dashboards.report import service
from dashboards.report.figure import Png
from dashboards.report.model import FigureData, PostMortem
from tests.test_analyzer_incidents import INCIDENT, TWIN, incident_files, ingest, label

AWS_KEY = "AKIAQYLPMN5HFIQR7XYZ"
HOSTILE = '<script>alert("owned")</script> <img src=x onerror=alert(1)> | *bold* [link](http://evil.example)'


def cli(*args: str) -> tuple[str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout, result.stderr


def hostile_incident(tmp_path: Path, shared_data: Path) -> tuple[str, str]:
    """The shared incident with markup in the agent's words and an AWS key in the user's task."""
    lines = (shared_data / INCIDENT / "transcript.jsonl").read_text().splitlines()
    edited = []
    for line in lines:
        record = json.loads(line)
        content = record.get("message", {}).get("content")
        if isinstance(content, str) and "bookings page" in content:
            record["message"]["content"] = f"(key {AWS_KEY}) " + content
        elif isinstance(content, list) and "must be the staging volume" in json.dumps(content):
            content[0]["thinking"] = content[0]["thinking"].replace("Deleting it", f"{HOSTILE} Deleting it")
        edited.append(json.dumps(record))
    transcript = tmp_path / "transcript.jsonl"
    transcript.write_text("\n".join(edited) + "\n")
    db = f"sqlite:///{tmp_path / 'hostile.db'}"
    ingest(db, transcript, shared_data / INCIDENT / "railway-audit.json")
    return db, label(shared_data, INCIDENT)["session_id"]


def test_agent_markup_and_secrets_never_reach_either_format(tmp_path: Path, shared_data: Path) -> None:
    db, session_id = hostile_incident(tmp_path, shared_data)
    html, _ = cli("report", session_id, "--db", db, "--format", "html")
    md, _ = cli("report", session_id, "--db", db, "--format", "md")
    assert "alert(&#34;owned&#34;)" in html  # the agent's words are there, escaped
    assert '<script>alert("owned")' not in html and "<img src=x" not in html
    assert "). &lt;script&gt;alert…" in html  # the figure's hover text (shortened), escaped too
    assert "\\u003cscript" not in html  # (plotly would have hidden a raw "<" in its JSON this way)
    assert "\\<script\\>" in md and not re.search(r"(?<!\\)<(script|img)", md)  # only escaped ones
    assert "\\[link\\](http://evil.example)" in md  # no link made of the agent's words
    for text in (html, md):
        assert AWS_KEY not in text
        assert "REDACTED:" in text  # the marker the log holds instead, and only that


def _tables(md: str) -> list[list[str]]:
    """Consecutive lines that start with a pipe: one list per table."""
    tables: list[list[str]] = []
    current: list[str] = []
    for line in [*md.splitlines(), ""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    return tables


def _cells(row: str) -> int:
    """Cells of a GFM table row: split on pipes that are not escaped."""
    unescaped = row.replace("\\\\", "").replace("\\|", "")
    return unescaped.strip().strip("|").count("|") + 1


def assert_well_formed(md: str) -> None:
    tokens = MarkdownIt("commonmark").enable("table").parse(md)
    kinds = [t.type for t in tokens]
    assert "html_block" not in kinds
    assert not [c for t in tokens for c in (t.children or []) if c.type == "html_inline"]
    tables = _tables(md)
    assert kinds.count("table_open") == len(tables)  # every pipe block parsed as a table
    for table in tables:
        width = _cells(table[0])
        assert all(_cells(row) == width for row in table), table
    rows = [t for t in tokens if t.type == "tr_open"]
    assert len(rows) == sum(len(t) - 1 for t in tables)  # minus the delimiter rows
    fences = [line for line in md.splitlines() if line.startswith("```")]
    assert len(fences) % 2 == 0 and kinds.count("fence") == len(fences) // 2
    assert md.endswith("\n") and "\n\n\n" not in md


def test_markdown_is_well_formed(tmp_path: Path, shared_data: Path) -> None:
    db, session_id = hostile_incident(tmp_path, shared_data)
    md, _ = cli("report", session_id, "--db", db, "--format", "md")
    assert_well_formed(md)
    twin_db = f"sqlite:///{tmp_path / 'twin.db'}"
    ingest(twin_db, *incident_files(shared_data, TWIN))
    twin_md, _ = cli("report", label(shared_data, TWIN)["session_id"], "--db", twin_db, "--format", "md")
    assert_well_formed(twin_md)


def test_a_markdown_file_gets_its_figure_beside_it(tmp_path: Path, shared_data: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    db = f"sqlite:///{tmp_path / 'p.db'}"
    ingest(db, *incident_files(shared_data, INCIDENT))
    session_id = label(shared_data, INCIDENT)["session_id"]
    fake = b"\x89PNG\r\n\x1a\nnot really"

    def exported(pm: PostMortem) -> Png:
        assert pm.figure.marks and pm.figure.curve  # it is asked for the incident's figure
        return Png(fake, None)

    monkeypatch.setattr(service, "_figure_png", exported)
    out = tmp_path / "postmortem.md"
    cli("report", session_id, "--db", db, "--format", "md", "-o", str(out))
    assert (tmp_path / "postmortem.png").read_bytes() == fake
    assert "](postmortem.png)" in out.read_text() and "Figure omitted" not in out.read_text()


def test_a_failed_export_is_explained_in_the_markdown(tmp_path: Path, shared_data: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    db = f"sqlite:///{tmp_path / 'p.db'}"
    ingest(db, *incident_files(shared_data, INCIDENT))
    monkeypatch.setattr(service, "_figure_png", lambda pm: Png(None, "no browser for the export"))
    out = tmp_path / "postmortem.md"
    cli("report", label(shared_data, INCIDENT)["session_id"], "--db", db, "--format", "md", "-o", str(out))
    assert not (tmp_path / "postmortem.png").exists()
    assert "**Figure omitted:** no browser for the export." in out.read_text()


def test_the_exporter_reports_a_missing_kaleido(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_kaleido(name: str, *args: object, **kwargs: object) -> object:
        if name == "kaleido":
            raise ImportError("no kaleido")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_kaleido)
    png = figure_module.figure_png(FigureData((), (), 0.5, None))
    assert png.data is None and png.reason == "the image exporter (kaleido) is not installed"


def _chromium() -> str:
    """Debian's chromium, which the browser tests need (.ci/run installs it): missing, they fail."""
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is required (.ci/run installs it)"
    return executable


@pytest.mark.slow
def test_html_renders_and_prints_in_a_browser(tmp_path: Path, shared_data: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    ingest(db, *incident_files(shared_data, INCIDENT))
    page = tmp_path / "report.html"
    cli("report", label(shared_data, INCIDENT)["session_id"], "--db", db, "-o", str(page))
    browser = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--no-pdf-header-footer"]
    shot, pdf = tmp_path / "report.png", tmp_path / "report.pdf"
    subprocess.run([*browser, f"--screenshot={shot}", "--window-size=1200,3000", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    subprocess.run([*browser, f"--print-to-pdf={pdf}", page.as_uri()], check=True, capture_output=True,
                   timeout=120)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 20_000


@pytest.mark.slow
def test_the_real_exporter_makes_a_png(tmp_path: Path, shared_data: Path) -> None:
    _chromium()  # kaleido (in the test extra) drives it
    db = f"sqlite:///{tmp_path / 'k.db'}"
    ingest(db, *incident_files(shared_data, INCIDENT))
    out = tmp_path / "pm.md"
    cli("report", label(shared_data, INCIDENT)["session_id"], "--db", db, "--format", "md", "-o", str(out))
    assert (tmp_path / "pm.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "](pm.png)" in out.read_text()
