"""台账工作台 end to end in a real browser: headless Chromium uploads the demo inbox, re-collects,
reads the status table, opens a unit page and downloads the summary.

Screenshots of 总览 and of a unit page are saved in the test's folder, and also into
$LEDGERBOOK_SCREENSHOTS when that is set (to look at them, or to refresh docs/).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import time
from pathlib import Path

import openpyxl
import pytest

from browser_helpers import start_browser
from test_cli_serve import URL, _first_line, _start

from ledgerbook.collect import collect
from ledgerbook.demo import rounds
from ledgerbook.tables import RETURN

pytestmark = pytest.mark.browser

AS_OF = dt.date(2019, 9, 20)


def _wait(condition, timeout: float = 120, what: str = ""):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"等待超时：{what}")
        time.sleep(0.2)


def _table(driver, table_id: str) -> list[list[str]]:
    """The visible rows of a table, cell texts as the clerk sees them."""
    return driver.execute_script("""
        const t = document.getElementById(arguments[0]);
        return Array.from(t.tBodies[0].rows).filter(r => !r.hidden)
            .map(r => Array.from(r.cells).map(c => c.innerText.trim()));""", table_id)


def _screenshot(driver, path: Path) -> Path:
    """A screenshot of the whole page, not only of the window's height."""
    import base64

    width, height = driver.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": width, "height": min(height, 6000), "scale": 1}})
    path.write_bytes(base64.b64decode(shot["data"]))
    extra = os.environ.get("LEDGERBOOK_SCREENSHOTS")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(extra) / path.name)
    return path


def _readable_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width >= 1000 and height >= 600
    assert len(data) > 40_000  # a page of text and tables, not a blank or an error box


def _check_print(driver, path: Path, expected) -> None:
    """Printed (as Chrome prints to PDF), 总览 is the table of every unit without the page's buttons."""
    import base64

    from pypdf import PdfReader

    pdf = driver.execute_cdp_cmd("Page.printToPDF", {"printBackground": True, "preferCSSPageSize": True})
    path.write_bytes(base64.b64decode(pdf["data"]))
    reader = PdfReader(path)
    page = reader.pages[0]
    assert page.mediabox.width > page.mediabox.height  # A4 landscape
    text = "".join(p.extract_text() for p in reader.pages)
    squeezed = "".join(text.split())
    assert all(unit in squeezed for unit in expected["单位"] if unit)
    assert "提交情况" in squeezed  # the print-only heading
    for hidden in ("重新汇总", "显示全部", "筛选"):
        assert hidden not in squeezed


def test_the_clerks_round_in_a_real_browser(tmp_path, campaign):
    from selenium.webdriver.common.by import By

    source = tmp_path / "收到的文件"
    rounds.build_first_round(campaign, source, use_soffice=False)
    files = sorted(p for p in source.rglob("*") if p.is_file())
    api = collect(source, campaign, as_of=AS_OF)
    expected = api.submissions

    workdir = tmp_path / "台账工作台"
    downloads = tmp_path / "下载"
    downloads.mkdir()
    server = _start(workdir)
    driver = None
    try:
        address = _first_line(server)
        assert URL.match(address), address
        base = address.split("?")[0]
        driver = start_browser(downloads)
        driver.get(address)
        assert "尚未汇总" in driver.page_source
        assert "token" not in driver.current_url  # the token went into the cookie

        # 收件: choose every file of the demo inbox at once; they upload with a progress bar.
        driver.find_element(By.LINK_TEXT, "收件").click()
        driver.find_element(By.ID, "files").send_keys("\n".join(str(p) for p in files))
        state = driver.find_element(By.ID, "upload-state")
        _wait(lambda: "上传完成" in state.text or "失败" in state.text, what="上传")
        assert state.text.startswith(f"上传完成：收件箱新增 {len(files)} 个文件"), state.text
        assert len(driver.find_elements(By.CSS_SELECTOR, "#upload-results li.ok")) == len(files)
        for path in files:
            kept = workdir / "inbox" / path.name
            assert kept.read_bytes() == path.read_bytes()
            assert int(kept.stat().st_mtime) == int(path.stat().st_mtime)  # the file's own time came along

        # 重新汇总 as of a fixed day, then read the status table.
        driver.execute_script("document.querySelector('input[name=as_of]').value = arguments[0]", AS_OF.isoformat())
        driver.find_element(By.CSS_SELECTOR, "#collect-form button[type=submit]").click()
        _wait(lambda: driver.find_elements(By.ID, "units"), what="汇总")
        rows = _table(driver, "units")
        assert len(rows) == len(expected)
        for row, (_, sub) in zip(rows, expected.iterrows()):
            assert row[1].split("\n")[0].replace(" 名单外", "") == (sub["单位"] or "（未写单位）")
            assert (row[2], row[6], row[7]) == (sub["状态"], str(sub["错误数"]), str(sub["警告数"]))
        counts = api.counts()
        for tag, key in ((RETURN, RETURN), ("名单外", "名单外单位"), ("逾期", "逾期报送")):
            driver.find_element(By.CSS_SELECTOR, f'[data-filter-status="{tag}"]').click()
            assert len(_table(driver, "units")) == counts[key], tag
            # The demo's one late ledger is a plain file, so its lateness is only 可能 (file time).
            assert counts[key] > 0 or tag == "逾期", tag
            driver.find_element(By.CSS_SELECTOR, f'[data-filter-status="{tag}"]').click()  # again: all
            assert len(_table(driver, "units")) == len(expected)
        driver.find_element(By.CSS_SELECTOR, f'[data-filter-status="{RETURN}"]').click()
        driver.find_element(By.ID, "filter").send_keys("化学")
        assert [r[1] for r in _table(driver, "units")] == ["化学化工学院党委"]
        driver.find_element(By.ID, "filter-clear").click()
        assert len(_table(driver, "units")) == len(expected)
        overview = _screenshot(driver, tmp_path / "serve-overview.png")
        _check_print(driver, tmp_path / "总览.pdf", expected)

        # A unit to send back: its findings, as the API has them.
        unit = expected.loc[expected["状态"] == RETURN, "单位"].iloc[0]
        driver.find_element(By.LINK_TEXT, unit).click()
        _wait(lambda: driver.find_elements(By.ID, "findings"), what="单位页")
        mine = api.findings[api.findings["单位"] == unit]
        findings = _table(driver, "findings")
        assert [(r[0], r[2]) for r in findings] == list(zip(mine["级别"], mine["单元格"]))
        assert driver.find_elements(By.PARTIAL_LINK_TEXT, "下载退回修改件")
        unit_page = _screenshot(driver, tmp_path / "serve-unit.png")

        # 下载: the summary workbook, checked with openpyxl.
        driver.find_element(By.LINK_TEXT, "下载").click()
        driver.find_element(By.LINK_TEXT, "汇总表.xlsx").click()
        summary = _wait(lambda: next((p for p in downloads.glob("*.xlsx")), None), 60, "下载汇总表")
        _wait(lambda: not list(downloads.glob("*.crdownload")), 60, "下载完成")
        wb = openpyxl.load_workbook(summary, read_only=True)
        sheet = wb["提交情况"]
        header = [c.value for c in next(sheet.iter_rows(max_row=1))]
        got = {(r[header.index("单位")] or ""): r[header.index("状态")] for r in sheet.iter_rows(min_row=2, values_only=True)
               if r[header.index("状态")]}
        assert got == {(u or ""): s for u, s in zip(expected["单位"], expected["状态"])}
        assert driver.current_url.startswith(base)
    finally:
        if driver is not None:
            driver.quit()
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=60)
    assert server.returncode == 0, err
    assert "Traceback" not in out + err
    _readable_png(overview)
    _readable_png(unit_page)
