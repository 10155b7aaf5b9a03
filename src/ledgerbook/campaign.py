"""The campaign: institution, title, due dates and the roster of units, from a TOML file.

The 2019 notice is the built-in default (`workbook_templates/campaign.toml`); a department
runs its own campaign by editing a copy (`ledgerbook init`). Loading checks the file and
raises :class:`CampaignError` with one Chinese line naming the file and the key.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import CampaignError
from .form import Form, load_form
from .resources import template_file
from .text import normalize_label

DEFAULT_FILENAME = "campaign.toml"

_CAMPAIGN_KEYS = {
    "institution", "department", "title", "start", "ledger_due", "report_due",
    "rectification_due", "contact", "contact_phone", "contact_email",
}
_REQUIRED_KEYS = ("institution", "title", "start", "ledger_due", "report_due", "rectification_due")
_DATE_KEYS = ("start", "ledger_due", "report_due", "rectification_due")
_UNIT_KEYS = {"name", "email", "secretary", "aliases"}
_MENU_KEYS = {"problems", "short"}
_MAIL_KEYS = {"host", "port", "sender", "security", "username", "password_env", "pause_seconds"}
_IMAP_KEYS = {"host", "port", "security", "username", "folder", "password_env"}
_TOP_KEYS = {"campaign", "units", "menu", "mail", "imap"}
_SECURITY = ("ssl", "starttls", "none")


# How a unit's name ends; people often write the name without it (机电工程学院 for 机电工程学院党委).
PARTY_SUFFIXES = ("党总支部", "党总支", "党委")


#: An e-mail address as a roster or a header holds it (an addr-spec, no display name).
EMAIL_ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")
# Several addresses in the roster's one e-mail field may be separated by , ; 、 or spaces.
_ADDRESS_SEPARATORS = re.compile(r"[,;，；、\s]+")


@dataclass(frozen=True)
class Unit:
    """A unit of the roster (直属党委 / 党总支部)."""

    name: str
    email: str | None = None
    secretary: str | None = None
    aliases: tuple[str, ...] = ()

    @property
    def short_name(self) -> str:
        """The name without its 党委/党总支/党总支部 (图书馆 for 图书馆党总支); the name when that
        would leave less than two characters."""
        for suffix in PARTY_SUFFIXES:
            if self.name.endswith(suffix) and len(self.name) - len(suffix) >= 2:
                return self.name[: -len(suffix)]
        return self.name

    @property
    def addresses(self) -> list[str]:
        """The unit's usable e-mail addresses from the roster; empty when there is none."""
        if not self.email:
            return []
        return [a for a in _ADDRESS_SEPARATORS.split(self.email.strip()) if EMAIL_ADDRESS.match(a)]

    def keys(self) -> set[str]:
        """The normalised names this unit is recognised by: its name, its aliases, its short name."""
        return {k for k in (normalize_label(n) for n in (self.name, *self.aliases, self.short_name)) if k}


@dataclass(frozen=True)
class MailSettings:
    host: str | None = None
    port: int = 25
    sender: str | None = None
    security: str = "starttls"  # starttls | ssl | none
    username: str | None = None
    password_env: str = "LEDGERBOOK_SMTP_PASSWORD"
    pause_seconds: float = 1.0


#: IMAP's standard ports: 993 with TLS from the first byte, 143 for STARTTLS or plain text.
IMAP_PORTS = {"ssl": 993, "starttls": 143, "none": 143}


@dataclass(frozen=True)
class ImapSettings:
    """The department's mailbox, read by ``ledgerbook fetch`` (the ``[imap]`` section).

    The password (or 授权码, the app password QQ Mail and 163 issue) is never in the file: it is
    read from the environment variable ``password_env`` or asked for at the terminal.
    """

    host: str | None = None
    port: int = 993
    security: str = "ssl"  # ssl | starttls | none
    username: str | None = None
    folder: str = "INBOX"
    password_env: str = "LEDGERBOOK_IMAP_PASSWORD"


@dataclass(frozen=True)
class Campaign:
    institution: str
    title: str
    start: dt.date
    ledger_due: dt.date
    report_due: dt.date
    rectification_due: dt.date
    units: tuple[Unit, ...]
    form: Form
    department: str = "党委组织部"
    contact: str = ""
    contact_phone: str = ""
    contact_email: str = ""
    mail: MailSettings = field(default_factory=MailSettings)
    imap: ImapSettings = field(default_factory=ImapSettings)
    source: str = "(内置)"

    @property
    def year(self) -> int:
        return self.start.year

    @property
    def full_title(self) -> str:
        return f"{self.institution}{self.title}"

    @property
    def unit_names(self) -> tuple[str, ...]:
        return tuple(u.name for u in self.units)

    def unit(self, name: str) -> Unit | None:
        # Looked up once per submission: a dict, so a province's 10,000 units cost no more per lookup.
        by_name = self.__dict__.get("_by_name")
        if by_name is None:
            by_name = {}
            for u in self.units:
                by_name.setdefault(u.name, u)  # the first of a (rejected) duplicate, as a scan found it
            object.__setattr__(self, "_by_name", by_name)
        return by_name.get(name)

    def match_unit(self, text: object) -> str | None:
        """The roster name a typed unit name stands for, after normalising (None if none)."""
        key = normalize_label(text)
        if not key:
            return None
        return self._unit_index().get(key)

    def find_unit_in(self, text: object) -> str | None:
        """The roster unit named anywhere in a text (a file name, a subject, a report's title):
        by name, alias or short name; the longest match wins (商学院党委 over 商学院)."""
        haystack = normalize_label(text)
        best: tuple[str, int] | None = None
        for unit in self.units:
            for key in unit.keys():
                if len(key) >= 2 and key in haystack and (best is None or len(key) > best[1]):
                    best = (unit.name, len(key))
        return best[0] if best else None

    def _unit_index(self) -> dict[str, str]:
        index = self.__dict__.get("_index")
        if index is None:
            index = {}
            for u in self.units:
                for key in u.keys():
                    index.setdefault(key, u.name)
                # "机电工程学院党委" is also written "中共机电工程学院委员会" or "中共机电工程学院党委".
                if u.short_name != u.name:
                    index.setdefault(normalize_label("中共" + u.short_name + "委员会"), u.name)
                    index.setdefault(normalize_label("中共" + u.name), u.name)
            object.__setattr__(self, "_index", index)
        return index


def _fail(path: Path, message: str) -> CampaignError:
    return CampaignError(f"活动文件 {path}：{message}")


def _date(value, path: Path, key: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _fail(path, f"campaign.{key} 应为日期（如 2019-09-13），现为 {value!r}")


def _text(value, path: Path, key: str, required: bool = True) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _fail(path, f"缺少 {key}")
        return ""
    if not isinstance(value, str):
        raise _fail(path, f"{key} 应为文字，现为 {value!r}")
    return value.strip()


def parse_campaign(data: dict, path: Path, form: Form | None = None) -> Campaign:
    """Check and build a Campaign from parsed TOML; raises CampaignError."""
    form = form or load_form()
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise _fail(path, f"未知的节 [{sorted(unknown)[0]}]（可用：campaign、units、menu、mail、imap）")
    c = data.get("campaign")
    if not isinstance(c, dict):
        raise _fail(path, "缺少 [campaign] 节")
    unknown = set(c) - _CAMPAIGN_KEYS
    if unknown:
        raise _fail(path, f"未知的键 campaign.{sorted(unknown)[0]}")
    for key in _REQUIRED_KEYS:
        if key not in c:
            raise _fail(path, f"缺少 campaign.{key}")
    dates = {k: _date(c[k], path, k) for k in _DATE_KEYS}
    if not dates["start"] < dates["ledger_due"]:
        raise _fail(path, "campaign.ledger_due 应晚于 campaign.start")
    if not dates["ledger_due"] <= dates["report_due"]:
        raise _fail(path, "campaign.report_due 不应早于 campaign.ledger_due")
    if not dates["ledger_due"] <= dates["rectification_due"]:
        raise _fail(path, "campaign.rectification_due 不应早于 campaign.ledger_due")

    units_data = data.get("units")
    if not units_data:
        raise _fail(path, "名单 [[units]] 为空：至少列出一个单位")
    if not isinstance(units_data, list):
        raise _fail(path, "units 应写成 [[units]] 表数组")
    units: list[Unit] = []
    seen: dict[str, int] = {}
    for i, u in enumerate(units_data, 1):
        if not isinstance(u, dict):
            raise _fail(path, f"units 第{i}项应为表")
        bad = set(u) - _UNIT_KEYS
        if bad:
            raise _fail(path, f"未知的键 units[{i}].{sorted(bad)[0]}")
        name = _text(u.get("name"), path, f"units[{i}].name")
        key = normalize_label(name)
        if key in seen:
            raise _fail(path, f"units[{i}].name 重复：“{name}”已在第{seen[key]}项出现")
        seen[key] = i
        aliases = u.get("aliases", [])
        if not isinstance(aliases, list):
            raise _fail(path, f"units[{i}].aliases 应为列表")
        units.append(
            Unit(
                name=name,
                email=_text(u.get("email"), path, f"units[{i}].email", required=False) or None,
                secretary=_text(u.get("secretary"), path, f"units[{i}].secretary", required=False) or None,
                aliases=tuple(str(a) for a in aliases),
            )
        )

    menu = data.get("menu")
    if menu is not None:
        bad = set(menu) - _MENU_KEYS
        if bad:
            raise _fail(path, f"未知的键 menu.{sorted(bad)[0]}")
        problems = menu.get("problems")
        if not problems or not isinstance(problems, list) or not all(isinstance(p, str) and p.strip() for p in problems):
            raise _fail(path, "menu.problems 应为非空的文字列表")
        short = menu.get("short")
        if short is not None and (not isinstance(short, list) or len(short) != len(problems)):
            raise _fail(path, "menu.short 应与 menu.problems 一一对应")
        form = form.with_problems(tuple(p.strip() for p in problems), tuple(short) if short else None)

    mail_data = data.get("mail") or {}
    bad = set(mail_data) - _MAIL_KEYS
    if bad:
        raise _fail(path, f"未知的键 mail.{sorted(bad)[0]}")
    try:
        mail = MailSettings(
            host=mail_data.get("host"), port=int(mail_data.get("port", 25)), sender=mail_data.get("sender"),
            security=str(mail_data.get("security", "starttls")).lower(), username=mail_data.get("username"),
            password_env=mail_data.get("password_env", "LEDGERBOOK_SMTP_PASSWORD"),
            pause_seconds=float(mail_data.get("pause_seconds", 1.0)),
        )
    except (TypeError, ValueError):
        raise _fail(path, "mail.port / mail.pause_seconds 应为数字") from None
    if mail.security not in _SECURITY:
        raise _fail(path, "mail.security 应为 starttls、ssl 或 none")
    imap = _imap_settings(data.get("imap"), path)

    return Campaign(
        institution=_text(c["institution"], path, "campaign.institution"),
        title=_text(c["title"], path, "campaign.title"),
        department=_text(c.get("department"), path, "campaign.department", required=False) or "党委组织部",
        contact=_text(c.get("contact"), path, "campaign.contact", required=False),
        contact_phone=str(c.get("contact_phone", "") or ""),
        contact_email=_text(c.get("contact_email"), path, "campaign.contact_email", required=False),
        units=tuple(units), form=form, mail=mail, imap=imap, source=str(path), **dates,
    )


def _imap_settings(section, path: Path) -> ImapSettings:
    """The [imap] section, checked like [mail]; absent gives the defaults (no host: no fetching)."""
    if section is None:
        return ImapSettings()
    if not isinstance(section, dict):
        raise _fail(path, "imap 应写成 [imap] 节")
    bad = set(section) - _IMAP_KEYS
    if bad:
        raise _fail(path, f"未知的键 imap.{sorted(bad)[0]}（可用：{'、'.join(sorted(_IMAP_KEYS))}）")
    security = section.get("security", "ssl")
    if not isinstance(security, str) or security.strip().lower() not in _SECURITY:
        raise _fail(path, f"imap.security 应为 ssl、starttls 或 none，现为 {security!r}")
    security = security.strip().lower()
    port = section.get("port", IMAP_PORTS[security])
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise _fail(path, f"imap.port 应为 1 到 65535 的整数，现为 {port!r}")
    texts = {key: _text(section.get(key), path, f"imap.{key}", required=False)
             for key in ("host", "username", "folder", "password_env")}
    return ImapSettings(host=texts["host"] or None, port=port, security=security,
                        username=texts["username"] or None, folder=texts["folder"] or "INBOX",
                        password_env=texts["password_env"] or "LEDGERBOOK_IMAP_PASSWORD")


# tomllib's messages (English) -> what to look for, in the clerk's words.
_TOML_ERRORS = (
    (r"Invalid statement", "这一行不是“名称 = 值”的写法"),
    (r"Expected '=' after a key", "名称后面缺少“=”"),
    (r"Expected '\]\]?' at the end of", "节名缺少右方括号“]”"),
    (r"Expected newline or end of document", "一行只能写一项：值的后面多了内容（文字要用英文双引号括起来）"),
    (r"Invalid date or datetime", "日期不存在或写法不对，应写成 2019-09-13"),
    (r"Invalid value", "值的写法不对：文字要用英文双引号 \" \" 括起来，日期写成 2019-09-13"),
    (r"Illegal character '\\n'", "引号没有配对：文字要在同一行内用英文双引号括起来"),
    (r"Unterminated string|Expected \"'''\"|Expected '\"\"\"'", "引号没有配对"),
    (r"Cannot overwrite|Cannot declare|Duplicate|Cannot redefine|Cannot mutate", "同一项写了两次"),
    (r"Unclosed array", "列表缺少右方括号“]”"),
    (r"Unclosed inline table", "缺少右花括号“}”"),
    (r"Unescaped|Invalid hex value|Escaped character", "反斜杠“\\”的写法不对：路径请写成 / 或用单引号括起来"),
    (r"character", "有不允许的字符：名称只用英文字母，文字用英文双引号括起来"),
)


def toml_error_text(exc: tomllib.TOMLDecodeError) -> str:
    """A TOML syntax error in Chinese: where it is and what to look for."""
    message = str(exc)
    where = re.search(r"at line (\d+), column (\d+)", message)
    place = f"第 {where.group(1)} 行第 {where.group(2)} 列" if where else "文件末尾"
    what = next((text for pattern, text in _TOML_ERRORS if re.search(pattern, message)), "写法不对")
    return f"{place}：{what}"


def load_campaign(path: str | Path | None = None) -> Campaign:
    """Load and check a campaign file; None gives the built-in default (the 2019 notice).

    Raises:
        CampaignError: with one Chinese line naming the file and the offending key.
    """
    if path is None:
        p = template_file("campaign.toml")
        source = "(内置活动)"
    else:
        p = Path(path)
        source = str(p)
        if not p.is_file():
            raise CampaignError(f"活动文件 {p} 不存在")
    try:
        with open(p, "rb") as fh:
            data = tomllib.load(fh)
    except UnicodeDecodeError:
        raise CampaignError(f"活动文件 {p} 不是 UTF-8 编码：请用记事本打开，“另存为”时编码选 UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise CampaignError(f"活动文件 {p} 格式有误：{toml_error_text(exc)}") from None
    except OSError as exc:
        raise CampaignError(f"活动文件 {p} 无法读取：{exc.strerror or exc}") from None
    campaign = parse_campaign(data, p)
    object.__setattr__(campaign, "source", source)
    return campaign


def default_campaign() -> Campaign:
    return load_campaign(None)


def write_default_campaign(directory: str | Path = ".", force: bool = False) -> Path:
    """Copy the built-in campaign file into DIRECTORY/campaign.toml for editing.

    Raises:
        CampaignError: when the file exists and force is False.
    """
    target = Path(directory) / DEFAULT_FILENAME
    if target.exists() and not force:
        raise CampaignError(f"{target} 已存在；如需覆盖请加 --force")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template_file("campaign.toml"), target)
    return target
