"""A whole inbox with units in every state: exact statuses, findings and file outcomes."""

from __future__ import annotations

import pandas as pd
import pytest

from ledgerbook.collect import collect
from ledgerbook.demo import build_first_round


@pytest.fixture(scope="module")
def round_one(tmp_path_factory, campaign):
    inbox = tmp_path_factory.mktemp("round1") / "inbox"
    build_first_round(campaign, inbox, use_soffice=False)
    return inbox


def test_statuses(round_one, campaign):
    result = collect(round_one, campaign)
    names = campaign.unit_names
    status = dict(zip(result.submissions["单位"], result.submissions["状态"]))
    back = {names[i] for i in (4, 6, 11, 15, 17, 20)} | {"人文与新闻学院党委"}
    missing = {names[i] for i in (16, 21, 24)}
    assert {u for u, s in status.items() if s == "需退回修改"} == back
    assert {u for u, s in status.items() if s == "未提交"} == missing
    assert {u for u, s in status.items() if s == "已通过"} == set(names) - back - missing
    unknown = result.submissions[result.submissions["名单内"] == "否"]
    assert list(unknown["单位"]) == ["人文与新闻学院党委"]
    # Roster order first, unknown units after.
    assert list(result.submissions["单位"][: len(names)]) == list(names)


def test_exact_findings(round_one, campaign):
    result = collect(round_one, campaign)
    n = campaign.unit_names
    got = {(r.代码, r.单位, r.单元格) for r in result.findings.itertuples()}
    expected = {
        ("file.superseded", n[2], ""),
        ("file.duplicate", n[3], ""),
        ("unit.field_missing", n[4], "C4"),
        ("row.person_invalid", n[4], "H7"),
        ("file.late_by_file_time", n[5], ""),   # a plain file: its times are no proof (提示)
        ("unit.phone_invalid", n[6], "G4"),
        ("unit.qq_invalid", n[6], "I4"),
        ("file.layout_changed", n[7], "A5"),
        ("row.category_invalid", n[11], "E7"),
        ("row.measure_thin", n[11], "G7"),
        ("row.measure_repeated", n[14], "G7"),
        ("row.measure_repeated", n[14], "G8"),
        ("row.measure_repeated", n[14], "G9"),
        ("unit.no_target", n[15], "B7"),
        ("unit.missing", n[16], ""),
        ("unit.unknown", "人文与新闻学院党委", "C3"),
        ("file.unit_mismatch", "人文与新闻学院党委", "C3"),
        ("file.unreadable", n[17], ""),
        ("file.unreadable", n[20], ""),
        ("unit.missing", n[21], ""),
        ("unit.secretary_mismatch", n[23], "G3"),
        ("unit.missing", n[24], ""),
    }
    assert got == expected


def test_file_list_has_every_file_once(round_one, campaign):
    result = collect(round_one, campaign)
    on_disk = {p.relative_to(round_one).as_posix() for p in round_one.rglob("*") if p.is_file()}
    top_level = {f for f in result.files["文件"] if f in on_disk}
    assert top_level == on_disk
    assert result.files["文件"].is_unique
    outcome = dict(zip(result.files["文件"], result.files["处理结果"]))
    assert outcome["Thumbs.db"] == "已忽略"
    assert outcome["~$整顿台账_机关党委.xlsx"] == "已忽略"
    assert outcome["数学与物理学院台账.zip"] == "已展开"
    assert outcome["数学与物理学院台账.zip/台账/整顿台账_数学与计算科学学院党委.xlsx"] == "采用"
    assert outcome[f"整顿台账_{campaign.unit_names[3]}(1).xlsx"] == "重复"
    assert outcome[f"整顿台账_{campaign.unit_names[2]}（初稿）.xlsx"] == "已被替代"
    assert outcome[f"整顿台账_{campaign.unit_names[17]}.xlsx"] == "无法读取"
    eml = [f for f in result.files["文件"] if f.endswith(".eml")]
    assert len(eml) == 2 and all(outcome[f] == "已展开" for f in eml)
    attached = result.files[result.files["文件"].str.contains(r"\.eml/")]
    assert set(attached["处理结果"]) == {"采用"} and set(attached["发件人"]) == {"smxy@example.edu.cn", "dkxy@example.edu.cn"}


def test_rows_are_normalised_with_sources(round_one, campaign):
    result = collect(round_one, campaign)
    rows = result.rows
    valid = rows["问题序号"].notna()
    assert set(rows.loc[valid, "重点问题"]) <= set(campaign.form.problems)
    assert list(rows.loc[~valid, "重点问题"]) == ["组织建设问题"]  # kept as typed, with its finding
    assert rows["来源单元格"].str.match(r"^[A-Z]+\d+$").all()
    machine = rows[rows["单位"] == campaign.unit_names[1]]
    assert machine["完成时限"].map(type).eq(pd.Timestamp(2019, 1, 1).date().__class__).all()
    assert (result.by_problem["合计"].sum()) == len(rows)
    liaisons = result.liaisons.set_index("单位")
    assert liaisons.loc[campaign.unit_names[1], "联系电话"].isdigit()


def test_two_runs_identical(round_one, campaign):
    a, b = collect(round_one, campaign), collect(round_one, campaign)
    for name in ("files", "submissions", "rows", "findings", "by_problem", "liaisons"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))


def test_process_pool_gives_the_same_result(round_one, campaign):
    one = collect(round_one, campaign, workers=1)
    two = collect(round_one, campaign, workers=2)
    pd.testing.assert_frame_equal(one.findings, two.findings)
    pd.testing.assert_frame_equal(one.rows, two.rows)


def test_missing_inbox_is_an_error(tmp_path, campaign):
    from ledgerbook.errors import InboxError

    with pytest.raises(InboxError):
        collect(tmp_path / "nope", campaign)
