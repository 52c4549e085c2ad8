"""The report topics citizens choose from in ``/phananh``: built-in defaults, or the ward's ``_phananh.yaml``.

``_phananh.yaml`` has one key, ``topics``: a list of ``{id, title}`` (the same shape as the announcement topics).
"""

from __future__ import annotations

from bot.broadcast.planned import Choice, _choices, _keys
from bot.kb.loader import ConfigContext, register_config_file
from bot.kb.problems import Problem
from bot.kb.yaml_lines import LineDict

REPORT_TOPICS = "_phananh"
DEFAULT_TOPICS: tuple[Choice, ...] = (
    Choice("moi-truong", "Môi trường, rác thải", True),
    Choice("trat-tu-do-thi", "Trật tự đô thị, lấn chiếm", True),
    Choice("ha-tang", "Hạ tầng: đường, điện, cống", True),
    Choice("an-ninh", "An ninh trật tự", True),
    Choice("dich-vu-cong", "Dịch vụ công, thủ tục", True),
    Choice("khac", "Vấn đề khác", True),
)


def read_report_topics(data: LineDict, display: str, ctx: ConfigContext) -> list[Problem]:
    """Validate ``_phananh.yaml`` and store its topics in ``ctx.extra``."""
    problems: list[Problem] = []
    _keys(data, {"topics"}, display, problems)
    topics = _choices(data, "topics", display, problems)
    ctx.extra[REPORT_TOPICS] = topics or DEFAULT_TOPICS
    return problems


def report_topics(extra: dict[str, object]) -> tuple[Choice, ...]:
    """The topics of the loaded knowledge folder's configuration (the defaults without ``_phananh.yaml``)."""
    topics = extra.get(REPORT_TOPICS)
    return topics if isinstance(topics, tuple) and topics else DEFAULT_TOPICS


register_config_file(REPORT_TOPICS, read_report_topics)
