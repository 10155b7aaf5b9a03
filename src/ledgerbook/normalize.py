"""Turn cell values as people type them into clean values.

Every function here is pure (no I/O) and total: it accepts any Python object (None,
str, int, float including nan/inf, bool, datetime, date, time, bytes, anything else) and
never raises. What cannot be read with certainty comes back as ``None``, an empty tuple or
an ``'invalid'`` status, so the caller can turn it into a finding instead of a guess.

Vocabularies (roles, collectives, vague deadline phrases, month parts, progress values,
the menu of key problems) always come from the :class:`~ledgerbook.form.Form` argument.
What is hard-coded is grammar only: date separators, 年/月/日, 底 (end of month), the
words that glue a date into a sentence (前, 之前, 截至, 完成…), name separators.

Performance: the checks run once per cell over 100,000 rows, so regexes are compiled at
import time, per-form structures are built once per form (:func:`_vocab`) and the text
parsers are memoised on the cleaned text (deadlines, names and categories repeat a lot).
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import numbers
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, wraps

from .excel import EXCEL_EPOCH, strip_excel_rejects
from .form import Form
from .text import decode_text

__all__ = [
    "DateResult",
    "cell_text",
    "clean_text",
    "measure_key",
    "parse_category",
    "parse_date",
    "parse_persons",
    "parse_phone",
    "parse_progress",
    "parse_qq",
    "strip_control_chars",
]

# Han ideographs: CJK unified (basic + extension A + B…G) and compatibility ideographs.
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef\U00030000-\U0003134f"

# ---------------------------------------------------------------------------------------
# Cell text
# ---------------------------------------------------------------------------------------

# Invisible characters people paste in from web pages and WeChat: zero-width spaces and
# joiners, BOM, soft hyphen, bidi marks. They are removed everywhere, not only at the ends,
# because the person looking at the cell does not see them.
_INVISIBLE = dict.fromkeys(
    [0x00AD, 0x180E, *range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x2065), 0xFEFF]
)
# Looked for before translating: a regex search is ten times faster than str.translate on
# Chinese text, and almost no cell has any.
_HAS_INVISIBLE = re.compile("[" + "".join(map(chr, _INVISIBLE)) + "]")
_WS_RUN = re.compile(r"\s+")


def cell_text(value: object) -> str:
    """A raw cell value as the text a person sees in the cell.

    Args:
        value: anything a spreadsheet reader may return (or anything at all).

    Returns:
        ``""`` for None/nan/NaT; integral floats without ``.0`` (``13812345678.0`` ->
        ``"13812345678"``); other floats with up to 15 significant digits as Excel shows
        them; dates as ``2019-10-31`` (a datetime at midnight is a date); booleans as
        ``TRUE``/``FALSE``; text stripped of surrounding whitespace (including U+3000)
        and of invisible zero-width characters; bytes decoded (UTF-8, else GB18030).
    """
    try:
        return _cell_text(value)
    except Exception:  # a foreign object whose __str__ or __format__ misbehaves
        return ""


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        cleaned = (value.translate(_INVISIBLE) if _HAS_INVISIBLE.search(value) else value).strip()
        return value if cleaned == value else cleaned  # keep the one string object: memory
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return _float_text(float(value))
    if isinstance(value, dt.datetime):
        return _datetime_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return _time_text(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return decode_text(bytes(value)).translate(_INVISIBLE).strip()
    return str(value).translate(_INVISIBLE).strip()


def _float_text(f: float) -> str:
    if math.isnan(f):
        return ""
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    if f.is_integer() and abs(f) < 1e17:
        return str(int(f))  # phone numbers and QQ numbers stored as numbers
    return format(f, ".15g")  # Excel shows 15 significant digits: 0.1+0.2 -> 0.3


def _time_text(t: dt.time) -> str:
    return t.strftime("%H:%M" if not (t.second or t.microsecond) else "%H:%M:%S")


def _datetime_text(d: dt.datetime) -> str:
    if d != d:  # pandas NaT is a datetime that is not equal to itself
        return ""
    if d.time() == dt.time(0, 0):
        return d.date().isoformat()
    return f"{d.date().isoformat()} {_time_text(d.time())}"


def _nfkc(text: str) -> str:
    # Skipping pure ASCII and text already in NFKC (a quick check, ~50× cheaper than
    # normalising) saves most of the cost on typical cells.
    if text.isascii() or unicodedata.is_normalized("NFKC", text):
        return text
    return unicodedata.normalize("NFKC", text)


def clean_text(value: object) -> str:
    """:func:`cell_text`, NFKC-normalised, with whitespace tidied.

    Full-width letters, digits and punctuation become ASCII; runs of spaces inside a line
    become one space; ``\\r\\n`` and other line breaks become ``\\n``; each line is
    stripped and empty lines are dropped (single line breaks inside the text are kept).

    Args:
        value: anything.

    Returns:
        The cleaned text (``""`` for blank values).
    """
    s = cell_text(value)
    if not s:
        return ""
    s = _nfkc(s)
    lines = s.splitlines()
    if len(lines) == 1:
        return _WS_RUN.sub(" ", s).strip()
    cleaned = (_WS_RUN.sub(" ", line).strip() for line in lines)
    return "\n".join(line for line in cleaned if line)


def strip_control_chars(text: str) -> tuple[str, bool]:
    """Remove the characters Excel rejects in cell text.

    Args:
        text: the text to write (a non-str value is converted with :func:`cell_text`).

    Returns:
        ``(clean, changed)``: the text without C0 controls (tab, LF and CR are kept),
        lone surrogates, U+FFFE and U+FFFF; ``changed`` tells whether any was removed.
    """
    if not isinstance(text, str):
        text = cell_text(text)
    clean = strip_excel_rejects(text)
    return clean, clean is not text


_NON_WORD = re.compile(r"[\W_]+")


def measure_key(text: object) -> str:
    """A key under which copies of the same measure compare equal.

    Args:
        text: a measure as typed.

    Returns:
        The text NFKC-normalised, without whitespace and punctuation, lower-cased.
    """
    return _NON_WORD.sub("", clean_text(text)).lower()


# ---------------------------------------------------------------------------------------
# Per-form vocabularies and memoisation
# ---------------------------------------------------------------------------------------

_MEMO_MAX_CHARS = 200  # cells worth remembering are short; a pasted essay is not kept


def _memoised(maxsize: int):
    """lru_cache for a text parser ``fn(text, *args)``, skipped for long texts."""

    def decorate(fn):
        cached = lru_cache(maxsize=maxsize)(fn)

        @wraps(fn)
        def call(text: str, *args):
            return cached(text, *args) if len(text) <= _MEMO_MAX_CHARS else fn(text, *args)

        call.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
        return call

    return decorate



def _alternation(words) -> str:
    """A regex alternation of literal words, longest first (so 党支部书记 beats 书记)."""
    unique = sorted({w for w in words if w}, key=lambda w: (-len(w), w))
    return "|".join(map(re.escape, unique)) or "(?!)"


def _compact(text: str) -> str:
    return _WS_RUN.sub("", _nfkc(text))


def _key(text: str) -> str:
    """Comparison key for menu texts: NFKC, no whitespace/punctuation/quotes, casefolded."""
    return _NON_WORD.sub("", _nfkc(text)).casefold()


@dataclass(eq=False)  # identity hash: usable as an lru_cache key, never compared by value
class _Vocab:
    """What the parsers need from a form, prepared once per form."""

    progress: dict[str, str]
    role_any: re.Pattern
    role_suffix_reversed: re.Pattern
    collectives: frozenset[str]
    markers: tuple[str, ...]
    vague: re.Pattern
    date_re: re.Pattern
    problem_keys: tuple[str, ...]
    problem_stems: tuple[str, ...]
    exact: dict[str, int]


_VOCABS: dict[int, tuple[Form, _Vocab]] = {}


def _vocab(form: Form) -> _Vocab:
    """The prepared vocabulary of `form`, built on first use.

    Form holds a dict and so is unhashable; entries are keyed on id() and keep a reference
    to the form, so an id cannot be reused by another form while its entry lives.
    """
    entry = _VOCABS.get(id(form))
    if entry is not None and entry[0] is form:
        return entry[1]
    vocab = _build_vocab(form)
    if len(_VOCABS) >= 32:  # campaigns override the menu: a handful of forms per process
        _VOCABS.clear()
    _VOCABS[id(form)] = (form, vocab)
    return vocab


def _build_vocab(form: Form) -> _Vocab:
    roles = _alternation(_compact(r) for r in form.roles)
    keys = tuple(_key(p) for p in form.problems)
    stems = tuple(_menu_stem(k) for k in keys)
    shorts = tuple(_key(s) for s in form.problem_short[: len(keys)])
    exact: dict[str, int] = {}
    # Full texts win over stems, stems over short labels. Two equal full texts are the same
    # problem (the first wins), but a stem or short label shared by two problems names
    # neither: with_problems() derives short labels from the first 8 characters.
    for i, k in enumerate(keys):
        exact.setdefault(k, i + 1)
    for group in (stems, shorts):
        for i, k in enumerate(group):
            if k and group.count(k) == 1:
                exact.setdefault(k, i + 1)
    return _Vocab(
        progress=_progress_table(form),
        role_any=re.compile(roles),
        # Suffixes are matched on the reversed token: an anchored match() stays linear where
        # searching for (?:roles)+$ is quadratic on a long run of roles.
        role_suffix_reversed=re.compile(f"(?:{_alternation(_compact(r)[::-1] for r in form.roles)})+"),
        collectives=frozenset(_compact(c).casefold() for c in form.collectives),
        markers=tuple(m for m in (_compact(m) for m in form.collective_markers) if m),
        vague=re.compile(_alternation(_compact(v) for v in form.vague_deadlines)),
        date_re=_date_regex(tuple(_compact(p) for p in form.month_parts)),
        problem_keys=keys,
        problem_stems=stems,
        exact=exact,
    )


# ---------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DateResult:
    """A deadline as read.

    Attributes:
        status: ``'ok'`` (a day-precise date), ``'vague'`` (a phrase or a month that
            promises no day), ``'invalid'`` (not readable as a date) or ``'blank'``.
        date: the date when status is ``'ok'``, else None.
        text: :func:`cell_text` of the input, for messages.
    """

    status: str
    date: dt.date | None
    text: str


_MIN_YEAR, _MAX_YEAR = 1900, 2099
_SERIAL_MIN, _SERIAL_MAX = 20000, 80000  # 1954-10-03 .. 2119-01-10 in the 1900 date system

# Chinese numerals written before 年/月/日/号 (十月底, 二〇一九年十月三十一日).
_CN_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}
# The lookbehind starts a match only at the head of a run of numerals: linear, not quadratic.
_CN_BEFORE_UNIT = re.compile(r"(?<![〇零一二三四五六七八九十两])[〇零一二三四五六七八九十两]+(?= ?[年月日号])")

# Everything that may surround a bare `10.31` without making it doubtful: range marks,
# punctuation and the words that glue a deadline into a sentence.
_FILLER = re.compile(
    r"[\s\-—–~〜至到,，、;；:：。.!！()\[\]]|截至|截止|之前|以前|前|为止|止|以内|内"
    r"|完成|于|在|日|号|底|末|预计|计划|力争|争取|确保|全部|整改"
)


def _date_regex(month_parts: tuple[str, ...]) -> re.Pattern:
    """One alternation over every date shape; alternatives are tried in this order.

    Each alternative is a named outer group so that ``match.lastgroup`` names the shape.
    """
    parts = _alternation(month_parts)
    # A day right after 月 needs 日/号, or must not be followed by something that makes it
    # a count (10月3个工作日) or the start of another number (10月1-2周).
    day_end = r"(?: ?[日号]|(?![\d.\-/~—个周天次项人名]))"
    shapes = [
        rf"(?P<cn>(?<!\d)(?:(?P<cn_y>\d{{4}}|\d{{2}}) ?年 ?)?(?P<cn_m>\d{{1,2}}) ?月"
        rf"(?: ?(?P<cn_d>\d{{1,2}}){day_end}|(?P<cn_end> ?[底末])|(?P<cn_part> ?(?:{parts})))?)",
        r"(?P<ymd>(?<!\d)(?P<ymd_y>\d{4}) ?(?P<ymd_s>[./-]) ?(?P<ymd_m>\d{1,2}) ?(?P=ymd_s) ?"
        r"(?P<ymd_d>\d{1,2})(?!\d))",
        r"(?P<ym>(?<!\d)(?P<ym_y>\d{4}) ?(?P<ym_s>[./-]) ?(?P<ym_m>\d{1,2})(?!\d)(?! ?(?P=ym_s) ?\d))",
        r"(?P<c8>(?<!\d)(?P<c8_y>(?:19|20)\d\d)(?P<c8_m>\d\d)(?P<c8_d>\d\d)(?!\d))",
        r"(?P<yo>(?<!\d)(?P<yo_y>\d{4}) ?年)",
    ]
    # A 2-digit year (19.10.31) and month.day without a year (10.31): one alternative per
    # separator, which may not follow a digit and the same separator, so that the ranges
    # `19.9.15-19.10.31` and `9.15-10.31` read as two dates while `9-15-10-31` reads as none.
    for name, sep in (("dot", r"\."), ("slash", "/"), ("dash", "-")):
        shapes.append(
            rf"(?P<y2{name}>(?<![\d{sep}])(?P<y2{name}_y>\d\d) ?{sep} ?(?P<y2{name}_m>\d{{1,2}}) ?{sep} ?"
            rf"(?P<y2{name}_d>\d{{1,2}})(?!\d)(?! ?{sep} ?\d))"
        )
    for name, sep in (("dot", r"\."), ("slash", "/"), ("dash", "-")):
        shapes.append(
            rf"(?P<md{name}>(?<![\d{sep}])(?P<md{name}_m>\d{{1,2}}) ?{sep} ?(?P<md{name}_d>\d{{1,2}})"
            rf"(?!\d)(?! ?{sep} ?\d))"
        )
    return re.compile("|".join(shapes), re.ASCII)  # \d is 0-9, not ٣ or ३


def _cn_number(word: str) -> int | None:
    """十月 -> 10, 三十一 -> 31, 二〇一九 -> 2019 (digit by digit when there is no 十)."""
    if "十" not in word:
        return int("".join(str(_CN_DIGITS[ch]) for ch in word))
    tens, _, units = word.partition("十")
    if "十" in units or len(tens) > 1 or len(units) > 1:
        return None
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[units] if units else 0)


def _cn_numerals_to_digits(text: str) -> str:
    def repl(m: re.Match) -> str:
        n = _cn_number(m.group())
        return m.group() if n is None else str(n)

    return _CN_BEFORE_UNIT.sub(repl, text)


def _make_date(year: int | None, month: int, day: int) -> dt.date | None:
    if year is None or not (_MIN_YEAR <= year <= _MAX_YEAR) or not 1 <= month <= 12:
        return None
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        return None
    return dt.date(year, month, day)


def _month_end(year: int | None, month: int) -> dt.date | None:
    if year is None or not (_MIN_YEAR <= year <= _MAX_YEAR) or not 1 <= month <= 12:
        return None
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _full_year(text: str | None) -> int | None:
    if not text:
        return None
    y = int(text)
    return 2000 + y if len(text) == 2 else y  # 19.10.31 -> 2019


@dataclass
class _Found:
    """One date expression found in a cell."""

    kind: str  # 'day' | 'period' (a month, a month part or a year: no day) | 'bad'
    date: dt.date | None  # the day, or the last day of the period
    explicit: bool  # False for a bare 10.31, which needs a clean context to count


def _read_match(m: re.Match, year: int | None) -> tuple[_Found, int | None]:
    """The expression matched by `m`; returns it and the year later yearless dates take."""
    shape = m.lastgroup
    g = m.group
    if shape == "cn":
        y = _full_year(g("cn_y")) or year
        month = int(g("cn_m"))
        if g("cn_d"):
            return _day(_make_date(y, month, int(g("cn_d")))), y
        if g("cn_end"):
            return _day(_month_end(y, month)), y
        return _period(_month_end(y, month)), y
    if shape == "ymd" or shape.startswith("y2"):
        y = _full_year(g(f"{shape}_y"))
        return _day(_make_date(y, int(g(f"{shape}_m")), int(g(f"{shape}_d")))), y
    if shape == "ym":
        y = int(g("ym_y"))
        return _period(_month_end(y, int(g("ym_m")))), y
    if shape == "c8":
        y = int(g("c8_y"))
        return _day(_make_date(y, int(g("c8_m")), int(g("c8_d")))), y
    if shape == "yo":
        y = int(g("yo_y"))
        return _period(_make_date(y, 12, 31)), y
    return _day(_make_date(year, int(g(f"{shape}_m")), int(g(f"{shape}_d"))), explicit=False), year


def _day(d: dt.date | None, explicit: bool = True) -> _Found:
    return _Found("day", d, explicit) if d else _Found("bad", None, explicit)


def _period(d: dt.date | None) -> _Found:
    return _Found("period", d, True) if d else _Found("bad", None, True)


def _blank() -> DateResult:
    return DateResult("blank", None, "")


def _invalid(text: str) -> DateResult:
    return DateResult("invalid", None, text)


def parse_date(value: object, year: int, form: Form) -> DateResult:
    """Read a deadline or a date as people write it.

    Accepted: date/datetime objects; Excel serial numbers (20000–80000, the fraction is
    the time of day and is dropped); ``2019.10.31``, ``2019-10-31``, ``2019/10/31``,
    ``2019年10月31日``/``号``, ``20191031``, ``19.10.31``; without a year ``10月31日``,
    ``10.31``, ``10/31``, ``10-31``; ``10月底`` (last day of the month); surrounding words
    (``截至…``, ``…前``, ``…之前``, ``…完成``); ranges (``9月15日至10月31日``) give their end.

    Several expressions in one cell give the latest day; when the cell also names a month
    or a month part (``10月中旬``) reaching past that day, or names no day at all, the
    deadline is vague. A phrase of ``form.vague_deadlines`` makes a cell without a day
    vague. An impossible date anywhere (``2月30日``) makes the cell invalid.

    Args:
        value: the cell value.
        year: the year of a date written without one (the campaign's year).
        form: supplies the vague phrases and the month parts.

    Returns:
        A :class:`DateResult`.
    """
    text = cell_text(value)
    if not text:
        return _blank()
    if isinstance(value, bool) or isinstance(value, dt.time):
        return _invalid(text)
    if isinstance(value, dt.datetime):
        return DateResult("ok", value.date(), text)
    if isinstance(value, dt.date):
        return DateResult("ok", value, text)
    y = _as_year(year)
    if isinstance(value, numbers.Real):
        return _parse_number(value, text, y)
    status, date = _parse_date_text(text, y, _vocab(form))
    return DateResult(status, date, text)


def _as_year(year: object) -> int | None:
    try:
        return int(year)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None


def _parse_number(value: numbers.Real, text: str, year: int | None) -> DateResult:
    try:
        f = float(value)
    except (OverflowError, ValueError, TypeError):
        return _invalid(text)
    if not math.isfinite(f):
        return _invalid(text)
    if _SERIAL_MIN <= f < _SERIAL_MAX:
        return DateResult("ok", EXCEL_EPOCH + dt.timedelta(days=int(f)), text)
    if _ambiguous_float(f, text, year):
        return _invalid(text)
    # 20191031 typed into a number cell, or 10.31 read as a number.
    status, date = _parse_date_text(text, year, _NUMBER_VOCAB)
    return DateResult(status, date, text)


_ONE_DECIMAL = re.compile(r"(\d{1,2})\.([1-3])", re.ASCII)


def _ambiguous_float(f: float, text: str, year: int | None) -> bool:
    """10.3 as a number may have been typed 10.30 (Excel drops the zero): never guess."""
    m = _ONE_DECIMAL.fullmatch(text)
    if not m or year is None:
        return False
    return _make_date(year, int(m.group(1)), int(m.group(2)) * 10) is not None


@_memoised(maxsize=65536)
def _parse_date_text(text: str, year: int | None, vocab: _Vocab) -> tuple[str, dt.date | None]:
    s = _WS_RUN.sub(" ", _nfkc(text))
    if not s.isascii():
        s = _cn_numerals_to_digits(s)
    found: list[_Found] = []
    rest: list[str] = []
    pos = 0
    current_year = year  # a yearless date takes the last year written before it in the cell
    for m in vocab.date_re.finditer(s):
        item, current_year = _read_match(m, current_year)
        found.append(item)
        rest.append(s[pos : m.start()])
        pos = m.end()
    rest.append(s[pos:])
    if _FILLER.sub("", "".join(rest)):
        # Other words around: a bare 10.31 may be a count or a version (1-2周), drop it.
        found = [f for f in found if f.explicit]
    return _decide(found, lambda: bool(vocab.vague.search(s.replace(" ", ""))))


def _decide(found: list[_Found], has_vague: Callable[[], bool]) -> tuple[str, dt.date | None]:
    if any(f.kind == "bad" for f in found):
        return "invalid", None
    days = [f.date for f in found if f.kind == "day"]
    periods = [f.date for f in found if f.kind == "period"]
    if days:
        last = max(days)
        if periods and max(periods) > last:  # 9月15日至10月: the end has no day
            return "vague", None
        return "ok", last
    if periods or has_vague():
        return "vague", None
    return "invalid", None


# Numbers carry no words: an empty vocabulary keeps the number path independent of forms.
_NUMBER_VOCAB = _Vocab(
    progress={}, role_any=re.compile("(?!)"), role_suffix_reversed=re.compile("(?!)"),
    collectives=frozenset(), markers=(), vague=re.compile("(?!)"), date_re=_date_regex(()),
    problem_keys=(), problem_stems=(), exact={},
)


# ---------------------------------------------------------------------------------------
# Phone and QQ
# ---------------------------------------------------------------------------------------

# A run of digits with the separators people put inside one number; an extension may follow.
# The prefix is bounded so that a cell of 100,000 "(" cannot make the search quadratic.
_PHONE_RUN = re.compile(
    r"[+(]{0,3}\d[\d \t\-.()+]*\d(?:[ \t]*(?:转|分机|ext\.?|x|#)[ \t]*\d{1,6})?", re.I | re.A
)
_EXT_WORD = re.compile(r"(?:转|分机|ext\.?|x|#)[ \t]*(\d{1,6})$", re.I | re.A)
_DIGITS = re.compile(r"\d+", re.A)
_MOBILE = re.compile(r"0?(1[3-9]\d{9})", re.A)  # a leading 0 is how some dial a mobile from afar
# Area code: 010 and 02x have 3 digits, all others 4; the local number never starts with 0.
_LANDLINE = re.compile(r"(0(?:10|2\d|[3-9]\d\d))([1-9]\d{6,7})", re.A)
_MAX_WINDOW = 5  # pieces of a space-separated run tried together (+86 138 1234 5678)
_MAX_PIECES = 40  # no real cell holds more; bounds the work on hostile input


def parse_phone(value: object) -> str | None:
    """A mainland mobile or landline number, normalised.

    Args:
        value: the cell value; a number stored as a float works.

    Returns:
        ``13812345678`` for a mobile (spaces, dashes, dots, parentheses and a
        ``+86``/``86``/``0086`` prefix removed); ``0731-58290006`` or
        ``0731-58290006-123`` (extension) for a landline with its area code; the first
        valid number when the cell holds several; None when there is none.
    """
    text = cell_text(value)
    if not text or isinstance(value, bool):
        return None
    for m in _PHONE_RUN.finditer(_nfkc(text)):
        number = _phone_from_run(m.group()) or _phone_from_pieces(m.group().split())
        if number:
            return number
    return None


def _phone_from_pieces(pieces: list[str]) -> str | None:
    """Two numbers separated by a space: try consecutive pieces, earliest and longest first."""
    pieces = pieces[:_MAX_PIECES]
    if len(pieces) < 2:
        return None
    for i in range(len(pieces)):
        for j in range(min(len(pieces), i + _MAX_WINDOW), i, -1):
            number = _phone_from_run(" ".join(pieces[i:j]))
            if number:
                return number
    return None


def _phone_from_run(run: str) -> str | None:
    ext = None
    m = _EXT_WORD.search(run)
    if m:
        ext, run = m.group(1), run[: m.start()]
    groups = _DIGITS.findall(run)
    digits = _without_country_code("".join(groups), run.lstrip(" \t(").startswith("+"))
    if digits is None:
        return None
    if ext is not None:
        return _landline(digits, ext)
    number = _mobile(digits) or _landline(digits, None)
    if number is None and len(groups) >= 2 and len(groups[-1]) <= 6:
        # 0731-58290006-123: the last dash group is an extension.
        number = _landline(digits[: -len(groups[-1])], groups[-1])
    return number


def _without_country_code(digits: str, plus: bool) -> str | None:
    if plus and not digits.startswith("86"):
        return None  # another country
    if plus or digits.startswith("0086"):
        rest = digits[2:] if plus else digits[4:]
        # +86 731 58290006: the trunk 0 of the area code is dropped after a country code.
        return rest if rest[:1] in ("0", "1") else "0" + rest
    if (len(digits) == 13 and digits.startswith("861")) or digits.startswith("860"):
        return digits[2:]  # 86 without +: a mobile, or a landline still carrying its 0
    return digits


def _mobile(digits: str) -> str | None:
    m = _MOBILE.fullmatch(digits)
    return m.group(1) if m else None


def _landline(digits: str, ext: str | None) -> str | None:
    m = _LANDLINE.fullmatch(digits)
    if not m:
        return None
    return f"{m.group(1)}-{m.group(2)}" + (f"-{ext}" if ext else "")


_QQ = re.compile(r"(?:qq(?:号码?)?[ \t]*:?[ \t]*)?([1-9]\d{4,10})(?:@qq\.com)?", re.I | re.A)


def parse_qq(value: object) -> str | None:
    """A QQ number: 5–11 digits, not starting with 0.

    Args:
        value: the cell value; ``123456789.0``, ``QQ:123456``, ``qq 123456`` and
            ``123456@qq.com`` are accepted.

    Returns:
        The digits, or None.
    """
    if isinstance(value, bool):
        return None
    m = _QQ.fullmatch(_nfkc(cell_text(value)))
    return m.group(1) if m else None


# ---------------------------------------------------------------------------------------
# Persons
# ---------------------------------------------------------------------------------------

# Brackets become separators: 张三（支部书记） and 支部书记（张三） both name 张三.
_NAME_SEPARATORS = re.compile(rf"[、,;:|&+\\/。()\[\]{{}}<>【】〔〕《》「」『』]+|(?<=[{_HAN}])\.(?=[{_HAN}])")
_MIDDLE_DOTS = dict.fromkeys([0x30FB, 0x2022, 0x2027, 0x2219, 0x22C5, 0x0387, 0xFF65], "·")
_HAN_NAME = re.compile(f"[{_HAN}]{{2,4}}")
_SINGLE_HAN = re.compile(f"[{_HAN}]")
_DOT_NAME = re.compile(f"[{_HAN}]+(?:·[{_HAN}]+)+")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'\-.]*")
_AND = re.compile("[和及]")
_ETC = re.compile(r"等(?:[0-9一二三四五六七八九十]+)?(?:人|名|位)?(?:同志)?$")


def parse_persons(value: object, form: Form) -> tuple[str, ...]:
    """The personal names in a person cell.

    Names are separated by ``、，,/;；:``, spaces, brackets, or 和/及 between names.
    Roles of ``form.roles`` before or after a name are removed (``支部书记张三``,
    ``张三（支部书记）``, ``张三书记``), as is a trailing 等. A name is 2–4 Han characters
    that is not a collective (``form.collectives``, ``form.collective_markers``), a name
    with ``·`` (``阿依古丽·买买提``), or Latin words (``John Smith``, kept together).

    Args:
        value: the cell value.
        form: supplies roles, collectives and collective markers.

    Returns:
        The names found, in order, without repeats; ``()`` when the cell names nobody
        (``支部书记``, ``全体党员``, ``支委会``).
    """
    text = clean_text(value)
    if not text or isinstance(value, bool):  # TRUE is not John
        return ()
    return _persons_text(text, _vocab(form))


@_memoised(maxsize=65536)
def _persons_text(text: str, vocab: _Vocab) -> tuple[str, ...]:
    text = text.translate(_MIDDLE_DOTS)
    names: list[str] = []
    for chunk in _NAME_SEPARATORS.split(text):
        for token in _tokens(chunk.split()):
            names.extend(_names_in_token(token, vocab))
    return tuple(dict.fromkeys(names))


def _tokens(pieces: list[str]) -> list[str]:
    """Join what spaces split wrongly: Latin words of one name, 张  三 padded to align."""
    tokens: list[str] = []
    i = 0
    while i < len(pieces):
        if _LATIN_WORD.fullmatch(pieces[i]):
            j = _run_end(pieces, i, _LATIN_WORD)
            tokens.append(" ".join(pieces[i:j]))
        else:
            j = _run_end(pieces, i, _SINGLE_HAN)
            if 2 <= j - i <= 3:  # 张 三 or 欧 阳 锋 is one name
                tokens.append("".join(pieces[i:j]))
            else:  # one piece, or a longer run of single characters: noise, kept apart
                tokens.extend(pieces[i:j])
        i = j
    return tokens


def _run_end(pieces: list[str], start: int, pattern: re.Pattern) -> int:
    """End of the run of pieces from `start` that all fully match `pattern`."""
    end = start
    while end < len(pieces) and pattern.fullmatch(pieces[end]):
        end += 1
    return max(end, start + 1)


def _names_in_token(token: str, vocab: _Vocab) -> list[str]:
    token = _ETC.sub("", token)
    if not token:
        return []
    if _AND.search(token) and not _HAN_NAME.fullmatch(token):
        # 张三和李四 is two names; 李和平 is one (a valid name is never split).
        parts = _AND.split(token)
        if all(len(p) >= 2 for p in parts):
            return [name for p in parts for name in _names_in_token(p, vocab)]
    name = _strip_roles(token, vocab)
    return [name] if _is_person(name, vocab) else []


def _strip_roles(token: str, vocab: _Vocab) -> str:
    if token.casefold() in vocab.collectives:
        return token
    suffix = vocab.role_suffix_reversed.match(token[::-1])  # 张三书记, 张三副教授
    if suffix:
        token = token[: len(token) - suffix.end()]
    # The name follows the last role: 支部书记张三, 机械学院党委书记张三.
    last_end = 0
    for m in vocab.role_any.finditer(token):
        last_end = m.end()
    return token[last_end:] if 0 < last_end < len(token) else token


def _is_person(name: str, vocab: _Vocab) -> bool:
    if not name or name.casefold() in vocab.collectives:  # casefold: TBD, n/a in Latin
        return False
    if _HAN_NAME.fullmatch(name) or (len(name) <= 30 and _DOT_NAME.fullmatch(name)):
        return not any(marker in name for marker in vocab.markers)
    words = name.split(" ")
    return all(_LATIN_WORD.fullmatch(w) for w in words) and sum(map(str.isalpha, name)) >= 2


# ---------------------------------------------------------------------------------------
# Category (重点问题)
# ---------------------------------------------------------------------------------------

# Circled digits outside NFKC (① ⑴ ⒈ are handled by NFKC itself).
_DINGBAT_DIGITS = {
    **{0x2776 + i: str(i + 1) for i in range(10)},  # ❶
    **{0x2780 + i: str(i + 1) for i in range(10)},  # ➀
    **{0x278A + i: str(i + 1) for i in range(10)},  # ➊
}
_NUMBERED = re.compile(
    r"(?:重点问题|问题|第)?[(\[]?(\d{1,3}|[一二三四五六七八九十]{1,3})[)\]]?"
    r"(?:项|个|条|类|号)?(?:问题)?[.、,:;)\]\-—]*(.*)",
    re.S | re.A,
)
_MIN_PART = 4  # a leading part or a substring must be this long (in key characters)


def _menu_stem(key: str) -> str:
    """A menu text without its trailing 问题 / 等问题 (people leave it off)."""
    for tail in ("等问题", "问题"):
        if key.endswith(tail) and len(key) > len(tail):
            return key[: -len(tail)]
    return key


def parse_category(value: object, form: Form) -> int | None:
    """The key problem a cell names, as a 1-based index into ``form.problems``.

    Accepted: a number (``3``, ``3.``, ``3、``, ``(3)``, ``问题3``, ``第3项``, ``第三项``,
    ``（三）``, ``三``, ``③``); the full text or the text without its trailing 问题 (compared
    without whitespace, punctuation and quotes); the short label; a leading part or a
    substring of at least 4 characters found in exactly one problem (``双带头人``); a number
    followed by text when the text names the same problem.

    Args:
        value: the cell value.
        form: supplies the menu (any length).

    Returns:
        The index, or None (unknown, ambiguous, out of range, number and text disagreeing).
    """
    if isinstance(value, bool):
        return None
    vocab = _vocab(form)
    if isinstance(value, numbers.Real):
        return _category_number(value, len(vocab.problem_keys))
    text = cell_text(value)
    return _category_text(text, vocab) if text else None


def _category_number(value: numbers.Real, count: int) -> int | None:
    try:
        f = float(value)
    except (OverflowError, ValueError, TypeError):
        return None
    if not f.is_integer():  # also rules out nan and inf
        return None
    return int(f) if 1 <= f <= count else None


@_memoised(maxsize=16384)
def _category_text(text: str, vocab: _Vocab) -> int | None:
    s = _compact(text).translate(_DINGBAT_DIGITS)
    found = _category_by_text(_key(s), vocab)
    if found:
        return found
    m = _NUMBERED.fullmatch(s)
    if not m:
        return None
    n = _menu_number(m.group(1))
    if n is None or not 1 <= n <= len(vocab.problem_keys):
        return None
    rest = _key(m.group(2))
    if not rest:
        return n
    return n if _category_by_text(rest, vocab) == n else None  # disagreeing text: no guess


def _menu_number(word: str) -> int | None:
    if word.isdigit():
        return int(word)
    try:
        return _cn_number(word)
    except KeyError:
        return None


def _category_by_text(key: str, vocab: _Vocab) -> int | None:
    if not key:
        return None
    for candidate in (key, _menu_stem(key)):
        if candidate in vocab.exact:
            return vocab.exact[candidate]
    if len(key) < _MIN_PART:
        return None
    return (
        _unique(i for i, k in enumerate(vocab.problem_keys) if k.startswith(key))
        # The full text with something appended: 教师党支部书记“双带头人”配备不到位问题（补充）
        or _unique(i for i, st in enumerate(vocab.problem_stems) if len(st) >= _MIN_PART and key.startswith(st))
        or _unique(i for i, k in enumerate(vocab.problem_keys) if key in k)
    )


def _unique(indices) -> int | None:
    """1-based index when exactly one problem matched, else None (ambiguous or none)."""
    hits = list(indices)
    return hits[0] + 1 if len(hits) == 1 else None


# ---------------------------------------------------------------------------------------
# Progress
# ---------------------------------------------------------------------------------------

_EDGE_PUNCT = re.compile(r"^[\W_]+|[\W_]+$")


def _progress_key(text: str) -> str:
    return _EDGE_PUNCT.sub("", _compact(text))


def _progress_table(form: Form) -> dict[str, str]:
    table = {_progress_key(alias): value for alias, value in form.progress_aliases.items()}
    table.update({_progress_key(v): v for v in form.progress_values})
    return table


def parse_progress(value: object, form: Form) -> str | None:
    """One of ``form.progress_values``, directly or through ``form.progress_aliases``.

    Args:
        value: the cell value (compared after NFKC, without whitespace and without
            punctuation at either end: ``已完成。`` is 已完成).
        form: supplies the values and aliases.

    Returns:
        The progress value, or None for blank and unknown values alike (the caller tells
        them apart with :func:`cell_text`).
    """
    text = cell_text(value)
    if not text:
        return None
    return _vocab(form).progress.get(_progress_key(text))
