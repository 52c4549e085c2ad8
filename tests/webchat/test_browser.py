"""The widget in a real headless Chromium, on a plain host page served from another origin."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.storage.models import Feedback, User
from handlers import texts
from tests.webchat.conftest import HOSTILE_ANSWER, WebStack

pytestmark = pytest.mark.browser

TIMEOUT = 15_000


@pytest.fixture
def page(web_stack: WebStack) -> Iterator[Any]:
    """A fresh tab (own sessionStorage) on the allowed host page."""
    context = web_stack.browser.new_context(viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT)
    tab.goto(web_stack.site.allowed)
    yield tab
    context.close()


def widget(page: Any) -> Any:
    """The widget's host element (Playwright locators pierce its open shadow root)."""
    return page.locator("#troly-so-widget")


def open_chat(page: Any) -> Any:
    """Open the chat with the launcher and wait for the greeting."""
    w = widget(page)
    w.get_by_role("button", name=texts.WEBCHAT_UI["open_label"]).click()
    w.locator(".msg.bot").first.wait_for()
    return w


def ask(w: Any, question: str) -> Any:
    """Type a question, press Enter, and return the bot's newest message once it arrives."""
    before = w.locator(".msg.bot").count()
    box = w.get_by_role("textbox", name=texts.WEBCHAT_UI["input_label"])
    box.fill(question)
    box.press("Enter")
    w.locator(".msg.bot").nth(before).wait_for()
    return w.locator(".msg.bot").last


def test_question_without_diacritics_is_answered_on_a_page_from_another_origin(page: Any) -> None:
    w = open_chat(page)
    assert "Trợ lý số" in w.locator(".msg.bot").first.inner_text()
    answer = ask(w, "cach cai dat vneid tren dien thoai")
    assert "CH Play" in answer.inner_text()
    link = answer.get_by_role("link", name="vneid.gov.vn")
    assert link.get_attribute("href") == "https://vneid.gov.vn"
    assert link.get_attribute("rel") == "noopener noreferrer"
    assert answer.locator("strong", has_text="VNeID").count() == 1  # **VNeID** rendered bold
    # the host page's hostile styles (9px, red, buttons hidden) do not reach the widget
    assert w.get_by_role("button", name=texts.BUTTON_HELPFUL).is_visible()
    assert page.evaluate("getComputedStyle(document.querySelector('#troly-so-widget').shadowRoot"
                         ".querySelector('.msg')).fontSize") == "18px"


def test_suggestion_and_related_question_buttons(page: Any) -> None:
    w = open_chat(page)
    suggestion = ask(w, "the nao")
    assert texts.SUGGEST in suggestion.inner_text()
    choices = w.locator(".btns").last.get_by_role("button")
    assert choices.count() >= 2
    first = choices.first.inner_text()
    before = w.locator(".msg.bot").count()
    choices.first.click()
    w.locator(".msg.bot").nth(before).wait_for()
    assert w.locator(".msg.me").last.inner_text().endswith(first)  # the tapped choice is echoed
    assert texts.FEEDBACK_QUESTION in w.locator(".msg.bot").last.inner_text()

    answer = ask(w, "cach cai dat vneid")
    assert "CH Play" in answer.inner_text()
    related = w.get_by_role("button", name="Quên mật khẩu VNeID thì làm thế nào?").last
    before = w.locator(".msg.bot").count()
    related.click()
    w.locator(".msg.bot").nth(before).wait_for()
    assert "Quên mật khẩu" in w.locator(".msg.bot").last.inner_text()


def test_thumbs_up_is_recorded(page: Any, web_stack: WebStack) -> None:
    w = open_chat(page)
    ask(w, "gia han bao hiem y te ho gia dinh")
    before = w.locator(".msg.bot").count()
    w.get_by_role("button", name=texts.BUTTON_HELPFUL).last.click()
    w.locator(".msg.bot").nth(before).wait_for()
    assert texts.THANKS_FOR_VOTE in w.locator(".msg.bot").last.inner_text()
    with web_stack.bot.services.sessions() as session:
        votes = session.execute(
            select(Feedback.helpful, User.channel).join(User, Feedback.user_id == User.id)
        ).all()
    assert (True, "webchat") in [tuple(v) for v in votes]


def test_html_in_an_answer_is_shown_as_text(page: Any) -> None:
    w = open_chat(page)
    answer = ask(w, "cach viet don khieu nai")
    assert HOSTILE_ANSWER in answer.inner_text()
    shadow = "document.querySelector('#troly-so-widget').shadowRoot"
    assert page.evaluate(f"{shadow}.querySelectorAll('img, script, b').length") == 0
    assert page.evaluate("window.__pwned === undefined")


def test_a_page_on_a_disallowed_origin_is_refused(web_stack: WebStack) -> None:
    context = web_stack.browser.new_context()
    try:
        tab = context.new_page()
        tab.set_default_timeout(TIMEOUT)
        refused: list[int] = []
        tab.on("response", lambda r: refused.append(r.status) if "/webchat/api/" in r.url else None)
        tab.goto(web_stack.site.disallowed)
        w = widget(tab)
        w.get_by_role("button", name=texts.WEBCHAT_UI["open_label"]).click()
        alert = w.get_by_role("alert")
        alert.wait_for()
        assert texts.WEBCHAT_UI["refused"] in alert.inner_text()
        assert w.locator(".msg.bot").count() == 0
        assert refused == [403]
    finally:
        context.close()


def test_reload_keeps_the_conversation_and_a_reply_lost_in_flight(page: Any) -> None:
    w = open_chat(page)
    ask(w, "quen mat khau vneid")
    shown = w.locator(".msg").all_inner_texts()
    page.reload()
    w = widget(page)
    w.locator(".msg.bot").nth(len([t for t in shown if t.startswith(texts.WEBCHAT_UI["bot"])]) - 1).wait_for()
    assert w.locator(".msg").all_inner_texts() == shown
    assert w.get_by_role("dialog").is_visible()  # still open after the reload

    # The bot answers but the response never reaches the page (the connection drops): after a reload the
    # widget fetches what followed its last message, so the answer is not lost.
    def drop_response(route: Any) -> None:
        route.fetch()  # the bot processes the message
        route.abort()  # ... and the page never sees its answer

    page.route("**/webchat/api/messages", drop_response)
    box = w.get_by_role("textbox", name=texts.WEBCHAT_UI["input_label"])
    box.fill("tre em duoi 6 tuoi co duoc cap the bhyt mien phi khong")
    box.press("Enter")
    w.get_by_role("alert").wait_for()
    assert texts.WEBCHAT_UI["unreachable"] in w.get_by_role("alert").inner_text()
    page.unroute("**/webchat/api/messages")
    page.reload()
    w = widget(page)
    w.locator(".msg.bot", has_text="miễn phí khi đăng ký khai sinh").wait_for()


def test_retry_after_a_lost_response_shows_the_answer_once(page: Any) -> None:
    w = open_chat(page)

    def drop_response(route: Any) -> None:
        route.fetch()  # the bot answers ...
        route.abort()  # ... but the page never sees it

    page.route("**/webchat/api/messages", drop_response)
    box = w.get_by_role("textbox", name=texts.WEBCHAT_UI["input_label"])
    box.fill("kiem tra han the bhyt")
    box.press("Enter")
    alert = w.get_by_role("alert")
    alert.wait_for()
    page.unroute("**/webchat/api/messages")
    alert.get_by_role("button", name=texts.WEBCHAT_UI["retry"]).click()
    w.locator(".msg.bot", has_text="VssID").wait_for()
    page.wait_for_timeout(300)
    assert w.locator(".msg.bot", has_text="VssID").count() == 1
    assert w.locator(".msg.me").count() == 1


def test_unreachable_bot_says_so_and_retry_works(page: Any) -> None:
    w = open_chat(page)
    page.route("**/webchat/api/messages", lambda route: route.abort())
    box = w.get_by_role("textbox", name=texts.WEBCHAT_UI["input_label"])
    box.fill("tra cuu han the bhyt")
    box.press("Enter")
    alert = w.get_by_role("alert")
    alert.wait_for()
    assert texts.WEBCHAT_UI["unreachable"] in alert.inner_text()
    page.unroute("**/webchat/api/messages")
    before = w.locator(".msg.bot").count()
    alert.get_by_role("button", name=texts.WEBCHAT_UI["retry"]).click()
    w.locator(".msg.bot").nth(before).wait_for()
    assert "VssID" in w.locator(".msg.bot").last.inner_text()
    assert not alert.is_visible()


def test_keyboard_only(page: Any) -> None:
    page.keyboard.press("Tab")  # the host page has no other focusable element: the launcher comes first
    launcher = widget(page).get_by_role("button", name=texts.WEBCHAT_UI["open_label"])
    assert launcher.evaluate("b => b.getRootNode().activeElement === b")
    page.keyboard.press("Enter")
    w = widget(page)
    w.locator(".msg.bot").first.wait_for()
    box = w.get_by_role("textbox", name=texts.WEBCHAT_UI["input_label"])
    assert box.evaluate("b => b.getRootNode().activeElement === b")
    before = w.locator(".msg.bot").count()
    page.keyboard.type("kich hoat vneid muc 2")
    page.keyboard.press("Enter")
    w.locator(".msg.bot").nth(before).wait_for()
    assert "mức 2" in w.locator(".msg.bot").last.inner_text()
    page.keyboard.press("Shift+Tab")  # back from the text box into the answer's buttons
    focused = page.evaluate("document.querySelector('#troly-so-widget').shadowRoot.activeElement.textContent")
    assert focused  # a labelled control has the focus
    page.keyboard.press("Escape")
    assert not w.get_by_role("dialog").is_visible()
    assert launcher.evaluate("b => b.getRootNode().activeElement === b")


def test_phone_screen_shows_everything_without_horizontal_scrolling(web_stack: WebStack) -> None:
    context = web_stack.browser.new_context(viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True)
    try:
        tab = context.new_page()
        tab.set_default_timeout(TIMEOUT)
        tab.goto(web_stack.site.allowed)
        w = open_chat(tab)
        ask(w, "cach cai dat vneid https://mot-dia-chi-rat-dai-khong-co-cho-xuong-dong.example.gov.vn/abcdefghijklmnop")
        ask(w, "cach cai dat vneid")
        assert tab.evaluate("document.documentElement.scrollWidth") <= 375
        log_box = w.locator(".log")
        assert log_box.evaluate("e => e.scrollWidth <= e.clientWidth")
        for name in ("dialog",):
            box = w.get_by_role(name).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
            assert box["y"] >= 0 and box["y"] + box["height"] <= 667
        for control in (
            w.get_by_role("textbox", name=texts.WEBCHAT_UI["input_label"]),
            w.get_by_role("button", name=texts.WEBCHAT_UI["send"]),
            w.get_by_role("button", name=texts.WEBCHAT_UI["close_label"]),
        ):
            box = control.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
            assert box["y"] + box["height"] <= 667 and box["height"] >= 44  # large enough to tap
        for button in w.locator(".btns button").all():
            button.scroll_into_view_if_needed()
            box = button.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
    finally:
        context.close()


def serious_violations(page: Any, context: Any = None) -> list[tuple[str, str, list[Any]]]:
    """axe-core's serious and critical violations on ``page`` (within ``context``)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, context=context)
    return [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_accessibility_check_finds_no_serious_violation(page: Any, web_stack: WebStack) -> None:
    widget_only = {"include": [["#troly-so-widget"]]}  # the test host page's own clashing styles are not ours
    assert serious_violations(page, widget_only) == []  # closed: the launcher alone
    w = open_chat(page)
    ask(w, "cach cai dat vneid")
    ask(w, "the nao")
    assert serious_violations(page, widget_only) == []
    page.goto(f"{web_stack.bot.url}/demo")  # the demo page as a whole, widget open
    widget(page).locator(".msg.bot").first.wait_for()
    assert serious_violations(page) == []


def test_demo_page_under_its_content_security_policy(web_stack: WebStack) -> None:
    context = web_stack.browser.new_context()
    try:
        tab = context.new_page()
        tab.set_default_timeout(TIMEOUT)
        violations: list[str] = []
        tab.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        response = tab.goto(f"{web_stack.bot.url}/demo")
        assert response is not None and "default-src 'none'" in response.headers["content-security-policy"]
        assert "/widget.js" in tab.locator("pre").inner_text()  # the snippet to paste
        w = widget(tab)
        w.locator(".msg.bot").first.wait_for()  # data-open="true": opened and greeted
        answer = ask(w, "lay lai mat khau vneid")
        assert "Quên mật khẩu" in answer.inner_text()
        assert violations == []
    finally:
        context.close()


def test_delete_my_data_from_the_widget(page: Any, web_stack: WebStack) -> None:
    w = open_chat(page)
    ask(w, "gia han bhyt")
    visitor = page.evaluate("JSON.parse(Object.values(sessionStorage)[0]).visitor")
    from bot.channels.webchat.api import visitor_key

    stored = visitor_key(visitor)
    with web_stack.bot.services.sessions() as session:
        assert session.scalar(select(User.id).where(User.channel == "webchat", User.external_id == stored))
    explain = ask(w, "/xoadulieu")
    assert "xóa" in explain.inner_text()
    before = w.locator(".msg.bot").count()
    w.get_by_role("button", name=texts.BUTTON_DELETE_CONFIRM).click()
    w.locator(".msg.bot").nth(before).wait_for()
    assert texts.DELETED in w.locator(".msg.bot").last.inner_text()
    with web_stack.bot.services.sessions() as session:
        assert session.scalar(select(User.id).where(User.channel == "webchat", User.external_id == stored)) is None
