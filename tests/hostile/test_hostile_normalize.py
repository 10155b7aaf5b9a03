"""Property tests of ledgerbook.normalize on hostile input: nothing raises, results are stable."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerbook.form import load_form
from ledgerbook.normalize import (
    DateResult,
    cell_text,
    clean_text,
    measure_key,
    parse_category,
    parse_date,
    parse_persons,
    parse_phone,
    parse_progress,
    parse_qq,
    strip_control_chars,
)

FORM = load_form()
FAST = settings(max_examples=200, deadline=None, derandomize=True)


class _Unprintable:
    def __str__(self):
        raise RuntimeError("cannot print me")


# Characters the parsers react to, so that generated text reaches deep into them.
_PARSER_ALPHABET = (
    "0123456789０１２３.-/:：年月日号底末前之截至到—~、，,;；和及等·()（）[]转xX#+@qQ "
    "\u3000\u200b\t\n上中下旬初长期待定十三一〇书记委员支部全体党员张李王欧阳问题第项①③⑧❸"
)
parser_text = st.text(alphabet=_PARSER_ALPHABET, max_size=40)
any_text = st.text(max_size=60)
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.fractions(),
    st.complex_numbers(allow_nan=True),
)
anything = st.one_of(
    st.none(),
    st.booleans(),
    any_text,
    parser_text,
    numbers,
    st.datetimes(),
    st.dates(),
    st.times(),
    st.binary(max_size=30),
    st.lists(any_text, max_size=3),
    st.just(_Unprintable()),
    st.just(float("nan")),
)


# --- nothing raises --------------------------------------------------------------------------


@FAST
@given(anything)
def test_text_functions_never_raise(value):
    text = cell_text(value)
    assert isinstance(text, str) and text == text.strip()
    cleaned = clean_text(value)
    assert isinstance(cleaned, str)
    assert clean_text(cleaned) == cleaned
    assert isinstance(measure_key(value), str)
    clean, changed = strip_control_chars(value)
    assert isinstance(clean, str) and isinstance(changed, bool)


@FAST
@given(anything, st.one_of(st.integers(min_value=1, max_value=9999), st.integers(), st.none()))
def test_parse_date_never_raises(value, year):
    result = parse_date(value, year, FORM)
    assert isinstance(result, DateResult)
    assert result.status in ("ok", "vague", "invalid", "blank")
    assert (result.status == "ok") == (result.date is not None)
    assert result.text == cell_text(value)
    assert (result.status == "blank") == (result.text == "")


@FAST
@given(anything)
def test_parsers_never_raise(value):
    phone = parse_phone(value)
    assert phone is None or re.fullmatch(r"1[3-9]\d{9}|0\d{2,3}-[1-9]\d{6,7}(-\d{1,6})?", phone)
    qq = parse_qq(value)
    assert qq is None or re.fullmatch(r"[1-9]\d{4,10}", qq)
    persons = parse_persons(value, FORM)
    assert isinstance(persons, tuple) and all(isinstance(p, str) and p for p in persons)
    category = parse_category(value, FORM)
    assert category is None or 1 <= category <= len(FORM.problems)
    progress = parse_progress(value, FORM)
    assert progress is None or progress in FORM.progress_values


# --- idempotence -----------------------------------------------------------------------------


@FAST
@given(st.one_of(parser_text, st.integers(min_value=0, max_value=10**13), st.floats()))
def test_parse_phone_idempotent(value):
    phone = parse_phone(value)
    if phone is not None:
        assert parse_phone(phone) == phone


_PHONE_SHAPES = r"(\+86 ?)?1[3-9][0-9]{9}|0(10|2[0-9]|[3-9][0-9]{2})-[1-9][0-9]{6,7}(-[0-9]{1,4})?"


@FAST
@given(st.from_regex(_PHONE_SHAPES, fullmatch=True))
def test_parse_phone_accepts_generated_numbers(value):
    phone = parse_phone(value)
    assert phone is not None and parse_phone(phone) == phone
    assert phone.replace("-", "") in re.sub(r"\D", "", value)


@FAST
@given(st.one_of(parser_text, st.integers(), st.floats()))
def test_parse_qq_idempotent(value):
    qq = parse_qq(value)
    if qq is not None:
        assert parse_qq(qq) == qq


@FAST
@given(
    st.integers(min_value=10**4, max_value=10**11 - 1),
    st.sampled_from(["{}", "QQ:{}", "qq {}", "{}@qq.com"]),
)
def test_parse_qq_accepts_generated_numbers(number, template):
    assert parse_qq(template.format(number)) == str(number)
    assert parse_qq(float(number)) == str(number)


@FAST
@given(st.sampled_from(range(len(FORM.problems))))
def test_parse_category_full_text(index):
    assert parse_category(FORM.problems[index], FORM) == index + 1


@FAST
@given(st.one_of(parser_text, any_text, st.integers(), st.floats()))
def test_parse_category_idempotent_through_full_text(value):
    index = parse_category(value, FORM)
    if index is not None:
        assert parse_category(FORM.problems[index - 1], FORM) == index


# --- names -----------------------------------------------------------------------------------

# Han characters that appear in no vocabulary word (roles, collectives, markers) and are not
# name grammar (和 及 等): any 2–3 of them make a name.
_VOCAB_CHARS = set("".join(FORM.roles + FORM.collectives + FORM.collective_markers)) | set("和及等")
_NAME_CHARS = [c for c in "张李王赵钱孙周吴郑冯陈褚卫蒋沈韩杨朱秦尤许何吕施孔曹严华金魏陶姜明华伟芳娜敏静丽强磊洋艳勇军杰涛超霞平刚桂英"
               if c not in _VOCAB_CHARS]
han_names = st.text(alphabet=_NAME_CHARS, min_size=2, max_size=3)


@FAST
@given(
    st.lists(han_names, min_size=1, max_size=5, unique=True),
    st.sampled_from(["、", "，", ",", "/", ";", "；", " ", "  ", "和", "及", "\n"]),
    st.sampled_from(["", *FORM.roles]),
)
def test_parse_persons_returns_joined_names(names, separator, role):
    assert parse_persons(separator.join(names), FORM) == tuple(names)
    # A role before each name does not change who is named.
    assert parse_persons("、".join(role + n for n in names), FORM) == tuple(names)


# --- dates -----------------------------------------------------------------------------------


@FAST
@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31)))
def test_parse_date_reads_generated_dates(d):
    for text in (f"{d.year}年{d.month}月{d.day}日", f"{d:%Y.%m.%d}", d.isoformat(), f"{d:%Y/%m/%d}",
                 f"{d:%Y%m%d}", f"{d.year}年{d.month}月{d.day}日前"):
        assert parse_date(text, 2019, FORM) == DateResult("ok", d, text)
    assert parse_date(f"{d.month}月{d.day}日", d.year, FORM).date == d
    assert parse_date(f"{d.month}.{d.day}", d.year, FORM).date == d
    assert parse_date(dt.datetime.combine(d, dt.time(9, 30)), 2019, FORM).date == d


@FAST
@given(st.dates(min_value=dt.date(1955, 1, 1), max_value=dt.date(2118, 12, 31)), st.floats(0, 0.999))
def test_parse_date_reads_excel_serials(d, fraction):
    serial = (d - dt.date(1899, 12, 30)).days
    assert parse_date(serial, 2019, FORM).date == d
    assert parse_date(serial + fraction, 2019, FORM).date == d


# --- control characters ----------------------------------------------------------------------

_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@FAST
@given(st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=60))
def test_strip_control_chars(text):
    clean, changed = strip_control_chars(text)
    assert not _FORBIDDEN.search(clean)
    assert changed == (clean != text)
    assert strip_control_chars(clean) == (clean, False)
    kept = "".join(c for c in text if not _FORBIDDEN.match(c))
    assert clean == kept


# --- big cells -------------------------------------------------------------------------------

_PATHOLOGICAL = ["((" * 10000 + "1", "张 " * 10000, "1 " * 10000, "书记" * 10000, "书记" * 10000 + "张",
                 "10.31-" * 5000, "三" * 20000, "和" * 20000, "2019年" * 5000, "(1" * 10000, "1 a " * 5000]


@pytest.mark.parametrize("text", _PATHOLOGICAL, ids=lambda t: repr(t[:6]))
def test_big_cells_take_linear_time(text):
    # Each of these once made a regex or a loop quadratic (minutes on a 100,000-char cell).
    start = time.perf_counter()
    parse_date(text, 2019, FORM)
    parse_phone(text)
    parse_qq(text)
    parse_persons(text, FORM)
    parse_category(text, FORM)
    parse_progress(text, FORM)
    measure_key(text)
    assert time.perf_counter() - start < 2.0
