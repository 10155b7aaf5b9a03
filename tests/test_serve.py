"""台账工作台 through Starlette's test client: every route, the token, CSRF, uploads, one collect at a time."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import threading
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pytest
from starlette.testclient import TestClient

from ledgerbook.demo import samples
from ledgerbook.collect import collect
from ledgerbook.text import OFFICE_TZ as LOCAL_TZ
from ledgerbook.serve import app as app_module
from ledgerbook.serve.app import create_app
from ledgerbook.serve.security import Keys
from ledgerbook.serve.uploads import UploadLimits, upload_name

PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"
NOW = dt.datetime(2019, 9, 20, 10, 0, tzinfo=LOCAL_TZ)
AS_OF = "2019-09-20"


def _clock() -> dt.datetime:
    return NOW


def _write(campaign, inbox: Path, index: int, name: str, *, sloppy: str | None = None,
           when=dt.datetime(2019, 9, 12, 10, 0)) -> Path:
    spec = samples.clean_ledger(campaign, campaign.units[index], n_rows=3)
    if sloppy:
        spec = samples.SLOPPY[sloppy](spec, campaign)
    path = inbox / name
    samples.write_ledger(spec, campaign, path)
    ts = when.replace(tzinfo=LOCAL_TZ).timestamp()
    os.utime(path, (ts, ts))
    return path


def _bytes(campaign, index: int, sloppy: str | None = None) -> bytes:
    spec = samples.clean_ledger(campaign, campaign.units[index], n_rows=3)
    if sloppy:
        spec = samples.SLOPPY[sloppy](spec, campaign)
    buf = io.BytesIO()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        samples.write_ledger(spec, campaign, Path(tmp) / "x.xlsx")
        buf.write((Path(tmp) / "x.xlsx").read_bytes())
    return buf.getvalue()


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under root (the server's own scratch folder left out) with its bytes."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".ledgerbook" not in p.relative_to(root).parts}


def _small_campaign(root: Path, full) -> None:
    """DIR/campaign.toml with four units of the built-in roster (a round takes a second, not five)."""
    units = "".join(f'''
[[units]]
name = "{u.name}"
email = "{u.email}"
secretary = "{u.secretary}"
''' for u in full.units[:4])
    (root / "campaign.toml").write_text(f'''
[campaign]
institution = "{full.institution}"
title = "{full.title}"
start = {full.start}
ledger_due = {full.ledger_due}
report_due = {full.report_due}
rectification_due = {full.rectification_due}
contact_email = "dwzzb@example.edu.cn"
{units}''', encoding="utf-8")


@pytest.fixture
def workdir(tmp_path, campaign):
    root = tmp_path / "工作"
    inbox = root / "inbox"
    inbox.mkdir(parents=True)
    _small_campaign(root, campaign)
    _write(campaign, inbox, 0, "整顿台账_甲.xlsx")
    _write(campaign, inbox, 1, "整顿台账_乙.xlsx", sloppy="deadlines")
    return root


@pytest.fixture
def roster(workdir):
    from ledgerbook.campaign import load_campaign

    return load_campaign(workdir / "campaign.toml")


def _client(root: Path, keys: Keys | None = None, limits: UploadLimits | None = None, *, logged_in=True, **kw):
    keys = keys or Keys(port=PORT)
    app = create_app(root, keys=keys, port=PORT, clock=_clock, limits=limits, log=lambda line: None)
    cookies = {keys.cookie: keys.token} if logged_in else None
    client = TestClient(app, base_url=BASE, cookies=cookies, **kw)
    client.keys = keys
    client.bench = app.bench
    return client


@pytest.fixture
def client(workdir):
    return _client(workdir)


def _collect(client, **extra):
    return client.post("/collect", data={"csrf": client.keys.csrf, "as_of": AS_OF, **extra}, follow_redirects=False)


@pytest.fixture
def collected(client):
    response = _collect(client)
    assert response.status_code == 303, response.text
    return client


def _upload(client, files: list[tuple[str, bytes]], *, csrf: str | None = "ok", modified: list[str] | None = None,
            json=True):
    fields = []
    if csrf is not None:
        fields.append(("csrf", (None, client.keys.csrf if csrf == "ok" else csrf)))
    for i, (name, data) in enumerate(files):
        if modified:
            fields.append(("modified", (None, modified[i])))
        fields.append(("files", (name, data, "application/octet-stream")))
    headers = {"accept": "application/json"} if json else {}
    return client.post("/upload", files=fields, headers=headers)


class _Table(HTMLParser):
    """The cells' text of one table (by id) of a page."""

    def __init__(self, table_id: str):
        super().__init__()
        self.table_id, self.inside, self.depth = table_id, False, 0
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None
        self.in_body = False

    def handle_starttag(self, tag, attrs):
        if tag == "table" and dict(attrs).get("id") == self.table_id:
            self.inside = True
        elif self.inside and tag == "tbody":
            self.in_body = True
        elif self.inside and self.in_body and tag == "tr":
            self.rows.append([])
        elif self.inside and self.in_body and tag == "td":
            self.cell = []

    def handle_endtag(self, tag):
        if self.inside and tag == "td" and self.cell is not None:
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif self.inside and tag == "table":
            self.inside = False

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def table(html: str, table_id: str) -> list[list[str]]:
    parser = _Table(table_id)
    parser.feed(html)
    return parser.rows


def _chinese_page(response, status: int) -> str:
    assert response.status_code == status, response.text[:500]
    text = response.text
    assert "Traceback" not in text and 'File "' not in text
    assert re.search(r"[\u4e00-\u9fff]", text)
    return text


# --------------------------------------------------------------------------- the door: host and token

PAGES = ["/", "/inbox", "/downloads", "/progress", "/unit/x", "/download/summary", "/download/template",
         "/download/unit-templates", "/download/outbox", "/download/copy/x", "/download/draft/0",
         "/download/file?path=x", "/static/app.css", "/static/app.js", "/nope"]


@pytest.mark.parametrize("path", PAGES)
def test_every_route_needs_the_token(workdir, path):
    anonymous = _client(workdir, logged_in=False)
    text = _chinese_page(anonymous.get(path), 403)
    assert "访问令牌" in text
    wrong = TestClient(anonymous.app, base_url=BASE, cookies={anonymous.keys.cookie: "wrong"})
    assert _chinese_page(wrong.get(path), 403)
    assert _chinese_page(anonymous.post("/collect", data={"csrf": anonymous.keys.csrf}), 403)


def test_token_in_the_address_sets_the_cookie_and_leaves_the_address(workdir):
    anonymous = _client(workdir, logged_in=False)
    keys = anonymous.keys
    first = anonymous.get(f"/inbox?token={keys.token}&x=1", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == "/inbox?x=1"
    cookie = first.headers["set-cookie"]
    assert f"{keys.cookie}={keys.token}" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert anonymous.get("/inbox").status_code == 200  # the cookie now does
    assert anonymous.get(f"/?token={keys.token}").status_code == 200


def test_keys_are_random_and_url_is_loopback():
    a, b = Keys(port=1234), Keys(port=1234)
    assert a.token != b.token and a.csrf != b.csrf and a.token != a.csrf
    assert len(a.token) >= 32
    assert a.url() == f"http://127.0.0.1:1234/?token={a.token}"


def test_other_host_names_are_refused(workdir):
    client = _client(workdir)
    response = client.get("/", headers={"host": f"evil.example:{PORT}"})
    assert "127.0.0.1" in _chinese_page(response, 403)
    assert client.get("/", headers={"host": f"localhost:{PORT}"}).status_code == 200


def test_security_headers_on_every_response(client):
    for response in (client.get("/"), client.get("/static/app.css"), client.get("/nope")):
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"


# --------------------------------------------------------------------------- pages

def test_pages_before_the_first_round(client, workdir):
    text = _chinese_page(client.get("/"), 200)
    assert "尚未汇总" in text and "重新汇总" in text
    for date in ("2019-09-03", "2019-09-13", "2019-10-25", "2019-10-31"):
        assert date in text
    assert "已过 7 天" in text  # the ledger due date, seen on 2019-09-20
    assert "还有 41 天" in text  # rectification due
    assert "尚未汇总" in _chinese_page(client.get("/inbox"), 200)
    downloads = _chinese_page(client.get("/downloads"), 200)
    for where in ("campaign.toml", "inbox/", "汇总表.xlsx", "退回修改/", "发件箱/", "下发模板/"):
        assert where in downloads
    assert client.get("/progress").json() == {"running": False, "done": 0, "total": 0}
    assert "还没有汇总" in _chinese_page(client.get("/unit/甲"), 404)
    for path in ("/download/outbox", "/download/copy/甲", "/download/draft/0", "/download/file?path=a"):
        _chinese_page(client.get(path), 404)
    assert client.get("/static/app.css").headers["content-type"].startswith("text/css")
    assert "找不到" in _chinese_page(client.get("/no/such/page"), 404)
    assert _chinese_page(client.put("/collect"), 405)


def test_overview_shows_what_the_api_returns(collected, workdir, roster):
    campaign = roster
    html = _chinese_page(collected.get("/"), 200)
    api = collect(workdir / "inbox", campaign, as_of=dt.date(2019, 9, 20))
    rows = table(html, "units")
    assert len(rows) == len(api.submissions)
    for row, (_, sub) in zip(rows, api.submissions.iterrows()):
        assert row[1].startswith(sub["单位"])
        assert row[2] == sub["状态"]
        assert row[3] == (sub["文件"] or "")
        assert row[6] == str(sub["错误数"]) and row[7] == str(sub["警告数"])
    counts = api.counts()
    for label, key in (("已通过", "已通过"), ("需退回修改", "需退回修改"), ("未提交", "未提交"), ("名单外", "名单外单位")):
        assert re.search(rf'<span class="n">{counts[key]}</span><span class="label">{label}</span>', html)
    assert "统计截至：2019-09-20" in html
    # The round wrote its outputs into DIR.
    assert (workdir / "汇总表.xlsx").is_file()
    assert sorted(p.name for p in (workdir / "退回修改").glob("*.xlsx")) == [f"退回修改_{campaign.units[1].name}.xlsx"]
    assert len(list((workdir / "发件箱").glob("*.eml"))) >= 1


def test_unit_page_lists_findings_files_and_downloads(collected, workdir, roster):
    campaign = roster
    unit = campaign.units[1].name
    html = _chinese_page(collected.get(f"/unit/{unit}"), 200)
    api = collect(workdir / "inbox", campaign, as_of=dt.date(2019, 9, 20))
    mine = api.findings[api.findings["单位"] == unit]
    findings = table(html, "findings")
    assert len(findings) == len(mine) > 0
    assert [(r[0], r[2], r[3]) for r in findings] == list(zip(mine["级别"], mine["单元格"], mine["说明"]))
    assert table(html, "unit-files")[0][0] == "整顿台账_乙.xlsx"
    copy = collected.get(f"/download/copy/{unit}")
    assert copy.status_code == 200
    assert copy.content == (workdir / "退回修改" / f"退回修改_{unit}.xlsx").read_bytes()
    draft = re.search(r'href="/download/draft/(\d+)"', html)
    eml = collected.get(f"/download/draft/{draft.group(1)}")
    assert eml.status_code == 200 and b"Subject:" in eml.content
    original = collected.get("/download/file", params={"path": "整顿台账_乙.xlsx"})
    assert original.content == (workdir / "inbox" / "整顿台账_乙.xlsx").read_bytes()
    assert "filename*=utf-8''" in original.headers["content-disposition"]
    missing = campaign.units[3].name
    assert "未提交" in _chinese_page(collected.get(f"/unit/{missing}"), 200)
    assert "没有单位" in _chinese_page(collected.get("/unit/不存在的单位"), 404)


def test_downloads(collected, workdir, roster):
    campaign = roster
    summary = collected.get("/download/summary")
    assert summary.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(summary.content), read_only=True)
    assert wb.sheetnames[:2] == ["总览", "提交情况"]
    templates = zipfile.ZipFile(io.BytesIO(collected.get("/download/unit-templates").content))
    assert len(templates.namelist()) == len(campaign.units)
    assert all(n.endswith(".xlsx") for n in templates.namelist())
    master = collected.get("/download/template")
    assert master.status_code == 200 and master.content[:2] == b"PK"
    assert (workdir / "下发模板" / f"附件2_{campaign.form.title}.xlsx").read_bytes() == master.content
    outbox = zipfile.ZipFile(io.BytesIO(collected.get("/download/outbox").content))
    drafts = sorted(p.name for p in collected.bench.result.drafts)
    assert sorted(outbox.namelist()) == drafts and drafts
    page = _chinese_page(collected.get("/downloads"), 200)
    assert "发件箱.zip" in page and f"退回修改_{campaign.units[1].name}.xlsx" in page


def test_templates_already_there_are_handed_out_unchanged(client, workdir, roster):
    campaign = roster
    folder = workdir / "下发模板"
    folder.mkdir()
    mine = folder / f"附件2_{campaign.form.title}.xlsx"
    mine.write_bytes(b"the copy that was sent out")
    assert client.get("/download/template").content == b"the copy that was sent out"
    client.get("/download/unit-templates")
    assert mine.read_bytes() == b"the copy that was sent out"
    assert len(list(folder.glob("整顿台账_*.xlsx"))) == len(campaign.units)


def test_a_zip_member_is_downloaded_from_the_round(client, workdir, campaign):
    (workdir / "inbox" / "两个.zip").write_bytes(samples.gbk_zip({"台账/整顿台账_丙.xlsx": _bytes(campaign, 2)}))
    assert _collect(client).status_code == 303
    member = client.get("/download/file", params={"path": "两个.zip/台账/整顿台账_丙.xlsx"})
    assert member.status_code == 200 and member.content == _bytes(campaign, 2)


def test_no_path_from_a_request_reaches_the_disk(collected):
    for path in ("/download/file?path=../../etc/passwd", "/download/file?path=/etc/passwd",
                 "/download/file?path=inbox/../../../etc/passwd", "/download/copy/../../etc/passwd",
                 "/download/copy/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/unit/..%2F..%2Fetc", "/download/draft/999",
                 "/download/draft/-1", "/static/../../../../etc/passwd", "/static/%2e%2e/%2e%2e/app.py"):
        response = collected.get(path)
        assert response.status_code == 404, path
        assert b"root:" not in response.content and b"import" not in response.content


def test_a_file_outside_dir_is_never_served(collected, workdir, tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    unit = next(iter(collected.bench.result.copies))
    copy = collected.bench.result.copies[unit]
    copy.unlink()
    copy.symlink_to(outside)
    assert collected.get(f"/download/copy/{unit}").status_code == 404


# --------------------------------------------------------------------------- CSRF

def test_collect_needs_the_csrf_token(client, workdir):
    assert "安全校验码" in _chinese_page(client.post("/collect", data={"as_of": AS_OF}), 403)
    assert _chinese_page(client.post("/collect", data={"csrf": "wrong", "as_of": AS_OF}), 403)
    assert _chinese_page(client.post("/collect", data={"csrf": client.keys.token}), 403)  # not the URL token
    assert not (workdir / "汇总表.xlsx").exists()
    by_header = client.post("/collect", data={"as_of": AS_OF}, headers={"x-csrf-token": client.keys.csrf},
                            follow_redirects=False)
    assert by_header.status_code == 303


def test_posts_from_another_origin_are_refused(client, workdir):
    response = client.post("/collect", data={"csrf": client.keys.csrf}, headers={"origin": "http://evil.example"})
    assert "其他网页" in _chinese_page(response, 403)
    assert _chinese_page(client.post("/collect", data={"csrf": client.keys.csrf}, headers={"origin": "null"}), 403)
    ok = client.post("/collect", data={"csrf": client.keys.csrf, "as_of": AS_OF},
                     headers={"origin": f"http://127.0.0.1:{PORT}"}, follow_redirects=False)
    assert ok.status_code == 303


def test_upload_needs_the_csrf_token_before_any_file(client, workdir):
    before = _tree(workdir)
    assert _upload(client, [("a.xlsx", b"x")], csrf=None).status_code == 403
    assert _upload(client, [("a.xlsx", b"x")], csrf="wrong").status_code == 403
    # A token sent after the file is too late: nothing may be written before it is checked.
    late = client.post("/upload", files=[("files", ("a.xlsx", b"x")), ("csrf", (None, client.keys.csrf))],
                       headers={"accept": "application/json"})
    assert late.status_code == 403 and "安全校验码" in late.json()["error"]
    assert _tree(workdir) == before
    assert not list((workdir / ".ledgerbook").glob("upload-*"))


def test_a_bad_date_is_a_chinese_message(client):
    assert "不是日期" in _chinese_page(client.post("/collect", data={"csrf": client.keys.csrf, "as_of": "31/10"}),
                                       400)


# --------------------------------------------------------------------------- uploads

def test_upload_adds_files_and_never_replaces_one(client, workdir, campaign):
    inbox = workdir / "inbox"
    before = (inbox / "整顿台账_甲.xlsx").read_bytes()
    new = _bytes(campaign, 3)
    response = _upload(client, [("整顿台账_甲.xlsx", new), ("整顿台账_甲.xlsx", before), ("新.xlsx", new)],
                       modified=["1568253600000", "", "bad"])
    assert response.status_code == 200, response.text
    saved = response.json()["saved"]
    assert [s["name"] for s in saved] == ["整顿台账_甲_2.xlsx", "", "新.xlsx"]
    assert "另存为" in saved[0]["note"] and "未重复保存" in saved[1]["note"] and saved[2]["note"] == "已保存"
    assert (inbox / "整顿台账_甲.xlsx").read_bytes() == before
    assert (inbox / "整顿台账_甲_2.xlsx").read_bytes() == new
    # The browser's lastModified becomes the file's time (the inbox's received time of a plain file).
    assert (inbox / "整顿台账_甲_2.xlsx").stat().st_mtime == 1568253600
    assert not list((workdir / ".ledgerbook").glob("upload-*"))
    again = _upload(client, [("新.xlsx", new)]).json()["saved"]
    assert again[0]["name"] == "" and "新.xlsx" in again[0]["note"]


def test_upload_without_javascript_shows_the_inbox_page(client, workdir):
    response = _upload(client, [("甲.eml", b"From: a@b.c\r\n\r\nhi")], json=False)
    text = _chinese_page(response, 200)
    assert "甲.eml" in text and "已保存" in text
    assert (workdir / "inbox" / "甲.eml").read_bytes() == b"From: a@b.c\r\n\r\nhi"
    empty = client.post("/upload", files=[("csrf", (None, client.keys.csrf)), ("files", ("", b""))])
    assert empty.status_code == 200


@pytest.mark.parametrize("raw, expected", [
    ("../../etc/passwd", "passwd"),
    ("..\\..\\Windows\\win.ini", "win.ini"),
    ("C:\\Users\\clerk\\桌面\\台账.xlsx", "台账.xlsx"),
    ("..", "上传文件"),
    ("", "上传文件"),
    (".bashrc", "bashrc"),
    ("a/../../b.xlsx", "b.xlsx"),
    ("CON.xlsx", "_CON.xlsx"),
    ("nul", "_nul"),
    ('台账<1>:"2"|?*.xlsx', "台账_1_2_.xlsx"),
    ("tab\there\x00.xlsx", "tab_here_.xlsx"),
    ("台账.xlsx. . ", "台账.xlsx"),
])
def test_upload_names_are_plain_file_names(raw, expected):
    name = upload_name(raw)
    assert name == expected
    assert "/" not in name and "\\" not in name and not name.startswith(".")
    assert not re.search(r'[<>:"|?*\x00-\x1f]', name)


def test_upload_names_are_cut_to_fit_every_file_system():
    name = upload_name("很长的名字" * 100 + ".xlsx")
    assert name.endswith(".xlsx") and len(name.encode()) <= 180


def test_dotdot_names_land_in_the_inbox_and_nowhere_else(client, workdir, tmp_path):
    outside_before = sorted(p.name for p in tmp_path.iterdir())
    response = _upload(client, [("../../逃出.xlsx", b"a"), ("..\\..\\逃出2.xlsx", b"b"), ("/etc/cron.d/x", b"c"),
                                ("inbox/../../../x.eml", b"d")])
    assert response.status_code == 200
    names = [s["name"] for s in response.json()["saved"]]
    assert names == ["逃出.xlsx", "逃出2.xlsx", "x", "x.eml"]
    for name, data in zip(names, (b"a", b"b", b"c", b"d")):
        assert (workdir / "inbox" / name).read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == outside_before
    assert not (workdir / "逃出.xlsx").exists()


def test_an_upload_that_is_too_large_saves_nothing(workdir):
    client = _client(workdir, limits=UploadLimits(file_bytes=1000, total_bytes=10_000, files=3))
    before = _tree(workdir)
    big = _upload(client, [("ok.xlsx", b"x" * 10), ("big.xlsx", b"x" * 1001)])
    assert big.status_code == 413 and "big.xlsx" in big.json()["error"] and "上限" in big.json()["error"]
    many = _upload(client, [(f"{i}.xlsx", b"x") for i in range(4)])
    assert many.status_code == 413 and "一次最多上传 3 个文件" in many.json()["error"]
    total = _upload(client, [(f"{i}.xlsx", b"x" * 900) for i in range(3)] + [("z", b"x" * 9000)])
    assert total.status_code == 413
    html = _upload(client, [("big.xlsx", b"x" * 1001)], json=False)
    assert "上限" in _chinese_page(html, 413)
    assert _tree(workdir) == before
    assert not list((workdir / ".ledgerbook").glob("upload-*"))
    assert _upload(client, [("ok.xlsx", b"x" * 1000)]).status_code == 200


def test_upload_caps_are_the_inbox_limits(monkeypatch):
    from ledgerbook.inbox import limits

    caps = UploadLimits()
    assert (caps.file_bytes, caps.total_bytes, caps.files) == (
        limits.MAX_MEMBER_SIZE, limits.MAX_ARCHIVE_TOTAL, limits.MAX_MEMBERS)
    monkeypatch.setattr(limits, "MAX_MEMBERS", 7)  # read when made, as the inbox reads them
    assert UploadLimits().files == 7


def test_a_cut_off_upload_saves_nothing(client, workdir):
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{client.keys.csrf}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"cut.xlsx\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\nPK\x03\x04 half a file").encode()
    response = client.post("/upload", content=body, headers={
        "content-type": f"multipart/form-data; boundary={boundary}", "accept": "application/json"})
    assert response.status_code == 400 and "没有完成" in response.json()["error"]
    assert not (workdir / "inbox" / "cut.xlsx").exists()
    not_a_form = client.post("/upload", content=b"x", headers={"content-type": "text/plain",
                                                                "x-csrf-token": client.keys.csrf})
    assert "表单格式" in _chinese_page(not_a_form, 400)


# --------------------------------------------------------------------------- one collect at a time

def test_one_collect_at_a_time_and_uploads_meanwhile(client, workdir, monkeypatch):
    started, release = threading.Event(), threading.Event()
    real = app_module.run_round

    def slow_round(*args, **kwargs):
        started.set()
        assert release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(app_module, "run_round", slow_round)
    first: dict = {}
    worker = threading.Thread(target=lambda: first.setdefault("response", _collect(client)))
    worker.start()
    try:
        assert started.wait(30)
        assert client.get("/progress").json()["running"] is True
        second = _collect(client)
        assert "正在汇总" in _chinese_page(second, 409)
        page = _chinese_page(client.get("/"), 200)
        assert "正在汇总" in page  # the button is shown busy
        upload = _upload(client, [("中途.eml", b"From: x@y.z\r\n\r\n")])
        assert upload.status_code == 200 and upload.json()["saved"][0]["name"] == "中途.eml"
    finally:
        release.set()
        worker.join(60)
    assert first["response"].status_code == 303
    assert client.get("/progress").json()["running"] is False
    assert _collect(client).status_code == 303  # the lock was let go


def test_a_failed_round_lets_go_of_the_lock_and_says_why(client, workdir):
    (workdir / "汇总表.xlsx").mkdir()  # something in the way of the summary
    text = _chinese_page(_collect(client), 400)
    assert "汇总表" in text and "文件夹" in text
    (workdir / "汇总表.xlsx").rmdir()
    assert _collect(client).status_code == 303


def test_a_broken_campaign_file_is_a_chinese_page(client, workdir):
    (workdir / "campaign.toml").write_text("[campaign\n", encoding="utf-8")
    # The TOML parser's English never shows: where the error is and what to look for, in Chinese.
    assert "第 1 行第 10 列：节名缺少右方括号" in _chinese_page(client.get("/"), 400)
    assert "格式有误" in _chinese_page(_collect(client), 400)


def test_an_unexpected_error_is_a_chinese_page_and_a_log(client, workdir, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(app_module, "run_round", broken)
    text = _chinese_page(_collect(client), 500)
    assert "内部错误" in text and "boom" not in text
    log = (workdir / ".ledgerbook" / "错误记录.txt").read_text(encoding="utf-8")
    assert "RuntimeError: boom" in log and "Traceback" in log
    assert client.bench.lock.acquire(blocking=False)
    client.bench.lock.release()


def test_pages_use_no_outside_asset():
    package = Path(app_module.__file__).parent
    for path in [*(package / "templates").iterdir(), *(package / "static").iterdir()]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(src|href)=\"(https?:)?//", text), path
        assert "@import" not in text and "url(http" not in text, path


# --------------------------------------------------------------------------- files in the way, 从邮箱收取

def test_a_summary_ledgerbook_did_not_write_is_moved_aside_only_when_asked(client, workdir):
    mine = workdir / "汇总表.xlsx"
    mine.write_bytes(b"the clerk's own workbook")
    refused = _chinese_page(_collect(client), 400)
    assert "--force" in refused and "移入“旧版”后重新汇总" in refused
    assert mine.read_bytes() == b"the clerk's own workbook"
    assert 'name="force" value="1"' in refused and f'name="as_of" value="{AS_OF}"' in refused
    assert _collect(client, force="1").status_code == 303
    kept = [p for p in (workdir / "旧版").rglob("汇总表.xlsx")]
    assert [p.read_bytes() for p in kept] == [b"the clerk's own workbook"]
    assert mine.read_bytes()[:2] == b"PK"
    assert "已移入“旧版”文件夹" in client.get("/").text


def test_no_fetch_button_without_an_imap_section(client):
    page = _chinese_page(client.get("/inbox"), 200)
    assert "从邮箱收取" not in page
    refused = client.post("/fetch", data={"csrf": client.keys.csrf})
    assert "[imap]" in _chinese_page(refused, 400)


def _with_imap(workdir: Path, section: str) -> None:
    path = workdir / "campaign.toml"
    path.write_text(path.read_text(encoding="utf-8") + "\n" + section, encoding="utf-8")


def test_fetch_button_with_an_imap_section(client, workdir, monkeypatch):
    _with_imap(workdir, '[imap]\nhost = "imap.example.edu.cn"\nusername = "dwzzb@example.edu.cn"\n'
                        'password_env = "LEDGERBOOK_TEST_IMAP_PASSWORD"\n')
    monkeypatch.delenv("LEDGERBOOK_TEST_IMAP_PASSWORD", raising=False)
    page = _chinese_page(client.get("/inbox"), 200)
    assert "从邮箱收取" in page and "dwzzb@example.edu.cn" in page and 'type="password"' in page
    monkeypatch.setenv("LEDGERBOOK_TEST_IMAP_PASSWORD", "x")
    assert 'type="password"' not in client.get("/inbox").text  # the password comes from the variable
    assert _chinese_page(client.post("/fetch", data={}), 403)


@pytest.mark.dovecot
def test_fetch_from_a_real_mailbox_then_collect(client, workdir, roster, dovecot, monkeypatch):
    from dovecot_helpers import PASSWORD

    folder = dovecot.new_folder("serve")
    unit = roster.units[2]
    message = samples.email_with_attachments(
        sender=unit.email, to="dwzzb@example.edu.cn", subject=f"{unit.name}菜单式整顿台账",
        date=dt.datetime(2019, 9, 12, 17, 30), body="组织部：附件是我单位的整顿台账。",
        attachments=[(f"整顿台账_{unit.name}.xlsx", _bytes(roster, 2))])
    message = message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    dovecot.append(folder, message, dt.datetime(2019, 9, 12, 17, 31, tzinfo=LOCAL_TZ).timestamp())
    _with_imap(workdir, dovecot.campaign_section(folder=folder, password_env="LEDGERBOOK_TEST_IMAP_PASSWORD"))
    monkeypatch.delenv("LEDGERBOOK_TEST_IMAP_PASSWORD", raising=False)
    monkeypatch.setenv("SSL_CERT_FILE", str(dovecot.cert))  # the test server's own certificate

    wrong = client.post("/fetch", data={"csrf": client.keys.csrf, "password": "not-the-code"})
    assert "Traceback" not in _chinese_page(wrong, 400)
    assert not (workdir / "inbox" / "邮件").exists()

    page = _chinese_page(client.post("/fetch", data={"csrf": client.keys.csrf, "password": PASSWORD}), 200)
    assert "已取回 1 封新邮件" in page
    saved = list((workdir / "inbox" / "邮件").glob("*.eml"))
    assert [p.read_bytes() for p in saved] == [message]
    assert PASSWORD not in page
    again = _chinese_page(client.post("/fetch", data={"csrf": client.keys.csrf, "password": PASSWORD}), 200)
    assert "没有新邮件" in again
    assert list((workdir / "inbox" / "邮件").glob("*.eml")) == saved

    assert _collect(client).status_code == 303
    rows = {r[1]: r[2] for r in table(client.get("/").text, "units")}
    assert rows[unit.name] != "未提交"


def test_a_lateness_known_only_from_a_file_time_shows_as_possible(client, workdir, roster):
    # A plain file received after the due date, with no e-mail and no save time of its own:
    # its lateness rests on the file time alone, so the page says 可能, as 提交情况 does.
    late = workdir / "inbox" / "整顿台账_乙.xlsx"
    when = dt.datetime.combine(roster.ledger_due + dt.timedelta(days=3), dt.time(10)).timestamp()
    os.utime(late, (when, when))
    assert _collect(client).status_code == 303
    unit = roster.units[1].name
    row = next(r for r in table(_chinese_page(client.get("/"), 200), "units") if r[1].startswith(unit))
    assert row[5] == "可能逾期"
    assert "可能逾期报送" in _chinese_page(client.get(f"/unit/{unit}"), 200)
