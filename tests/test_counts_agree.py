"""One set of numbers: 总览's boxes, its lists and the console name the same units; errors on
files of no unit are counted apart; a unit whose copy arrived under another name is told so."""

from __future__ import annotations

import email
import re
from email import policy
from pathlib import Path

import pytest
from openpyxl import load_workbook

from ledgerbook.collect import collect
from ledgerbook.console import collect_report
from ledgerbook.demo import build_first_round
from ledgerbook.mail import feedback_drafts
from ledgerbook.summary import write_summary


@pytest.fixture(scope="module")
def round_one(tmp_path_factory, campaign):
    root = tmp_path_factory.mktemp("counts")
    inbox = root / "inbox"
    build_first_round(campaign, inbox, use_soffice=False)
    # A damaged workbook nobody can be named for: an error of no unit.
    (inbox / "scan001.xlsx").write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    collection = collect(inbox, campaign)
    summary = write_summary(collection, root / "汇总表.xlsx")
    return root, collection, summary


def overview(summary: Path) -> list[list]:
    ws = load_workbook(summary)["总览"]
    return [[c.value for c in row] for row in ws.iter_rows()]


def section(lines: list[list], heading: str) -> list[str]:
    """The unit names of the small table under a heading of 总览."""
    start = next(i for i, line in enumerate(lines) if isinstance(line[0], str) and line[0].startswith(heading))
    units = []
    for line in lines[start + 2:]:
        if not isinstance(line[0], int):
            break
        units.append(line[1])
    return units


def boxes(lines: list[list]) -> dict[str, int]:
    return {line[1]: line[2] for line in lines if isinstance(line[1], str) and isinstance(line[2], int)}


def test_overview_boxes_lists_and_console_name_the_same_units(round_one):
    root, collection, summary = round_one
    counts = collection.counts()
    lines = overview(summary)
    box = boxes(lines)
    back = section(lines, "需退回修改的单位")
    outside = section(lines, "名单外单位")
    assert box["需退回修改"] == counts["需退回修改"] == len(back) == 6
    assert box["名单外单位"] == counts["名单外单位"] == len(outside) == 1
    assert box["应报单位"] == box["已通过"] + box["需退回修改"] + box["未提交"]
    heading = next(line[0] for line in lines if isinstance(line[0], str) and line[0].startswith("需退回修改的单位"))
    assert heading == f"需退回修改的单位（{len(back)}个）"

    report = collect_report(collection, summary, [])
    listed = re.search(r"需退回修改：\n((?:  .*\n)+)", report + "\n").group(1)
    assert [line.split("：")[0].strip() for line in listed.splitlines()] == back
    assert f"需退回修改 {len(back)}" in report and f"名单外 {len(outside)}" in report
    assert outside[0].startswith("人文与新闻学院党委") and "人文与新闻学院党委（需退回修改）" in report


def test_errors_on_files_of_no_unit_are_counted_apart(round_one):
    root, collection, summary = round_one
    counts = collection.counts()
    unassigned = collection.unassigned_findings()
    assert list(unassigned["文件"]) == ["scan001.xlsx"]
    errors = int((collection.findings["级别"] == "错误").sum())
    assert counts["错误"] + counts["无单位文件错误"] == errors and counts["无单位文件错误"] == 1
    # Each unit's 错误数 adds up to the units' errors: none is the damaged file's.
    assert collection.submissions["错误数"].sum() == counts["错误"]
    lines = overview(summary)
    assert boxes(lines)["无单位文件错误"] == 1
    notes = [line[1] for line in lines if isinstance(line[1], str) and line[1].startswith("另有")]
    assert notes and "scan001.xlsx" in notes[0] and "无法确定属于哪个单位" in notes[0]
    assert "另有 1 个文件有错误但无法确定所属单位" in collect_report(collection, summary, [])


def test_a_copy_filled_in_as_another_unit_gets_no_plain_reminder(round_one, campaign):
    root, collection, summary = round_one
    unit = "人文学院党委"
    assert collection.received_as_other_unit() == {unit: ("整顿台账_人文与新闻学院党委.xlsx", "人文与新闻学院党委")}
    plan = feedback_drafts(collection, root / "outbox", now=None)
    draft = next(d for d in plan.drafts if d.unit == unit)
    msg = email.message_from_bytes(Path(draft.path).read_bytes(), policy=policy.default)
    body = msg.get_body(("plain",)).get_content()
    assert "收到了用你单位专用模板填写的整顿台账“整顿台账_人文与新闻学院党委.xlsx”" in body
    assert "“填报单位”填的是“人文与新闻学院党委”" in body and f"改为“{unit}”后重新报送" in body
    assert "尚未收到你单位的整顿台账" not in body and "催报" not in str(msg["Subject"])
    # The other units never heard from still get the plain reminder.
    other = next(d for d in plan.drafts if d.unit == "潇湘学院党委")
    text = email.message_from_bytes(Path(other.path).read_bytes(), policy=policy.default).get_body(("plain",))
    assert "尚未收到你单位的整顿台账" in text.get_content()
    # 总览 and the console say it too.
    assert any(isinstance(line[1], str) and line[1].startswith(f"{unit}：收到用本单位专用模板") for line in overview(summary))
    assert f"{unit}：收到本单位专用模板" in collect_report(collection, summary, [])
