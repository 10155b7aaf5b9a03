"""What a printout shows, read back from the PDF LibreOffice makes of a workbook.

A plain module (not conftest) so tests anywhere can import it by name. pdfminer gives each
glyph its size on the page (the font size times the text matrix, so the print scale is in
it) and its box; that is all these checks need:

* the paper is A4 or A3;
* body text is at least 9 pt, header and footer text at least 8 pt;
* every text of a printed cell appears whole on the pages of its sheet: LibreOffice does not
  grow rows for wrapped text and draws only the lines that fit, so a row too low for its
  text loses its last lines (and a number too wide for its column prints as ###);
* no glyph is drawn outside the clip LibreOffice sets around a cell whose text does not fit
  (it draws the lines anyway and clips them away: the text is in the PDF but not on paper);
* no two glyphs overprint each other, and no page is blank.

Pages are told apart by the sheet name that the set-up prints at the right of the header.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils import range_boundaries
from pdfminer.converter import PDFPageAggregator
from pdfminer.layout import LTChar
from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
from pdfminer.pdfpage import PDFPage
from pdfminer.utils import apply_matrix_pt

MIN_BODY_PT = 9.0
MIN_HEADER_FOOTER_PT = 8.0
PAPERS = {"A4": (595.3, 841.9), "A3": (841.9, 1190.6)}
# Header and footer sit in the top and bottom margins (0.6 in, ledgerbook.paper.MARGINS).
BAND_PT = 0.5 * 72

_SPACE = re.compile(r"\s+")


@dataclass
class Page:
    number: int
    width: float
    height: float
    header: str = ""
    body: list[LTChar] = field(default_factory=list)
    band: list[LTChar] = field(default_factory=list)

    @property
    def paper(self) -> str | None:
        size = sorted((self.width, self.height))
        for name, (w, h) in PAPERS.items():
            if abs(size[0] - w) < 2 and abs(size[1] - h) < 2:
                return name
        return None

    def text(self) -> str:
        return "".join(c.get_text() for c in self.body)


class _ClipInterpreter(PDFPageInterpreter):
    """pdfminer's interpreter, keeping the clip rectangle (pdfminer itself ignores clipping)."""

    def init_state(self, ctm) -> None:
        super().init_state(ctm)
        self.clip: tuple[float, float, float, float] | None = None
        self.clip_stack: list = []
        self.clipping = False

    def do_q(self) -> None:
        self.clip_stack.append(self.clip)
        super().do_q()

    def do_Q(self) -> None:
        if self.clip_stack:
            self.clip = self.clip_stack.pop()
        super().do_Q()

    def do_W(self) -> None:
        self.clipping = True

    def do_W_a(self) -> None:
        self.clipping = True

    def do_n(self) -> None:
        if self.clipping and self.curpath:
            points = [apply_matrix_pt(self.ctm, (seg[1], seg[2])) for seg in self.curpath if len(seg) >= 3]
            if points:
                xs, ys = [p[0] for p in points], [p[1] for p in points]
                box = (min(xs), min(ys), max(xs), max(ys))
                if self.clip is not None:
                    box = (max(box[0], self.clip[0]), max(box[1], self.clip[1]),
                           min(box[2], self.clip[2]), min(box[3], self.clip[3]))
                self.clip = box
        self.clipping = False
        super().do_n()


class _ClipAggregator(PDFPageAggregator):
    """Tags every glyph with the clip rectangle it was drawn in."""

    interpreter: _ClipInterpreter

    def render_char(self, *args, **kwargs) -> float:
        adv = super().render_char(*args, **kwargs)
        self.cur_item._objs[-1].clip = self.interpreter.clip
        return adv


def _pages(path: Path):
    manager = PDFResourceManager()
    device = _ClipAggregator(manager, laparams=None)
    interpreter = device.interpreter = _ClipInterpreter(manager, device)
    with open(path, "rb") as fh:
        for page in PDFPage.get_pages(fh):
            interpreter.process_page(page)
            yield device.get_result()


def _clipped(ch: LTChar) -> bool:
    """The glyph's middle lies outside the clip it was drawn in: it is not on the paper."""
    clip = getattr(ch, "clip", None)
    if clip is None:
        return False
    x, y = (ch.x0 + ch.x1) / 2, (ch.y0 + ch.y1) / 2
    return not (clip[0] - 0.5 <= x <= clip[2] + 0.5 and clip[1] - 0.5 <= y <= clip[3] + 0.5)


def read_pdf(path: Path) -> list[Page]:
    """The PDF's pages with their glyphs split into body and header/footer band (drawing order)."""
    pages = []
    for number, layout in enumerate(_pages(path), 1):
        page = Page(number, layout.width, layout.height)
        top = []
        for ch in layout:
            if not isinstance(ch, LTChar) or not ch.get_text().strip():
                continue
            middle = (ch.y0 + ch.y1) / 2
            if middle > layout.height - BAND_PT:
                page.band.append(ch)
                top.append(ch)
            elif middle < BAND_PT:
                page.band.append(ch)
            else:
                page.body.append(ch)
        page.header = "".join(c.get_text() for c in sorted(top, key=lambda c: c.x0))
        pages.append(page)
    return pages


def _shown(value, number_format: str) -> str | None:
    """The text a cell prints, for the value types and formats ledgerbook writes."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, dt.datetime):
        if "hh" in number_format:
            return value.strftime("%Y-%m-%d %H:%M")
        return value.strftime("%Y-%m-%d")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (int, float)):
        if "#,##0" in number_format:
            return f"{value:,.0f}"
        return f"{value:.0f}" if float(value).is_integer() else None
    return str(value)


def printed_cells(ws) -> list[tuple[str, str]]:
    """(cell, text) of every non-empty cell inside the sheet's print area, hidden ones left out."""
    areas = ws.print_area
    if areas:
        area = areas[0] if isinstance(areas, (list, tuple)) else areas
        min_col, min_row, max_col, max_row = range_boundaries(area.split("!")[-1].replace("$", ""))
    else:
        min_col, min_row, max_col, max_row = 1, 1, ws.max_column, ws.max_row
    out = []
    for row in ws.iter_rows(min_row=min_row, max_row=max_row, min_col=min_col, max_col=max_col):
        for cell in row:
            if cell.value is None or ws.row_dimensions[cell.row].hidden:
                continue
            if ws.column_dimensions[cell.column_letter].hidden:
                continue
            text = _shown(cell.value, cell.number_format or "")
            if text and text.strip():
                out.append((cell.coordinate, text))
    return out


def _overprints(page: Page) -> list[str]:
    """Pairs of glyphs whose boxes overlap by more than a third of the smaller one."""
    buckets: dict[tuple[int, int], list[LTChar]] = {}
    found = []
    for ch in page.body:
        keys = {(int(x // 20), int(y // 20)) for x in (ch.x0, ch.x1) for y in (ch.y0, ch.y1)}
        near = {id(o): o for key in keys for o in buckets.get(key, ())}
        for other in near.values():
            w = min(ch.x1, other.x1) - max(ch.x0, other.x0)
            h = min(ch.y1, other.y1) - max(ch.y0, other.y0)
            # Glyph boxes span the font's ascent and descent: lines touch, so only a real
            # overlap in both directions counts.
            if w > 0.33 * min(ch.width, other.width) and h > 0.5 * min(ch.height, other.height):
                found.append(f"page {page.number}: “{other.get_text()}” and “{ch.get_text()}” overprint "
                             f"at ({ch.x0:.0f}, {ch.y0:.0f})")
                if len(found) > 5:
                    return found
        for key in keys:
            buckets.setdefault(key, []).append(ch)
    return found


def check_printout(xlsx: Path, pdf: Path) -> list[str]:
    """Everything wrong with how `xlsx` printed to `pdf`, as lines (empty when it reads well)."""
    wb = load_workbook(xlsx)
    visible = [ws for ws in wb.worksheets if ws.sheet_state == "visible"]
    names = sorted((ws.title for ws in visible), key=len, reverse=True)
    pages = read_pdf(pdf)
    problems: list[str] = []
    by_sheet: dict[str, list[Page]] = {}
    for page in pages:
        if page.paper is None:
            problems.append(f"page {page.number}: paper {page.width:.0f}×{page.height:.0f} pt is neither A4 nor A3")
        if not page.body and not page.band:
            problems.append(f"page {page.number}: blank")
            continue
        sheet = next((n for n in names if page.header.endswith(n)), None)
        if sheet is None:
            problems.append(f"page {page.number}: header “{page.header}” names no sheet")
        by_sheet.setdefault(sheet, []).append(page)
        small = sorted({round(c.size, 1) for c in page.body if round(c.size, 1) < MIN_BODY_PT})
        if small:
            sample = "".join(c.get_text() for c in page.body if round(c.size, 1) < MIN_BODY_PT)[:30]
            problems.append(f"page {page.number} ({sheet}): text at {small} pt: {sample}")
        small = sorted({round(c.size, 1) for c in page.band if round(c.size, 1) < MIN_HEADER_FOOTER_PT})
        if small:
            problems.append(f"page {page.number} ({sheet}): header/footer at {small} pt")
        problems += _overprints(page)
        cut = "".join(c.get_text() for c in page.body + page.band if _clipped(c))
        if cut:
            problems.append(f"page {page.number} ({sheet}): text drawn outside its cell and clipped away: {cut[:40]}")
    for ws in visible:
        printed = _SPACE.sub("", "".join(p.text() for p in by_sheet.get(ws.title, [])))
        if not printed:
            problems.append(f"sheet {ws.title}: not printed")
            continue
        for ref, text in printed_cells(ws):
            if _SPACE.sub("", text) not in printed:
                problems.append(f"{ws.title}!{ref}: “{text[:40]}” is not printed whole")
    return problems
