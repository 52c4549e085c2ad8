"""Channels: adapters that turn Telegram, Zalo and terminal input into plain messages and render replies."""
