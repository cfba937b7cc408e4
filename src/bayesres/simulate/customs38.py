"""``customs38``: synthetic replica of paper 001's 38 customs cities (SYNTHETIC data).

Paper 001 regresses ln(export resilience) on ln(urban-resilience index) and ln(non-agricultural
population density) for 38 Chinese customs cities; its data were never published. This generator
builds a seeded, deterministic replica whose statistics reproduce the published numbers exactly
(methods.md section 7):

(i)  the exact entropy method (``bayesres.index.entropy``, shift 1e-4) on the 20 indicators returns
     Table 1's weights: every column is ``u ** a_j`` (u a seeded base column in [0, 1]) mapped to a
     plausible range, with the power a_j root-found so that d_j = c * w_j (c = ``DIVERGENCE_SCALE``);
(ii) OLS of y = ln(E2020 / forecast), forecast = E2019 * (1 + CAGR 2015-2019), on ln(score) and
     ln(nonag_density) returns Table 2 (0.226, 0.0750, -3.462, R^2 0.390): y = X beta + e with e from
     the residual maker; 2020 exports are built backwards as forecast * exp(y). The residual also
     carries the Table 4 interaction block so the slope-dummy regression returns Table 4's two
     interaction coefficients exactly.

A monthly long table (2015-01 ... 2021-12) sums to the yearly totals and yields months-to-recovery
(``months_to_recovery``) with exactly one right-censored city.

City list: prefecture-level (or higher) hosts of the 42 direct customs districts, Guangzhou once,
county-level Manzhouli dropped, then Lhasa and Xining dropped (``select_cities``; an assumption,
the paper lists no cities). Tiers: Yicai 2020.

Run ``python -m bayesres.simulate.customs38 --out data/`` to regenerate the bundled files.
"""

from __future__ import annotations

import argparse
import importlib.resources
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayesres.config import ENTROPY_SHIFT
from bayesres.index.entropy import entropy_weights
from bayesres.io import atomic_write_text
from bayesres.simulate._customs38_calibrate import (
    integer_outcome_search,
    ols,
    residual_maker_outcome,
    round_sig,
    solve_power,
    to_toml,
)

__all__ = [
    "Customs38Replica",
    "INDICATORS",
    "TARGETS",
    "DIVERGENCE_SCALE",
    "select_cities",
    "months_to_recovery",
    "achieved_statistics",
    "generate",
    "write",
]

GENERATOR = "bayesres.simulate.customs38:generate"
DIVERGENCE_SCALE = 2.0  # c in d_j = c * w_j; must exceed ~1.03 at n = 38 (methods.md section 7)
RECOVERY_RUN = 3  # k consecutive months with ratio > 1 end the recovery spell
YEARS = tuple(range(2015, 2021))

# Published targets (data/published/seed001_regressions.csv; the tests read that file directly).
TARGETS: dict[str, dict[str, float]] = {
    "table2": {"ln_score": 0.226, "ln_density": 0.0750, "const": -3.462, "r2": 0.390},
    "table2_growth": {"ln_score": 0.126, "ln_density": 0.0594, "const": -1.781, "r2": 0.282},
    "table3_restime": {"ln_score": -2.470, "ln_density": -0.963, "const": 44.96, "r2": 0.293},
    "table4": {
        "ln_score": 0.327,
        "ln_density": 0.121,
        "first_x_ln_score": -0.0305,
        "new_first_x_ln_score": -0.00381,
        "const": -4.790,
        "r2": 0.464,
    },
}

# (column, dimension, direction, published label, unit, low, high, loading on the latent factor)
INDICATORS: tuple[tuple[str, str, str, str, str, float, float, float], ...] = (
    (
        "hospital_beds",
        "social",
        "positive",
        "Number of beds in medical and health institutions per population",
        "beds per 1,000 residents",
        3.8,
        11.5,
        0.5,
    ),
    (
        "med_insurance",
        "social",
        "positive",
        "Basic medical insurance coverage",
        "% of resident population",
        78.0,
        99.5,
        0.4,
    ),
    (
        "retail_share",
        "social",
        "positive",
        "Total retail sales of social consumer goods as a percentage of GDP",
        "% of GDP",
        24.0,
        62.0,
        0.2,
    ),
    ("pop_growth", "social", "positive", "Population growth rate", "per mille", -4.5, 38.0, 0.5),
    (
        "unemployment",
        "social",
        "negative",
        "Proportion of the unemployed",
        "% registered urban unemployment",
        1.4,
        4.6,
        0.3,
    ),
    (
        "internet_users",
        "infrastructure",
        "positive",
        "Number of Internet users per 10000 people",
        "broadband subscribers per 10,000 residents",
        1800.0,
        6200.0,
        0.6,
    ),
    (
        "elec_household",
        "infrastructure",
        "positive",
        "Electricity consumption per capita in urban life",
        "kWh per resident",
        380.0,
        1450.0,
        0.5,
    ),
    (
        "elec_industrial",
        "infrastructure",
        "positive",
        "Industrial electricity consumption per capita",
        "kWh per resident",
        900.0,
        14500.0,
        0.3,
    ),
    (
        "library_books",
        "infrastructure",
        "positive",
        "Library collection",
        "10,000 volumes (public libraries)",
        160.0,
        8200.0,
        0.8,
    ),
    (
        "gdp_pc",
        "economic",
        "positive",
        "GDP per capita",
        "yuan per resident",
        48000.0,
        205000.0,
        0.6,
    ),
    (
        "tertiary_share",
        "economic",
        "positive",
        "Added value of the tertiary industry as a percentage of GDP",
        "% of GDP",
        44.0,
        84.0,
        0.6,
    ),
    (
        "fixed_assets",
        "economic",
        "positive",
        "Total fixed assets",
        "100 million yuan (fixed-asset investment)",
        750.0,
        21000.0,
        0.8,
    ),
    (
        "budget_exp",
        "economic",
        "positive",
        "Expenditures within the general budget of local finance",
        "100 million yuan",
        280.0,
        8400.0,
        0.85,
    ),
    (
        "savings",
        "economic",
        "positive",
        "Year-end balance of savings of urban and rural residents",
        "100 million yuan",
        1400.0,
        38000.0,
        0.85,
    ),
    (
        "waste_treatment",
        "ecological",
        "positive",
        "Harmless treatment rate of domestic waste",
        "% of domestic waste",
        88.0,
        100.0,
        0.2,
    ),
    (
        "solid_waste_use",
        "ecological",
        "positive",
        "Comprehensive utilization rate of general solid waste",
        "% of general industrial solid waste",
        38.0,
        99.5,
        0.2,
    ),
    (
        "sewage_treatment",
        "ecological",
        "positive",
        "Centralized treatment rate of sewage treatment plant",
        "% of sewage",
        84.0,
        99.8,
        0.2,
    ),
    (
        "wastewater",
        "ecological",
        "negative",
        "Industrial wastewater discharge",
        "10,000 tonnes",
        420.0,
        32000.0,
        -0.1,
    ),
    ("so2", "ecological", "negative", "Industrial SO2 emissions", "tonnes", 380.0, 61000.0, -0.1),
    ("soot", "ecological", "negative", "Industrial soot emissions", "tonnes", 450.0, 52000.0, -0.1),
)

# Plausible 2019 export magnitudes (100 million USD) used only as anchors for the synthetic series
# and the latent development factor: order of magnitude from public customs statistics, not data.
EXPORT_ANCHOR_2019: dict[str, float] = {
    "Beijing": 750,
    "Tianjin": 640,
    "Shijiazhuang": 85,
    "Taiyuan": 70,
    "Hohhot": 10,
    "Shenyang": 70,
    "Dalian": 270,
    "Changchun": 45,
    "Harbin": 30,
    "Shanghai": 1990,
    "Nanjing": 480,
    "Hangzhou": 520,
    "Ningbo": 920,
    "Hefei": 220,
    "Fuzhou": 280,
    "Xiamen": 560,
    "Nanchang": 90,
    "Qingdao": 530,
    "Jinan": 160,
    "Zhengzhou": 590,
    "Wuhan": 260,
    "Changsha": 180,
    "Guangzhou": 760,
    "Shenzhen": 2420,
    "Zhuhai": 240,
    "Shantou": 80,
    "Haikou": 30,
    "Zhanjiang": 40,
    "Jiangmen": 190,
    "Nanning": 80,
    "Chengdu": 500,
    "Chongqing": 540,
    "Guiyang": 30,
    "Kunming": 70,
    "Xi'an": 270,
    "Urumqi": 60,
    "Lanzhou": 12,
    "Yinchuan": 14,
}

COUNTY_LEVEL_HOSTS = ("Manzhouli",)
SMALLEST_EXPORT_HOSTS = ("Lhasa", "Xining")
SELECTION_RULE = (
    "Unique host cities of the 42 direct customs districts (data/facts/customs_direct_districts.csv; "
    "Guangzhou hosts two districts and counts once) -> 41; drop the county-level city Manzhouli "
    "-> 40; drop Lhasa and Xining, the two hosts with the smallest exports -> 38. The paper lists "
    "no cities: this rule is an assumption."
)
TIER_MAP = {"1": "first", "new1": "new_first"}
_SEASONAL = np.array(
    [0.085, 0.058, 0.080, 0.082, 0.084, 0.085, 0.088, 0.088, 0.087, 0.082, 0.086, 0.095]
)
_COVID_2020 = np.array([0.9, 0.55, 0.8, 0.9, 0.95, 1.0, 1.0, 1.0, 1.0, 1.0, 1.05, 1.1])


@dataclass(frozen=True)
class Customs38Replica:
    """The generated SYNTHETIC replica: city table, monthly long table, index spec and truths."""

    cities: pd.DataFrame
    monthly: pd.DataFrame
    indicators: pd.DataFrame
    truth: dict[str, Any] = field(repr=False)
    seed: int = 1


def _data_dir() -> Path:
    repo = Path(__file__).resolve().parents[3] / "data"
    if repo.is_dir() and (repo.parent / "pyproject.toml").exists():
        return repo
    return Path(str(importlib.resources.files("bayesres") / "_data"))


def select_cities(districts: pd.DataFrame, tiers: pd.DataFrame) -> pd.DataFrame:
    """Apply ``SELECTION_RULE`` to the customs-district facts; attach Yicai 2020 tiers.

    Returns one row per city (city, city_zh, province, tier) in customs-code order.
    """
    d = districts.sort_values("customs_area_code", kind="stable")
    d = d.drop_duplicates("name_zh", keep="first")
    drop = set(COUNTY_LEVEL_HOSTS) | set(SMALLEST_EXPORT_HOSTS)
    d = d[~d["name_pinyin"].isin(drop)]
    t = tiers[tiers["year"].astype(int) == 2020].set_index("name_zh")["tier"].astype(str)
    tier = d["name_zh"].map(t).map(TIER_MAP).fillna("other")
    return pd.DataFrame(
        {
            "city": d["name_pinyin"].to_numpy(),
            "city_zh": d["name_zh"].to_numpy(),
            "province": d["province"].to_numpy(),
            "tier": tier.to_numpy(),
        }
    )


def _load_facts() -> pd.DataFrame:
    facts = _data_dir() / "facts"
    districts = pd.read_csv(
        facts / "customs_direct_districts.csv", dtype={"customs_area_code": str}
    )
    tiers = pd.read_csv(facts / "city_tiers_yicai.csv", dtype={"tier": str})
    return select_cities(districts, tiers)


def _published_weights() -> np.ndarray:
    pub = pd.read_csv(_data_dir() / "published" / "seed001_index_weights.csv")
    by_label = dict(zip(pub["indicator"], pub["weight"], strict=True))
    return np.array([by_label[spec[3]] for spec in INDICATORS])


def _indicator_table(weights: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "indicator": [s[0] for s in INDICATORS],
            "dimension": [s[1] for s in INDICATORS],
            "direction": [s[2] for s in INDICATORS],
            "label": [s[3] for s in INDICATORS],
            "published_weight": weights,
        }
    )


def months_to_recovery(monthly: pd.DataFrame, *, k: int = RECOVERY_RUN) -> pd.DataFrame:
    """Months-to-recovery per city from a long monthly table (city, month 'YYYY-MM', exports).

    Expected value of a 2020/2021 month = same month of 2019 x (1 + g), g = CAGR 2015-2019 of the
    yearly sums. Start = first 2020 month with actual/expected < 1; end = first month of the first
    run of ``k`` consecutive months with ratio > 1 after the start; months = end - start. A city
    with no such run by the last month is right-censored (months = NaN, censored = True,
    months_observed = months from start to the last month).
    """
    m = monthly.copy()
    m["year"] = m["month"].str.slice(0, 4).astype(int)
    m["mon"] = m["month"].str.slice(5, 7).astype(int)
    rows = []
    for city, g in m.groupby("city", sort=False):
        yearly = g.groupby("year")["exports"].sum()
        growth = (yearly[2019] / yearly[2015]) ** 0.25 - 1.0
        base = g[g["year"] == 2019].set_index("mon")["exports"]
        post = g[g["year"] >= 2020].sort_values("month")
        ratio = post["exports"].to_numpy() / (base.loc[post["mon"]].to_numpy() * (1.0 + growth))
        months = post["month"].to_list()
        below = np.flatnonzero((ratio < 1.0) & (post["year"].to_numpy() == 2020))
        start = int(below[0]) if below.size else -1
        end = -1
        if start >= 0:
            above = ratio > 1.0
            for j in range(start + 1, len(ratio) - k + 1):
                if above[j : j + k].all():
                    end = j
                    break
        rows.append(
            {
                "city": city,
                "start": months[start] if start >= 0 else "",
                "end": months[end] if end >= 0 else "",
                "months": float(end - start) if end >= 0 else math.nan,
                "censored": start >= 0 and end < 0,
                "months_observed": float((end if end >= 0 else len(ratio) - 1) - max(start, 0)),
            }
        )
    return pd.DataFrame(rows)


def _latent(cities: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    size = np.log(cities["city"].map(EXPORT_ANCHOR_2019).to_numpy(dtype=float))
    size = (size - size.mean()) / size.std()
    tier = cities["tier"].map({"first": 1.2, "new_first": 0.5, "other": 0.0}).to_numpy(float)
    dev = 0.6 * size + tier + rng.normal(0.0, 0.5, len(cities))
    return (dev - dev.mean()) / dev.std()


def _indicators(
    dev: np.ndarray, weights: np.ndarray, rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray]:
    n = dev.size
    cols: dict[str, np.ndarray] = {}
    log_a = np.empty(len(INDICATORS))
    for j, (name, _, direction, _, _, low, high, loading) in enumerate(INDICATORS):
        base = np.sort(rng.beta(2.0, 2.0, n))
        base = (base - base[0]) / (base[-1] - base[0])
        latent = loading * dev + math.sqrt(1.0 - loading**2) * rng.normal(size=n)
        u = np.empty(n)
        u[np.argsort(latent, kind="stable")] = base
        log_a[j] = solve_power(u, DIVERGENCE_SCALE * weights[j], shift=ENTROPY_SHIFT)
        z = u ** math.exp(log_a[j])
        x = low + (high - low) * z if direction == "positive" else high - (high - low) * z
        cols[name] = round_sig(x)
    return pd.DataFrame(cols), log_a


def _pre_period(rng: np.random.Generator, anchor: np.ndarray) -> np.ndarray:
    """Yearly exports 2015-2019 (100 million USD), built backwards from 2019; rounded to 0.01."""
    n = anchor.size
    e2019 = anchor * np.exp(rng.normal(0.0, 0.08, n))
    trend = rng.normal(0.055, 0.04, n)
    out = np.empty((n, 5))
    out[:, 4] = e2019
    for t in range(3, -1, -1):
        out[:, t] = out[:, t + 1] / (1.0 + trend + rng.normal(0.0, 0.04, n))
    return np.round(out, 2)


def _shares(rng: np.random.Generator, profile: np.ndarray) -> np.ndarray:
    s = profile * np.exp(rng.normal(0.0, 0.05, 12))
    return s / s.sum()


def _monthly(
    cities: pd.DataFrame,
    yearly: np.ndarray,
    growth: np.ndarray,
    end_offset: np.ndarray,
    censored: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Monthly long table: 2015-2020 months sum to the yearly totals; 2021 from ratio targets."""
    records = []
    for i, city in enumerate(cities["city"]):
        vals: list[float] = []
        base2019 = None
        for t, year in enumerate(YEARS):
            s = _shares(rng, _SEASONAL * (_COVID_2020 if year == 2020 else 1.0))
            v = yearly[i, t] * s
            if year == 2019:
                base2019 = v
            vals.extend(v)
        assert base2019 is not None
        ratio = np.empty(12)
        if i == censored:
            # two isolated 2-month runs above 1: never k = 3 consecutive months
            ratio[:] = rng.uniform(0.82, 0.97, 12)
            ratio[[4, 5, 8, 9]] = rng.uniform(1.01, 1.06, 4)
        else:
            j = int(end_offset[i])
            ratio[:j] = rng.uniform(0.80, 0.98, j)
            ratio[j:] = rng.uniform(1.02, 1.15, 12 - j)
        vals.extend(base2019 * (1.0 + growth[i]) * ratio)
        months = [f"{y}-{m:02d}" for y in range(2015, 2022) for m in range(1, 13)]
        records.append(pd.DataFrame({"city": city, "month": months, "exports": vals}))
    out = pd.concat(records, ignore_index=True)
    out["exports"] = round_sig(out["exports"].to_numpy())
    return out


def generate(*, seed: int = 1) -> Customs38Replica:
    """Generate the SYNTHETIC ``customs38`` replica (deterministic for a given ``seed``)."""
    rng = np.random.default_rng(seed)
    cities = _load_facts()
    n = len(cities)
    weights = _published_weights()
    dev = _latent(cities, rng)
    ind, log_a = _indicators(dev, weights, rng)
    directions = np.array([1.0 if s[2] == "positive" else -1.0 for s in INDICATORS])
    ewm = entropy_weights(ind.to_numpy(), directions)
    ln_s = np.log(ewm.scores)

    ln_x = np.clip(7.1 + 0.35 * dev + rng.normal(0.0, 0.4, n), 5.6, 9.0)
    density = np.round(np.exp(ln_x), 1)
    ln_x = np.log(density)

    anchor = cities["city"].map(EXPORT_ANCHOR_2019).to_numpy(dtype=float)
    pre = _pre_period(rng, anchor)
    growth = (pre[:, 4] / pre[:, 0]) ** 0.25 - 1.0
    forecast = pre[:, 4] * (1.0 + growth)

    t2 = TARGETS["table2"]
    x2 = np.column_stack([np.ones(n), ln_s, ln_x])
    beta2 = np.array([t2["const"], t2["ln_score"], t2["ln_density"]])
    d1 = (cities["tier"] == "first").to_numpy(float)
    d2 = (cities["tier"] == "new_first").to_numpy(float)
    t4 = TARGETS["table4"]
    w4 = np.column_stack([ln_s * d1, ln_s * d2])
    gamma4 = np.array([t4["first_x_ln_score"], t4["new_first_x_ln_score"]])
    y, e = residual_maker_outcome(x2, beta2, t2["r2"], rng.normal(size=n), w=w4, gamma=gamma4)
    e2020 = round_sig(forecast * np.exp(y))
    yearly = np.column_stack([pre, e2020])

    # months to recovery (stretch goal): censor the least resilient city outside the first tier
    cand = np.where(cities["tier"].to_numpy() != "first", ln_s, np.inf)
    censored = int(np.argmin(cand))
    keep = np.arange(n) != censored
    t3 = TARGETS["table3_restime"]
    x3 = x2[keep]
    slope3 = np.array([0.0, t3["ln_score"], t3["ln_density"]])
    fit3 = x3 @ slope3
    beta3 = np.array([16.5 - fit3.mean(), t3["ln_score"], t3["ln_density"]])
    n_star, _ = residual_maker_outcome(x3, beta3, t3["r2"], rng.normal(size=keep.sum()))
    n_int = integer_outcome_search(
        n_star, x3, beta3, t3["r2"], lo=12, hi=21, weights=np.array([0.0, 1.0, 0.2])
    )
    end_offset = np.zeros(n, dtype=int)
    end_offset[keep] = n_int - 12
    monthly = _monthly(cities, yearly, growth, end_offset, censored, rng)

    table = cities.copy()
    for name in ind.columns:
        table[name] = ind[name].to_numpy()
    for t, year in enumerate(YEARS):
        table[f"exports_{year}"] = yearly[:, t]
    table["nonag_density"] = density

    truth = _truth(seed, log_a, weights, ewm, cities, censored, n_int, beta3)
    truth["achieved"] = achieved_statistics(table, monthly)
    return Customs38Replica(
        cities=table, monthly=monthly, indicators=_indicator_table(weights), truth=truth, seed=seed
    )


def _truth(
    seed: int,
    log_a: np.ndarray,
    weights: np.ndarray,
    ewm: Any,
    cities: pd.DataFrame,
    censored: int,
    n_int: np.ndarray,
    beta3: np.ndarray,
) -> dict[str, Any]:
    return {
        "seed": seed,
        "targets": {k: dict(v) for k, v in TARGETS.items()},
        "entropy": {
            "shift": ENTROPY_SHIFT,
            "divergence_scale_c": DIVERGENCE_SCALE,
            "indicator": [s[0] for s in INDICATORS],
            "published_weight": [float(w) for w in weights],
            "target_divergence": [float(DIVERGENCE_SCALE * w) for w in weights],
            "power_a": [float(math.exp(v)) for v in log_a],
            "achieved_weight": [float(w) for w in ewm.weights],
        },
        "outcome": {
            "definition": "y = ln(exports_2020 / (exports_2019 * (1 + CAGR_2015_2019)))",
            "beta_used": [
                TARGETS["table2"]["const"],
                TARGETS["table2"]["ln_score"],
                TARGETS["table2"]["ln_density"],
            ],
            "r2_used": TARGETS["table2"]["r2"],
            "table4_interactions_used": [
                TARGETS["table4"]["first_x_ln_score"],
                TARGETS["table4"]["new_first_x_ln_score"],
            ],
        },
        "recovery": {
            "rule_k": RECOVERY_RUN,
            "censored_city": str(cities["city"].iloc[censored]),
            "censoring_rule": "least resilient (lowest entropy score) city outside the first tier",
            "beta_target_used": [float(b) for b in beta3],
            "r2_target_used": TARGETS["table3_restime"]["r2"],
            "months_uncensored": [int(v) for v in n_int],
        },
    }


def _design(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    names = [s[0] for s in INDICATORS]
    directions = np.array([1.0 if s[2] == "positive" else -1.0 for s in INDICATORS])
    ewm = entropy_weights(table[names].to_numpy(dtype=float), directions)
    n = len(table)
    x = np.column_stack([np.ones(n), np.log(ewm.scores), np.log(table["nonag_density"].to_numpy())])
    return x, ewm.weights


def achieved_statistics(table: pd.DataFrame, monthly: pd.DataFrame) -> dict[str, Any]:
    """What the paper's regressions return on this table (the calibration check, as reported)."""
    x, w = _design(table)
    e15, e19, e20 = (table[f"exports_{y}"].to_numpy(dtype=float) for y in (2015, 2019, 2020))
    growth = (e19 / e15) ** 0.25 - 1.0
    y = np.log(e20 / (e19 * (1.0 + growth)))
    b2, r2 = ols(y, x)
    bg, rg = ols(e20 / e19 - 1.0, x)
    d1 = (table["tier"] == "first").to_numpy(float)
    d2 = (table["tier"] == "new_first").to_numpy(float)
    b4, r4 = ols(y, np.column_stack([x, x[:, 1] * d1, x[:, 1] * d2]))
    rec = months_to_recovery(monthly).set_index("city").loc[table["city"]]
    keep = ~rec["censored"].to_numpy()
    b3, r3 = ols(rec["months"].to_numpy()[keep], x[keep])

    def fl(v: np.ndarray) -> list[float]:
        return [float(round(t, 10)) for t in v]

    return {
        "terms": ["const", "ln_score", "ln_density"],
        "entropy_weights": fl(w),
        "table2": {"coef": fl(b2), "r2": round(r2, 10), "mean_y": round(float(y.mean()), 6)},
        "table2_growth": {"coef": fl(bg), "r2": round(rg, 10)},
        "table3_restime": {"coef": fl(b3), "r2": round(r3, 10), "n": int(keep.sum())},
        "table4": {
            "terms": [
                "const",
                "ln_score",
                "ln_density",
                "first_x_ln_score",
                "new_first_x_ln_score",
            ],
            "coef": fl(b4),
            "r2": round(r4, 10),
        },
    }


def write(out_dir: str | Path, *, seed: int = 1) -> list[Path]:
    """Generate the replica and write the CSVs, the index spec and both datasheets to ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    from bayesres.simulate._customs38_sheet import csv_text as _csv_text
    from bayesres.simulate._customs38_sheet import sheets

    rep = generate(seed=seed)
    main, monthly = sheets(rep)
    files = {
        "customs38.csv": _csv_text(rep.cities),
        "customs38_monthly.csv": _csv_text(rep.monthly),
        "customs38_indicators.csv": _csv_text(rep.indicators),
        "customs38.toml": to_toml(main) + "\n",
        "customs38_monthly.toml": to_toml(monthly) + "\n",
    }
    return [atomic_write_text(out / name, text) for name, text in files.items()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Regenerate the SYNTHETIC customs38 replica.")
    parser.add_argument("--out", default="data", help="output folder (default: data)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    for path in write(args.out, seed=args.seed):
        print(path)


if __name__ == "__main__":
    main()
