"""``bayesres calibrate sbc | coverage``."""

from __future__ import annotations
