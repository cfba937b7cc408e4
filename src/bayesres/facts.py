"""Public administrative facts about Chinese prefecture-level cities, one row per city.

Built from the vendored lists in ``data/facts/`` (see its README): Yicai city tiers, the
cross-border e-commerce (CBEC) pilot zones, the 2013 resource-based cities plan, the "Broadband
China" demonstration cities, the central cities of paper 003 and the 42 direct customs districts.

Every list keeps its ``source_url`` and its ``verification`` text (as ``<list>_source_url`` and
``<list>_verification``): rows compiled from memory must be checked before anyone relies on them
row by row, and :func:`verification_summary` says which lists used by an analysis hold such rows.

Rules (documented in ``data/city_facts.toml``):

* One row per prefecture-level city (地级市, municipalities included), keyed by its Chinese name.
  County-level cities (flagged in the pilot list, or known county-level: 昆山, 永城, 阿拉尔, 库尔勒,
  满洲里), autonomous prefectures and prefectures (州 / 地区), a state-level new area (雄安新区) and
  city districts are not cities of this table; entries that name a city in a wider form are mapped
  to it (福州市(含平潭) -> 福州市; 长株潭城市群 -> 长沙市, 株洲市, 湘潭市; 重庆 districts 九龙坡区 and
  北碚区 -> 重庆市), with a note in ``broadband_note``.
* ``pilot_year`` is the year of the city's first CBEC batch (0 = never piloted, batches 1-7).
* ``tier_2020`` is the Yicai 2020 tier (first / new_first / second / third; "" if unlisted).
* The central-city list has no verification column; its source says "not checked against a
  source", so its rows are marked unverified here.

Run ``python -m bayesres.facts --out data/`` to write ``city_facts.csv`` and its datasheet.
"""

from __future__ import annotations

import argparse
import importlib.resources
import re
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "city_facts",
    "verification_status",
    "verification_summary",
    "write",
    "LIST_COLUMNS",
]

_TIER_CODES = {"1": "first", "new1": "new_first", "2": "second", "3": "third"}
# County-level cities that appear in the lists without a county-level flag (public admin facts).
_KNOWN_COUNTY_LEVEL = {
    "昆山市",
    "永城市",
    "阿拉尔市",
    "库尔勒市",
    "满洲里市",
    "义乌市",
    "珲春市",
    "绥芬河市",
    "延吉市",
    "同江市",
    "阿拉山口市",
}
_BROADBAND_MAP = {
    "福州市(含平潭)": (["福州市"], "listed as 福州市(含平潭)"),
    "长株潭城市群": (["长沙市", "株洲市", "湘潭市"], "as part of 长株潭城市群"),
    "九龙坡区": (["重庆市"], "districts 九龙坡区 and 北碚区 only"),
    "北碚区": (["重庆市"], "districts 九龙坡区 and 北碚区 only"),
}
_PINYIN_FIX = {
    "重庆市": "Chongqing",
    "长沙市": "Changsha",
    "株洲市": "Zhuzhou",
    "湘潭市": "Xiangtan",
    "福州市": "Fuzhou",
}

#: analysis column -> (list name, verification column, source_url column)
LIST_COLUMNS: dict[str, tuple[str, str, str]] = {
    "tier_2020": ("city_tiers_yicai", "tier_verification", "tier_source_url"),
    "pilot_year": ("cbec_pilot_zones", "pilot_verification", "pilot_source_url"),
    "pilot_batch": ("cbec_pilot_zones", "pilot_verification", "pilot_source_url"),
    "resource_type": ("resource_based_cities_2013", "resource_verification", "resource_source_url"),
    "broadband_year": (
        "broadband_china_demo_cities",
        "broadband_verification",
        "broadband_source_url",
    ),
    "central": ("central_cities", "central_verification", "central_source_url"),
    "customs_host": ("customs_direct_districts", "customs_verification", "customs_source_url"),
}

_UNVERIFIED = re.compile(r"^from memory|unverified|needs check|not checked", re.IGNORECASE)


def _data_dir() -> Path:
    """The bundled data folder: the repository's data/ or, in a wheel, bayesres/_data."""
    repo = Path(__file__).resolve().parents[2] / "data"
    if repo.is_dir():
        return repo
    return Path(str(importlib.resources.files("bayesres") / "_data"))


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(_data_dir() / "facts" / name, dtype=str, keep_default_na=False)


def verification_status(text: str) -> str:
    """Classify a verification note: "verified", "unverified" or "" (city not on the list).

    Unverified: the note starts with "from memory" or says "unverified", "needs check" or
    "not checked". Notes such as "roster verified; signing date from memory" or "derived: ...
    (membership verified, order from memory)" count as verified: the membership they vouch for is
    what the analyses use.
    """
    text = str(text).strip()
    if not text:
        return ""
    return "unverified" if _UNVERIFIED.search(text) else "verified"


def _prefecture_names() -> dict[str, tuple[str, str]]:
    """name_zh -> (name_pinyin, province) over every list, prefecture-level cities only."""
    out: dict[str, tuple[str, str]] = {}
    pilots = _read("cbec_pilot_zones.csv")
    pilots = pilots[pilots["admin_level_note"] == "prefecture-level or higher"]
    frames = [
        pilots,
        _read("city_tiers_yicai.csv"),
        _read("resource_based_cities_2013.csv"),
        _read("broadband_china_demo_cities.csv"),
        _read("central_cities.csv"),
        _read("customs_direct_districts.csv"),
    ]
    for df in frames:
        for zh, py, prov in zip(df["name_zh"], df["name_pinyin"], df["province"], strict=True):
            for target in _BROADBAND_MAP.get(zh, ([zh], ""))[0]:
                if not target.endswith("市") or target in _KNOWN_COUNTY_LEVEL:
                    continue
                if target not in out:
                    pinyin = _PINYIN_FIX.get(target, py)
                    out[target] = (pinyin, prov)
    return out


def city_facts() -> pd.DataFrame:
    """One row per prefecture-level city named in the vendored fact lists (sorted by province, name).

    Columns: name_pinyin, name_zh, province, tier_2020, central, central_category, resource_type,
    pilot_batch, pilot_year, pilot_document, broadband_year, broadband_note, customs_host,
    customs_name_zh, and ``<list>_source_url`` / ``<list>_verification`` for every list.
    """
    names = _prefecture_names()
    df = pd.DataFrame(
        [(py, zh, prov) for zh, (py, prov) in names.items()],
        columns=["name_pinyin", "name_zh", "province"],
    )
    idx = pd.Index(df["name_zh"])

    def fill(col: str, values: dict[str, Any], default: Any) -> None:
        df[col] = [values.get(zh, default) for zh in idx]

    tiers = _read("city_tiers_yicai.csv")
    t20 = tiers[tiers["year"] == "2020"].drop_duplicates("name_zh").set_index("name_zh")
    fill("tier_2020", {k: _TIER_CODES[v] for k, v in t20["tier"].items()}, "")
    fill("tier_source_url", t20["source_url"].to_dict(), "")
    fill("tier_verification", t20["verification"].to_dict(), "")

    cen = _read("central_cities.csv").set_index("name_zh")
    fill("central", {k: True for k in cen.index}, False)
    fill("central_category", cen["category"].to_dict(), "")
    fill("central_source_url", cen["source_url"].to_dict(), "")
    fill(
        "central_verification",
        {
            k: "unverified: " + v.split(" - ")[-1] if "not checked" in v else v
            for k, v in cen["source_url"].items()
        },
        "",
    )

    res = _read("resource_based_cities_2013.csv").set_index("name_zh")
    fill("resource_type", res["type"].to_dict(), "")
    fill("resource_source_url", res["source_url"].to_dict(), "")
    fill("resource_verification", res["verification"].to_dict(), "")

    pil = _read("cbec_pilot_zones.csv")
    pil = pil[pil["admin_level_note"] == "prefecture-level or higher"]
    pil = pil.assign(batch_i=pil["batch"].astype(int)).sort_values("batch_i")
    pil = pil.drop_duplicates("name_zh").set_index("name_zh")
    fill("pilot_batch", pil["batch_i"].to_dict(), 0)
    fill("pilot_year", pil["year"].astype(int).to_dict(), 0)
    fill("pilot_document", pil["document"].to_dict(), "")
    fill("pilot_source_url", pil["source_url"].to_dict(), "")
    fill("pilot_verification", pil["verification"].to_dict(), "")

    bb = _read("broadband_china_demo_cities.csv")
    bb_year: dict[str, int] = {}
    bb_note: dict[str, str] = {}
    bb_url: dict[str, str] = {}
    bb_ver: dict[str, str] = {}
    for _, row in bb.sort_values("batch_year", kind="stable").iterrows():
        targets, note = _BROADBAND_MAP.get(row["name_zh"], ([row["name_zh"]], ""))
        for t in targets:
            if t in bb_year:
                continue
            bb_year[t] = int(row["batch_year"])
            bb_note[t] = note
            bb_url[t] = row["source_url"]
            bb_ver[t] = row["verification"]
    fill("broadband_year", bb_year, 0)
    fill("broadband_note", bb_note, "")
    fill("broadband_source_url", bb_url, "")
    fill("broadband_verification", bb_ver, "")

    cus = _read("customs_direct_districts.csv").drop_duplicates("name_zh").set_index("name_zh")
    fill("customs_host", {k: True for k in cus.index}, False)
    fill("customs_name_zh", cus["customs_name_zh"].to_dict(), "")
    fill("customs_source_url", cus["source_url"].to_dict(), "")
    fill("customs_verification", cus["verification"].to_dict(), "")

    for col in ("pilot_batch", "pilot_year", "broadband_year"):
        df[col] = df[col].astype("int64")
    for col in ("central", "customs_host"):
        df[col] = df[col].astype(bool)
    return df.sort_values(["province", "name_pinyin"], kind="stable").reset_index(drop=True)


def verification_summary(facts: pd.DataFrame, *, columns: list[str] | tuple[str, ...]) -> dict:
    """Which fact lists behind ``columns`` hold unverified rows among the cities of ``facts``.

    ``facts`` is :func:`city_facts` output, optionally subset to the cities an analysis uses.
    Returns ``{column: {"list", "n_listed", "n_unverified", "unverified": [name_pinyin, ...]}}``
    plus ``"any_unverified"`` (bool) and ``"lists_with_unverified"`` (list names), for an
    ``UnverifiedFactsWarning`` raised by the caller.
    """
    out: dict[str, Any] = {}
    flagged: list[str] = []
    for col in columns:
        if col not in LIST_COLUMNS:
            raise KeyError(f"no fact list behind column {col!r}; known: {sorted(LIST_COLUMNS)}")
        list_name, ver_col, _ = LIST_COLUMNS[col]
        status = facts[ver_col].map(verification_status)
        listed = status != ""
        bad = status == "unverified"
        out[col] = {
            "list": list_name,
            "n_listed": int(listed.sum()),
            "n_unverified": int(bad.sum()),
            "unverified": facts.loc[bad, "name_pinyin"].tolist(),
        }
        if bad.any() and list_name not in flagged:
            flagged.append(list_name)
    out["any_unverified"] = bool(flagged)
    out["lists_with_unverified"] = flagged
    return out


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


_COLUMN_DOCS = {
    "name_pinyin": ("", "city name, pinyin"),
    "name_zh": ("", "city name, Chinese (key)"),
    "province": ("", "province (pinyin)"),
    "tier_2020": ("", "Yicai 2020 tier: first / new_first / second / third; empty if unlisted"),
    "central": ("", "municipality, provincial capital or sub-provincial city (paper 003)"),
    "central_category": ("", "municipality / provincial_capital / sub_provincial_non_capital"),
    "resource_type": (
        "",
        "2013 resource-based city type: growth / mature / declining / "
        "regenerative; empty if not resource-based",
    ),
    "pilot_batch": ("", "first CBEC pilot-zone batch (1-7); 0 = never"),
    "pilot_year": ("year", "year of the first CBEC batch; 0 = never"),
    "pilot_document": ("", "State Council document of that batch"),
    "broadband_year": ("year", "Broadband China demonstration batch year; 0 = never"),
    "broadband_note": ("", "how a wider or narrower list entry was mapped to the city"),
    "customs_host": ("", "hosts one of the 42 direct customs districts"),
    "customs_name_zh": ("", "the customs district it hosts"),
}


def _datasheet(df: pd.DataFrame) -> str:
    summ = verification_summary(df, columns=list(LIST_COLUMNS))
    partly = ", ".join(
        f"{LIST_COLUMNS[c][0]} ({summ[c]['n_unverified']} of {summ[c]['n_listed']} rows)"
        for c in LIST_COLUMNS
        if summ[c]["n_unverified"] > 0 and c != "pilot_batch"
    )
    lines = [
        'name = "city_facts"',
        'kind = "real"',
        'description = "Public facts on 249 Chinese prefecture-level cities: Yicai tier, CBEC '
        'pilot year, resource type, Broadband China, central, customs host"',
        'file = "city_facts.csv"',
        f"rows = {len(df)}",
        'unit = "name_zh"',
        'time = ""',
        'tier = "tier_2020"',
        'generator = "bayesres.facts:city_facts"',
        "seed = -1",
        'how_made = """',
        "Merged by bayesres.facts.city_facts() from the vendored lists in data/facts/ (one CSV per",
        "list, see data/facts/README.md). One row per prefecture-level city (municipalities",
        "included) named in any list, keyed by the Chinese name. County-level cities, autonomous",
        "prefectures and prefectures, the Xiong'an new area and city districts are not rows;",
        "福州市(含平潭) is mapped to 福州市, 长株潭城市群 to 长沙/株洲/湘潭 and the Chongqing districts",
        "九龙坡区 and 北碚区 to 重庆市 (see broadband_note). Every list keeps its source_url and",
        "verification text. Lists only partly verified (rows compiled from memory, to be checked",
        f"before relying on them row by row): {partly}.",
        "The central-city list has no verification column and its source says it was not checked",
        "against a source: all its rows are marked unverified.",
        '"""',
        'licence = "public administrative facts; compilation CC0-1.0"',
        "",
        "[true_parameters]",
        "",
    ]
    for col in df.columns:
        unit, desc = _COLUMN_DOCS.get(col, ("", ""))
        if not desc:
            lst = next((v[0] for v in LIST_COLUMNS.values() if col in v[1:]), "")
            kind = "source URL(s)" if col.endswith("source_url") else "verification note"
            desc = f"{kind} of the {lst} list, as vendored; empty if the city is not listed"
        lines += [
            f"[columns.{col}]",
            f"unit = {_toml_str(unit)}",
            f"description = {_toml_str(desc)}",
            "",
        ]
    return "\n".join(lines)


def write(out_dir: str | Path) -> tuple[Path, Path]:
    """Write city_facts.csv and city_facts.toml into ``out_dir``."""
    from bayesres.io import atomic_write_text

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    df = city_facts()
    csv_path = atomic_write_text(
        out / "city_facts.csv", df.to_csv(index=False, lineterminator="\n")
    )
    toml_path = atomic_write_text(out / "city_facts.toml", _datasheet(df))
    return csv_path, toml_path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bayesres.facts", description=__doc__)
    parser.add_argument("--out", default="data", help="output folder (default: data)")
    args = parser.parse_args(argv)
    for p in write(args.out):
        print(p)


if __name__ == "__main__":
    main()
