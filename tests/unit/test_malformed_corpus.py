"""Every malformed input in tests/malformed/cases.toml through ``bayesres data check``.

Each case must exit 2 with exactly one line on stderr that names the file, the column(s) and the
rows listed in the manifest, ends with a hint (what to do), holds no traceback, and leaves every
input file byte-identical. All cases run in-process through ``bayesres.cli.main`` (the console
script's entry point); a sample also runs through the installed ``bayesres`` executable.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from bayesres.cli import main

CORPUS = Path(__file__).resolve().parents[1] / "malformed"
CASES = tomllib.loads((CORPUS / "cases.toml").read_text(encoding="utf-8"))["case"]
ROWS_RE = re.compile(r"\brows? (\d+(?:, \d+)*)")
HINT_RE = re.compile(r"[.?)] [A-Z][^\n]*[.)]$")  # a closing sentence that says what to do


def _argv(case: dict) -> list[str]:
    return ["data", "check", case["file"], "--kind", case["kind"], *case["args"]]


def _inputs(case: dict) -> list[Path]:
    """The data file and any file named in the arguments (e.g. the indicator spec)."""
    paths = [CORPUS / case["file"], *(CORPUS / a for a in case["args"])]
    return [p for p in paths if p.is_file()]


def _sha(paths: list[Path]) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def _rows_named(message: str) -> set[int]:
    return {int(n) for m in ROWS_RE.finditer(message) for n in m.group(1).split(", ")}


def _check_message(case: dict, rc: int, out: str, err: str) -> None:
    assert rc == 2, f"exit {rc}, stderr {err!r}"
    assert out == "", f"nothing on stdout on failure, got {out!r}"
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {lines!r}"
    msg = lines[0]
    assert msg.startswith("error: ")
    assert case.get("names", case["file"]) in msg
    for col in case["columns"]:
        assert repr(col) in msg, f"column {col!r} not named in {msg!r}"
    missing_rows = set(case["rows"]) - _rows_named(msg)
    assert not missing_rows, f"rows {sorted(missing_rows)} not named in {msg!r}"
    for text in case.get("contains", []):
        assert text in msg, f"{text!r} not in {msg!r}"
    assert HINT_RE.search(msg), f"no closing hint sentence in {msg!r}"


def test_manifest_covers_the_issue() -> None:
    kinds = Counter(c["kind"] for c in CASES)
    assert len(CASES) >= 30
    assert set(kinds) == {"cross-section", "indicators", "panel"}
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names))
    for case in CASES:  # every listed file exists, except the one that must not
        assert (CORPUS / case["file"]).exists() == case.get("exists", True), case["name"]
    suffixes = {Path(c["file"]).suffix for c in CASES}
    assert {".csv", ".xlsx", ".parquet"} <= suffixes


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_malformed_input_fails_cleanly(
    case: dict, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(CORPUS)
    before = _sha(_inputs(case))
    rc = main(_argv(case))
    out, err = capsys.readouterr()
    _check_message(case, rc, out, err)
    assert _sha(_inputs(case)) == before, "an input file was modified"
    assert (CORPUS / case["file"]).exists() == case.get("exists", True)


def _executable() -> Path:
    exe = Path(sys.executable).with_name("bayesres")
    assert exe.exists(), f"console script not installed beside {sys.executable}"
    return exe


END_TO_END = [
    "non-UTF-8 (latin-1)",
    "XLSX with a merged header",
    "Parquet with a wrong dtype (text column for a number)",
    "panel: treatment switching off",
    "spec: TOML syntax error",
    "one unit in a tier",
]


@pytest.mark.parametrize("name", END_TO_END)
def test_console_script_end_to_end(name: str) -> None:
    case = next(c for c in CASES if c["name"] == name)
    before = _sha(_inputs(case))
    env = {k: v for k, v in os.environ.items() if k != "BAYESRES_DEBUG"}
    proc = subprocess.run(
        [str(_executable()), *_argv(case)],
        cwd=CORPUS,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    _check_message(case, proc.returncode, proc.stdout, proc.stderr)
    assert _sha(_inputs(case)) == before


def _content(path: Path) -> object:
    """What a file holds, without the writer's version stamps.

    Parquet footers carry the pyarrow and pandas versions and XLSX parts are openpyxl's XML, so a
    new release of either would change the bytes of an identical file. Those two formats are
    compared by what a reader sees (schema, values, sheets, merged ranges); text files byte for byte.
    """
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.ParquetFile(path).read()  # read_table refuses duplicated names
        return table.replace_schema_metadata(None), table.schema.pandas_metadata is not None
    if path.suffix == ".xlsx" and zipfile.is_zipfile(path):  # one case is a CSV named .xlsx
        import openpyxl

        wb = openpyxl.load_workbook(path)
        return [
            (
                ws.title,
                [list(r) for r in ws.iter_rows(values_only=True)],
                sorted(map(str, ws.merged_cells.ranges)),
            )
            for ws in wb.worksheets
        ]
    return path.read_bytes()


def test_corpus_is_what_make_corpus_writes(tmp_path: Path) -> None:
    """The committed files are the script's output (so the script is the record)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    made = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert len(made) >= 50
    assert {p.suffix for p in made} >= {".csv", ".parquet", ".xlsx"}
    for rel in made:
        assert _content(CORPUS / rel) == _content(tmp_path / rel), str(rel)
