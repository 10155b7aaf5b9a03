"""Self-evaluation reports (自评报告): Word and PDF files recognised for a roster unit.

A document is a unit's report when its file name, the e-mail it came in (subject), or its
text names a roster unit and says 自评/自查/报告. Text is read from .docx with python-docx and
from PDF with pypdf (first pages only: the unit's name is in the title).
"""

from __future__ import annotations

import datetime as dt
import io

from .campaign import Campaign
from .findings import Finding, make_finding
from .inbox import Document
from .text import cn_date, cn_datetime

REPORT_WORDS = ("自评", "自查", "报告")
# The unit and the word 自评 sit in the title: a few pages are enough, and bounded work
# protects us from a 500-page PDF.
MAX_PDF_PAGES = 3
MAX_TEXT_CHARS = 20_000


def document_text(doc: Document) -> str:
    """The leading text of a .docx or PDF ('' when it cannot be read)."""
    try:
        data = doc.read_bytes()
        if doc.format == "docx":
            import docx

            d = docx.Document(io.BytesIO(data))
            parts = [p.text for p in d.paragraphs[:200]]
            return "\n".join(parts)[:MAX_TEXT_CHARS]
        if doc.format == "pdf":
            import logging

            from pypdf import PdfReader

            logging.getLogger("pypdf").setLevel(logging.ERROR)
            reader = PdfReader(io.BytesIO(data))
            texts = []
            for page in reader.pages[:MAX_PDF_PAGES]:
                texts.append(page.extract_text() or "")
            return "\n".join(texts)[:MAX_TEXT_CHARS]
    except Exception:
        return ""
    return ""


def identify_report(doc: Document, campaign: Campaign) -> tuple[str | None, str]:
    """(unit, where it was recognised) or (None, why not)."""
    sources = [("文件名", doc.path.rsplit("/", 1)[-1]), ("邮件主题", doc.subject or "")]
    for where, text in sources:
        if text and any(w in text for w in REPORT_WORDS):
            unit = campaign.find_unit_in(text)
            if unit:
                return unit, where
    body = document_text(doc)
    head = body[:400]
    if body and any(w in body[:2000] for w in REPORT_WORDS):
        unit = campaign.find_unit_in(head) or campaign.find_unit_in(body[:2000])
        if unit:
            return unit, "文档内容"
    # The file name or subject names the unit and the text says it is a report.
    named = campaign.find_unit_in(sources[0][1]) or campaign.find_unit_in(sources[1][1])
    if named and any(w in body[:2000] for w in REPORT_WORDS):
        return named, "文件名与文档内容"
    if not body and doc.format in ("docx", "pdf"):
        return None, "文档内容无法读取，文件名和邮件主题中也没有单位名称与“自评/自查/报告”"
    return None, "文件名、邮件主题和文档内容都没有同时写明名单中的单位和“自评/自查/报告”"


_DOCUMENT_KINDS = {"docx": "Word 文档", "doc": "Word 97-2003 文档", "pdf": "PDF 文档", "rtf": "RTF 文档",
                   "odt": "OpenDocument 文档"}


def _document_kind(doc: Document) -> str:
    return _DOCUMENT_KINDS.get(doc.format, "文档")


def recognise_reports(docs: list[Document], campaign: Campaign, as_of: dt.date | None):
    """Reports per unit, with report.late / report.missing findings and 文件清单 outcomes.

    Returns:
        (info, findings, outcomes): info maps unit -> (path of its latest report, received);
        outcomes maps path -> (unit, 处理结果, 说明).
    """
    found: dict[str, list[Document]] = {}
    outcomes: dict[str, tuple[str, str, str]] = {}
    for doc in docs:
        if doc.kind != "report":
            continue
        unit, why = identify_report(doc, campaign)
        if unit is None:
            outcomes[doc.path] = ("", "已忽略", f"{_document_kind(doc)}，未识别为自评报告：{why}")
            continue
        found.setdefault(unit, []).append(doc)
        outcomes[doc.path] = (unit, "自评报告", f"识别为{unit}的自评报告（依据{why}）")
    findings: list[Finding] = []
    info = {}
    for unit, items in found.items():
        items.sort(key=lambda d: (d.received or dt.datetime.min, d.path))
        latest = items[-1]
        info[unit] = (latest.path, latest.received)
        first = items[0]
        if first.received and first.received.date() > campaign.report_due:
            findings.append(make_finding("report.late", unit=unit, file=first.path,
                                         received=cn_datetime(first.received),
                                         due=cn_date(campaign.report_due)))
        for old in items[:-1]:
            outcomes[old.path] = (unit, "自评报告", outcomes[old.path][2] + "；已有更新的版本")
    if as_of is not None and as_of > campaign.report_due:
        for name in campaign.unit_names:
            if name not in info:
                findings.append(make_finding("report.missing", unit=name, as_of=cn_date(as_of),
                                             due=cn_date(campaign.report_due)))
    return info, findings, outcomes
