"""Realistic returned ledgers, made the way units make them: one generator for the tests,
`ledgerbook demo` and scripts/bench.py.

Everything is deterministic (seeded random, fixed received times) so tests can assert on
exact findings and two demo runs give the same summary.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field, replace

from ..campaign import Campaign, Unit
from ..rules import Fill
from ..text import OFFICE_TZ

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁任沈姚卢傅钟姜崔谭廖范汪陆金石戴贾韦夏邱方侯邹熊孟秦白江阎薛尹段雷黎史龙陶贺顾毛郝龚邵万钱严覃武"
GIVEN = ["建华", "志强", "秀英", "丽娟", "海燕", "国庆", "晓明", "文杰", "春梅", "玉兰", "立新", "卫东", "红霞",
         "明辉", "静", "敏", "磊", "勇", "军", "洁", "涛", "超", "娜", "婷", "鹏", "浩然", "雨萱", "子涵",
         "思远", "欣怡", "俊杰", "佳琪", "宇航", "晨曦", "博文", "梦瑶", "嘉怡", "天佑", "一鸣", "若曦"]
BRANCH_KINDS = ["教工第一党支部", "教工第二党支部", "学生第一党支部", "学生第二党支部", "研究生党支部",
                "离退休教工党支部", "本科生第三党支部", "行政党支部"]

DETAILS = {
    1: ["支部书记由行政人员兼任，未实现“双带头人”全覆盖", "支部书记学术带头作用不突出，教学科研骨干担任书记比例低"],
    2: ["主题党日内容以读文件为主，形式单一，党员参与积极性不高", "组织生活与专业教学结合不紧，联系实际不够"],
    3: ["近两年未发展青年教师党员，发展对象培养考察不系统", "学生党员发展标准把握不统一，考察材料不齐全"],
    4: ["支部对党员日常教育管理不到位，在课程思政中作用发挥不明显", "“三全育人”工作中支部参与度低，先锋模范作用不突出"],
    5: ["支部委员均为兼职，党务工作时间投入不足", "党务工作者缺乏系统培训，业务不熟悉"],
    6: ["支部换届未按期进行，支委会缺额一人未及时增补", "支部设置未随系部调整而调整，党员编排不合理"],
    7: ["“五化”建设台账不完整，阵地建设滞后", "支部工作制度不健全，未按标准开展达标创建"],
    8: ["上级部署的学习任务落实滞后，存在拖延现象", "对上级通知要求传达不及时，执行打折扣"],
}
MEASURES = {
    1: ["选配具有高级职称的骨干教师担任支部书记，11月前完成调整并报党委备案",
        "制定“双带头人”培育计划，每学期开展一次专题培训并跟踪考核"],
    2: ["每月开展一次结合专业实际的主题党日，采取现场教学、研讨交流等多种形式",
        "将组织生活与教研活动结合，每季度开展一次“党建+业务”交流会"],
    3: ["制定年度发展党员计划，重点在青年教师中确定2名发展对象并落实培养联系人",
        "统一学生党员发展标准，建立发展全过程纪实档案，每月检查一次"],
    4: ["建立党员示范岗，推动每名党员教师参与一门课程的课程思政建设",
        "制定支部参与“三全育人”工作清单，明确每名党员的联系学生任务"],
    5: ["组织支部委员参加学校党务工作者培训，建立支委工作量认定办法",
        "每月召开一次支委会专题学习党务知识，年底进行业务考核"],
    6: ["按期召开党员大会完成支部换届选举，及时增补支委",
        "根据系部调整重新划分党支部，优化党员编排并报党委审批"],
    7: ["对照“五化”建设标准逐项整改，完善支部工作台账和活动阵地",
        "健全“三会一课”等制度并上墙公示，开展支部达标创建自查"],
    8: ["建立上级部署任务台账，实行销号管理，每周督促检查一次",
        "支委会第一时间传达上级通知，明确责任人和完成时间并跟踪落实"],
}


@dataclass
class RowSpec:
    """One filled table row, with values exactly as the unit typed them."""

    target: object = ""
    branch_secretary: object = ""
    member: object = ""
    problem: object = ""
    detail: object = ""
    measure: object = ""
    owner: object = ""
    deadline: object = ""
    progress: object = ""
    remarks: object = ""

    def values(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass
class LedgerSpec:
    """A whole returned ledger: the unit block and the rows, plus how it was made.

    style: 'template' (the unit filled our per-unit copy) or 'retyped' (the unit typed the
    form into a new workbook: sheet Sheet1, rows above the header, aliases, merged targets).
    """

    unit: str
    secretary: object = ""
    liaison: object = ""
    phone: object = ""
    qq: object = ""
    filled_on: object = ""
    rows: list[RowSpec] = field(default_factory=list)
    style: str = "template"
    template_unit: str | None = None  # which per-unit copy was used (None: the master)
    unprotect: bool = False

    def fields(self) -> dict[str, object]:
        return {"unit": self.unit, "secretary": self.secretary, "liaison": self.liaison, "phone": self.phone,
                "qq": self.qq, "filled_on": self.filled_on}

    def as_fill(self) -> Fill:
        """What the unit typed into the form (for :func:`ledgerbook.template.write_template`)."""
        return Fill(fields=self.fields(), rows=[r.values() for r in self.rows], unprotect=self.unprotect)


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def clean_ledger(campaign: Campaign, unit: Unit, seed: int = 0, n_rows: int = 3, n_targets: int = 1,
                 with_progress: bool = False) -> LedgerSpec:
    """A correct ledger for a unit: every rule satisfied, values as a careful secretary types them."""
    rng = random.Random(f"{unit.name}/{seed}")
    form = campaign.form
    n_problems = len(form.problems)
    window = (campaign.rectification_due - campaign.start).days
    rows = []
    for t in range(n_targets):
        target = (f"{unit.short_name}{BRANCH_KINDS[(t + seed) % len(BRANCH_KINDS)]}"
                  if n_targets <= len(BRANCH_KINDS) else f"{unit.short_name}第{t + 1}党支部")
        bsec, member = person(rng), person(rng)
        problems = rng.sample(range(1, n_problems + 1), k=min(n_rows, n_problems)) if n_rows <= n_problems else \
            [rng.randint(1, n_problems) for _ in range(n_rows)]
        for i, p in enumerate(problems):
            key = ((p - 1) % 8) + 1
            deadline = campaign.start + dt.timedelta(days=10 + rng.randrange(max(1, window - 10)))
            detail = rng.choice(DETAILS[key])
            measure = MEASURES[key][(i + t) % 2] + f"（{target}第{i + 1}项）"
            rows.append(RowSpec(
                target=target, branch_secretary=bsec, member=member, problem=form.problems[p - 1],
                detail=detail, measure=measure, owner=person(rng),
                deadline=dt.datetime(deadline.year, deadline.month, deadline.day),
                progress=_progress_for(deadline, campaign, form, len(rows)) if with_progress else "",
            ))
    return LedgerSpec(
        unit=unit.name, secretary=unit.secretary or person(rng), liaison=person(rng),
        phone=f"1{rng.choice('3578')}{rng.randrange(10**8, 10**9)}", qq=str(rng.randrange(10**6, 10**10)),
        filled_on=dt.datetime(campaign.ledger_due.year, campaign.ledger_due.month, max(1, campaign.ledger_due.day - 2)),
        rows=rows, template_unit=unit.name,
    )


def _progress_for(deadline: dt.date, campaign: Campaign, form, index: int) -> str:
    """Progress a month into the campaign: earlier deadlines done, later ones under way,
    and now and then a measure not started (which the as-of check then reports)."""
    not_started, under_way, done = form.progress_values[0], form.progress_values[1], form.progress_values[-1]
    if index % 5 == 4:
        return not_started
    return done if deadline <= campaign.start + dt.timedelta(days=35) else under_way


# Ways people get it wrong, each one rule of spec §4 (name -> function(spec, campaign) -> spec).
def _sloppy_deadlines(spec: LedgerSpec, campaign: Campaign) -> LedgerSpec:
    rows = list(spec.rows)
    rows[0] = replace(rows[0], deadline="长期坚持")
    if len(rows) > 1:
        after = campaign.rectification_due + dt.timedelta(days=15)
        rows[1] = replace(rows[1], deadline=f"{after.month}月{after.day}日")
    return replace(spec, rows=rows)


def _sloppy_persons(spec: LedgerSpec, campaign: Campaign) -> LedgerSpec:
    rows = list(spec.rows)
    rows[0] = replace(rows[0], owner="支委会")
    return replace(spec, rows=rows, liaison="")


def _sloppy_contacts(spec: LedgerSpec, campaign: Campaign) -> LedgerSpec:
    return replace(spec, phone="1381234567", qq="0123")


def _sloppy_menu(spec: LedgerSpec, campaign: Campaign) -> LedgerSpec:
    rows = list(spec.rows)
    rows[0] = replace(rows[0], problem="组织建设问题", measure="加强学习")
    return replace(spec, rows=rows)


def _sloppy_copy(spec: LedgerSpec, campaign: Campaign) -> LedgerSpec:
    measure = "认真组织学习，提高思想认识，狠抓工作落实，确保整改到位"
    return replace(spec, rows=[replace(r, measure=measure) for r in spec.rows])


def _sloppy_no_rows(spec: LedgerSpec, campaign: Campaign) -> LedgerSpec:
    return replace(spec, rows=[])


SLOPPY = {
    "deadlines": _sloppy_deadlines,
    "persons": _sloppy_persons,
    "contacts": _sloppy_contacts,
    "menu": _sloppy_menu,
    "copied_measures": _sloppy_copy,
    "no_rows": _sloppy_no_rows,
}


def humanise(spec: LedgerSpec, campaign: Campaign) -> LedgerSpec:
    """The same content typed loosely but correctly: numbers for problems, text dates, a phone
    stored as a number, role prefixes, full-width digits — all of which must read as valid."""
    rows = []
    forms_of_date = [lambda d: f"{d.year}.{d.month}.{d.day}", lambda d: f"{d.month}月{d.day}日",
                     lambda d: f"{d.year}年{d.month}月{d.day}日", lambda d: f"{d.year}/{d.month}/{d.day}",
                     lambda d: "１０月底前" if d.month == 10 else f"{d:%Y-%m-%d}"]
    for i, r in enumerate(spec.rows):
        d = r.deadline.date() if isinstance(r.deadline, dt.datetime) else r.deadline
        number = campaign.form.problems.index(r.problem) + 1 if r.problem in campaign.form.problems else r.problem
        problem = [str(number), f"{number}.", f"问题{number}", r.problem][i % 4]
        deadline = forms_of_date[i % len(forms_of_date)](d) if isinstance(d, dt.date) else r.deadline
        rows.append(replace(r, problem=problem, deadline=deadline,
                            owner=f"支部书记{r.owner}" if i % 3 == 0 else r.owner))
    return replace(spec, rows=rows, phone=float(spec.phone) if str(spec.phone).isdigit() else spec.phone,
                   qq=float(spec.qq) if str(spec.qq).isdigit() else spec.qq)


# --------------------------------------------------------------------------- writing files

def write_retyped_xlsx(spec: LedgerSpec, campaign: Campaign, path, saved: dt.datetime | None = None) -> None:
    """The form retyped into a new workbook by hand: Sheet1, a title and rows above the table,
    the unit on one line as '填报单位：…', header labels as people reword them, targets merged
    down their rows, a signature line under the table. ``saved``: see :func:`write_ledger`."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    wb.set_properties({"created": _core_time(campaign, saved)})
    ws = wb.add_worksheet("Sheet1")
    bold = wb.add_format({"bold": True, "text_wrap": True, "border": 1, "align": "center", "valign": "vcenter"})
    cell = wb.add_format({"text_wrap": True, "border": 1, "valign": "vcenter"})
    date = wb.add_format({"num_format": "yyyy年m月d日", "border": 1, "valign": "vcenter"})
    ws.write(0, 0, f"{campaign.institution}{spec.unit}菜单式整顿台账")
    ws.write(1, 0, f"填报单位：{spec.unit}")
    block = [("第一责任人", spec.secretary), ("联络员", spec.liaison), ("联系电话", spec.phone), ("QQ号", spec.qq)]
    for i, (label, value) in enumerate(block):
        ws.write(2, i * 2, label, bold)
        _write_value(ws, 2, i * 2 + 1, value, cell, date)
    header = ["序号", "整顿对象（党支部名称）", "支部书记", "联系党委委员", "重点问题", "具体问题", "整改措施",
              "责任人姓名", "完成时间", "进展情况", "备注"]
    header_row = 4
    ws.write_row(header_row, 0, header, bold)
    keys = ["target", "branch_secretary", "member", "problem", "detail", "measure", "owner", "deadline",
            "progress", "remarks"]
    r = header_row + 1
    i = 0
    while i < len(spec.rows):
        j = i
        while j + 1 < len(spec.rows) and spec.rows[j + 1].target == spec.rows[i].target:
            j += 1
        for k, row in enumerate(spec.rows[i: j + 1]):
            ws.write_number(r + k, 0, i + k + 1, cell)
            values = row.values()
            for c, key in enumerate(keys, start=1):
                if key in ("target", "branch_secretary", "member") and j > i:
                    continue
                _write_value(ws, r + k, c, values[key], cell, date)
        if j > i:
            for c, key in enumerate(("target", "branch_secretary", "member"), start=1):
                ws.merge_range(r, c, r + (j - i), c, "", cell)
                _write_value(ws, r, c, spec.rows[i].values()[key], cell, date)
        r += j - i + 1
        i = j + 1
    ws.write(r + 1, 0, f"填表人：{spec.liaison}")
    ws.write(r + 1, 4, f"审核人：{spec.secretary}")
    ws.set_column(0, 10, 14)
    wb.close()
    if saved is None:
        set_saved_time(path, None)


def _write_value(ws, r, c, value, cell, date):
    if isinstance(value, dt.datetime):
        ws.write_datetime(r, c, value, date)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        ws.write_number(r, c, value, cell)
    elif value in (None, ""):
        ws.write_blank(r, c, None, cell)
    else:
        ws.write_string(r, c, str(value), cell)


def _created(campaign: Campaign) -> dt.datetime:
    """A fixed creation time: the same ledger gives the same bytes (deterministic demo)."""
    return dt.datetime.combine(campaign.ledger_due, dt.time(9, 0))


def _core_time(campaign: Campaign, saved: dt.datetime | None) -> dt.datetime:
    """The time xlsxwriter writes as created and modified: ``saved`` in UTC (xlsxwriter writes
    the naive time it is given followed by "Z", as Excel writes UTC), else the fixed one."""
    if saved is None:
        return _created(campaign)
    return saved.replace(tzinfo=OFFICE_TZ).astimezone(dt.timezone.utc).replace(tzinfo=None)


def set_saved_time(path, saved: dt.datetime | None) -> None:
    """Record in an .xlsx's docProps/core.xml that it was saved at ``saved`` (naive, office
    clock), or (None) that it records no save time. openpyxl stamps the moment it saves, which
    would make a test depend on today's date."""
    import io
    import re
    import zipfile
    from pathlib import Path

    if saved is None:
        element = b""
    else:
        utc = saved.replace(tzinfo=OFFICE_TZ).astimezone(dt.timezone.utc)
        element = (b'<dcterms:modified xsi:type="dcterms:W3CDTF">'
                   + utc.strftime("%Y-%m-%dT%H:%M:%SZ").encode() + b"</dcterms:modified>")

    data = Path(path).read_bytes()
    out = io.BytesIO()
    # Level 1: these are fixtures; speed matters more than a few hundred bytes.
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"<dcterms:modified\b[^>]*>[^<]*</dcterms:modified>", b"", body)
                body = body.replace(b"</cp:coreProperties>", element + b"</cp:coreProperties>")
            dst.writestr(info, body, compresslevel=1)
    Path(path).write_bytes(out.getvalue())


def write_ledger(spec: LedgerSpec, campaign: Campaign, path, saved: dt.datetime | None = None) -> None:
    """Write a returned ledger as the unit would have saved it.

    Args:
        saved: when the unit's program saved it (naive, office clock), recorded in
            docProps/core.xml as Excel records it; None records no save time, so that only
            the file's own time (or the e-mail's date) tells when it came.
    """
    if spec.style == "retyped":
        write_retyped_xlsx(spec, campaign, path, saved=saved)
        return
    from ..template import write_template

    unit = campaign.unit(spec.template_unit) if spec.template_unit else None
    write_template(campaign, path, unit=unit, fill=spec.as_fill(), created=_core_time(campaign, saved))
    if saved is None:
        set_saved_time(path, None)


class _GbkZipInfo:
    """Factory for ZipInfo entries whose names are stored as raw GBK bytes, flag 0x800 clear."""

    @staticmethod
    def make(name: str, when: tuple):
        import zipfile

        class GbkInfo(zipfile.ZipInfo):
            def _encodeFilenameFlags(self):  # zipfile would otherwise store UTF-8 with the flag set
                return name.encode("gbk"), self.flag_bits & ~0x800

        info = GbkInfo(name, date_time=when)
        info.compress_type = zipfile.ZIP_DEFLATED
        return info


def gbk_zip(members: dict[str, bytes]) -> bytes:
    """A zip as Windows' built-in compressor writes it: names in GBK, without the UTF-8 flag."""
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(_GbkZipInfo.make(name, (2019, 9, 12, 9, 0, 0)), data)
    return buf.getvalue()


def email_with_attachments(sender: str, to: str, subject: str, date: dt.datetime, body: str,
                           attachments: list[tuple[str, bytes]], gbk_names: bool = False) -> bytes:
    """A saved e-mail (.eml). Chinese attachment names in RFC 2231 (Outlook, Thunderbird), or
    with gbk_names in RFC 2047 GBK as Foxmail and QQ mail write them."""
    import base64
    from email.message import EmailMessage
    from email.utils import format_datetime

    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date.replace(tzinfo=OFFICE_TZ))
    msg.set_content(body)
    for name, data in attachments:
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
        if gbk_names:
            part = msg.get_payload()[-1]
            encoded = "=?GBK?B?" + base64.b64encode(name.encode("gbk")).decode() + "?="
            del part["Content-Disposition"]
            part["Content-Disposition"] = f'attachment; filename="{encoded}"'
    # A boundary from the content, not random: the same e-mail is the same bytes every run.
    import hashlib

    digest = hashlib.sha256(repr((sender, subject, date, [(n, len(d)) for n, d in attachments])).encode()).hexdigest()
    msg.set_boundary(f"=_ledgerbook_{digest[:24]}")
    return bytes(msg)
