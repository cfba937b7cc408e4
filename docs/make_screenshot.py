"""Screenshot the first screen (1200 x 900) of a real ``bayesres replicate`` report for the README.

    bayesres replicate --out out/replicate
    .venv/bin/python docs/make_screenshot.py out/replicate/report.html docs/report_screenshot.png

Uses the browser test's headless-Chromium driver (tests/browser/test_report_browser.py) and fails
when the page logs an error or an image does not decode.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(report: str, target: str) -> None:
    spec = importlib.util.spec_from_file_location(
        "report_browser", ROOT / "tests" / "browser" / "test_report_browser.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    if mod.CHROMIUM is None:
        raise SystemExit("chromium is not installed (make browser-deps)")
    with tempfile.TemporaryDirectory() as tmp:
        shot = Path(tmp) / "shot.png"
        info = mod.open_in_chromium(Path(report).resolve(), shot)
        if info["errors"] or info["bad"]:
            raise SystemExit(f"report did not render cleanly: {info}")
        Path(target).write_bytes(shot.read_bytes())
    print(f"{target}: {info['n']} images, cards end at {info['cards_bottom']:.0f} px of 900")


if __name__ == "__main__":
    main(*sys.argv[1:3])
