"""Where the peer projects' sample files are: ``shared/peer-files`` beside the repository (a
git worktree nested deeper finds it further up), or the folder LEDGERBOOK_PEER_FILES names.

A plain module (not conftest) so tests anywhere can import it by name.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _peer_files() -> Path:
    given = os.environ.get("LEDGERBOOK_PEER_FILES")
    if given:
        return Path(given)
    for folder in ROOT.parents:
        candidate = folder / "shared" / "peer-files"
        if candidate.is_dir():
            return candidate
    return ROOT.parent / "shared" / "peer-files"


PEER_FILES = _peer_files()


def peer_file(name: str) -> Path:
    """One peer file; the calling test (or fixture) is skipped where the folder is not beside
    the checkout, as on a laptop with the repository alone."""
    import pytest

    path = PEER_FILES / name
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    return path
