"""`make setup` installs the locked development environment with TensorFlow's GPU build
when told DEVICE=gpu (or when nvidia-smi answers), its CPU build otherwise
(docs/backends.md §1); the lock files hold exactly what pyproject.toml's ranges allow
(docs/packaging.md §1-§2). The tests run the command the Makefile would run, with
`--dry-run`: nothing is installed."""

import os
import re
import shlex
import shutil
import stat
import subprocess
import sys

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(REPO, "tools", "install_requirements.py")
TENSORFLOW = "2.21.*"


def project():
    with open(os.path.join(REPO, "pyproject.toml"), "rb") as file:
        return tomllib.load(file)["project"]


def lock_pins(device):
    """{canonical name: version} of requirements/lock-<device>.txt."""
    pins = {}
    with open(os.path.join(REPO, "requirements", f"lock-{device}.txt"), encoding="utf-8") as file:
        for line in file:
            line = line.split("#", 1)[0].strip()
            if line:
                name, version = line.split("==")
                pins[canonicalize_name(name)] = version
    return pins


def requirements_of(extras):
    """The Requirements `pip install asnet-keras[extras]` asks for: the core and the
    extras, the project's own extras (dev names serve, deploy, ...) expanded."""
    meta = project()
    found, todo, done = [Requirement(r) for r in meta["dependencies"]], list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in done:
            continue
        done.add(extra)
        for line in meta["optional-dependencies"][extra]:
            requirement = Requirement(line)
            if canonicalize_name(requirement.name) == canonicalize_name(meta["name"]):
                todo.extend(requirement.extras)
            else:
                found.append(requirement)
    return found


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
    """The lock file of the `pip install --no-deps -r` command."""
    (install,) = [c for c in commands if c[3:4] == ["install"] and "-r" in c]
    assert "--no-deps" in install  # the lock is complete: nothing unlisted comes in
    return [os.path.relpath(install[i + 1], REPO) for i, arg in enumerate(install) if arg == "-r"]


@pytest.mark.parametrize("device", ["gpu", "cpu"])
def test_make_setup_with_device_installs_that_build(device):
    command = makefile_install_command(device)
    assert f"--device {device}" in command
    chosen, commands = dry_run(command)
    assert chosen == device
    assert installs(commands) == [os.path.join("requirements", f"lock-{device}.txt")]
    assert all(c[:3] == [sys.executable, "-m", "pip"] for c in commands)
    assert commands[-1][-3:] == ["--no-deps", "-e", REPO]  # the package itself, editable
    pins = lock_pins(device)
    build, other = {"gpu": ("tensorflow", "tensorflow-cpu"),
                    "cpu": ("tensorflow-cpu", "tensorflow")}[device]
    assert pins[build].startswith("2.21.") and other not in pins
    assert any(name.startswith("nvidia-cudnn") for name in pins) == (device == "gpu")
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
    assert device == "gpu" and installs(commands) == [os.path.join("requirements", "lock-gpu.txt")]
    failing = _fake_nvidia_smi(tmp_path / "broken", "NVIDIA-SMI has failed\\n", 9)
    device, commands = dry_run(command, path=failing)
    assert device == "cpu" and installs(commands) == [os.path.join("requirements", "lock-cpu.txt")]
    empty = tmp_path / "empty"
    empty.mkdir()
    device, _ = dry_run(f"{shlex.quote(sys.executable)} {SCRIPT} --device auto", path=str(empty))
    assert device == "cpu"  # no nvidia-smi at all


def test_the_core_install_is_small_and_each_extra_is_named_for_what_it_enables():
    meta = project()
    core = {canonicalize_name(Requirement(r).name) for r in meta["dependencies"]}
    assert core == {"keras", "numpy", "opencv-python-headless", "scipy", "h5py", "matplotlib",
                    "pysodmetrics", "tqdm"}
    extras = meta["optional-dependencies"]
    assert extras["cpu"] == [f"tensorflow-cpu=={TENSORFLOW}"]
    assert extras["gpu"] == [f"tensorflow[and-cuda]=={TENSORFLOW}"]
    names = {extra: {canonicalize_name(Requirement(r).name) for r in extras[extra]}
             for extra in extras}
    assert names["serve"] == {"fastapi", "uvicorn", "python-multipart"}
    assert names["jax"] == {"jax"} and names["data"] == {"libarchive-c"}
    assert names["notebooks"] == {"nbclient", "nbformat", "ipykernel"}
    assert {"onnx", "tf2onnx", "onnxruntime", "openvino", "ai-edge-litert",
            "nncf"} == names["deploy"]
    # dev: every extra but the TensorFlow builds and torch, and what make test runs.
    (itself,) = [Requirement(r) for r in extras["dev"] if Requirement(r).name == meta["name"]]
    assert itself.extras == {"serve", "deploy", "jax", "data", "notebooks"}
    assert {"pytest", "pytest-xdist", "httpx2", "selenium", "tf-keras", "import-linter",
            "build", "pip-tools"} <= names["dev"]
    tf_keras = [r for r in extras["dev"] if canonicalize_name(Requirement(r).name) == "tf-keras"]
    assert tf_keras == [f"tf_keras=={TENSORFLOW}"]  # Keras 2 of our TensorFlow version
    # The extras the error messages name are exactly these (asnet_keras/extras.py).
    from asnet_keras.extras import FEATURES

    assert set(FEATURES) == set(extras)


@pytest.mark.parametrize("device", ["cpu", "gpu"])
def test_the_lock_pins_every_requirement_within_its_range(device):
    """A stale lock (pyproject.toml changed, `make lock` not run) fails here."""
    pins = lock_pins(device)
    for requirement in requirements_of(["dev", device]):
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in requirements/lock-{device}.txt: run make lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"lock-{device}.txt pins {name}=={pins[name]}, outside {requirement}: run make lock")


def test_both_locks_pin_the_same_versions_but_tensorflow_and_cuda():
    cpu, gpu = lock_pins("cpu"), lock_pins("gpu")
    assert set(cpu) - set(gpu) == {"tensorflow-cpu"}
    assert {n for n in set(gpu) - set(cpu) if not n.startswith("nvidia-")} == {"tensorflow"}
    assert cpu["tensorflow-cpu"] == gpu["tensorflow"]
    assert {n: v for n, v in cpu.items() if n in gpu} == {n: gpu[n] for n in cpu if n in gpu}
    # pyproject.toml defines the dependencies; no hand-written requirements file is left.
    assert not [f for f in os.listdir(REPO) if f.startswith("requirements") and f.endswith(".txt")]
    for device in ("cpu", "gpu"):
        with open(os.path.join(REPO, "requirements", f"lock-{device}.txt"), encoding="utf-8") as f:
            assert "#    make lock\n" in f.read()  # written by pip-compile through make lock


def test_help_and_bad_device():
    result = subprocess.run([sys.executable, SCRIPT, "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "tensorflow[and-cuda]" in result.stdout
    result = subprocess.run([sys.executable, SCRIPT, "--device", "tpu"], capture_output=True,
                            text=True)
    assert result.returncode == 2 and "invalid choice" in result.stderr
