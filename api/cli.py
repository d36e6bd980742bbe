"""The ``blackbox`` command. Exit status: 0 ok, 1 something rejected or a chain broken, 2 misuse.

Claude Code runs ``blackbox hook claude-code`` for every hook event, so importing this module
must stay cheap: FastAPI, SQLAlchemy, pydantic-settings and the pipeline are imported inside the
commands that need them (that halves the hook's start-up time, paid on every tool call).
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import orjson

from ingest.errors import BlackboxError, ConfigError

if TYPE_CHECKING:
    from api.services import Services
    from ingest.pipeline import IngestReport
    from ingest.settings import Settings
    from ingest.watch import Sink, Watcher

_AUTO = "auto"  # ingest.pipeline.AUTO
_SCOPES = ("ingest", "read", "admin")  # api.keys.Scope values (tests check they agree)
_INPUT_SUFFIXES = (".jsonl", ".json", ".ndjson", ".gz", ".log", ".csv")
_MAX_FILE_BYTES = 4 * 1024**3

db_option = click.option("--db", envvar="BLACKBOX_DB", default=None,
                         help="Log database URL (default: sqlite:///./blackbox.db).")
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@click.group()
def main() -> None:
    """Blackbox — the flight recorder for AI agents."""


def _settings(db: str | None, **overrides: Any) -> Settings:
    from ingest.settings import get_settings

    values = {"db": db, **overrides}
    return get_settings().model_copy(update={k: v for k, v in values.items() if v is not None})


@contextmanager
def _services(db: str | None) -> Iterator[Services]:
    from api.services import Services

    with _errors_exit():
        services = Services.open(_settings(db))
    try:
        yield services
    finally:
        services.close()


@contextmanager
def _errors_exit() -> Iterator[None]:
    try:
        yield
    except BlackboxError as exc:
        click.echo(f"blackbox: {exc}", err=True)
        sys.exit(2)


@main.command()
@db_option
@click.option("--host", default=None, help="Bind address (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8765).")
def serve(db: str | None, host: str | None, port: int | None) -> None:
    """Run the HTTP API: the server, its log writer process and its analysis worker process."""
    import uvicorn

    from api.app import create_app
    from api.transport import BlackboxHttpProtocol

    settings = _settings(db, host=host, port=port)
    with _errors_exit():
        refuse_open_bind(settings)
        app = create_app(settings)
    click.echo(f"blackbox: serving {settings.db} on http://{settings.host}:{settings.port}", err=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", workers=1,
                http=BlackboxHttpProtocol)


def refuse_open_bind(settings: Settings) -> None:
    """A non-loopback bind needs API keys: the open local mode must never face a network."""
    from api.keys import KeyStore

    if is_loopback(settings.host):
        return
    keys = KeyStore(settings.db)
    try:
        if not keys.any_keys():
            raise ConfigError(f"refusing to bind {settings.host}: no API keys exist; create one "
                              "with `blackbox keys create --scope admin` first")
    finally:
        keys.close()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return all(ipaddress.ip_address(info[4][0]).is_loopback
                   for info in socket.getaddrinfo(host, None))


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--format", "fmt", default=_AUTO, show_default=True,
              help="Source format, or auto to detect it from the content.")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE",
              help="A fact the records lack, e.g. cluster=prod for Kubernetes audit logs.")
@db_option
@json_option
def ingest(paths: tuple[str, ...], fmt: str, params: tuple[str, ...], db: str | None,
           as_json: bool) -> None:
    """Append the records of files (directories are searched) to the log."""
    files = list(_input_files(paths))
    given = _parse_params(params)
    with _services(db) as services:
        report = _ingest_files(services, files, fmt, given, progress=not as_json)
    if as_json:
        click.echo(orjson.dumps(_cli_report(report)).decode())
    else:
        _print_report(report, len(files))
    sys.exit(1 if report.errors else 0)


def _parse_params(params: tuple[str, ...]) -> dict[str, str]:
    pairs = [p.partition("=") for p in params]
    bad = [p for p, (_, sep, _) in zip(params, pairs, strict=True) if not sep]
    if bad:
        raise click.BadParameter(f"expected KEY=VALUE, got {bad[0]!r}", param_hint="--param")
    return {key: value for key, _, value in pairs}


def _input_files(paths: tuple[str, ...]) -> Iterator[Path]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file()
                              and p.name.endswith(_INPUT_SUFFIXES))
        else:
            yield path


def _ingest_files(services: Services, files: list[Path], fmt: str, params: dict[str, str], *,
                  progress: bool) -> IngestReport:
    from ingest.pipeline import IngestReport

    total = IngestReport(format=None if fmt == _AUTO else fmt)
    sizes = sum(path.stat().st_size for path in files)
    with click.progressbar(length=sizes, label="ingesting", file=sys.stderr,
                           hidden=not progress or sizes < 4 * 1024**2) as bar:
        for path in files:
            total.merge(_ingest_file(services, path, fmt, params, bar.update))
    return total


def _ingest_file(services: Services, path: Path, fmt: str, params: dict[str, str],
                 advance: Callable[[int], None]) -> IngestReport:
    """One file, chunk by chunk; ``advance`` is told how many of its bytes (on disk) are done."""
    from ingest.pipeline import IngestReport, commit_prepared
    from ingest.reader import read_path_bytes

    with _errors_exit():
        size = path.stat().st_size
        data = read_path_bytes(str(path), limit=_MAX_FILE_BYTES)
        chosen, chunks = services.preparer.prepare(data, fmt, origin=str(path), params=params)
        report, lines, done = IngestReport(format=chosen), data.count(b"\n") + 1, 0
        for prepared in chunks:
            report.add(prepared, commit_prepared(services.log, prepared))
            if prepared.through_line is not None:  # a line-based input: its share so far
                reached = min(size, size * prepared.through_line // lines)
                advance(reached - done)
                done = reached
        advance(size - done)
    return report


def _cli_report(report: IngestReport) -> dict[str, Any]:
    return {"appended": report.appended, "duplicates": report.duplicates,
            "rejected": report.rejected,
            "errors": [{"file": e.location, "line": e.line, "index": e.index, "field": e.field,
                        "reason": e.reason} for e in report.errors]}


def _print_report(report: IngestReport, files: int) -> None:
    for error in report.errors:
        click.echo(f"rejected: {error.describe()}", err=True)
    click.echo(f"{files} file(s): {report.appended} appended, {report.duplicates} duplicate, "
               f"{report.rejected} rejected")


@main.command()
@db_option
@json_option
def sessions(db: str | None, as_json: bool) -> None:
    """List recorded sessions, most recent first."""
    from api.routes.read import session_json

    with _services(db) as services:
        rows = [session_json(s) for s in services.log.sessions(limit=100_000)]
    if as_json:
        click.echo(orjson.dumps(rows).decode())
        return
    for row in rows:
        click.echo(f"{row['session_id']}  {row['source']:<12} {row['first_time']}  "
                   f"{row['event_count']:>6} events")


@main.command()
@click.argument("session_ids", nargs=-1, metavar="[SESSION]...")
@db_option
@json_option
@click.option("--flagged", is_flag=True, help="Only flagged sessions.")
def analyze(session_ids: tuple[str, ...], db: str | None, as_json: bool, flagged: bool) -> None:
    """Findings of the given sessions (default: all), brought up to date with the log first."""
    from api.routes.findings import session_verdict

    with _services(db) as services, _errors_exit():
        services.projector.catch_up()
        stored = services.findings.sessions(list(session_ids) or None)
    missing = set(session_ids) - {s.session_id for s in stored}
    if missing:
        click.echo(f"blackbox: no session {', '.join(sorted(missing))}", err=True)
        sys.exit(2)
    verdicts = [session_verdict(s) for s in stored if s.flagged or not flagged]
    if as_json:
        click.echo(orjson.dumps({"sessions": verdicts}).decode())
        return
    for verdict in verdicts:
        _print_verdict(verdict)


def _print_verdict(verdict: dict[str, Any]) -> None:
    flag = "FLAGGED" if verdict["flagged"] else "ok"
    click.echo(f"{verdict['session_id']}  {verdict['source']:<12} risk {verdict['risk']:.2f}  {flag}")
    for finding in verdict["findings"]:
        click.echo(f"  {finding['severity']:<8} {finding['rule']:<22} {finding['summary']}")


@main.command()
@db_option
def rebuild(db: str | None) -> None:
    """Recompute every finding and session verdict from the events alone."""
    import time

    with _services(db) as services, _errors_exit():
        started = time.perf_counter()
        count = services.projector.rebuild()
        elapsed = time.perf_counter() - started
    click.echo(f"rebuilt analysis of {count} events in {elapsed:.1f}s "
               f"({count / max(elapsed, 1e-9):,.0f} events/s)")


@main.command()
@click.option("--data", "shared", default=None, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The shared data folder (default: ../shared/data beside the project).")
def train(shared: Path | None) -> None:
    """Rebuild the risk model: analyzer/data/risk_model.{skops,json} and analyzer/MODEL.md."""
    from analyzer import training  # scikit-learn and the whole analyzer: only for this command

    with _errors_exit():
        metadata = training.train(shared or training.default_shared(), training.model_dir(),
                                  training.card_path())
    for source, found in metadata["metrics"]["held_out"].items():
        click.echo(f"{source} held out: F1 {found['f1']:.3f}, AUROC {found['auroc']}, "
                   f"Brier {found['brier']:.3f} ({found['n']} sessions)")
    click.echo(f"model written to {training.model_dir()} (data sha256 {metadata['data_sha256'][:16]}…)")


@main.command()
@click.option("--session", "session_id", required=True, help="Session id.")
@db_option
@json_option
def events(session_id: str, db: str | None, as_json: bool) -> None:
    """Print a session's events (``--json``: Blackbox JSONL, re-importable losslessly)."""
    from api.routes.read import recorded_json

    with _services(db) as services:
        after = 0
        while batch := services.log.read_session(session_id, after_position=after, limit=5000):
            for recorded in batch:
                _print_event(recorded_json(recorded), as_json)
            after = batch[-1].position


def _print_event(doc: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(orjson.dumps(doc).decode())
        return
    what = doc["tool_name"] or (doc["text"] or "").strip().replace("\n", " ")[:100]
    click.echo(f"{doc['log']['seq']:>6} {doc['time']} {doc['kind']:<16} {what}")


@main.command()
@click.argument("session_id", metavar="SESSION")
@click.option("--format", "fmt", type=click.Choice(["html", "md"]), default="html", show_default=True,
              help="HTML: one self-contained file. Markdown: GitHub-flavoured, figure as PNG beside it.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report here (default: stdout); a Markdown report's PNG goes beside it.")
@db_option
def report(session_id: str, fmt: str, output: Path | None, db: str | None) -> None:
    """Write the post-mortem of SESSION, and record in the log that it was generated (with its hash)."""
    from dashboards.report import Format, post_mortem, record, render

    chosen = Format(fmt)
    png_name = f"{output.stem}.png" if output is not None and chosen is Format.MD else None
    with _services(db) as services, _errors_exit():
        services.projector.catch_up()
        made = render(post_mortem(services.log, services.projector, session_id, policy=services.policy),
                      chosen, png_name=png_name)
        event = record(services.log, made)
    if output is None:
        sys.stdout.buffer.write(made.content)
        sys.stdout.buffer.flush()
    else:
        output.write_bytes(made.content)
        if made.figure_png is not None and png_name is not None:
            (output.parent / png_name).write_bytes(made.figure_png)
        click.echo(f"blackbox: report written to {output}", err=True)
    click.echo(f"blackbox: sha256 {made.sha256}, recorded as event {event.id}", err=True)


@main.command()
@db_option
@json_option
def verify(db: str | None, as_json: bool) -> None:
    """Recompute every hash chain; exit 1 naming the first broken event of each stream."""
    from api.routes.read import vars_of

    with _services(db) as services:
        report = services.log.verify()
    if as_json:
        click.echo(orjson.dumps({"ok": report.ok, "streams": report.streams,
                                 "events": report.events,
                                 "breaks": [vars_of(b) for b in report.breaks]}).decode())
    else:
        for brk in report.breaks:
            click.echo(f"BROKEN stream {brk.stream!r} at seq {brk.seq} (event {brk.event_id}, "
                       f"position {brk.position}): {brk.reason}", err=True)
        state = "OK" if report.ok else f"FAILED ({len(report.breaks)} broken stream(s))"
        click.echo(f"{state}: {report.events} events in {report.streams} streams checked")
    sys.exit(0 if report.ok else 1)


@main.group()
def keys() -> None:
    """Manage API keys (stored hashed; the key is shown once)."""


@keys.command("create")
@click.option("--scope", "scopes", multiple=True, required=True,
              type=click.Choice(_SCOPES), help="Repeat for several scopes.")
@click.option("--name", default="", help="A label for the key.")
@db_option
def keys_create(scopes: tuple[str, ...], name: str, db: str | None) -> None:
    from api.keys import KeyStore, Scope

    with _errors_exit():
        store = KeyStore(_settings(db).db)
        key, token = store.create([Scope(s) for s in scopes], name)
        store.close()
    click.echo(f"created key {key.id} ({key.scopes}); it is shown only now:", err=True)
    click.echo(token)


@keys.command("list")
@db_option
def keys_list(db: str | None) -> None:
    from api.keys import KeyStore

    with _errors_exit():
        store = KeyStore(_settings(db).db)
        for key in store.list():
            state = "revoked" if key.revoked_at else "active"
            click.echo(f"{key.id}  {key.scopes:<20} {state:<8} {key.name}")
        store.close()


@keys.command("revoke")
@click.argument("key_id")
@db_option
def keys_revoke(key_id: str, db: str | None) -> None:
    from api.keys import KeyStore

    with _errors_exit():
        store = KeyStore(_settings(db).db)
        revoked = store.revoke(key_id)
        store.close()
    if not revoked:
        click.echo(f"blackbox: no active key {key_id!r}", err=True)
        sys.exit(1)
    click.echo(f"revoked {key_id}")


@main.group()
def hook() -> None:
    """Record agent hook events (the agent runs this for each event; see the README)."""


@hook.command("claude-code")
@click.option("--server", envvar="BLACKBOX_SERVER", default=None,
              help="Blackbox server URL (default http://127.0.0.1:8765).")
@click.option("--fail-mode", type=click.Choice(["open", "closed"]), envvar="BLACKBOX_HOOK_FAIL_MODE",
              default="open", show_default=True,
              help="When the server is unreachable: allow (open) or deny (closed) tool calls.")
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Spool and offsets (default $BLACKBOX_STATE_DIR or ~/.local/state/blackbox).")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=2.0, show_default=True,
              help="Seconds to wait for the server (connect, and each read).")
def hook_claude_code(server: str | None, fail_mode: str, state_dir: Path | None,
                     timeout: float) -> None:
    """Read a Claude Code hook payload on stdin, record it, print the hook output on stdout.

    Ships the transcript lines written since the previous call first, so the log holds the
    reasoning before the call it led to. Unreachable server: the event is spooled and sent later.
    """
    from api import hook_client as hc

    mode = hc.FailMode(fail_mode)
    try:
        payload = hc.stamp(hc.parse_payload(sys.stdin.buffer.read()))
    except ValueError as exc:
        click.echo(f"blackbox hook: {exc}", err=True)
        sys.exit(2 if mode is hc.FailMode.CLOSED else 1)  # Claude Code: 2 blocks, 1 goes on
    config = hc.HookConfig(server=server or hc.DEFAULT_SERVER, fail_mode=mode, state_dir=state_dir,
                           api_key=os.environ.get("BLACKBOX_API_KEY") or None, timeout=timeout)
    try:
        output = hc.run_hook(payload, config)
    except Exception as exc:  # a full disk or a bug must still answer as the fail mode says
        output = hc.failure_output(hc.event_name(payload), mode, f"internal error: {exc!r}")
    click.echo(orjson.dumps(output).decode())


@main.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--server", default=None, help="Ship to this Blackbox server (else to the log of --db).")
@db_option
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where positions are kept (default $BLACKBOX_STATE_DIR or ~/.local/state/blackbox).")
@click.option("--interval", type=click.FloatRange(min=0.05), default=0.5, show_default=True,
              help="Seconds between passes.")
@click.option("--once", is_flag=True, help="One pass, then exit (1 if something could not be shipped).")
def watch(directory: Path, server: str | None, db: str | None, state_dir: Path | None,
          interval: float, once: bool) -> None:
    """Ship Claude Code transcripts under DIRECTORY (e.g. ~/.claude/projects) as they grow.

    New files are picked up; each line is shipped once, also across restarts (positions are kept
    in the state directory, per destination). Stops cleanly on SIGINT / SIGTERM.
    """
    from api.hook_client import default_state_dir, locked, make_state_dir

    if server and db and click.get_current_context().get_parameter_source("db") == \
            click.core.ParameterSource.COMMANDLINE:
        raise click.UsageError("give --server or --db, not both")
    state = make_state_dir(state_dir or default_state_dir())
    with locked(state / "watch.lock", wait=False) as mine:
        if not mine:
            click.echo(f"blackbox: another watcher uses {state}; give it its own --state-dir", err=True)
            sys.exit(2)
        with _watch_sink(server, db) as (sink, destination):
            watcher = _watcher(directory, state, sink, destination)
            click.echo(f"blackbox: watching {directory} -> {destination}", err=True)
            ok = watcher.scan() if once else _watch_until_signalled(watcher, interval)
    click.echo(f"blackbox: {watcher.shipped_lines} line(s) shipped", err=True)
    sys.exit(0 if ok else 1)


@contextmanager
def _watch_sink(server: str | None, db: str | None) -> Iterator[tuple[Sink, str]]:
    """Where the lines go: a server over HTTP, or the local log (durable when the sink returns)."""
    if server:
        from api.hook_client import Shipper
        from ingest.watch import CHUNK_BYTES

        with Shipper(server, api_key=os.environ.get("BLACKBOX_API_KEY") or None, timeout=30.0,
                     batch_bytes=CHUNK_BYTES) as shipper:
            yield shipper.sink, server
        return
    with _services(db) as services:
        yield _log_sink(services), services.settings.db


def _log_sink(services: Services) -> Sink:
    from ingest.pipeline import commit_prepared
    from ingest.watch import ShipFailed

    def sink(path: Path, lines: bytes) -> None:
        try:
            _, chunks = services.preparer.prepare(lines, "claude-code", origin=str(path))
            for prepared in chunks:
                commit_prepared(services.log, prepared)
        except BlackboxError as exc:  # database busy or gone: keep the position, retry later
            raise ShipFailed(str(exc)) from exc

    return sink


def _watcher(directory: Path, state: Path, sink: Sink, destination: str) -> Watcher:
    from ingest.watch import OffsetStore, Watcher

    # Positions per destination: watching into another log or server starts from the beginning.
    key = hashlib.sha256(_canonical_destination(destination).encode()).hexdigest()[:12]
    store = OffsetStore(state / "watch-offsets" / key)
    return Watcher(directory, store, sink, report=lambda msg: click.echo(f"blackbox watch: {msg}",
                                                                          err=True))


def _canonical_destination(destination: str) -> str:
    """A relative SQLite path names another file in another directory: resolve it."""
    prefix = "sqlite:///"
    if not destination.startswith(prefix):
        return destination
    path, sep, query = destination[len(prefix):].partition("?")
    return f"{prefix}{Path(path).resolve()}{sep}{query}"


def _watch_until_signalled(watcher: Watcher, interval: float) -> bool:
    def stop(_signum: int, _frame: object) -> None:
        watcher.stopped = True  # the chunk being shipped is finished and its position saved first

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    watcher.run(interval)
    return True


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
