"""Findings: what is wrong with a returned file, as plain frozen records with stable codes.

All codes live in :data:`CATALOGUE` with their level and a message template; the README's
table of codes is generated from it (``scripts/gen_codes_table.py``) so it cannot drift.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .excel import cell_a1
from .text import fill_template

ERROR = "错误"
WARNING = "警告"
INFO = "提示"
LEVEL_ORDER = {ERROR: 0, WARNING: 1, INFO: 2}


@dataclass(frozen=True)
class Code:
    code: str
    level: str
    name: str          # short Chinese name, shown as 问题类型 (the code stays for filtering and the API)
    when: str          # one line for the README table
    template: str      # message template, str.format(**params)
    advice: str = ""   # appended when the message does not already say what to do (请…)


_CODES = [
    Code("file.unreadable", ERROR, "文件无法读取",
         "不是可读取的工作簿（损坏、加密、不是表格文件）",
         "文件无法读取：{reason}", advice="。请用 Excel 或 WPS 另存为 .xlsx 格式后重新报送"),
    Code("file.not_ledger", ERROR, "不是整顿台账",
         "可以打开，但没有“整顿台账”工作表或找不到表头",
         "文件中找不到整顿台账：{reason}。请使用党委组织部下发的附件2模板填写后重新报送"),
    Code("file.layout_changed", WARNING, "表头与模板不一致",
         "表头被改名、缺少非必填列、调换顺序或插入了列，但必填列都能对上（工作表过大只读取了一部分时也是）",
         "表头与模板不一致：{reason}。请使用下发的模板，不要增删或调换列"),
    Code("file.layout_broken", ERROR, "表头缺少必填列",
         "表头缺少必填列，台账无法按列读取",
         "表头与模板不一致：{reason}。请使用下发的模板，不要增删或调换列"),
    Code("file.superseded", INFO, "已被新版本替代",
         "同一单位后来又报送了新版本，此文件不再采用",
         "已被同一单位{newer_received}收到的新版本“{newer}”替代，不再采用"),
    Code("file.duplicate", INFO, "重复文件",
         "与已收到的另一文件内容完全相同",
         "与“{original}”内容完全相同，按重复文件处理"),
    Code("file.late", WARNING, "逾期报送",
         "该单位首次报送晚于台账截止日期（依据邮件日期）",
         "首次报送时间{received}晚于截止日期{due}"),
    Code("file.late_by_file_time", INFO, "可能逾期报送",
         "依据文件时间（工作簿保存时间或文件修改时间）首次报送晚于截止日期，可能不准",
         "首次报送时间{received}晚于截止日期{due}（依据文件时间，可能不准）"),
    Code("file.unit_mismatch", WARNING, "专用模板与填报单位不符",
         "单位专用模板的标记与“填报单位”不一致",
         "此文件是下发给“{marker_unit}”的专用模板，但填报单位填的是“{unit_cell}”，请核对是否用错了模板"),
    Code("file.unprotected", INFO, "工作表保护被取消",
         "交回的整顿台账工作表已取消保护（表格可能被改动）",
         "整顿台账工作表的保护已被取消，表格结构可能被改动，请核对"),
    Code("unit.unknown", ERROR, "填报单位不在名单中",
         "填报单位不在名单中（提示最接近的名称）",
         "{cell}的填报单位“{value}”不在本次名单中{suggestion}，请从下拉列表选择本单位全称"),
    Code("unit.missing", ERROR, "未报送",
         "名单中的单位没有报送",
         "尚未收到{unit}的整顿台账（截止日期{due}）"),
    Code("unit.no_target", ERROR, "未填整顿对象",
         "台账中没有填写任何整顿对象行",
         "台账中没有填写任何整顿对象：每个直属党委（党总支部）至少确定1个整顿对象"),
    Code("unit.field_missing", ERROR, "单位信息未填",
         "单位信息栏的必填项为空",
         "{cell}的“{label}”未填写，请补充"),
    Code("unit.secretary_mismatch", INFO, "第一责任人与名单不符",
         "第一责任人与名单中的书记不一致",
         "{cell}的第一责任人“{value}”与名单中的书记“{expected}”不一致，请核对"),
    Code("unit.phone_invalid", ERROR, "联系电话无效",
         "联系电话不是有效号码",
         "{cell}的联系电话“{value}”不是有效号码，请填写11位手机号或带区号的固定电话（如0731-58290006）"),
    Code("unit.qq_invalid", ERROR, "QQ号码无效",
         "QQ号码不是有效号码",
         "{cell}的QQ号码“{value}”无效，QQ号应为5至11位数字且不以0开头"),
    Code("row.required_missing", ERROR, "必填项为空",
         "已填写的行中必填单元格为空",
         "{cell}的“{label}”未填写，请补充"),
    Code("row.category_invalid", ERROR, "重点问题不在菜单中",
         "重点问题不是菜单中的8项之一",
         "{cell}的重点问题“{value}”不在8项重点问题之中，请从下拉列表选择"),
    Code("row.person_invalid", ERROR, "未写具体人名",
         "人员列没有写出具体人名",
         "{cell}的{label}“{value}”没有写出具体人名，请填写责任人姓名（不能只写职务或集体）"),
    Code("row.deadline_invalid", ERROR, "完成时限不是日期",
         "完成时限不是日期",
         "{cell}的完成时限“{value}”不是日期，请填写具体日期，如{example}"),
    Code("row.deadline_vague", WARNING, "完成时限不具体",
         "完成时限是模糊说法",
         "{cell}的完成时限“{value}”不是具体日期，每项措施都要有完成日期，请改为{start}至{end}之间的具体日期"),
    Code("row.deadline_out_of_window", ERROR, "完成时限超出活动期间",
         "完成时限在活动时间范围之外",
         "{cell}的完成时限“{value}”{relation}，请改为{start}至{end}之间的日期"),
    Code("row.progress_invalid", WARNING, "整顿进展不是规定选项",
         "整顿进展不是规定的选项",
         "{cell}的整顿进展“{value}”不是规定选项，请选择{choices}"),
    Code("row.measure_thin", WARNING, "整顿措施过于简单",
         "整顿措施过于简单，不成其为措施",
         "{cell}的整顿措施“{value}”过于简单，请写明具体做法"),
    Code("row.measure_repeated", WARNING, "整顿措施照搬重复",
         "同一措施文字被复制到多个问题（形式主义迹象）",
         "{cell}的整顿措施与{others}完全相同，请针对每个具体问题分别制定措施"),
    Code("row.overdue", WARNING, "措施逾期未完成",
         "（指定 --as-of 时）完成时限已过而未完成",
         "{cell}的措施完成时限为{deadline}，截至{as_of}进展为“{progress}”，已逾期"),
    Code("report.missing", WARNING, "未交自评报告",
         "（--as-of 晚于自评报告截止日期时）未收到自评报告",
         "截至{as_of}尚未收到{unit}的自评报告（截止日期{due}）"),
    Code("report.late", WARNING, "自评报告逾期",
         "自评报告晚于截止日期收到",
         "自评报告“{file}”收到时间{received}晚于截止日期{due}"),
    Code("value.control_chars", WARNING, "含不可见控制字符",
         "单元格含有 Excel 不接受的控制字符，输出时已删除",
         "{cell}含有不可见的控制字符，汇总时已删除，请检查该单元格内容"),
]

CATALOGUE: dict[str, Code] = {c.code: c for c in _CODES}


def code_name(code: str) -> str:
    """The Chinese name of a finding code (问题类型); an unknown code is shown as it is."""
    spec = CATALOGUE.get(code)
    return spec.name if spec is not None else code


#: Columns of the Collection's findings table: what 校验结果 shows, then the row the cell is
#: on (Excel's number, blank for a finding about no cell) so a finding can be followed to its row.
FINDING_COLUMNS = ["级别", "代码", "单位", "文件", "工作表", "单元格", "说明", "原值", "行号"]

Position = tuple[int, int]


class Places(tuple):
    """Cells a message names besides its own ((row, col) pairs, 0-based): written as A1
    references joined by 、, and moved with the finding when its cells move."""


@dataclass(frozen=True)
class Finding:
    """One problem found, with where it is and what to do about it.

    The cell is kept as data, (row, column) 0-based on ``sheet``; its A1 text (:attr:`cell`)
    is made when written and never parsed back. ``where`` names the place when there is no
    cell (单位信息栏). ``params`` are the message's other values, kept so the message can be
    made again for moved cells (:meth:`moved`).
    """

    code: str
    level: str
    message: str
    unit: str = ""
    file: str = ""
    sheet: str = ""
    row: int | None = None
    column: int | None = None
    value: str = ""
    where: str = ""
    params: tuple[tuple[str, object], ...] = field(default=(), compare=False, repr=False)

    @property
    def at(self) -> Position | None:
        """(row, column) of the cell, 0-based; None for a finding about no cell."""
        return None if self.row is None or self.column is None else (self.row, self.column)

    @property
    def cell(self) -> str:
        """The cell as Excel names it (I7), '' for none."""
        return cell_a1(*self.at) if self.at is not None else ""

    def as_row(self) -> dict[str, object]:
        return dict(zip(FINDING_COLUMNS, (self.level, self.code, self.unit, self.file, self.sheet, self.cell,
                                          self.message, self.value, self.row + 1 if self.at is not None else None)))

    def moved(self, move: Callable[[Position], Position | None]) -> Finding:
        """The same finding with its cells moved (where `move` knows them): the position and
        the cells the message names, the message made again."""
        def new(pos: Position) -> Position:
            return move(pos) or pos

        at = new(self.at) if self.at is not None else None
        params = {k: Places(new(p) for p in v) if isinstance(v, Places) else v for k, v in self.params}
        return make_finding(self.code, unit=self.unit, file=self.file, sheet=self.sheet, at=at, where=self.where,
                            value=self.value, **params)


def make_finding(code: str, *, unit: str = "", file: str = "", sheet: str = "", at: Position | None = None,
                 where: str = "", value: object = "", **params) -> Finding:
    """Build a finding from the catalogue; params fill the message template.

    The template also gets {cell} (the A1 text of `at`, else `where`), {value}, {unit} and
    {file}. A :class:`Places` param is written as its cells' A1 texts. A placeholder without
    a value stays as written: a message never fails to be made.
    """
    spec = CATALOGUE[code]
    text_value = "" if value is None else str(value)
    values = {k: "、".join(cell_a1(*p) for p in v) if isinstance(v, Places) else v for k, v in params.items()}
    values.update(cell=cell_a1(*at) if at is not None else where, value=text_value, unit=unit, file=file)
    message = fill_template(spec.template, values)
    if spec.advice and "请" not in message:
        message = message.rstrip("。") + spec.advice
    return Finding(code=code, level=spec.level, message=message, unit=unit, file=file, sheet=sheet,
                   row=at[0] if at is not None else None, column=at[1] if at is not None else None,
                   value=text_value, where=where, params=tuple(params.items()))


def sort_key(f: Finding) -> tuple:
    return (f.unit, LEVEL_ORDER.get(f.level, 9), f.file, f.sheet, f.at or (0, 0), f.code)
