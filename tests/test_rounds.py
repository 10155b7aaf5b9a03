"""Two rounds of the campaign: the second collect with --since lists exactly what changed."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
from click.testing import CliRunner

from ledgerbook.changes import compare
from ledgerbook.cli import cli
from ledgerbook.collect import collect
from ledgerbook.demo import build_first_round, build_second_round
from ledgerbook.summary import write_summary
from ledgerbook.snapshot import read_previous


@pytest.fixture(scope="module")
def rounds(tmp_path_factory, campaign):
    root = tmp_path_factory.mktemp("rounds")
    build_first_round(campaign, root / "in1", use_soffice=False)
    build_second_round(campaign, root / "in1", root / "in2")
    first = collect(root / "in1", campaign)
    write_summary(first, root / "s1.xlsx")
    return root


def test_changes_between_rounds_are_exact(rounds, campaign):
    second = collect(rounds / "in2", campaign, as_of=dt.date(2019, 10, 28))
    changes = compare(read_previous(rounds / "s1.xlsx"), second)
    n = campaign.unit_names
    assert changes.status[["单位", "原状态", "新状态"]].values.tolist() == [[n[4], "需退回修改", "已通过"]]
    assert changes.rows[["变化", "单位", "字段", "原值"]].values.tolist() == [["修改", n[4], "责任人", "支委会"]]
    moved = changes.progress
    assert sorted(moved["单位"].value_counts().items()) == sorted({n[0]: 4, n[2]: 3}.items())
    assert set(moved["原进展"]) == {""} and set(moved["新进展"]) <= {"推进中", "已完成", "未启动"}
    resolved = changes.findings[changes.findings["变化"] == "已解决"]
    assert sorted(zip(resolved["代码"], resolved["单元格"])) == [("row.person_invalid", "H7"), ("unit.field_missing", "C4")]


def test_collect_since_writes_the_change_sheet(rounds, campaign):
    out = rounds / "s2.xlsx"
    result = CliRunner().invoke(cli, ["collect", str(rounds / "in2"), "-o", str(out), "--as-of", "2019-10-28",
                                      "--since", str(rounds / "s1.xlsx")])
    assert result.exit_code == 0, result.output
    assert "与上次相比" in result.output
    wb = openpyxl.load_workbook(out, read_only=True)
    assert wb.sheetnames.index("变化") == 2
    rows = list(wb["变化"].iter_rows(values_only=True))
    assert rows[0][:4] == ("问题类型", "类别", "变化", "单位")  # the kind of problem first, in Chinese
    assert ("单位状态", "状态改变", campaign.unit_names[4]) == rows[1][1:4]


def test_since_with_a_workbook_that_is_not_a_summary(tmp_path, rounds):
    import xlsxwriter

    other = tmp_path / "别的表.xlsx"
    wb = xlsxwriter.Workbook(other)
    wb.add_worksheet("Sheet1").write("A1", "x")
    wb.close()
    result = CliRunner().invoke(cli, ["collect", str(rounds / "in2"), "-o", str(tmp_path / "s.xlsx"),
                                      "--since", str(other)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "不是 ledgerbook 生成的汇总表" in lines[0]
    assert not (tmp_path / "s.xlsx").exists()
