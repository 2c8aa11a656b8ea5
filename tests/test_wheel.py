"""The wheel works outside the checkout (docs/packaging.md §5): built from the sdist as
`make dist` builds it, installed with only the core and the `cpu` extra into a fresh
virtual environment in a temporary folder (not editable; pip's own indexes and cache, the
versions of requirements/lock-cpu.txt), where a console script answers `--help`, predicts
64-px maps with a model saved there, and `import asnet_keras` works with none of the other
extras installed.

Slow: installing TensorFlow's CPU build into a new environment takes about a minute with
a warm pip cache, several without (docs/packaging.md §5 has the figures)."""

import email.parser
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import textwrap
import zipfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# What `python -m build` reads: the project files and the two packages.
BUILD_INPUTS = ("pyproject.toml", "README.md", "LICENSE", "asnet_keras", "data_prep")
# The console script that predicts, as a command line prefix.
PREDICT_COMMAND = ["asnet", "predict"]
# Import names of what the extras other than `cpu` install: none is in the core install.
NOT_IN_THE_CORE = ("jax", "fastapi", "uvicorn", "python_multipart", "onnx", "tf2onnx",
                   "onnxruntime", "openvino", "ai_edge_litert", "nbclient", "libarchive",
                   "torch", "pytest")


def project_version():
    with open(os.path.join(REPO, "pyproject.toml"), encoding="utf-8") as file:
        return re.search(r'^version = "([^"]+)"$', file.read(), re.MULTILINE).group(1)


def run(command, cwd, env, timeout=900):
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, (
        f"{' '.join(map(str, command))} failed ({result.returncode}):\n"
        f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def source_copy(folder):
    """The build inputs copied into `folder`, without build leftovers (setuptools would
    take an old `*.egg-info/SOURCES.txt` into the sdist): the files git knows or would
    add, or, outside a git checkout, BUILD_INPUTS without caches."""
    if os.path.exists(os.path.join(REPO, ".git")):  # a folder, or a file in a worktree
        listing = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard",
                       "--", *BUILD_INPUTS], cwd=REPO, env=os.environ).stdout
        for name in filter(None, listing.split("\0")):
            if os.path.isfile(os.path.join(REPO, name)):
                os.makedirs(os.path.join(folder, os.path.dirname(name)), exist_ok=True)
                shutil.copy2(os.path.join(REPO, name), os.path.join(folder, name))
        return folder
    for name in BUILD_INPUTS:
        source = os.path.join(REPO, name)
        if os.path.isdir(source):
            shutil.copytree(source, os.path.join(folder, name), ignore=shutil.ignore_patterns(
                "__pycache__", "*.pyc", "*.egg-info"))
        else:
            shutil.copy2(source, os.path.join(folder, name))
    return folder


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(source copy, sdist path, wheel path): `python -m build` of this checkout, as
    `make dist` runs it."""
    pytest.importorskip("build", reason="build is not installed (the dev extra: make setup)")
    source = source_copy(tmp_path_factory.mktemp("source"))
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--outdir", str(out), str(source)], cwd=source,
        env=os.environ)
    (sdist,) = out.glob("asnet_keras-*.tar.gz")
    (wheel,) = out.glob("asnet_keras-*-py3-none-any.whl")
    return source, sdist, wheel


@pytest.fixture(scope="module")
def core_venv(built, tmp_path_factory):
    """(folder, environment) of a fresh virtual environment holding the wheel[cpu]."""
    folder = tmp_path_factory.mktemp("core-install")
    venv = folder / "venv"
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "KERAS_BACKEND")}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}")
    run([sys.executable, "-m", "venv", str(venv)], cwd=folder, env=env)
    # --no-compile: Python compiles what it imports when it imports it (halves the time).
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-compile",
         "-c", os.path.join(REPO, "requirements", "lock-cpu.txt"), f"{built[2]}[cpu]"],
        cwd=folder, env=env)
    return folder, env


@pytest.mark.slow
def test_the_wheel_and_sdist_hold_the_package_data_and_the_license(built):
    source, sdist, wheel = built
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        version = project_version()
        info = f"asnet_keras-{version}.dist-info"
        metadata = email.parser.Parser().parsestr(archive.read(f"{info}/METADATA").decode())
        license_text = archive.read(f"{info}/licenses/LICENSE").decode()
    # Every file of the package folders that is not Python source is package data: the
    # service's page, the paper's numbers, ... all must be in the wheel.
    for package in ("asnet_keras", "data_prep"):
        for folder, dirs, files in os.walk(os.path.join(source, package)):
            for file in files:
                path = os.path.relpath(os.path.join(folder, file), source).replace(os.sep, "/")
                if package == "data_prep" and not file.endswith(".py"):
                    continue  # data_prep/README.md is documentation, not data
                assert path in names, f"{path} is not in the wheel"
    for data in ("asnet_keras/serving/static/index.html", "asnet_keras/serving/static/app.js",
                 "asnet_keras/serving/static/style.css", "asnet_keras/paper_results.json"):
        assert data in names
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "tools/"))]
    assert metadata["Version"] == version and metadata["License-Expression"] == "MIT"
    assert license_text.startswith("MIT License\n\nCopyright (c) 2026 the asnet-keras authors")
    core = sorted(re.split(r"[=<>!~ \[;]", r)[0] for r in metadata.get_all("Requires-Dist")
                  if "extra ==" not in r)
    assert core == ["h5py", "keras", "matplotlib", "numpy", "opencv-python-headless",
                    "pysodmetrics", "scipy", "tqdm"]
    with tarfile.open(sdist) as archive:
        top = f"asnet_keras-{version}"
        sdist_names = set(archive.getnames())
    assert {f"{top}/LICENSE", f"{top}/pyproject.toml",
            f"{top}/asnet_keras/serving/static/index.html"} <= sdist_names


@pytest.mark.slow
def test_the_core_install_predicts_outside_the_checkout(core_venv):
    folder, env = core_venv
    python = str(folder / "venv" / "bin" / "python")
    result = run(PREDICT_COMMAND + ["--help"], cwd=folder, env=env)
    assert "--weights" in result.stdout and "Exit status" in result.stdout

    # A random-weights 64-px ASNet built and saved by the installed package, and a 40×56
    # image with structure (a bright disc on a ramp), predicted by the console script.
    result = run([python, "-c", textwrap.dedent(f"""
        import importlib.util, json, os, sys
        import cv2, numpy as np
        import asnet_keras, data_prep
        absent = [m for m in {NOT_IN_THE_CORE!r} if importlib.util.find_spec(m) is not None]
        model = asnet_keras.build_asnet((64, 64, 3), backbone_weights=None)
        model.save("tiny.keras")
        image = np.tile(np.linspace(0, 160, 56, dtype=np.uint8)[None, :, None], (40, 1, 3))
        cv2.circle(image, (30, 18), 9, (250, 240, 230), -1)
        cv2.imwrite("image.png", image)
        print(json.dumps({{"file": asnet_keras.__file__, "version": asnet_keras.__version__,
                          "data_prep": data_prep.__version__, "absent": absent,
                          "loaded": sorted(m for m in {NOT_IN_THE_CORE!r} if m in sys.modules)}}))
    """)], cwd=folder, env=env)
    facts = json.loads(result.stdout.strip().splitlines()[-1])
    assert facts["absent"] == [] and facts["loaded"] == []
    assert facts["file"].startswith(str(folder / "venv")) and "site-packages" in facts["file"]
    assert facts["version"] == facts["data_prep"] == project_version()

    run(PREDICT_COMMAND + ["image.png", "--weights", "tiny.keras", "--out", "maps", "--quiet"],
        cwd=folder, env=env)
    import cv2

    for kind in ("saliency", "fixation"):
        maps = cv2.imread(str(folder / "maps" / kind / "image.png"), cv2.IMREAD_UNCHANGED)
        assert maps is not None and maps.shape == (40, 56), (kind, None if maps is None else maps.shape)
        assert int(maps.max()) - int(maps.min()) > 0, f"{kind} map is constant"
