"""Saved e-mails: attachments, their names however a Chinese mailer encoded them, sender,
subject, date, and the MIME defects worked around."""

from __future__ import annotations

import datetime
import email.header
import email.policy
import email.utils
import re
import urllib.parse
from email.message import Message

from ..text import OFFICE_TZ
from . import limits
from .names import clean_component, decode_name, looks_chinese
from .sniff import sniff_head


# --- E-mail --------------------------------------------------------------------------------

def attachment_parts(msg: Message, notes: list[str]):
    """Yield the parts of ``msg`` that are attachments (not body text), depth-first.

    An attached e-mail (message/rfc822) is yielded whole: it becomes its own container.
    """
    stack = [(msg, 0)]
    too_deep = False
    while stack:
        part, level = stack.pop()
        if level > limits.MAX_MIME_DEPTH:
            too_deep = True
            continue
        if part is not msg and is_message(part):
            yield part
        elif part.is_multipart():
            payload = part.get_payload()
            children = payload if isinstance(payload, list) else []
            stack.extend((child, level + 1) for child in reversed(children)
                         if isinstance(child, Message))
        elif not _is_body(part):
            yield part
    if too_deep:
        notes.append(f"邮件结构嵌套超过 {limits.MAX_MIME_DEPTH} 层，更深的部分未读取")


def is_message(part: Message) -> bool:
    return part.get_content_type() in ("message/rfc822", "message/global")


def _is_body(part: Message) -> bool:
    """Body text (plain/HTML) of the mail, as opposed to an attached file."""
    if part.get_content_maintype() != "text":
        return False
    disposition = (_raw_header(part, "content-disposition") or "").split(";")[0].strip().lower()
    if disposition == "attachment":
        return False
    return not _raw_param(part, "filename") and not _raw_param(part, "name")


def is_signature(part: Message) -> bool:
    return part.get_content_type() in (
        "application/pkcs7-signature", "application/x-pkcs7-signature", "application/pgp-signature")


def part_bytes(part: Message) -> bytes:
    """The decoded bytes of a leaf part; an attached e-mail serialised back to bytes."""
    if is_message(part):
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            try:
                return inner[0].as_bytes()
            except Exception:  # noqa: BLE001 - odd headers: fall back to the lenient policy
                return inner[0].as_bytes(policy=email.policy.compat32)
    payload = part.get_payload(decode=True)
    if payload is None:
        raw = part.get_payload()
        payload = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""
    return payload


def attachment_name(part: Message) -> str | None:
    """The attachment's file name, decoded however the mailer encoded it.

    Chinese mailers write RFC 2231 (``filename*=``, continued as ``filename*0*=…;
    filename*1*=…``), RFC 2047 (``=?GBK?B?…?=``, also inside quotes), GB2312 labels on GBK
    text, raw GBK bytes, or both a ``filename`` and a ``filename*`` (the latter wins, RFC
    6266). The raw header is decoded by hand (:func:`names.decode_name`: the declared
    charset first, then by validity); the email package's reading is the fallback.

    Args:
        part: a MIME part.

    Returns:
        The bare file name (folders stripped, control characters replaced), or None.
    """
    manual = _manual_filename(part)
    if manual:
        return _bare_name(manual)
    policy_name = None
    try:
        policy_name = part.get_filename()
    except Exception:  # noqa: BLE001 - malformed parameters raise inside the email package
        pass
    if isinstance(policy_name, str) and policy_name.strip():
        if _clean_text(policy_name):
            return _bare_name(_repair_latin1(policy_name))
        return _bare_name(policy_name.encode("utf-8", "replace").decode("utf-8"))
    return None


def _manual_filename(part: Message) -> str | None:
    declared = _part_charset(part)
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        raw = _raw_header(part, header)
        if raw is None:
            continue
        value = _param_from_raw(raw, param, declared)
        if value:
            return value
    return None


def _part_charset(part: Message) -> str | None:
    """The charset a part declares (Content-Type ``charset``): raw 8-bit names are in it."""
    try:
        return part.get_content_charset()
    except Exception:  # noqa: BLE001 - a malformed Content-Type: no declaration
        return None


def _bare_name(name: str) -> str | None:
    """Strip folders (some mailers send C:\\Users\\…\\x.xlsx) and make the name displayable."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip().strip('"')
    return clean_component(name) if name else None


def _clean_text(text: str) -> bool:
    return "\ufffd" not in text and not any("\udc80" <= ch <= "\udcff" for ch in text)


def _raw_header(part: Message, name: str) -> str | None:
    for key, value in part.raw_items():
        if key.lower() == name:
            return value
    return None


def _raw_param(part: Message, param: str) -> bool:
    """Whether the part carries a file name parameter at all (however badly encoded)."""
    for header in ("content-disposition", "content-type"):
        raw = _raw_header(part, header)
        if raw and re.search(rf"(?i)(?:^|;)\s*{param}\*?(?:\d+\*?)?\s*=", raw):
            return True
    return False


_PARAM = re.compile(r"""(?isx) (?:^|;)\s* ([a-z0-9_-]+) (?:\*(\d+))? (\*)? \s*=\s*
                        ( "(?:[^"\\]|\\.)*" | [^;]* )""")


def _param_from_raw(raw: str, param: str, declared: str | None = None) -> str | None:
    """Decode one parameter of a raw header: RFC 2231 pieces, encoded words or raw bytes.

    A header may carry the plain ``name=``, the extended ``name*=`` and the continued
    ``name*0*=…; name*1=…`` forms at once: extended beats continued beats plain.
    """
    text = re.sub(r"\r?\n[ \t]", " ", raw.encode("utf-8", "surrogateescape").decode("latin-1"))
    plain: bytes | None = None
    extended: bytes | None = None
    pieces: dict[int, tuple[bool, bytes]] = {}
    for match in _PARAM.finditer(text):
        key, index, star, value = match.groups()
        if key.lower() != param:
            continue
        value = value.strip()
        if value.startswith('"'):
            # Only \" and \\ are real escapes here; other backslashes are Windows folders.
            value = re.sub(r'\\([\\"])', r"\1", value[1:-1] if value.endswith('"') else value[1:])
        raw_value = value.encode("latin-1")
        if index is not None:
            pieces.setdefault(int(index), (bool(star), raw_value))
        elif star:
            extended = extended if extended is not None else raw_value
        else:
            plain = plain if plain is not None else raw_value
    if extended is not None:
        decoded = _rfc2231_value([(True, extended)], declared)
        if decoded:
            return decoded
    if pieces:
        ordered = [pieces[i] for i in sorted(pieces)]
        decoded = (_rfc2231_value(ordered, declared) if any(ext for ext, _ in ordered)
                   else _header_text(b"".join(value for _, value in ordered), declared))
        if decoded:
            return decoded
    if plain is not None:
        return _header_text(plain, declared) or None
    return None


def _rfc2231_value(pieces: list[tuple[bool, bytes]], declared: str | None = None) -> str | None:
    """Join RFC 2231 continuations (``name*0*=gbk''%D5%FB``, ``name*1*=…``) and decode them."""
    charset = None
    out = b""
    for i, (extended, value) in enumerate(pieces):
        if extended and i == 0 and value.count(b"'") >= 2:
            cs, _lang, value = value.split(b"'", 2)
            charset = cs.decode("ascii", "replace")
        out += urllib.parse.unquote_to_bytes(value) if extended else value
    return decode_name(out, charset or declared) or None


def _header_text(raw: bytes | str, declared: str | None = None) -> str:
    """Decode a header value: raw 8-bit bytes (in the declared charset, else by validity) and
    RFC 2047 encoded words (each in its own charset)."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    text = decode_name(raw, declared)
    text = re.sub(r"\r?\n[ \t]+", " ", text)
    if "=?" in text:
        text = _decode_encoded_words(text)
    return _repair_latin1(text).strip()


def _decode_encoded_words(text: str) -> str:
    try:
        words = email.header.decode_header(text)
    except Exception:  # noqa: BLE001 - bad base64 inside a word: keep the text as it is
        return text
    out = []
    for word, charset in words:
        if isinstance(word, str):
            out.append(word)
        elif charset is None:
            out.append(word.decode("raw-unicode-escape", "replace"))
        else:
            out.append(decode_name(word, charset))
    return "".join(out)


def _repair_latin1(text: str) -> str:
    """Undo Chinese bytes decoded as Latin-1 (a mailer that labelled GBK or UTF-8 text
    ``iso-8859-1``), but only when the repair reads as Chinese: a real ``ciële`` stays."""
    if not any("\x80" <= ch <= "\xff" for ch in text) or any(ch > "\xff" for ch in text):
        return text
    raw = text.encode("latin-1")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    fixed = decode_name(raw)
    return fixed if looks_chinese(fixed) else text


def mail_from(msg: Message) -> tuple[str, str | None]:
    """The From header: display name (decoded, "" when none) and address (lower case, or None)."""
    raw = _raw_header(msg, "from")
    if raw is None:
        return "", None
    name, addr = email.utils.parseaddr(_header_text(raw, _message_charset(msg)))
    return name.strip(), addr.strip().lower() or None


def mail_sender(msg: Message) -> str | None:
    """The From address (addr-spec, lower case), or None."""
    return mail_from(msg)[1]


def mail_subject(msg: Message) -> str | None:
    raw = _raw_header(msg, "subject")
    if raw is None:
        return None
    return _header_text(raw, _message_charset(msg)) or None


def _message_charset(msg: Message) -> str | None:
    """The charset a message declares for its text (its own, else its first text part's):
    mailers that put raw 8-bit bytes in Subject write them in that charset."""
    for part in _walk_parts(msg):
        if part.get_content_maintype() in ("text", "multipart"):
            charset = _part_charset(part)
            if charset:
                return charset
    return None


def mail_date(msg: Message) -> datetime.datetime | None:
    """The Date header as a naive datetime on the office's clock, or None if missing/garbage."""
    raw = _raw_header(msg, "date")
    if not raw:
        return None
    try:
        when = email.utils.parsedate_to_datetime(_header_text(raw))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000": RFC 5322 says UTC with no local zone known
        when = when.replace(tzinfo=datetime.timezone.utc)
    if not 1990 <= when.year <= 2100:
        return None
    return when.astimezone(OFFICE_TZ).replace(tzinfo=None)


_DEFECT_NOTES = {
    "StartBoundaryNotFoundDefect": "找不到 MIME 分段边界",
    "CloseBoundaryNotFoundDefect": "MIME 分段没有结束边界",
    "MultipartInvariantViolationDefect": "声明为多段但内容不是多段",
    "NoBoundaryInMultipartDefect": "多段邮件没有声明边界",
    "MissingHeaderBodySeparatorDefect": "邮件头与正文之间缺少空行",
    "InvalidBase64PaddingDefect": "附件的 Base64 编码不完整",
    "InvalidBase64CharactersDefect": "附件的 Base64 编码含非法字符",
    "InvalidBase64LengthDefect": "附件的 Base64 编码长度不对",
}


def defect_note(msg: Message) -> str | None:
    """A Chinese note on the MIME defects the parser worked around, or None."""
    found: list[str] = []
    for part in _walk_parts(msg):
        for defect in getattr(part, "defects", ()):
            text = _DEFECT_NOTES.get(type(defect).__name__)
            if text and text not in found:
                found.append(text)
    if not found:
        return None
    return f"邮件格式不规范（{'、'.join(found)}），已尽量读取，附件可能不全或损坏"


def _walk_parts(msg: Message):
    """Every part of one message (not of attached messages), depth-limited."""
    stack = [(msg, 0)]
    while stack:
        part, level = stack.pop()
        yield part
        if level < limits.MAX_MIME_DEPTH and part.is_multipart() and not is_message(part):
            payload = part.get_payload()
            if isinstance(payload, list):
                stack.extend((p, level + 1) for p in payload if isinstance(p, Message))


_TYPE_EXTS = {
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.ms-excel.sheet.macroenabled.12": "xlsm",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/pdf": "pdf",
    "application/zip": "zip",
    "application/x-zip-compressed": "zip",
    "message/rfc822": "eml",
    "application/vnd.ms-outlook": "msg",
    "application/ms-tnef": "dat",
    "application/vnd.ms-tnef": "dat",
    "text/csv": "csv",
    "text/html": "html",
    "text/plain": "txt",
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
}


def default_attachment_name(part: Message, number: int, payload: bytes) -> str:
    """``附件<n>.<ext>`` for an attachment without a name: extension from the type or the bytes."""
    return default_name(number, part.get_content_type(), payload)


def default_name(number: int, content_type: str | None, payload: bytes) -> str:
    """``附件<n>.<ext>``: the extension from the MIME type when known, else from the bytes."""
    ext = _TYPE_EXTS.get((content_type or "").lower())
    if ext is None:
        fmt = sniff_head("", payload[:limits.HEAD_BYTES]).format
        ext = {"image": "img", "unknown": "bin", "empty": "bin", "winmail": "dat", "audio": "bin",
               "video": "bin", "ole": "bin"}.get(fmt, fmt)
    return f"附件{number}.{ext}"
