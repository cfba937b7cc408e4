"""Persistent PyTensor compile cache, so that a second ``bayesres`` run starts warm.

Compiling a model (numba through PyTensor) is what a user waits for on the small workloads
(notes/performance.md: W1 is 10-18 s end to end for 0.3-1.3 s of sampling). PyTensor keeps compiled
code under ``config.base_compiledir`` (numba code in ``<base>/numba``), by default ``~/.pytensor``,
which every venv of the user shares. bayesres moves it to its own directory in the user's cache:

* ``$BAYESRES_CACHE_DIR`` when set, else
* ``$XDG_CACHE_HOME/bayesres/pytensor`` (``~/.cache/bayesres/pytensor``) on Linux,
  ``~/Library/Caches/bayesres/pytensor`` on macOS, ``%LOCALAPPDATA%/bayesres/Cache/pytensor`` on
  Windows (platformdirs' user_cache_dir layout, without depending on platformdirs).

``base_compiledir`` is immutable once PyTensor is imported (it is read from ``PYTENSOR_FLAGS``
at import, and the numba cache path is fixed then), so :func:`configure_cache` must run before
the first ``import pytensor`` / ``import pymc``; it never overrides a directory the user chose
through ``PYTENSOR_FLAGS`` or ``.pytensorrc``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["cache_dir", "configure_cache", "user_set_compiledir"]

ENV_VAR = "BAYESRES_CACHE_DIR"


def cache_dir() -> Path:
    """The bayesres PyTensor compile-cache directory (not created here)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
        return base / "bayesres" / "Cache" / "pytensor"
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "bayesres" / "pytensor"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg and Path(xdg).is_absolute() else home / ".cache"
    return base / "bayesres" / "pytensor"


def _flags(value: str) -> dict[str, str]:
    out = {}
    for item in value.split(","):
        if "=" in item:
            k, v = item.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def user_set_compiledir() -> bool:
    """True when the user chose a PyTensor ``base_compiledir`` (flags or a config file)."""
    if "base_compiledir" in _flags(os.environ.get("PYTENSOR_FLAGS", "")):
        return True
    rc = os.environ.get("PYTENSORRC", str(Path.home() / ".pytensorrc"))
    for path in rc.split(os.pathsep):
        try:
            text = Path(path).expanduser().read_text()
        except OSError:
            continue
        if any(line.split("=")[0].strip() == "base_compiledir" for line in text.splitlines()):
            return True
    return False


def configure_cache() -> Path | None:
    """Point PyTensor's ``base_compiledir`` at :func:`cache_dir` before the first compile.

    Returns the directory now in use when bayesres set it, ``None`` when it left PyTensor alone:
    the user chose a directory, or PyTensor was already imported (the directory is then fixed;
    the default ``~/.pytensor`` still caches, only not in bayesres' own place). Idempotent.
    """
    target = cache_dir()
    if _flags(os.environ.get("PYTENSOR_FLAGS", "")).get("base_compiledir") == str(target):
        return target  # set earlier by bayesres (importing the package configures it)
    if user_set_compiledir():
        return None
    if "pytensor" in sys.modules:
        from pytensor import config

        current = Path(config.base_compiledir)
        return current if current == target else None
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # read-only home: keep PyTensor's default
    flags = os.environ.get("PYTENSOR_FLAGS", "")
    os.environ["PYTENSOR_FLAGS"] = ",".join(f for f in (flags, f"base_compiledir={target}") if f)
    return target
