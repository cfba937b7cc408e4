"""Synthetic replica of paper 003's panel: CBEC pilot zones and urban economic resilience (Resi).

248 real prefecture-level cities x 2012-2021. Treatment timing, tiers, central / resource status
and Broadband China years are real (``bayesres.facts``); every indicator, control and mediator is
SYNTHETIC. This is a synthetic replica consistent with the published numbers, not the original
data (which were never published).

City rule: every prefecture-level city named in the vendored fact lists (249), less Nyingchi
(林芝, a prefecture until 2015, so no city statistics for 2012-2014, and not a pilot city).
Cohort = year of the city's first CBEC batch if it is 2015-2020 (batches 1-5), else 0 (never
treated within the panel; batch 6-7 cities of 2022 are not yet treated by 2021).

Indicators (003 Table 1): latent u_ijt = a_j S_i + b_j t~ + 0.3 g_i t~ + s_noise (r_j alpha_ij +
eps_ijt) + beta_j E_it, with S_i a city scale (tier, central and pilot means), g_i city growth,
alpha_ij city effects, eps AR(1) (rho 0.6), t~ = (year - 2016.5) / 4.5 and E_it >= 0 the latent
treatment effect (cohort x event time x tier, damped for small and resource-based cities).
x_ijt = lo_j + (hi_j - lo_j) * rescaled expm1(sigma_j v) / sigma_j, v = u~ - max u~, u~ = pooled
standardised u (convex for sigma_j > 0, concave below), and
sigma_j root-found so that the pooled EWM divergence d_j = c w_j (methods.md section 7): the EWM
weights equal Table 1. Counterfactual indicators use the same constants with E = 0, and the true
effect on Resi is tau_it = Resi_it - sum_j w_j z0_ijt with z0 normalised by the observed min / max.
Knobs c and s_noise are calibrated (:func:`calibrate`) so that mean Resi = 0.097 and the TWFE
estimate with five controls = 0.016 (Table 4 col 6); the latent effects are fixed design constants.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from bayesres.config import ENTROPY_SHIFT
from bayesres.index.entropy import entropy_from_normalised, normalise

__all__ = [
    "EcommerceReplica",
    "INDICATORS",
    "YEARS",
    "calibrate",
    "generate",
    "truth_cells",
    "select_cities",
    "twfe_within",
    "write",
]

YEARS = np.arange(2012, 2022)
COHORT_YEARS = (2015, 2016, 2018, 2019, 2020)
GENERATOR = "bayesres.simulate.ecommerce:generate"
PAPER_TWFE = 0.016
PAPER_RESI_MEAN = 0.097

# name | dimension | direction | label (Table 1) | weight | unit | lo | hi | a | b | r | beta
# (a: loading on city scale, b: trend, r: city-effect share of noise, beta: treatment loading)
_IND_TABLE = """
gdp_pc|resistance_recovery|1|GDP per capita|0.0427519|yuan per person|12000|200000|1.0|0.6|1.0|0.3
income|resistance_recovery|1|Urban residents disposable income|0.0349807|yuan per person|15000|80000|0.8|0.8|0.6|0.2
savings|resistance_recovery|1|Savings balance of urban and rural residents|0.1406019|100 million yuan|80|40000|1.0|0.6|0.8|0.6
unemp|resistance_recovery|-1|Registered urban unemployment rate|0.001821|percent|1.0|6.0|-0.2|-0.1|1.0|0.0
trade_dep|resistance_recovery|-1|Foreign trade dependence|0.0034787|percent of GDP|0.5|150|0.5|-0.3|1.0|0.0
fiscal_self|adaptation_adjustment|1|Fiscal self-sufficiency rate|0.0318075|percent|8|100|0.6|0.1|1.0|0.0
retail|adaptation_adjustment|1|Total retail sales of consumer goods|0.1333086|100 million yuan|40|16000|1.0|0.6|0.8|0.6
tertiary|adaptation_adjustment|1|Tertiary industry share of GDP|0.0150432|percent of GDP|25|83|0.6|0.5|1.0|0.3
loan_dep|adaptation_adjustment|1|Year-end loan-to-deposit ratio of financial institutions|0.0123759|percent|30|150|0.3|0.2|1.0|0.0
fai|adaptation_adjustment|1|Fixed asset investment|0.0731628|100 million yuan|100|18000|1.0|0.5|0.8|0.3
beds|adaptation_adjustment|1|Hospital and health centre beds|0.0695162|beds|2000|230000|1.0|0.4|0.6|0.0
soot|adaptation_adjustment|-1|Industrial smoke and dust emissions|0.0001878|tonnes|100|500000|0.3|-0.8|1.0|0.0
patents|innovation_transformation|1|Patents granted|0.3210549|patents|50|200000|1.0|0.7|0.8|1.0
sci_exp|innovation_transformation|1|Fiscal science expenditure|0.0530941|100 million yuan|0.1|450|1.0|0.6|0.8|0.5
edu_exp|innovation_transformation|1|Fiscal education expenditure|0.0070145|100 million yuan|5|1100|1.0|0.5|0.6|0.0
ind_adv|innovation_transformation|1|Industrial structure advancement|0.0418507|tertiary / secondary value added|0.3|5.5|0.5|0.5|1.0|0.0
urban|innovation_transformation|1|Urbanization rate|0.0179497|percent|20|100|0.7|0.4|1.0|0.0
"""


def _parse_table() -> list[tuple]:
    rows = []
    for line in _IND_TABLE.strip().splitlines():
        f = line.split("|")
        rows.append((f[0], f[1], int(f[2]), f[3], float(f[4]), f[5], *map(float, f[6:])))
    return rows


_IND = _parse_table()
INDICATORS = pd.DataFrame(
    [row[:5] for row in _IND],
    columns=["indicator", "dimension", "direction", "label", "published_weight"],
)

# latent treatment effect E = base * tier * cohort * (1 + growth * e) * size * resource
EFFECT = {
    "base": 0.25,
    "growth_per_year": 0.25,
    "tier": {"first": 1.5, "new_first": 1.3, "second": 1.1, "third": 0.9, "other": 0.6},
    "cohort": {2015: 1.4, 2016: 1.2, 2018: 1.0, 2019: 0.9, 2020: 0.8},
    "small_city": 0.2,
    "resource_city": 0.5,
}

# target moments of the controls, 003 Table 3 (mean, sd)
CONTROL_TARGETS = {
    "agg": (0.348, 0.557),
    "open": (0.171, 0.254),
    "invest": (0.017, 0.017),
    "tec": (0.018, 0.017),
    "market": (11.963, 1.967),
}


@dataclass(frozen=True)
class EcommerceReplica:
    """The synthetic panel, its truth table (treated city-years) and the generator settings."""

    panel: pd.DataFrame
    truth: pd.DataFrame
    weights: np.ndarray
    true_parameters: dict[str, Any] = field(default_factory=dict)


def select_cities() -> pd.DataFrame:
    """The 248 real cities of the replica with cohort, tier and group labels (see module doc)."""
    from bayesres.facts import city_facts

    f = city_facts()
    f = f[f["name_zh"] != "林芝市"].reset_index(drop=True)
    cohort = np.where(f["pilot_year"].isin(COHORT_YEARS), f["pilot_year"], 0)
    return pd.DataFrame(
        {
            "city": f["name_pinyin"],
            "city_zh": f["name_zh"],
            "province": f["province"],
            "cohort": cohort.astype(np.int64),
            "tier": f["tier_2020"].replace("", "other"),
            "central": f["central"].astype(np.int64),
            "resource_type": f["resource_type"],
            "resource": (f["resource_type"] != "").astype(np.int64),
            "broadband_year": f["broadband_year"].astype(np.int64),
        }
    )


def twfe_within(y: np.ndarray, x: np.ndarray, n_units: int, n_periods: int) -> np.ndarray:
    """OLS slopes after two-way demeaning of a balanced panel (rows unit-major)."""

    def dm(a: np.ndarray) -> np.ndarray:
        a = a.reshape(n_units, n_periods, -1)
        return (
            a - a.mean(1, keepdims=True) - a.mean(0, keepdims=True) + a.mean((0, 1), keepdims=True)
        ).reshape(n_units * n_periods, -1)

    xd, yd = dm(x), dm(y)
    return np.linalg.lstsq(xd, yd[:, 0], rcond=None)[0]


def _ar1(rng: np.random.Generator, shape: tuple[int, ...], rho: float) -> np.ndarray:
    u = rng.standard_normal(shape)
    e = np.empty_like(u)
    e[..., 0] = u[..., 0]
    for t in range(1, shape[-1]):
        e[..., t] = rho * e[..., t - 1] + np.sqrt(1 - rho**2) * u[..., t]
    return e


def _power_match(v: np.ndarray, mean: float, sd: float) -> np.ndarray:
    """x = A v^b with b, A such that x has exactly the target mean and sd (ddof = 1)."""

    def cv(b: float) -> float:
        w = v**b
        return w.std(ddof=1) / w.mean() - sd / mean

    b = brentq(cv, 1e-3, 10.0, xtol=1e-14)
    w = v**b
    return w * (mean / w.mean())


@dataclass
class _Draws:
    cities: pd.DataFrame
    s: np.ndarray  # city scale (N,)
    g: np.ndarray  # city growth (N,)
    alpha: np.ndarray  # (N, J)
    eps: np.ndarray  # (N, J, T)
    effect: np.ndarray  # E_it (N, T)
    did: np.ndarray  # (N, T)
    event: np.ndarray  # (N, T)
    large: np.ndarray  # (N,) bool
    controls: dict[str, np.ndarray]
    mediator_noise: np.ndarray  # (N, 3, T)


def _draw(seed: int) -> _Draws:
    rng = np.random.default_rng(seed)
    c = select_cities()
    n, t_len, j = len(c), len(YEARS), len(_IND)
    tier_mean = {"first": 2.5, "new_first": 2.0, "second": 1.3, "third": 0.6, "other": -0.4}
    s = (
        c["tier"].map(tier_mean).to_numpy()
        + 0.4 * c["central"].to_numpy()
        + 0.3 * (c["cohort"].to_numpy() > 0)
        + 0.5 * rng.standard_normal(n)
    )
    # size class: the 93 largest by the synthetic scale (003 Table 7: N = 930 large)
    large = np.zeros(n, dtype=bool)
    large[np.argsort(-s, kind="stable")[:93]] = True
    g = rng.standard_normal(n)
    alpha = rng.standard_normal((n, j))
    eps = _ar1(rng, (n, j, t_len), 0.6)
    coh = c["cohort"].to_numpy()[:, None]
    did = ((coh > 0) & (YEARS[None, :] >= coh)).astype(np.int64)
    event = np.where(coh > 0, YEARS[None, :] - coh, -1000)
    tier_m = c["tier"].map(EFFECT["tier"]).to_numpy()
    coh_m = np.array([EFFECT["cohort"].get(int(k), 0.0) for k in c["cohort"]])
    mod = np.where(large, 1.0, EFFECT["small_city"]) * np.where(
        c["resource"].to_numpy() == 1, EFFECT["resource_city"], 1.0
    )
    effect = did * (
        EFFECT["base"]
        * (tier_m * coh_m * mod)[:, None]
        * (1.0 + EFFECT["growth_per_year"] * np.maximum(event, 0))
    )
    tt = (YEARS - 2016.5) / 4.5
    cn = rng.standard_normal((5, n, t_len))
    ci = rng.standard_normal((5, n))
    controls = {
        "agg": np.exp(1.0 * s[:, None] + 0.4 * g[:, None] * tt + 0.3 * tt + 0.15 * cn[0]),
        "open": np.exp(0.6 * s[:, None] + 0.8 * ci[1][:, None] - 0.2 * tt + 0.3 * cn[1]),
        "invest": np.exp(0.3 * s[:, None] + 0.9 * ci[2][:, None] - 0.3 * tt + 0.4 * cn[2]),
        "tec": np.exp(0.6 * s[:, None] + 0.7 * ci[3][:, None] + 0.3 * tt + 0.3 * cn[3]),
        "market": 0.7 * s[:, None] + 0.6 * ci[4][:, None] + 0.3 * cn[4],
    }
    return _Draws(
        c, s, g, alpha, eps, effect, did, event, large, controls, rng.standard_normal((n, 3, t_len))
    )


def _latent(d: _Draws, s_noise: float, *, treated: bool = True) -> np.ndarray:
    """u (N*T, J), rows city-major."""
    tt = (YEARS - 2016.5) / 4.5
    cols = []
    for j, row in enumerate(_IND):
        a, b, r, beta = row[8:12]
        u = (
            a * d.s[:, None]
            + b * tt[None, :]
            + 0.3 * d.g[:, None] * tt[None, :]
            + s_noise * (r * d.alpha[:, j, None] + d.eps[:, j, :])
        )
        if treated:
            u = u + beta * d.effect
        cols.append(u.reshape(-1))
    return np.column_stack(cols)


def _shape(v: np.ndarray, sigma: float) -> np.ndarray:
    """Box-Cox-type monotone map expm1(sigma v) / sigma: convex for sigma > 0, concave below."""
    if abs(sigma) < 1e-12:
        return v
    return np.expm1(sigma * v) / sigma


def _divergence(ut: np.ndarray, sigma: float, direction: int) -> float:
    x = _shape(ut - ut.max(), sigma)
    z = normalise(x[:, None], np.array([direction]), shift=ENTROPY_SHIFT)
    return float(entropy_from_normalised(z)[1][0])


def _indicators(d: _Draws, c: float, s_noise: float) -> dict[str, Any]:
    u = _latent(d, s_noise)
    u0 = _latent(d, s_noise, treated=False)
    mu, sd = u.mean(0), u.std(0)
    ut, ut0 = (u - mu) / sd, (u0 - mu) / sd
    x = np.empty_like(u)
    x0 = np.empty_like(u)
    sigmas = []
    for j, row in enumerate(_IND):
        direction, w, lo, hi = row[2], row[4], row[6], row[7]
        target = c * w
        sig = brentq(
            lambda s_, j=j, dr=direction, tg=target: _divergence(ut[:, j], s_, dr) - tg,
            -12.0,
            12.0,
            xtol=1e-13,
        )
        top = ut[:, j].max()
        t_obs = _shape(ut[:, j] - top, sig)
        t_min = t_obs.min()
        x[:, j] = lo + (hi - lo) * (t_obs - t_min) / (0.0 - t_min)
        x0[:, j] = lo + (hi - lo) * (_shape(ut0[:, j] - top, sig) - t_min) / (0.0 - t_min)
        sigmas.append(sig)
    return {"x": x, "x0": x0, "sigma": np.array(sigmas)}


def _score(x: np.ndarray, x0: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    dirs = INDICATORS["direction"].to_numpy(dtype=float)
    z = normalise(x, dirs, shift=ENTROPY_SHIFT)
    _, _, w = entropy_from_normalised(z)
    resi = z @ w
    if x0 is None:
        return w, resi, resi
    lo, hi = x.min(0), x.max(0)
    z0 = np.where(dirs > 0, (x0 - lo) / (hi - lo), (hi - x0) / (hi - lo)) + ENTROPY_SHIFT
    return w, resi, z0 @ w


def _controls(d: _Draws) -> dict[str, np.ndarray]:
    out = {}
    for k, (m, s) in CONTROL_TARGETS.items():
        v = d.controls[k].reshape(-1)
        if k == "market":
            out[k] = m + s * (v - v.mean()) / v.std(ddof=1)
        else:
            out[k] = _power_match(v, m, s)
    return out


def _twfe(d: _Draws, resi: np.ndarray, ctrl: dict[str, np.ndarray]) -> float:
    x = np.column_stack([d.did.reshape(-1)] + [ctrl[k] for k in CONTROL_TARGETS])
    return float(twfe_within(resi, x, len(d.cities), len(YEARS))[0])


def _evaluate(d: _Draws, c: float, s_noise: float) -> dict[str, float]:
    ind = _indicators(d, c, s_noise)
    _, resi, _ = _score(ind["x"])
    return {
        "mean": float(resi.mean()),
        "sd": float(resi.std(ddof=1)),
        "twfe": _twfe(d, resi, _controls(d)),
    }


def calibrate(*, seed: int = 3, s_bounds: tuple[float, float] = (0.3, 1.5)) -> dict[str, float]:
    """Solve the knobs (c, s_noise) for ``seed``: mean Resi = 0.097 and TWFE = 0.016.

    Nested root finds: for each s_noise, c matches the mean; then s_noise matches the TWFE.
    About 3 s; :func:`generate` runs it for its seed.
    """
    d = _draw(seed)

    def c_for(s_noise: float) -> float:
        return brentq(
            lambda c: _evaluate(d, c, s_noise)["mean"] - PAPER_RESI_MEAN, 0.45, 1.0, xtol=1e-8
        )

    def gap(s_noise: float) -> float:
        return _evaluate(d, c_for(s_noise), s_noise)["twfe"] - PAPER_TWFE

    s_noise = brentq(gap, *s_bounds, xtol=1e-8)
    return {"c": c_for(s_noise), "s_noise": s_noise}


def _expit(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


def generate(*, seed: int = 3) -> EcommerceReplica:
    """Build the synthetic replica (deterministic in ``seed``; calibrated for that seed)."""
    knobs = calibrate(seed=seed)
    d = _draw(seed)
    n, t_len = len(d.cities), len(YEARS)
    ind = _indicators(d, knobs["c"], knobs["s_noise"])
    w, resi, resi0 = _score(ind["x"], ind["x0"])
    tau = resi - resi0
    ctrl = _controls(d)
    tt = np.tile((YEARS - 2016.5) / 4.5, n)
    s_rows = np.repeat(d.s - d.s.mean(), t_len)
    did = d.did.reshape(-1)
    e_rel = d.effect.reshape(-1) / d.effect[d.did == 1].mean()
    mn = d.mediator_noise.transpose(1, 0, 2).reshape(3, -1)
    c = d.cities
    rep = {k: np.repeat(c[k].to_numpy(), t_len) for k in c.columns}
    year = np.tile(YEARS, n)
    panel = pd.DataFrame({
        "city": rep["city"], "city_zh": rep["city_zh"], "province": rep["province"],
        "year": year.astype(np.int64), "cohort": rep["cohort"], "did": did,
        "tier": rep["tier"], "central": rep["central"], "resource": rep["resource"],
        "resource_type": rep["resource_type"],
        "size_class": np.where(np.repeat(d.large, t_len), "large", "small"),
        "broadband_year": rep["broadband_year"],
        "broadband_did": ((rep["broadband_year"] > 0) & (year >= rep["broadband_year"])
                          ).astype(np.int64),
    })
    for j, row in enumerate(_IND):
        panel[row[0]] = ind["x"][:, j]
    panel["resi"] = resi
    for k in CONTROL_TARGETS:
        panel[k] = ctrl[k]
    panel["dig"] = (0.02 * np.exp(0.5 * s_rows + 0.4 * tt + 0.2 * mn[0]) + 0.006 * e_rel)
    panel["inn"] = np.log(panel["patents"].to_numpy())
    panel["lab"] = _expit(-0.2 + 0.4 * s_rows + 0.2 * tt + 0.1 * mn[2]) + 0.025 * e_rel

    event = d.event.reshape(-1)
    truth = pd.DataFrame({
        "city": panel["city"], "year": panel["year"], "cohort": panel["cohort"],
        "event_time": event.astype(np.int64), "tier": panel["tier"],
        "size_class": panel["size_class"], "central": panel["central"],
        "resource": panel["resource"], "tau": tau,
    })[did == 1].reset_index(drop=True)
    grp = truth.groupby(["cohort", "event_time", "tier"])["tau"]
    truth["cell_n"] = grp.transform("size").astype(np.int64)
    truth["cell_tau"] = grp.transform("mean")

    def means(col: str) -> dict[str, float]:
        return {str(k): float(v) for k, v in truth.groupby(col)["tau"].mean().items()}

    params = {
        "synthetic": True,
        "seed": seed,
        "att_simple": float(truth["tau"].mean()),
        "att_by_tier": means("tier"),
        "att_by_cohort": means("cohort"),
        "att_by_event_time": means("event_time"),
        "att_by_size_class": means("size_class"),
        "att_by_central": means("central"),
        "att_by_resource": means("resource"),
        "calibration": {"c": knobs["c"], "s_noise": knobs["s_noise"],
                        "targets": {"resi_mean": PAPER_RESI_MEAN, "twfe_did": PAPER_TWFE}},
        "indicator_shape_sigma": {r[0]: float(sg) for r, sg in zip(_IND, ind["sigma"],
                                                                   strict=True)},
        "latent_effect": EFFECT,
        "mediator_effects": {"dig": 0.006, "lab": 0.025, "inn": "ln(patents)",
                             "scaling": "times E_it / mean(E over treated city-years)"},
    }
    return EcommerceReplica(panel=panel, truth=truth, weights=w, true_parameters=params)


def truth_cells(truth: pd.DataFrame) -> pd.DataFrame:
    """One row per (cohort, event_time, tier) cell: n city-years and mean true effect."""
    cells = truth.drop_duplicates(["cohort", "event_time", "tier"])
    return (cells[["cohort", "event_time", "tier", "cell_n", "cell_tau"]]
            .sort_values(["cohort", "event_time", "tier"]).reset_index(drop=True))


def to_csv_text(df: pd.DataFrame) -> str:
    """The bundled CSV format: UTF-8, header, \\n line ends, floats to 12 significant digits."""
    return df.to_csv(index=False, lineterminator="\n", float_format="%.12g")


def indicator_spec() -> pd.DataFrame:
    """The index spec shipped with the data: directions spelled positive / negative (CONTRACT.md)."""
    spec = INDICATORS[["indicator", "dimension", "direction", "label", "published_weight"]].copy()
    spec["direction"] = np.where(spec["direction"].to_numpy(dtype=float) > 0, "positive", "negative")
    return spec


def write(out_dir: str | Path, *, seed: int = 3) -> list[Path]:
    """Write ecommerce_panel.csv, ecommerce_panel_truth.csv, ecommerce_indicators.csv and the
    datasheet ecommerce_panel.toml into ``out_dir``."""
    from bayesres.io import atomic_write_text
    from bayesres.simulate._ecommerce_sheet import datasheet

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rep = generate(seed=seed)
    paths = [
        atomic_write_text(out / "ecommerce_panel.csv", to_csv_text(rep.panel)),
        atomic_write_text(out / "ecommerce_panel_truth.csv", to_csv_text(rep.truth)),
        atomic_write_text(out / "ecommerce_indicators.csv", to_csv_text(indicator_spec())),
    ]
    extra = {"twfe": _twfe_report(rep.panel), "units": {r[0]: r[5] for r in _IND}}
    paths.append(atomic_write_text(out / "ecommerce_panel.toml", datasheet(rep, extra)))
    return paths


def _twfe_report(panel: pd.DataFrame) -> dict[str, float]:
    n = panel["city"].nunique()
    x = panel[["did", *CONTROL_TARGETS]].to_numpy(dtype=float)
    b = twfe_within(panel["resi"].to_numpy(), x, n, len(YEARS))
    return {"did": float(b[0])}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bayesres.simulate.ecommerce",
                                     description="Write the synthetic ecommerce_panel replica.")
    parser.add_argument("--out", default="data", help="output folder (default: data)")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)
    for p in write(args.out, seed=args.seed):
        print(p)


if __name__ == "__main__":
    main()
