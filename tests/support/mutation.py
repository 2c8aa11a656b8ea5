"""Mutation testing of the pure-Python cores with mutmut, each module with its own fast
tests (`make mutation`; docs/testing.md §3).

    python -m tests.support.mutation                 # every module below
    python -m tests.support.mutation cropping layout # some of them

Each module runs in its own copy of the checkout under `--work` (mutmut writes its mutated
copy, `mutants/`, beside the code it reads, and a `setup.cfg` saying what to mutate and
which tests to run there), so the checkout itself is never changed. Prints, per module,
mutants killed / all and the survivors' names (`mutmut show NAME` in the module's work
folder shows one); exit status 1 when a module scores under `--goal`.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# module → (the files mutmut mutates, the fast tests that must kill the mutants). The one
# place these paths are listed: when a module moves, change it here.
MODULES = {
    "metrics": (["asnet_keras/metrics/*"], ["tests/metrics"]),
    # under Keras' numpy backend, without the two gradient tests (TensorFlow hangs a forked
    # mutant run; the losses are keras.ops and give the same values under every backend)
    "losses": (["asnet_keras/model/losses.py"],
               ["tests/model/test_losses.py", "-k", "not gradient"]),
    "reporting": (["asnet_keras/reporting/comparison.py", "asnet_keras/reporting/paper.py",
                   "asnet_keras/reporting/results.py", "asnet_keras/reporting/display.py"],
                  ["tests/reporting/test_tables.py", "tests/reporting/test_messages.py",
                   "tests/reporting/test_reporting.py", "tests/reporting/test_paper_results.py"]),
    # (the `predict --crop` tests load a model: TensorFlow, which a forked mutant run hangs on)
    "cropping": (["asnet_keras/inference/cropping.py"],
                 ["tests/inference/test_cropping.py", "-k", "not predict_crop"]),
    "processing": (["asnet_keras/inference/released_processing.py"],
                   ["tests/released/test_released_processing.py"]),
    "layout": (["asnet_keras/data/layout.py"], ["tests/data/test_layout.py"]),
}
assert len(MODULES) == 6
COPIED = ("asnet_keras", "data_prep", "tests", "pyproject.toml")
SUMMARY = re.compile(r"(\d+)/(\d+)\s+🎉 (\d+)\s+🫥 (\d+)\s+⏰ (\d+)\s+🤔 (\d+)\s+🙁 (\d+)\s+🔇 (\d+)")


def _setup_cfg(mutate, tests):
    lines = ["[mutmut]", "source_paths = asnet_keras", "also_copy = data_prep",
             "only_mutate ="] + [f"    {p}" for p in mutate]
    lines += ["pytest_add_cli_args_test_selection ="] + [f"    {t}" for t in tests]
    lines += ["pytest_add_cli_args =", "    -p", "    no:cacheprovider", "    -m",
              "    not slow", "    -q"]
    return "\n".join(lines) + "\n"


def prepare(work, name):
    """A fresh copy of the checkout's code and tests with the module's setup.cfg."""
    folder = os.path.join(work, name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "mutants")
    for item in COPIED:
        source = os.path.join(REPO, item)
        if os.path.isdir(source):
            shutil.copytree(source, os.path.join(folder, item), ignore=ignore)
        else:
            shutil.copy2(source, folder)
    mutate, tests = MODULES[name]
    with open(os.path.join(folder, "setup.cfg"), "w", encoding="utf-8") as f:
        f.write(_setup_cfg(mutate, tests))
    return folder


# Keras' backend of each module's run (the default leaves TensorFlow unimported).
BACKEND = {"losses": "numpy"}


def run(folder, jobs, backend="tensorflow"):
    """`mutmut run` in `folder`; returns (killed, total, survivor names, seconds)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=folder, KERAS_BACKEND=backend)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", str(jobs)],
                          cwd=folder, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    found = SUMMARY.findall(done.stdout.replace("\r", "\n"))
    if not found:
        raise RuntimeError(f"mutmut run in {folder} failed:\n{done.stdout[-3000:]}\n"
                           f"{done.stderr[-3000:]}")
    _, total, killed, survived, timeout, suspicious, _, skipped = (int(v) for v in found[-1])
    results = subprocess.run([sys.executable, "-m", "mutmut", "results"], cwd=folder, env=env,
                             capture_output=True, text=True, check=False).stdout
    survivors = [line.split(":")[0].strip() for line in results.splitlines()
                 if line.strip().endswith(": survived")]
    # a timeout is a kill (the mutant looped); a skipped mutant was not run
    return killed + timeout + suspicious, total - skipped, survivors, seconds


def build_parser():
    parser = argparse.ArgumentParser(
        description="Mutation testing (mutmut) of the pure-Python cores, module by module, "
                    "each with its own fast tests (docs/testing.md §3).")
    parser.add_argument("modules", nargs="*", default=list(MODULES),
                        help=f"modules to test (default all: {', '.join(MODULES)})")
    parser.add_argument("--work", default=os.path.join(REPO, ".mutation"),
                        help="folder for the modules' copies (default .mutation/ in the "
                             "checkout)")
    parser.add_argument("--jobs", type=int, default=2, help="mutants run at a time (default 2)")
    parser.add_argument("--goal", type=float, default=90.0,
                        help="lowest acceptable score per module, in %% (default 90)")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        parser.error(f"unknown module(s) {', '.join(unknown)}; pick from {', '.join(MODULES)}")
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    below = []
    for name in args.modules:
        killed, total, survivors, seconds = run(prepare(args.work, name), args.jobs,
                                                BACKEND.get(name, "tensorflow"))
        score = 100.0 * killed / total if total else 100.0
        print(f"{name}: {killed}/{total} mutants killed ({score:.1f} %), {seconds:.0f} s",
              flush=True)
        for survivor in survivors:
            print(f"    survived: {survivor}")
        if score < args.goal:
            below.append(name)
    if below:
        print(f"under {args.goal:.0f} %: {', '.join(below)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
