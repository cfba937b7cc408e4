"""Frequentist twins of the export-ratio regression (paper 001; methods.md sections 2.3, 2.5).

All models are OLS on the same validated ``CrossSection`` the Bayesian models use:

* ``pooled``: y = b0 + b1 x + g'c (Table 2); the paper's "robust t" is HC1 with t(n - p).
* ``slope_dummies``: the paper's Table 4, slope dummies by tier and **no** tier intercepts:
  y = b0 + b1 x + g'c + sum_k d_k x 1{tier = k} (k != reference). slope[ref] = b1,
  slope[k] = b1 + d_k, slope_diff[k-ref] = d_k.
* ``tier_intercepts``: the same plus tier intercept shifts (the specification the Bayesian
  hierarchical model mirrors).

Standard errors: statsmodels HC0-HC3 (MacKinnon & White 1985). HC2 is also computed here on bare
arrays (``hc2_cov``) because the Bell-McCaffrey degrees of freedom (Bell & McCaffrey 2002;
Imbens & Kolesár 2016, REStat 98(4)) need its pieces and no installed package provides them:
for a contrast l, V_HC2 = e'M A^2 M e with A = diag(l'(X'X)^-1 x_i / sqrt(1 - h_ii)) and
M = I - H; under homoskedastic normal errors V ~ sigma^2 sum_k lambda_k chi2_1 with lambda the
eigenvalues of A M A, and the Satterthwaite df is K = (sum lambda)^2 / sum lambda^2.

Wild bootstrap: restricted (null imposed, WCR) with Rademacher or Webb weights, HC1 t statistics,
seeded; the CI inverts the bootstrap test. The ``wildboottest`` package was tried first: it gives
p-values only and supports neither Webb weights nor intervals in the heteroskedastic case, so the
bootstrap is written here (vectorised over draws) and checked against it in the tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from bayesres.config import HDI_PROB
from bayesres.errors import SpecError
from bayesres.summary import frequentist_row, tidy_frame
from bayesres.validate import CrossSection

__all__ = [
    "HC_TYPES",
    "Design",
    "design",
    "ols",
    "hc2_cov",
    "bell_mccaffrey_df",
    "wild_bootstrap",
    "pooled_table",
    "tier_table",
    "robust_table",
    "rubin",
    "frequentist_twin",
]

HC_TYPES = ("HC0", "HC1", "HC2", "HC3")


# --------------------------------------------------------------------------- kernels


def hc2_cov(x: np.ndarray, resid: np.ndarray) -> np.ndarray:
    """HC2 sandwich (X'X)^-1 X' diag(e_i^2 / (1 - h_ii)) X (X'X)^-1 on bare arrays."""
    xtx_inv = np.linalg.inv(x.T @ x)
    h = np.einsum("ij,jk,ik->i", x, xtx_inv, x)
    w = resid**2 / (1.0 - h)
    meat = (x * w[:, None]).T @ x
    return xtx_inv @ meat @ xtx_inv


def bell_mccaffrey_df(x: np.ndarray, contrast: np.ndarray) -> float:
    """Bell-McCaffrey degrees of freedom for the HC2 variance of ``contrast' beta``."""
    x = np.asarray(x, float)
    ell = np.asarray(contrast, float)
    xtx_inv = np.linalg.inv(x.T @ x)
    hat = x @ xtx_inv @ x.T
    m = np.eye(x.shape[0]) - hat
    a = (x @ xtx_inv @ ell) / np.sqrt(1.0 - np.diag(hat))
    lam = np.linalg.eigvalsh(a[:, None] * m * a[None, :])
    return float(lam.sum() ** 2 / (lam**2).sum())


def _webb(rng: np.random.Generator, size: tuple[int, ...]) -> np.ndarray:
    vals = np.sqrt(np.array([0.5, 1.0, 1.5]))
    return rng.choice(np.concatenate([-vals, vals]), size=size)


def _boot_weights(kind: str, n: int, draws: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "rademacher":
        return rng.choice(np.array([-1.0, 1.0]), size=(n, draws))
    if kind == "webb":
        return _webb(rng, (n, draws))
    raise SpecError(f"unknown wild-bootstrap weights {kind!r}", hint="Use rademacher or webb.")


def _hc1_t(x: np.ndarray, y: np.ndarray, j: int, r: float) -> np.ndarray:
    """HC1 t statistics of coefficient j against r, for every column of y (n x B)."""
    n, p = x.shape
    a = np.linalg.solve(x.T @ x, x.T)  # p x n
    beta = a @ y
    u = y - x @ beta
    var = (a[j] ** 2) @ (u**2) * n / (n - p)
    return (beta[j] - r) / np.sqrt(var)


def wild_bootstrap(
    y: np.ndarray,
    x: np.ndarray,
    j: int,
    *,
    draws: int = 999,
    weights: str = "rademacher",
    level: float = HDI_PROB,
    seed: int = 0,
) -> dict[str, float]:
    """Restricted wild bootstrap (WCR) for coefficient ``j``: p-value of beta_j = 0 and the CI.

    The same weight draws serve every null value, so p(r) is a step function and the interval
    ends are found by bisection on p(r) = 1 - level.
    """
    y = np.asarray(y, float)
    x = np.asarray(x, float)
    v = _boot_weights(weights, len(y), draws, seed)
    others = [k for k in range(x.shape[1]) if k != j]
    xr = x[:, others]

    def pval(r: float) -> float:
        yr = y - r * x[:, j]
        b_r = np.linalg.lstsq(xr, yr, rcond=None)[0]
        fit = xr @ b_r + r * x[:, j]
        u = yr - xr @ b_r
        ystar = fit[:, None] + u[:, None] * v
        t0 = _hc1_t(x, y[:, None], j, r)[0]
        tb = _hc1_t(x, ystar, j, r)
        return float(np.mean(np.abs(tb) >= abs(t0)))

    beta = np.linalg.lstsq(x, y, rcond=None)[0]
    n, p = x.shape
    a = np.linalg.solve(x.T @ x, x.T)
    se = float(np.sqrt((a[j] ** 2) @ (y - x @ beta) ** 2 * n / (n - p)))
    alpha = 1.0 - level

    def edge(direction: float) -> float:
        inside, step = float(beta[j]), se
        outside = inside + direction * step
        for _ in range(40):
            if pval(outside) < alpha:
                break
            inside, outside = outside, outside + direction * step
            step *= 2
        for _ in range(40):
            mid = 0.5 * (inside + outside)
            if pval(mid) < alpha:
                outside = mid
            else:
                inside = mid
            if abs(outside - inside) < 1e-6 * max(se, 1e-12):
                break
        return 0.5 * (inside + outside)

    return {"p_value": pval(0.0), "lower": edge(-1.0), "upper": edge(1.0), "draws": draws}


def rubin(estimates: np.ndarray, variances: np.ndarray, *, df_complete: float) -> dict:
    """Rubin's rules with the Barnard-Rubin df: pooled estimate, total variance, FMI."""
    q = np.asarray(estimates, float)
    u = np.asarray(variances, float)
    m = len(q)
    qbar, wbar, b = q.mean(), u.mean(), q.var(ddof=1) if m > 1 else 0.0
    t = wbar + (1 + 1 / m) * b
    lam = (1 + 1 / m) * b / t if t > 0 else 0.0
    if lam > 0:
        v_old = (m - 1) / lam**2
        v_obs = (df_complete + 1) / (df_complete + 3) * df_complete * (1 - lam)
        df = 1 / (1 / v_old + 1 / v_obs)
    else:
        df = df_complete
    return {"estimate": qbar, "within": wbar, "between": b, "total": t, "fmi": lam, "df": df}


# --------------------------------------------------------------------------- designs


@dataclass(frozen=True)
class Design:
    """A design matrix with named columns; ``contrasts`` map quantity names to row vectors."""

    x: np.ndarray
    columns: tuple[str, ...]
    contrasts: dict[str, np.ndarray]
    kind: str


def _tier_labels(cs: CrossSection) -> tuple[str, ...]:
    return cs.tiers if cs.tier and len(cs.tiers) > 1 else ()


def design(cs: CrossSection, *, kind: str = "pooled", x: np.ndarray | None = None) -> Design:
    """Design for ``pooled`` / ``slope_dummies`` (Table 4) / ``tier_intercepts``.

    ``x`` overrides the predictor (used for index draws). The reference tier is the last one.
    """
    xv = cs.x if x is None else np.asarray(x, float)
    cols = {"intercept": np.ones(cs.n), "slope": xv}
    cols.update({f"coef[{c}]": cs.z[:, i] for i, c in enumerate(cs.controls)})
    tiers = _tier_labels(cs)
    if kind == "pooled" or not tiers:
        if kind != "pooled" and not tiers:
            raise SpecError(f"the {kind} model needs a tier column with at least two tiers")
    elif kind in ("slope_dummies", "tier_intercepts"):
        codes, ref = cs.tier_codes, tiers[-1]
        if kind == "tier_intercepts":
            for k, t in enumerate(tiers[:-1]):
                cols[f"intercept_diff[{t}-{ref}]"] = (codes == k).astype(float)
        for k, t in enumerate(tiers[:-1]):
            cols[f"slope_diff[{t}-{ref}]"] = xv * (codes == k)
    else:
        raise SpecError(f"unknown design {kind!r}")
    names = tuple(cols)
    mat = np.column_stack([cols[c] for c in names])
    unit = {c: np.eye(len(names))[i] for i, c in enumerate(names)}
    contrasts = dict(unit)
    if kind != "pooled" and tiers:
        ref = tiers[-1]
        contrasts[f"slope[{ref}]"] = unit["slope"]
        for t in tiers[:-1]:
            contrasts[f"slope[{t}]"] = unit["slope"] + unit[f"slope_diff[{t}-{ref}]"]
        for i, t in enumerate(tiers[:-1]):
            for u in tiers[i + 1 : -1]:
                contrasts[f"slope_diff[{t}-{u}]"] = (
                    unit[f"slope_diff[{t}-{ref}]"] - unit[f"slope_diff[{u}-{ref}]"]
                )
    return Design(x=mat, columns=names, contrasts=contrasts, kind=kind)


def ols(y: np.ndarray, d: Design, *, cov_type: str = "HC1"):
    """statsmodels OLS fit of y on the design with the given HC covariance."""
    import statsmodels.api as sm

    if cov_type not in (*HC_TYPES, "nonrobust"):
        raise SpecError(f"unknown covariance {cov_type!r}", hint=f"Use one of {HC_TYPES}.")
    return sm.OLS(np.asarray(y, float), d.x).fit(cov_type=cov_type)


def _rows(
    y: np.ndarray,
    d: Design,
    names: Sequence[str],
    *,
    cov_type: str,
    level: float,
    label: str,
) -> list[dict]:
    res = ols(y, d, cov_type=cov_type)
    df = float(res.df_resid)
    rows = []
    for q in names:
        ell = d.contrasts[q]
        est = float(ell @ res.params)
        se = float(np.sqrt(ell @ res.cov_params() @ ell))
        row = frequentist_row(q, estimate=est, std_error=se, method=label, level=level, df=df)
        rows.append(row)
    return rows


def pooled_table(
    cs: CrossSection, *, y: np.ndarray | None = None, cov_type: str = "HC1", level: float = HDI_PROB
) -> pd.DataFrame:
    """intercept, slope, coef[<control>] (OLS, ``cov_type`` SEs, t(n - p)) and sigma."""
    yv = cs.y if y is None else y
    d = design(cs, kind="pooled")
    names = [c for c in d.columns]
    rows = _rows(yv, d, names, cov_type=cov_type, level=level, label=f"OLS-{cov_type}")
    res = ols(yv, d, cov_type="nonrobust")
    rows.append(
        frequentist_row(
            "sigma",
            estimate=float(np.sqrt(res.scale)),
            std_error=float(np.sqrt(res.scale / (2 * res.df_resid))),
            method="OLS (residual sd, SE by the delta method)",
            level=level,
        )
    )
    out = tidy_frame(rows)
    out["r2"] = float(res.rsquared)
    out["n"] = cs.n
    return out


def tier_table(
    cs: CrossSection,
    *,
    kind: str = "slope_dummies",
    y: np.ndarray | None = None,
    cov_type: str = "HC1",
    level: float = HDI_PROB,
) -> pd.DataFrame:
    """slope[<tier>], slope_diff[...] (and the other coefficients) from a tier design."""
    yv = cs.y if y is None else y
    d = design(cs, kind=kind)
    label = f"OLS-{cov_type} ({'Table 4 slope dummies' if kind == 'slope_dummies' else kind})"
    names = [c for c in d.contrasts if c != "slope"]
    out = tidy_frame(_rows(yv, d, names, cov_type=cov_type, level=level, label=label))
    out["r2"] = float(ols(yv, d, cov_type="nonrobust").rsquared)
    return out


def robust_table(
    cs: CrossSection,
    *,
    kind: str = "slope_dummies",
    y: np.ndarray | None = None,
    quantities: Sequence[str] | None = None,
    boot_draws: int = 999,
    boot_weights: str = "webb",
    level: float = HDI_PROB,
    seed: int = 0,
) -> pd.DataFrame:
    """Small-sample comparison per quantity: HC0-HC3 SEs, HC2 + Bell-McCaffrey df, wild bootstrap.

    One row per quantity: estimate, se_HC0..se_HC3, bm_df, p_HC1_t (t(n-p), the paper's robust t),
    p_HC2_BM, ci_HC2_BM, wild-bootstrap p and CI (coefficients only, not contrasts).
    """
    yv = cs.y if y is None else np.asarray(y, float)
    d = design(cs, kind=kind)
    fits = {h: ols(yv, d, cov_type=h) for h in HC_TYPES}
    df_resid = float(fits["HC1"].df_resid)
    names = list(quantities) if quantities is not None else [c for c in d.contrasts]
    q = stats.norm.ppf(0.5 + level / 2)
    rows = []
    for name in names:
        ell = d.contrasts[name]
        est = float(ell @ fits["HC1"].params)
        row: dict = {"quantity": name, "model": kind, "estimate": est}
        for h, r in fits.items():
            row[f"se_{h}"] = float(np.sqrt(ell @ r.cov_params() @ ell))
        bm = bell_mccaffrey_df(d.x, ell)
        row["bm_df"] = bm
        row["p_HC1_t"] = float(2 * stats.t.sf(abs(est / row["se_HC1"]), df_resid))
        row["p_HC1_normal"] = float(2 * stats.norm.sf(abs(est / row["se_HC1"])))
        row["p_HC2_BM"] = float(2 * stats.t.sf(abs(est / row["se_HC2"]), bm))
        tq = stats.t.ppf(0.5 + level / 2, bm)
        row["ci_HC2_BM_low"], row["ci_HC2_BM_high"] = (
            est - tq * row["se_HC2"],
            est + tq * row["se_HC2"],
        )
        row["ci_HC1_normal_low"], row["ci_HC1_normal_high"] = (
            est - q * row["se_HC1"],
            est + q * row["se_HC1"],
        )
        if name in d.columns and boot_draws > 0:
            wb = wild_bootstrap(
                yv,
                d.x,
                d.columns.index(name),
                draws=boot_draws,
                weights=boot_weights,
                level=level,
                seed=seed,
            )
            row.update(
                wild_p=wb["p_value"],
                wild_low=wb["lower"],
                wild_high=wb["upper"],
                wild_weights=boot_weights,
            )
        rows.append(row)
    return pd.DataFrame(rows)


def frequentist_twin(cs: CrossSection, *, level: float = HDI_PROB) -> pd.DataFrame:
    """The contract's frequentist side: pooled terms (OLS-HC1) + tier terms (Table 4 model)."""
    parts = [pooled_table(cs, level=level)]
    if _tier_labels(cs):
        t = tier_table(cs, kind="slope_dummies", level=level)
        keep = t["quantity"].str.startswith(("slope[", "slope_diff["))
        parts.append(t[keep])
    return tidy_frame(pd.concat(parts, ignore_index=True))
