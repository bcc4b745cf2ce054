"""content/facts.yml: every fact a topic cites exists, matches its sources and lists its topics."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.content.check import check_catalog
from bot.content.facts import is_facts_file_id
from bot.content.loader import read_catalog
from tests.conftest import REPO

CONTENT = REPO / "content"
NEW_TOPICS = ("iin_number", "sim_card_phone", "bank_money", "kandas_repatriation", "civil_registration", "housing_rent")


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    copy = tmp_path / "content"
    shutil.copytree(CONTENT, copy)
    return copy


def _edit(path: Path, change: Callable[[Any], None]) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _errors(content: Path) -> list[str]:
    return [p.message for p in check_catalog(read_catalog(content)) if p.is_error]


def _fact(data: dict[str, Any], fact_id: str) -> dict[str, Any]:
    return next(f for f in data["facts"] if f["id"] == fact_id)


def test_the_new_topics_cite_every_researched_fact_and_only_those() -> None:
    catalog = read_catalog(CONTENT)
    assert catalog.facts, "content/facts.yml was not loaded"
    cited = {s.fact for t in NEW_TOPICS for s in catalog.topics[t].sources if is_facts_file_id(s.fact)}
    assert cited == set(catalog.facts)


def test_legal_facts_ids_are_not_looked_up_in_the_facts_file() -> None:
    assert not is_facts_file_id("A3")
    assert not is_facts_file_id("F0.1")
    assert not is_facts_file_id("§11")
    assert is_facts_file_id("iin_documents")


def test_a_cited_fact_missing_from_the_facts_file_is_reported(broken: Path) -> None:
    _edit(broken / "topics/bank_money.yml", lambda d: d["sources"][0].update(fact="bank_made_up"))
    assert any("bank_money.yml: source fact 'bank_made_up' is not in content/facts.yml" in e for e in _errors(broken))


def test_a_fact_cited_with_a_url_it_does_not_have_is_reported(broken: Path) -> None:
    _edit(broken / "topics/bank_money.yml", lambda d: d["sources"][0].update(url="https://example.org/other"))
    errors = _errors(broken)
    assert any("fact 'iin_needed_for_services' is cited with https://example.org/other" in e for e in errors)


def test_a_fact_cited_with_another_date_is_reported(broken: Path) -> None:
    _edit(broken / "topics/bank_money.yml", lambda d: d["sources"][0].update(date="2019"))
    assert any("fact 'iin_needed_for_services': date '2019' differs" in e for e in _errors(broken))


def test_topics_of_a_fact_must_match_the_topics_citing_it(broken: Path) -> None:
    wrong_topics = ["iin_number", "healthcare"]
    _edit(broken / "facts.yml", lambda d: _fact(d, "iin_needed_for_services").update(topics=wrong_topics))
    errors = _errors(broken)
    assert any("iin_needed_for_services: lists topic 'healthcare', which does not cite it" in e for e in errors)
    assert any("iin_needed_for_services: cited by topic 'bank_money', which it does not list" in e for e in errors)


def test_a_fact_needing_a_lawyer_must_be_under_verify(broken: Path) -> None:
    _edit(broken / "topics/bank_money.yml", lambda d: d.update(verify=[]))
    assert any("bank_money.yml: fact 'bank_nonresident_cards_limited' needs a lawyer" in e for e in _errors(broken))


def test_verify_naming_an_unknown_fact_is_reported(broken: Path) -> None:
    _edit(broken / "topics/housing_rent.yml", lambda d: d["verify"].append("rent_made_up"))
    assert any("housing_rent.yml: verify names 'rent_made_up'" in e for e in _errors(broken))


def test_a_repeated_fact_id_and_a_fact_without_sources_are_reported(broken: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        data["facts"].append(dict(_fact(data, "imei_verification")))
        _fact(data, "bank_rules_set_by_each_bank")["sources"] = []

    _edit(broken / "facts.yml", change)
    errors = _errors(broken)
    assert any("fact id 'imei_verification' repeats" in e for e in errors)
    assert any("facts.yml: facts[" in e and "sources" in e for e in errors)


def test_a_missing_facts_file_is_reported(broken: Path) -> None:
    (broken / "facts.yml").unlink()
    errors = _errors(broken)
    assert any("facts.yml: cannot read YAML" in e for e in errors)
    assert any("source fact 'iin_needed_for_services' is not in content/facts.yml" in e for e in errors)
