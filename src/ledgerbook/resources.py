"""Where the data files (form definition, default campaign) live, installed or in a checkout."""

from __future__ import annotations

from pathlib import Path


def templates_dir() -> Path:
    """The `workbook_templates` folder: inside the installed package, else the checkout's."""
    packaged = Path(__file__).with_name("workbook_templates")
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / "workbook_templates"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError("workbook_templates 目录缺失：请重新安装 ledgerbook")


def template_file(name: str) -> Path:
    return templates_dir() / name
