"""Fitting: compile once per model structure, swap data, sample with an explicit seed.

nutpie through PyMC is the default sampler (measured fastest here, notes/performance.md).
``pm.sample`` recompiles on every call, so bayesres compiles a model once with
nutpie's numba backend and reuses it (``with_data``) for refits: index draws, SBC and
coverage replications. The compile itself is cached on disk across processes
(``bayesres._nutpie_cache``: nutpie's C callbacks, which nutpie leaves uncacheable, are keyed on
PyTensor's own graph key; ``bayesres._graph_cache``: the rewritten PyTensor functions, keyed on
the model's graph before rewriting), so a second process loads instead of compiling. Numba fast-math is switched off so that the same seed gives the same
draws on a cold and a warm compile cache (notes/pymc6-arviz1.md pitfall P1).

On divergences the fit is retried with target_accept 0.95, then 0.99, before giving up.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bayesres.config import BFMI_MIN, TARGET_ACCEPT_LADDER, SamplerSettings
from bayesres.diagnostics import GateReport, check_gates
from bayesres.errors import MissingDependencyError, SpecError

__all__ = [
    "FitResult",
    "compile_model",
    "fit",
    "clear_compile_cache",
    "configure_pytensor",
    "current_data",
]

_COMPILED: dict[Hashable, Any] = {}
SAMPLERS = ("nutpie", "pymc", "numpyro")


def configure_pytensor() -> None:
    """Bit-reproducible numba code (fast-math off), set before the first compile."""
    flags = os.environ.get("PYTENSOR_FLAGS", "")
    if "numba__fastmath" not in flags:
        os.environ["PYTENSOR_FLAGS"] = ",".join(f for f in (flags, "numba__fastmath=False") if f)
    import pytensor

    pytensor.config.numba__fastmath = False


@dataclass
class FitResult:
    idata: Any
    report: GateReport
    seconds: dict[str, float] = field(default_factory=dict)
    target_accept: float = 0.9
    attempts: int = 1
    divergences_first: int = 0  # the first attempt's, before the target_accept ladder


def clear_compile_cache() -> None:
    _COMPILED.clear()


def compile_model(model: Any, *, key: Hashable | None = None) -> Any:
    """nutpie-compiled model, cached per ``key`` (a model-structure key; default: the model)."""
    configure_pytensor()
    from bayesres._nutpie_cache import compile_pymc_model

    k = key if key is not None else id(model)
    if k not in _COMPILED:
        _COMPILED[k] = compile_pymc_model(model)
    return _COMPILED[k]


def current_data(model: Any) -> dict[str, np.ndarray]:
    """The current values of a model's ``pm.Data`` containers, by name."""
    return {v.name: np.asarray(v.get_value()) for v in model.data_vars}


def _attach_data(idata: Any, model: Any) -> Any:
    import xarray as xr
    from pymc.backends.arviz import find_constants, find_observations

    def _ds(values: Mapping[str, Any]) -> xr.Dataset:
        out = {}
        for name, val in values.items():
            dims = model.named_vars_to_dims.get(name)
            arr = np.asarray(val)
            if dims and len(dims) == arr.ndim:
                out[name] = xr.DataArray(
                    arr,
                    dims=dims,
                    coords={
                        d: list(model.coords[d])
                        for d in dims
                        if d in model.coords and model.coords[d] is not None
                    },
                )
            else:
                out[name] = xr.DataArray(arr)
        return xr.Dataset(out)

    idata["observed_data"] = _ds(find_observations(model))
    consts = find_constants(model)
    if consts:
        idata["constant_data"] = _ds(consts)
    return idata


def fit(
    model: Any,
    *,
    settings: SamplerSettings,
    key: Hashable | None = None,
    data: Mapping[str, Any] | None = None,
    gate_vars: Sequence[str] | None = None,
    derived: Callable[[Any], Mapping[str, np.ndarray]] | None = None,
    retry: bool = True,
    attach_data: bool = True,
    extend: bool = False,
    convergence: bool = True,
    light: bool = False,
) -> FitResult:
    """Sample ``model`` (optionally with new ``data`` for its ``pm.Data`` containers) and gate it.

    ``convergence=False``: gate on divergences and E-BFMI only (``check_gates``), for fits
    that are pooled, not reported one by one; the divergence ladder still applies.
    ``light=True`` (nutpie): the result holds the posterior draws and the divergence and energy
    statistics only, read straight from nutpie's Arrow trace (:func:`trace_to_tree`), for
    refits whose draws are pooled; nutpie's full conversion was half the time of such a fit.

    ``extend=True``: a fit without divergences that misses the R-hat / ESS gates is sampled once
    more with twice the draws (same seed, the last target_accept): the usual remedy when the
    chains are fine but too short. Opt-in, so that studies of many fits keep a fixed length.
    With nutpie the chains are not started again: each attempt runs towards twice the draws,
    pauses when every chain has ``draws`` (:class:`_Held`), is gated on those, and goes on only
    if the extension is needed. A chain's first n draws do not depend on how many follow, so the
    result is the one a second run with twice the draws would give, without its warm-up and its
    first half sampled twice.
    """
    if settings.sampler not in SAMPLERS:
        raise SpecError(
            f"unknown sampler {settings.sampler!r}", hint=f"Use one of: {', '.join(SAMPLERS)}."
        )
    ladder = [settings.target_accept] + [
        t for t in TARGET_ACCEPT_LADDER if t > settings.target_accept
    ]
    if not retry:
        ladder = ladder[:1]
    seconds: dict[str, float] = {}
    result: FitResult | None = None
    held: list[_Held] = []  # the last attempt's paused sampler, when it can go on (nutpie)

    def gated(idata: Any, ta: float, attempt: int) -> FitResult:
        if attach_data and data is None:
            _attach_data(idata, model)
        # derived quantities are gated with R-hat / ESS; without those checks they are not needed
        extra = derived(idata) if derived is not None and convergence else None
        report = check_gates(idata, var_names=gate_vars, derived=extra, convergence=convergence)
        report.target_accept = ta
        return FitResult(
            idata=idata,
            report=report,
            seconds=seconds,
            target_accept=ta,
            attempts=attempt,
            divergences_first=result.divergences_first if result else report.divergences,
        )

    for attempt, ta in enumerate(ladder, start=1):
        for h in held:
            h.drop()
        held.clear()
        t0 = time.perf_counter()
        idata = _sample_once(
            model,
            settings=settings,
            key=key,
            data=data,
            target_accept=ta,
            seconds=seconds,
            light=light,
            hold=held if extend else None,
        )
        seconds["sample"] = (
            seconds.get("sample", 0.0)
            + time.perf_counter()
            - t0
            - seconds.get("_compile_this", 0.0)
        )
        result = gated(idata, ta, attempt)
        if result.report.divergences == 0:
            break
    seconds.pop("_compile_this", None)
    assert result is not None
    if held and _only_short(result.report):
        t0 = time.perf_counter()
        idata = held.pop().finish()
        seconds["sample"] = seconds.get("sample", 0.0) + time.perf_counter() - t0
        again = gated(idata, result.target_accept, result.attempts + 1)
        again.report.extended = True
        return again
    for h in held:
        h.drop()
    if extend and _only_short(result.report):
        from dataclasses import replace

        longer = replace(settings, draws=2 * settings.draws, target_accept=result.target_accept)
        again = fit(
            model,
            settings=longer,
            key=key,
            data=data,
            gate_vars=gate_vars,
            derived=derived,
            retry=False,
            attach_data=attach_data,
        )
        for k, v in again.seconds.items():
            seconds[k] = seconds.get(k, 0.0) + v
        again.seconds = seconds
        again.attempts = result.attempts + 1
        again.divergences_first = result.divergences_first
        again.report.messages = list(again.report.messages)
        again.report.extended = True
        return again
    return result


LIGHT_STATS = ("diverging", "energy")


def trace_to_tree(raw: Any, compiled: Any, *, draws: int | None = None) -> Any:
    """nutpie's raw Arrow trace as a DataTree with ``posterior`` (every stored variable but
    nutpie's unconstrained copies, dims and coords as nutpie names them) and ``sample_stats``
    (:data:`LIGHT_STATS`), warm-up rows dropped: what gates and pooled refits read. ``draws``:
    the first that many draws of each chain (chains of a paused run differ in length)."""
    import pyarrow
    import xarray as xr

    draw_batches, stat_batches = raw.get_arrow_trace()
    keep = [
        ~np.asarray(pyarrow.array(b.column("tuning")).to_numpy(zero_copy_only=False), bool)
        for b in stat_batches
    ]
    skip = set(getattr(compiled, "reparameterized_names", ()) or ())

    def columns(batches: list[Any], names: Sequence[str]) -> dict[str, tuple[tuple, Any]]:
        out = {}
        for name in names:
            meta = batches[0].schema.field(name).metadata or {}
            shape = [int(x) for x in meta.get(b"shape", b"").decode().split(",") if x]
            dims = [d for d in meta.get(b"dims", b"").decode().split(",") if d]
            per_chain = []
            for b, rows in zip(batches, keep, strict=True):
                col = pyarrow.array(b.column(name))
                if hasattr(col, "flatten"):
                    col = col.flatten()
                arr = np.asarray(col.to_numpy(zero_copy_only=False))
                per_chain.append(arr.reshape(len(rows), *shape)[rows][:draws])
            if not dims and shape:
                dims = [f"{name}_dim_{i}" for i in range(len(shape))]
            out[name] = (("chain", "draw", *dims), np.stack(per_chain))
        return out

    names = [n for n in draw_batches[0].schema.names if n not in skip]
    coords = {
        k: list(v) for k, v in (getattr(compiled, "coords", None) or {}).items() if v is not None
    }
    post = xr.Dataset(columns(draw_batches, names))
    post = post.assign_coords({k: v for k, v in coords.items() if k in post.dims})
    post = post.assign_coords(
        chain=np.arange(post.sizes["chain"]), draw=np.arange(post.sizes["draw"])
    )
    stats = xr.Dataset(
        columns(stat_batches, [n for n in LIGHT_STATS if n in stat_batches[0].schema.names])
    )
    return xr.DataTree.from_dict({"posterior": post, "sample_stats": stats})


class _Held:
    """A nutpie run towards twice ``settings.draws`` that pauses once every chain has
    ``settings.draws`` draws (:meth:`first`), then either goes on (:meth:`finish`) or is
    dropped. All chains run at once (one thread each), so that they reach the pause together;
    each chain keeps its seed, so its draws are those of a run with its own length."""

    POLL_S = 0.05  # seconds between checks that the run has not ended before the pause

    def __init__(self, compiled: Any, draws: int, light: bool) -> None:
        import threading

        self.compiled, self.draws, self.light = compiled, draws, light
        self.sampler: Any = None  # nutpie's background sampler, set by :meth:`start`
        self.reached = threading.Event()
        self.full: Any = None  # the whole run, when it ended before the pause
        self.bar: _Bar | None = None

    @classmethod
    def start(
        cls, compiled: Any, *, settings: SamplerSettings, target_accept: float, light: bool
    ) -> _Held:
        import nutpie

        held = cls(compiled, settings.draws, light)
        target = settings.tune + settings.draws
        # nutpie's own bar would count to twice the draws and stop half way when the gates pass
        if settings.progress:
            held.bar = _Bar(settings.chains, target)

        def progress(chains: Sequence[Any]) -> None:  # called from nutpie's progress thread
            if held.bar is not None:
                held.bar.show([c.finished_draws for c in chains])
            if all(c.finished_draws >= target for c in chains):
                held.reached.set()

        held.sampler = nutpie.sample(
            compiled,
            draws=2 * settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            cores=max(settings.cores, settings.chains),
            seed=settings.seed,
            target_accept=target_accept,
            save_warmup=False,
            progress_bar=False,
            adaptation=settings.adaptation,
            return_raw_trace=light,
            blocking=False,
            progress_callback=progress,
            progress_rate=50,  # ms between reports: how soon the pause follows the last chain
        )
        return held

    def _finished(self) -> bool:
        try:
            return bool(self.sampler.is_finished)
        except TimeoutError:  # nutpie's answer while the chains still run
            return False

    def first(self) -> Any:
        """The first ``draws`` of every chain, the run paused."""
        while not self.reached.wait(self.POLL_S) and not self._finished():
            pass
        if self._finished():  # ended before the pause (or failed: wait() raises its error)
            self.full = self._tree(self.sampler.wait())
            self._stop_bar()
            return self.full.isel(draw=slice(0, self.draws), missing_dims="ignore")
        self.sampler.pause()
        self._stop_bar()
        trace = self.sampler.inspect()  # chains differ in length: shorter ones are NaN-padded
        if self.light:
            return trace_to_tree(trace, self.compiled, draws=self.draws)
        return trace.isel(draw=slice(0, self.draws), missing_dims="ignore")

    def finish(self) -> Any:
        """The run taken to twice the draws."""
        if self.full is None:
            if self.bar is not None:
                self.bar.extend(self.draws)
            self.sampler.resume()  # wait() does not resume a paused run (nutpie 0.16)
            self.full = self._tree(self.sampler.wait())
            self._stop_bar()
        return self.full

    def drop(self) -> None:
        self._stop_bar()
        if self.full is None:
            self.sampler.cancel()

    def _stop_bar(self) -> None:
        if self.bar is not None:
            self.bar.stop()

    def _tree(self, trace: Any) -> Any:
        return trace_to_tree(trace, self.compiled) if self.light else trace


class _Bar:
    """Progress of a :class:`_Held` run on stderr (rich): draws of all chains towards the gate
    check, then towards twice the draws if the chains go on."""

    def __init__(self, chains: int, per_chain: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.chains, self.per_chain = chains, per_chain
        self.progress = Progress(
            TextColumn("sampling {task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} draws"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
        )
        self.task = self.progress.add_task(
            f"{chains} chains (warm-up included)", total=chains * per_chain
        )
        self.progress.start()

    def show(self, finished: Sequence[int]) -> None:
        done = sum(min(int(f), self.per_chain) for f in finished)
        self.progress.update(self.task, completed=done)

    def extend(self, more: int) -> None:
        """The chains go on for ``more`` draws each."""
        self.per_chain += more
        self.progress.update(self.task, total=self.chains * self.per_chain)
        self.progress.start()

    def stop(self) -> None:
        self.progress.stop()


def _only_short(report: GateReport) -> bool:
    """Failed on R-hat or ESS only (no divergences, E-BFMI fine): longer chains are the remedy."""
    if report.passed or report.divergences:
        return False
    return not (report.bfmi_min == report.bfmi_min and report.bfmi_min < BFMI_MIN)


def _sample_once(
    model: Any,
    *,
    settings: SamplerSettings,
    key: Hashable | None,
    data: Mapping[str, Any] | None,
    target_accept: float,
    seconds: dict[str, float],
    light: bool = False,
    hold: list[_Held] | None = None,
) -> Any:
    """One sampling run. ``hold`` (a list, nutpie only): run towards twice the draws, return the
    first ``settings.draws`` per chain and leave the paused run in ``hold`` (:class:`_Held`)."""
    seconds["_compile_this"] = 0.0
    if settings.sampler == "nutpie":
        import nutpie

        t0 = time.perf_counter()
        k = key if key is not None else id(model)
        reused = k in _COMPILED
        compiled = compile_model(model, key=key)
        if data:
            compiled = compiled.with_data(**data)
        elif reused:
            # A cached compile carries the data it was built with: send this model's current
            # pm.Data values (those the graph uses), or a same-structure model with other data
            # would sample stale data.
            known = {var.name for var in compiled.shared_var_keys}
            compiled = compiled.with_data(
                **{n: v for n, v in current_data(model).items() if n in known}
            )
        dt = time.perf_counter() - t0
        seconds["compile"] = seconds.get("compile", 0.0) + dt
        seconds["_compile_this"] = dt
        if hold is not None:
            run = _Held.start(compiled, settings=settings, target_accept=target_accept, light=light)
            hold.append(run)
            return run.first()
        trace = nutpie.sample(
            compiled,
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            cores=settings.cores,
            seed=settings.seed,
            target_accept=target_accept,
            save_warmup=False,
            progress_bar=settings.progress,
            adaptation=settings.adaptation,
            return_raw_trace=light,
        )
        return trace_to_tree(trace, compiled) if light else trace
    configure_pytensor()
    import pymc as pm

    if settings.sampler == "numpyro":
        try:
            import numpyro  # noqa: F401
        except ImportError:
            raise MissingDependencyError(
                "the numpyro sampler is not installed", hint="pip install 'bayesres[jax]'"
            ) from None
    with model:
        if data:
            pm.set_data(dict(data))
        return pm.sample(
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            cores=settings.cores,
            random_seed=settings.seed,
            nuts_sampler=settings.sampler,
            target_accept=target_accept,
            progressbar=settings.progress,
            quiet=not settings.progress,
            compute_convergence_checks=False,
        )
