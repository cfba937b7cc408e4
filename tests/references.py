"""Reference values shared by several test files, each with its source (never computed by bayesres).

Importable from any test as ``from references import ...`` (pytest ``pythonpath = ["tests"]``).
"""

from __future__ import annotations

# mpdta, R did 2.5: ATT(g,t), never-treated control, no covariates, full precision
# (csdid's r_ref/ref_attgt.csv; methods.md 5.1).
MPDTA_ATT_GT = {
    (2004, 2004): -0.0105032462,
    (2004, 2005): -0.0704231581,
    (2004, 2006): -0.1372587389,
    (2004, 2007): -0.1008113631,
    (2006, 2004): 0.0065201124,
    (2006, 2005): -0.0027508188,
    (2006, 2006): -0.0045946070,
    (2006, 2007): -0.0412244715,
    (2007, 2004): 0.0305066556,
    (2007, 2005): -0.0027258929,
    (2007, 2006): -0.0310871194,
    (2007, 2007): -0.0260544107,
}
# mpdta cohort sizes (counties), methods.md 5.1
MPDTA_COHORT_SIZES = {2004: 20, 2006: 40, 2007: 131}
# mpdta BJS imputation cells (= ETWFE post-cell dummies exactly), methods.md 5.1, 4 decimals
MPDTA_BJS_CELLS = {
    (2004, 2004): -0.0194,
    (2004, 2005): -0.0783,
    (2004, 2006): -0.1361,
    (2004, 2007): -0.1047,
    (2006, 2006): 0.0025,
    (2006, 2007): -0.0392,
    (2007, 2007): -0.0431,
}

ECOMMERCE_CONTROLS = ("agg", "open", "invest", "tec", "market")


def ecommerce_panel(*, controls: tuple[str, ...] = ()):
    """The bundled ecommerce_panel validated as a tiered panel (its 4-city tier's DataWarning muted)."""
    import warnings

    from bayesres import datasets
    from bayesres.validate import validate_panel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the 'first' tier has 4 cities (DataWarning)
        return validate_panel(
            datasets.load("ecommerce_panel"),
            source="ecommerce_panel",
            unit="city",
            time="year",
            cohort="cohort",
            outcome="resi",
            tier="tier",
            controls=controls,
        )
