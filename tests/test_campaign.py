"""Campaign files: the built-in default, a department's own, and every way one can be broken."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from click.testing import CliRunner

from ledgerbook.campaign import default_campaign, load_campaign, write_default_campaign
from ledgerbook.cli import cli
from ledgerbook.errors import CampaignError

GOOD = """
[campaign]
institution = "示例大学"
title = "基层党组织整顿台账"
start = 2020-03-02
ledger_due = 2020-03-20
report_due = 2020-05-20
rectification_due = 2020-05-31

[[units]]
name = "文学院党委"
email = "wx@example.edu.cn"

[[units]]
name = "理学院党委"
secretary = "钱学文"

[[units]]
name = "图书馆党总支"
"""


def test_default_campaign_is_the_2019_notice():
    c = default_campaign()
    assert c.institution == "湖南科技大学"
    assert (c.start, c.ledger_due, c.report_due, c.rectification_due) == (
        dt.date(2019, 9, 3), dt.date(2019, 9, 13), dt.date(2019, 10, 25), dt.date(2019, 10, 31))
    assert 20 <= len(c.units) <= 30
    assert c.units[0].name == "机关党委"
    assert len(c.form.problems) == 8


def test_unit_names_typed_loosely_match_the_roster():
    c = default_campaign()
    assert c.match_unit(" 机电工程学院 ") == "机电工程学院党委"
    assert c.match_unit("中共机电工程学院委员会") == "机电工程学院党委"
    assert c.match_unit("机电学院") is None


def test_own_campaign(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(GOOD, encoding="utf-8")
    c = load_campaign(path)
    assert c.full_title == "示例大学基层党组织整顿台账"
    assert c.unit_names == ("文学院党委", "理学院党委", "图书馆党总支")
    assert c.unit("理学院党委").secretary == "钱学文"


def test_campaign_may_override_the_menu(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(GOOD + '\n[menu]\nproblems = ["问题甲很长的描述", "问题乙很长的描述"]\n', encoding="utf-8")
    c = load_campaign(path)
    assert c.form.problems == ("问题甲很长的描述", "问题乙很长的描述")


BROKEN = [
    ("unknown key", GOOD.replace('title = "', 'titel = "x"\ntitle = "'), "campaign.titel"),
    ("unknown section", GOOD + "\n[extra]\na = 1\n", "extra"),
    ("unknown unit key", GOOD.replace('secretary = "钱学文"', 'secretary = "钱学文"\nphone = "1"'), "units[2].phone"),
    ("missing date", GOOD.replace("report_due = 2020-05-20\n", ""), "campaign.report_due"),
    ("not a date", GOOD.replace("2020-03-20", '"3月20日"'), "campaign.ledger_due"),
    ("dates out of order", GOOD.replace("ledger_due = 2020-03-20", "ledger_due = 2020-03-01"), "campaign.ledger_due"),
    ("report before ledger", GOOD.replace("report_due = 2020-05-20", "report_due = 2020-03-10"), "campaign.report_due"),
    ("empty roster", GOOD.split("[[units]]")[0], "units"),
    ("duplicate unit", GOOD + '\n[[units]]\nname = " 文学院党委"\n', "units[4].name"),
    ("bad toml", GOOD + "\n[[units]\n", "第 21 行第 8 列：节名缺少右方括号"),
    ("unknown imap key", GOOD + '\n[imap]\nhost = "imap.qq.com"\npassword = "x"\n', "imap.password"),
    ("imap security", GOOD + '\n[imap]\nhost = "imap.qq.com"\nsecurity = "tls"\n', "imap.security"),
    ("imap port", GOOD + '\n[imap]\nhost = "imap.qq.com"\nport = "993"\n', "imap.port"),
    ("imap host", GOOD + "\n[imap]\nhost = 993\n", "imap.host"),
]


@pytest.mark.parametrize("label,text,key", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_campaign_is_one_chinese_line_and_exit_2(tmp_path, label, text, key):
    path = tmp_path / "campaign.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CampaignError) as info:
        load_campaign(path)
    assert key in str(info.value) and str(path) in str(info.value)
    result = CliRunner().invoke(cli, ["template", "-c", str(path), "-o", str(tmp_path / "t.xlsx")])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and re.search(r"[\u4e00-\u9fff]", lines[0]) and "Traceback" not in result.output
    assert not (tmp_path / "t.xlsx").exists()


def test_imap_section_and_its_defaults(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(GOOD + '\n[imap]\nhost = "imap.163.com"\nusername = "dwzzb@163.com"\n', encoding="utf-8")
    imap = load_campaign(path).imap
    assert (imap.host, imap.port, imap.security, imap.username, imap.folder, imap.password_env) == (
        "imap.163.com", 993, "ssl", "dwzzb@163.com", "INBOX", "LEDGERBOOK_IMAP_PASSWORD")
    # The port follows the security when not given (143 for STARTTLS); a given one is kept.
    path.write_text(GOOD + '\n[imap]\nhost = "mail.x.cn"\nsecurity = "STARTTLS"\n', encoding="utf-8")
    assert (load_campaign(path).imap.port, load_campaign(path).imap.security) == (143, "starttls")
    path.write_text(GOOD + '\n[imap]\nhost = "mail.x.cn"\nport = 1993\nfolder = "台账"\n', encoding="utf-8")
    assert (load_campaign(path).imap.port, load_campaign(path).imap.folder) == (1993, "台账")
    assert load_campaign(tmp_path / "c.toml").mail.host is None
    assert default_campaign().imap.host is None


def test_init_writes_the_imap_examples_commented_out(tmp_path):
    """Each of the three examples (QQ Mail, 163, Coremail), uncommented alone, is a valid section."""
    written = write_default_campaign(tmp_path)
    text = written.read_text(encoding="utf-8")
    assert load_campaign(written).imap.host is None
    blocks = re.findall(r"^# \[imap\]\n(?:# [a-z_]+ = .*\n)+", text, re.M)
    hosts = []
    for block in blocks:
        path = tmp_path / "one.toml"
        path.write_text(text.replace(block, re.sub(r"^# ", "", block, flags=re.M)), encoding="utf-8")
        imap = load_campaign(path).imap
        assert (imap.port, imap.security, imap.folder) == (993, "ssl", "INBOX") and imap.username
        hosts.append(imap.host)
    assert hosts == ["imap.qq.com", "imap.163.com", "imap.hnust.edu.cn"]


def test_missing_campaign_file(tmp_path):
    result = CliRunner().invoke(cli, ["template", "-c", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2 and "不存在" in result.output


def test_init_writes_and_refuses_to_overwrite(tmp_path):
    runner = CliRunner()
    first = runner.invoke(cli, ["init", str(tmp_path)])
    assert first.exit_code == 0, first.output
    written = tmp_path / "campaign.toml"
    assert load_campaign(written).institution == "湖南科技大学"
    written.write_text("# edited\n" + written.read_text(encoding="utf-8"), encoding="utf-8")
    again = runner.invoke(cli, ["init", str(tmp_path)])
    assert again.exit_code == 2 and "--force" in again.output
    assert written.read_text(encoding="utf-8").startswith("# edited")
    forced = runner.invoke(cli, ["init", str(tmp_path), "--force"])
    assert forced.exit_code == 0 and not written.read_text(encoding="utf-8").startswith("# edited")
    with pytest.raises(CampaignError):
        write_default_campaign(tmp_path)


def test_unit_addresses_split_the_roster_field_and_drop_what_is_no_address():
    from ledgerbook.campaign import Unit

    unit = Unit("机关党委", email="jgdw@example.edu.cn；Office@Example.edu.cn、 not-an-address")
    assert unit.addresses == ["jgdw@example.edu.cn", "Office@Example.edu.cn"]
    assert Unit("机关党委").addresses == []


def test_a_file_from_any_of_a_units_addresses_is_hinted_as_that_unit(tmp_path):
    import dataclasses

    from ledgerbook.campaign import default_campaign
    from ledgerbook.inbox import Document
    from ledgerbook.select import hint_unit

    campaign = default_campaign()
    first = campaign.units[0]
    campaign = dataclasses.replace(campaign, units=(dataclasses.replace(first, email="a@x.cn, B@Y.cn"),
                                                    *campaign.units[1:]))
    doc = Document(path="回复.eml/附件.xlsx", size=1, sha256="", received=None, kind="ledger", format="xlsx",
                   note="", sender="b@y.cn")
    assert hint_unit(doc, campaign) == first.name
