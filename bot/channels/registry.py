"""Every channel the bot can run, as a list of specs: the one place a new channel is added.

A spec names the channel, says whether the settings configure it, and builds it (imports stay inside
``build`` so an unused channel's libraries are never loaded). The composition root starts every configured
channel through the same path; the terminal chat runs only when none is configured.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.channel import Channel, ChannelHost
from bot.settings import Settings


@dataclass(frozen=True)
class ChannelSpec:
    """How to recognise and build one channel."""

    name: str
    configured: Callable[[Settings], bool]
    build: Callable[[Settings, ChannelHost], Channel]


def _telegram(settings: Settings, host: ChannelHost) -> Channel:
    from bot.channels.telegram import TelegramChannel

    return TelegramChannel(settings, host, concurrent_updates=host.option("telegram", "concurrent_updates", 16))


def _zalo(settings: Settings, host: ChannelHost) -> Channel:
    from bot.channels.zalo.channel import ZaloChannel

    return ZaloChannel(settings, host)


def _webchat(settings: Settings, host: ChannelHost) -> Channel:
    from bot.channels.webchat.channel import WebChatChannel

    return WebChatChannel(settings, host)
def _messenger(settings: Settings, host: ChannelHost) -> Channel:
    from bot.channels.messenger.channel import MessengerChannel

    return MessengerChannel(settings, host)


CHANNELS: list[ChannelSpec] = [
    ChannelSpec("telegram", lambda s: s.telegram_bot_token is not None, _telegram),
    ChannelSpec("zalo", lambda s: s.zalo_enabled, _zalo),
    ChannelSpec("webchat", lambda s: s.webchat_enabled, _webchat),
    ChannelSpec("messenger", lambda s: s.messenger_enabled, _messenger),
]


def configured_channels(settings: Settings, only: frozenset[str] | None = None) -> list[ChannelSpec]:
    """The specs of the channels ``settings`` configure (restricted to ``only`` when given)."""
    return [spec for spec in CHANNELS if spec.configured(settings) and (only is None or spec.name in only)]


def channel_names() -> list[str]:
    """Every channel the bot knows, configured or not."""
    return [spec.name for spec in CHANNELS]
