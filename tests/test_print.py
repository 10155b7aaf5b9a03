"""What the clerk prints: the summary of both demo rounds, the template and the marked-up copies,
rendered by LibreOffice to PDF and read back glyph by glyph (see printcheck.py).

Everything is converted in one LibreOffice start (it takes seconds to start), with a
deliberately bad workbook among the files to show that the checks do find faults.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import xlsxwriter

from printcheck import check_printout, read_pdf
from soffice_helpers import soffice_convert

pytestmark = pytest.mark.soffice


def _bad_workbook(path: Path) -> Path:
    """Fitted to one page wide in 10 pt (so printed small), a row too low for its wrapped text,
    and a number too wide for its column."""
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("坏")
    wrap = wb.add_format({"text_wrap": True, "valign": "top", "font_size": 10})
    ws.set_column(0, 0, 10)
    ws.set_column(1, 12, 12)
    ws.set_row(0, 14)
    ws.write_string(0, 0, "这一段文字很长，需要好几行才能显示完整，但行高只有一行，末尾被裁掉了", wrap)
    ws.write_number(1, 0, 123456789012, wb.add_format({"num_format": "#,##0"}))
    for c in range(1, 13):
        ws.write_string(2, c, f"第{c}列", wrap)
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.set_header("&R&A")
    wb.close()
    return path


@pytest.fixture(scope="module")
def printouts(tmp_path_factory):
    """(workbook, its PDF) for every kind of workbook ledgerbook writes, and the bad one."""
    from ledgerbook.demo import run_demo

    root = tmp_path_factory.mktemp("print")
    result = run_demo(root / "demo", use_soffice=False)
    books = {
        "汇总表（第一轮）": result.summary,
        "汇总表（第二轮，含变化）": result.second_summary,
        "模板": next(root.joinpath("demo").glob("附件2_*.xlsx")),
        "单位专用模板": sorted(result.templates.glob("*.xlsx"))[0],
        **{f"退回修改件 {Path(p).stem}": Path(p) for p in result.feedback},
        "坏": _bad_workbook(root / "bad.xlsx"),
    }
    # Plain ASCII names for LibreOffice's output folder; one start converts them all.
    staged = {}
    for i, (name, path) in enumerate(books.items()):
        target = root / "in" / f"{i:02d}.xlsx"
        target.parent.mkdir(exist_ok=True)
        target.write_bytes(Path(path).read_bytes())
        staged[name] = target
    pdfs = soffice_convert(list(staged.values()), "pdf", root / "pdf")
    return {name: (xlsx, pdf) for (name, xlsx), pdf in zip(staged.items(), pdfs)}


def test_the_checks_find_small_text_cut_text_and_hashes(printouts):
    problems = "\n".join(check_printout(*printouts["坏"]))
    assert "text at" in problems            # fitted to the page: 10 pt printed far smaller
    assert "clipped away" in problems       # the row is too low for its text
    assert "123,456,789,012" in problems    # printed as ### in a narrow column


@pytest.mark.parametrize("name", ["汇总表（第一轮）", "汇总表（第二轮，含变化）", "模板", "单位专用模板"])
def test_printed_pages_read_well(printouts, name):
    problems = check_printout(*printouts[name])
    assert not problems, "\n".join(problems[:30])


def test_marked_up_copies_print_well(printouts):
    copies = [name for name in printouts if name.startswith("退回修改件")]
    assert copies
    for name in copies:
        problems = check_printout(*printouts[name])
        assert not problems, name + "\n" + "\n".join(problems[:30])


def test_summary_sheets_print_on_a4_unless_too_wide(printouts):
    """A4 wherever 9 pt fits; only the wide tables (汇总台账, 变化) take A3."""
    pages = read_pdf(printouts["汇总表（第二轮，含变化）"][1])
    paper_of: dict[str, set] = {}
    for page in pages:
        sheet = next((s for s in ("总览", "提交情况", "变化", "汇总台账", "问题统计", "校验结果", "联络员名册", "文件清单")
                      if page.header.endswith(s)), None)
        paper_of.setdefault(sheet, set()).add(page.paper)
    assert paper_of.pop("汇总台账") == {"A3"} and paper_of.pop("变化") == {"A3"}
    assert all(papers == {"A4"} for papers in paper_of.values()), paper_of
