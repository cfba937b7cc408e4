"""Write the malformed-input corpus used by tests/unit/test_malformed_corpus.py.

Run from anywhere: ``python tests/malformed/make_corpus.py``. It (re)writes every data file the
manifest ``cases.toml`` names, from the small valid tables below with one defect each. CSV files
are written as exact bytes; XLSX and Parquet files are built with openpyxl and pyarrow. The
outputs are committed, so the tests never need to run this script; rerun it after editing a case.
Rows in the manifest are numbered as in a spreadsheet: header row 1, first data row 2.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE  # where main() writes; tests point it at a temporary folder

# --------------------------------------------------------------------------- valid bases

CS_HEADER = ["city", "tier", "y", "x", "z", "exp_2019", "exp_2020"]
CS_ROWS = [  # rows 2..13: tiers first 4, second 4, other 4
    ["Alpha", "first", "1.20", "0.31", "5.1", "10.5", "11.0"],
    ["Bravo", "first", "0.80", "0.42", "4.2", "8.0", "7.5"],
    ["Charlie", "first", "1.10", "0.25", "6.3", "12.0", "12.5"],
    ["Delta", "first", "0.95", "0.38", "5.5", "9.1", "9.0"],
    ["Echo", "second", "0.70", "0.22", "3.9", "6.2", "6.0"],
    ["Foxtrot", "second", "0.65", "0.19", "4.4", "5.5", "5.9"],
    ["Golf", "second", "0.90", "0.33", "4.8", "7.7", "7.1"],
    ["Hotel", "second", "0.55", "0.17", "3.1", "4.9", "5.0"],
    ["India", "other", "0.40", "0.12", "2.2", "3.3", "3.0"],
    ["Juliett", "other", "0.35", "0.10", "2.6", "2.9", "3.1"],
    ["Kilo", "other", "0.50", "0.15", "2.9", "3.8", "3.5"],
    ["Lima", "other", "0.45", "0.14", "2.4", "3.1", "3.3"],
]

PANEL_HEADER = ["unit", "year", "cohort", "treat", "y", "tier"]
PANEL_UNITS = [  # 6 units x 2001-2004 = rows 2..25, unit k at rows 2+4k .. 5+4k
    ("u1", 2003, "north"),
    ("u2", 2003, "north"),
    ("u3", 2004, "north"),
    ("u4", 0, "south"),
    ("u5", 0, "south"),
    ("u6", 0, "south"),
]
YEARS = [2001, 2002, 2003, 2004]

IND_HEADER = ["city", "year", "tier", "a", "b", "c"]
IND_ROWS = [  # rows 2..7
    ["Alpha", "2020", "big", "10.0", "3.2", "0.51"],
    ["Bravo", "2020", "big", "12.5", "2.9", "0.47"],
    ["Charlie", "2020", "big", "9.1", "4.1", "0.62"],
    ["Delta", "2020", "small", "7.7", "3.8", "0.33"],
    ["Echo", "2020", "small", "8.4", "2.2", "0.40"],
    ["Foxtrot", "2020", "small", "11.3", "3.5", "0.58"],
]
SPEC = "indicator,dimension,direction\na,economy,positive\nb,society,positive\nc,ecology,negative\n"


def panel_rows() -> list[list[str]]:
    out = []
    for unit, g, tier in PANEL_UNITS:
        for k, t in enumerate(YEARS):
            d = 1 if g and t >= g else 0
            y = 1.0 + 0.1 * k + 0.05 * d + 0.01 * int(unit[1:])
            out.append([unit, str(t), str(g), str(d), f"{y:.3f}", tier])
    return out


def to_csv(header: list[str], rows: list[list[str]]) -> bytes:
    lines = [",".join(header)] + [",".join(r) for r in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def edit(rows: list[list[str]], header: list[str], sheet_row: int, col: str, value: str) -> list:
    out = [list(r) for r in rows]
    out[sheet_row - 2][header.index(col)] = value
    return out


def drop_col(header: list[str], rows: list[list[str]], col: str) -> tuple[list, list]:
    i = header.index(col)
    return header[:i] + header[i + 1 :], [r[:i] + r[i + 1 :] for r in rows]


# --------------------------------------------------------------------------- writers


def write(name: str, data: bytes) -> None:
    (OUT / name).write_bytes(data)


def write_xlsx(name: str, header: list, rows: list[list], merge: str | None = None) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "data"
    ws.append(header)
    for r in rows:
        ws.append([_num(v) for v in r])
    if merge:
        ws.merge_cells(merge)
    wb.save(OUT / name)
    _freeze_zip(OUT / name)


def _freeze_zip(path: Path) -> None:
    """Fixed timestamps inside the XLSX zip, so a rerun writes identical bytes."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as zin:
        parts = [(i.filename, zin.read(i.filename)) for i in zin.infolist()]
    stamp = b"2024-01-01T00:00:00Z"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for fname, data in parts:
            if fname == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp, data
                )
            zout.writestr(zipfile.ZipInfo(fname, date_time=(2024, 1, 1, 0, 0, 0)), data)


def write_parquet(name: str, columns: dict, names: list[str] | None = None) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(list(columns.values()), names=names or list(columns))
    pq.write_table(table, OUT / name)


def _num(v: str) -> object:
    try:
        return float(v) if "." in v else int(v)
    except ValueError:
        return v if v != "" else None


# --------------------------------------------------------------------------- the corpus


def main(out: Path = HERE) -> None:
    global OUT
    OUT = Path(out)
    cs, ch = CS_ROWS, CS_HEADER
    # cross-section CSVs
    h, r = drop_col(ch, cs, "x")
    write("cs_missing_column.csv", to_csv(h, r))
    write("cs_text_in_numeric.csv", to_csv(ch, edit(cs, ch, 4, "y", "about 0.9")))
    write("cs_nan.csv", to_csv(ch, edit(cs, ch, 5, "x", "")))
    write("cs_inf.csv", to_csv(ch, edit(cs, ch, 3, "y", "inf")))
    write("cs_comma_decimal.csv", to_csv(ch, edit(cs, ch, 9, "z", '"4,8"')))
    write("cs_zero_before_log.csv", to_csv(ch, edit(cs, ch, 6, "x", "0")))
    write("cs_negative_before_log.csv", to_csv(ch, edit(cs, ch, 3, "z", "-2.0")))
    write("cs_exports_nonpositive.csv", to_csv(ch, edit(cs, ch, 11, "exp_2019", "0")))
    write("cs_duplicated_unit.csv", to_csv(ch, edit(cs, ch, 7, "city", "Alpha")))
    write("cs_one_unit_tier.csv", to_csv(ch, edit(cs, ch, 8, "tier", "solo")))
    write("cs_unknown_tier.csv", to_csv(ch, edit(cs, ch, 5, "tier", "fourth")))
    write("cs_empty_tier_label.csv", to_csv(ch, edit(cs, ch, 4, "tier", "")))
    write("cs_bad_reference_tier.csv", to_csv(ch, cs))
    write("cs_too_few_rows.csv", to_csv(ch, cs[:2]))
    lines = to_csv(ch, cs).decode().splitlines()
    write("cs_blank_middle_row.csv", ("\n".join(lines[:4] + [""] + lines[4:]) + "\n").encode())
    write("cs_empty.csv", b"")
    write("cs_header_only.csv", (",".join(ch) + "\n").encode())
    latin = to_csv(ch, edit(cs, ch, 4, "city", "Besançon")).decode().encode("latin-1")
    write("cs_latin1.csv", latin)
    ragged = to_csv(ch, cs).decode().splitlines()
    ragged[2] += ",99"  # row 3 one field too many
    ragged[4] = ",".join(ragged[4].split(",")[:-2])  # row 5 two fields short
    write("cs_ragged.csv", ("\n".join(ragged) + "\n").encode())
    write("cs_duplicated_columns.csv", to_csv([*ch[:-1], "y"], cs))
    write("cs_blank_header.csv", to_csv([ch[0], ch[1], "", *ch[3:]], cs))
    write("cs_semicolon.csv", to_csv([";".join(ch)], [[";".join(r)] for r in cs]))
    write("cs_unsupported.json", b'{"city": ["Alpha"], "y": [1.2]}\n')
    write("cs_not_really.xlsx", to_csv(ch, cs))
    (OUT / "a_directory.csv").mkdir(exist_ok=True)
    (OUT / "a_directory.csv" / ".gitkeep").write_bytes(b"")

    # cross-section XLSX and Parquet
    write_xlsx("xlsx_merged_header.xlsx", ["outcomes", None, *ch[2:]], cs, merge="A1:B1")
    write_xlsx("xlsx_blank_header.xlsx", [ch[0], ch[1], None, *ch[3:]], cs)
    write_xlsx("xlsx_text_in_numeric.xlsx", ch, edit(cs, ch, 5, "y", "twelve"))
    write_xlsx("xlsx_duplicated_columns.xlsx", [*ch[:-1], "x"], cs)
    cols = {c: [r[i] for r in cs] for i, c in enumerate(ch)}
    typed = {
        c: ([float(v) for v in vs] if c not in ("city", "tier") else vs) for c, vs in cols.items()
    }
    bad = dict(typed)
    bad["y"] = [str(v) for v in typed["y"]]
    bad["y"][2] = "high"  # row 4
    write_parquet("parquet_wrong_dtype.parquet", bad)
    write_parquet("parquet_duplicated_columns.parquet", typed, names=[*ch[:-1], "x"])

    # panel
    pr, ph = panel_rows(), PANEL_HEADER
    h, r = drop_col(ph, pr, "cohort")
    write("panel_missing_cohort_column.csv", to_csv(h, r))
    dup = [list(x) for x in pr]
    dup[6][1] = "2002"  # row 8 (u2, 2003) becomes a second (u2, 2002)
    write("panel_duplicated_unit_year.csv", to_csv(ph, dup))
    write("panel_treatment_switches_off.csv", to_csv(ph, edit(pr, ph, 5, "treat", "0")))
    write("panel_treatment_vs_cohort.csv", to_csv(ph, edit(pr, ph, 12, "treat", "1")))
    write("panel_cohort_inconsistent.csv", to_csv(ph, edit(pr, ph, 9, "cohort", "2004")))
    always = [list(x) for x in pr]
    for i in range(4):  # u1 (rows 2-5) treated from the first period on
        always[i][2], always[i][3] = "2001", "1"
    write("panel_always_treated.csv", to_csv(ph, always))
    none = [[*x[:2], "0", "0", *x[4:]] for x in pr]
    write("panel_no_treated.csv", to_csv(ph, none))
    write("panel_noninteger_time.csv", to_csv(ph, edit(pr, ph, 15, "year", "2002.5")))
    write("panel_nan_outcome.csv", to_csv(ph, edit(pr, ph, 19, "y", "")))
    write("panel_cohort_text.csv", to_csv(ph, edit(pr, ph, 22, "cohort", "never")))
    write("panel_cohort_noninteger.csv", to_csv(ph, edit(pr, ph, 14, "cohort", "2003.5")))
    write("panel_unit_two_tiers.csv", to_csv(ph, edit(pr, ph, 17, "tier", "north")))
    solo = [list(x) for x in pr]
    for i in range(12, 16):  # u4 (rows 14-17) alone in tier "east"
        solo[i][5] = "east"
    write("panel_one_unit_tier.csv", to_csv(ph, solo))
    write("panel_empty_unit.csv", to_csv(ph, edit(pr, ph, 20, "unit", "")))
    pcols = {c: [x[i] for x in pr] for i, c in enumerate(ph)}
    pq_dates = {
        "unit": pcols["unit"],
        "year": [f"{t}-01-01" for t in pcols["year"]],
        "cohort": [int(g) for g in pcols["cohort"]],
        "y": [float(v) for v in pcols["y"]],
    }
    _write_dates_parquet("parquet_dates_as_time.parquet", pq_dates)

    # indicators (data + specs)
    ir, ih = IND_ROWS, IND_HEADER
    write("ind_spec.csv", SPEC.encode())
    write("ind_constant_indicator.csv", to_csv(ih, [r[:5] + ["0.50"] for r in ir]))
    write("ind_text_value.csv", to_csv(ih, edit(ir, ih, 6, "b", "3.5 (est.)")))
    write("ind_duplicated_unit.csv", to_csv(ih, edit(ir, ih, 5, "city", "Bravo")))
    dupy = [list(x) for x in ir] + [["Alpha", "2021", "big", "10.2", "3.1", "0.50"]]
    dupy.append(["Alpha", "2021", "big", "10.4", "3.0", "0.49"])  # rows 8 and 9
    write("ind_duplicated_unit_year.csv", to_csv(ih, dupy))
    write("ind_unknown_tier.csv", to_csv(ih, edit(ir, ih, 3, "tier", "huge")))
    write("ind_data.csv", to_csv(ih, ir))
    write(
        "ind_spec_bad_direction.csv",
        b"indicator,dimension,direction\na,economy,positive\nb,society,up\nc,ecology,negative\n",
    )
    write(
        "ind_spec_missing_indicator.csv",
        SPEC.encode() + b"d,ecology,positive\n",  # row 5 names a column the data lacks
    )
    write(
        "ind_spec_duplicate.csv",
        b"indicator,dimension,direction\na,economy,positive\nb,society,positive\na,ecology,negative\n",
    )
    write(
        "ind_spec_syntax.toml",
        b'[[indicator]]\nindicator = "a"\ndimension = economy\ndirection = "positive"\n',
    )
    write(
        "ind_spec_bad_direction.toml",
        b'[[indicator]]\nindicator = "a"\ndimension = "economy"\ndirection = "positive"\n\n'
        b'[[indicator]]\nindicator = "b"\ndimension = "society"\ndirection = "sideways"\n',
    )


def _write_dates_parquet(name: str, cols: dict) -> None:
    import pandas as pd

    df = pd.DataFrame(cols)
    df["year"] = pd.to_datetime(df["year"])
    df.to_parquet(OUT / name, index=False)


if __name__ == "__main__":
    main()
