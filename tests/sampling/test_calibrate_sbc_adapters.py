"""SBC end to end (slow) for the hierarchical DID and the factor index adapters.

Each study is tiny (3 simulations, short chains): it checks the plumbing, not calibration (the
full studies are in the note on issue 7): simulate on the real design, swap the data into one
compiled model, fit with the analysis's sampler settings, rank every checked quantity, write
sbc.csv / sbc_summary.json / figures, and warn exactly when a fit diverged.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from bayesres.calibrate import SBC_COLUMNS, run_sbc
from bayesres.errors import ConvergenceWarning

pytestmark = pytest.mark.slow

N_RANKS = 20
ARGS = dict(sims=3, seed=5, n_ranks=N_RANKS, draws=150, tune=200, chains=2, workers=0, chunk=3)

EXPECTED = {
    "did_hier": {"th0", "s_c", "sigma[low]", "s_pi", "ATT", "ATT_tier_diff[high-low]", "loglik"},
    "did_hier_ecommerce": {
        "th0",
        "s_c",
        "sigma[first]",
        "s_th",
        "s_psi",
        "ATT",
        "ATT_tier_diff[first-other]",
        "loglik",
    },
    "factor_index": {
        "lam[hospital_beds]",
        "weight[gdp_pc]",
        "dimension_weight[ecological]",
        "mu_tier[first]",
        "xi[Beijing]",
        "loglik",
    },
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_adapter_end_to_end(tmp_path, name):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        table = run_sbc(name, out=tmp_path, **ARGS)
    assert list(table.columns) == SBC_COLUMNS
    assert EXPECTED[name] <= set(table["quantity"])
    assert (table["n_sims"] == 3).all() and table["p_value"].between(0, 1).all()
    records = pd.read_csv(tmp_path / "replications.csv")
    assert list(records["sim"]) == [0, 1, 2]
    ranks = records[[f"rank[{q}]" for q in table["quantity"]]].to_numpy()
    assert np.issubdtype(ranks.dtype, np.integer)
    assert ranks.min() >= 0 and ranks.max() <= N_RANKS - 1
    ess = records[[f"ess[{q}]" for q in table["quantity"]]].to_numpy(float)
    assert np.isfinite(ess).all() and (ess > 0).all()
    summary = json.loads((tmp_path / "sbc_summary.json").read_text())
    assert summary["model"] == name and summary["n_sims"] == 3
    diverged = summary["divergent_fits"] > 0
    assert diverged == (records["divergences"] > 0).any()
    assert len([w for w in caught if "fits diverged" in str(w.message)]) == int(diverged)
    assert summary["verdict"] == "flagged" if diverged else summary["verdict"] != "flagged"
    assert (tmp_path / "figures" / "sbc_ecdf.png").exists()
    if name.startswith("did_"):  # each simulation in the form bayesres did would pick for it
        assert records["variant"].str.fullmatch(r"cells=n?c rw=n?c psi=n?c").all()
        assert sum(summary["variants"].values()) == 3
