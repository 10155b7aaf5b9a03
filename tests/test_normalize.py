"""Table-driven tests of ledgerbook.normalize: values as people type them -> clean values."""

from __future__ import annotations

import datetime as dt
import math

import pytest

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
YEAR = 2019
OCT31 = dt.date(2019, 10, 31)


# --- cell_text / clean_text ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        (float("nan"), ""),
        (13812345678.0, "13812345678"),
        (3.0, "3"),
        (3.5, "3.5"),
        (-0.0, "0"),
        (0.1 + 0.2, "0.3"),
        (42, "42"),
        (True, "TRUE"),
        (False, "FALSE"),
        (dt.datetime(2019, 10, 31), "2019-10-31"),
        (dt.datetime(2019, 10, 31, 14, 30), "2019-10-31 14:30"),
        (dt.date(2019, 10, 31), "2019-10-31"),
        (dt.time(14, 30), "14:30"),
        ("  张三 \u3000", "张三"),
        ("\u200b张\u200c三\ufeff", "张三"),
        ("\xa0abc\t\n", "abc"),
        ("中".encode(), "中"),
        ("中".encode("gbk"), "中"),
        (b"", ""),
        (float("inf"), "inf"),
    ],
)
def test_cell_text(value, expected):
    assert cell_text(value) == expected


def test_cell_text_removes_every_invisible_character_inside_text():
    """The quick search that skips translating must know every character the table removes."""
    from ledgerbook.normalize import _INVISIBLE

    for code in _INVISIBLE:
        assert cell_text(f"张{chr(code)}三，措施") == "张三，措施", hex(code)


@pytest.mark.parametrize("text", ["建立党员示范岗，推动（一）", "ＡＢＣ１２３", "e\u0301", "已是规范文本", "ﬁ"])
def test_clean_text_normalises_nfkc_whatever_the_quick_check_says(text):
    import unicodedata

    assert clean_text(text) == unicodedata.normalize("NFKC", text)


def test_cell_text_nat_and_foreign_objects():
    pd = pytest.importorskip("pandas")
    assert cell_text(pd.NaT) == ""
    assert cell_text(pd.Timestamp("2019-10-31")) == "2019-10-31"

    class Broken:
        def __str__(self):
            raise RuntimeError("no")

    assert cell_text(Broken()) == ""
    assert cell_text(["a"]) == "['a']"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  ＡＢＣ１２３  ", "ABC123"),
        ("加强   学习\t制度", "加强 学习 制度"),
        ("第一行\r\n\r\n  第二行  \r第三行", "第一行\n第二行\n第三行"),
        ("全角\u3000空格", "全角 空格"),
        (None, ""),
        (3.0, "3"),
    ],
)
def test_clean_text(value, expected):
    assert clean_text(value) == expected


# --- strip_control_chars / measure_key -------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain 文本", ("plain 文本", False)),
        ("tab\tLF\nCR\r", ("tab\tLF\nCR\r", False)),
        ("a\x00b\x07c\x1fd", ("abcd", True)),
        ("x\ufffey\uffff", ("xy", True)),
        ("lone\ud800surrogate", ("lonesurrogate", True)),
        ("", ("", False)),
    ],
)
def test_strip_control_chars(text, expected):
    assert strip_control_chars(text) == expected


def test_strip_control_chars_non_str():
    assert strip_control_chars(None) == ("", False)
    assert strip_control_chars(3.0) == ("3", False)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("加强理论学习，每月开展一次主题党日。", "加强理论学习 每月开展一次主题党日"),
        ("ＡＢＣ学习", "abc 学习"),
        ("“三会一课”制度", "三会一课制度"),
    ],
)
def test_measure_key_equal(a, b):
    assert measure_key(a) == measure_key(b)


def test_measure_key_differs():
    assert measure_key("加强学习") != measure_key("加强培训")
    assert measure_key(None) == ""


# --- parse_date ------------------------------------------------------------------------------

OK_DATES = [
    ("2019.10.31", OCT31),
    ("2019-10-31", OCT31),
    ("2019/10/31", OCT31),
    ("2019年10月31日", OCT31),
    ("2019年10月31号", OCT31),
    ("20191031", OCT31),
    ("10月31日", OCT31),
    ("10.31", OCT31),
    ("10/31", OCT31),
    ("10-31", OCT31),
    ("10月底", OCT31),
    ("10月底前", OCT31),
    ("2019年10月底前", OCT31),
    ("10月31日前", OCT31),
    ("10月31日之前", OCT31),
    ("截至10月31日", OCT31),
    ("10月30日完成", dt.date(2019, 10, 30)),
    (" 2019 年 10 月 31 日 ", OCT31),
    ("2019. 10. 31", OCT31),
    ("２０１９年１０月３１日", OCT31),
    ("１０．３１", OCT31),
    ("2019.9.15-2019.10.31", OCT31),
    ("9月15日至10月31日", OCT31),
    ("9月15日—10月31日", OCT31),
    ("9月—10月底", OCT31),
    ("9.15-10.31", OCT31),
    ("19.10.31", OCT31),
    ("19年10月31日", OCT31),
    ("19.9.15-19.10.31", OCT31),
    ("19/10/31", OCT31),
    ("9月30日", dt.date(2019, 9, 30)),
    ("2月底", dt.date(2019, 2, 28)),
    ("2020年2月底", dt.date(2020, 2, 29)),
    ("十月底", OCT31),
    ("二〇一九年十月三十一日", OCT31),
    ("2019-10-31 00:00:00", OCT31),
    ("长期坚持，10月31日前完成阶段任务", OCT31),
    ("10月中旬完成初稿，10月31日前定稿", OCT31),
    ("2020年9月1日至10月31日", dt.date(2020, 10, 31)),
    ("10月31日24时前", OCT31),
    (dt.datetime(2019, 10, 31, 17, 0), OCT31),
    (dt.date(2019, 10, 31), OCT31),
    (43769, OCT31),
    (43769.75, OCT31),
    (20191031, OCT31),
    (20191031.0, OCT31),
    (10.31, OCT31),
    (10.5, dt.date(2019, 10, 5)),
]


@pytest.mark.parametrize(("value", "expected"), OK_DATES)
def test_parse_date_ok(value, expected):
    result = parse_date(value, YEAR, FORM)
    assert result == DateResult("ok", expected, cell_text(value))


VAGUE_DATES = [
    "长期坚持",
    "持续推进",
    "常态化",
    "待定",
    "年底前",
    "2019年底前",
    "10月中旬",
    "10月上旬",
    "9月下旬",
    "10月初",
    "10月中",
    "10月",
    "10月份",
    "2019年10月",
    "2019.10",
    "2019年",
    "9月15日至10月",  # the end of the range has no day
    "10月31日前完成，11月中旬验收",
    "十月中旬",
    "10月3个工作日内",  # a month without a day
    "每月15日",  # recurring, not a deadline (每月 is in the form's vague phrases)
]


@pytest.mark.parametrize("value", VAGUE_DATES)
def test_parse_date_vague(value):
    assert parse_date(value, YEAR, FORM) == DateResult("vague", None, cell_text(value))


INVALID_DATES = [
    "abc",
    "2019-13-45",
    "2月30日",
    "2019.2.30",
    "13.5",
    "13月1日",
    "20191345",
    "1-2周",  # a count, not January 2nd
    "9-15-10-31",
    "31/10/2019",
    "3019-10-31",
    "第3周",
    "无",
    True,
    dt.time(12, 0),
    10.3,  # typed 10.30 or 10.3? Excel dropped the zero: never guess
    1031,
    float("inf"),
    -5,
]


@pytest.mark.parametrize("value", INVALID_DATES)
def test_parse_date_invalid(value):
    result = parse_date(value, YEAR, FORM)
    assert result.status == "invalid" and result.date is None
    assert result.text == cell_text(value)


@pytest.mark.parametrize("value", [None, "", "   ", "\u3000", float("nan"), "\u200b"])
def test_parse_date_blank(value):
    assert parse_date(value, YEAR, FORM) == DateResult("blank", None, "")


def test_parse_date_takes_year_argument():
    assert parse_date("10月31日", 2020, FORM).date == dt.date(2020, 10, 31)
    assert parse_date("10.31", 2021, FORM).date == dt.date(2021, 10, 31)
    assert parse_date("2019年10月31日", 2020, FORM).date == OCT31


def test_parse_date_vague_phrases_come_from_the_form():
    from dataclasses import replace

    form = replace(FORM, vague_deadlines=("看情况",), month_parts=("上旬",))
    assert parse_date("看情况", YEAR, form).status == "vague"
    assert parse_date("长期坚持", YEAR, form).status == "invalid"
    assert parse_date("10月上旬", YEAR, form).status == "vague"
    assert parse_date("10月下旬", YEAR, form).status == "vague"  # a month alone is vague anyway


# --- parse_phone -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13812345678", "13812345678"),
        (13812345678.0, "13812345678"),
        (13812345678, "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("138.1234.5678", "13812345678"),
        ("(138)12345678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("008613812345678", "13812345678"),
        ("(+86)13812345678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("手机：13812345678", "13812345678"),
        ("0731-58290006", "0731-58290006"),
        ("(0731)58290006", "0731-58290006"),
        ("（0731）58290006", "0731-58290006"),
        ("0731 5829 0006", "0731-58290006"),
        ("073158290006", "0731-58290006"),
        ("0731-5829006", "0731-5829006"),
        ("0731-58290006转123", "0731-58290006-123"),
        ("0731-58290006-123", "0731-58290006-123"),
        ("0731-58290006 ext 123", "0731-58290006-123"),
        ("0731-58290006 ext.123", "0731-58290006-123"),
        ("010-12345678", "010-12345678"),
        ("01012345678", "010-12345678"),
        ("021-87654321", "021-87654321"),
        ("+86 731 58290006", "0731-58290006"),
        ("13812345678/0731-58290006", "13812345678"),
        ("0731-58290006/13812345678", "0731-58290006"),
        ("13812345678，13987654321", "13812345678"),
        ("13812345678 0731-58290006", "13812345678"),
        ("0731 58290006 13812345678", "0731-58290006"),
        ("办公室：无；手机13812345678", "13812345678"),
    ],
)
def test_parse_phone_valid(value, expected):
    assert parse_phone(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        None, "", "58290006", "5829-0006", "12812345678", "1381234567", "138123456789",
        "+1 650 123 4567", "0731-582", "abc", True, 3.5, "0031-58290006", float("nan"),
        "13812345678转123",  # mobiles have no extension
    ],
)
def test_parse_phone_invalid(value):
    assert parse_phone(value) is None


# --- parse_qq --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("123456", "123456"),
        ("12345", "12345"),
        ("12345678901", "12345678901"),
        (123456789.0, "123456789"),
        (123456789, "123456789"),
        ("QQ:123456", "123456"),
        ("QQ：123456", "123456"),
        ("qq 123456", "123456"),
        ("QQ号：123456", "123456"),
        ("123456@qq.com", "123456"),
        ("123456@QQ.COM", "123456"),
        ("１２３４５６", "123456"),
        (" 123456 ", "123456"),
    ],
)
def test_parse_qq_valid(value, expected):
    assert parse_qq(value) == expected


@pytest.mark.parametrize(
    "value",
    [None, "", "1234", "012345", "123456789012", "abc", "123 456", "123456@163.com", True, 3.5,
     float("nan"), "QQ", "微信123456"],
)
def test_parse_qq_invalid(value):
    assert parse_qq(value) is None


# --- parse_persons ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("张三", ("张三",)),
        ("欧阳娜娜", ("欧阳娜娜",)),
        ("张三、李四", ("张三", "李四")),
        ("张三，李四", ("张三", "李四")),
        ("张三,李四", ("张三", "李四")),
        ("张三/李四", ("张三", "李四")),
        ("张三;李四；王五", ("张三", "李四", "王五")),
        ("张三 李四", ("张三", "李四")),
        ("张三\n李四", ("张三", "李四")),
        ("张三和李四", ("张三", "李四")),
        ("张三及李四", ("张三", "李四")),
        ("李和平", ("李和平",)),  # 和 inside a name is not a separator
        ("及时雨", ("及时雨",)),
        ("支部书记张三", ("张三",)),
        ("党支部书记张三", ("张三",)),
        ("机械学院党委书记张三", ("张三",)),
        ("张三（支部书记）", ("张三",)),
        ("张三(组织委员)、李四（宣传委员）", ("张三", "李四")),
        ("支部书记（张三）", ("张三",)),
        ("张三书记", ("张三",)),
        ("张三老师", ("张三",)),
        ("张三 副教授", ("张三",)),
        ("书记：张三", ("张三",)),
        ("书记张三和委员李四", ("张三", "李四")),
        ("王五等", ("王五",)),
        ("王五等3人", ("王五",)),
        ("张三、李四等", ("张三", "李四")),
        ("张三、全体党员", ("张三",)),
        ("全体党员、张三", ("张三",)),
        ("阿依古丽·买买提", ("阿依古丽·买买提",)),
        ("阿依古丽・买买提", ("阿依古丽·买买提",)),
        ("John Smith", ("John Smith",)),
        ("Li Lei", ("Li Lei",)),
        ("张三、John Smith", ("张三", "John Smith")),
        ("张  三", ("张三",)),
        ("张 三、李 四", ("张三", "李四")),
        ("　张三　", ("张三",)),
        ("张三、张三", ("张三",)),
        ("张三(13812345678)", ("张三",)),
    ],
)
def test_parse_persons_named(value, expected):
    assert parse_persons(value, FORM) == expected


@pytest.mark.parametrize(
    "value",
    [
        None, "", "支部书记", "全体党员", "支委会", "党委", "各支部", "负责人", "书记", "组织委员",
        "党支部书记", "支部委员会", "全体支委", "班子成员", "各党支部", "全体教师", "学院党委",
        "教工第一党支部", "张", "张三李四王五赵", "王书记", "13812345678", 123, 3.0, True,
        "党政办公室", "各支部书记", "支部书记、组织委员", "J",
    ],
)
def test_parse_persons_nobody(value):
    assert parse_persons(value, FORM) == ()


def test_parse_persons_vocabulary_comes_from_the_form():
    from dataclasses import replace

    form = replace(FORM, roles=("队长",), collectives=("大家",), collective_markers=("组",))
    assert parse_persons("队长张三", form) == ("张三",)
    assert parse_persons("大家", form) == ()
    assert parse_persons("第一组", form) == ()
    # Without the default vocabulary these are just 4 Han characters: nothing is hard-coded.
    assert parse_persons("支部书记", form) == ("支部书记",)
    assert parse_persons("全体党员", form) == ("全体党员",)


# --- parse_category --------------------------------------------------------------------------

P = FORM.problems

CATEGORIES = [
    (3, 3),
    (3.0, 3),
    ("3", 3),
    ("3.", 3),
    ("3、", 3),
    ("3．", 3),
    ("(3)", 3),
    ("（3）", 3),
    ("问题3", 3),
    ("第3项", 3),
    ("第三项", 3),
    ("（三）", 3),
    ("三", 3),
    ("三、", 3),
    ("①", 1),
    ("⑧", 8),
    ("❸", 3),
    (" 8 ", 8),
    ("第八项", 8),
    (P[2], 3),
    (P[2][:-2], 3),  # without the trailing 问题
    (P[6][:-3], 7),  # without 等问题
    ("  " + P[3].replace("，", " ") + "\n", 4),
    (P[0].replace("“", '"').replace("”", '"'), 1),
    (P[0].replace("“", "").replace("”", ""), 1),
    ("发展党员工作有待加强", 3),
    ("基层党组织主体责任", 4),
    ("3.发展党员工作有待加强…", 3),
    ("3、" + P[2], 3),
    ("（三）发展党员工作", 3),
    ("3.", 3),
    ("3.发展党员", 3),  # the short label
    ("双带头人", 1),
    ("五化", None),  # 2 characters: too short to be sure
    ("“五化”建设", 7),
    ("三全育人", 4),
    ("成长渠道不畅", 5),
    (P[4] + "（本支部）", 5),
]


@pytest.mark.parametrize(("value", "expected"), CATEGORIES)
def test_parse_category(value, expected):
    assert parse_category(value, FORM) == expected


@pytest.mark.parametrize(
    "value",
    [
        None, "", 0, 9, "9", "第九项", "⑨", 3.5, "3.5", True, "abc", "问题", "不到位问题",
        "党支部", "3.双带头人",  # number and text disagree
        "1、" + P[3], "其他问题", float("nan"), float("inf"), -1, "第3.5项",
    ],
)
def test_parse_category_none(value):
    assert parse_category(value, FORM) is None


@pytest.mark.parametrize("index", range(len(FORM.problems)))
def test_parse_category_every_full_text(index):
    assert parse_category(FORM.problems[index], FORM) == index + 1
    assert parse_category(index + 1, FORM) == index + 1


CUSTOM = FORM.with_problems(
    (
        "理论学习不深入问题",
        "组织生活不规范问题",
        "党员教育管理宽松软问题",
        "服务师生意识不强问题",
    )
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, 1),
        (4, 4),
        (5, None),
        ("四", 4),
        ("⑤", None),
        ("第4项", 4),
        ("组织生活不规范问题", 2),
        ("组织生活不规范", 2),
        ("党员教育管理", 3),
        ("服务师生", 4),
        ("4.服务师生意识不强", 4),
        ("2.服务师生意识不强", None),
        (P[0], None),  # a problem of the default menu is not on this one
        ("双带头人", None),
    ],
)
def test_parse_category_custom_menu(value, expected):
    assert parse_category(value, CUSTOM) == expected


def test_parse_category_ambiguous_short_labels():
    form = FORM.with_problems(("党支部设置不规范问题甲", "党支部设置不规范问题乙", "其他"))
    assert parse_category("党支部设置不规范", form) is None  # a leading part of both
    assert parse_category("党支部设置不规范问题乙", form) == 2
    assert parse_category("其他", form) == 3


# --- parse_progress --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("未启动", "未启动"),
        ("推进中", "推进中"),
        ("已完成", "已完成"),
        (" 已 完成 ", "已完成"),
        ("已完成。", "已完成"),
        ("\u3000推进中\n", "推进中"),
        ("进行中", "推进中"),
        ("正在整改", "推进中"),
        ("完成", "已完成"),
        ("已整改", "已完成"),
        ("未开始", "未启动"),
        ("", None),
        (None, None),
        ("差不多", None),
        ("已完成90%", None),
        (1, None),
        (True, None),
    ],
)
def test_parse_progress(value, expected):
    assert parse_progress(value, FORM) == expected


def test_parse_progress_vocabulary_comes_from_the_form():
    from dataclasses import replace

    form = replace(FORM, progress_values=("甲", "乙"), progress_aliases={"A": "甲"})
    assert parse_progress("A", form) == "甲"
    assert parse_progress("乙", form) == "乙"
    assert parse_progress("已完成", form) is None


def test_nan_is_blank_everywhere():
    nan = math.nan
    assert parse_phone(nan) is None
    assert parse_qq(nan) is None
    assert parse_persons(nan, FORM) == ()
    assert parse_category(nan, FORM) is None
    assert parse_progress(nan, FORM) is None
