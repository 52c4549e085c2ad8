"""Start-up under faults, with real subprocesses (``python -m bot run``): the Bot API or the database
unreachable at start. The bot keeps retrying with backoff, ``/healthz`` says 503 with the reason meanwhile,
it comes up by itself when the network returns, and no raw traceback is printed."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import write_knowledge
from tests.fakes.telegram_api import FakeTelegram, free_port

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123:TEST"


class Relay:
    """A TCP relay on a fixed port to ``target``: "the network" that is down until :meth:`up`."""

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.port, self.target = port, target
        self._server: socket.socket | None = None
        self._threads: list[threading.Thread] = []

    def up(self) -> None:
        """Start accepting and forwarding connections."""
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(64)
        self._server = server
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept(self) -> None:
        assert self._server is not None
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Stop accepting."""
        if self._server is not None:
            self._server.close()


def spawn(env_extra: dict[str, str], cwd: Path) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    env = {
        **os.environ,
        "KNOWLEDGE_DIR": str(write_knowledge(cwd / "kb")),
        "HTTP_PORT": str(port),
        "PYTHONPATH": str(ROOT),
        "LOG_LEVEL": "INFO",
        **env_extra,
    }
    env.pop("TELEGRAM_WEBHOOK_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    return proc, port


def health(port: int) -> tuple[int, dict[str, object]] | None:
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    except httpx.HTTPError:
        return None
    return response.status_code, response.json()


def wait_health(port: int, status: int, proc: subprocess.Popen[str], within: float = 40) -> dict[str, object]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the bot exited"
        seen = health(port)
        if seen is not None and seen[0] == status:
            return seen[1]
        time.sleep(0.2)
    raise AssertionError(f"/healthz never answered {status}; last: {health(port)}")


def stop(proc: subprocess.Popen[str]) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return proc.returncode, err


@pytest.fixture
def relay_port() -> Iterator[int]:
    yield free_port()


def test_bot_api_unreachable_at_start_then_back(tmp_path: Path, relay_port: int) -> None:
    with FakeTelegram() as tg:
        relay = Relay(relay_port, ("127.0.0.1", tg.port))
        base = tg.base_url.replace(f":{tg.port}", f":{relay_port}")
        proc, port = spawn(
            {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": base,
             "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"},
            tmp_path,
        )  # fmt: skip
        try:
            down = wait_health(port, 503, proc)
            assert "telegram" in str(down.get("problems")), down
            relay.up()  # the network comes back
            wait_health(port, 200, proc, within=90)
            tg.inject_message(chat_id=555, text="/start")
            deadline = time.monotonic() + 20
            while not tg.sent(555) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert tg.sent(555), "no answer after the network came back"
        finally:
            code, log = stop(proc)
            relay.close()
    assert code == 0, log
    assert "Traceback" not in log, log
    assert "telegram cannot start" in log


def test_database_unreachable_at_start_then_back(tmp_path: Path, relay_port: int) -> None:
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("TEST_DATABASE_URL not set: this test needs a PostgreSQL server to come back")
    from sqlalchemy.engine import make_url

    real = make_url(base)
    relay = Relay(relay_port, (real.host or "127.0.0.1", real.port or 5432))
    url = real.set(port=relay_port).update_query_dict({"connect_timeout": "2"})
    with FakeTelegram() as tg:
        proc, port = spawn(
            {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": tg.base_url,
             "DATABASE_URL": url.render_as_string(hide_password=False)},
            tmp_path,
        )  # fmt: skip
        try:
            down = wait_health(port, 503, proc)
            assert "database" in str(down.get("problems")), down
            relay.up()
            wait_health(port, 200, proc, within=90)
        finally:
            code, log = stop(proc)
            relay.close()
    assert code == 0, log
    assert "Traceback" not in log, log
    lines = [line for line in log.splitlines() if "cannot reach the database" in line]
    assert lines and all(len(line) < 400 for line in lines), log
