"""bayesres.facts: merged city facts keep every list's source and verification note."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bayesres.facts import LIST_COLUMNS, city_facts, verification_status, verification_summary

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture(scope="module")
def facts() -> pd.DataFrame:
    return city_facts()


def test_one_row_per_city_and_verification_columns_kept(facts):
    assert facts["name_zh"].is_unique and facts["name_pinyin"].is_unique
    for _, ver, url in LIST_COLUMNS.values():
        assert ver in facts.columns and url in facts.columns
    assert all(n.endswith("市") for n in facts["name_zh"])


def test_counts_follow_the_vendored_lists(facts):
    # Yicai 2020 list (data/facts/README.md): 4 first, 15 new first, 30 second, 70 third tier
    assert facts["tier_2020"].value_counts().to_dict() == {
        "": len(facts) - 119, "third": 70, "second": 30, "new_first": 15, "first": 4}
    # pilot batches 1-5 announced 1/12/22/24/46; minus county-level entries (Yiwu; Hunchun,
    # Suifenhe; Xiong'an, Manzhouli) and the Dehong autonomous prefecture (not a city)
    got = facts.loc[facts["pilot_batch"].between(1, 5), "pilot_batch"].value_counts()
    assert got.sort_index().to_dict() == {1: 1, 2: 12, 3: 21, 4: 22, 5: 43}
    assert facts["central"].sum() == 36  # 4 municipalities + 27 capitals + 5 sub-provincial
    assert "义乌市" not in set(facts["name_zh"]) and "昆山市" not in set(facts["name_zh"])


def test_csv_on_disk_matches_builder(facts):
    disk = pd.read_csv(DATA / "city_facts.csv", keep_default_na=False)
    assert disk.shape == facts.shape
    assert disk["name_zh"].tolist() == facts["name_zh"].tolist()
    assert disk["tier_verification"].tolist() == facts["tier_verification"].tolist()


def test_verification_status_rules():
    assert verification_status("verified (list printed in source)") == "verified"
    assert verification_status("from memory - unverified") == "unverified"
    assert verification_status(
        "from memory of the annex; total 126 matches plan text (verified); per-city "
        "membership/type needs check against annex") == "unverified"
    assert verification_status("roster verified; signing date from memory") == "verified"
    assert verification_status("") == ""


def test_verification_summary_flags_partly_verified_lists(facts):
    s = verification_summary(facts, columns=["tier_2020", "resource_type"])
    assert s["tier_2020"]["n_unverified"] == 0  # all 2020 rows read in the source
    assert s["resource_type"]["n_unverified"] > 0
    assert s["lists_with_unverified"] == ["resource_based_cities_2013"]
    assert s["any_unverified"] is True
    clean = verification_summary(facts, columns=["tier_2020"])
    assert clean["any_unverified"] is False
    with pytest.raises(KeyError):
        verification_summary(facts, columns=["nope"])
