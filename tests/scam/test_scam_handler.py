"""The handler through plain messages: /kiemtra, forwarded and pasted messages, bare links, FAQ questions kept."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.messages import IncomingMessage, Reply
from bot.services import Services
from bot.storage.models import QuestionLog
from handlers import texts
from handlers.routes import handle
from handlers.ui import data_buttons

SCAM_SMS = (
    "BHXH thong bao: ong/ba duoc hoan tien BHYT 1.850.000d. Truy cap bhxh-hoantien.top, nhap ma OTP 482913 de nhan."
)


async def send(services: Services, text: str, **kw: object) -> list[Reply]:
    msg = IncomingMessage(channel="test", user_id="u1", chat_id="u1", text=text, **kw)  # type: ignore[arg-type]
    return await handle(msg, services)


def is_check(reply: Reply) -> bool:
    return any(reply.text.startswith(level) for level in texts.SCAM_LEVEL.values())


async def test_kiemtra_command_checks_the_text(services: Services) -> None:
    (reply,) = await send(services, "/kiemtra " + SCAM_SMS)
    assert reply.text.startswith(texts.SCAM_LEVEL["danger"])
    assert "bhxh-hoantien.top" in reply.text  # the domain is named in the explanation
    assert "canhbao.khonggianmang.vn" in reply.text and "5656" in reply.text and "113" in reply.text
    assert "an toàn tuyệt đối" not in reply.text.replace("không thể khẳng định tin nhắn an toàn tuyệt đối", "")
    assert all(b.startswith("a:lua-dao-") for b in data_buttons([reply]))
    assert data_buttons([reply]), "ends with the closest scam entries"


async def test_kiemtra_without_text_explains(services: Services) -> None:
    (reply,) = await send(services, "/kiemtra")
    assert reply.text == texts.SCAM_USAGE
    (help_reply,) = await send(services, "/help")
    assert "/kiemtra" in help_reply.text


async def test_pasted_message_and_bare_link_are_checked(services: Services) -> None:
    (pasted,) = await send(services, SCAM_SMS)
    assert pasted.text.startswith(texts.SCAM_LEVEL["danger"])
    (link,) = await send(services, "hxxps://vneid[.]gov[.]vn[.]xyz/kich-hoat")
    assert link.text.startswith(texts.SCAM_LEVEL["danger"])
    (short,) = await send(services, "https://bit.ly/3xYz9Qa")
    assert short.text.startswith(texts.SCAM_LEVEL["suspicious"])
    (apk,) = await send(services, "Tải bản cập nhật VNeID: vneid-app.com/vneid.apk")
    assert "a:lua-dao-cai-ung-dung-gia-apk" in data_buttons([apk])


async def test_genuine_otp_notice_is_green_but_never_called_safe(services: Services) -> None:
    (reply,) = await send(services, "[VCB] 123456 la ma OTP giao dich. Tuyet doi KHONG cung cap ma OTP cho bat ky ai.")
    assert reply.text.startswith(texts.SCAM_LEVEL["none"])
    assert texts.SCAM_NONE_CAUTION in reply.text


@pytest.mark.parametrize(
    "question",
    [
        "lừa đảo là gì vậy ad?",
        "Làm sao nhận biết tin nhắn lừa đảo?",
        "có người xưng công an bắt chuyển tiền vào tài khoản an toàn, có phải lừa đảo không?",
        "cách cài VNeID",
        "vào dichvucong.gov.vn không được thì làm sao?",
    ],
)
async def test_questions_stay_with_the_faq(services: Services, question: str) -> None:
    replies = await send(services, question)
    assert not any(is_check(r) for r in replies), replies[0].text


async def test_forwarded_message_is_always_checked(services: Services) -> None:
    (reply,) = await send(services, "Tối nay cả nhà qua bà ăn cơm nhé", forwarded=True)
    assert reply.text.startswith(texts.SCAM_LEVEL["none"])
    (plain,) = await send(services, "Tối nay cả nhà qua bà ăn cơm nhé")
    assert not is_check(plain)


async def test_checked_text_is_neither_logged_nor_stored(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await send(services, "/kiemtra " + SCAM_SMS)
    assert "482913" not in caplog.text and "bhxh-hoantien" not in caplog.text
    assert "danger" in caplog.text  # the level and signal codes are logged
    with services.sessions() as s:
        assert all("482913" not in (row.raw_text or "") for row in s.scalars(select(QuestionLog)))


async def test_ward_contact_and_police_phone(services: Services, kb_dir: Path) -> None:
    (kb_dir / "_ward.yaml").write_text(
        'name: "UBND phường An Bình"\nphone: "024 1234 5678"\npolice_phone: "024 8765 4321"\n', encoding="utf-8"
    )
    assert services.knowledge.reload().ok
    (reply,) = await send(services, "/kiemtra " + SCAM_SMS)
    assert "UBND phường An Bình" in reply.text and "024 1234 5678" in reply.text and "024 8765 4321" in reply.text
