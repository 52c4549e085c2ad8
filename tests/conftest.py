"""Shared fixtures: a small temporary knowledge folder and database URLs (SQLite file, isolated PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.services import Services, build_services
from bot.settings import Settings
from bot.storage.db import create_engine_for, make_sessionmaker
from bot.storage.migrate import upgrade

# The embedding model costs tens of milliseconds per question: tests run the engine lexically unless they pass a
# model themselves (tests/kb/test_semantic.py).
os.environ.setdefault("KB_SEMANTIC", "off")
# Calibrations and embeddings are cached by content; tests keep theirs out of the user's cache folder.
os.environ.setdefault("KB_EMBEDDING_CACHE", os.path.join(tempfile.gettempdir(), "tro-ly-so-tests"))

CATEGORY_VNEID = """\
category: vneid
title: Định danh điện tử VNeID
entries:
  - id: vneid-cai-dat
    question: Cách cài đặt ứng dụng VNeID trên điện thoại?
    variants:
      - tải vneid ở đâu
      - cài app vneid thế nào
    answer: |
      Bạn tải ứng dụng **VNeID** trên CH Play hoặc App Store, rồi mở ứng dụng và làm theo hướng dẫn.
    tags: [vneid, cài đặt]
    source: https://vneid.gov.vn
  - id: vneid-kich-hoat-muc-2
    question: Làm sao kích hoạt tài khoản định danh điện tử mức 2?
    variants:
      - kích hoạt vneid mức 2 như thế nào
    answer: |
      Bạn mang căn cước công dân gắn chip đến công an phường để đăng ký tài khoản mức 2.
    tags: [vneid, kích hoạt]
  - id: vneid-quen-mat-khau
    question: Quên mật khẩu VNeID thì làm thế nào?
    variants:
      - lấy lại mật khẩu vneid
    answer: |
      Trên màn hình đăng nhập, chọn **Quên mật khẩu** và nhập số điện thoại đã đăng ký.
    tags: [vneid, mật khẩu]
"""

CATEGORY_BHYT = """\
category: bhyt
title: Bảo hiểm y tế
entries:
  - id: bhyt-gia-han
    question: Gia hạn thẻ bảo hiểm y tế hộ gia đình ở đâu?
    variants:
      - gia hạn bhyt hộ gia đình
    answer: |
      Bạn có thể gia hạn tại bưu điện, đại lý thu bảo hiểm hoặc trên ứng dụng VssID.
    tags: [bảo hiểm y tế, gia hạn]
  - id: bhyt-tra-cuu
    question: Tra cứu thời hạn thẻ bảo hiểm y tế như thế nào?
    variants:
      - kiểm tra hạn thẻ bhyt
    answer: |
      Bạn tra cứu trên ứng dụng VssID hoặc trang web của Bảo hiểm xã hội Việt Nam.
    tags: [bảo hiểm y tế, tra cứu]
  - id: bhyt-tre-em
    question: Trẻ em dưới 6 tuổi có được cấp thẻ bảo hiểm y tế miễn phí không?
    answer: |
      Có. Trẻ em dưới 6 tuổi được Nhà nước cấp thẻ bảo hiểm y tế miễn phí khi đăng ký khai sinh.
    tags: [bảo hiểm y tế, trẻ em]
"""


def write_knowledge(folder: Path) -> Path:
    """Write the two small test categories into ``folder`` and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vneid.yaml").write_text(textwrap.dedent(CATEGORY_VNEID), encoding="utf-8")
    (folder / "bhyt.yaml").write_text(textwrap.dedent(CATEGORY_BHYT), encoding="utf-8")
    return folder


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    """A temporary knowledge folder with 2 categories and 6 entries."""
    return write_knowledge(tmp_path / "knowledge")


@pytest.fixture(autouse=True)
def _knowledge_snapshot_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test's settings (and the processes it starts) keep the knowledge snapshot in its own temporary
    folder, never in the working tree's ``data/``."""
    monkeypatch.setenv("KNOWLEDGE_SNAPSHOT_DIR", str(tmp_path / "knowledge-snapshot"))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite database file in a temporary folder (not yet created)."""
    return f"sqlite:///{tmp_path / 'db' / 'bot.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose ``search_path`` is a fresh schema, dropped afterwards; skips without a server."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("TEST_DATABASE_URL not set: PostgreSQL tests need a server")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(make_url(base).set(drivername="postgresql+psycopg"))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each storage test runs on SQLite and on PostgreSQL (skipped when no server is configured)."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(fixture))


def migrated(url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on the database at ``url`` migrated to the newest revision; the engine is disposed afterwards."""
    upgrade(url)
    engine = create_engine_for(url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    """A freshly migrated database: SQLite, and PostgreSQL when configured."""
    yield from migrated(db_url)


class FakeClock:
    """A clock tests can move forward; starts at a fixed UTC time."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    """The controllable clock the ``services`` fixture uses."""
    return FakeClock()


@pytest.fixture
def advance(clock: FakeClock) -> Callable[[float], None]:
    """Move the services' clock forward by some seconds."""
    return clock.advance


@pytest.fixture
def services(kb_dir: Path, sqlite_url: str, clock: FakeClock) -> Iterator[Services]:
    """Services as the app builds them (migrated SQLite file, test knowledge base), with a fake clock."""
    settings = Settings(database_url=sqlite_url, knowledge_dir=kb_dir, _env_file=None)
    built = build_services(settings, clock=clock)
    yield built
    built.close()
