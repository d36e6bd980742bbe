"""Typed settings, read lazily from the environment (``BLACKBOX_*``) on first use."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BLACKBOX_", extra="ignore")

    db: str = Field("sqlite:///./blackbox.db", description="Log database URL (sqlite or postgresql)")
    host: str = Field("127.0.0.1", description="Address `blackbox serve` binds")
    port: int = Field(8765, ge=1, le=65535)
    max_body_bytes: int = Field(32 * 1024 * 1024, ge=1024, description="Largest request body")
    max_json_depth: int = Field(64, ge=4, le=500, description="Deepest JSON nesting accepted")
    max_field_bytes: int = Field(4 * 1024 * 1024, ge=1024,
                                 description="Longest single string value of a record")
    chunk_events: int = Field(1000, ge=1, description="Records mapped and appended per chunk")
    redaction_key: str | None = Field(
        None, description="Key of the secret-marker hash; default: a random key kept in the log DB"
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
