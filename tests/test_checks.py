"""One table-driven case per finding code: a value that triggers it and a near-miss that must not."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import replace

import pytest

from ledgerbook.demo import samples
from ledgerbook.collect import collect
from ledgerbook.text import OFFICE_TZ


def _row(i, **changes):
    def modify(spec, campaign):
        rows = list(spec.rows)
        rows[i] = replace(rows[i], **changes)
        return replace(spec, rows=rows)
    return modify


def _unit_block(**changes):
    return lambda spec, campaign: replace(spec, **changes)


def _rows(rows_changes):
    def modify(spec, campaign):
        rows = [replace(r, **rows_changes[i]) if i in rows_changes else r for i, r in enumerate(spec.rows)]
        return replace(spec, rows=rows)
    return modify


SAME = "认真组织学习，提高思想认识，狠抓工作落实，确保整改到位"

# (code, trigger, cell it must point at, near-miss)
CASES = [
    ("row.required_missing", _row(0, detail=""), "F7", _row(0, remarks="")),
    ("row.required_missing", _row(1, target=""), "B8", _row(1, progress="")),
    ("row.category_invalid", _row(0, problem="组织建设问题"), "E7", _row(0, problem="（三）")),
    ("row.category_invalid", _row(0, problem="问题9"), "E7", _row(0, problem="问题8")),
    ("row.person_invalid", _row(0, owner="支部书记"), "H7", _row(0, owner="支部书记张三")),
    ("row.person_invalid", _row(1, owner="全体党员"), "H8", _row(1, owner="张三、李四")),
    ("row.person_invalid", _row(0, member="支委会"), "D7", _row(0, member="王五")),
    ("row.deadline_invalid", _row(0, deadline="第3周"), "I7", _row(0, deadline="2019年10月31日")),
    ("row.deadline_vague", _row(0, deadline="长期坚持"), "I7", _row(0, deadline="10月底前")),
    ("row.deadline_vague", _row(1, deadline="10月中旬"), "I8", _row(1, deadline="10月15日")),
    ("row.deadline_out_of_window", _row(0, deadline="11月1日"), "I7", _row(0, deadline="10月31日")),
    ("row.deadline_out_of_window", _row(0, deadline="2019.9.2"), "I7", _row(0, deadline="2019.9.3")),
    ("row.progress_invalid", _row(0, progress="差不多了"), "J7", _row(0, progress="进行中")),
    ("row.measure_thin", _row(0, measure="加强学习"), "G7", _row(0, measure="每月组织一次专题学习并检查笔记")),
    ("row.measure_repeated", _rows({0: {"measure": SAME}, 1: {"measure": SAME}}), "G8",
     _rows({0: {"measure": SAME}, 1: {"measure": SAME + "，每周检查一次"}})),
    ("unit.field_missing", _unit_block(liaison=""), "C4", _unit_block(filled_on="")),
    ("unit.field_missing", _unit_block(qq=None), "I4", _unit_block(qq=10001)),
    ("unit.phone_invalid", _unit_block(phone="1381234567"), "G4", _unit_block(phone=13812345678.0)),
    ("unit.phone_invalid", _unit_block(phone="58290006"), "G4", _unit_block(phone="0731-58290006")),
    ("unit.qq_invalid", _unit_block(qq="0123456"), "I4", _unit_block(qq=123456789.0)),
    ("unit.secretary_mismatch", _unit_block(secretary="李大明"), "G3", _unit_block(secretary="书记周建国")),
    ("row.person_invalid", _unit_block(liaison="办公室"), "C4", _unit_block(liaison="欧阳娜娜")),
    ("unit.unknown", _unit_block(unit="机关党委办公室"), "C3", _unit_block(unit=" 机关 党委 ")),
    ("unit.no_target", _unit_block(rows=[]), None, _rows({})),
    ("file.unit_mismatch", _unit_block(template_unit="机电工程学院党委"), "C3", _unit_block(template_unit="机关党委")),
    ("file.unprotected", _unit_block(unprotect=True), None, _unit_block(unprotect=False)),
]


def _inbox(tmp_path, campaign, spec, when=dt.datetime(2019, 9, 12, 10, 0), name="整顿台账.xlsx"):
    inbox = tmp_path / "inbox"
    if inbox.exists():
        shutil.rmtree(inbox)
    inbox.mkdir()
    path = inbox / name
    samples.write_ledger(spec, campaign, path)
    ts = when.replace(tzinfo=OFFICE_TZ).timestamp()
    os.utime(path, (ts, ts))
    return inbox


def _found(collection, code):
    f = collection.findings
    return f[f["代码"] == code]


@pytest.mark.parametrize("code,trigger,cell,near_miss", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_finding_code(tmp_path, campaign, code, trigger, cell, near_miss):
    base = samples.clean_ledger(campaign, campaign.units[0], n_rows=3)
    hit = collect(_inbox(tmp_path, campaign, trigger(base, campaign)), campaign)
    found = _found(hit, code)
    assert len(found), f"{code} not raised; findings: {hit.findings[['代码', '单元格', '原值']].values.tolist()}"
    if cell is not None:
        assert cell in set(found["单元格"]), found[["单元格", "说明"]].values.tolist()
    assert set(found["单位"]) <= {campaign.units[0].name, "机关党委办公室"}
    assert all(found["说明"].str.len() > 10)

    miss = collect(_inbox(tmp_path, campaign, near_miss(base, campaign)), campaign)
    assert not len(_found(miss, code)), _found(miss, code)[["单元格", "说明"]].values.tolist()


def test_clean_ledger_has_no_findings_and_passes(tmp_path, campaign):
    spec = samples.clean_ledger(campaign, campaign.units[0], n_rows=4, n_targets=2)
    result = collect(_inbox(tmp_path, campaign, spec), campaign)
    own = result.findings[result.findings["单位"] == campaign.units[0].name]
    assert own.empty, own.values.tolist()
    row = result.submissions.iloc[0]
    assert (row["单位"], row["状态"], row["整顿对象数"], row["问题条数"]) == (campaign.units[0].name, "已通过", 2, 8)


def test_humanised_values_are_read_as_valid(tmp_path, campaign):
    spec = samples.humanise(samples.clean_ledger(campaign, campaign.units[0], n_rows=5), campaign)
    result = collect(_inbox(tmp_path, campaign, spec), campaign)
    own = result.findings[result.findings["单位"] == campaign.units[0].name]
    assert own.empty, own[["代码", "单元格", "原值"]].values.tolist()
    assert list(result.rows["重点问题"]) == [r.problem for r in samples.clean_ledger(campaign, campaign.units[0], n_rows=5).rows]
    assert all(isinstance(d, dt.date) for d in result.rows["完成时限"])


def test_overdue_only_with_as_of(tmp_path, campaign):
    base = samples.clean_ledger(campaign, campaign.units[0], n_rows=3)
    spec = _rows({0: {"deadline": "2019-09-20", "progress": "推进中"},
                  1: {"deadline": "2019-09-20", "progress": "已完成"}})(base, campaign)
    inbox = _inbox(tmp_path, campaign, spec)
    assert _found(collect(inbox, campaign), "row.overdue").empty
    late = collect(inbox, campaign, as_of=dt.date(2019, 10, 1))
    assert list(_found(late, "row.overdue")["单元格"]) == ["I7"]
    assert late.submissions.iloc[0]["逾期措施数"] == 1


def test_late_first_submission_by_file_time_is_only_a_hint(tmp_path, campaign):
    """A file's time may be the moment it was copied: lateness on it alone is 提示, not 警告."""
    spec = samples.clean_ledger(campaign, campaign.units[0])
    late = collect(_inbox(tmp_path, campaign, spec, when=dt.datetime(2019, 9, 14, 0, 5)), campaign)
    assert _found(late, "file.late").empty
    [hint] = _found(late, "file.late_by_file_time").to_dict("records")
    assert hint["级别"] == "提示" and "依据文件时间，可能不准" in hint["说明"]
    assert late.submissions.iloc[0]["逾期"] == "可能"
    assert late.counts()["逾期报送"] == 0
    on_time = collect(_inbox(tmp_path, campaign, spec, when=dt.datetime(2019, 9, 13, 23, 59)), campaign)
    assert _found(on_time, "file.late").empty and _found(on_time, "file.late_by_file_time").empty


def test_late_first_submission_by_email_date_is_a_warning(tmp_path, campaign):
    spec = samples.clean_ledger(campaign, campaign.units[0])
    path = tmp_path / "book.xlsx"
    samples.write_ledger(spec, campaign, path)
    book = path.read_bytes()
    for date, late in ((dt.datetime(2019, 9, 14, 0, 5), True), (dt.datetime(2019, 9, 13, 23, 59), False)):
        eml = samples.email_with_attachments("jgdw@example.edu.cn", "dwzzb@example.edu.cn", "台账", date, "见附件",
                                             [("整顿台账.xlsx", book)])
        inbox = tmp_path / f"inbox-{late}"
        inbox.mkdir()
        (inbox / "回复.eml").write_bytes(eml)
        ts = dt.datetime(2019, 9, 1).replace(tzinfo=OFFICE_TZ).timestamp()   # the file's time says nothing
        os.utime(inbox / "回复.eml", (ts, ts))
        result = collect(inbox, campaign)
        assert len(_found(result, "file.late")) == int(late)
        assert _found(result, "file.late_by_file_time").empty
        assert result.submissions.iloc[0]["逾期"] == ("是" if late else "否")
        row = result.files.set_index("文件").loc["回复.eml/整顿台账.xlsx"]
        assert (row["收到时间"], row["时间依据"]) == (date, "邮件日期")


def test_workbook_saved_time_beats_a_copied_file_time(tmp_path, campaign):
    """Saving an attachment or copying a file resets its time; the time Excel saved it does not."""
    spec = samples.clean_ledger(campaign, campaign.units[0])
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    samples.write_ledger(spec, campaign, inbox / "整顿台账.xlsx", saved=dt.datetime(2019, 9, 12, 16, 40))
    ts = dt.datetime(2019, 10, 30, 9, 0).replace(tzinfo=OFFICE_TZ).timestamp()   # copied long after
    os.utime(inbox / "整顿台账.xlsx", (ts, ts))
    result = collect(inbox, campaign)
    assert _found(result, "file.late").empty and _found(result, "file.late_by_file_time").empty
    row = result.files.iloc[0]
    assert (row["收到时间"], row["时间依据"]) == (dt.datetime(2019, 9, 12, 16, 40), "工作簿保存时间")
    assert result.submissions.iloc[0]["收到时间"] == dt.datetime(2019, 9, 12, 16, 40)


def test_missing_units(tmp_path, campaign):
    spec = samples.clean_ledger(campaign, campaign.units[0])
    result = collect(_inbox(tmp_path, campaign, spec), campaign)
    missing = _found(result, "unit.missing")
    assert set(missing["单位"]) == set(campaign.unit_names[1:])
    statuses = dict(zip(result.submissions["单位"], result.submissions["状态"]))
    assert statuses[campaign.units[0].name] == "已通过"
    assert all(statuses[u] == "未提交" for u in campaign.unit_names[1:])
