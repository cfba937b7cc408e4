"""``bayesres replicate`` and ``bayesres run SPEC`` (registered here)."""

from __future__ import annotations
