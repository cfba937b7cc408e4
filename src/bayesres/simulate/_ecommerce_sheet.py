"""Datasheet (TOML) writer for the synthetic ecommerce_panel replica (private helper)."""

from __future__ import annotations

from typing import Any

_COLUMNS = {
    "city": ("", "city (pinyin), a real prefecture-level city"),
    "city_zh": ("", "city name in Chinese"),
    "province": ("", "province (pinyin)"),
    "year": ("year", "calendar year 2012-2021"),
    "cohort": ("year", "first CBEC pilot batch year 2015/2016/2018/2019/2020 (real); 0 = never "
               "within the panel"),
    "did": ("0/1", "pilot zone in force (year >= cohort > 0), absorbing"),
    "tier": ("", "Yicai 2020 tier collapsed: first / new_first / second / third / other (real)"),
    "central": ("0/1", "municipality, provincial capital or sub-provincial city (real)"),
    "resource": ("0/1", "resource-based city of the 2013 plan (real, list partly unverified)"),
    "resource_type": ("", "growth / mature / declining / regenerative; empty if not resource-based"),
    "size_class": ("", "large / small: SYNTHETIC, the 93 cities with the largest synthetic scale"),
    "broadband_year": ("year", "Broadband China batch year (real); 0 = never"),
    "broadband_did": ("0/1", "Broadband China in force (year >= broadband_year > 0)"),
    "resi": ("index", "SYNTHETIC urban economic resilience: pooled EWM score of the 17 indicators "
             "(shift 1e-4) over all 2480 city-years"),
    "agg": ("100 million yuan per km2", "SYNTHETIC economic agglomeration (GDP / area)"),
    "open": ("ratio", "SYNTHETIC openness (trade / GDP)"),
    "invest": ("ratio", "SYNTHETIC foreign investment (FDI / GDP)"),
    "tec": ("ratio", "SYNTHETIC science and technology spending / general budget spending"),
    "market": ("log yuan", "SYNTHETIC market openness (log FDI)"),
    "dig": ("index", "SYNTHETIC mediator: digital economy index (responds to treatment)"),
    "inn": ("log patents", "SYNTHETIC mediator: technological innovation, ln(patents)"),
    "lab": ("share", "SYNTHETIC mediator: employment structure, tertiary employment share "
            "(responds to treatment)"),
}


def _q(s: Any) -> str:
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _val(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(float(v)) if isinstance(v, float) else str(v)
    return _q(v)


def _table(prefix: str, d: dict[str, Any]) -> list[str]:
    flat = [f"{_q(k) if not str(k).isidentifier() else k} = {_val(v)}"
            for k, v in d.items() if not isinstance(v, dict)]
    lines = [f"[{prefix}]", *flat, ""]
    for k, v in d.items():
        if isinstance(v, dict):
            key = k if str(k).isidentifier() else _q(k)
            lines += _table(f"{prefix}.{key}", v)
    return lines


def datasheet(rep: Any, extra: dict[str, Any]) -> str:
    """TOML text of data/ecommerce_panel.toml."""
    p = rep.panel
    tp = rep.true_parameters
    cities = p.drop_duplicates("city")
    counts = {
        "cohort": cities["cohort"].value_counts().sort_index().to_dict(),
        "tier": cities["tier"].value_counts().to_dict(),
        "size_class": cities["size_class"].value_counts().to_dict(),
        "central": int(cities["central"].sum()),
        "resource": int(cities["resource"].sum()),
    }
    how = f"""Generator bayesres.simulate.ecommerce:generate(seed={tp['seed']}), deterministic.
This is a synthetic replica consistent with the published numbers, not the original data.
Paper 003 (248 cities x 2012-2021) never published its data; this replica keeps the design real
and makes every measurement synthetic.
Cities (real): every prefecture-level city named in the vendored fact lists (bayesres.facts,
249 cities), less Nyingchi (a prefecture until 2015, not a pilot city) = 248. Cohort = year of
the city's first cross-border e-commerce pilot batch if 2015-2020 (batches 1-5, prefecture-level
cities only: county-level pilots and the Dehong autonomous prefecture are not cities of the
panel), else 0 (batch 6-7 cities of 2022 are not yet treated by 2021).
Counts: cohorts {counts['cohort']}; tiers {counts['tier']}; size {counts['size_class']};
central {counts['central']} (paper 34); resource-based {counts['resource']} (paper 99; the
resource list is mostly unverified).
Indicators (synthetic): a latent city scale, trend, city effects, AR(1) noise and a latent
treatment effect E (cohort x event time x tier, damped 0.2 for small and 0.5 for resource cities)
are mapped per indicator by x = lo + (hi - lo) * rescaled expm1(sigma u) / sigma, with sigma
root-found so that the pooled EWM divergence is c * (Table 1 weight): the EWM weights reproduce
003 Table 1 (max abs error < 1e-9 before CSV rounding). resi is that pooled EWM score.
Knobs c and s_noise are root-found for the seed: mean resi = 0.097 (Table 3) and the TWFE
coefficient of did with five controls, city and year FE = 0.016 (Table 4 col 6); achieved TWFE
{extra['twfe']['did']:.6f}, resi mean {p['resi'].mean():.6f}, sd {p['resi'].std():.6f}
(Table 3: 0.051). Controls agg, open, invest, tec, market are power-transformed lognormals
(market: normal) with exactly Table 3's mean and sd.
True effects: tau_it = resi_it - sum_j w_j z0_ijt, z0 the counterfactual indicators (E = 0)
normalised with the observed min / max and weighted with the observed weights; per treated
city-year and per (cohort, event_time, tier) cell in ecommerce_panel_truth.csv (tau = 0 on
untreated city-years)."""
    lines = [
        'name = "ecommerce_panel"',
        'kind = "synthetic"',
        'description = "Synthetic replica of paper 003: CBEC pilot zones and economic resilience, '
        '248 real cities x 2012-2021"',
        'file = "ecommerce_panel.csv"',
        f"rows = {len(p)}",
        'unit = "city"',
        'time = "year"',
        'tier = "tier"',
        'generator = "bayesres.simulate.ecommerce:generate"',
        f"seed = {tp['seed']}",
        f'how_made = """\n{how}\n"""',
        'licence = "CC0-1.0 (synthetic); city facts: public administrative facts"',
        'truth_file = "ecommerce_panel_truth.csv"',
        'indicators_file = "ecommerce_indicators.csv"',
        "",
    ]
    lines += _table("true_parameters", tp)
    for col in p.columns:
        unit, desc = _COLUMNS.get(col, (extra["units"].get(col, ""), ""))
        if not desc:
            desc = f"SYNTHETIC indicator of 003 Table 1 ({col}); see ecommerce_indicators.csv"
        lines += [f"[columns.{col}]", f"unit = {_q(unit)}", f"description = {_q(desc)}", ""]
    return "\n".join(lines)
