"""ledgerbook: send out, collect, check and summarise the 菜单式整顿台账 of a campaign.

The public API is imported lazily so that `ledgerbook --help` starts fast (pandas and the
readers load only when a command needs them).
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = [
    "Campaign",
    "Collection",
    "Finding",
    "RoundResult",
    "collect",
    "compare",
    "default_campaign",
    "load_campaign",
    "read_previous",
    "run_round",
    "write_feedback",
    "write_summary",
    "write_template",
    "write_unit_templates",
]

_WHERE = {
    "Campaign": "campaign",
    "default_campaign": "campaign",
    "load_campaign": "campaign",
    "Collection": "collect",
    "collect": "collect",
    "compare": "changes",
    "Finding": "findings",
    "read_previous": "snapshot",
    "RoundResult": "workflow",
    "run_round": "workflow",
    "write_feedback": "feedback",
    "write_summary": "summary",
    "write_template": "template",
    "write_unit_templates": "template",
}


def __getattr__(name: str):
    if name in _WHERE:
        import importlib

        module = importlib.import_module(f".{_WHERE[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module 'ledgerbook' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
