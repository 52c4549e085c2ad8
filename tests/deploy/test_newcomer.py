"""What a newcomer sees from the shell: the greeting first, and no traceback when a pipe reader goes away."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from handlers import texts

ROOT = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ZALO_"))}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}", KNOWLEDGE_DIR=str(ROOT / "knowledge"))
    return env


def test_run_in_the_terminal_shows_the_greeting_first(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        input="/quit\n",
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(texts.TERMINAL_WELCOME)
    assert done.stderr == ""  # no migration lines, no warnings before the chat
    assert (tmp_path / "bot.db").exists()  # the database was still migrated


def test_a_closed_pipe_ends_the_command_quietly(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `| head` that has already exited
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bot", "kb", "check"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(tmp_path),
            cwd=ROOT,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr, done.stderr
    assert done.returncode == 141  # 128 + SIGPIPE, as shell tools report it
