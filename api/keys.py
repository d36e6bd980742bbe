"""API keys: scoped, stored hashed, shown once at creation.

Keys are 256-bit random tokens, so a plain SHA-256 (not a slow password hash) is the right
storage: nothing to brute-force, and a lookup stays cheap on every request.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import exc as sa_exc
from sqlmodel import Field, Session, SQLModel, col, create_engine, select

from ingest.errors import AuthError, ConfigError, ScopeError, StorageError
from ingest.log.engines import normalize_url

KEY_PREFIX = "bbx_"
_CACHE_SECONDS = 2.0  # a revoked key stops working within this long


class Scope(StrEnum):
    INGEST = "ingest"  # append only
    READ = "read"
    ADMIN = "admin"  # everything


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"

    id: str = Field(primary_key=True)
    name: str
    key_hash: str = Field(index=True, unique=True)
    scopes: str
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str | None  # None: open local mode (no keys exist yet)
    scopes: frozenset[Scope]

    def require(self, scope: Scope) -> None:
        if scope not in self.scopes and Scope.ADMIN not in self.scopes:
            raise ScopeError(f"this key lacks the {scope.value!r} scope")


OPEN_LOCAL = Principal(None, frozenset(Scope))


class KeyStore:
    def __init__(self, db_url: str) -> None:
        self._engine = create_engine(normalize_url(db_url))
        self._lock = threading.Lock()
        self._cache: dict[str, Principal | None] = {}
        self._any: bool | None = None
        self._loaded_at = 0.0
        try:
            SQLModel.metadata.create_all(self._engine, tables=[ApiKey.__table__])  # type: ignore[attr-defined]
        except sa_exc.SQLAlchemyError as exc:
            raise StorageError(f"could not create the key table: {exc}") from None

    def create(self, scopes: list[Scope], name: str = "") -> tuple[ApiKey, str]:
        """A new key; the plain token is returned once and never stored."""
        if not scopes:
            raise ConfigError("a key needs at least one scope")
        token = KEY_PREFIX + secrets.token_urlsafe(32)
        key = ApiKey(id=secrets.token_hex(6), name=name, key_hash=_hash(token),
                     scopes=",".join(sorted(s.value for s in set(scopes))),
                     created_at=datetime.now(UTC))
        with Session(self._engine) as session:
            session.add(key)
            session.commit()
            session.refresh(key)
        self._invalidate()
        return key, token

    def list(self) -> list[ApiKey]:
        with Session(self._engine) as session:
            return list(session.exec(select(ApiKey).order_by(col(ApiKey.created_at))))

    def revoke(self, key_id: str) -> bool:
        with Session(self._engine) as session:
            key = session.get(ApiKey, key_id)
            if key is None or key.revoked_at is not None:
                return False
            key.revoked_at = datetime.now(UTC)
            session.add(key)
            session.commit()
        self._invalidate()
        return True

    def any_keys(self) -> bool:
        self._refresh_if_stale()
        return bool(self._any)

    def authenticate(self, token: str | None) -> Principal:
        """The principal of a presented token; open local mode while no key exists at all."""
        if not self.any_keys():
            return OPEN_LOCAL
        if not token:
            raise AuthError("an API key is required (Authorization: Bearer <key>)")
        principal = self._lookup(_hash(token))
        if principal is None:
            raise AuthError("unknown or revoked API key")
        return principal

    def _lookup(self, key_hash: str) -> Principal | None:
        if key_hash in self._cache:
            return self._cache[key_hash]
        with Session(self._engine) as session:
            key = session.exec(select(ApiKey).where(ApiKey.key_hash == key_hash)).first()
        principal = None if key is None or key.revoked_at else _principal(key)
        with self._lock:
            self._cache[key_hash] = principal
        return principal

    def _refresh_if_stale(self) -> None:
        if self._any is not None and time.monotonic() - self._loaded_at < _CACHE_SECONDS:
            return
        with Session(self._engine) as session:
            any_key = session.exec(select(ApiKey.id).limit(1)).first() is not None
        with self._lock:
            self._cache.clear()
            self._any, self._loaded_at = any_key, time.monotonic()

    def _invalidate(self) -> None:
        with self._lock:
            self._any = None
            self._cache.clear()

    def close(self) -> None:
        self._engine.dispose()


def _principal(key: ApiKey) -> Principal:
    return Principal(key.id, frozenset(Scope(s) for s in key.scopes.split(",") if s))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
