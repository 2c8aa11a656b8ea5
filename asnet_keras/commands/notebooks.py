"""`asnet notebooks`: execute the paper-table notebooks against results folders (``make notebooks``).

The notebooks in ``notebooks/`` are stored without outputs. This runs each one from top to
bottom in a fresh ``python3`` kernel with nbclient, pointing them at the given folders
through the environment variables their first cell reads, and writes the executed copies to
``--out``; the work is `asnet_keras.reporting.notebooks`. The stored notebooks are never
modified.

Example:
    asnet notebooks --results results/eval --ablation results/ablation \\
        --data data/prepared --out results/notebooks
"""

import argparse

from asnet_keras.commands import CommandFailed, positive, run_command
from asnet_keras.reporting.notebooks import (  # noqa: F401 - the names tests and users know here
    ENV,
    NOTEBOOK_DIR,
    NOTEBOOKS,
    execute_all,
    execute_notebook,
    kernel_env,
    notebook_paths,
)


def build_parser():
    p = argparse.ArgumentParser(
        prog="asnet notebooks",
        description="Execute the paper-table notebooks against results folders; executed "
                    "copies go to --out (the stored notebooks stay without outputs).")
    p.add_argument("--results", help="the folder `make eval` wrote (ASNET_RESULTS)")
    p.add_argument("--ablation", help="the folder `make ablation` wrote (ASNET_ABLATION)")
    p.add_argument("--data", help="the prepared data root, for Figure 6's images (ASNET_DATA)")
    p.add_argument("--datasets", help="paper dataset -> our dataset folder, e.g. "
                   "'pascal-s=pascal-s-test' or '*=synthetic-both' (ASNET_DATASETS)")
    p.add_argument("--out", required=True, help="folder for the executed notebooks")
    p.add_argument("--figures", help="folder for the figures' PNGs (default OUT/figures)")
    p.add_argument("--notebooks", help=f"comma-separated subset of: {', '.join(NOTEBOOKS)}")
    p.add_argument("--timeout", type=positive(int), default=600, help="seconds per cell (default 600)")
    p.add_argument("--jobs", type=positive(int), default=1, help="notebooks executed at a time (default 1)")
    return p


def run(args):
    """Execute the notebooks; CommandFailed naming those that failed (their errors above)."""
    names = [n.strip() for n in args.notebooks.split(",") if n.strip()] if args.notebooks else None
    outcome = execute_all(args.out, names, args.results, args.ablation, args.data,
                          args.datasets, args.figures, args.timeout, jobs=args.jobs)
    failed = [n for n, e in outcome.items() if e]
    if failed:
        raise CommandFailed(f"{len(failed)} notebook(s) failed: {', '.join(failed)}")


def main(argv=None):
    """`asnet notebooks`; returns the exit status (asnet_keras.commands.run_command)."""
    return run_command(argv, build_parser, run)
