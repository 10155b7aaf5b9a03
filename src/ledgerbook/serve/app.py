"""台账工作台: the Starlette application behind `ledgerbook serve`.

Server-rendered pages (Jinja2) over the same API as the CLI: a round is one call of
:func:`ledgerbook.workflow.run_round`, and every table on the page is a DataFrame of the
:class:`~ledgerbook.collect.Collection` it returns. The page decides nothing about a ledger; it
shows, links and downloads.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import os
import sys
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import quote

import anyio
import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..errors import LedgerbookError, OverwriteError
from ..tables import LATE, MAYBE_LATE
from ..workflow import RoundResult, run_round
from .security import Guard, Keys
from .uploads import Saved, UploadError, UploadLimits, receive_uploads
from .workdir import WorkDir

PACKAGE = Path(__file__).parent
TEMPLATES = PACKAGE / "templates"
STATIC = PACKAGE / "static"

#: Columns of the units table on 总览, in order (all from 提交情况).
OVERVIEW_COLUMNS = ["单位", "状态", "文件", "收到时间", "逾期", "错误数", "警告数", "联络员", "联系电话"]
#: The unit's own ledger rows shown on its page (from 汇总台账).
UNIT_ROW_COLUMNS = ["序号", "整顿对象", "重点问题", "具体问题", "整顿措施", "责任人", "完成时限原文", "整顿进展"]

_HTTP_MESSAGES = {
    400: "请求有误",
    403: "拒绝访问",
    404: "找不到这个页面（可能是单位名称或文件已不在最近一次汇总中）",
    405: "不支持这种操作",
    409: "操作冲突",
    413: "上传的内容太大",
}


class Busy(LedgerbookError):
    """A round (or a fetch) is already running: one at a time."""


class Refused(LedgerbookError):
    """A request that cannot be carried out as sent (a bad form, an expired page)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def office_now() -> dt.datetime:
    """The current time on the office's clock (UTC+8, whatever the machine's zone)."""
    from ..text import OFFICE_TZ

    return dt.datetime.now(OFFICE_TZ).replace(microsecond=0)


@dataclass
class Progress:
    """How far the running round is (read by the page while it waits)."""

    running: bool = False
    done: int = 0
    total: int = 0

    def update(self, done: int, total: int) -> None:
        self.done, self.total = done, total


@dataclass
class Workbench:
    """The server's state: the folder, the secrets, the last round.

    Attributes:
        work: the working folder.
        keys: the token and CSRF token of this run.
        limits: upload caps.
        clock: the current time (tests pass a fixed one).
        result: the last round's result (None before the first round).
        collected_at: when it was made.
    """

    work: WorkDir
    keys: Keys
    limits: UploadLimits = field(default_factory=UploadLimits)
    clock: Callable[[], dt.datetime] = office_now
    result: RoundResult | None = None
    collected_at: dt.datetime | None = None
    progress: Progress = field(default_factory=Progress)
    lock: threading.Lock = field(default_factory=threading.Lock)
    fetch_lock: threading.Lock = field(default_factory=threading.Lock)
    log: Callable[[str], None] = field(default=lambda line: print(line, file=sys.stderr, flush=True))

    def campaign(self):
        """The campaign of the last round, else the one DIR holds now (built-in when none)."""
        if self.result is not None:
            return self.result.collection.campaign
        from ..campaign import load_campaign

        return load_campaign(self.work.campaign_file)

    def current_campaign(self):
        """The campaign DIR holds now (what the next round and a fetch use)."""
        from ..campaign import load_campaign

        return load_campaign(self.work.campaign_file)

    def mailbox(self) -> dict | None:
        """The mailbox of the campaign's [imap] section, for the 从邮箱收取 button; None without one."""
        imap = self.current_campaign().imap
        if not imap.host:
            return None
        return {"account": imap.username or "", "server": imap.host, "folder": imap.folder,
                "password_set": bool(os.environ.get(imap.password_env)), "password_env": imap.password_env}

    def fetch(self, password: str | None):
        """Take the new messages of the campaign's mailbox into inbox/邮件/ (ledgerbook.fetch)."""
        from ..fetch import fetch

        return fetch(self.current_campaign(), self.work.inbox, password=password)

    def collect(self, as_of: dt.date | None, force: bool = False) -> RoundResult:
        """Run one round (the caller holds the lock); keep and return its result.

        Args:
            as_of: the date to judge overdue measures and missing reports by.
            force: files in the way that ledgerbook did not write (or that were changed since)
                are moved into 旧版/ instead of stopping the round (``--force``).
        """
        campaign = self.current_campaign()
        now = self.clock()
        result = run_round(self.work.inbox, campaign, summary=self.work.summary, as_of=as_of,
                           feedback_dir=self.work.feedback, outbox=self.work.outbox, force=force,
                           now=now.replace(tzinfo=None), progress=self.progress.update)
        self.result, self.collected_at = result, now
        return result


# --------------------------------------------------------------------------- rendering


def _cell(value: object) -> str:
    """A DataFrame value as page text: blanks empty, whole numbers without ".0", times to the minute."""
    import pandas as pd

    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:g}"
    if isinstance(value, dt.datetime):  # pandas Timestamps too
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if value is pd.NA:
        return ""
    return str(value)


def _colour(value: object) -> str:
    """The palette name the summary workbook gives this value (status, level, outcome), or ""."""
    from ..summary import STATUS_COLOURS

    return STATUS_COLOURS.get(str(value), "") if value is not None else ""


def _records(frame, columns: list[str]) -> list[dict]:
    present = [c for c in columns if c in frame.columns]
    return frame[present].to_dict("records")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters["cell"] = _cell
    env.filters["colour"] = _colour
    env.filters["q"] = lambda text: quote(str(text), safe="")
    # 逾期 words come from tables, as the summary's: 是 on e-mail evidence, 可能 on a file time.
    env.globals.update(LATE=LATE, MAYBE_LATE=MAYBE_LATE)
    return env


def _days_left(day: dt.date, today: dt.date) -> str:
    days = (day - today).days
    if days > 0:
        return f"还有 {days} 天"
    if days == 0:
        return "就是今天"
    return f"已过 {-days} 天"


class Pages:
    """Renders the templates with what every page shows (campaign, folder, last round)."""

    def __init__(self, bench: Workbench):
        self.bench = bench
        self.env = _environment()

    def render(self, request: Request | None, name: str, status: int = 200, **context) -> HTMLResponse:
        bench = self.bench
        campaign = context.pop("campaign", None)
        if campaign is None and "error" not in context:
            campaign = bench.campaign()
        html = self.env.get_template(name).render(
            campaign=campaign, csrf=bench.keys.csrf, work=bench.work, result=bench.result,
            collected_at=bench.collected_at, running=bench.progress.running, limits=bench.limits,
            today=bench.clock().date(), path=request.url.path if request is not None else "", **context)
        return HTMLResponse(html, status_code=status)

    def error_html(self, status: int, message: str, force_as_of: str | None = None) -> bytes:
        """The Chinese error page (also used by the door, before any route runs).

        Args:
            status: the HTTP status.
            message: what went wrong and what to do, in Chinese.
            force_as_of: offer to run the round again with force, as of this date ("" for none).
        """
        title = _HTTP_MESSAGES.get(status, "出错了")
        html = self.env.get_template("error.html").render(
            campaign=None, csrf=self.bench.keys.csrf if force_as_of is not None else "", work=self.bench.work,
            result=None, collected_at=None, running=False, limits=self.bench.limits, today=self.bench.clock().date(),
            path="", error=message, title=title, status=status, force_as_of=force_as_of)
        return html.encode("utf-8")


# --------------------------------------------------------------------------- helpers


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


async def _check_csrf(request: Request) -> dict:
    """The form of a POST, once its CSRF token has been checked."""
    bench: Workbench = request.app.state.bench
    try:
        form = await request.form(max_files=0, max_fields=20)
    except Exception:  # a file part, too many fields, a broken body
        raise Refused("表单格式不对，请刷新页面后重试") from None
    token = request.headers.get("x-csrf-token") or form.get("csrf")
    if not bench.keys.csrf_ok(token if isinstance(token, str) else None):
        raise Refused("页面已过期（安全校验码不符），请刷新页面后重试", 403)
    return dict(form)


def _attachment(name: str) -> dict[str, str]:
    return {"content-disposition": f"attachment; filename*=utf-8''{quote(name, safe='')}"}


def _file(bench: Workbench, path: Path | None, name: str | None = None) -> Response:
    """A file of DIR for download; 404 when it is gone or lies outside DIR."""
    if path is None or not path.is_file() or not bench.work.inside(path):
        raise HTTPException(404)
    return FileResponse(path, filename=name or path.name)


def _need_result(bench: Workbench) -> RoundResult:
    if bench.result is None:
        raise HTTPException(404, "还没有汇总：请先在“总览”页点击“重新汇总”")
    return bench.result


def _draft_units(result: RoundResult) -> dict[str, list[tuple[int, Path]]]:
    """unit -> its drafts (index in the round's list of drafts, path), from the round's mail plan."""
    units: dict[str, list[tuple[int, Path]]] = {}
    drafts = result.plan.drafts if result.plan is not None else []
    for index, draft in enumerate(drafts):
        units.setdefault(draft.unit, []).append((index, draft.path))
    return units


def _parse_as_of(text: str | None) -> dt.date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise Refused(f"“{text}”不是日期，请写成 YYYY-MM-DD，如 2019-10-31") from None


# --------------------------------------------------------------------------- pages


async def overview(request: Request) -> Response:
    bench: Workbench = request.app.state.bench
    pages: Pages = request.app.state.pages
    campaign = bench.campaign()
    today = bench.clock().date()
    dates = [(label, day, _days_left(day, today)) for label, day in (
        ("活动开始", campaign.start), ("整顿台账截止", campaign.ledger_due),
        ("自评报告截止", campaign.report_due), ("集中整顿完成", campaign.rectification_due))]
    counts, rows = None, []
    if bench.result is not None:
        from ..tables import MISSING, PASSED, RETURN

        collection = bench.result.collection
        c = collection.counts()
        # (label, number, the tag it filters the table by, palette): the workbook's 总览 boxes.
        counts = [("应报单位", c["应报单位"], "", "blue"), (PASSED, c[PASSED], PASSED, _colour(PASSED)),
                  (RETURN, c[RETURN], RETURN, _colour(RETURN)), (MISSING, c[MISSING], MISSING, _colour(MISSING)),
                  ("名单外", c["名单外单位"], "名单外", "amber"), ("逾期报送", c["逾期报送"], "逾期", "amber")]
        rows = collection.submissions.to_dict("records")
    return pages.render(request, "overview.html", campaign=campaign, nav="overview", dates=dates, counts=counts,
                        rows=rows, columns=OVERVIEW_COLUMNS)


async def inbox_page(request: Request, saved: list[Saved] | None = None, fetched=None) -> Response:
    bench: Workbench = request.app.state.bench
    files = bench.result.collection.files.to_dict("records") if bench.result is not None else []
    return request.app.state.pages.render(request, "inbox.html", nav="inbox", saved=saved, files=files,
                                          mailbox=bench.mailbox(), fetched=fetched)


async def fetch_mail(request: Request) -> Response:
    """从邮箱收取: the campaign's [imap] mailbox into inbox/邮件/, as ``ledgerbook fetch`` does."""
    bench: Workbench = request.app.state.bench
    form = await _check_csrf(request)
    if bench.mailbox() is None:
        raise Refused("活动文件没有 [imap] 节：请先在 campaign.toml 中填写部门邮箱的 IMAP 设置", 400)
    password = form.pop("password", None) or None  # used for this one connection, kept nowhere
    if not bench.fetch_lock.acquire(blocking=False):
        raise Busy("正在从邮箱收取，请等这一次完成")
    try:
        result = await anyio.to_thread.run_sync(bench.fetch, password)
    finally:
        password = None
        bench.fetch_lock.release()
    bench.log(f"从邮箱收取：新邮件 {len(result.taken)} 封，未取回 {len(result.skipped)} 封")
    return await inbox_page(request, fetched=result)


async def upload(request: Request) -> Response:
    bench: Workbench = request.app.state.bench
    try:
        saved = await receive_uploads(request.headers, request.stream(), bench.work, bench.limits,
                                      csrf_ok=bench.keys.csrf_ok, csrf_header=request.headers.get("x-csrf-token"),
                                      now=bench.clock())
    except ClientDisconnect:
        raise UploadError("上传没有完成（连接中断），未保存任何文件，请重新上传") from None
    for s in saved:
        bench.log(f"上传：{s.original} → {s.name or '（未保存）'}（{s.note}）")
    if _wants_json(request):
        return JSONResponse({"saved": [s.__dict__ for s in saved]})
    return await inbox_page(request, saved=saved)


async def collect(request: Request) -> Response:
    bench: Workbench = request.app.state.bench
    form = await _check_csrf(request)
    as_of = _parse_as_of(form.get("as_of"))
    if not bench.lock.acquire(blocking=False):
        raise Busy("正在汇总，请等这一轮完成后再点“重新汇总”")
    bench.progress = Progress(running=True)
    try:
        result = await anyio.to_thread.run_sync(functools.partial(bench.collect, as_of, form.get("force") == "1"))
    except OverwriteError as exc:
        exc.as_of = as_of.isoformat() if as_of else ""  # the error page offers the same round with force
        raise
    finally:
        bench.progress.running = False
        bench.lock.release()
    c = result.collection.counts()
    bench.log(f"汇总完成：已通过 {c['已通过']}，需退回修改 {c['需退回修改']}，未提交 {c['未提交']}；"
              f"汇总表 {result.summary}")
    if _wants_json(request):
        return JSONResponse({"done": True})
    return RedirectResponse("/", status_code=303)


async def progress(request: Request) -> Response:
    p = request.app.state.bench.progress
    return JSONResponse({"running": p.running, "done": p.done, "total": p.total})


async def unit_page(request: Request) -> Response:
    bench: Workbench = request.app.state.bench
    result = _need_result(bench)
    collection = result.collection
    name = request.path_params["name"]
    submissions = collection.submissions
    match = submissions[submissions["单位"] == name]
    if match.empty:
        raise HTTPException(404, f"最近一次汇总中没有单位“{name}”")
    liaison = collection.liaisons[collection.liaisons["单位"] == name].to_dict("records")
    files = collection.files[collection.files["单位"] == name].to_dict("records")
    findings = collection.findings[collection.findings["单位"] == name].to_dict("records")
    rows = _records(collection.rows[collection.rows["单位"] == name], UNIT_ROW_COLUMNS)
    drafts = _draft_units(result).get(name, [])
    return request.app.state.pages.render(
        request, "unit.html", nav="overview", unit=name, sub=match.iloc[0].to_dict(),
        liaison=liaison[0] if liaison else {}, files=files, findings=findings, rows=rows,
        row_columns=[c for c in UNIT_ROW_COLUMNS if c in collection.rows.columns],
        copy=result.copies.get(name), no_copy=result.no_copy.get(name), drafts=drafts,
        documents=collection.documents)


async def downloads_page(request: Request) -> Response:
    bench: Workbench = request.app.state.bench
    from .downloads import master_template_name

    campaign = bench.campaign()
    return request.app.state.pages.render(
        request, "downloads.html", campaign=campaign, nav="downloads", master_name=master_template_name(campaign),
        summary_exists=bench.work.summary.is_file(), layout=bench.work.layout())


# --------------------------------------------------------------------------- downloads


async def download_summary(request: Request) -> Response:
    bench: Workbench = request.app.state.bench
    path = bench.result.summary if bench.result is not None else bench.work.summary
    return _file(bench, path)


async def download_master(request: Request) -> Response:
    from .downloads import master_template

    bench: Workbench = request.app.state.bench
    path = await anyio.to_thread.run_sync(master_template, bench.campaign(), bench.work)
    return _file(bench, path)


async def download_unit_templates(request: Request) -> Response:
    from .downloads import unit_templates, zip_files

    bench: Workbench = request.app.state.bench
    campaign = bench.campaign()
    paths = await anyio.to_thread.run_sync(unit_templates, campaign, bench.work)
    data = await anyio.to_thread.run_sync(zip_files, paths)
    return Response(data, media_type="application/zip", headers=_attachment("各单位专用模板.zip"))


async def download_outbox(request: Request) -> Response:
    from .downloads import zip_files

    bench: Workbench = request.app.state.bench
    result = _need_result(bench)
    paths = [p for p in result.drafts if p.is_file() and bench.work.inside(p)]
    if not paths:
        raise HTTPException(404, "最近一次汇总没有生成邮件草稿")
    stamp = (bench.collected_at or bench.clock()).strftime("%Y%m%d_%H%M")
    data = await anyio.to_thread.run_sync(zip_files, paths)
    return Response(data, media_type="application/zip", headers=_attachment(f"发件箱_{stamp}.zip"))


async def download_copy(request: Request) -> Response:
    bench: Workbench = request.app.state.bench
    return _file(bench, _need_result(bench).copies.get(request.path_params["name"]))


async def download_draft(request: Request) -> Response:
    bench: Workbench = request.app.state.bench
    drafts = _need_result(bench).drafts
    index = request.path_params["index"]
    return _file(bench, drafts[index] if 0 <= index < len(drafts) else None)


async def download_file(request: Request) -> Response:
    """A file of the inbox as the last round found it (a plain file, a zip member, an attachment)."""
    bench: Workbench = request.app.state.bench
    doc = _need_result(bench).collection.documents.get(request.query_params.get("path", ""))
    if doc is None:
        raise HTTPException(404)
    name = Path(doc.path).name
    if doc.data is not None:
        return Response(doc.data, media_type="application/octet-stream", headers=_attachment(name))
    return _file(bench, Path(doc.fs_path) if doc.fs_path else None, name)


# --------------------------------------------------------------------------- errors


def _error_response(request: Request, status: int, message: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": message}, status_code=status)
    pages: Pages = request.app.state.pages
    return HTMLResponse(pages.error_html(status, message), status_code=status)


async def http_error(request: Request, exc: HTTPException) -> Response:
    detail = exc.detail if exc.detail and exc.detail != _default_phrase(exc.status_code) else ""
    return _error_response(request, exc.status_code, detail or _HTTP_MESSAGES.get(exc.status_code, "出错了"))


def _default_phrase(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


async def ledgerbook_error(request: Request, exc: LedgerbookError) -> Response:
    status = getattr(exc, "status", 409 if isinstance(exc, Busy) else 400)
    if isinstance(exc, OverwriteError) and not _wants_json(request):
        # The CLI's way out (--force) as a button: the file in the way goes into 旧版/, kept.
        pages: Pages = request.app.state.pages
        return HTMLResponse(pages.error_html(status, str(exc), force_as_of=getattr(exc, "as_of", "")),
                            status_code=status)
    return _error_response(request, status, str(exc))


async def internal_error(request: Request, exc: Exception) -> Response:
    bench: Workbench = request.app.state.bench
    where = _log_exception(bench, exc)
    return _error_response(request, 500, f"内部错误（{type(exc).__name__}），操作没有完成。详细记录已写入 {where}，"
                                         f"请把它发给维护人员")


def _log_exception(bench: Workbench, exc: BaseException) -> Path:
    log = bench.work.scratch / "错误记录.txt"
    try:
        log.parent.mkdir(exist_ok=True)
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"--- {bench.clock().isoformat()}\n")
            fh.write("".join(traceback.format_exception(exc)))
    except OSError:
        pass
    bench.log(f"内部错误（{type(exc).__name__}），详见 {log}")
    return log


class _Quiet:
    """Outermost layer: an exception Starlette re-raises after its 500 page is not shown again
    as a traceback on the console (it is in the error log)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        try:
            await self.app(scope, receive, send)
        except Exception:  # already answered with the Chinese 500 page and logged
            if scope["type"] != "http":
                raise


# --------------------------------------------------------------------------- the app


def create_app(directory: str | Path, *, keys: Keys | None = None, port: int = 8765,
               clock: Callable[[], dt.datetime] | None = None, limits: UploadLimits | None = None,
               log: Callable[[str], None] | None = None):
    """The ASGI application for one working folder.

    Args:
        directory: DIR (created with its inbox when missing).
        keys: the token and CSRF token (new random ones by default).
        port: the port it will be served on (part of the allowed Host and of the cookie).
        clock: the current time, aware (default: the office clock); fixed in tests.
        limits: upload caps (default: the inbox's limits).
        log: where the one-line console messages go (default: stderr).

    Returns:
        The application (the Starlette app, wrapped by the token guard); its ``bench``
        attribute holds the state (folder, last round).

    Raises:
        WorkDirError: DIR cannot be used.
    """
    bench = Workbench(work=WorkDir.open(directory), keys=keys or Keys(port=port), limits=limits or UploadLimits(),
                      clock=clock or office_now)
    if log is not None:
        bench.log = log
    routes = [
        Route("/", overview),
        Route("/inbox", inbox_page),
        Route("/upload", upload, methods=["POST"]),
        Route("/collect", collect, methods=["POST"]),
        Route("/fetch", fetch_mail, methods=["POST"]),
        Route("/progress", progress),
        Route("/unit/{name:path}", unit_page),
        Route("/downloads", downloads_page),
        Route("/download/summary", download_summary),
        Route("/download/template", download_master),
        Route("/download/unit-templates", download_unit_templates),
        Route("/download/outbox", download_outbox),
        Route("/download/copy/{name:path}", download_copy),
        Route("/download/draft/{index:int}", download_draft),
        Route("/download/file", download_file),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={
        HTTPException: http_error, LedgerbookError: ledgerbook_error, Exception: internal_error})
    app.state.bench = bench
    app.state.pages = Pages(bench)
    guarded = Guard(_Quiet(app), bench.keys, lambda status, message: (
        b"text/html; charset=utf-8", app.state.pages.error_html(status, message)))
    guarded.bench = bench
    return guarded
