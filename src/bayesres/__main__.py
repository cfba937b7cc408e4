"""``python -m bayesres`` runs the command line."""

from bayesres.cli import run

run()
