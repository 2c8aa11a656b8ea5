"""Small helpers shared by the model, training and evaluation tests."""

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
