"""On-disk replication store: one part file per finished replication, written atomically.

Layout of a study folder ``DIR``::

    DIR/study.json            what the study is (kind, seed, design, methods ...): a rerun must match
    DIR/replications/<key>.csv one part per finished replication (all its rows), atomic replace
    DIR/replications.csv      all parts concatenated, rewritten (atomically) at the end of a run

A part is written with a temporary file and ``os.replace``, so a killed run leaves either the
whole replication or nothing; the key is the file name, so a replication can never be stored
twice. Rerunning with the same folder skips the keys already present.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from bayesres.errors import SpecError
from bayesres.io import atomic_write_csv, atomic_write_json

__all__ = ["ReplicationStore"]


class ReplicationStore:
    def __init__(self, folder: str | Path, *, identity: Mapping[str, Any]) -> None:
        self.folder = Path(folder)
        self.parts = self.folder / "replications"
        self.identity = json.loads(json.dumps(dict(identity), default=str))
        self._check_identity()

    def _check_identity(self) -> None:
        path = self.folder / "study.json"
        if path.exists():
            old = json.loads(path.read_text())
            if old != self.identity:
                diff = sorted(
                    k for k in set(old) | set(self.identity) if old.get(k) != self.identity.get(k)
                )
                raise SpecError(
                    f"the folder holds a study with different settings ({', '.join(diff)})",
                    file=str(path),
                    hint="Rerun with the same settings to resume, or give a new --out folder.",
                )
        else:
            atomic_write_json(path, self.identity)
        self.parts.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def _name(key: str) -> str:
        if not key or any(ch in key for ch in "/\\") or key.startswith("."):
            raise ValueError(f"bad replication key {key!r}")
        return f"{key}.csv"

    def done(self) -> set[str]:
        return {p.stem for p in self.parts.glob("*.csv")}

    def write(self, key: str, rows: pd.DataFrame | Iterable[Mapping[str, Any]]) -> None:
        frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
        atomic_write_csv(frame, self.parts / self._name(key))

    def load(self) -> pd.DataFrame:
        files = sorted(self.parts.glob("*.csv"))
        if not files:
            return pd.DataFrame()
        return pd.concat([pd.read_csv(f) for f in files], ignore_index=True)

    def consolidate(self, sort_by: list[str]) -> pd.DataFrame:
        frame = self.load()
        if len(frame):
            frame = frame.sort_values(sort_by, kind="stable").reset_index(drop=True)
        atomic_write_csv(frame, self.folder / "replications.csv")
        return frame
