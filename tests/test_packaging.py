"""The built wheel carries the data files the package needs.

CI installs the checkout in editable mode, where `resources` finds `workbook_templates/` in the
checkout: a wheel that left them out would still pass every other test. So build the wheel once
and look inside it, then run the installed code from it.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    pytest.importorskip("hatchling")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out), str(ROOT)], check=True, capture_output=True, timeout=300)
    (found,) = out.glob("ledgerbook-*.whl")
    return found


def test_wheel_holds_the_form_and_the_default_campaign(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for data in ("form.toml", "campaign.toml"):
        assert f"ledgerbook/workbook_templates/{data}" in names
    assert "ledgerbook/cli.py" in names
    assert not any(n.startswith("tests/") for n in names)


def test_wheel_ships_the_workbench_templates_and_assets(wheel):
    import ledgerbook.serve

    names = set(zipfile.ZipFile(wheel).namelist())
    package = Path(ledgerbook.serve.__file__).parent
    shipped = [p.relative_to(package).as_posix() for folder in ("templates", "static")
               for p in (package / folder).iterdir() if p.is_file()]
    assert {"templates/base.html", "templates/overview.html", "static/app.css", "static/app.js"} <= set(shipped)
    assert {f"ledgerbook/serve/{name}" for name in shipped} <= names


def test_installed_wheel_finds_its_data_without_the_checkout(wheel, tmp_path):
    # Unpacked alone (no checkout on sys.path), the package must find its own data files.
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = ("import ledgerbook.resources as r, ledgerbook.campaign as c; "
            "print(r.templates_dir()); print(c.default_campaign().title)")
    done = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(site)!r}); {code}"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    where, title = done.stdout.splitlines()
    assert Path(where).is_relative_to(site)
    assert title
