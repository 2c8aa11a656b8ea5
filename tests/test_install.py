"""`make setup` installs TensorFlow's GPU build when told DEVICE=gpu (or when nvidia-smi
answers), its CPU build otherwise, and pyproject.toml's extras say the same
(docs/backends.md §1). The tests run the command the Makefile would run, with
`--dry-run`: nothing is installed."""

import os
import re
import shlex
import shutil
import stat
import subprocess
import sys

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(REPO, "tools", "install_requirements.py")


def requirement_lines(name):
    with open(os.path.join(REPO, name), encoding="utf-8") as file:
        lines = [line.split("#", 1)[0].strip() for line in file]
    return [line for line in lines if line]


def makefile_install_command(device):
    """The install line `make setup DEVICE=device` would run, with this interpreter."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "-B", "setup", f"DEVICE={device}",
         f"PY={sys.executable}"],
        cwd=REPO, capture_output=True, text=True, check=True,
    )
    lines = [line for line in result.stdout.splitlines() if "install_requirements.py" in line]
    assert len(lines) == 1, result.stdout
    return lines[0]


def dry_run(command, path=None):
    """Run an install command line with --dry-run appended; (device chosen, pip commands)."""
    env = dict(os.environ)
    if path is not None:
        env["PATH"] = path
    result = subprocess.run(shlex.split(command) + ["--dry-run"], cwd=REPO, env=env,
                            capture_output=True, text=True, check=True)
    lines = result.stdout.splitlines()
    device = re.match(r"install_requirements: (\w+) build", lines[0]).group(1)
    return device, [shlex.split(line[2:]) for line in lines[1:] if line.startswith("+ ")]


def installs(commands):
    """The requirement files of the `pip install -r` command."""
    (install,) = [c for c in commands if c[3:4] == ["install"] and "-r" in c]
    return [os.path.basename(install[i + 1]) for i, arg in enumerate(install) if arg == "-r"]


@pytest.mark.parametrize("device", ["gpu", "cpu"])
def test_make_setup_with_device_installs_that_build(device):
    command = makefile_install_command(device)
    assert f"--device {device}" in command
    chosen, commands = dry_run(command)
    assert chosen == device
    assert installs(commands) == ["requirements.txt", f"requirements-{device}.txt"]
    assert all(c[:3] == [sys.executable, "-m", "pip"] for c in commands)
    assert commands[-1][-3:] == ["--no-deps", "-e", REPO]  # the package itself, editable
    build = requirement_lines(f"requirements-{device}.txt")
    assert build == (["tensorflow[and-cuda]==2.21.*"] if device == "gpu"
                     else ["tensorflow-cpu==2.21.*"])
    other = {"gpu": "tensorflow-cpu", "cpu": "tensorflow"}[device]
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        distribution(other)
        switching = True
    except PackageNotFoundError:
        switching = False
    uninstalls = [c for c in commands if c[3:4] == ["uninstall"]]
    assert uninstalls == ([[sys.executable, "-m", "pip", "uninstall", "--yes", "--quiet", other]]
                          if switching else [])


def _fake_nvidia_smi(folder, output, status):
    folder.mkdir()
    path = folder / "nvidia-smi"
    path.write_text(f"#!/bin/sh\nprintf '{output}'\nexit {status}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return f"{folder}{os.pathsep}{os.environ.get('PATH', '')}"


def test_auto_picks_the_gpu_build_when_nvidia_smi_lists_a_gpu(tmp_path):
    command = makefile_install_command("auto")
    answering = _fake_nvidia_smi(tmp_path / "gpu", "GPU 0: NVIDIA H200 (UUID: GPU-1)\\n", 0)
    device, commands = dry_run(command, path=answering)
    assert device == "gpu" and installs(commands)[-1] == "requirements-gpu.txt"
    failing = _fake_nvidia_smi(tmp_path / "broken", "NVIDIA-SMI has failed\\n", 9)
    device, commands = dry_run(command, path=failing)
    assert device == "cpu" and installs(commands)[-1] == "requirements-cpu.txt"
    empty = tmp_path / "empty"
    empty.mkdir()
    device, _ = dry_run(f"{shlex.quote(sys.executable)} {SCRIPT} --device auto", path=str(empty))
    assert device == "cpu"  # no nvidia-smi at all


def test_pyproject_extras_equal_the_requirement_files():
    with open(os.path.join(REPO, "pyproject.toml"), "rb") as file:
        project = tomllib.load(file)["project"]
    extras = project["optional-dependencies"]
    assert extras["cpu"] == requirement_lines("requirements-cpu.txt")
    assert extras["gpu"] == requirement_lines("requirements-gpu.txt")
    # The same TensorFlow version in both builds.
    versions = {re.search(r"==(.*)$", extras[d][0]).group(1) for d in ("cpu", "gpu")}
    assert len(versions) == 1, versions
    # No TensorFlow in the base install: the extras choose it.
    assert not any(dep.startswith("tensorflow") for dep in project["dependencies"])
    runtime = requirement_lines("requirements.txt")
    rest = runtime[runtime.index("pytest>=8"):]  # tests, notebooks, deployment runtimes
    runtime = runtime[: runtime.index("pytest>=8")]
    assert project["dependencies"] == runtime
    # The `test` and `deploy` extras are what make setup installs beyond the runtime.
    assert set(extras["test"]) | set(extras["deploy"]) <= set(rest)


def test_help_and_bad_device():
    result = subprocess.run([sys.executable, SCRIPT, "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "tensorflow[and-cuda]" in result.stdout
    result = subprocess.run([sys.executable, SCRIPT, "--device", "tpu"], capture_output=True,
                            text=True)
    assert result.returncode == 2 and "invalid choice" in result.stderr
