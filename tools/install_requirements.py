"""Install the locked development environment with the TensorFlow build that fits the machine.

    python tools/install_requirements.py                 # guess: GPU build if nvidia-smi answers
    python tools/install_requirements.py --device gpu    # tensorflow[and-cuda], same version
    python tools/install_requirements.py --device cpu --dry-run   # print the commands only

`make setup` runs this with the virtual environment's Python (`make setup DEVICE=cpu|gpu`
overrides the guess). The steps, each a `python -m pip` command of the interpreter that
runs this script:

1. when switching builds, uninstall the other one (`tensorflow-cpu` and `tensorflow` hold
   the same files: both installed would break each other);
2. `pip install --no-compile --no-deps -r requirements/lock-<device>.txt`: the exact
   versions `make lock` resolved from pyproject.toml's ranges for the `dev` extra (every
   extra but torch, and the test tools) with `cpu` (tensorflow-cpu==V) or `gpu`
   (tensorflow[and-cuda]==V, the same V). `--no-deps`: the lock is complete, and nothing
   unlisted comes in (tf_keras names `tensorflow`, which the CPU lock leaves out on
   purpose: docs/packaging.md §2). `--no-compile`: Python compiles each module when it
   is first imported, instead of pip compiling all of them (docs/packaging.md §6);
3. `pip install --no-deps -e .` (this package, editable).

With `--dry-run` it prints the device it chose, why, and the commands, one per line
(prefixed "+ "), and changes nothing: the tests check the choice this way. Without the
lock, `pip install -e .[dev,cpu]` / `.[dev,gpu]` installs the same ranges.
Exit status: 0 done, 1 a pip command failed, 2 usage error.
"""

import argparse
import importlib.metadata
import os
import shlex
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEVICES = ("auto", "cpu", "gpu")
# The distribution each device's lock file installs, and the one it replaces.
BUILD = {"cpu": "tensorflow-cpu", "gpu": "tensorflow"}


def lock_file(device, root=ROOT):
    """requirements/lock-cpu.txt or requirements/lock-gpu.txt (written by `make lock`)."""
    return os.path.join(root, "requirements", f"lock-{device}.txt")


def gpu_present(timeout=20):
    """(True if `nvidia-smi -L` answers with at least one GPU, a reason in words)."""
    executable = shutil.which("nvidia-smi")
    if executable is None:
        return False, "nvidia-smi not found"
    try:
        result = subprocess.run([executable, "-L"], capture_output=True, text=True,
                                timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError) as error:
        return False, f"nvidia-smi failed ({error})"
    gpus = [line for line in result.stdout.splitlines() if line.strip().startswith("GPU ")]
    if result.returncode != 0 or not gpus:
        return False, f"nvidia-smi answered with status {result.returncode} and no GPU"
    return True, f"nvidia-smi lists {len(gpus)} GPU{'s' if len(gpus) > 1 else ''}"


def choose_device(requested):
    """'cpu' or 'gpu' and why."""
    if requested in ("cpu", "gpu"):
        return requested, f"DEVICE={requested} requested"
    present, reason = gpu_present()
    return ("gpu" if present else "cpu"), reason


def installed(distribution):
    try:
        importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def plan(device, python=None, *, editable=True, quiet=True, root=ROOT):
    """The pip commands (lists of arguments) that install `device`'s locked environment."""
    python = python or sys.executable
    pip = [python, "-m", "pip"]
    q = ["--quiet"] if quiet else []
    commands = []
    other = BUILD["gpu" if device == "cpu" else "cpu"]
    if installed(other):
        commands.append(pip + ["uninstall", "--yes", *q, other])
    commands.append(pip + ["install", *q, "--no-compile", "--no-deps", "-r",
                           lock_file(device, root)])
    if editable:
        commands.append(pip + ["install", *q, "--no-deps", "-e", root])
    return commands


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python tools/install_requirements.py",
        description="Install the locked development environment (requirements/lock-cpu.txt "
        "or lock-gpu.txt: every extra but torch, the test tools, and TensorFlow's CPU build "
        "tensorflow-cpu or GPU build tensorflow[and-cuda] of the same version), then this "
        "package in editable mode. `make setup` calls it.",
        epilog="auto (default) picks the GPU build when `nvidia-smi -L` lists a GPU. "
        "Example: python tools/install_requirements.py --device gpu --dry-run",
    )
    parser.add_argument("--device", choices=DEVICES, default="auto",
                        help="which TensorFlow build: auto (guess from nvidia-smi), cpu, gpu")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the chosen device and the pip commands; install nothing")
    parser.add_argument("--no-editable", action="store_true",
                        help="skip `pip install --no-deps -e .`")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    device, reason = choose_device(args.device)
    commands = plan(device, editable=not args.no_editable)
    print(f"install_requirements: {device} build of TensorFlow ({reason})", flush=True)
    for command in commands:
        print("+ " + shlex.join(command), flush=True)
        if args.dry_run:
            continue
        if subprocess.run(command, check=False).returncode != 0:
            print(f"error: this command failed: {shlex.join(command)}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
