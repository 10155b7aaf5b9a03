"""Page set-up: the paper and scale chosen for a sheet's printed columns."""

from __future__ import annotations

from hypothesis import given, strategies as st

from ledgerbook import paper
from ledgerbook.paper import A3, A4, choose, columns_width_pt, printable_width_pt


def widths_of(points: float) -> list[float]:
    """Columns of 10 characters adding up to about `points`."""
    return [10.0] * max(1, round(points / columns_width_pt([10.0])))


def test_narrow_tables_print_on_a4_at_full_size():
    setup = choose([20, 30, 40], 10)
    assert (setup.paper, setup.landscape, setup.scale, setup.pages_wide) == (A4, True, 100, 1)
    assert choose([20, 30, 20], 10, portrait=True).landscape is False


def test_a_slightly_wide_table_is_scaled_on_a4_rather_than_sent_to_a3():
    widths = widths_of(printable_width_pt(A4, True) * 1.05)
    setup = choose(widths, 10)
    assert setup.paper == A4 and setup.landscape and 90 <= setup.scale < 100


def test_a_wide_table_goes_to_a3_and_a_very_wide_one_several_pages_wide():
    setup = choose(widths_of(printable_width_pt(A4, True) * 1.3), 10)
    assert setup.paper == A3 and setup.landscape and setup.scale >= 90 and setup.pages_wide == 1
    setup = choose(widths_of(printable_width_pt(A3, True) * 2), 10)
    assert setup.paper == A3 and setup.scale == 90 and setup.pages_wide == 2


@given(st.lists(st.floats(min_value=1, max_value=80), min_size=1, max_size=40), st.sampled_from([9, 10, 11, 12]))
def test_printed_text_is_never_smaller_than_9_pt(widths, font_pt):
    setup = choose(widths, font_pt)
    assert setup.scale * font_pt / 100 >= paper.MIN_TEXT_PT
    if setup.pages_wide == 1:
        assert columns_width_pt(widths) * setup.scale / 100 <= setup.printable_width_pt


def test_header_and_footer_codes():
    assert paper.header_text("A&B大学") == "&L&10A&&B大学&R&10&A"
    assert "&P" in paper.footer_text() and "&N" in paper.footer_text()
