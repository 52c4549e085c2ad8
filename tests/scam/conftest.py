"""Fixtures for the scam checker: the shared test knowledge plus a small scam topic."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import write_knowledge

CATEGORY_LUA_DAO = """\
category: lua-dao
title: Cảnh giác lừa đảo
entries:
  - id: lua-dao-cai-ung-dung-gia-apk
    question: Người lạ gửi đường link bảo tôi tải ứng dụng VNeID hay Dịch vụ công (file APK) về cài, có nên cài không?
    answer: |
      **Không cài.** Ứng dụng thật chỉ tải trên CH Play hoặc App Store.
  - id: lua-dao-chuyen-tien-tai-khoan-an-toan
    question: Người xưng công an bắt chuyển tiền vào "tài khoản an toàn" để chứng minh trong sạch, tôi phải làm sao?
    answer: |
      Công an không bao giờ yêu cầu chuyển tiền vào «tài khoản an toàn». Gọi 113.
  - id: lua-dao-gia-nhan-vien-ngan-hang-otp
    question: Người xưng nhân viên ngân hàng hỏi mã OTP, tôi có nên đọc mã không?
    answer: |
      Không bao giờ đọc mã OTP cho ai.
  - id: lua-dao-nhan-biet-cuoc-goi-tin-nhan
    question: Làm sao nhận biết một cuộc gọi hay tin nhắn lừa đảo nói chung?
    answer: |
      Đòi OTP, đòi chuyển tiền, dọa nạt, hối thúc, gửi link lạ: đều là dấu hiệu lừa đảo.
"""


def write_scam_topic(folder: Path) -> Path:
    """Add the scam topic to a knowledge folder."""
    (folder / "lua-dao.yaml").write_text(CATEGORY_LUA_DAO, encoding="utf-8")
    return folder


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    """The shared test knowledge with a scam topic (4 entries) added."""
    return write_scam_topic(write_knowledge(tmp_path / "knowledge"))
