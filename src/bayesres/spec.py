"""Model specs (``models/*.toml``): one analysis, its columns, options, priors and sampler settings.

Layout (every table optional except ``[spec]``)::

    [spec]      name, analysis = index|regression|did, paper, title, dataset | data,
                index_from (regression: the spec whose index draws carry index uncertainty),
                derive = [...] (columns built before the fit, see DERIVED)
    [columns]   keyword arguments of the analysis that name columns
    [options]   the other keyword arguments (method, likelihood, placebo, ...; regression:
                centre = "tier" | "global", the centring of x in the tier models)
    [priors]    priors the analysis accepts (did: att_prior)
    [sampler]   draws, chains (full run); quick_draws, quick_chains (``--quick``); retry
                (regression / did: true = retry at target_accept 0.95 / 0.99 on divergences,
                the default; false = one attempt)
    [quick]     [options] overrides applied under ``--quick`` (fewer placebo draws, fewer saved
                index draws, shorter index-draw refits): ``--quick`` is a smoke run
    [report]    key = [...] quantities for the replicate summary; headline = [...] the few shown
                on its first screen; published_variant
    [[variants]] name, quick (run under --quick? default false: a smoke run does the main
                analyses only), published_variant, headline, and any [columns] /
                [options] / derive override: robustness outcomes, splits, placebo. An empty
                string removes an inherited key (``exports_prefix = ""``).

``load_spec`` validates everything up front and raises one-line ``SpecError``s naming the file
and key; ``run_spec`` runs the main analysis and its variants and (optionally) saves them.
"""

from __future__ import annotations

import time
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayesres.errors import SpecError

__all__ = ["Spec", "SpecRun", "Variant", "load_spec", "run_spec", "spec_path", "DERIVED"]

ANALYSES = ("index", "regression", "did")
# keyword arguments of each analysis' run() (fixed by the CLI, src/bayesres/cli/analyses.py)
COLUMN_KEYS = {
    "index": {"unit", "indicators", "time", "tier"},
    "regression": {"outcome", "exports_prefix", "predictor", "controls", "tier"},
    "did": {"outcome", "unit", "time", "cohort", "tier", "controls"},
}
OPTION_KEYS = {
    "index": {"panel", "method", "shift", "save_draws", "hdi_prob", "sampler"},
    "regression": {
        "likelihood",
        "log",
        "log_outcome",
        "reference_tier",
        "hdi_prob",
        "sampler",
        "refit_draws",
        "centre",
    },
    "did": {
        "control_group",
        "leads",
        "lags",
        "placebo",
        "robustness",
        "compare_leads",
        "hdi_prob",
        "sampler",
    },
}
# options whose value must be one of a few strings (checked when the spec is loaded)
OPTION_VALUES = {"regression": {"centre": ("tier", "global")}}  # = regression.bayes.CENTRES
PRIOR_KEYS = {"index": set(), "regression": set(), "did": {"att_prior"}}
SAMPLER_KEYS = {"draws", "chains", "quick_draws", "quick_chains", "retry"}
RETRY_ANALYSES = ("regression", "did")  # run() takes ``retry``
SPEC_KEYS = {
    "name", "analysis", "paper", "title", "dataset", "data", "index_from", "derive", "description",
}  # fmt: skip
VARIANT_KEYS = {
    "name", "quick", "published_variant", "title", "derive", "columns", "options", "headline",
    "with_main",
}  # fmt: skip


@dataclass(frozen=True)
class Variant:
    name: str
    quick: bool = False
    published_variant: str | None = None
    title: str = ""
    derive: tuple[str, ...] = ()
    columns: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    headline: tuple[str, ...] = ()
    #: run in the process of the main analysis (``bayesres replicate`` may otherwise hand a
    #: variant to its other process): set where the variant reuses the main analysis's fit
    with_main: bool = False


@dataclass(frozen=True)
class Spec:
    name: str
    analysis: str
    path: Path | None = None
    paper: str | None = None
    title: str = ""
    dataset: str | None = None
    data: Path | None = None
    index_from: str | None = None
    derive: tuple[str, ...] = ()
    columns: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    priors: dict[str, Any] = field(default_factory=dict)
    sampler: dict[str, Any] = field(default_factory=dict)
    quick_options: dict[str, Any] = field(default_factory=dict)
    key_quantities: tuple[str, ...] = ()
    headline: tuple[str, ...] = ()  # quantities for the report's first-screen summary
    published_variant: str | None = None
    variants: tuple[Variant, ...] = ()

    def kwargs(self, *, quick: bool, seed: int) -> dict[str, Any]:
        """Keyword arguments for ``bayesres.<analysis>.run`` (data-independent part)."""
        kw: dict[str, Any] = {**self.columns, **self.options, **self.priors}
        if quick:
            kw.update(self.quick_options)
        kw = {k: v for k, v in kw.items() if v != ""}
        if "controls" in kw:
            kw["controls"] = tuple(kw["controls"])
        if quick:
            kw["draws"] = self.sampler.get("quick_draws")
            kw["chains"] = self.sampler.get("quick_chains")
        else:
            kw["draws"] = self.sampler.get("draws")
            kw["chains"] = self.sampler.get("chains")
        if "retry" in self.sampler:
            kw["retry"] = self.sampler["retry"]
        kw.update(seed=seed, quick=quick)
        return kw

    def with_variant(self, variant: Variant) -> Spec:
        return replace(
            self,
            name=f"{self.name}_{variant.name}",
            title=variant.title or f"{self.title} ({variant.name})",
            derive=variant.derive or self.derive,
            columns={**self.columns, **variant.columns},
            options={**self.options, **variant.options},
            published_variant=variant.published_variant,
            headline=variant.headline,
            variants=(),
        )


def _fail(where: str, msg: str, hint: str | None = None) -> SpecError:
    return SpecError(msg, file=where, hint=hint)


def _check_keys(where: str, table: str, got: Mapping[str, Any], allowed: set[str]) -> None:
    bad = sorted(set(got) - allowed)
    if bad:
        raise _fail(
            where,
            f"unknown key{'s' if len(bad) > 1 else ''} {', '.join(bad)} in [{table}]",
            hint=f"Allowed: {', '.join(sorted(allowed)) or '(none)'}.",
        )


def _check_values(where: str, table: str, got: Mapping[str, Any], analysis: str) -> None:
    for key, allowed in OPTION_VALUES.get(analysis, {}).items():
        if key in got and got[key] not in allowed:
            raise _fail(
                where,
                f"[{table}] {key} = {got[key]!r} is not allowed",
                hint=f"Use {key} = one of {', '.join(repr(a) for a in allowed)}.",
            )


def spec_path(name_or_path: str | Path) -> Path:
    """A spec file path, or a spec name looked up in ``models/`` (``index_001`` -> models/...)."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        return p
    from bayesres.datasets import models_dir

    return models_dir() / f"{name_or_path}.toml"


def load_spec(path: str | Path) -> Spec:
    """Read and validate a TOML spec; any problem is a one-line ``SpecError`` naming the file."""
    path = spec_path(path)
    where = str(path)
    if not path.is_file():
        raise _fail(where, "spec file not found", hint="Give a models/*.toml path or spec name.")
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise _fail(where, f"not valid TOML ({exc})") from None
    _check_keys(
        where,
        "top level",
        doc,
        {"spec", "columns", "options", "priors", "sampler", "quick", "report", "variants"},
    )
    head = doc.get("spec")
    if not isinstance(head, dict):
        raise _fail(where, "missing [spec] table", hint="Add [spec] with name and analysis.")
    _check_keys(where, "spec", head, SPEC_KEYS)
    analysis = head.get("analysis")
    if analysis not in ANALYSES:
        raise _fail(where, f"[spec] analysis = {analysis!r}", hint=f"Use one of {ANALYSES}.")
    name = head.get("name") or path.stem
    if (head.get("dataset") is None) == (head.get("data") is None):
        raise _fail(where, "[spec] needs exactly one of dataset or data")
    data = None
    if head.get("data") is not None:
        data = Path(head["data"])
        if not data.is_absolute():
            data = (path.parent / data).resolve()
    if head.get("dataset") is not None:
        from bayesres.datasets import info

        try:
            info(head["dataset"])
        except SpecError as exc:
            raise _fail(where, f"[spec] dataset: {exc.message}", hint=exc.hint) from None
    columns, options = doc.get("columns", {}), doc.get("options", {})
    priors, sampler = doc.get("priors", {}), doc.get("sampler", {})
    _check_keys(where, "columns", columns, COLUMN_KEYS[analysis])
    _check_keys(where, "options", options, OPTION_KEYS[analysis])
    _check_keys(where, "priors", priors, PRIOR_KEYS[analysis])
    _check_keys(where, "sampler", sampler, SAMPLER_KEYS)
    quick_options = doc.get("quick", {})
    _check_keys(where, "quick", quick_options, OPTION_KEYS[analysis])
    _check_values(where, "options", options, analysis)
    _check_values(where, "quick", quick_options, analysis)
    for k, v in sampler.items():
        if k == "retry":
            if not isinstance(v, bool):
                raise _fail(where, f"[sampler] retry = {v!r} must be true or false")
            if analysis not in RETRY_ANALYSES:
                raise _fail(
                    where,
                    f"[sampler] retry is not an option of {analysis} specs",
                    hint=f"retry applies to {' and '.join(RETRY_ANALYSES)} specs; remove it.",
                )
        elif not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise _fail(where, f"[sampler] {k} = {v!r} must be a positive integer")
    derive = tuple(head.get("derive", ()))
    for d in derive:
        if d not in DERIVED:
            raise _fail(
                where, f"[spec] derive: unknown column {d!r}", hint=f"Known: {sorted(DERIVED)}."
            )
    index_from = head.get("index_from")
    if index_from is not None and analysis != "regression":
        raise _fail(where, "[spec] index_from is only for regression specs")
    report = doc.get("report", {})
    _check_keys(where, "report", report, {"key", "headline", "published_variant"})
    variants = []
    for i, v in enumerate(doc.get("variants", [])):
        _check_keys(where, f"variants #{i + 1}", v, VARIANT_KEYS)
        if not v.get("name") or not str(v["name"]).isidentifier():
            raise _fail(where, f"[[variants]] #{i + 1} needs a name (letters, digits, _)")
        _check_keys(
            where, f"variants.{v['name']}.columns", v.get("columns", {}), COLUMN_KEYS[analysis]
        )
        _check_keys(
            where, f"variants.{v['name']}.options", v.get("options", {}), OPTION_KEYS[analysis]
        )
        _check_values(where, f"variants.{v['name']}.options", v.get("options", {}), analysis)
        for d in v.get("derive", ()):
            if d not in DERIVED:
                raise _fail(where, f"[[variants]] {v['name']}: unknown derive {d!r}")
        variants.append(
            Variant(
                name=v["name"],
                quick=bool(v.get("quick", False)),
                published_variant=v.get("published_variant"),
                title=v.get("title", ""),
                derive=tuple(v.get("derive", ())),
                columns=dict(v.get("columns", {})),
                options=dict(v.get("options", {})),
                headline=tuple(v.get("headline", ())),
                with_main=bool(v.get("with_main", False)),
            )
        )
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise _fail(where, f"duplicate variant names in {names}")
    return Spec(
        name=name,
        analysis=analysis,
        path=path,
        paper=str(head["paper"]) if head.get("paper") is not None else None,
        title=head.get("title", name),
        dataset=head.get("dataset"),
        data=data,
        index_from=index_from,
        derive=derive,
        columns=dict(columns),
        options=dict(options),
        priors=dict(priors),
        sampler=dict(sampler),
        quick_options=dict(quick_options),
        key_quantities=tuple(report.get("key", ())),
        headline=tuple(report.get("headline", ())),
        published_variant=report.get("published_variant"),
        variants=tuple(variants),
    )


# ------------------------------------------------------------------ derived columns
def _export_growth(frame: pd.DataFrame, ctx: Mapping[str, Any]) -> pd.DataFrame:
    """Paper 001 robustness 1: export growth rate 2020 over 2019."""
    out = frame.copy()
    out["export_growth"] = out["exports_2020"] / out["exports_2019"] - 1.0
    return out


def _months_to_recovery(frame: pd.DataFrame, ctx: Mapping[str, Any]) -> pd.DataFrame:
    """Paper 001 robustness 2: months to recovery from customs38_monthly (censored city dropped)."""
    from bayesres import datasets
    from bayesres.simulate.customs38 import months_to_recovery

    mtr = months_to_recovery(datasets.load("customs38_monthly"))
    out = frame.merge(mtr[["city", "months"]].rename(columns={"months": "months_to_recovery"}),
                      on="city", how="left")  # fmt: skip
    return out[np.isfinite(out["months_to_recovery"].to_numpy(float))].reset_index(drop=True)


def _index_score(frame: pd.DataFrame, ctx: Mapping[str, Any]) -> pd.DataFrame:
    """The upstream index result's point score per unit as column ``resilience``."""
    index_result = ctx.get("index_result")
    if index_result is None:
        raise SpecError("derive index_score needs an upstream index result (index_from)")
    unit = ctx.get("unit") or "city"
    table = index_result.frequentist if len(index_result.frequentist) else index_result.estimates
    s = table[table["quantity"].str.match(r"^score\[[^,\]]+\]$")]
    scores = pd.Series(s["estimate"].to_numpy(float), index=s["quantity"].str[6:-1])
    out = frame.copy()
    out["resilience"] = out[unit].astype(str).map(scores)
    if out["resilience"].isna().any():
        missing = out.loc[out["resilience"].isna(), unit].tolist()[:5]
        raise SpecError(f"index scores missing for units {missing}", column=unit)
    return out


DERIVED: dict[str, Callable[[pd.DataFrame, Mapping[str, Any]], pd.DataFrame]] = {
    "export_growth": _export_growth,
    "months_to_recovery": _months_to_recovery,
    "index_score": _index_score,
}


# ------------------------------------------------------------------ running
@dataclass
class SpecRun:
    """One executed analysis (a spec or one of its variants)."""

    spec: Spec
    folder: str
    result: Any = None
    error: str | None = None
    seconds: float = 0.0
    variant: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.result is not None


def _load_frame(spec: Spec) -> tuple[pd.DataFrame, Any]:
    from bayesres.cli.common import load_input

    inp = load_input(spec.data, spec.dataset)
    return inp.frame, inp


def _analysis_module(analysis: str) -> Any:
    import importlib

    return importlib.import_module(f"bayesres.{analysis}")


def run_one(
    spec: Spec,
    *,
    quick: bool = False,
    seed: int = 0,
    upstream: Mapping[str, Any] | None = None,
    progress: bool = False,
) -> Any:
    """Run ``spec`` (no variants) and return its ``AnalysisResult``."""
    from bayesres.results import DataInfo

    frame, inp = _load_frame(spec)
    ctx: dict[str, Any] = {"unit": spec.columns.get("unit", "city")}
    index_result = None
    if spec.index_from is not None:
        index_result = (upstream or {}).get(spec.index_from)
        if index_result is None:
            raise SpecError(
                f"{spec.name} needs the result of {spec.index_from} first",
                file=str(spec.path),
                hint=f"Run 'bayesres run {spec.index_from}' or use 'bayesres replicate'.",
            )
        ctx["index_result"] = index_result
    for d in spec.derive:
        frame = DERIVED[d](frame, ctx)
    kw = spec.kwargs(quick=quick, seed=seed)
    if index_result is not None and "index_draws" in index_result.tables:
        kw["index_draws"] = index_result.tables["index_draws"]
    info = inp.data_info()
    data_info = DataInfo(
        source=info.source, sha256=info.sha256, n_rows=len(frame), synthetic=info.synthetic
    )
    module = _analysis_module(spec.analysis)
    dataset = inp.dataset
    if spec.analysis == "did" and "controls" in spec.columns and not spec.columns["controls"]:
        # did.run fills *empty* column options from the bundled dataset's defaults (controls = ()
        # means "unset" there), so `controls = []` ran with the five controls. With every column
        # named in the spec, dropping the dataset name only drops those defaults.
        dataset = None
    result = module.run(frame, data_info=data_info, dataset=dataset, progress=progress, **kw)
    result.settings = {**dict(result.settings or {}), "spec": spec.name, "quick": bool(quick)}
    if spec.published_variant:
        result.settings["published_variant"] = spec.published_variant
    return result


def run_spec(
    spec: Spec | str | Path,
    *,
    out: str | Path | None = None,
    quick: bool = False,
    seed: int = 0,
    upstream: Mapping[str, Any] | None = None,
    variants: bool | Sequence[str] = True,
    progress: bool = False,
    on_step: Callable[[SpecRun], None] | None = None,
    keep_going: bool = True,
    main: bool = True,
) -> list[SpecRun]:
    """Run a spec and its variants; save each into ``out/<name>`` when ``out`` is given.

    Variants with ``quick = false`` are skipped under ``--quick``; ``variants`` may also name the
    ones to run, and ``main=False`` leaves out the main analysis (``replicate`` shares variants
    between its processes). With ``keep_going`` a failing variant is recorded
    (``SpecRun.error``) and the rest still run; the main analysis failing raises only when
    ``keep_going`` is false.
    """
    if not isinstance(spec, Spec):
        spec = load_spec(spec)
    todo: list[tuple[Spec, str | None]] = [(spec, None)] if main else []
    if variants:
        wanted = None if variants is True else set(variants)
        todo += [
            (spec.with_variant(v), v.name)
            for v in spec.variants
            if (v.quick or not quick) and (wanted is None or v.name in wanted)
        ]
    runs = []
    for s, vname in todo:
        run = SpecRun(spec=s, folder=s.name, variant=vname)
        t0 = time.perf_counter()
        try:
            run.result = run_one(s, quick=quick, seed=seed, upstream=upstream, progress=progress)
            if out is not None:
                run.result.save(Path(out) / s.name)
        except Exception as exc:
            if not keep_going:
                raise
            first = str(exc).splitlines()[0] if str(exc) else ""
            run.error = f"{type(exc).__name__}: {first}"
        run.seconds = time.perf_counter() - t0
        runs.append(run)
        if on_step is not None:
            on_step(run)
    return runs
