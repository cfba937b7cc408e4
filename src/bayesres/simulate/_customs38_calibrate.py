"""Private calibration kernels for the ``customs38`` synthetic replica (methods.md section 7).

Bare numpy: entropy-weight shape calibration (one power parameter per indicator column), the
residual-maker construction that makes OLS return published coefficients and R-squared exactly,
integer outcome search for the months-to-recovery stretch goal, and a tiny TOML writer for the
datasheets (no TOML writer ships with the standard library).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.optimize import brentq

from bayesres.config import ENTROPY_SHIFT
from bayesres.index.entropy import entropy_from_normalised

__all__ = [
    "divergence_of_power",
    "solve_power",
    "ols",
    "residual_maker_outcome",
    "round_sig",
    "integer_outcome_search",
    "to_toml",
]

_LOG_A_BRACKET = (-12.0, 12.0)


def round_sig(x: np.ndarray, digits: int = 12) -> np.ndarray:
    """Round to ``digits`` significant digits, exactly what ``float_format='%.{digits}g'`` writes."""
    x = np.asarray(x, dtype=float)
    return np.array([float(f"{v:.{digits}g}") for v in x.ravel()]).reshape(x.shape)


def divergence_of_power(u: np.ndarray, log_a: float, *, shift: float = ENTROPY_SHIFT) -> float:
    """Divergence d = 1 - e of the column z = u ** exp(log_a) (u in [0, 1] with min 0, max 1)."""
    z = np.asarray(u, dtype=float) ** math.exp(log_a) + shift
    _, d, _ = entropy_from_normalised(z[:, None])
    return float(d[0])


def solve_power(u: np.ndarray, target_d: float, *, shift: float = ENTROPY_SHIFT) -> float:
    """log of the power ``a`` such that u ** a has divergence ``target_d`` (1-D root find).

    Larger ``a`` pushes interior values towards 0 (more concentrated shares, larger d), so d is
    increasing in ``a``; the bracket covers d from about 1 - ln(n-1)/ln(n) up to near 1.
    """
    lo, hi = _LOG_A_BRACKET
    f_lo = divergence_of_power(u, lo, shift=shift) - target_d
    f_hi = divergence_of_power(u, hi, shift=shift) - target_d
    if f_lo > 0 or f_hi < 0:
        raise ValueError(
            f"divergence {target_d:.6g} outside the reachable range "
            f"[{f_lo + target_d:.6g}, {f_hi + target_d:.6g}] for this column"
        )
    return float(
        brentq(lambda la: divergence_of_power(u, la, shift=shift) - target_d, lo, hi, xtol=1e-15)
    )


def ols(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, float]:
    """OLS coefficients and (centred) R-squared; ``x`` includes the intercept column."""
    y = np.asarray(y, dtype=float)
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    r2 = 1.0 - resid @ resid / np.sum((y - y.mean()) ** 2)
    return beta, float(r2)


def _residual_maker(x: np.ndarray) -> np.ndarray:
    q, _ = np.linalg.qr(x)
    return np.eye(x.shape[0]) - q @ q.T


def residual_maker_outcome(
    x: np.ndarray,
    beta: np.ndarray,
    r2: float,
    u: np.ndarray,
    *,
    w: np.ndarray | None = None,
    gamma: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """y = X beta + e with e orthogonal to X and scaled so OLS(y, X) gives beta and R^2 exactly.

    Optional extra columns ``w`` with coefficients ``gamma``: e = M_X W gamma + e_perp, where
    e_perp is orthogonal to [X, W]; OLS of y on [X, W] then returns gamma exactly for the W block
    (while OLS on X alone still returns beta and r2). Returns (y, e).
    """
    x = np.asarray(x, dtype=float)
    fitted = x @ np.asarray(beta, dtype=float)
    ss_fit = np.sum((fitted - fitted.mean()) ** 2)
    ss_e = ss_fit * (1.0 - r2) / r2
    m_x = _residual_maker(x)
    if w is None:
        base = np.zeros(x.shape[0])
        m_all = m_x
    else:
        base = m_x @ (np.asarray(w, dtype=float) @ np.asarray(gamma, dtype=float))
        m_all = _residual_maker(np.column_stack([x, w]))
    rest = ss_e - base @ base
    if rest <= 0:
        raise ValueError("the W block alone explains more than the residual variance allows")
    e_perp = m_all @ np.asarray(u, dtype=float)
    e = base + e_perp * math.sqrt(rest / (e_perp @ e_perp))
    return fitted + e, e


def integer_outcome_search(
    start: np.ndarray,
    x: np.ndarray,
    target_beta: np.ndarray,
    target_r2: float,
    *,
    lo: int,
    hi: int,
    weights: np.ndarray,
    max_sweeps: int = 200,
) -> np.ndarray:
    """Greedy search (single +-1 steps and +1/-1 pair moves) for integers in [lo, hi] whose OLS fit is near the targets.

    Loss = sum_k weights_k (beta_k - target_k)^2 + (r2 - target_r2)^2; deterministic order.
    """
    n = np.clip(np.rint(start), lo, hi).astype(int)

    def loss(v: np.ndarray) -> float:
        b, r2 = ols(v.astype(float), x)
        return float(np.sum(weights * (b - target_beta) ** 2) + (r2 - target_r2) ** 2)

    moves = [((i,), (s,)) for i in range(n.size) for s in (-1, 1)]
    moves += [((i, j), (1, -1)) for i in range(n.size) for j in range(n.size) if i != j]
    best = loss(n)
    for _ in range(max_sweeps):
        improved = False
        for idx, steps in moves:
            cand = n.copy()
            cand[list(idx)] += steps
            if cand.min() < lo or cand.max() > hi:
                continue
            val = loss(cand)
            if val < best - 1e-15:
                n, best, improved = cand, val, True
        if not improved:
            break
    return n


# ---------------------------------------------------------------------------------------------
# minimal TOML writer (strings, bools, ints, floats, lists of scalars, nested tables)


def _toml_scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    if isinstance(v, str):
        if "\n" in v:
            return '"""\n' + v.replace("\\", "\\\\").replace('"""', '\\"""') + '"""'
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple, np.ndarray)):
        return "[" + ", ".join(_toml_scalar(e) for e in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _toml_key(k: str) -> str:
    ok = k.replace("_", "").replace("-", "").isalnum() and k.isascii()
    return k if ok else '"' + k + '"'


def to_toml(data: dict[str, Any], _prefix: str = "") -> str:
    """Serialise a nested dict to TOML text (scalars first, then sub-tables)."""
    lines: list[str] = []
    tables: list[tuple[str, dict[str, Any]]] = []
    for k, v in data.items():
        if isinstance(v, dict):
            tables.append((k, v))
        else:
            lines.append(f"{_toml_key(k)} = {_toml_scalar(v)}")
    out = "\n".join(lines)
    for k, v in tables:
        name = f"{_prefix}.{_toml_key(k)}" if _prefix else _toml_key(k)
        body = to_toml(v, name)
        out += ("\n\n" if out else "") + f"[{name}]" + ("\n" + body if body else "")
    return out
