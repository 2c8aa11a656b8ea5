"""`asnet notebooks`: execute the paper-table notebooks against results folders (``make notebooks``).

The notebooks in ``notebooks/`` are stored without outputs. This runs each one from top to
bottom in a fresh ``python3`` kernel (the interpreter running this module, i.e. the
project's virtual environment) with nbclient, pointing them at the given folders through
the environment variables their first cell reads, and writes the executed copies to
``--out``. The stored notebooks are never modified.

Example:
    asnet notebooks --results results/eval --ablation results/ablation \\
        --data data/prepared --out results/notebooks
"""

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from asnet_keras.commands import CommandFailed, positive, run_command
from asnet_keras.extras import requires

NOTEBOOKS = (
    "table2_fp_mit1003",
    "table3_fp_pascal_s",
    "table4_sod",
    "table5_ablation",
    "fig5_pr_curves",
    "fig6_qualitative",
)
REPOSITORY = Path(__file__).resolve().parents[2]  # the checkout holding asnet_keras/
NOTEBOOK_DIR = REPOSITORY / "notebooks"
# Command-line option -> the environment variable the notebooks' first cell reads.
ENV = {
    "results": "ASNET_RESULTS",
    "ablation": "ASNET_ABLATION",
    "data": "ASNET_DATA",
    "datasets": "ASNET_DATASETS",
    "figures": "ASNET_FIGURES",
}


def notebook_paths(names=None, notebook_dir=NOTEBOOK_DIR):
    """The notebook files for ``names`` (default all, in table order)."""
    names = list(names or NOTEBOOKS)
    unknown = [n for n in names if n.removesuffix(".ipynb") not in NOTEBOOKS]
    if unknown:
        raise ValueError(f"unknown notebook(s) {', '.join(unknown)}; "
                         f"pass some of {', '.join(NOTEBOOKS)}")
    paths = [Path(notebook_dir) / f"{n.removesuffix('.ipynb')}.ipynb" for n in names]
    absent = [str(p) for p in paths if not p.is_file()]
    if absent:
        raise FileNotFoundError(
            f"notebook(s) not found: {', '.join(absent)}; run from a checkout of the "
            "repository (the notebooks are not installed with the package)")
    return paths


def kernel_env(results=None, ablation=None, data=None, datasets=None, figures=None):
    """The environment of the notebook kernels: ours plus the ASNET_* variables, absolute."""
    env = dict(os.environ)
    values = {"results": results, "ablation": ablation, "data": data, "figures": figures}
    for key, value in values.items():
        if value is not None:
            env[ENV[key]] = os.path.abspath(os.path.expanduser(os.fspath(value)))
    if datasets is not None:
        env[ENV["datasets"]] = datasets
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPOSITORY), env.get("PYTHONPATH")) if p)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.setdefault("MPLBACKEND", "Agg")
    return env


def execute_notebook(path, out_path, env, timeout=600, kernel_name="python3"):
    """Run one notebook in a fresh kernel; write the executed copy to ``out_path``.

    Returns ``None`` on success, else the error text (the executed part is still written).
    """
    with requires("notebooks"):  # nbclient, nbformat and the kernel: the notebooks extra
        import ipykernel  # noqa: F401  (the python3 kernel the notebooks run in)
        import nbformat
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel_name,
                            resources={"metadata": {"path": str(Path(path).parent)}},
                            # the kernel's start-up warnings are noise in `make notebooks`
                            extra_arguments=["--IPKernelApp.log_level=ERROR"])
    error = None
    try:
        client.execute(env=env)
    except CellExecutionError as err:
        error = str(err)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out_path)
    return error


def execute_all(out, names=None, results=None, ablation=None, data=None, datasets=None,
                figures=None, timeout=600, notebook_dir=NOTEBOOK_DIR, quiet=False, jobs=1):
    """Execute the notebooks ``names`` (default all) into ``out``; returns {name: error or None}.

    ``jobs`` notebooks run at a time (each in its own kernel process).
    """
    out = Path(out)
    env = kernel_env(results, ablation, data, datasets,
                     figures if figures is not None else out / "figures")
    paths = notebook_paths(names, notebook_dir)

    def one(path):
        start = time.perf_counter()
        error = execute_notebook(path, out / path.name, env, timeout=timeout)
        if not quiet:
            state = "ok" if error is None else "FAILED"
            took = time.perf_counter() - start
            print(f"{path.stem}: {state} ({took:.1f} s) -> {out / path.name}", flush=True)
            if error:
                print(error, file=sys.stderr)
        return error

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        errors = list(pool.map(one, paths))
    return {path.stem: error for path, error in zip(paths, errors)}


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
