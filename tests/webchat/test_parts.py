"""The web chat's small parts: the reply queue (SQLite and PostgreSQL), the rate limiter, the rendering."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session, sessionmaker

from bot.channels.webchat.channel import reply_payload
from bot.channels.webchat.limits import RateLimiter
from bot.channels.webchat.outbox import MAX_FETCH, Outbox
from bot.channels.webchat.render import to_blocks
from bot.messages import Button, Reply
from tests.conftest import FakeClock


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_outbox_queues_in_order_and_prunes(sessions: sessionmaker[Session], clock: FakeClock) -> None:
    box = Outbox(sessions=sessions, clock=clock, keep=dt.timedelta(hours=1))
    ids = box.put("v1", [{"n": i, "t": "Xin chào <b>"} for i in range(3)])
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert [q.payload for q in box.after("v1", 0)] == [{"n": i, "t": "Xin chào <b>"} for i in range(3)]
    assert [q.id for q in box.after("v1", ids[1])] == [ids[2]]
    assert box.after("v2", 0) == []
    other = box.put("v2", [{"n": 9}])
    assert other[0] > ids[-1] and [q.id for q in box.after("v1", 0)] == ids  # each visitor sees only its own

    again = Outbox(sessions=sessions, clock=clock)  # another instance, or after a restart: the same queue
    assert [q.id for q in again.after("v1", 0)] == ids

    many = box.put("v3", [{"n": i} for i in range(MAX_FETCH + 5)])
    assert [q.id for q in box.after("v3", 0)] == many[5:]  # a long-away widget gets the newest ones

    clock.advance(1800)
    box.put("v1", [{"n": 3}])
    clock.advance(1900)  # the first replies are now older than an hour
    assert box.prune() == 3 + 1 + MAX_FETCH + 5
    assert [q.payload["n"] for q in box.after("v1", 0)] == [3]
    box.forget("v1")
    assert box.after("v1", 0) == []


def test_rate_limiter_window_slides_and_zero_turns_it_off() -> None:
    clock = Clock()
    limiter = RateLimiter(limit=2, window=60, clock=clock)
    assert [limiter.hit("a"), limiter.hit("a"), limiter.hit("a"), limiter.hit("b")] == [True, True, False, True]
    assert 59 <= limiter.retry_after("a") <= 60
    clock.now += 30
    assert not limiter.hit("a")
    clock.now += 31
    assert limiter.hit("a") and limiter.retry_after("b") == 0
    off = RateLimiter(limit=0, clock=clock)
    assert all(off.hit("a") for _ in range(100))
    small = RateLimiter(limit=1, max_keys=2, clock=clock)
    for key in "xyz":
        small.hit(key)
    assert small.hit("x")  # forgotten (bounded memory), so allowed again


def test_blocks_keep_html_as_text_and_only_http_links() -> None:
    blocks = to_blocks(
        "Xin **chào** <b>x</b> [VNeID](https://vneid.gov.vn)\n"
        "[bấm](javascript:alert(1)) [tệp](ftp://x.example) `mã`\n\n- một **hai**\n- ba\n\n3. bốn\n4. năm\n\n# Tiêu đề"
    )
    assert blocks[0] == {"k": "p", "lines": [
        [{"t": "Xin "}, {"t": "chào", "b": 1}, {"t": " <b>x</b> "}, {"t": "VNeID", "href": "https://vneid.gov.vn"}],
        [{"t": "[bấm](javascript:alert(1)) "}, {"t": "tệp"}, {"t": " (ftp://x.example)"}, {"t": " "},
         {"t": "mã", "code": 1}],
    ]}  # fmt: skip
    assert blocks[1] == {"k": "ul", "items": [[{"t": "một "}, {"t": "hai", "b": 1}], [{"t": "ba"}]]}
    assert blocks[2] == {"k": "ol", "start": 3, "items": [[{"t": "bốn"}], [{"t": "năm"}]]}
    assert blocks[3] == {"k": "h", "c": [{"t": "Tiêu đề"}]}


def test_reply_payload_keeps_button_rows_and_links() -> None:
    reply = Reply(text="Chọn:", buttons=((Button("👍", data="fb:1"), Button("👎", data="fb:0")),
                                        (Button("Trang", url="https://dichvucong.gov.vn"),)))
    payload = reply_payload(reply)
    assert payload["buttons"] == [
        [{"label": "👍", "data": "fb:1"}, {"label": "👎", "data": "fb:0"}],
        [{"label": "Trang", "url": "https://dichvucong.gov.vn"}],
    ]
