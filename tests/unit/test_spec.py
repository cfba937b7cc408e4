"""models/*.toml specs load and validate; bad specs give one-line SpecErrors naming the file."""

from __future__ import annotations

import pytest

from bayesres.errors import SpecError
from bayesres.spec import load_spec

SPECS = ("index_001", "regression_001", "index_003", "did_003")


@pytest.mark.parametrize("name", SPECS)
def test_shipped_specs_load(name):
    spec = load_spec(name)
    assert spec.name == name
    assert spec.analysis == name.split("_")[0].replace("regression", "regression")
    kw = spec.kwargs(quick=True, seed=3)
    assert kw["seed"] == 3 and kw["quick"] is True


def test_regression_variants_override_outcome_and_drop_prefix():
    spec = load_spec("regression_001")
    assert spec.index_from == "index_001"
    growth = spec.with_variant(spec.variants[0])
    kw = growth.kwargs(quick=False, seed=0)
    assert kw["outcome"] == "export_growth"
    assert "exports_prefix" not in kw  # "" removes the inherited key
    assert growth.name == "regression_001_growth"


def test_did_quick_overrides_placebo_and_skips_slow_variants():
    spec = load_spec("did_003")
    assert spec.kwargs(quick=True, seed=0)["placebo"] < spec.kwargs(quick=False, seed=0)["placebo"]
    assert spec.kwargs(quick=False, seed=0)["att_prior"] == "hierarchical"
    quick_variants = [v.name for v in spec.variants if v.quick]
    assert "no_controls" in quick_variants and "notyet" not in quick_variants


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[spec]\nanalysis = "index"\ndataset = "customs38"\n[options]\nmethd = "x"\n', "methd"),
        ('[spec]\nanalysis = "nope"\ndataset = "customs38"\n', "analysis"),
        ('[spec]\nanalysis = "index"\n', "exactly one of dataset or data"),
        ('[spec]\nanalysis = "index"\ndataset = "nosuch"\n', "nosuch"),
        ('[spec]\nanalysis = "regression"\ndataset = "customs38"\n[priors]\nx = 1\n', "priors"),
        ('[spec]\nanalysis = "did"\ndataset = "mpdta"\n[sampler]\ndraws = -1\n', "draws"),
        ("not toml = = =", "TOML"),
    ],
)
def test_malformed_specs_raise_one_line(tmp_path, text, needle):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(SpecError) as err:
        load_spec(p)
    msg = err.value.one_line()
    assert "\n" not in msg
    assert str(p) in msg and needle in msg
