"""Typed settings, read lazily from the environment (``BLACKBOX_*``) on first use."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BLACKBOX_", extra="ignore")

    db: str = Field("sqlite:///./blackbox.db", description="Log database URL (sqlite or postgresql)")
    analysis_db: str | None = Field(
        None, description="Analysis projections' database URL; default: for a SQLite log a file "
        "beside it (NAME.analysis.db), for PostgreSQL the log's database")
    host: str = Field("127.0.0.1", description="Address `blackbox serve` binds")
    port: int = Field(8765, ge=1, le=65535)
    max_body_bytes: int = Field(32 * 1024 * 1024, ge=1024, description="Largest request body")
    max_json_depth: int = Field(64, ge=4, le=500, description="Deepest JSON nesting accepted")
    max_field_bytes: int = Field(4 * 1024 * 1024, ge=1024,
                                 description="Longest single string value of a record")
    chunk_events: int = Field(1000, ge=1, description="Records mapped and appended per chunk")
    risk_threshold: float = Field(0.5, ge=0.0, le=1.0,
                                  description="Risk at which a session is flagged (default: the model's)")
    guard_policy: str | None = Field(
        None, description="TOML file of the pre-flight guard's policy (default: safe built-ins)"
    )
    redaction_key: str | None = Field(
        None, description="Key of the secret-marker hash; default: a random key kept in the log DB"
    )
    public_url: str = Field("http://127.0.0.1:8765",
                            description="Base URL people open; alert links point at its /sessions/{id}")
    webhook_allow_private: bool = Field(
        False, description="Allow webhook URLs on private, loopback or link-local addresses")
    webhook_timeout: float = Field(5.0, gt=0, le=60, description="Seconds per webhook request phase")
    webhook_max_attempts: int = Field(8, ge=1, le=100,
                                      description="Attempts per delivery before it is dead")
    webhook_backoff_base: float = Field(1.0, gt=0, description="Seconds: the first retry's backoff cap")
    webhook_backoff_max: float = Field(300.0, gt=0, description="Seconds: the largest backoff cap")
    analysis_nice: int = Field(
        10, ge=0, le=19, description="CPU niceness of `blackbox serve`'s analysis worker process: "
        "when ingest saturates the CPU, acknowledgements come first and analysis catches up "
        "(0: no preference); used where `analysis_idle` is off or not available")
    analysis_idle: bool = Field(
        True, description="Run `blackbox serve`'s analysis worker under SCHED_IDLE (Linux): it "
        "gets only CPU time nothing else wants, and gives it up at once when ingest needs it. "
        "Off: it runs at `analysis_nice`, which keeps a share of the CPU under a foreign load")
    analysis_pin: bool = Field(
        True, description="Keep the SCHED_IDLE analysis worker on one CPU (the last this process "
        "may use, where there are several): moved between CPUs by every task that preempts it, "
        "it slowed ingest's wake-ups; a worker replaced by a niced one is not pinned")


    @property
    def analysis_url(self) -> str:
        return self.analysis_db or analysis_url_beside(self.db)


def analysis_url_beside(db: str) -> str:
    """Where the analysis projections live by default, given the log's URL.

    A SQLite log keeps them in a file of their own: the analysis worker's transactions then
    never hold the write lock the log's writer needs (a stalled worker held up every append for
    the busy timeout), nor share its WAL (measured: +8% single-event ingest). They are derived
    data: deleting the file only makes the worker rebuild them from the log. PostgreSQL locks
    rows, not the database, so there they share the log's database."""
    prefix = "sqlite:///"
    if not db.startswith(prefix):
        return db
    path = Path(db[len(prefix):])
    return prefix + str(path.with_name(f"{path.stem}.analysis{path.suffix or '.db'}"))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
