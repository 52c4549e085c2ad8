"""The interactive terminal chat: the same handlers as Telegram, with buttons shown as numbered choices.

Whoever runs the bot locally is treated as staff, so ``/reload`` works here too.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from typing import TextIO

from bot.channels.render import render_plain
from bot.messages import IncomingMessage, Reply
from bot.services import Services
from handlers import texts
from handlers.routes import handle

CHANNEL = "terminal"
USER_ID = "local"
QUIT_WORDS = frozenset({"/quit", "/exit", "/thoat"})
PROMPT = "> "


def format_replies(replies: Sequence[Reply]) -> str:
    """Plain text for ``replies``: rendered Markdown, data buttons numbered across replies, links shown."""
    blocks: list[str] = []
    number = 0
    for reply in replies:
        lines = [f"{texts.TERMINAL_BOT}: " + "\n".join(render_plain(reply.text))]
        for row in reply.buttons:
            for button in row:
                if button.url is not None:
                    lines.append(f"   🔗 {button.label}: {button.url}")
                elif button.data is not None:
                    number += 1
                    lines.append(f"   {number}. {button.label}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


async def run_terminal(services: Services, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> None:
    """Chat on ``stdin``/``stdout`` until end of input or ``/quit``."""

    def show(text: str) -> None:
        stdout.write(text + "\n")
        stdout.flush()

    async def exchange(text: str, count: int) -> None:
        msg = IncomingMessage(
            channel=CHANNEL, user_id=USER_ID, chat_id=USER_ID, text=text, message_id=str(count), is_staff=True
        )
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
