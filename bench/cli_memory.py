"""Memory of `blackbox ingest` on one large file: peak resident set size against the file's size.

    python bench/cli_memory.py [--copies 20] [--output BENCHMARKS.md]

The file: ``--copies`` copies of the shared Claude Code transcripts concatenated into one NDJSON
file, every uuid rewritten per copy (nothing dedupes). Each command runs in a fresh process over
a fresh SQLite log; its peak RSS is what the kernel reports for it when it exits (``wait4``'s
``ru_maxrss``, its own children included). The baseline is the same command on a one-line file:
what the process holds whatever the input (interpreter, libraries, the risk model). Target: the
growth over the baseline stays a small multiple of the input (before NDJSON was parsed lazily,
it was about 7 times the file).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.analysis import write_section  # noqa: E402
from bench.ingest import TRANSCRIPTS, git_state, rekey  # noqa: E402

BEGIN = "<!-- bench/cli_memory.py: begin (generated) -->"
END = "<!-- bench/cli_memory.py: end -->"
MB = 1024 * 1024


def one_file(path: Path, copies: int) -> int:
    """The concatenated copies; the number of lines."""
    sources = [p.read_bytes() for p in sorted(TRANSCRIPTS.rglob("*.jsonl"))]
    lines = 0
    with path.open("wb") as out:
        for copy in range(1, copies + 1):
            for data in sources:
                chunk = rekey(data, copy)
                out.write(chunk if chunk.endswith(b"\n") else chunk + b"\n")
                lines += chunk.count(b"\n") + (not chunk.endswith(b"\n"))
    return lines


def peak_rss(path: Path, db: Path) -> tuple[int, float, str]:
    """Peak RSS in bytes, wall seconds and the JSON report of one `blackbox ingest`."""
    cmd = [sys.executable, "-m", "api.cli", "ingest", str(path), "--db", f"sqlite:///{db}", "--json"]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    report = proc.stdout.read().decode()
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"blackbox ingest {path} exited with {proc.returncode}: {report}")
    return usage.ru_maxrss * 1024, time.perf_counter() - started, report  # Linux: KiB


def section(copies: int, size: int, lines: int, base: int, peak: int, seconds: float) -> str:
    growth = peak - base
    return "\n".join([
        BEGIN, "## Memory of `blackbox ingest` on one large file (`bench/cli_memory.py`)", "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, command "
        f"`python bench/cli_memory.py --copies {copies}`, code {git_state()}. One NDJSON file of "
        f"{copies} copies of the shared Claude Code transcripts (uuids rewritten per copy): "
        f"{size / MB:,.1f} MiB, {lines:,} lines. Peak RSS of the whole command as the kernel "
        "reports it at exit; baseline: the same command on a one-line file.", "",
        "| input | peak RSS | baseline | growth over baseline | growth ÷ input | wall time |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {size / MB:,.1f} MiB | {peak / MB:,.0f} MiB | {base / MB:,.0f} MiB | "
        f"{growth / MB:,.0f} MiB | {growth / size:.2f} times | {seconds:.1f} s |", END])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        big, small = Path(tmp) / "large.jsonl", Path(tmp) / "one.jsonl"
        lines = one_file(big, args.copies)
        with big.open("rb") as source:
            small.write_bytes(source.readline())
        base, _seconds, _report = peak_rss(small, Path(tmp) / "small.db")
        peak, seconds, report = peak_rss(big, Path(tmp) / "large.db")
        print(report)
        text = section(args.copies, big.stat().st_size, lines, base, peak, seconds)
    print(text)
    if args.output:
        write_section(args.output, text, BEGIN, END)


if __name__ == "__main__":
    main()
