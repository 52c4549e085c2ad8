"""Diacritics put back from a knowledge base's own vocabulary, before a question is embedded."""

from __future__ import annotations

from bot.kb.diacritics import DiacriticRestorer


def restorer() -> DiacriticRestorer:
    texts = [
        "quên mật khẩu tài khoản định danh",
        "mất thẻ căn cước thì làm lại ở đâu",
        "mất căn cước",
        "mắt kém có được nhờ người ký không",
    ]
    return DiacriticRestorer(text.split() for text in texts)


def test_bare_words_take_the_accented_form_of_their_pair() -> None:
    r = restorer()
    assert r.restore(["quen", "mat", "khau"]) == ["quên", "mật", "khẩu"]
    assert r.restore(["mat", "the", "can", "cuoc"]) == ["mất", "thẻ", "căn", "cước"]
    # "mat" alone is ambiguous (mật, mất, mắt): its neighbour decides.
    assert r.restore(["mat", "kem"])[0] == "mắt"


def test_words_typed_with_marks_or_unknown_stay_as_typed() -> None:
    r = restorer()
    assert r.restore(["mất", "mat", "khau", "xyz"]) == ["mất", "mật", "khẩu", "xyz"]
    assert r.restore([]) == []


def test_the_most_frequent_form_wins_and_a_tie_goes_to_the_form_met_first() -> None:
    r = DiacriticRestorer(text.split() for text in ["mắt kém", "mất thẻ", "mất thẻ", "mặt nạ", "mật khẩu", "mắt kém"])
    assert r.restore(["mat"]) == ["mắt"]  # mắt and mất twice each: mắt came first
    assert r.restore(["mat", "the"]) == ["mất", "thẻ"]  # the pair decides over the single word
    three = DiacriticRestorer(text.split() for text in ["mặt nạ", "mất thẻ", "mất thẻ", "mặt nạ", "mặt nạ"])
    assert three.restore(["mat"]) == ["mặt"]
