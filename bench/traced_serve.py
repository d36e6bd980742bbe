"""``blackbox serve`` with the log writer timed: used by ``bench/ingest.py --profile`` only.

    python bench/traced_serve.py STATS.json serve --db sqlite:///PATH --port P

The server commits in a writer process (``ingest.log.process``): its body is replaced by one that
wraps ``SqlRecorder.write`` (one group commit) and the dialect's ``do_commit`` to record, per
commit, wall time, the writer's CPU time and the events written, and writes the lists to
STATS.json when the writer stops (with the server). Wall minus CPU minus COMMIT is time the writer
spent waiting for a CPU. The measured runs never use this wrapper.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
# bench/ingest.py would shadow the package; the code under test is the working directory (where
# bench/ingest.py snapshots it), else the repository.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
sys.path.insert(0, str(Path.cwd() if (Path.cwd() / "ingest" / "__init__.py").exists() else BENCH.parent))

STATS: dict[str, list[float]] = {"write_ms": [], "write_cpu_ms": [], "commit_ms": [], "events": []}
STATS_ENV = "BLACKBOX_BENCH_WRITER_STATS"  # the writer process learns where to write from its environment


def timed(method: Callable[..., Any], wall: str, cpu: str | None) -> Callable[..., Any]:
    def wrapper(*args: Any) -> Any:
        started, cpu_started = time.perf_counter(), time.thread_time()
        try:
            return method(*args)
        finally:
            STATS[wall].append((time.perf_counter() - started) * 1000)
            if cpu is not None:
                STATS[cpu].append((time.thread_time() - cpu_started) * 1000)

    return wrapper


def install() -> None:
    from sqlalchemy.engine.default import DefaultDialect

    from ingest.log.sql import SqlRecorder

    write = timed(SqlRecorder.write, "write_ms", "write_cpu_ms")

    def counted(self: SqlRecorder, batches: Sequence[Sequence[Any]]) -> Any:
        STATS["events"].append(sum(len(batch) for batch in batches))
        return write(self, batches)

    SqlRecorder.write = counted  # type: ignore[method-assign]
    DefaultDialect.do_commit = timed(DefaultDialect.do_commit, "commit_ms", None)  # type: ignore[method-assign]


def traced_serve_writes(*args: Any) -> None:
    """The writer process's body, timed. Spawned by reference to this module (multiprocessing's
    spawn imports the parent's main script in the child), so the patches apply in the writer."""
    from ingest.log.process import serve_writes

    install()
    try:
        serve_writes(*args)
    finally:
        Path(os.environ[STATS_ENV]).write_text(json.dumps(STATS))


def main(argv: list[str]) -> None:
    os.environ[STATS_ENV] = str(Path(argv[0]).resolve())
    from ingest.log import process

    process.serve_writes = traced_serve_writes  # type: ignore[assignment]
    from api.cli import main as cli

    sys.argv = ["blackbox", *argv[1:]]
    cli()


if __name__ == "__main__":
    main(sys.argv[1:])
