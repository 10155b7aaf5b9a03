"""Builders of hostile workbooks and helpers shared by the hostile suite.

Every hostile file is made in the test that uses it (on ``tmp_path``) from a valid ledger
written by :mod:`ledgerbook.samples`: XML parts are swapped or damaged inside a re-zipped
copy, huge sheets are streamed into the zip chunk by chunk so nothing big is held in memory.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import resource
import shutil
import stat
import zipfile
from contextlib import contextmanager
from pathlib import Path

import pytest

from peer_files import PEER_FILES

MB = 1024 * 1024
#: Office's limits: what a hostile sheet may claim.
EXCEL_ROWS = 1_048_576
EXCEL_COLS = 16_384
#: Every outcome 文件清单 may give (spec §5, plus 已展开 for opened containers).
OUTCOMES = {"采用", "已被替代", "重复", "无法识别", "无法读取", "已忽略", "自评报告", "已展开"}
#: The start of /etc/passwd: it must never show up in anything collect() returns.
PASSWD_SENTINEL = "root:x:0:0"


# --------------------------------------------------------------------------- valid ledgers

def ledger_bytes(campaign, unit_index: int, seed: int = 0, tmp: Path | None = None, **kwargs) -> bytes:
    """The bytes of a correct returned ledger of ``campaign.units[unit_index]``."""
    from ledgerbook.demo.samples import clean_ledger

    spec = clean_ledger(campaign, campaign.units[unit_index], seed=seed, **kwargs)
    return spec_bytes(spec, campaign, tmp)


def spec_bytes(spec, campaign, tmp: Path | None = None) -> bytes:
    """Write a LedgerSpec with samples.write_ledger and return the bytes."""
    import tempfile

    from ledgerbook.demo.samples import write_ledger

    with tempfile.TemporaryDirectory(dir=tmp) as d:
        path = Path(d) / "ledger.xlsx"
        write_ledger(spec, campaign, path)
        return stable(path.read_bytes())


def stable(data: bytes) -> bytes:
    """The package with its creation/modification times fixed, so the same ledger is the same
    bytes on every run (hashes, duplicates and byte offsets stay put)."""
    core = zip_members(data).get("docProps/core.xml")
    if core is None:
        return data
    core = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>2019-09-10T08:00:00Z", core)
    return rezip(data, replace={"docProps/core.xml": core})


# --------------------------------------------------------------------------- zip surgery

def zip_members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def rezip(data: bytes, replace: dict[str, bytes] | None = None, drop: tuple[str, ...] = (),
          add: dict[str, bytes] | None = None) -> bytes:
    """A copy of the package ``data`` with members replaced, dropped or added (a valid zip).
    Member dates are kept (added members get a fixed one): the same input gives the same bytes."""
    replace = replace or {}

    def entry(name: str, when: tuple) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=when)
        info.compress_type = zipfile.ZIP_DEFLATED
        return info

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename in drop:
                continue
            body = replace.get(info.filename)
            dst.writestr(entry(info.filename, info.date_time), src.read(info) if body is None else body)
        for name, body in (add or {}).items():
            dst.writestr(entry(name, (2019, 9, 10, 8, 0, 0)), body)
    return out.getvalue()


def with_content_type(data: bytes, old: bytes, new: bytes) -> bytes:
    types = zip_members(data)["[Content_Types].xml"]
    return rezip(data, replace={"[Content_Types].xml": types.replace(old, new)})


def first_sheet_xml(data: bytes) -> bytes:
    return zip_members(data)["xl/worksheets/sheet1.xml"]


# --------------------------------------------------------------------------- XML bombs

BILLION_LAUGHS = (
    b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
               for i in range(1, 10))
    + b"]>"
)


def with_doctype(xml: bytes, doctype: bytes, use: bytes | None = None) -> bytes:
    """``xml`` with ``doctype`` inserted after the XML declaration; ``use`` (an entity
    reference) replaces the first text node of a <t> or <v> element when given."""
    decl_end = xml.index(b"?>") + 2 if xml.startswith(b"<?xml") else 0
    out = xml[:decl_end] + doctype + xml[decl_end:]
    if use is not None:
        out = re.sub(rb"<t([^>]*)>[^<]*</t>", lambda m: b"<t" + m.group(1) + b">" + use + b"</t>", out, count=1)
    return out


def billion_laughs_workbook(valid: bytes) -> bytes:
    """billion laughs in xl/workbook.xml (the sheet name is the bomb)."""
    members = zip_members(valid)
    wb = with_doctype(members["xl/workbook.xml"], BILLION_LAUGHS)
    wb = re.sub(rb'(<sheet\b[^>]*?name=")[^"]*(")', rb"\1&lol9;\2", wb, count=1)
    return rezip(valid, replace={"xl/workbook.xml": wb})


def billion_laughs_sheet(valid: bytes) -> bytes:
    """billion laughs in the ledger sheet part and the shared strings (a cell is the bomb)."""
    members = zip_members(valid)
    sheet = with_doctype(members["xl/worksheets/sheet1.xml"], BILLION_LAUGHS)
    sheet = sheet.replace(b"</sheetData>", b'<row r="9999"><c r="B9999" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData>', 1)
    strings = with_doctype(members["xl/sharedStrings.xml"], BILLION_LAUGHS, use=b"&lol9;")
    return rezip(valid, replace={"xl/worksheets/sheet1.xml": sheet, "xl/sharedStrings.xml": strings})


def external_entity(valid: bytes, target: str = "file:///etc/passwd") -> bytes:
    """An external entity (XXE) used in the shared strings, the ledger sheet and the workbook."""
    doctype = b'<!DOCTYPE x [<!ENTITY xxe SYSTEM "' + target.encode() + b'">]>'
    members = zip_members(valid)
    strings = with_doctype(members["xl/sharedStrings.xml"], doctype, use=b"&xxe;")
    sheet = with_doctype(members["xl/worksheets/sheet1.xml"], doctype)
    sheet = sheet.replace(b"</sheetData>", b'<row r="9999"><c r="B9999" t="inlineStr"><is><t>&xxe;</t></is></c></row></sheetData>', 1)
    return rezip(valid, replace={"xl/sharedStrings.xml": strings, "xl/worksheets/sheet1.xml": sheet})


def external_entity_in_workbook(valid: bytes, target: str = "file:///etc/passwd") -> bytes:
    doctype = b'<!DOCTYPE x [<!ENTITY xxe SYSTEM "' + target.encode() + b'">]>'
    members = zip_members(valid)
    wb = with_doctype(members["xl/workbook.xml"], doctype)
    wb = re.sub(rb'(<sheet\b[^>]*?name=")[^"]*(")', rb"\1&xxe;\2", wb, count=1)
    return rezip(valid, replace={"xl/workbook.xml": wb})


# --------------------------------------------------------------------------- huge sheets

def col_letters(n: int) -> str:
    """0-based column index -> Excel letters (0 -> A, 16383 -> XFD)."""
    out = ""
    n += 1
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def grown_sheet_xlsx(valid: bytes, path: Path, extra_rows, dimension: str | None = None) -> Path:
    """Write to ``path`` a copy of ``valid`` whose ledger sheet gets ``extra_rows`` (an iterable
    of XML byte chunks) appended to its sheetData, streamed: nothing big is held in memory."""
    sheet = first_sheet_xml(valid)
    head, tail = sheet.split(b"</sheetData>", 1)
    if dimension is not None:
        head = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="' + dimension.encode() + b'"/>', head)
    with zipfile.ZipFile(io.BytesIO(valid)) as src, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as dst:
        for info in src.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                dst.writestr(info, src.read(info))
                continue
            out = zipfile.ZipInfo(info.filename, date_time=info.date_time)  # streamed, not buffered
            out.compress_type = zipfile.ZIP_DEFLATED
            with dst.open(out, "w", force_zip64=True) as fh:
                fh.write(head)
                for chunk in extra_rows:
                    fh.write(chunk)
                fh.write(b"</sheetData>" + tail)
    return path


def million_rows(first: int, last: int = EXCEL_ROWS, batch: int = 20_000):
    """One junk number in column L (right of the table) on every row from ``first`` to ``last``."""
    for start in range(first, last + 1, batch):
        yield b"".join(b'<row r="%d"><c r="L%d"><v>7</v></c></row>' % (r, r)
                       for r in range(start, min(start + batch, last + 1)))


def wide_rows(first: int, n_rows: int, width: int = EXCEL_COLS, start_col: int = 11):
    """``n_rows`` rows of junk numbers from column L (right of the table) to XFD."""
    letters = [col_letters(c).encode() for c in range(start_col, width)]
    for r in range(first, first + n_rows):
        rb = str(r).encode()
        yield b'<row r="' + rb + b'">' + b"".join(
            b'<c r="' + letter + rb + b'"><v>1</v></c>' for letter in letters) + b"</row>"


# --------------------------------------------------------------------------- inbox helpers

def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under ``root`` (not following links): bytes hash, size, mode, mtime."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            p = Path(dirpath) / name
            st = os.lstat(p)
            digest = ""
            if stat.S_ISREG(st.st_mode) and os.access(p, os.R_OK):
                digest = hashlib.sha256(p.read_bytes()).hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                digest = "->" + os.readlink(p)
            out[p.relative_to(root).as_posix()] = (digest, st.st_size, st.st_mode, st.st_mtime_ns)
    return out


@contextmanager
def read_only_tree(root: Path):
    """Make every folder and file under ``root`` read-only for the duration (restored after)."""
    modes = {}
    paths = [root] + [Path(d) / n for d, ds, fs in os.walk(root) for n in ds + fs]
    for p in paths:
        if p.is_symlink():
            continue
        modes[p] = os.lstat(p).st_mode
    try:
        for p, mode in modes.items():
            os.chmod(p, stat.S_IMODE(mode) & ~0o222)
        yield
    finally:
        for p, mode in modes.items():
            os.chmod(p, stat.S_IMODE(mode))


def inbox_entries(root: Path) -> set[str]:
    """Every file, symlink and special file under ``root`` (walked without following links)."""
    out = set()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + [d for d in dirnames if (Path(dirpath) / d).is_symlink()]:
            out.add((Path(dirpath) / name).relative_to(root).as_posix())
    return out


def all_text(collection) -> str:
    """Every string the Collection holds (all tables, ledgers' values, findings, notes)."""
    parts = []
    for frame in (collection.files, collection.submissions, collection.rows, collection.findings,
                  collection.liaisons, collection.by_problem.reset_index()):
        for value in frame.astype(str).to_numpy().ravel():
            parts.append(str(value))
        parts.extend(map(str, frame.columns))
    for ledger in collection.ledgers.values():
        parts.append(repr(ledger.fields))
        parts.append(repr(ledger.rows))
        parts.append(repr(ledger.marker))
    for f in collection.finding_list:
        parts.append(repr(f))
    for doc in collection.documents.values():
        parts.append(doc.note)
    return "\n".join(parts)


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def file_rows(collection) -> dict[str, dict]:
    """文件清单 as {文件: row}, asserting each path is listed once."""
    files = collection.files
    assert files["文件"].is_unique, files["文件"][files["文件"].duplicated()].tolist()
    return {row["文件"]: row for row in files.to_dict("records")}


def copy_peer_files(dest: Path) -> list[str]:
    if not PEER_FILES.is_dir():
        pytest.skip(f"{PEER_FILES} is not available")
    names = sorted(p.name for p in PEER_FILES.iterdir() if p.is_file() and p.name != "README.md")
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copyfile(PEER_FILES / name, dest / name)
    return names


@pytest.fixture(scope="session")
def hb():
    """The builders and helpers of this file, for the tests (a conftest is not importable by
    name: tests/conftest.py is also called ``conftest``)."""
    import types

    return types.SimpleNamespace(**{k: v for k, v in globals().items() if not k.startswith("__")})


def put_cell(sheet_xml: bytes, ref: str, cell_xml: str) -> bytes:
    """Replace the <c r="ref"> element of a sheet part by ``cell_xml`` (the cell must exist)."""
    pattern = re.compile(rb'<c r="' + ref.encode() + rb'"(?:[^>]*?/>|[^>]*?>.*?</c>)', re.S)
    out, n = pattern.subn(cell_xml.encode(), sheet_xml, count=1)
    assert n == 1, f"no cell {ref}"
    return out


def with_real_formulas(valid: bytes) -> bytes:
    """A ledger whose 备注 cell K7 holds a real formula (HYPERLINK, with a cached value) and
    K8 a DDE-style one: what a hostile unit could send back."""
    sheet = first_sheet_xml(valid)
    sheet = put_cell(sheet, "K7", '<c r="K7" t="str"><f>HYPERLINK("http://evil.example","点击查看")</f><v>点击查看</v></c>')
    sheet = put_cell(sheet, "K8", "<c r=\"K8\" t=\"str\"><f>cmd|' /C calc'!A0</f><v>0</v></c>")
    return rezip(valid, replace={"xl/worksheets/sheet1.xml": sheet})


# --------------------------------------------------------------------------- isolated runs

_CHILD = r"""
import json, os, resource, sys, time
from ledgerbook.campaign import default_campaign
from ledgerbook.collect import collect

def vm_size():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return None

campaign = default_campaign()
collect(sys.argv[2], campaign, workers=1)          # warm-up: every lazy import done
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
size = vm_size()
if size is not None:                               # a runaway allocation fails instead of swapping
    limit = size + int(sys.argv[3]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
started = time.perf_counter()
col = collect(sys.argv[1], campaign, workers=1)
elapsed = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({
    "seconds": elapsed, "rss_delta_mb": peak - base,
    "files": col.files[["文件", "处理结果", "说明", "格式"]].to_dict("records"),
    "findings": col.findings[["代码", "级别", "单位", "文件", "说明"]].to_dict("records"),
    "submissions": col.submissions[["单位", "状态", "文件", "问题条数"]].to_dict("records"),
}, ensure_ascii=False, default=str))
"""


def collect_isolated(inbox: Path, warm_inbox: Path, limit_mb: int = 2048, timeout: int = 120) -> dict:
    """Run ``collect(inbox)`` in a fresh interpreter and return what it found, its time and the
    growth of its peak RSS (after a warm-up collect of ``warm_inbox``).

    A separate process measures memory exactly (calamine's Rust allocations are invisible to
    tracemalloc) and keeps a hostile file that aborts the interpreter (a failed allocation in
    Rust aborts the process) from taking the test session down with it. The child's address
    space is limited to ``limit_mb`` above its size after the warm-up.
    """
    import json
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", _CHILD, str(inbox), str(warm_inbox), str(limit_mb)],
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "RUST_BACKTRACE": "0"})
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-6:])
        pytest.fail(f"collect() died in the child process (exit status {proc.returncode}):\n{tail}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- other formats

def ledger_table(spec, form) -> list[list[str]]:
    """A ledger as a plain table (unit block, header, rows) for HTML and CSV exports."""
    import datetime as dt

    def text(value):
        return f"{value:%Y-%m-%d}" if isinstance(value, (dt.date, dt.datetime)) else str(value)

    keys = [c.key for c in form.columns]
    rows = [["填报单位", spec.unit, "第一责任人", text(spec.secretary)],
            ["联络员", text(spec.liaison), "联系电话", text(spec.phone), "QQ号码", text(spec.qq)],
            [c.label for c in form.columns]]
    for i, row in enumerate(spec.rows, 1):
        values = row.values()
        rows.append([str(i)] + [text(values[k]) for k in keys[1:]])
    return rows


def html_export(table: list[list[str]]) -> bytes:
    """What a web system exports as "台账.xls": an HTML table (UTF-8)."""
    import html

    body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>" for row in table)
    return ("<html><head><meta http-equiv='Content-Type' content='text/html; charset=utf-8'></head>"
            f"<body><table border='1'>{body}</table></body></html>").encode("utf-8")


def csv_export(table: list[list[str]], encoding: str = "gbk") -> bytes:
    import csv

    buf = io.StringIO()
    csv.writer(buf).writerows(table)
    return buf.getvalue().encode(encoding)


def macro_workbook(valid: bytes) -> bytes:
    """``valid`` turned into an .xlsm: a VBA project part and the macro-enabled content type."""
    vba = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
           + b'Attribute VB_Name = "Module1"\r\nSub AutoOpen()\r\nShell "calc.exe"\r\nEnd Sub\r\n')
    types = zip_members(valid)["[Content_Types].xml"]
    types = types.replace(b"spreadsheetml.sheet.main+xml", b"ms-excel.sheet.macroEnabled.main+xml")
    types = types.replace(b"</Types>", b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>')
    rels = zip_members(valid)["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>",
        b'<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" '
        b'Target="vbaProject.bin"/></Relationships>')
    return rezip(valid, replace={"[Content_Types].xml": types, "xl/_rels/workbook.xml.rels": rels},
                 add={"xl/vbaProject.bin": vba})


def ods_document(table_xml: str, sheet: str = "整顿台账") -> bytes:
    """A minimal .ods whose one table holds ``table_xml`` (rows in ODF markup)."""
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content '
               'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
               f'<office:body><office:spreadsheet><table:table table:name="{sheet}">{table_xml}'
               '</table:table></office:spreadsheet></office:body></office:document-content>')
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                '<manifest:file-entry manifest:full-path="/" '
                'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                '</manifest:manifest>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", compress_type=zipfile.ZIP_STORED)
        zf.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def ods_cell(text: str) -> str:
    from xml.sax.saxutils import escape

    return f'<table:table-cell office:value-type="string"><text:p>{escape(text)}</text:p></table:table-cell>'
