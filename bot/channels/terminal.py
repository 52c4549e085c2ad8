"""The interactive terminal chat: the same handlers as Telegram, with buttons shown as numbered choices.

Whoever runs the bot locally is treated as staff, so ``/reload`` works here too; the flood limit does not
apply, and knowledge edits are picked up by themselves (the outcome is printed like a chat message).
``/tailen PATH`` sends a local file as if it were a document sent in a chat (a knowledge file to check and apply).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from bot.channels.render import render_plain
from bot.kb.store import ReloadOutcome
from bot.messages import Document, IncomingMessage, Reply
from bot.services import Services
from bot.tasks import cancel_and_wait
from handlers import texts
from handlers.routes import handle
from handlers.staff import reload_report
from handlers.ui import numbered

CHANNEL = "terminal"
USER_ID = "local"
QUIT_WORDS = frozenset({"/quit", "/exit", "/thoat"})
SEND_FILE = "/tailen"
PROMPT = "> "


def format_replies(replies: Sequence[Reply]) -> str:
    """Plain text for ``replies``: rendered Markdown, data buttons numbered across replies (as the router counts
    them), links shown."""
    blocks: list[str] = []
    numbers = {id(b): n for n, b in numbered(b for r in replies for row in r.buttons for b in row)}
    for reply in replies:
        lines = [f"{texts.TERMINAL_BOT}: " + "\n".join(render_plain(reply.text))]
        for row in reply.buttons:
            for button in row:
                if button.url is not None:
                    lines.append(f"   🔗 {button.label}: {button.url}")
                elif button.data is not None:
                    lines.append(f"   {numbers[id(button)]}. {button.label}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


async def run_terminal(
    services: Services, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout, *, watch_interval: float = 2.0
) -> None:
    """Chat on ``stdin``/``stdout`` until end of input or ``/quit``, reloading knowledge edits as they happen."""

    def show(text: str) -> None:
        stdout.write(text + "\n")
        stdout.flush()

    async def on_reload(outcome: ReloadOutcome) -> None:
        show("\n" + format_replies(reload_report(outcome)) + "\n")
        stdout.write(PROMPT)
        stdout.flush()

    services.flood.exempt(CHANNEL)
    watcher = asyncio.create_task(services.knowledge.watch(on_reload, interval=watch_interval), name="kb-watcher")
    try:
        await _chat(services, stdin, show, stdout)
    finally:
        await cancel_and_wait(watcher)


async def _chat(services: Services, stdin: TextIO, show: Callable[[str], None], stdout: TextIO) -> None:
    """The read–answer loop of :func:`run_terminal`."""

    async def exchange(text: str, count: int) -> None:
        msg = IncomingMessage(
            channel=CHANNEL, user_id=USER_ID, chat_id=USER_ID, text=text, message_id=str(count), is_staff=True
        )
        command, _, argument = text.strip().partition(" ")
        if command.lower() == SEND_FILE:
            document = local_document(argument.strip())
            if document is None:
                show(f"{texts.TERMINAL_BOT}: " + texts.TERMINAL_NO_FILE.format(path=argument.strip()) + "\n")
                return
            msg = IncomingMessage(channel=CHANNEL, user_id=USER_ID, chat_id=USER_ID, message_id=str(count),
                                  is_staff=True, document=document)
        replies = await handle(msg, services)
        if replies:
            show(format_replies(replies) + "\n")

    show(texts.TERMINAL_WELCOME + "\n")
    count = 1
    await exchange("/start", count)
    while True:
        stdout.write(PROMPT)
        stdout.flush()
        line = await asyncio.to_thread(stdin.readline)
        if not line:  # end of input (Ctrl-D)
            stdout.write("\n")
            break
        text = line.rstrip("\r\n")
        if text.strip().lower() in QUIT_WORDS:
            break
        count += 1
        await exchange(text, count)
    show(texts.TERMINAL_BYE)


def local_document(path: str) -> Document | None:
    """The file at ``path`` as a document sent in the chat, or None when there is no such file."""
    file = Path(path).expanduser()
    if not path or not file.is_file():
        return None

    async def fetch(limit: int) -> bytes:
        def read() -> bytes:
            with file.open("rb") as f:
                return f.read(limit + 1)  # one byte more than allowed is enough to refuse it

        return await asyncio.to_thread(read)

    return Document(name=file.name, size=file.stat().st_size, fetch=fetch)
