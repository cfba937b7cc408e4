"""SBC end to end (slow): a calibrated model passes, a mis-specified simulator fails.

Non-centred eight schools (methods.md section 5.3) fitted by nutpie to data simulated from its own
prior must give uniform ranks for every checked quantity (mu, tau, theta, the derived theta range
and the log-likelihood). The same model paired with a simulator whose mu and tau prior scales
are 3 x the model's must fail: the true values are more spread than any posterior can cover, so
the ranks pile up at both ends. Both runs share one compiled model (same compile key).
"""

from __future__ import annotations

import pandas as pd
import pytest

from bayesres.calibrate import SBC_COLUMNS, run_sbc

pytestmark = pytest.mark.slow

ARGS = dict(sims=80, seed=11, n_ranks=40, draws=500, tune=400, chains=2, workers=0, chunk=10)
CONTRACT = "quantity, n_sims, statistic, p_value, passed"


def test_noncentred_eight_schools_passes(tmp_path):
    table = run_sbc("eight_schools", out=tmp_path, **ARGS)
    assert SBC_COLUMNS == [c.strip() for c in CONTRACT.split(",")]
    on_disk = pd.read_csv(tmp_path / "sbc.csv")
    assert list(on_disk.columns) == SBC_COLUMNS
    assert {"mu", "tau", "theta[A]", "theta_range", "loglik"} <= set(table["quantity"])
    assert (table["n_sims"] == 80).all()
    assert table["passed"].all(), table
    assert (tmp_path / "figures" / "sbc_ecdf.png").exists()
    assert (tmp_path / "figures" / "sbc_ecdf_loglik.png").exists()


def test_misspecified_simulator_fails(tmp_path):
    table = run_sbc("eight_schools_misspecified", out=tmp_path, **ARGS)
    failed = set(table.loc[~table["passed"], "quantity"])
    assert failed, table
    assert "mu" in failed or "loglik" in failed
