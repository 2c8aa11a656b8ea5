"""Executing the paper-table notebooks: each one top to bottom in a fresh kernel.

The notebooks in ``notebooks/`` are stored without outputs. ``execute_all`` runs each one
from top to bottom in a fresh ``python3`` kernel (the interpreter running this module, i.e.
the project's virtual environment) with nbclient, pointing them at the given folders
through the environment variables their first cell reads, and writes the executed copies
to ``out``. The stored notebooks are never modified. Used by `asnet notebooks` and by
`asnet reproduce` (`asnet_keras.reproduction`).

Example:
    >>> from asnet_keras.reporting.notebooks import execute_all
    >>> execute_all("executed", ["table4_sod"], results="results/eval")
    {'table4_sod': None}
"""

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from asnet_keras.extras import MissingExtra, requires

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


def unavailable(notebook_dir=NOTEBOOK_DIR):
    """Why the notebooks cannot be executed here (a sentence), or None when they can: the
    'notebooks' extra is not installed, or there is no checkout holding them."""
    try:
        with requires("notebooks"):  # what execute_notebook imports
            import ipykernel  # noqa: F401
            import nbclient  # noqa: F401
            import nbformat  # noqa: F401
    except MissingExtra as missing:
        return str(missing)
    if not Path(notebook_dir).is_dir():
        return (f"{notebook_dir} does not exist: the notebooks are not installed with the "
                "package; run from a checkout of the repository")
    return None
