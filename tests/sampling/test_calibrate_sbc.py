"""SBC end to end (slow): a calibrated model passes, a mis-specified simulator fails, and a
funnel-prone parameterisation is flagged.

Non-centred eight schools (methods.md section 5.3) fitted by nutpie to data simulated from its own
prior must give uniform ranks for every checked quantity (mu, tau, theta, the derived theta range
and the log-likelihood) with no divergent fit. The same model paired with a simulator whose mu and
tau prior scales are 3 x the model's must fail: the true values are more spread than any
posterior can cover, so the ranks pile up at both ends. Both runs share one compiled model (same
compile key). The centred model on the same design and settings must be flagged (issue 7's
reference check): its fits diverge, so its ranks are not evidence.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from bayesres.calibrate import SBC_COLUMNS, run_sbc
from bayesres.errors import ConvergenceWarning

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
    # warnings are errors in this suite, so a divergent fit would already have raised
    assert table.attrs["fits"]["divergent_fits"] == 0
    summary = json.loads((tmp_path / "sbc_summary.json").read_text())
    assert summary["verdict"] == "passed" and summary["n_sims"] == 80


def test_centred_eight_schools_is_flagged(tmp_path):
    # The eight-schools design is funnel-prone as it stands: the standard errors sigma_j = 9-18
    # are large against the prior's tau (HalfCauchy(5), median 5), so the likelihood hardly
    # pins theta and the posterior keeps the prior's funnel down to tau -> 0, which the centred
    # form cannot enter. Same ARGS and target_accept (0.95) as the non-centred test (80 sims,
    # 2 x 500 draws; about 0.2 s a fit after a ~15 s compile): measured 39 of 80 centred fits
    # divergent at the first attempt (44 at 0.9), 16 of 80 still divergent after the analyses'
    # ladder (0.99), 0 of 80 non-centred. One divergent fit is enough to flag; >= 8 (10 %)
    # asserts that the flag comes from the geometry, not from one rare fit.
    with pytest.warns(ConvergenceWarning, match="fits diverged"):
        table = run_sbc("eight_schools_centred", out=tmp_path, **ARGS)
    fits = table.attrs["fits"]
    assert fits["divergent_fits"] >= 8, fits
    assert fits["divergent_share"] == fits["divergent_fits"] / 80
    # the ladder is reported, not hidden: every first-attempt divergence was sampled again, and
    # the flagged fits are those the higher target_accept did not cure
    assert fits["retried_fits"] == fits["first_attempt_divergent_fits"] > fits["divergent_fits"]
    assert fits["first_attempt_divergences_total"] > fits["divergences_total"]
    assert not table["passed"].any()
    on_disk = pd.read_csv(tmp_path / "sbc.csv")
    assert list(on_disk.columns) == SBC_COLUMNS and not on_disk["passed"].any()
    summary = json.loads((tmp_path / "sbc_summary.json").read_text())
    assert summary["verdict"] == "flagged"
    assert summary["divergent_fits"] == fits["divergent_fits"]


def test_misspecified_simulator_fails(tmp_path):
    table = run_sbc("eight_schools_misspecified", out=tmp_path, **ARGS)
    failed = set(table.loc[~table["passed"], "quantity"])
    assert failed, table
    assert "mu" in failed or "loglik" in failed
    # the uniformity test fails it, not the divergence flag (0 of 80 fits diverged, measured)
    assert table.attrs["fits"]["divergent_fits"] == 0
    assert json.loads((tmp_path / "sbc_summary.json").read_text())["verdict"] == "failed"


def test_cli_prints_the_study_verdict(tmp_path):
    from typer.testing import CliRunner

    from bayesres.cli.calibrate import calibrate_app

    args = ["sbc", "--model", "eight_schools_centred", "--sims", "20", "--seed", "11"]
    args += ["--ranks", "40", "--draws", "500", "--tune", "400", "--chains", "2"]
    args += ["--workers", "0", "--no-progress", "--out", str(tmp_path)]
    with pytest.warns(ConvergenceWarning, match="fits diverged"):
        res = CliRunner().invoke(calibrate_app, args)
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "sbc_summary.json").read_text())
    assert summary["verdict"] == "flagged"  # the first 20 of the 80 sims above: some diverge
    line = f"SBC eight_schools_centred: FLAGGED ({summary['divergent_fits']} of 20 fits divergent)"
    assert line in res.output
