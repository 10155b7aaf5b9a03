"""Text facts every stage shares: how labels compare, how unlabelled Chinese bytes decode,
how dates are written for people, and the office's clock."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

__all__ = ["OFFICE_TZ", "cn_date", "cn_datetime", "decode_text", "fill_template", "normalize_label"]

#: The office's clock (China, UTC+8, no daylight saving). Every naive datetime in ledgerbook
#: (received times, drafts' dates, the summary's times) is on this clock, whatever the time
#: zone of the machine that runs it.
OFFICE_TZ = dt.timezone(dt.timedelta(hours=8))

_BRACKETED = re.compile(r"[（(【\[<《].*?[）)】\]>》]")
_NOISE = re.compile(r"[\s\u3000:：*＊、,，.。;；/\\\-—_（）()【】\[\]]+")


def normalize_label(text: object) -> str:
    """A header or field label as compared: NFKC, no spaces, breaks, brackets or their content."""
    if text is None:
        return ""
    s = unicodedata.normalize("NFKC", str(text))
    s = _BRACKETED.sub("", s)
    s = _NOISE.sub("", s)
    return s.upper()


def decode_text(raw: bytes) -> str:
    """Bytes of unknown encoding from Chinese users: UTF-8 (with or without BOM), else GB18030."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("gb18030", errors="replace")


def cn_date(day: dt.date) -> str:
    """A date as written in Chinese prose: 2019年9月13日."""
    return f"{day.year}年{day.month}月{day.day}日"


def cn_datetime(when: dt.datetime | None) -> str:
    """A received time as findings show it (2019-09-12 17:30); 未知时间 when unknown."""
    return when.strftime("%Y-%m-%d %H:%M") if when else "未知时间"


class _KeepMissing(dict):
    """format_map mapping that leaves unknown placeholders as they were."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill_template(template: str, values: dict[str, object]) -> str:
    """``template.format(**values)`` that never raises: a placeholder without a value stays as
    written ({due}), and stray braces (a hand-edited file) leave the template as it is."""
    if "{" not in template:
        return template
    try:
        return template.format_map(_KeepMissing(values))
    except (ValueError, IndexError, AttributeError, KeyError):
        return template
