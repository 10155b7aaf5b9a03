"""Page set-up for printing: which paper, which scale, what goes in the header and footer.

The department prints the summary and the units print the form, on office printers: A4 as a
rule, A3 where a copier has it. Shrinking a wide sheet to one page wide makes text that
nobody can read on paper (a 汇总台账 of 19 columns came out at 3.7 pt), so a sheet is never
fitted to the page by the spreadsheet program. Instead its printed width is worked out here,
from the column widths, and the smallest paper that shows it at a readable size is chosen,
with an explicit print scale: Excel, WPS and LibreOffice then print the same size of text,
whatever their own fitting would do.

* Printed text is at least :data:`MIN_TEXT_PT` (9 pt), header and footer text
  :data:`HEADER_FOOTER_PT` (10 pt, so that LibreOffice, which scales them with the sheet
  anyway, still prints them at 8 pt or more).
* A sheet that is too wide even for A3 landscape at that size prints several pages wide with
  its first column repeated, rather than smaller.

One set-up, two writers: :func:`apply_xlsxwriter` (summary, template) and
:func:`apply_openpyxl` (the marked-up copies, which are the units' own workbooks).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

#: Smallest size of printed text, in points, after scaling.
MIN_TEXT_PT = 9.0
#: Size of header and footer text (not scaled with the sheet).
HEADER_FOOTER_PT = 10

# Inches, as Excel stores them. Narrow left/right margins leave room for the table; the header
# and footer sit inside the top and bottom margins, with 0.4 in for their line: with less,
# LibreOffice paginates with a taller header than it draws and can print a blank last page.
MARGINS = {"left": 0.3, "right": 0.3, "top": 0.6, "bottom": 0.6}
HEADER_MARGIN = FOOTER_MARGIN = 0.2

_MM_PER_INCH = 25.4
_PT_PER_INCH = 72.0


@dataclass(frozen=True)
class Paper:
    name: str
    code: int         # the OOXML paperSize code
    width_mm: float   # portrait
    height_mm: float


A4 = Paper("A4", 9, 210.0, 297.0)
A3 = Paper("A3", 8, 297.0, 420.0)


@dataclass(frozen=True)
class PageSetup:
    """How one sheet prints.

    Attributes:
        paper: A4 or A3.
        landscape: orientation.
        scale: print scale in percent (Excel allows 10 to 400).
        pages_wide: how many pages across the printed columns take at this scale.
    """

    paper: Paper
    landscape: bool
    scale: int
    pages_wide: int = 1

    @property
    def printable_width_pt(self) -> float:
        """Width between the left and right margins, in points."""
        return printable_width_pt(self.paper, self.landscape)

    @property
    def printable_height_pt(self) -> float:
        """Height between the top and bottom margins, in points."""
        height_mm = self.paper.width_mm if self.landscape else self.paper.height_mm
        return height_mm / _MM_PER_INCH * _PT_PER_INCH - (MARGINS["top"] + MARGINS["bottom"]) * _PT_PER_INCH


def printable_width_pt(paper: Paper, landscape: bool) -> float:
    width_mm = paper.height_mm if landscape else paper.width_mm
    return width_mm / _MM_PER_INCH * _PT_PER_INCH - (MARGINS["left"] + MARGINS["right"]) * _PT_PER_INCH


def column_points(width: float) -> float:
    """Printed width, in points at 100 %, of a column `width` characters wide.

    Excel measures columns in widths of the default font's digit (Calibri 11: 7 px at 96 dpi)
    plus 5 px of padding. LibreOffice lays the same width out about 6 % wider (5.55 pt per
    character plus 4 pt, measured). The larger is used, so a page holds the columns in both.
    """
    if width <= 0:
        return 0.0
    excel = (int(width * 7 + 0.5) + 5) * 0.75
    libreoffice = width * 5.55 + 4.0
    return max(excel, libreoffice)


def characters_of_stored_width(stored: float) -> float:
    """The width in characters of a column as a file stores it (openpyxl's ``width``).

    The file's width includes Excel's 5 px of padding (xlsxwriter's ``set_column(c, c, 5)``
    is stored as 5.7109375); the widths here do not.
    """
    return max(0.0, stored - 5 / 7)


def columns_width_pt(widths: Sequence[float]) -> float:
    """Printed width, in points at 100 %, of columns of these widths."""
    return sum(column_points(w) for w in widths)


# Tried in order; the first that shows the columns with text no smaller than 9 pt wins, so A4
# at a slightly reduced scale is preferred to A3: every office printer has A4.
_CHOICES = ((A4, False), (A4, True), (A3, True))


def choose(widths: Sequence[float], font_pt: float, *, portrait: bool = False) -> PageSetup:
    """The page set-up that prints columns of these widths with text no smaller than 9 pt.

    Args:
        widths: the printed columns' widths (Excel character units).
        font_pt: the smallest font size used in those columns.
        portrait: try A4 portrait first (a text page rather than a table).

    Returns:
        The first of (A4 portrait if asked,) A4 landscape, A3 landscape that shows the columns
        on one page wide at a scale keeping text at 9 pt or more (100 % when they fit), else
        A3 landscape at that smallest scale, several pages wide.
    """
    need = columns_width_pt(widths)
    min_scale = min(100, math.ceil(MIN_TEXT_PT / font_pt * 100))
    choices = _CHOICES if portrait else _CHOICES[1:]
    for paper, landscape in choices:
        scale = min(100, math.floor(printable_width_pt(paper, landscape) / need * 100))
        if scale >= min_scale:
            return PageSetup(paper, landscape, scale)
    width = printable_width_pt(A3, True)
    return PageSetup(A3, True, min_scale, math.ceil(need * min_scale / 100 / width))


def header_text(title: str) -> str:
    """Header: the campaign's title at the left, the sheet's name at the right."""
    size = f"&{HEADER_FOOTER_PT}"
    return f"&L{size}{_escape(title)}&R{size}&A"[:255]


def footer_text() -> str:
    """Footer: page numbers in the middle."""
    return f"&C&{HEADER_FOOTER_PT}第 &P 页，共 &N 页"


def _escape(text: str) -> str:
    """Header/footer text is a little language where & starts a code: a literal & is &&."""
    return text.replace("&", "&&")


def apply_xlsxwriter(ws, setup: PageSetup, *, title: str, repeat_rows: tuple[int, int] | None = None,
                     repeat_columns: int | None = None, print_area: tuple[int, int, int, int] | None = None,
                     centre: bool = False) -> None:
    """Apply a set-up to an xlsxwriter worksheet.

    Args:
        ws: the worksheet.
        setup: from :func:`choose`.
        title: the campaign's title, printed in the header.
        repeat_rows: (first, last) 0-based rows printed at the top of every page.
        repeat_columns: 0-based last column printed at the left of every page when the
            sheet is several pages wide (columns 0..repeat_columns).
        print_area: (first_row, first_col, last_row, last_col), 0-based; None prints all.
        centre: centre the printed columns on the page.
    """
    ws.set_paper(setup.paper.code)
    if setup.landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.set_print_scale(setup.scale)
    ws.set_margins(**MARGINS)
    unscaled = {"scale_with_doc": False}
    ws.set_header(header_text(title), {**unscaled, "margin": HEADER_MARGIN})
    ws.set_footer(footer_text(), {**unscaled, "margin": FOOTER_MARGIN})
    if repeat_rows is not None:
        ws.repeat_rows(*repeat_rows)
    if repeat_columns is not None and setup.pages_wide > 1:
        ws.repeat_columns(0, repeat_columns)
    if print_area is not None:
        ws.print_area(*print_area)
    if centre:
        ws.center_horizontally()


def apply_openpyxl(ws, setup: PageSetup, *, title: str, repeat_rows: tuple[int, int] | None = None,
                   print_area: str | None = None, centre: bool = False) -> None:
    """Apply a set-up to an openpyxl worksheet (1-based rows in `repeat_rows`)."""
    ws.page_setup.paperSize = setup.paper.code
    ws.page_setup.orientation = "landscape" if setup.landscape else "portrait"
    ws.page_setup.scale = setup.scale
    ws.page_setup.fitToWidth = ws.page_setup.fitToHeight = None
    ws.sheet_properties.pageSetUpPr.fitToPage = False
    ws.page_margins.left, ws.page_margins.right = MARGINS["left"], MARGINS["right"]
    ws.page_margins.top, ws.page_margins.bottom = MARGINS["top"], MARGINS["bottom"]
    ws.page_margins.header, ws.page_margins.footer = HEADER_MARGIN, FOOTER_MARGIN
    hf = ws.HeaderFooter
    hf.scaleWithDoc = False
    hf.differentFirst = hf.differentOddEven = False
    hf.oddHeader.left.text, hf.oddHeader.left.size = _escape(title), HEADER_FOOTER_PT
    hf.oddHeader.center.text = None
    hf.oddHeader.right.text, hf.oddHeader.right.size = "&A", HEADER_FOOTER_PT
    hf.oddFooter.left.text = hf.oddFooter.right.text = None
    hf.oddFooter.center.text, hf.oddFooter.center.size = "第 &P 页，共 &N 页", HEADER_FOOTER_PT
    if repeat_rows is not None:
        ws.print_title_rows = f"{repeat_rows[0]}:{repeat_rows[1]}"
    if print_area is not None:
        ws.print_area = print_area
    ws.print_options.horizontalCentered = centre
