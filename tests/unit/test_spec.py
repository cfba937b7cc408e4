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


def test_did_quick_overrides_placebo_and_skips_variants():
    spec = load_spec("did_003")
    assert spec.kwargs(quick=True, seed=0)["placebo"] < spec.kwargs(quick=False, seed=0)["placebo"]
    assert spec.kwargs(quick=False, seed=0)["att_prior"] == "hierarchical"
    assert [v.name for v in spec.variants if v.quick] == []  # --quick: main analysis only
    assert spec.headline and spec.variants[1].headline == ("ATT_tier[large]", "ATT_tier[small]")


def test_quick_shrinks_the_index_draws_carried_into_the_regression():
    index, reg = load_spec("index_001"), load_spec("regression_001")
    assert index.kwargs(quick=True, seed=0)["save_draws"] == 4
    assert index.kwargs(quick=False, seed=0)["save_draws"] == 100
    assert reg.kwargs(quick=True, seed=0)["refit_draws"] == 100
    assert "refit_draws" not in reg.kwargs(quick=False, seed=0)  # the analysis default (250)


def test_variant_quick_flag_and_headline_parse(tmp_path):
    p = tmp_path / "v.toml"
    p.write_text(
        '[spec]\nanalysis = "did"\ndataset = "mpdta"\n[report]\nheadline = ["ATT"]\n'
        '[[variants]]\nname = "a"\n[[variants]]\nname = "b"\nquick = true\nheadline = ["TWFE"]\n'
    )
    spec = load_spec(p)
    assert spec.headline == ("ATT",)
    assert [(v.name, v.quick) for v in spec.variants] == [("a", False), ("b", True)]
    assert spec.with_variant(spec.variants[1]).headline == ("TWFE",)


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
