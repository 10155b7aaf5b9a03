"""Safety limits of the inbox scan: every bound on what one hostile file may cost is named here.

They are read as ``limits.NAME`` at run time, so they can be tuned (and tested) without
reloading anything."""

from __future__ import annotations


MB = 1024 * 1024

# --- Safety limits -------------------------------------------------------------------------
# A returned ledger is tens of KB and a self-evaluation report a few MB; the limits leave a
# wide margin for real files while keeping one hostile file from eating the machine.

#: Archives (zip) are opened this many levels deep: a.zip/b.zip/c.zip is opened, a fourth
#: level is listed as unreadable. Nobody nests zips deeper by hand; zip bombs do.
MAX_DEPTH = 3
#: Messages (e-mails, Outlook items, winmail.dat) inside messages are opened this many levels
#: deep: a forward of a forward of a forward is common, and each level is small; the member
#: and size budgets below still bound the whole.
MAX_MESSAGE_DEPTH = 12
#: Members listed per top-level file (nested archives and attachments included): a unit
#: sends a handful of files; thousands mean an accident (a zipped home folder) or an attack.
MAX_MEMBERS = 2_000
#: Archives whose directory declares more entries than this are not opened at all: the zip
#: module builds one object per entry before we could stop, so a directory of a million
#: tiny entries would cost gigabytes.
MAX_ZIP_ENTRIES = 20_000
#: Largest member or attachment kept in memory (uncompressed). Scanned PDF reports stay
#: well below; anything larger is not something this tool should read.
MAX_MEMBER_SIZE = 50 * MB
#: Total uncompressed bytes unpacked from one top-level file, over all its nested members.
MAX_ARCHIVE_TOTAL = 200 * MB
#: Members over RATIO_MIN_SIZE compressing better than this are zip bombs: real workbooks
#: and documents compress 2-20:1, a run of zeros about 1000:1.
MAX_RATIO = 200
RATIO_MIN_SIZE = 1 * MB
#: Members and attachments keep their bytes in the Document; this caps the sum over the
#: whole scan so that many large archives cannot exhaust memory together.
MAX_KEPT_TOTAL = 1024 * MB
#: Plain files up to this size are read in one go (hash and sniff from the same bytes);
#: larger ones are hashed in chunks and classified from their first bytes only.
MAX_PLAIN_READ = 128 * MB
#: A saved e-mail is parsed whole, in memory, several times over by the email package.
MAX_EML_SIZE = 100 * MB
#: MIME parts nested deeper than this are not visited (recursion guard for broken mail).
MAX_MIME_DEPTH = 30
#: Display names longer than this (characters) are shortened, keeping the extension.
MAX_NAME_CHARS = 200

HEAD_BYTES = 64 * 1024          # bytes looked at when sniffing text formats
CHUNK_BYTES = 1 * MB            # read size for hashing big files and for bounded member reads
