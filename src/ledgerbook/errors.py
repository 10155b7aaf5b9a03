"""Exceptions raised when ledgerbook cannot go on (never for a problem inside a returned file)."""


class LedgerbookError(Exception):
    """Base class: the message is one Chinese line meant for the user."""


class CampaignError(LedgerbookError):
    """The campaign file is missing, unreadable or inconsistent."""


class FormError(LedgerbookError):
    """The form definition under workbook_templates/ is broken."""


class InboxError(LedgerbookError):
    """The inbox folder does not exist or is not a folder."""


class OutputError(LedgerbookError):
    """An output file cannot be written (open in Excel, exists, not writable)."""


class OverwriteError(OutputError):
    """An output would replace or remove a file ledgerbook did not write, or one changed since."""


class SummaryError(LedgerbookError):
    """A workbook given as an earlier summary is not one that ledgerbook wrote."""


class MailError(LedgerbookError):
    """Mail cannot be sent: no [mail] host, no sender, no password, the server refuses."""


class FetchError(LedgerbookError):
    """The mailbox cannot be read: no [imap] settings or password, the server cannot be reached,
    refuses the login or the certificate, or the connection broke off."""


def reraise_interrupts(exc: BaseException) -> None:
    """Let Ctrl-C and exits through an ``except BaseException`` that turns a crash into a
    file's finding (a Rust panic in calamine arrives as pyo3's PanicException, a BaseException)."""
    if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
        raise exc
