#!/usr/bin/env python3
"""Regenerate the finding-codes table in README.md from ledgerbook.findings.CATALOGUE.

    python scripts/gen_codes_table.py          # rewrite README.md in place
    python scripts/gen_codes_table.py --check  # exit 1 if README.md is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

from ledgerbook.findings import CATALOGUE

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- codes:start -->", "<!-- codes:end -->"


def table() -> str:
    lines = ["| 代码 | 问题类型 | 级别 | 何时 |", "|---|---|---|---|"]
    for code in CATALOGUE.values():
        lines.append(f"| `{code.code}` | {code.name} | {code.level} | {code.when} |")
    return "\n".join(lines)


def render(text: str) -> str:
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table()}\n{END}{tail}"


def main() -> int:
    text = README.read_text(encoding="utf-8")
    new = render(text)
    if "--check" in sys.argv:
        if new != text:
            print("README.md finding-codes table is out of date: run python scripts/gen_codes_table.py")
            return 1
        return 0
    README.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
