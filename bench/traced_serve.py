"""``blackbox serve`` with the log writer timed: used by ``bench/ingest.py --profile`` only.

    python bench/traced_serve.py STATS.json serve --db sqlite:///PATH --port P

Wraps ``SqlRecorder.write`` (one group commit) and the dialect's ``do_commit`` to record, per
commit, wall time, the writer thread's CPU time and the events written; at exit (uvicorn shuts
down on SIGINT) the lists go to STATS.json. Wall minus CPU minus COMMIT is time the writer spent
waiting, mostly for the GIL. The measured runs never use this wrapper.
"""

from __future__ import annotations

import atexit
import json
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


def main(argv: list[str]) -> None:
    stats_path = Path(argv[0])
    atexit.register(lambda: stats_path.write_text(json.dumps(STATS)))
    install()
    from api.cli import main as cli

    sys.argv = ["blackbox", *argv[1:]]
    cli()


if __name__ == "__main__":
    main(sys.argv[1:])
