"""The result object every analysis returns, and its on-disk form (CONTRACT.md).

``AnalysisResult`` holds both twins as tidy tables (``estimates`` = Bayesian, ``frequentist``),
the posterior DataTree, the gate report, extra tables and lazily drawn figures. ``to_json`` builds
results.json; ``save`` writes results.json, posterior.nc, tables/*.csv, figures/*.png and
report.html into a folder, each file atomically.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayesres._version import __version__
from bayesres.config import HDI_PROB
from bayesres.diagnostics import GateReport

__all__ = ["AnalysisResult", "DataInfo"]


@dataclass(frozen=True)
class DataInfo:
    source: str
    sha256: str | None
    n_rows: int
    synthetic: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "sha256": self.sha256,
            "n_rows": self.n_rows,
            "synthetic": self.synthetic,
        }


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


@dataclass
class AnalysisResult:
    analysis: str
    data: DataInfo
    settings: dict[str, Any]
    estimates: pd.DataFrame
    frequentist: pd.DataFrame
    idata: Any = None
    diagnostics: GateReport | None = None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, Callable[[], Any]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    hdi_prob: float = HDI_PROB

    # ------------------------------------------------------------------ views
    def quantities(self) -> list[dict[str, Any]]:
        """Quantities in results.json form: Bayesian and frequentist side by side (either may be null)."""
        bayes = (
            {r["quantity"]: r for r in self.estimates.to_dict("records")}
            if len(self.estimates)
            else {}
        )
        freq = (
            {r["quantity"]: r for r in self.frequentist.to_dict("records")}
            if len(self.frequentist)
            else {}
        )
        names = list(dict.fromkeys([*bayes, *freq]))
        out = []
        for name in names:
            b, f = bayes.get(name), freq.get(name)
            q: dict[str, Any] = {"name": name, "bayesian": None, "frequentist": None}
            if b is not None:
                q["bayesian"] = {
                    "mean": _num(b["estimate"]),
                    "sd": _num(b["std_error"]),
                    "hdi_low": _num(b["lower"]),
                    "hdi_high": _num(b["upper"]),
                    "hdi_prob": _num(b.get("level")) or self.hdi_prob,
                    "p_positive": _num(b.get("p_positive")),
                    "method": b.get("method"),
                }
                for k in ("r_hat", "ess_bulk", "ess_tail"):
                    if k in b and _num(b[k]) is not None:
                        q["bayesian"][k] = _num(b[k])
            if f is not None:
                q["frequentist"] = {
                    "method": f.get("method"),
                    "estimate": _num(f["estimate"]),
                    "se": _num(f["std_error"]),
                    "ci_low": _num(f["lower"]),
                    "ci_high": _num(f["upper"]),
                    "p_value": _num(f.get("p_value")),
                }
            out.append(q)
        return out

    def comparison(self) -> pd.DataFrame:
        from bayesres.compare import compare_tables

        return compare_tables(self.estimates, self.frequentist)

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "bayesres_version": __version__,
            "analysis": self.analysis,
            "data": self.data.to_json(),
            "settings": self.settings,
            "quantities": self.quantities(),
            "diagnostics": self.diagnostics.to_json() if self.diagnostics is not None else None,
        }
        doc.update(self.extra)
        if self.notes:
            doc["notes"] = list(self.notes)
        return doc

    def plot(self, name: str | None = None) -> Any:
        """Draw figure ``name`` (default: the first) and return the matplotlib Figure."""
        if not self.figures:
            raise ValueError("this result has no figures")
        key = name or next(iter(self.figures))
        return self.figures[key]()

    # ------------------------------------------------------------------ output
    def save(self, out: str | Path, *, report: bool = True) -> Path:
        """Write the contract's files into ``out`` (created if missing; files replaced atomically)."""
        from bayesres.io import atomic_path, atomic_write_csv, atomic_write_json

        out = Path(out)
        (out / "tables").mkdir(parents=True, exist_ok=True)
        (out / "figures").mkdir(parents=True, exist_ok=True)
        if len(self.estimates):
            atomic_write_csv(self.estimates, out / "tables" / "bayesian.csv")
        if len(self.frequentist):
            atomic_write_csv(self.frequentist, out / "tables" / "frequentist.csv")
        cmp = self.comparison()
        if len(cmp):
            atomic_write_csv(cmp, out / "tables" / "comparison.csv")
        for name, table in self.tables.items():
            atomic_write_csv(table, out / "tables" / f"{name}.csv")
        if self.idata is not None:
            with atomic_path(out / "posterior.nc") as tmp:
                self.idata.to_netcdf(tmp, engine="h5netcdf")
        figure_files = self.save_figures(out / "figures")
        atomic_write_json(out / "results.json", self.to_json())
        if report:
            from bayesres.report import render_analysis_report

            render_analysis_report(self, out, figure_files=figure_files)
        return out

    def save_figures(self, folder: Path) -> dict[str, Path]:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        from bayesres.io import atomic_path

        files: dict[str, Path] = {}
        for name, draw in self.figures.items():
            fig = draw()
            target = folder / f"{name}.png"
            with atomic_path(target) as tmp:
                fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
            plt.close(fig)
            files[name] = target
        return files
