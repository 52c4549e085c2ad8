"""The calibration's shipped questions stay apart from every labelled benchmark question: an engine calibrated on
a question it is then measured on would look better than it is."""

from __future__ import annotations

import pytest

from benchmarks.heldout import bases
from benchmarks.questions import load_questions, resembles
from bot.kb.calibration import bank


def _bank_questions() -> list[str]:
    data = bank()
    return [*data["out_of_scope"], *(str(item["q"]) for item in data["services_out_of_scope"])]


def _labelled() -> list[str]:
    texts = [q.text for q in load_questions()]
    for folder in bases():
        texts += [q.text for q in load_questions(folder)]
    return texts


def test_no_calibration_question_resembles_a_labelled_question() -> None:
    labelled = _labelled()
    close = [(item, q) for item in _bank_questions() for q in labelled if resembles(item, q)]
    assert close == []


@pytest.mark.parametrize(
    ("a", "b", "close"),
    [
        ("Làm hộ chiếu online được không?", "lam ho chieu online duoc khong", True),  # the same, folded
        ("rằm tháng Giêng năm nay rơi vào thứ mấy", "Rằm tháng Giêng năm nay rơi vào ngày nào dương lịch", True),
        ("tạm trú nhà thuê", "chủ nhà trọ có phải khai tạm trú cho sinh viên ở thuê không", False),  # a keyword
        ("mua nồi chiên không dầu loại nào tốt", "thời tiết ngày mai ở đây có mưa không", False),
    ],
)
def test_resembles(a: str, b: str, close: bool) -> None:
    assert resembles(a, b) is close
