"""Fixtures for channel tests: a running fake Telegram Bot API server.

The repository root goes on ``sys.path`` so ``tests.fakes`` imports the same way here and in benchmarks.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.fakes.telegram_api import FakeTelegram  # noqa: E402


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    """A fake Bot API server on 127.0.0.1 (token ``123:TEST``)."""
    with FakeTelegram() as server:
        yield server
