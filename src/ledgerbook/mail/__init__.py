"""The mail round: ``drafts`` writes the messages (.eml) for the templates, the send-backs and
the reminders; ``send`` sends them over SMTP, once each."""

from ..errors import MailError
from .drafts import (
    KINDS, Attachment, Draft, MailPlan, compose_feedback_drafts, feedback_drafts, template_drafts, unit_addresses,
)
from .send import LOG_NAME, SendReport, send

__all__ = ["KINDS", "LOG_NAME", "Attachment", "Draft", "MailError", "MailPlan", "SendReport",
           "compose_feedback_drafts", "feedback_drafts", "send", "template_drafts", "unit_addresses"]
