"""A bare python-telegram-bot echo bot: the yardstick of ``benchmarks.bench_throughput``.

Run as its own process: ``python -m benchmarks.echo_bot`` with ``TELEGRAM_BOT_TOKEN`` and
``TELEGRAM_API_BASE_URL`` set; it answers every text with the same text, 16 updates at a time (as the bot).
"""

from __future__ import annotations

import os

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the text back."""
    if update.effective_message is not None and update.effective_message.text:
        await context.bot.send_message(update.effective_message.chat_id, update.effective_message.text)


def main() -> None:
    """Poll until SIGTERM."""
    app = (
        ApplicationBuilder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(os.environ["TELEGRAM_API_BASE_URL"])
        .concurrent_updates(16)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.run_polling(allowed_updates=["message"])


if __name__ == "__main__":
    main()
