"""`ledgerbook demo`: a whole campaign round on the built-in campaign, in seconds.

``run`` plays it (templates, first round, summary, feedback, second round with --since);
``rounds`` fills the two inboxes; ``samples`` makes returned ledgers the way units fill them;
``files`` makes Word/PDF reports and LibreOffice conversions (shared with the tests).
"""

from . import samples
from .rounds import build_first_round, build_second_round
from .run import DemoResult, run_demo

__all__ = ["DemoResult", "build_first_round", "build_second_round", "run_demo", "samples"]
