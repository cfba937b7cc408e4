"""SBC fit-health summary: divergent fits are counted and flag the whole study.

Hand-built replication records; the rule (any divergent fit marks every quantity as not passed)
is the one documented in bayesres.calibrate.sbc.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayesres.calibrate import SBC_COLUMNS
from bayesres.calibrate.sbc import fit_summary, flag_divergent, uniformity_table


def _records(divergences, seconds=None, ess=None, r_hat=None):
    n = len(divergences)
    frame = pd.DataFrame(
        {
            "sim": np.arange(n),
            "rank[a]": np.arange(n) % 10,
            "divergences": divergences,
            "seconds": np.arange(1.0, n + 1.0) if seconds is None else seconds,
            "ess_min": np.full(n, 50.0),
            "r_hat_max": np.full(n, 1.0) if r_hat is None else r_hat,
        }
    )
    if ess is not None:
        frame["ess[a]"] = ess
    return frame


def test_counts_divergent_fits_not_divergences():
    s = fit_summary(
        _records(
            [0, 3, 0, 1, 0],
            ess=[100.0, 200.0, 300.0, 400.0, 500.0],
            r_hat=[1.0, 1.05, 1.09, 1.15, 1.2],
        )
    )
    assert s["n_sims"] == 5
    assert s["divergent_fits"] == 2  # two fits diverged, four divergences in all
    assert s["divergent_share"] == pytest.approx(0.4)
    assert s["divergences_total"] == 4 and s["divergences_max"] == 3
    assert s["seconds_mean"] == pytest.approx(3.0) and s["seconds_median"] == pytest.approx(3.0)
    assert s["ess_quantities_median"] == {"a": pytest.approx(300.0)}
    assert s["rhat_gt_1_1_fits"] == 2  # 1.15 and 1.2
    assert s["verdict_fits"] == "flagged"


def test_clean_study_is_ok_and_keeps_the_table():
    s = fit_summary(_records([0, 0, 0]))
    assert s["divergent_fits"] == 0 and s["divergent_share"] == 0.0
    assert fit_summary(_records([0, 0]).drop(columns="r_hat_max"))["rhat_gt_1_1_fits"] == 0
    assert s["verdict_fits"] == "ok" and s["ess_quantities_median"] == {}
    table = uniformity_table({"a": np.arange(40) % 20}, n_ranks=20)
    assert flag_divergent(table, s).equals(table)


def test_one_divergent_fit_fails_every_quantity_but_keeps_p_values():
    rng = np.random.default_rng(0)
    table = uniformity_table(
        {"a": rng.integers(0, 20, 80), "b": rng.integers(0, 20, 80)}, n_ranks=20
    )
    assert table["passed"].all()
    flagged = flag_divergent(table, fit_summary(_records([0] * 79 + [1])))
    assert list(flagged.columns) == SBC_COLUMNS
    assert not flagged["passed"].any()
    assert np.array_equal(flagged["p_value"], table["p_value"])
    assert table["passed"].all()  # the input is not modified


def test_ladder_fits_are_judged_by_the_accepted_fit_and_the_first_attempt_is_reported():
    frame = _records([0, 0, 2, 0])
    frame["divergences_first"] = [0, 5, 7, 0]  # sims 1 and 2 diverged at the first attempt
    frame["attempts"] = [1, 2, 2, 1]
    s = fit_summary(frame)
    assert s["divergent_fits"] == 1 and s["divergences_total"] == 2  # sim 2 still diverged
    assert s["first_attempt_divergent_fits"] == 2
    assert s["first_attempt_divergences_total"] == 12
    assert s["retried_fits"] == 2
    assert s["verdict_fits"] == "flagged"
    frame["divergences"] = 0
    assert fit_summary(frame)["verdict_fits"] == "ok"


def test_records_without_ladder_columns_count_their_final_fit():
    s = fit_summary(_records([0, 3, 0]))  # stores written before the ladder columns existed
    assert s["first_attempt_divergent_fits"] == 1 and s["retried_fits"] == 0


@pytest.mark.parametrize(
    ("model", "given", "expected"),
    [("did_hier_ecommerce", None, 1000), ("eight_schools", None, 1000), ("did_hier", 400, 400)],
)
def test_tuning_length_defaults_to_the_models(tmp_path, model, given, expected):
    """Without --tune a study tunes as the analyses do (1,000 steps); an explicit value wins. The study identity records it, so a resumed study with
    another tuning length is refused rather than mixed. max_new=0 fits nothing."""
    import json

    from bayesres.calibrate import run_sbc

    out = tmp_path / model
    assert run_sbc(model, sims=2, out=out, tune=given, workers=0, max_new=0) is None
    assert json.loads((out / "study.json").read_text())["tune"] == expected
