"""Fixtures for every test."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def seconds_file(tmp_path, monkeypatch):
    """``bayesres replicate`` keeps each analysis's seconds in the user cache as a scheduling
    hint (``replicate.record_seconds``). In tests, a file of the test's own, so that fake or
    quick runs never reorder a user's next real run."""
    import bayesres.replicate as rep_mod

    path = tmp_path / "user-cache" / "replicate-seconds.json"
    monkeypatch.setattr(rep_mod, "_seconds_path", lambda: path)
    return path
