"""The papers' published numbers (data/published), keyed by bayesres quantity names.

``published_value(analysis, quantity)`` returns the number the paper printed for a quantity that
bayesres emits (CONTRACT.md quantity names), or ``None`` where the paper has no such number. The
mapping is explicit and small: a published coefficient is only attached to the bayesres quantity
that estimates the same thing on the bundled replica.

- paper 001 (customs38): Table 1 entropy weights -> ``weight[<indicator>]`` and
  ``dimension_weight[<dimension>]``; Table 2 -> ``intercept``, ``slope``, ``coef[<control>]``;
  Table 4 interaction slopes -> ``slope_diff[first-other]`` / ``slope_diff[new_first-other]``;
  Tables 2 (robustness 1) and 3 (robustness 2) -> variants ``growth`` and ``restime``.
- paper 003 (ecommerce_panel): Table 1 weights; Table 4 ``DID`` -> ``TWFE`` (variant ``controls``:
  column 6, five controls; variant ``no_controls``: column 1); Table 7 split samples ->
  ``ATT_tier[...]`` for the size / central / resource splits.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = ["PublishedValue", "published_value", "published_entry", "published_table", "claims"]

PAPER_OF = {"index": None, "regression": "001", "did": "003"}
DATASET_PAPER = {"customs38": "001", "ecommerce_panel": "003"}


@dataclass(frozen=True)
class PublishedValue:
    value: float
    t: float | None
    source: str  # "001 Table 2 (baseline)"
    note: str = ""

    @property
    def se(self) -> float | None:
        """Standard error implied by the printed t statistic (|coef / t|)."""
        if self.t is None or not math.isfinite(self.t) or self.t == 0:
            return None
        return abs(self.value / self.t)


def _published_dir() -> Any:
    from bayesres.datasets import data_dir

    return data_dir() / "published"


@functools.cache
def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(_published_dir() / name)


@functools.cache
def _indicator_labels(dataset: str) -> dict[str, str]:
    from bayesres.datasets import indicators

    spec = indicators(dataset)
    return dict(zip(spec["indicator"], spec["label"], strict=True))


def _weights(paper: str, quantity: str) -> PublishedValue | None:
    table = _read(f"seed{paper}_index_weights.csv")
    dataset = "customs38" if paper == "001" else "ecommerce_panel"
    name, _, arg = quantity.partition("[")
    arg = arg.rstrip("]")
    if name == "weight":
        label = _indicator_labels(dataset).get(arg, arg)
        row = table[table["indicator"] == label]
        if len(row):
            return PublishedValue(float(row["weight"].iloc[0]), None, f"{paper} Table 1")
    if name == "dimension_weight":
        rows = table[table["dimension"] == arg]
        if len(rows):
            v = (
                float(rows["dimension_weight"].iloc[0])
                if "dimension_weight" in rows
                else float(rows["weight"].sum())
            )
            return PublishedValue(v, None, f"{paper} Table 1")
    return None


# paper 001: (variant, quantity) -> (table label, term)
_REG_001 = {
    "baseline": {
        "intercept": ("2 (baseline)", "Constant"),
        "slope": ("2 (baseline)", "LnRescity"),
        "coef[nonag_density]": ("2 (baseline)", "LnX"),
        "coef[ln_nonag_density]": ("2 (baseline)", "LnX"),
        "slope_diff[first-other]": ("4 (heterogeneity)", "FirstTier x LnRescity"),
        "slope_diff[new_first-other]": ("4 (heterogeneity)", "NewFirstTier x LnRescity"),
    },
    "growth": {
        "intercept": ("2 (robustness 1)", "Constant"),
        "slope": ("2 (robustness 1)", "LnRescity"),
        "coef[nonag_density]": ("2 (robustness 1)", "LnX"),
        "coef[ln_nonag_density]": ("2 (robustness 1)", "LnX"),
    },
    "restime": {
        "intercept": ("3 (robustness 2)", "Constant"),
        "slope": ("3 (robustness 2)", "LnRescity"),
        "coef[nonag_density]": ("3 (robustness 2)", "LnX"),
        "coef[ln_nonag_density]": ("3 (robustness 2)", "LnX"),
    },
}

# paper 003: (variant, quantity) -> (table, column, term)
_DID_003 = {
    "controls": {"TWFE": (4, 6, "DID")},
    "no_controls": {"TWFE": (4, 1, "DID")},
    "size_class": {"ATT_tier[large]": (7, 1, "DID"), "ATT_tier[small]": (7, 2, "DID")},
    "central": {"ATT_tier[1]": (7, 3, "DID"), "ATT_tier[0]": (7, 4, "DID")},
    "resource": {"ATT_tier[1]": (7, 5, "DID"), "ATT_tier[0]": (7, 6, "DID")},
}


def published_entry(
    analysis: str, quantity: str, *, paper: str | None = None, variant: str | None = None
) -> PublishedValue | None:
    """The published number for ``quantity`` of ``analysis`` (with source and t), or ``None``."""
    if analysis == "index":
        return _weights(paper or "001", quantity)
    if analysis == "regression":
        if (paper or "001") != "001":
            return None
        hit = _REG_001.get(variant or "baseline", {}).get(quantity)
        if hit is None:
            return None
        table = _read("seed001_regressions.csv")
        row = table[(table["table"] == hit[0]) & (table["term"] == hit[1])]
        if not len(row):
            return None
        r = row.iloc[0]
        return PublishedValue(float(r["coef"]), float(r["t_robust"]), f"001 Table {hit[0]}")
    if analysis == "did":
        if (paper or "003") != "003":
            return None
        hit = _DID_003.get(variant or "controls", {}).get(quantity)
        if hit is None:
            return None
        table = _read("seed003_regressions.csv")
        row = table[
            (table["table"] == hit[0]) & (table["column"] == hit[1]) & (table["term"] == hit[2])
        ]
        if not len(row):
            return None
        r = row.iloc[0]
        return PublishedValue(
            float(r["coef"]), float(r["t"]), f"003 Table {hit[0]} col {hit[1]}", str(r["spec"])
        )
    return None


def published_value(
    analysis: str, quantity: str, *, paper: str | None = None, variant: str | None = None
) -> float | None:
    """The number the paper printed for ``quantity`` (bayesres name), or ``None``."""
    entry = published_entry(analysis, quantity, paper=paper, variant=variant)
    return None if entry is None else entry.value


def published_table(
    analysis: str, quantities: list[str], *, paper: str | None = None, variant: str | None = None
) -> pd.DataFrame:
    """Tidy table ``quantity, published, published_t, published_se, source`` for the hits."""
    rows = []
    for q in quantities:
        e = published_entry(analysis, q, paper=paper, variant=variant)
        if e is not None:
            rows.append(
                {
                    "quantity": q,
                    "published": e.value,
                    "published_t": e.t,
                    "published_se": e.se,
                    "source": e.source,
                }
            )
    return pd.DataFrame(
        rows, columns=["quantity", "published", "published_t", "published_se", "source"]
    )


def claims(paper: str) -> list[str]:
    """One-line statements of what each paper claimed (from data/published), for the summary."""
    if paper == "001":
        t = _read("seed001_regressions.csv")

        def g(table: str, term: str) -> pd.Series:
            return t[(t["table"] == table) & (t["term"] == term)].iloc[0]

        b, t4a, t4b = (
            g("2 (baseline)", "LnRescity"),
            g("4 (heterogeneity)", "FirstTier x LnRescity"),
            g("4 (heterogeneity)", "NewFirstTier x LnRescity"),
        )
        return [
            f"Elasticity of export resilience to urban resilience {b['coef']:g} "
            f"(t {b['t_robust']:g}, n {int(b['n'])}, R² {b['r2']:g}; Table 2).",
            f"Weaker in first-tier cities: slope difference {t4a['coef']:g} (t {t4a['t_robust']:g}); "
            f"new-first-tier {t4b['coef']:g} (t {t4b['t_robust']:g}) (Table 4).",
        ]
    if paper == "003":
        t = _read("seed003_regressions.csv")
        did = t[(t["term"] == "DID") & (t["table"] == 4)]
        c1 = did[did["column"] == 1].iloc[0]
        c6 = did[did["column"] == 6].iloc[0]
        t7 = t[(t["table"] == 7) & (t["term"] == "DID")]
        large, small = t7.iloc[0], t7.iloc[1]
        return [
            f"Pilot zones raise urban economic resilience: DID {c1['coef']:g} (t {c1['t']:g}) without "
            f"controls, {c6['coef']:g} (t {c6['t']:g}) with five controls (Table 4, N {int(c6['n'])}).",
            f"Effect only in large cities: {large['coef']:g} (t {large['t']:g}) vs small and medium "
            f"{small['coef']:g} (t {small['t']:g}) (Table 7).",
        ]
    return []
