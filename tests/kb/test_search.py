"""Search tests: right entry for each way of asking, clean declines, properties that hold for any input."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.kb.calibration import bank
from bot.kb.loader import load_knowledge
from bot.kb.normalize import Normalizer, builtin_lexicon
from bot.kb.result import Decision
from bot.kb.search import MAX_QUERY_CHARS, SearchIndex, _aliases

WriteKb = Callable[..., Path]
KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"


@pytest.fixture
def index(write_kb: WriteKb) -> SearchIndex:
    kb = load_knowledge(write_kb()).kb
    assert kb is not None
    return SearchIndex(kb)


@pytest.fixture(scope="module")
def shipped_index() -> SearchIndex:
    kb = load_knowledge(KNOWLEDGE).kb
    assert kb is not None, "the shipped knowledge base has errors: run python -m bot kb check"
    return SearchIndex(kb)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("kích hoạt định danh mức 2 ở đâu", "vneid-kich-hoat-muc-2"),
        ("kich hoat dinh danh muc hai", "vneid-kich-hoat-muc-2"),
        ("quên pass vneid", "vneid-quen-mat-khau"),
        ("ko nho mk app dinh danh", "vneid-quen-mat-khau"),
        ("cho em hỏi đưa bằng lái lên app vneid sao ạ", "vneid-tich-hop-gplx"),
        ("tich hop giay phep lai xe", "vneid-tich-hop-gplx"),
        ("công an gọi bảo chuyển tiền vào tài khoản an toàn", "lua-dao-tai-khoan-an-toan"),
        ("tin nhắn đòi tiền điện dọa cắt điện", "lua-dao-hoa-don-dien-gia"),
    ],
)
def test_finds_the_right_entry(index: SearchIndex, question: str, expected: str) -> None:
    result = index.search(question)
    assert result.best is not None and result.best.entry.id == expected, result


@pytest.mark.parametrize("junk", ["", "   ", "😀🙏", "\x00\xff\x01", "https://dichvucong.gov.vn", "?!?!", "a" * 20000])
def test_junk_declines_cleanly(index: SearchIndex, junk: str) -> None:
    result = index.search(junk)
    assert result.decision is Decision.DECLINE
    assert not result.answered


@pytest.mark.parametrize(
    "question", ["giá vàng hôm nay bao nhiêu", "đội tuyển việt nam đá mấy giờ", "nấu phở bò thế nào"]
)
def test_out_of_scope_is_not_answered(index: SearchIndex, question: str) -> None:
    assert not index.search(question).answered


def test_diacritics_prefer_the_entry_that_agrees(write_kb: WriteKb) -> None:
    kb = load_knowledge(
        write_kb(
            {
                "a.yaml": "category: a\ntitle: A\nentries:\n"
                "  - id: duong\n    question: Đường đến trụ sở phường\n    answer: A\n"
                "  - id: duong-lich\n    question: Dương lịch là gì\n    answer: B\n"
            }
        )
    ).kb
    assert kb is not None
    index = SearchIndex(kb)
    assert index.search("đường").candidates[0].entry.id == "duong"
    assert index.search("dương").candidates[0].entry.id == "duong-lich"


def test_deterministic(index: SearchIndex) -> None:
    first = index.search("vneid mức 2")
    assert all(index.search("vneid mức 2") == first for _ in range(3))


def test_candidates_are_sorted_and_bounded(index: SearchIndex) -> None:
    result = index.search("vneid")
    scores = [c.score for c in result.candidates]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert len(result.suggestions) <= 3


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300))
def test_search_never_raises_and_confidence_is_bounded(index: SearchIndex, text: str) -> None:
    result = index.search(text)
    assert 0.0 <= result.confidence <= 1.0
    assert all(0.0 <= c.score <= 1.0 for c in result.candidates)
    assert result.answered == (result.decision is Decision.ANSWER)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    words=st.lists(st.sampled_from(["vneid", "mức", "2", "kích", "hoạt", "ko", "dc", "tiền", "điện", "ạ"]), max_size=12)
)
def test_vocabulary_soup_never_raises(index: SearchIndex, words: list[str]) -> None:
    result = index.search(" ".join(words))
    assert 0.0 <= result.confidence <= 1.0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.text(max_size=300)
    | st.lists(st.sampled_from(["vneid", "mức", "2", "kích", "hoạt", "ko", "ạ"])).map(" ".join)
)
def test_search_never_raises_where_any_stable_candidate_may_answer(index: SearchIndex, text: str) -> None:
    index.calibration = replace(index.calibration, stable_at=0.0)
    result = index.search(text)
    assert 0.0 <= result.confidence <= 1.0
    assert not result.answered or result.candidates


def test_every_shipped_question_and_variant_retrieves_its_entry(shipped_index: SearchIndex) -> None:
    misses = []
    for entry in shipped_index.entries:
        for phrase in (entry.question, *entry.variants):
            best = shipped_index.search(phrase).best
            if best is None or best.entry.id != entry.id:
                misses.append((entry.id, phrase, best.entry.id if best else None))
    assert misses == []


def test_shipped_questions_are_answered_not_just_ranked(shipped_index: SearchIndex) -> None:
    unanswered = [e.id for e in shipped_index.entries if not shipped_index.search(e.question).answered]
    assert unanswered == []


def test_a_question_with_no_topic_is_never_answered_outright(write_kb: WriteKb) -> None:
    kb = load_knowledge(write_kb()).kb
    assert kb is not None
    index = SearchIndex(kb)
    for vague in ("làm sao", "thế nào ạ", "ở đâu vậy ad", "cho em hỏi với"):
        assert not index.search(vague).answered, vague
    assert index.search("quên mật khẩu VNeID thì lấy lại thế nào").answered


def test_a_key_pressed_twice_is_read_as_the_word_meant(shipped_index: SearchIndex) -> None:
    # The repeated letter is dropped only where that gives a word the base uses, the last letter first.
    assert shipped_index._correct("khauu") == [("khau", 0.95)]
    assert shipped_index._correct("gii")[:1] == [("gi", 0.95)]
    assert shipped_index._correct("khau") == []  # a known word is left alone
    plain = shipped_index.search("quen mat khau vneid")
    doubled = shipped_index.search("quenn mat khauu vneidd")
    assert doubled.best is not None and plain.best is not None
    assert doubled.best.entry.id == plain.best.entry.id == "vneid-quen-mat-khau"


_STORY = (
    "Nhà tôi ở xa trung tâm, con cái đi làm cả ngày, chiều mới về. "
    "Tôi muốn tự làm mọi việc trên điện thoại cho đỡ phiền. "
)


def test_a_long_message_is_answered_when_its_asking_part_alone_is_answered_from_the_same_entry(
    shipped_index: SearchIndex,
) -> None:
    message = _STORY + "Quên mật khẩu VNeID thì lấy lại thế nào?"
    # The story lowers the whole message's confidence below the answer threshold...
    assert shipped_index._search(message, 5, whole=False).decision is Decision.SUGGEST
    # ...but its asking part, read alone, is answered from the entry the whole message ranks first.
    assert shipped_index.asking_part(message) is not None
    result = shipped_index.search(message)
    assert result.answered
    assert result.candidates[0].entry.id == "vneid-quen-mat-khau"


def test_a_long_message_is_answered_from_the_clause_that_names_its_topic_read_with_its_question(
    shipped_index: SearchIndex,
) -> None:
    # The topic is in the first sentence; the sentence just before the question only tells the story.
    message = (
        "Tài khoản định danh của tôi mới ở mức 1. Tôi ở một mình, chân yếu đi lại khó. Muốn lên mức 2 thì phải làm sao?"
    )
    readings = shipped_index.asking_readings(message)
    part = shipped_index.asking_part(message)
    assert readings[0] == part
    assert part is not None and shipped_index._search(part, 1, whole=False).decision is Decision.SUGGEST
    assert shipped_index._search(message, 5, whole=False).decision is Decision.SUGGEST
    topic = next(r for r in readings if r.startswith("Tài khoản định danh"))
    assert topic.endswith("Muốn lên mức 2 thì phải làm sao")
    result = shipped_index.search(message)
    assert result.answered
    assert result.candidates[0].entry.id == "vneid-dang-ky-muc-2"


def test_a_long_message_that_asks_about_two_things_is_not_answered_from_one(shipped_index: SearchIndex) -> None:
    message = (
        "Bà tôi quên mật khẩu VssID. Hai ông bà nhà tôi ở một mình, con cái đi làm xa cả. "
        "Ông tôi quên mật khẩu VNeID. Phải làm thế nào bây giờ?"
    )
    answered = {
        alone.candidates[0].entry.id
        for alone in (shipped_index._search(r, 1, whole=False) for r in shipped_index.asking_readings(message))
        if alone.answered
    }
    # The first clause read with the question answers one password entry, the asking part the other: they
    # disagree, so neither is answered outright; both are offered.
    assert answered == {"vneid-quen-mat-khau", "bao-hiem-vssid-quen-mat-khau"}
    result = shipped_index.search(message)
    assert result.decision is Decision.SUGGEST
    assert answered <= {c.entry.id for c in result.candidates}


def test_a_long_message_too_far_from_every_entry_is_not_read_in_parts(
    shipped_index: SearchIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = (
        "Cuối tuần này nhà tôi có giỗ, cả họ về đông đủ. Mẹ tôi muốn làm món tráng miệng cho các cháu. "
        "Cách làm bánh bông lan mềm xốp thế nào?"
    )
    assert shipped_index.asking_readings(message)  # long enough to be read in parts
    read: list[str] = []
    monkeypatch.setattr(shipped_index, "asking_readings", lambda text: read.append(text) or [])
    assert shipped_index.search(message).decision is Decision.DECLINE
    assert read == []  # declined on the whole: no part could be offered more than the whole was
    suggested = "Tài khoản định danh của tôi mới ở mức 1. Tôi ở một mình, chân yếu đi lại khó. Muốn lên mức 2 thì sao?"
    shipped_index.search(suggested)
    assert read == [suggested]


WATER = """\
category: nuoc
title: Nước sạch
entries:
  - id: nuoc-lap-moi
    question: Muốn lắp đồng hồ nước máy mới cho nhà thì đăng ký ở đâu, cần giấy tờ gì?
    variants:
      - đăng ký lắp nước máy cần những giấy tờ gì
      - lap dong ho nuoc moi o dau
    answer: Nộp giấy đề nghị lắp đặt kèm căn cước của chủ hộ tại công ty cấp nước.
    tags: [nước máy, lắp đặt]
  - id: nuoc-mat-nuoc
    question: Nhà bị mất nước cả ngày thì báo ở đâu?
    variants:
      - mat nuoc ca ngay bao ai
      - khu tôi bị cúp nước gọi số nào
    answer: Gọi tổng đài chăm sóc khách hàng của công ty cấp nước, ghi trên hóa đơn tiền nước.
    tags: [mất nước]
  - id: nuoc-hoa-don
    question: Tiền nước tháng này cao bất thường thì làm sao?
    variants:
      - hoa don nuoc tang vot
      - tiền nước tăng gấp đôi kiểm tra thế nào
    answer: Kiểm tra chỉ số đồng hồ, khóa hết vòi xem đồng hồ có còn quay không, rồi báo công ty cấp nước.
    tags: [tiền nước, hóa đơn]
"""

BIRTH = """\
category: ho-tich
title: Hộ tịch
entries:
  - id: khai-sinh
    question: Đăng ký khai sinh cho con ở đâu?
    answer: Nộp tờ khai và giấy chứng sinh tại UBND phường hoặc trên Cổng dịch vụ công.
"""


def test_a_question_about_a_key_entity_no_entry_names_is_offered_not_answered(write_kb: WriteKb) -> None:
    kb = load_knowledge(write_kb({"nuoc.yaml": WATER})).kb
    assert kb is not None
    index = SearchIndex(kb)
    for question in (
        "Đăng ký khai sinh cho con cần mang những giấy tờ gì?",
        "dang ky tam tru can nhung giay to gi",
        "cần làm lại căn cước thì nộp giấy tờ gì",  # "cần" before the act, not before the document
    ):
        # The procedure words alone ("đăng ký", "cần giấy tờ gì") rank the water entry first, confidently.
        confidence, best = index.confidence_of(question)
        assert best == "nuoc-lap-moi"
        assert confidence >= index.calibration.answer_at, question
        result = index.search(question)
        assert result.decision is Decision.SUGGEST, question
        assert index.foreign(question)
    assert index.search("đăng ký lắp đồng hồ nước mới cần giấy tờ gì").answered


@pytest.mark.parametrize(
    "question",
    [
        "đăng ký lắp đồng hồ nước mới cần giấy tờ gì, có cần căn cước không",
        "lắp nước máy mới có phải mang theo giấy khai sinh không",
        "đăng ký lắp đồng hồ nước qua VNeID được không",
        "đăng ký lắp đồng hồ nước có cần mang bằng lái không",  # a second name of the licence, as a means too
    ],
)
def test_a_key_entity_named_only_as_what_is_needed_leaves_the_answer(write_kb: WriteKb, question: str) -> None:
    kb = load_knowledge(write_kb({"nuoc.yaml": WATER})).kb
    assert kb is not None
    index = SearchIndex(kb)
    # The question is about installing a water meter; the ID card, the birth certificate, VNeID are its means.
    assert not index.foreign(question)
    result = index.search(question)
    assert result.answered
    assert result.candidates[0].entry.id == "nuoc-lap-moi"


def test_a_key_entity_an_entry_names_or_only_the_story_names_leaves_the_answer(write_kb: WriteKb) -> None:
    kb = load_knowledge(write_kb({"nuoc.yaml": WATER, "ho-tich.yaml": BIRTH})).kb
    assert kb is not None
    index = SearchIndex(kb)
    assert not index.foreign("Đăng ký khai sinh cho con cần mang những giấy tờ gì?")
    # A document named in passing, before the question, says nothing about what is asked.
    story = "Tôi mới làm xong căn cước cho con. Giờ muốn lắp đồng hồ nước mới thì đăng ký ở đâu?"
    assert not index.foreign(story)
    result = index.search(story)
    assert result.answered
    assert result.candidates[0].entry.id == "nuoc-lap-moi"


def test_a_short_message_has_no_readings_apart(shipped_index: SearchIndex) -> None:
    assert shipped_index.asking_readings("Muốn lên mức 2 thì phải làm sao?") == []
    assert shipped_index.asking_part("Muốn lên mức 2 thì phải làm sao?") is None


def test_a_long_message_whose_asking_part_points_elsewhere_is_not_answered(shipped_index: SearchIndex) -> None:
    # The story ("không vào được ứng dụng") pulls toward the VssID entry; the question alone is about VNeID. The
    # two readings disagree, so nothing is answered outright from the wrong one.
    message = (
        "Bố tôi năm nay 75 tuổi, mắt kém, ở nhà một mình. Hôm qua ông bấm mãi không vào được ứng dụng. "
        "Quên mật khẩu VNeID thì lấy lại thế nào?"
    )
    result = shipped_index.search(message)
    assert result.candidates[0].entry.id == "vneid-quen-mat-khau" or not result.answered


def test_a_suggested_candidate_that_hangs_on_no_one_word_is_answered_from_the_stability_threshold(
    shipped_index: SearchIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    stable, unstable = "doi the can cuoc het han o dau", "lam lai so bao hiem xa hoi bi mat"
    # Leaving out any one of its strongest words keeps the ID-card renewal first; the lost insurance book's best
    # candidate changes once one of its words is gone.
    first = shipped_index.rank(stable, model=False)[0].index
    assert shipped_index.stable(stable, first)
    assert not shipped_index.stable(unstable, shipped_index.rank(unstable, model=False)[0].index)
    cal = replace(shipped_index.calibration, answer_at=0.99, agree_at=1.0)
    monkeypatch.setattr(shipped_index, "calibration", replace(cal, stable_at=1.0))
    assert shipped_index.search(stable).decision is Decision.SUGGEST
    monkeypatch.setattr(shipped_index, "calibration", replace(cal, stable_at=0.0))
    result = shipped_index.search(stable)
    assert result.answered and result.candidates[0].entry is shipped_index.entries[first]
    assert shipped_index.search(unstable).decision is Decision.SUGGEST


# Whether or not its confidence alone would answer it; and with a tail past what the search reads, naming the
# other system: it is ignored there too.
@pytest.mark.parametrize("answer_at", [0.0, 1.0])
@pytest.mark.parametrize("tail", ["", " " + "." * MAX_QUERY_CHARS + " vssid"])
def test_an_entry_about_another_system_than_the_one_named_is_neither_answered_nor_offered_first(
    shipped_index: SearchIndex, answer_at: float, tail: str
) -> None:
    question = "quen mat khau vneid thi lay lai the nao" + tail
    first = shipped_index.first_entry(shipped_index.rank(question))
    # The words prefer VssID's entry.
    assert first is not None and shipped_index.contradicts(question[:MAX_QUERY_CHARS], first.index)
    calibration = shipped_index.calibration
    shipped_index.calibration = replace(calibration, answer_at=answer_at, suggest_at=0.0, agree_at=1.0, stable_at=1.0)
    try:
        result = shipped_index.search(question)
    finally:
        shipped_index.calibration = calibration
    assert result.decision is Decision.SUGGEST
    assert result.candidates[0].entry.id == "vneid-quen-mat-khau"


TWO_NAMES = """\
category: giao-thong
title: Giao thông
entries:
  - id: doi-gplx
    question: Đổi giấy phép lái xe hết hạn ở đâu, cần giấy tờ gì?
    answer: Nộp hồ sơ trên Cổng Dịch vụ công hoặc tại Sở Xây dựng, kèm giấy khám sức khỏe.
  - id: dang-ky-xe
    question: Đăng ký xe máy mới mua ở đâu?
    answer: Tại công an xã, phường nơi thường trú, kèm hóa đơn và giấy nộp lệ phí trước bạ.
  - id: thue-app
    question: Cài ứng dụng eTax Mobile để nộp thuế thế nào?
    answer: Tải eTax Mobile từ CH Play hoặc App Store, đăng nhập bằng mã số thuế.
  - id: khoa-the-atm
    question: Mất thẻ ATM thì khóa thẻ thế nào?
    answer: Gọi ngay tổng đài ngân hàng hoặc khóa thẻ trong ứng dụng ngân hàng.
  - id: chuan-hoa-thue-bao
    question: Chuẩn hóa thông tin thuê bao di động thế nào?
    answer: Mang căn cước ra cửa hàng nhà mạng hoặc cập nhật trên ứng dụng của nhà mạng.
  - id: bao-hiem-tnds
    question: Mua bảo hiểm trách nhiệm dân sự bắt buộc cho xe máy ở đâu?
    answer: Tại đại lý bảo hiểm, bưu điện hoặc trên ứng dụng ngân hàng.
"""


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("đổi bằng lái hết hạn ở đâu", "doi-gplx"),  # the citizen's name for the licence, the entry's official one
        ("doi bang lai xe het han o dau", "doi-gplx"),
        ("cài etax để nộp thuế", "thue-app"),  # eTax asked, eTax Mobile answered: the same system
        ("bị mất thẻ ngân hàng thì khóa thế nào", "khoa-the-atm"),  # a name no entry writes is not another subject
        ("chuẩn hóa sim chính chủ thế nào", "chuan-hoa-thue-bao"),
        ("bảo hiểm xe máy bắt buộc mua ở đâu", "bao-hiem-tnds"),
    ],
)
def test_two_names_of_one_key_entity_do_not_contradict_each_other(
    write_kb: WriteKb, question: str, expected: str
) -> None:
    kb = load_knowledge(write_kb({"giao-thong.yaml": TWO_NAMES})).kb
    assert kb is not None
    index = SearchIndex(kb)
    first = index.first_entry(index.rank(question))
    assert first is not None and index.entries[first.index].id == expected
    assert not index.contradicts(question, first.index)
    assert not index.foreign(question)
    # Whatever a small base's calibration, nothing about the names holds the answer back or puts another entry first.
    index.calibration = replace(index.calibration, answer_at=0.0, suggest_at=0.0, agree_at=1.0, stable_at=1.0)
    result = index.search(question)
    assert result.answered, question
    assert result.candidates[0].entry.id == expected


def test_no_member_of_an_entity_group_is_another_name_or_a_part_of_another() -> None:
    # Two members naming the same thing, or one member's name inside another's ("etax" as one member, "etax mobile"
    # as another), would make a question and an entry that name the same thing contradict each other. Several names
    # of one thing are one member, a list.
    normalizer = Normalizer(builtin_lexicon())
    for group in bank()["exclusive_entities"]:
        members = [[normalizer.normalize(a).stripped_text for a in _aliases(m)] for m in group]
        names = [n for member in members for n in member]
        assert len(set(names)) == len(names), group
        for k, member in enumerate(members):
            others = [n for j, m in enumerate(members) if j != k for n in m]
            for name in member:
                assert not any(f" {name} " in f" {o} " or f" {o} " in f" {name} " for o in others), (name, group)
