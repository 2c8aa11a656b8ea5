"""Small helpers shared by the tests (fresh Python processes, file-tree snapshots, a saved
random model)."""

import os
import subprocess
import sys
import textwrap


def run_fresh_python(code, cwd, timeout=300):
    """Run `code` in a new Python process that cannot import `asnet_keras`.

    The working directory is `cwd` (not the repository) and PYTHONPATH is cleared, so
    the child only sees installed packages. Returns the CompletedProcess; raises with
    the child's output if it failed.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"fresh process failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


def file_contents(root, skip_dirs=()):
    """{path relative to `root`: bytes} of every file below `root`, leaving out folders
    named in `skip_dirs` (e.g. data_prep's ".extract" cache)."""
    out = {}
    for dirpath, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in skip_dirs]
        for name in names:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, root)] = f.read()
    return out


def save_random_asnet(path, side, seed):
    """Save a `side`×`side` ASNet with random weights (seeded by `seed`, no ImageNet
    weights) to `path` (`.keras`); returns `path` as a string."""
    import keras

    from asnet_keras.model import build_asnet

    keras.utils.set_random_seed(seed)
    build_asnet((side, side, 3), backbone_weights=None).save(path)
    return str(path)
