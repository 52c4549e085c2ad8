"""A small fake Telegram Bot API server on 127.0.0.1 for end-to-end tests and benchmarks.

It runs uvicorn + Starlette in a background thread with its own event loop, speaks the Bot API's HTTP
protocol at ``/bot<token>/<method>`` (method names case-insensitive), records every call, lets tests inject
updates (served through long-polling ``getUpdates``) and wait for sent messages, serves files sent as documents
(``getFile``, then ``GET /file/bot<token>/<file_path>``, both recorded), and answers like Telegram on
errors: malformed HTML, callback data over 64 bytes, over-long or empty texts, blocked chats (403), an
optional rate limit like Telegram's (429 with ``parameters.retry_after``, per chat and overall), and injected
transport faults on sends and edits (``faults``: 429, 500, resets before and after delivery, slow answers).

    with FakeTelegram() as tg:
        tg.inject_message(chat_id=42, text="/start")
        await tg.wait_for_sent(1)
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import socket
import threading
import time
import urllib.parse
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.faults import BrokenResponse, Faults
from tests.fakes.server import ThreadedServer

FAULTY_METHODS = {"sendmessage", "editmessagetext"}  # where ``faults`` are injected
MAX_GETFILE_BYTES = 20 * 1024 * 1024  # the Bot API refuses getFile for larger files
ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "s", "a", "code", "pre"}
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")
_TAG = re.compile(r"<(/?)([a-zA-Z0-9-]*)((?:\s+[^<>]*)?)>")
_HREF = re.compile(r"""^\s+href\s*=\s*"([^"<>]*)"\s*$|^\s+href\s*=\s*'([^'<>]*)'\s*$""")
# Keys whose form values are plain strings even when they look like JSON (a text "123" stays "123").
_STRING_KEYS = {
    "text",
    "parse_mode",
    "callback_query_id",
    "url",
    "secret_token",
    "inline_message_id",
    "language_code",
    "ip_address",
    "description",
    "short_description",
    "name",
    "file_id",
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts message length."""
    return len(text.encode("utf-16-le")) // 2


class ApiError(Exception):
    """An error the fake answers with, in Telegram's JSON shape."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


def parse_telegram_html(text: str) -> str:
    """Validate Telegram HTML as the Bot API does and return the visible text; raise ApiError(400)."""
    stack: list[str] = []
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "<":
            m = _TAG.match(text, i)
            if not m:
                raise _entities_error(f'Unexpected "<" at byte offset {i}')
            closing, name, attrs = m.group(1), m.group(2).lower(), m.group(3)
            if name not in ALLOWED_TAGS:
                raise _entities_error(f'Unsupported start tag "{name}" at byte offset {i}')
            if closing:
                if attrs.strip():
                    raise _entities_error(f'Unexpected attributes in end tag "{name}"')
                if not stack or stack[-1] != name:
                    expected = stack[-1] if stack else ""
                    raise _entities_error(f'Unmatched end tag at byte offset {i}, expected "</{expected}>"')
                stack.pop()
            else:
                if name == "a":
                    href = _HREF.match(attrs)
                    if not href:
                        raise _entities_error(f"Bad <a> attributes at byte offset {i}")
                    url = html.unescape(href.group(1) or href.group(2) or "")
                    if not url.startswith(("http://", "https://", "tg://")):
                        raise _entities_error(f"Unsupported URL protocol at byte offset {i}")
                elif attrs.strip() and not (name in {"code", "pre"} and "class=" in attrs):
                    raise _entities_error(f'Unexpected attributes in tag "{name}"')
                stack.append(name)
            i = m.end()
        elif ch == "&":
            m = _ENTITY.match(text, i)
            if not m:
                raise _entities_error(f"Unsupported or invalid HTML entity at byte offset {i}")
            out.append(html.unescape(m.group(0)))
            i = m.end()
        else:
            out.append(ch)
            i += 1
    if stack:
        raise _entities_error(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)


def _entities_error(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: can't parse entities: {detail}")


@dataclass
class Call:
    """One recorded API call."""

    method: str
    params: dict[str, Any]
    at: float
    ok: bool = True
    error: str | None = None
    result: Any = None


@dataclass
class RateLimit:
    """Telegram-like flood limits: ``global_per_second`` messages overall and ``per_chat_per_second`` per chat."""

    global_per_second: float = 30.0
    per_chat_per_second: float = 1.0
    retry_after: int = 1


@dataclass
class _StoredMessage:
    chat_id: int
    message_id: int
    text: str
    markup: Any


@dataclass
class FakeTelegram:
    """A fake Bot API server; start with ``start()`` or use as a context manager."""

    token: str = "123:TEST"
    bot_id: int = 123
    bot_username: str = "troly_test_bot"
    blocked_chats: set[int] = field(default_factory=set)
    rate_limit: RateLimit | None = None
    host: str = "127.0.0.1"

    def __post_init__(self) -> None:
        self.port = 0
        self.calls: list[Call] = []
        self.webhook: dict[str, Any] = {}
        self.commands: list[dict[str, Any]] = []
        self.injected_at: dict[int, float] = {}
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._ids_lock = threading.Lock()
        self._updates: list[dict[str, Any]] = []
        self._messages: dict[tuple[int, int], _StoredMessage] = {}
        self.files: dict[str, tuple[str, bytes, int]] = {}  # file_id → (file_path, content, reported size)
        self._sent_times: deque[float] = deque()
        self._chat_last_sent: dict[int, float] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._new_update: asyncio.Event | None = None
        self._server: ThreadedServer | None = None
        self._closing = False
        self.faults = Faults()  # on sendMessage and editMessageText

    # ----- lifecycle -------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The value for ``TELEGRAM_API_BASE_URL`` (the token is appended by the client)."""
        return f"http://{self.host}:{self.port}/bot"

    def start(self) -> FakeTelegram:
        """Start the server in a background thread and wait until it accepts connections."""
        self.port = self.port or free_port()
        app = Starlette(routes=[
            Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"]),
            Route("/file/bot{token}/{file_path:path}", self._download, methods=["GET"]),
        ])

        def on_loop(loop: asyncio.AbstractEventLoop) -> None:
            self._loop = loop
            self._new_update = asyncio.Event()

        self._server = ThreadedServer(app, host=self.host, port=self.port, name="fake-telegram", grace=2,
                                      on_loop=on_loop)
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop the server (waking pending long polls first) and join its thread."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake_long_polls)
        if self._server is not None:
            self._server.stop()

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----- injecting updates -----------------------------------------------------------------------------

    def next_message_id(self) -> int:
        """A fresh message id (for incoming messages the test invents)."""
        with self._ids_lock:
            return next(self._message_ids)

    def _next_update_id(self) -> int:
        with self._ids_lock:
            return next(self._update_ids)

    def inject(self, update: dict[str, Any]) -> int:
        """Queue a raw update for ``getUpdates``; assigns ``update_id`` when missing and returns it."""
        update = dict(update)
        update.setdefault("update_id", self._next_update_id())
        self.injected_at[update["update_id"]] = time.perf_counter()
        assert self._loop is not None, "server not started"
        self._loop.call_soon_threadsafe(self._add_update, update)
        return int(update["update_id"])

    def _wake_long_polls(self) -> None:
        self._closing = True
        if self._new_update is not None:
            self._new_update.set()

    def _add_update(self, update: dict[str, Any]) -> None:
        self._updates.append(update)
        assert self._new_update is not None
        self._new_update.set()

    def user(self, user_id: int, first_name: str = "Dân") -> dict[str, Any]:
        """A Telegram user object."""
        return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "vi"}

    def message_update(
        self,
        *,
        chat_id: int,
        text: str,
        user_id: int | None = None,
        chat_type: str = "private",
        reply_to_bot_message_id: int | None = None,
        message_id: int | None = None,
        first_name: str = "Dân",
        forward_origin: dict[str, Any] | None = None,
        photo_file_id: str | None = None,
    ) -> dict[str, Any]:
        """Build a message update (commands and @mentions get their entities, as Telegram sends them).

        ``forward_origin`` makes it a forwarded message (a MessageOrigin object, e.g.
        ``{"type": "hidden_user", "sender_user_name": "…", "date": …}``). With ``photo_file_id`` it is a photo
        message and ``text`` its caption (empty: no caption).
        """
        user_id = user_id if user_id is not None else chat_id
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = first_name
        else:
            chat["title"] = "Nhóm khu phố"
        message: dict[str, Any] = {
            "message_id": message_id or self.next_message_id(),
            "date": int(time.time()),
            "chat": chat,
            "from": self.user(user_id, first_name),
            "text": text,
        }
        entities = []
        if text.startswith("/"):
            entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(text.split()[0])})
        for m in re.finditer(r"@[A-Za-z0-9_]{5,32}", text):
            entities.append(
                {"type": "mention", "offset": utf16_len(text[: m.start()]), "length": utf16_len(m.group(0))}
            )
        if entities:
            message["entities"] = entities
        if forward_origin is not None:
            message["forward_origin"] = forward_origin
        if photo_file_id is not None:
            caption = message.pop("text")
            message.pop("entities", None)
            if caption:
                message["caption"] = caption
            message["photo"] = [
                {"file_id": f"{photo_file_id}-small", "file_unique_id": "s1", "width": 90, "height": 90},
                {"file_id": photo_file_id, "file_unique_id": "b1", "width": 1280, "height": 960},
            ]
        if reply_to_bot_message_id is not None:
            stored = self._messages.get((chat_id, reply_to_bot_message_id))
            message["reply_to_message"] = {
                "message_id": reply_to_bot_message_id,
                "date": int(time.time()),
                "chat": chat,
                "from": self._me(),
                "text": stored.text if stored else "…",
            }
        return {"update_id": self._next_update_id(), "message": message}

    def add_file(self, content: bytes, *, size: int | None = None) -> str:
        """Store a file users can send; returns its ``file_id`` (``size`` overrides the size Telegram reports)."""
        with self._ids_lock:
            number = next(self._message_ids)
        file_id = f"doc-{number}"
        self.files[file_id] = (f"documents/file_{number}.yaml", content, len(content) if size is None else size)
        return file_id

    def document_update(
        self,
        *,
        chat_id: int,
        file_name: str,
        content: bytes,
        user_id: int | None = None,
        chat_type: str = "private",
        caption: str | None = None,
        mime_type: str = "application/x-yaml",
        size: int | None = None,
    ) -> dict[str, Any]:
        """A message with a document, as Telegram sends it (the file is stored for ``getFile`` and download)."""
        update = self.message_update(chat_id=chat_id, text=caption or "", user_id=user_id, chat_type=chat_type)
        message = update["message"]
        message.pop("text")
        message.pop("entities", None)
        if caption:
            message["caption"] = caption
        file_id = self.add_file(content, size=size)
        message["document"] = {
            "file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": file_name, "mime_type": mime_type,
            "file_size": self.files[file_id][2],
        }  # fmt: skip
        return update

    def inject_document(self, *, chat_id: int, file_name: str, content: bytes, **kwargs: Any) -> int:
        """Inject a document message (see :meth:`document_update`); returns the update id."""
        return self.inject(self.document_update(chat_id=chat_id, file_name=file_name, content=content, **kwargs))

    def inject_message(self, *, chat_id: int, text: str, **kwargs: Any) -> int:
        """Inject a text message (see :meth:`message_update` for the options); returns the update id."""
        return self.inject(self.message_update(chat_id=chat_id, text=text, **kwargs))

    def callback_update(
        self, *, chat_id: int, data: str, message_id: int | None = None, user_id: int | None = None
    ) -> dict[str, Any]:
        """Build a callback-query update, as if the user pressed a button on ``message_id``."""
        user_id = user_id if user_id is not None else chat_id
        if message_id is None:
            message_id = self.last_bot_message_id(chat_id) or self.next_message_id()
        stored = self._messages.get((chat_id, message_id))
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "from": self._me(),
            "text": stored.text if stored else "…",
        }
        if stored and stored.markup:
            message["reply_markup"] = stored.markup
        return {
            "update_id": self._next_update_id(),
            "callback_query": {
                "id": str(self.next_message_id()),
                "from": self.user(user_id),
                "chat_instance": str(chat_id),
                "message": message,
                "data": data,
            },
        }

    def inject_callback(self, *, chat_id: int, data: str, **kwargs: Any) -> int:
        """Inject a button press; returns the update id."""
        return self.inject(self.callback_update(chat_id=chat_id, data=data, **kwargs))

    # ----- inspecting calls ------------------------------------------------------------------------------

    def calls_to(self, method: str, *, ok: bool | None = True) -> list[Call]:
        """Recorded calls to ``method`` (case-insensitive); by default only successful ones."""
        name = method.lower()
        return [c for c in list(self.calls) if c.method == name and (ok is None or c.ok == ok)]

    def sent(self, chat_id: int | None = None) -> list[Call]:
        """Successful sendMessage and editMessageText calls, optionally for one chat."""
        out = [c for c in list(self.calls) if c.ok and c.method in ("sendmessage", "editmessagetext")]
        if chat_id is not None:
            out = [c for c in out if int(c.params.get("chat_id", 0)) == chat_id]
        return out

    def last_bot_message_id(self, chat_id: int) -> int | None:
        """The id of the newest message the bot sent to ``chat_id``."""
        ids = [mid for (cid, mid) in list(self._messages) if cid == chat_id]
        return max(ids) if ids else None

    def buttons(self, call: Call) -> list[dict[str, Any]]:
        """All inline buttons of a recorded sendMessage/editMessageText call, flattened."""
        markup = call.params.get("reply_markup") or {}
        if isinstance(markup, str):
            markup = json.loads(markup)
        return [b for row in markup.get("inline_keyboard", []) for b in row]

    def visible_text(self, call: Call) -> str:
        """The text a user sees for a recorded call (HTML parsed when parse_mode is HTML)."""
        text = str(call.params.get("text", ""))
        return parse_telegram_html(text) if str(call.params.get("parse_mode", "")).upper() == "HTML" else text

    async def wait_for(self, predicate: Any, within: float = 10.0) -> None:
        """Wait (asynchronously) until ``predicate()`` is true; raise TimeoutError otherwise."""
        deadline = time.monotonic() + within
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError("condition not met; calls: " + ", ".join(c.method for c in self.calls[-20:]))
            await asyncio.sleep(0.005)

    async def wait_for_sent(self, count: int, chat_id: int | None = None, within: float = 10.0) -> list[Call]:
        """Wait until at least ``count`` messages were sent or edited (in ``chat_id``); return them."""
        await self.wait_for(lambda: len(self.sent(chat_id)) >= count, within)
        return self.sent(chat_id)

    async def wait_for_calls(self, method: str, count: int, within: float = 10.0) -> list[Call]:
        """Wait until ``method`` was called successfully at least ``count`` times; return those calls."""
        await self.wait_for(lambda: len(self.calls_to(method)) >= count, within)
        return self.calls_to(method)

    def wait_for_sync(self, predicate: Any, within: float = 10.0) -> None:
        """Blocking variant of :meth:`wait_for`, for tests that drive a subprocess."""
        deadline = time.monotonic() + within
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError("condition not met; calls: " + ", ".join(c.method for c in self.calls[-20:]))
            time.sleep(0.005)

    # ----- the HTTP endpoint -----------------------------------------------------------------------------

    async def _endpoint(self, request: Request) -> Response:
        method = request.path_params["method"].lower()
        params = await self._params(request)
        call = Call(method=method, params=params, at=time.perf_counter())
        if request.path_params["token"] != self.token:
            call.ok, call.error = False, "Unauthorized"
            self.calls.append(call)
            return JSONResponse({"ok": False, "error_code": 401, "description": "Unauthorized"}, 401)
        handler = getattr(self, f"_m_{method}", None)
        try:
            if handler is None:
                raise ApiError(404, "Not Found")
            if method == "getupdates":
                self.calls.append(call)  # recorded on arrival: long polls may take a while
                call.result = await handler(params)
                return JSONResponse({"ok": True, "result": call.result})
            fault = self.faults.next() if method in FAULTY_METHODS else None
            if fault == "429":
                raise ApiError(429, f"Too Many Requests: retry after {self.faults.retry_after}",
                               retry_after=self.faults.retry_after)
            if fault == "500":
                raise ApiError(500, "Internal Server Error")
            if fault == "reset_before":
                call.ok, call.error = False, "connection reset (fault)"
                self.calls.append(call)
                return BrokenResponse()
            if fault == "slow":
                await asyncio.sleep(self.faults.slow_seconds)
            result = handler(params)
            call.result = result
            self.calls.append(call)
            if fault == "reset_after":
                return BrokenResponse()
            return JSONResponse({"ok": True, "result": result})
        except ApiError as err:
            call.ok, call.error = False, err.description
            if call not in self.calls:
                self.calls.append(call)
            body: dict[str, Any] = {"ok": False, "error_code": err.code, "description": err.description}
            if err.retry_after is not None:
                body["parameters"] = {"retry_after": err.retry_after}
            return JSONResponse(body, err.code)

    async def _download(self, request: Request) -> Response:
        """``GET /file/bot<token>/<file_path>``: the file's bytes, as the Bot API's file server answers."""
        file_path = request.path_params["file_path"]
        call = Call(method="download", params={"file_path": file_path}, at=time.perf_counter())
        self.calls.append(call)
        if request.path_params["token"] != self.token:
            call.ok, call.error = False, "Unauthorized"
            return Response(status_code=401)
        for path, content, _ in list(self.files.values()):
            if path == file_path:
                return Response(content, media_type="application/octet-stream")
        call.ok, call.error = False, "Not Found"
        return Response(status_code=404)

    async def _params(self, request: Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query_params)
        ctype = request.headers.get("content-type", "")
        if "json" in ctype:
            body = await request.body()
            if body:
                params.update(json.loads(body))
            return params
        if request.method == "POST":  # PTB posts application/x-www-form-urlencoded, values JSON-encoded
            body = (await request.body()).decode("utf-8")
            for key, value in urllib.parse.parse_qsl(body, keep_blank_values=True):
                if key in _STRING_KEYS:
                    params[key] = value
                    continue
                try:
                    params[key] = json.loads(value)
                except ValueError:
                    params[key] = value
        return params

    # ----- methods -----------------------------------------------------------------------------------------

    def _me(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Trợ lý số",
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _m_getme(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._me()

    async def _m_getupdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook.get("url"):
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
                "delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        assert self._new_update is not None
        deadline = time.monotonic() + timeout
        while not self._updates and not self._closing and time.monotonic() < deadline:
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                break
        return self._updates[:limit]

    def _check_text(self, params: dict[str, Any]) -> str:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        visible = text
        if str(params.get("parse_mode", "")).upper() == "HTML":
            visible = parse_telegram_html(text)
        if not visible.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(visible) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        return visible

    def _check_markup(self, params: dict[str, Any]) -> Any:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if isinstance(markup, str):
            markup = json.loads(markup)
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode("utf-8")) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                url = button.get("url")
                if url is not None and not str(url).startswith(("http://", "https://", "tg://")):
                    raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
                if data is None and url is None:
                    raise ApiError(400, "Bad Request: can't parse inline keyboard button")
        return markup

    def _chat_id(self, params: dict[str, Any]) -> int:
        try:
            chat_id = int(params["chat_id"])
        except (KeyError, TypeError, ValueError):
            raise ApiError(400, "Bad Request: chat not found") from None
        if chat_id in self.blocked_chats:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    def _check_rate(self, chat_id: int) -> None:
        limit = self.rate_limit
        if limit is None:
            return
        now = time.monotonic()
        while self._sent_times and now - self._sent_times[0] > 1.0:
            self._sent_times.popleft()
        last = self._chat_last_sent.get(chat_id)
        too_fast_chat = last is not None and now - last < 1.0 / limit.per_chat_per_second
        if too_fast_chat or len(self._sent_times) >= limit.global_per_second:
            raise ApiError(429, f"Too Many Requests: retry after {limit.retry_after}", retry_after=limit.retry_after)
        self._sent_times.append(now)
        self._chat_last_sent[chat_id] = now

    def _message(self, chat_id: int, message_id: int, text: str, markup: Any) -> dict[str, Any]:
        msg: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "from": self._me(),
            "text": text,
        }
        if markup:
            msg["reply_markup"] = markup
        return msg

    def _m_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        visible = self._check_text(params)
        markup = self._check_markup(params)
        self._check_rate(chat_id)
        message_id = self.next_message_id()
        self._messages[(chat_id, message_id)] = _StoredMessage(chat_id, message_id, visible, markup)
        return self._message(chat_id, message_id, visible, markup)

    def _m_sendphoto(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        photo = params.get("photo")
        if not isinstance(photo, str) or not photo:
            raise ApiError(400, "Bad Request: there is no photo in the request")
        self._check_rate(chat_id)
        message_id = self.next_message_id()
        msg = self._message(chat_id, message_id, "", None)
        del msg["text"]
        msg["photo"] = [{"file_id": photo, "file_unique_id": "p1", "width": 1280, "height": 960}]
        return msg

    def _m_editmessagetext(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        visible = self._check_text(params)
        markup = self._check_markup(params)
        try:
            message_id = int(params["message_id"])
        except (KeyError, TypeError, ValueError):
            raise ApiError(400, "Bad Request: message identifier is not specified") from None
        stored = self._messages.get((chat_id, message_id))
        if stored is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if stored.text == visible and stored.markup == markup:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply markup "
                "are exactly the same as a current content and reply markup of the message",
            )
        stored.text, stored.markup = visible, markup
        return self._message(chat_id, message_id, visible, markup)

    def _m_getfile(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params.get("file_id") or "")
        stored = self.files.get(file_id)
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        path, _, size = stored
        if size > MAX_GETFILE_BYTES:
            raise ApiError(400, "Bad Request: file is too big")
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": size, "file_path": path}

    def _m_answercallbackquery(self, params: dict[str, Any]) -> bool:
        if not params.get("callback_query_id"):
            raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        return True

    def _m_setwebhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url") or "")
        if url and not url.startswith("https://") and not url.startswith("http://"):
            raise ApiError(400, "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        self.webhook = {"url": url, "secret_token": secret}
        return True

    def _m_deletewebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = {}
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _m_getwebhookinfo(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    def _m_setmycommands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands") or []
        if isinstance(commands, str):
            commands = json.loads(commands)
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands = list(commands)
        return True

    def _m_getmycommands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self.commands

    def _m_deletemycommands(self, params: dict[str, Any]) -> bool:
        self.commands = []
        return True

    def _m_close(self, params: dict[str, Any]) -> bool:
        return True

    def _m_logout(self, params: dict[str, Any]) -> bool:
        return True
