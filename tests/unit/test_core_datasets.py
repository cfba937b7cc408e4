"""Dataset registry: real data loads unchanged; every datasheet says real or synthetic."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bayesres import datasets
from bayesres.errors import SpecError

SHARED = Path(__file__).resolve().parents[3] / "shared" / "reference" / "data"


def test_every_dataset_has_a_kind_and_loads():
    names = [d.name for d in datasets.list_datasets()]
    assert {"mpdta", "radon"} <= set(names)
    for d in datasets.list_datasets():
        assert d.kind in {"real", "synthetic"}
        df = datasets.load(d.name)
        assert len(df) == d.rows, d.name


@pytest.mark.skipif(not SHARED.exists(), reason="../shared not beside the checkout")
def test_mpdta_is_the_shared_file_unchanged():
    ours = datasets.load("mpdta")
    ref = pd.read_csv(SHARED / "mpdta.csv")
    pd.testing.assert_frame_equal(ours, ref, check_like=False)
    # cohort sizes from methods.md 5.1: 2004 n=20, 2006 n=40, 2007 n=131, never 309
    sizes = ref.drop_duplicates("countyreal")["first.treat"].value_counts().to_dict()
    assert sizes == {0: 309, 2007: 131, 2006: 40, 2004: 20}


def test_radon_shape_matches_gelman_hill():
    df = datasets.load("radon")
    assert len(df) == 919 and df["county"].nunique() == 85


def test_unknown_dataset_is_a_spec_error():
    with pytest.raises(SpecError, match="unknown dataset"):
        datasets.load("nope")
