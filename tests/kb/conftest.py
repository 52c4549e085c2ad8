"""Fixtures for the knowledge-engine tests: small knowledge folders written to a temporary path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

TOPIC_VNEID = """\
category: vneid
title: Định danh điện tử VNeID
entries:
  - id: vneid-kich-hoat-muc-2
    question: Làm sao kích hoạt tài khoản định danh điện tử mức 2?
    variants:
      - kích hoạt vneid mức 2 như thế nào
      - lam sao kich hoat muc 2 tren vneid
    answer: |
      1. Mở ứng dụng **VNeID**.
      2. Chọn **Kích hoạt tài khoản** và làm theo hướng dẫn.
    tags: [vneid, kích hoạt]
    source: https://vneid.gov.vn
    updated: 2026-03-01
  - id: vneid-quen-mat-khau
    question: Quên mật khẩu VNeID thì lấy lại thế nào?
    variants:
      - quen mat khau vneid
      - không nhớ mật khẩu ứng dụng định danh
    answer: Chọn **Quên mật khẩu** trên màn hình đăng nhập và nhập mã OTP gửi về số điện thoại.
    tags: [vneid, mật khẩu]
    source: https://vneid.gov.vn
  - id: vneid-tich-hop-gplx
    question: Tích hợp giấy phép lái xe vào VNeID như thế nào?
    variants:
      - đưa bằng lái xe lên vneid
      - tich hop gplx vao dinh danh
    answer: Vào mục **Ví giấy tờ**, chọn **Tích hợp thông tin**, chọn giấy phép lái xe.
    tags: [vneid, giấy phép lái xe]
    source: https://vneid.gov.vn
"""

TOPIC_SCAM = """\
category: lua-dao
title: Cảnh báo lừa đảo
entries:
  - id: lua-dao-tai-khoan-an-toan
    question: Có người tự xưng công an bảo chuyển tiền vào tài khoản an toàn, có phải lừa đảo không?
    variants:
      - cong an bat chuyen tien vao tai khoan an toan
      - chuyển tiền chứng minh trong sạch
    answer: Đây là lừa đảo. Công an không bao giờ yêu cầu chuyển tiền qua điện thoại. Gọi 113 khi cần.
    tags: [lừa đảo, chuyển tiền]
    source: https://bocongan.gov.vn
  - id: lua-dao-hoa-don-dien-gia
    question: Nhận tin nhắn báo nợ tiền điện sắp cắt điện thì làm sao?
    variants:
      - tin nhan doi tien dien sap cat dien
      - giả danh điện lực đòi tiền điện
    answer: Không bấm vào đường link lạ; kiểm tra hóa đơn trên ứng dụng chính thức của điện lực.
    tags: [lừa đảo, tiền điện]
    source: https://www.evn.com.vn
"""


@pytest.fixture
def write_kb(tmp_path: Path) -> Callable[..., Path]:
    """Write files into a fresh knowledge folder: ``write_kb({"a.yaml": "..."})`` → the folder."""

    def write(files: dict[str, str | bytes] | None = None) -> Path:
        folder = tmp_path / "knowledge"
        folder.mkdir(exist_ok=True)
        for name, content in (files or {"vneid.yaml": TOPIC_VNEID, "lua-dao.yaml": TOPIC_SCAM}).items():
            path = folder / name
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        return folder

    return write
