"""Defaults in one place. ``None`` anywhere in the API means "use the default from here"."""

from __future__ import annotations

from dataclasses import dataclass

HDI_PROB = 0.95
ENTROPY_SHIFT = 1e-4
TIER_MIN_UNITS = 2  # fewer is an error
TIER_WARN_UNITS = 5  # fewer is a warning

# diagnostic gates (methods.md section 4, issue 6)
RHAT_MAX = 1.01
ESS_MIN = 400
BFMI_MIN = 0.3
PARETO_K_MAX = 0.7
TARGET_ACCEPT_LADDER = (0.9, 0.95, 0.99)


@dataclass(frozen=True)
class SamplerSettings:
    """MCMC settings. ``quick`` shrinks draws for smoke runs. ``cores``: chains sampled at once,
    except in fits with ``extend`` (nutpie), which run every chain at once so that they reach
    the gate check together (``sampling._Held``)."""

    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    cores: int = 2
    target_accept: float = 0.9
    sampler: str = "nutpie"
    seed: int = 0
    progress: bool = False
    adaptation: str = "diag"  # nutpie mass-matrix adaptation: diag | low_rank

    @classmethod
    def make(
        cls,
        *,
        draws: int | None = None,
        tune: int | None = None,
        chains: int | None = None,
        seed: int | None = None,
        quick: bool = False,
        sampler: str | None = None,
        target_accept: float | None = None,
        progress: bool = False,
        adaptation: str | None = None,
    ) -> SamplerSettings:
        base = cls(draws=200, tune=300, chains=2) if quick else cls()
        return cls(
            draws=draws if draws is not None else base.draws,
            tune=tune if tune is not None else base.tune,
            chains=chains if chains is not None else base.chains,
            cores=base.cores,
            target_accept=target_accept if target_accept is not None else base.target_accept,
            sampler=sampler or base.sampler,
            seed=seed if seed is not None else base.seed,
            progress=progress,
            adaptation=adaptation or base.adaptation,
        )
