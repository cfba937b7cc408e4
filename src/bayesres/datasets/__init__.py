"""Bundled datasets: a registry built from the datasheets (``<name>.toml``) in the data folder.

The data folder is ``data/`` at the repository root in a source checkout (editable installs) and
``bayesres/_data`` inside an installed wheel. Every dataset says whether it is real or synthetic.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from bayesres.errors import SpecError

__all__ = [
    "DatasetInfo",
    "data_dir",
    "list_datasets",
    "info",
    "load",
    "export",
    "indicators",
    "truth",
    "models_dir",
]


def _resource_dir(repo_name: str, wheel_name: str) -> Path:
    repo = Path(__file__).resolve().parents[3] / repo_name
    if repo.is_dir() and (repo.parent / "pyproject.toml").exists():
        return repo
    return Path(str(importlib.resources.files("bayesres") / wheel_name))


def data_dir() -> Path:
    """Folder holding the bundled data files and their datasheets."""
    return _resource_dir("data", "_data")


def models_dir() -> Path:
    """Folder holding the TOML model specs (``models/`` in the repository)."""
    return _resource_dir("models", "_models")


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    kind: str
    description: str
    file: str
    rows: int
    unit: str = ""
    time: str = ""
    tier: str = ""
    sheet: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def synthetic(self) -> bool:
        return self.kind == "synthetic"

    @property
    def path(self) -> Path:
        return data_dir() / self.file


@functools.cache
def _registry() -> dict[str, DatasetInfo]:
    out: dict[str, DatasetInfo] = {}
    for sheet_path in sorted(data_dir().glob("*.toml")):
        sheet = tomllib.loads(sheet_path.read_text(encoding="utf-8"))
        if "name" not in sheet or "file" not in sheet:
            continue
        out[sheet["name"]] = DatasetInfo(
            name=sheet["name"],
            kind=sheet.get("kind", "synthetic"),
            description=sheet.get("description", ""),
            file=sheet["file"],
            rows=int(sheet.get("rows", 0)),
            unit=sheet.get("unit", ""),
            time=sheet.get("time", ""),
            tier=sheet.get("tier", ""),
            sheet=sheet,
        )
    return out


def list_datasets() -> list[DatasetInfo]:
    return list(_registry().values())


def info(name: str) -> DatasetInfo:
    reg = _registry()
    if name not in reg:
        raise SpecError(
            f"unknown dataset {name!r} (bundled: {', '.join(reg)})",
            hint="Run 'bayesres data list' to see the bundled datasets.",
        )
    return reg[name]


def load(name: str) -> pd.DataFrame:
    """Return bundled dataset ``name`` as a DataFrame (a fresh copy every call)."""
    meta = info(name)
    if meta.file.endswith(".json"):
        return _load_json(meta)
    df = pd.read_csv(meta.path, keep_default_na=True)
    df.attrs.update({"dataset": name, "synthetic": meta.synthetic})
    return df


def _load_json(meta: DatasetInfo) -> pd.DataFrame:
    raw = json.loads(meta.path.read_text(encoding="utf-8"))
    if meta.name == "radon":  # per-house y, x, county index (0-based); per-county name and u
        county = pd.Series(raw["county"], dtype=int)
        names = raw.get("county_name")
        df = pd.DataFrame(
            {
                "county_idx": county,
                "county": [names[c] for c in county] if names else county.astype(str),
                "floor": raw["x"],
                "log_radon": raw["y"],
                "log_uranium": [raw["u"][c] for c in county],
            }
        )
    else:
        df = pd.DataFrame(raw)
    df.attrs.update({"dataset": meta.name, "synthetic": meta.synthetic})
    return df


def export(name: str, path: str | Path) -> Path:
    """Write bundled dataset ``name`` as CSV to ``path`` (atomically)."""
    from bayesres.io import atomic_write_csv

    return atomic_write_csv(load(name), path)


def indicators(name: str) -> pd.DataFrame:
    """The indicator spec shipped with a bundled dataset (indicator, dimension, direction, ...)."""
    meta = info(name)
    f = meta.sheet.get("indicators_file")
    if not f:
        raise SpecError(f"dataset {name!r} ships no indicator spec", hint="Pass --indicators SPEC.")
    return pd.read_csv(data_dir() / f)


def truth(name: str) -> pd.DataFrame:
    """The stored true effects of a synthetic dataset (its ``truth_file``)."""
    meta = info(name)
    f = meta.sheet.get("truth_file")
    if not f:
        raise SpecError(
            f"dataset {name!r} has no truth file",
            hint="Only synthetic datasets store true effects.",
        )
    return pd.read_csv(data_dir() / f)
