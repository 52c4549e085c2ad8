"""Trợ lý số: a Vietnamese public-service assistant for wards and communes.

Layers point one way: ``bot.channels`` (Telegram, Zalo, terminal) → ``handlers`` (conversation logic on plain
messages) → the core (``bot.kb``, ``bot.storage``, ``bot.broadcast``, ``bot.settings``).
"""

__version__ = "0.1.0"
