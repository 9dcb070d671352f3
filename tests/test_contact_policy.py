"""The playbook's contact-policy fields: which consent purpose governs a rule, and a default rule consent cannot stop."""

from __future__ import annotations

from pathlib import Path

import pytest

from customer360.core.config import ConfigError, load_config
from customer360.core.rules import PlaybookRule, load_rules

DEMO = Path(__file__).resolve().parents[1] / "examples" / "kaufhaus-nord" / "customer360.yml"


def rule(**fields: object) -> PlaybookRule:
    return PlaybookRule(id="R1", priority=1, action_code="act", action="Act", reason="Why", **fields)


@pytest.mark.parametrize(
    ("fields", "purpose"),
    [
        ({"requires_consent": "newsletter", "promotional": True}, "newsletter"),
        ({"purpose": "profiling"}, "profiling"),
        ({"promotional": True}, "marketing"),
        ({}, "service"),
    ],
)
def test_the_purpose_that_governs_a_rule(fields: dict[str, object], purpose: str) -> None:
    assert rule(**fields).consent_purpose == purpose


def test_a_rule_cannot_require_consent_for_another_purpose_than_its_own() -> None:
    with pytest.raises(ValueError, match="purpose 'offers' differs from requires_consent 'newsletter'"):
        rule(requires_consent="newsletter", purpose="offers")


def project(folder: Path, playbook: str) -> Path:
    folder.mkdir()
    (folder / "playbook.yml").write_text(playbook, encoding="utf-8")
    config = folder / "customer360.yml"
    config.write_text(
        "rules: { next_best_action: playbook.yml }\n"
        "sources:\n  shop:\n    connector: sqlite\n    path: shop.sqlite\n    tables: { customers: { primary_key: id } }\n",
        encoding="utf-8",
    )
    return config


def test_the_default_rule_must_contact_nobody(tmp_path: Path) -> None:
    """A default rule on a channel could be stopped by an objection to every contact, leaving a customer without
    an action; `channel: none` is never governed by consent."""
    calls = project(
        tmp_path / "calls",
        "rules:\n  - {id: R1, priority: 1, action_code: call, action: Call, reason: Always, channel: phone}\n",
    )
    with pytest.raises(ConfigError, match=r"no default rule: .*contacts nobody \(`channel: none`\)"):
        load_rules(load_config(calls))
    config = load_config(
        project(
            tmp_path / "waits",
            "rules:\n  - {id: R1, priority: 1, action_code: wait, action: Wait, reason: Always, channel: none}\n",
        )
    )
    assert [r.channel for r in load_rules(config).playbook] == ["none"]


def test_the_products_playbook_governs_promotions_by_marketing_consent() -> None:
    default = load_rules(load_config(DEMO))
    by_code = {r.action_code: r for r in default.playbook}
    assert by_code["counter_value_drop"].consent_purpose == "newsletter"
    assert by_code["win_back_valuable_customer"].consent_purpose == "marketing"
    assert by_code["resolve_open_complaint"].consent_purpose == "service"
    assert by_code["no_action"].channel == "none"
