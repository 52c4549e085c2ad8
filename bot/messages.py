"""The plain message types every channel converts to and from, and the delivery errors senders raise.

Handlers receive an :class:`IncomingMessage` and return a list of :class:`Reply`; they never see a
Telegram or Zalo object. Reply text is light Markdown (``**bold**``, lists, ``[label](url)``): each channel
renders it at the edge (escaped Telegram HTML, Zalo plain text). A file sent with a message arrives as a
:class:`Document`: its name and size, and a way to read its bytes that the channel supplies, so a handler reads it
without knowing which channel brought it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol


class DocumentUnavailable(Exception):
    """The channel cannot hand over a document (no way to fetch files here, the file is gone, a network error)."""


class DocumentTooLarge(DocumentUnavailable):
    """A document is larger than the reader accepts; ``size`` is what the channel reported or delivered."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"document of {size} bytes, more than {limit}")
        self.size = size
        self.limit = limit


Fetch = Callable[[int], Awaitable[bytes]]  # reads a document's bytes; the argument is the most the caller accepts


@dataclass(frozen=True)
class Document:
    """A file sent with a message, as the channel describes it; :meth:`read` fetches its bytes through the channel.

    ``fetch`` is None where the channel cannot hand files over; handlers then tell the person so.
    """

    name: str
    size: int | None = None  # bytes, when the channel says so before downloading
    mime_type: str | None = None
    fetch: Fetch | None = field(default=None, repr=False, compare=False)

    async def read(self, limit: int) -> bytes:
        """The document's bytes; raises :class:`DocumentTooLarge` beyond ``limit`` bytes (before downloading when
        the size is known), :class:`DocumentUnavailable` when the channel cannot deliver it."""
        if self.size is not None and self.size > limit:
            raise DocumentTooLarge(self.size, limit)
        if self.fetch is None:
            raise DocumentUnavailable("this channel does not hand over files")
        data = await self.fetch(limit)
        if len(data) > limit:
            raise DocumentTooLarge(len(data), limit)
        return data


@dataclass(frozen=True)
class IncomingMessage:
    """One thing a person did: typed text, tapped a button (``button_data``), or sent a photo or a document."""

    channel: str  # "telegram", "zalo", "terminal", "test"
    user_id: str  # the channel's id of the sender
    chat_id: str  # where to answer (equals user_id in private chats)
    text: str | None = None
    button_data: str | None = None
    display_name: str | None = None
    message_id: str | None = None
    reply_to_message_id: str | None = None
    is_group: bool = False
    addressed: bool = True  # in a group: mentioned, replied to, or a command
    is_staff: bool = False  # set by the adapter from ADMIN_TELEGRAM_IDS / the staff table
    forwarded: bool = False  # the person forwarded someone else's message (checked for scam signs)
    receives_notices: bool = True  # False where the channel cannot deliver announcements (/dangky is not offered)
    photo: str | None = None  # a photo sent with the message: the channel's file id or URL
    document: Document | None = None  # a file sent with the message (``text`` is then its caption, if any)


@dataclass(frozen=True)
class Button:
    """A button: ``data`` comes back as ``IncomingMessage.button_data``; ``url`` opens a link instead.

    ``number`` fixes the number that stands for it where buttons are typed as numbers (menu paging keeps the
    same numbers on every page); buttons without one are numbered 1, 2, … around the fixed ones.
    """

    label: str
    data: str | None = None
    url: str | None = None
    number: int | None = None


@dataclass(frozen=True)
class Reply:
    """One message to send back: light-Markdown text and rows of buttons.

    ``edit_message_id`` asks the channel to edit an earlier message in place where it can
    (Telegram inline menus); channels that cannot edit send a new message instead.
    """

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    edit_message_id: str | None = None
    disable_preview: bool = True
    photo: str | None = None  # a photo to show before the text (a file id or URL the channel accepts)


@dataclass(frozen=True)
class SentMessage:
    """What a channel reports after delivering a reply."""

    message_id: str | None = None


class DeliveryError(Exception):
    """A message could not be delivered; subclasses say whether retrying can help."""

    def __init__(self, reason: str, *, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class RecipientBlocked(DeliveryError):
    """The recipient blocked the bot, left, or the account is gone (Telegram 403): do not retry."""


class RateLimited(DeliveryError):
    """The channel asked us to slow down (Telegram 429); retry after ``retry_after`` seconds."""

    def __init__(self, reason: str, *, retry_after: float, code: int | None = 429) -> None:
        super().__init__(reason, code=code)
        self.retry_after = retry_after


class TransientError(DeliveryError):
    """A network error or 5xx that proves nothing was sent: retry with backoff a bounded number of times."""


class AmbiguousError(TransientError):
    """The request may have reached the channel (a read timeout, a connection lost after sending).

    Replies are retried anyway (a citizen waiting gets the answer, maybe twice); broadcast deliveries are not,
    so a notice is not sent twice to thousands of people.
    """


class PermanentError(DeliveryError):
    """The channel refused the message itself (bad request, outside Zalo's window): do not retry."""


class Sender(Protocol):
    """Delivers replies to one chat on one channel; raises :class:`DeliveryError` subclasses."""

    channel: str

    async def send(self, chat_id: str, replies: list[Reply]) -> list[SentMessage]:
        """Send ``replies`` in order to ``chat_id``."""
        ...


Part = Callable[[], Awaitable[list[SentMessage]]]  # one API call of a reply (a retry repeats only this call)


class SequentialSender:
    """Base of the channel senders: a reply is a list of :data:`Part` calls made one after another.

    The outbound gateway paces and retries each part separately, so a failure on the second message of a
    long reply never sends the first one twice.
    """

    channel: str

    def parts(self, chat_id: str, reply: Reply) -> list[Part]:
        """The API calls that deliver ``reply`` to ``chat_id``, in order."""
        raise NotImplementedError

    async def send(self, chat_id: str, replies: list[Reply]) -> list[SentMessage]:
        """Send ``replies`` in order to ``chat_id``."""
        sent: list[SentMessage] = []
        for reply in replies:
            sent.extend(await self.send_reply(chat_id, reply))
        return sent

    async def send_reply(self, chat_id: str, reply: Reply) -> list[SentMessage]:
        """Send one reply (possibly as several messages), without pacing or retries."""
        sent: list[SentMessage] = []
        for part in self.parts(chat_id, reply):
            sent.extend(await part())
        return sent
