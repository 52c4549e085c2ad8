"""The public-dataset converter on tiny synthetic Rasa projects written here (no fetched data)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.public_faq import DATASETS, FaqItem, _clean, convert, read_rasa_markdown, read_rasa_yaml, stripped
from bot.kb.loader import load_knowledge
from bot.kb.normalize import fold

NLU_YML = """\
version: "2.0"
nlu:
- intent: greet
  examples: |
    - chào ad
    - hello ad
- intent: hoc_phi
  examples: |
    - học phí của [trường]{"entity":"organization"} bao nhiêu ạ
    - một năm đóng bao nhiêu tiền học vậy ad
    - tiền học mỗi kỳ là mấy triệu
    - học phí của trường bao nhiêu ạ
- intent: ky_tuc_xa
  examples: |
    - trường có ký túc xá không ạ
    - em muốn ở ktx thì đăng ký ở đâu
    - phòng ở nội trú cho tân sinh viên còn chỗ không
- intent: ky_tuc_xa_2
  examples: |
    - ký túc xá có mấy người một phòng
    - một phòng ktx ở bao nhiêu bạn
- intent: chua_tra_loi
  examples: |
    - câu hỏi chưa có ai trả lời
"""

DOMAIN_YML = """\
version: "2.0"
responses:
  utter_greet:
  - text: Chào bạn!
  utter_hoc_phi:
  - text: "Học phí khoảng 12 triệu đồng một năm học {{ward.name}}."
  utter_ky_tuc_xa:
  - text: Trường có ký túc xá, em đăng ký tại phòng công tác sinh viên.
  utter_ky_tuc_xa_2:
  - text: Mỗi phòng từ 6 đến 8 sinh viên.
"""

NLU_MD = """\
## intent:greet
- xin chào

## intent: faq/trieu_chung
- Triệu chứng của bệnh là gì?
- Bị bệnh thì có biểu hiện thế nào?
- dấu hiệu nhận biết khi mắc bệnh

## intent:faq/khau_trang
- Có cần đeo khẩu trang không?
- Ra đường có phải mang khẩu trang không
"""

RESPONSES_MD = """\
## symptoms:
* faq/trieu_chung
- Sốt, ho khan và mệt mỏi là các triệu chứng phổ biến nhất.

## masks
* faq/khau_trang
  - Nên đeo khẩu trang ở nơi đông người. Xem thêm [tại đây](https://example.org/khau-trang).
"""


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    return root


def test_rasa_yaml_project_becomes_a_valid_knowledge_base_with_held_out_paraphrases(tmp_path: Path) -> None:
    root = _write(tmp_path / "clone", {"nlu.yml": NLU_YML, "domain.yml": DOMAIN_YML})
    items, dropped = read_rasa_yaml(root, frozenset({"greet"}))
    assert [i.key for i in items] == ["hoc_phi", "ky_tuc_xa", "ky_tuc_xa_2"]
    assert dropped["conversation intents (greetings, thanks...)"] == 1
    assert dropped["intents without a text answer"] == 1
    assert items[0].questions[0] == "học phí của trường bao nhiêu ạ"  # entity markup removed
    twice = 'em nộp ở [cơ sở hải dương]{"entity":"location"}]{"entity":"location"} được ko'
    assert _clean(twice) == "em nộp ở cơ sở hải dương được ko"  # markup typed twice over the same words

    converted = convert(items, tmp_path / "kb", source="https://example.org/dataset")
    loaded = load_knowledge(converted.folder)
    assert loaded.kb is not None, loaded.errors
    entries = loaded.kb.entries
    ids = [e.id for e in entries]
    assert ids == ["hoc-phi", "ky-tuc-xa", "ky-tuc-xa-2"]
    assert len(set(ids)) == len(ids)
    assert all(e.source == "https://example.org/dataset" for e in entries)
    assert "{{" not in entries[0].answer and "ward" in entries[0].answer  # a dataset's braces stay plain text

    held = {q.text: q.expected for q in converted.questions}
    # the fourth "học phí" question repeats the first once folded; the others are held out, never variants
    assert held == {
        "một năm đóng bao nhiêu tiền học vậy ad": "hoc-phi",
        "tiền học mỗi kỳ là mấy triệu": "hoc-phi",
        "em muốn ở ktx thì đăng ký ở đâu": "ky-tuc-xa",
        "phòng ở nội trú cho tân sinh viên còn chỗ không": "ky-tuc-xa",
        "một phòng ktx ở bao nhiêu bạn": "ky-tuc-xa-2",
    }
    assert converted.dropped["repeated questions"] == 1
    for entry in entries:
        assert entry.variants == ()
        phrases = {fold(p) for p in (entry.question, *entry.variants)}
        assert not phrases & {fold(t) for t in held}
    assert all(q.kind == "paraphrase" for q in converted.questions)
    assert stripped(converted.questions)[0].text == "mot nam dong bao nhieu tien hoc vay ad"


def test_rasa_markdown_retrieval_intents_and_limit(tmp_path: Path) -> None:
    root = _write(tmp_path / "clone", {"data/nlu.md": NLU_MD, "data/responses.md": RESPONSES_MD})
    items, dropped = read_rasa_markdown(root)
    assert [i.key for i in items] == ["trieu_chung", "khau_trang"]
    assert dropped["intents outside the FAQ (dialogue, statistics)"] == 1
    assert items[1].answer.endswith("Xem thêm tại đây.")

    converted = convert(items, tmp_path / "kb", limit=1)
    assert converted.entries == 1
    assert converted.dropped["answers beyond --limit"] == 1
    assert {q.expected for q in converted.questions} == {"trieu-chung"}
    assert len(converted.questions) == 2
    assert load_knowledge(converted.folder).kb is not None


def test_ambiguous_copied_and_empty_rows_are_dropped_and_counted(tmp_path: Path) -> None:
    items = [
        FaqItem("Đăng ký", "Đăng ký tại trang web.", ("Đăng ký ở đâu?", "đăng ký ở đâu ạ", "hỏi chung")),
        FaqItem("Đăng ký", "Một câu trả lời khác.", ("Nộp hồ sơ ở đâu?", "hỏi chung", "  ")),
        FaqItem("trống", "", ("Không có câu trả lời?",)),
        FaqItem("Chủ đề", "Có.", ("Có được không?", "Được không vậy?"), topic="Tuyển sinh"),
    ]
    converted = convert(items, tmp_path / "kb")
    loaded = load_knowledge(converted.folder)
    assert loaded.kb is not None, loaded.errors
    assert [e.id for e in loaded.kb.entries] == ["dang-ky", "dang-ky-2", "chu-de"]
    assert {c.slug for c in loaded.kb.categories} == {"phan-01", "tuyen-sinh"}
    assert converted.dropped == {
        "questions given for two answers": 2,
        "empty questions": 1,
        "answers without a question or an answer": 1,
        "held-out questions that copy an entry's question": 1,
    }
    assert [(q.text, q.expected) for q in converted.questions] == [("Được không vậy?", "chu-de")]


def test_every_known_dataset_names_its_public_repository() -> None:
    assert DATASETS
    for name, dataset in DATASETS.items():
        assert dataset.url.startswith("https://github.com/"), name
        assert (Path("benchmarks/data/public") / name / "SOURCE").is_file(), name
