"""Real spreadsheets written by other programs (/work/shared/peer-files, see its README).

None is a ledger: each must be read or reported (file.unreadable / file.not_ledger), never
crash, and cost little time and memory, both through collect() and one by one through
read_ledger() with the format the inbox sniffed.
"""

from __future__ import annotations

import re
import time

import pytest

from ledgerbook.collect import collect
from ledgerbook.inbox import scan_inbox
from ledgerbook.reader import read_ledger
from peer_files import PEER_FILES, peer_file

HAN = re.compile(r"[\u4e00-\u9fff]")
ENCRYPTED = {"calamine__pass_protected.xlsx", "calamine__pass_protected.xlsb", "calamine__pass_protected.ods",
             "calamine__issue_385.xls", "excelize__encryptAES.xlsx", "excelize__encryptSHA1.xlsx",
             "xlsx-populate__encrypted_input.xlsx"}
ALLOWED = {"无法读取", "无法识别", "已忽略", "采用", "已展开"}
PEER_NAMES = sorted(p.name for p in PEER_FILES.iterdir() if p.name != "README.md") if PEER_FILES.is_dir() else []


@pytest.fixture(scope="module")
def peer_inbox(tmp_path_factory, hb):
    root = tmp_path_factory.mktemp("peers") / "inbox"
    names = hb.copy_peer_files(root)
    assert len(names) == 59
    return root


@pytest.fixture(scope="module")
def peer_collection(peer_inbox, campaign, hb):
    before = hb.snapshot(peer_inbox)
    started = time.perf_counter()
    with hb.read_only_tree(peer_inbox):
        col = collect(peer_inbox, campaign, workers=1)
    elapsed = time.perf_counter() - started
    assert hb.snapshot(peer_inbox) == before
    return col, elapsed


def test_every_peer_file_listed_once_with_an_outcome(peer_collection, peer_inbox, hb):
    col, elapsed = peer_collection
    assert elapsed < 20, f"{elapsed:.1f} s"
    rows = hb.file_rows(col)
    assert set(rows) == set(PEER_NAMES)
    for name, row in rows.items():
        assert row["处理结果"] in ALLOWED, (name, row["处理结果"])
        if row["处理结果"] != "采用":
            assert row["说明"] and HAN.search(row["说明"]), (name, row["说明"])


def test_encrypted_peer_files_are_unreadable_and_say_password(peer_collection):
    col, _ = peer_collection
    by_name = col.files.set_index("文件")
    for name in ENCRYPTED:
        assert by_name.loc[name, "处理结果"] == "无法读取", name
        assert "密码" in by_name.loc[name, "说明"], (name, by_name.loc[name, "说明"])


def test_unreadable_peer_files_have_a_finding(peer_collection):
    col, _ = peer_collection
    outcomes = dict(zip(col.files["文件"], col.files["处理结果"]))
    reported = set(col.findings["文件"])
    for name, result in outcomes.items():
        if result in ("无法读取", "无法识别"):
            assert name in reported, name
    codes = set(col.findings[col.findings["文件"].isin(outcomes)]["代码"])
    assert codes <= {"file.unreadable", "file.not_ledger", "file.layout_changed", "file.layout_broken", "file.late",
                     "file.duplicate", "file.superseded"}, codes


def test_ods_rows_repeated_999999999_is_fast_and_small(tmp_path, campaign, hb):
    """calamine issue 594: number-rows-repeated="999999999" in a 1.3 KB file."""
    import shutil
    import tracemalloc

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copyfile(peer_file("calamine__issue_594_dos.ods"), inbox / "dos.ods")
    before = hb.peak_rss_mb()
    tracemalloc.start()
    started = time.perf_counter()
    try:
        col = collect(inbox, campaign, workers=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 5
    assert peak < 50 * hb.MB
    assert hb.peak_rss_mb() - before < 300
    [row] = col.files.to_dict("records")
    assert row["处理结果"] in ("无法读取", "无法识别") and HAN.search(row["说明"])


@pytest.fixture(scope="module")
def sniffed(peer_inbox):
    return {d.path: d for d in scan_inbox(peer_inbox)}


@pytest.mark.parametrize("name", PEER_NAMES)
def test_read_ledger_on_each_peer_file(name, sniffed, form):
    doc = sniffed[name]
    data = doc.read_bytes()
    started = time.perf_counter()
    ledger = read_ledger(data, name, doc.format, form)
    assert time.perf_counter() - started < 5
    codes = {f.code for f in ledger.findings}
    if doc.kind == "ledger":
        assert ledger.readable or codes & {"file.unreadable", "file.not_ledger", "file.layout_changed", "file.layout_broken"}, codes
    else:  # the inbox already refused it: the reader must refuse it too, quietly
        assert not ledger.readable and codes & {"file.unreadable", "file.not_ledger"}, (doc.format, codes)
    for f in ledger.findings:
        assert HAN.search(f.message), f
    if name in ENCRYPTED:
        assert doc.kind == "unreadable" and doc.encrypted, (doc.kind, doc.note)
