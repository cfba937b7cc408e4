"""bayesres.perf: where the compile cache lives, that it never overrides the user's choice, and
that fast-math off makes same-seed draws bit-identical on a cold and a warm cache (pitfall P1)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bayesres import perf


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTENSOR_FLAGS", "BAYESRES_CACHE_DIR")}
    env["HOME"] = str(tmp_path / "home")
    env.pop("XDG_CACHE_HOME", None)
    env.update(extra)
    return env


def test_cache_dir_env_var_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("BAYESRES_CACHE_DIR", str(tmp_path / "mine"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert perf.cache_dir() == tmp_path / "mine"


@pytest.mark.skipif(sys.platform != "linux", reason="XDG layout is the Linux one")
def test_cache_dir_xdg_then_home(monkeypatch, tmp_path):
    monkeypatch.delenv("BAYESRES_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert perf.cache_dir() == tmp_path / "xdg" / "bayesres" / "pytensor"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")  # XDG spec: relative is invalid
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    assert perf.cache_dir() == tmp_path / "h" / ".cache" / "bayesres" / "pytensor"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert perf.cache_dir() == tmp_path / "h" / ".cache" / "bayesres" / "pytensor"


def test_user_flag_is_respected(monkeypatch, tmp_path):
    monkeypatch.setenv("PYTENSOR_FLAGS", f"floatX=float64,base_compiledir={tmp_path}")
    assert perf.user_set_compiledir()
    assert perf.configure_cache() is None
    assert os.environ["PYTENSOR_FLAGS"] == f"floatX=float64,base_compiledir={tmp_path}"


def test_pytensorrc_is_respected(monkeypatch, tmp_path):
    rc = tmp_path / "rc"
    rc.write_text("[global]\nbase_compiledir = /somewhere\n")
    monkeypatch.delenv("PYTENSOR_FLAGS", raising=False)
    monkeypatch.setenv("PYTENSORRC", str(rc))
    assert perf.user_set_compiledir()


_PROBE = """
import json, sys
from bayesres import perf
d = perf.configure_cache()
import pytensor
print(json.dumps([str(d), str(pytensor.config.base_compiledir)]))
"""


def test_configure_cache_before_pytensor_import(tmp_path):
    """In a fresh process bayesres' directory becomes PyTensor's base_compiledir."""
    target = tmp_path / "cache"
    env = _env(tmp_path, BAYESRES_CACHE_DIR=str(target), PYTENSORRC=str(tmp_path / "none"))
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True
    )
    chosen, used = json.loads(out.stdout.strip().splitlines()[-1])
    assert chosen == used == str(target)
    assert target.is_dir()


def test_configure_cache_keeps_user_dir(tmp_path):
    env = _env(
        tmp_path,
        BAYESRES_CACHE_DIR=str(tmp_path / "cache"),
        PYTENSOR_FLAGS=f"base_compiledir={tmp_path / 'user'}",
    )
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True
    )
    chosen, used = json.loads(out.stdout.strip().splitlines()[-1])
    assert chosen == "None" and used == str(tmp_path / "user")


_FIT = """
import hashlib, sys, warnings
warnings.simplefilter("ignore")
import numpy as np
from bayesres.config import SamplerSettings
from bayesres.sampling import fit
import pymc as pm
rng = np.random.default_rng(3)
g = np.repeat(np.arange(3), 6); x = rng.normal(size=18); y = 0.5 * x + g * 0.3 + rng.normal(size=18)
with pm.Model(coords={"g": [0, 1, 2]}) as m:
    z = pm.Normal("z", 0, 1, dims="g"); s = pm.HalfNormal("s", 1); b = pm.Normal("b", 0, 1)
    pm.Normal("y", z[g] * s + b * x, pm.HalfNormal("sigma", 1), observed=y)
res = fit(m, settings=SamplerSettings(draws=100, tune=100, chains=2, cores=1, seed=7), retry=False)
arr = np.ascontiguousarray(res.idata["posterior"]["b"].values, dtype=np.float64)
print(hashlib.md5(arr.tobytes()).hexdigest())
"""


@pytest.mark.slow
def test_same_seed_bit_identical_cold_and_warm(tmp_path):
    """Two fresh processes on one compile dir: cold then warm, same seed, same bytes (P1)."""
    env = _env(
        tmp_path,
        PYTENSOR_FLAGS=f"base_compiledir={tmp_path / 'ptc'}",
        MPLBACKEND="Agg",
    )
    env["HOME"] = os.environ.get("HOME", "/tmp")  # keep numba / nutpie happy with a real home
    script = textwrap.dedent(_FIT)
    digests = []
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        digests.append(out.stdout.strip().splitlines()[-1])
    assert (tmp_path / "ptc" / "numba").is_dir()  # the first run really filled the cache
    assert digests[0] == digests[1]
