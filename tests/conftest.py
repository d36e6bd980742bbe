from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.services import Services
from ingest.log import EventLog, open_log
from ingest.pipeline import Preparer
from ingest.redact import Redactor
from ingest.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


# Shared fixtures: a test module that needs other settings defines its own ``services`` (the
# ``client`` then serves that one), or its own ``log``.

@pytest.fixture
def log(tmp_path: Path) -> Iterator[EventLog]:
    """A fresh SQLite log."""
    opened = open_log(f"sqlite:///{tmp_path / 'log.db'}")
    yield opened
    opened.close()


@pytest.fixture
def preparer() -> Preparer:
    return Preparer(Redactor(b"k" * 32), max_depth=64, chunk_size=500)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    """The services of a process over a fresh SQLite database, default settings."""
    opened = Services.open(Settings(db=f"sqlite:///{tmp_path / 'api.db'}"))
    yield opened
    opened.close()


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    """An in-process app over ``services`` (workers as threads), for the length of a test."""
    with TestClient(create_app(services=services)) as test_client:
        yield test_client
