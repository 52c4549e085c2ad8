"""The web chat's small parts: the reply queue, the rate limiter and the Markdown → blocks rendering."""

from __future__ import annotations

from bot.channels.webchat.channel import reply_payload
from bot.channels.webchat.limits import RateLimiter
from bot.channels.webchat.outbox import Outbox
from bot.channels.webchat.render import to_blocks
from bot.messages import Button, Reply


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_outbox_ids_increase_even_across_a_restart_and_queues_stay_bounded() -> None:
    clock = Clock()
    box = Outbox(per_visitor=3, max_visitors=2, idle_seconds=60, clock=clock)
    ids = box.put("v1", [{"n": i} for i in range(5)])
    assert ids == sorted(ids) and len(set(ids)) == 5
    assert [q.payload["n"] for q in box.after("v1", 0)] == [2, 3, 4]  # the last three kept
    assert [q.payload["n"] for q in box.after("v1", ids[3])] == [4]
    assert box.latest("v1") == ids[4]

    clock.now += 1  # a restart takes longer than a microsecond per queued message
    restarted = Outbox(clock=clock)  # empty memory: new ids still follow the old ones
    assert restarted.put("v1", [{"n": 5}])[0] > ids[-1]

    clock.now += 10
    box.put("v2", [{"n": 0}])
    box.after("v1", 0)  # v1 active again
    box.put("v3", [{"n": 0}])  # over max_visitors: the least recently active (v2) goes
    assert box.after("v2", 0) == [] and len(box) == 2
    clock.now += 61
    box.put("v3", [{"n": 1}])
    assert box.prune() == 1 and box.after("v1", 0) == [] and len(box.after("v3", 0)) == 2


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
