"""Shared test fixtures: LibreOffice conversion (batched, once per call), a Dovecot IMAP server
and small helpers."""

from __future__ import annotations

import pytest

from browser_helpers import REQUIRE_BROWSER, have_browser
from dovecot_helpers import DOVECOT, OPENSSL, REQUIRE_DOVECOT, Dovecot
from soffice_helpers import REQUIRE_SOFFICE, SOFFICE, soffice_convert  # noqa: F401 (re-exported)


def pytest_collection_modifyitems(config, items):
    """Tests marked `soffice` / `browser` are skipped where LibreOffice / Chromium is absent,
    unless CI requires them (LEDGERBOOK_REQUIRE_SOFFICE=1, LEDGERBOOK_REQUIRE_BROWSER=1): then
    nothing is skipped and a missing program fails the tests."""
    skip_soffice = not (SOFFICE or REQUIRE_SOFFICE)
    skip_browser = not (REQUIRE_BROWSER or have_browser())
    for item in items:
        if skip_soffice and "soffice" in item.keywords:
            item.add_marker(pytest.mark.skip(reason="LibreOffice (soffice) 未安装"))
        if skip_browser and "browser" in item.keywords:
            item.add_marker(pytest.mark.skip(reason="Chromium/chromedriver 或 selenium 未安装"))


@pytest.fixture(scope="session")
def campaign():
    from ledgerbook.campaign import default_campaign

    return default_campaign()


@pytest.fixture(scope="session")
def form():
    from ledgerbook.form import load_form

    return load_form()


@pytest.fixture(scope="session")
def dovecot():
    """A real Dovecot IMAP server for the whole session; skipped where Dovecot is absent, an
    error when CI requires it (LEDGERBOOK_REQUIRE_DOVECOT=1)."""
    if not (DOVECOT and OPENSSL):
        message = "Dovecot (apt: dovecot-imapd) 或 openssl 未安装"
        if REQUIRE_DOVECOT:
            pytest.fail(f"LEDGERBOOK_REQUIRE_DOVECOT=1，但{message}", pytrace=False)
        pytest.skip(message)
    server = Dovecot()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()
