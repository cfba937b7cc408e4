"""Execute the notebooks with nbclient (kernel python3 from this venv), quick settings."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.notebook

NB_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NEEDS = {
    "01_index.ipynb": ("index",),
    "02_export_regression.ipynb": ("index", "regression"),
    "03_staggered_did.ipynb": ("did",),
    "04_small_sample_calibration.ipynb": ("regression",),  # + bayesres.calibrate
}


def _kernel_name() -> str:
    """A kernelspec that runs this interpreter (registered into the venv if missing)."""
    from jupyter_client.kernelspec import KernelSpecManager

    ksm = KernelSpecManager()
    for name, spec in ksm.get_all_specs().items():
        if Path(spec["spec"]["argv"][0]).resolve() == Path(sys.executable).resolve():
            return name
    from ipykernel.kernelspec import install

    install(user=False, prefix=sys.prefix, kernel_name="bayesres-venv")
    return "bayesres-venv"


@pytest.mark.parametrize("name", sorted(NEEDS))
def test_notebook_executes(name, tmp_path):
    import nbformat
    from nbclient import NotebookClient

    for analysis in NEEDS[name]:
        assert hasattr(importlib.import_module(f"bayesres.{analysis}"), "run")
    nb = nbformat.read(NB_DIR / name, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "pm.Model" not in text and "import pymc" not in text  # no model code in notebooks
    assert "load_spec" in text or "run_spec" in text
    os.environ.setdefault("MPLBACKEND", "Agg")
    client = NotebookClient(
        nb, kernel_name=_kernel_name(), timeout=600, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]  # fmt: skip
    assert errors == []
