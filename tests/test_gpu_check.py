"""The GPU check (benchmarks/gpu_check.py, docs/backends.md §7) on the CPU, so it cannot
rot while no GPU is around: a 32-px run under TensorFlow and one under JAX in an
environment holding only the GPU machines' packages and the carried wheels
(`tests/support/device_image.py`), each JSON field checked; the time boxes, the error
classes and the paper's schedule; the wheels `tools/gpu_wheels.sh` carries.
"""

import importlib.metadata
import importlib.util
import json
import math
import os
import subprocess
import sys

import pytest

from tests.support import device_image
from tests.support.backends import installed

REPO = device_image.REPO
SCRIPT = os.path.join(REPO, "benchmarks", "gpu_check.py")
PAPER_IMAGES = 362_040  # 12 epochs × ceil((15,000 + 10,000 + 5,168) / 10) = 3,017 steps × 10
PARTS_PER_PRECISION = {"inference": ("backbone", "asnet"), "training": ("asnet",)}


@pytest.fixture(scope="module")
def gpu_check():
    """benchmarks/gpu_check.py as a module (it puts benchmarks/ on sys.path itself)."""
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_check(python, backend, args, tmp_path):
    """`python gpu_check.py ARGS` under `backend`; (exit status, report, stdout)."""
    env = dict(os.environ, KERAS_BACKEND=backend, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3")
    out = tmp_path / "gpu_check.json"
    result = subprocess.run([python, SCRIPT, *args, "--out", str(out)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode in (0, 1), result.stderr[-4000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert json.loads(out.read_text()) == report  # --out holds the same report
    return result.returncode, report, result.stdout


def expected_rows(precisions, batches, train_batches):
    return {(part, model, precision, batch)
            for precision in precisions
            for part, models in PARTS_PER_PRECISION.items() for model in models
            for batch in (batches if part == "inference" else train_batches)}


def check_report(report, stdout, backend, precisions, batches, train_batches):
    """Every field of a 32-px report that measured every row, each value plausible."""
    assert report["benchmark"] == "gpu_check" and report["backend"] == backend
    assert report["input_px"] == 32 and report["precisions"] == precisions
    assert report["paper"] == {"s_per_image": 0.08, "input_px": 224, "training_hours": 10,
                               "gpu": "TITAN X", "source": "docs/model.md §3"}
    schedule = report["paper_schedule"]
    assert schedule["training_images"] == 30_168 and schedule["images"] == PAPER_IMAGES
    assert (schedule["epochs"], schedule["batch"], schedule["steps_per_epoch"]) == (12, 10, 3017)
    assert report["versions"]["keras"] == importlib.metadata.version("keras")
    device = report["device"]
    assert device["backend"] == backend
    assert len(device["runs_on"]) == 1 and device["runs_on"][0].startswith("CPU (")
    assert device["memory_method"].startswith("host: peak RSS")  # no accelerator here
    assert isinstance(report["nvidia_smi"], list) and report["machine"]["cores"] >= 1
    assert 0 < report["wall_s"] < 900 and report["budgets_s"]
    assert report["skipped"] == []  # budgets far beyond what each part needs
    rows = report["inference"] + report["training"]
    got = [(r["part"], r["model"], r["precision"], r["batch"]) for r in rows]
    assert sorted(got) == sorted(expected_rows(precisions, batches, train_batches))
    for row in rows:
        batch = row["batch"]
        fastest, median = (("min_s_per_step", "s_per_step") if row["part"] == "training"
                           else ("min_s_per_image", "s_per_image"))
        assert 0 < row[fastest] <= row[median] < 60, row
        # images/s and s/image are one figure: their product is 1 up to rounding.
        assert row["images_per_s"] * row["s_per_image"] == pytest.approx(1, rel=0.02), row
        assert 1 <= row["rounds"] <= 2 and row["build_s"] >= 0, row
        assert 0 <= row["compile_s"] <= row["first_call_s"] < 600, row
        assert 100 < row["peak_memory_mib"] < 64 * 1024, row  # a process with Keras loaded
        if row["part"] == "training":
            assert row["s_per_step"] == pytest.approx(row["s_per_image"] * batch, rel=0.02)
            assert row["images_per_s"] == pytest.approx(batch / row["s_per_step"], rel=0.02)
            hours = PAPER_IMAGES / row["images_per_s"] / 3600
            assert row["paper_schedule_hours"] == pytest.approx(hours, rel=0.01), row
    table = stdout.split("\n{", 1)[0]
    assert table.startswith("| part | precision | batch | s/image |")
    assert len(table.splitlines()) == 2 + len(rows)


@pytest.mark.slow  # three processes that each load TensorFlow and build a model
def test_check_runs_under_tensorflow_on_the_cpu(tmp_path):
    """The mixed_bfloat16 half of the check at 32 px under TensorFlow (its float32 half
    runs under JAX below): every field present and plausible."""
    args = ["--size", "32", "--precisions", "mixed_bfloat16", "--batches", "1,2",
            "--train-batches", "2", "--rounds", "2", "--total-s", "1200", "--budget-s", "400"]
    status, report, stdout = run_check(sys.executable, "tensorflow", args, tmp_path)
    assert status == 0
    check_report(report, stdout, "tensorflow", ["mixed_bfloat16"], [1, 2], [2])
    assert report["device"]["jit_compile"] is False  # asnet_keras.performance's choice


@pytest.mark.slow  # three processes that each load JAX, build a model and XLA-compile it
def test_check_runs_under_jax_with_only_the_gpu_machines_packages(tmp_path):
    """The float32 half under JAX, in an environment holding only the GPU machines' image
    packages and the carried wheels: nothing the check imports is missing there."""
    if not installed("jax"):
        pytest.fail("jax is not installed: run `make setup` (it installs the jax extra)")
    python = device_image.image_venv(tmp_path / "image")
    assert subprocess.run([python, "-c", "import tensorflow"], capture_output=True,
                          check=False).returncode == 1  # as on the GPU machine
    args = ["--size", "32", "--precisions", "float32", "--batches", "2",
            "--train-batches", "2", "--rounds", "2", "--total-s", "1200", "--budget-s", "400"]
    status, report, stdout = run_check(python, "jax", args, tmp_path)
    assert status == 0
    check_report(report, stdout, "jax", ["float32"], [2], [2])
    assert report["device"]["jit_compile"] == "auto"  # jax.jit through Keras
    assert "tensorflow-cpu" not in report["versions"] and "jax" in report["versions"]


def test_a_part_past_its_budget_is_skipped_as_out_of_time(gpu_check):
    """A child still loading its framework when its budget ends is stopped; its batches
    are named as skipped, out of time."""
    args = gpu_check.build_parser().parse_args(["--size", "32"])
    part = {"part": "inference", "model": "asnet", "precision": "float32", "batches": [1, 10]}
    device, rows, skipped = gpu_check.run_part(part, args, "tensorflow", 0.5)
    assert device is None and rows == []
    assert skipped == [{"batch": b, "reason": "out of time: the part's budget of 0.5 s ran out",
                        "part": "inference", "model": "asnet", "precision": "float32"}
                       for b in (1, 10)]


def test_parts_without_time_left_are_skipped_before_starting(gpu_check, capsys, tmp_path,
                                                            monkeypatch):
    """--total-s too short for any part: no child starts, every row is named as skipped,
    and the exit status is 1 (nothing measured). The GPU's name, driver and memory come
    from nvidia-smi (here a script that answers as an H100 would)."""
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho 'NVIDIA H100 80GB HBM3, 580.159.04, 81559 MiB'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert gpu_check.main(["--size", "32", "--total-s", "2"]) == 1
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["nvidia_smi"] == [{"name": "NVIDIA H100 80GB HBM3",
                                     "driver_version": "580.159.04", "memory_total": "81559 MiB"}]
    assert report["device"] is None  # no part started, so no backend was asked
    assert report["inference"] == report["training"] == [] and report["budgets_s"] == {}
    names = [(s["part"], s["model"], s["precision"], s["batch"]) for s in report["skipped"]]
    # 2 precisions × (2 models × 3 batches + 2 training batches) = 16 rows.
    assert sorted(names) == sorted(expected_rows(["float32", "mixed_bfloat16"], [1, 10, 32],
                                                 [10, 32]))
    assert all(s["reason"].startswith("out of time: ") and "--total-s 2" in s["reason"]
               for s in report["skipped"])


@pytest.mark.parametrize("text, reason", [
    ("Traceback …\njaxlib.XlaRuntimeError: RESOURCE_EXHAUSTED: Out of memory while trying "
     "to allocate 9.2GiB", "out of memory: jaxlib.XlaRuntimeError: RESOURCE_EXHAUSTED: Out of "
     "memory while trying to allocate 9.2GiB"),
    ("ResourceExhaustedError: OOM when allocating tensor with shape[32,64,224,224]",
     "out of memory: ResourceExhaustedError: OOM when allocating tensor with shape[32,64,224,224]"),
    ("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB",
     "out of memory: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"),
    ("XlaRuntimeError: UNIMPLEMENTED: no bf16 convolution", "unsupported: XlaRuntimeError: "
     "UNIMPLEMENTED: no bf16 convolution"),
    ("  line 3\nValueError: boom\n\n", "failed: ValueError: boom"),
    ("", "failed: no output"),
])
def test_errors_are_named_by_class(gpu_check, text, reason):
    assert gpu_check.classify(text) == reason


@pytest.mark.parametrize("args", [["--size", "30"], ["--size", "16"], ["--batches", "0"],
                                  ["--batches", "1,x"], ["--precisions", "float16"],
                                  ["--parts", "export"], ["--total-s", "nan"],
                                  ["--budget-s", "-1"], ["--rounds", "0"]])
def test_bad_arguments_are_usage_errors(gpu_check, args, capsys):
    with pytest.raises(SystemExit) as stopped:
        gpu_check.main(args)
    assert stopped.value.code == 2
    assert args[0] in capsys.readouterr().err


def test_paper_schedule_is_twelve_epochs_of_the_three_training_sets(gpu_check):
    schedule = gpu_check.paper_schedule()
    assert schedule["training_images"] == 15_000 + 10_000 + 5_168 == 30_168
    assert schedule["steps_per_epoch"] == math.ceil(30_168 / 10) == 3_017
    assert schedule["images"] == 12 * 3_017 * 10 == PAPER_IMAGES


def test_carried_wheels_are_keras_and_what_the_image_lacks():
    """tools/gpu_wheels.sh's set, from the installed metadata: Keras 3.15's requirements
    less the image's packages are namex and optree (absl-py, numpy, rich, h5py,
    ml-dtypes, packaging are there; optree's typing-extensions too), each at the locked
    version, none of them already on the image."""
    assert device_image.carried() == {"keras", "namex", "optree"}
    pins = device_image.locked_versions()
    for name in device_image.carried():
        assert pins[name] == importlib.metadata.version(name), name
        assert name not in device_image.image_packages()
    assert {"jax", "jaxlib", "numpy", "h5py", "ml-dtypes", "opencv-python-headless",
            "scipy"} <= device_image.image_packages()
    absent = {"tensorflow", "tensorflow-cpu", "keras", "pysodmetrics"}
    assert not absent & device_image.image_packages()


def test_wheel_script_usage():
    script = os.path.join(REPO, "tools", "gpu_wheels.sh")
    shown = subprocess.run(["bash", script, "--help"], capture_output=True, text=True, check=False)
    assert shown.returncode == 0 and "--verify PYTHON" in shown.stdout
    bad = subprocess.run(["bash", script, "--bogus"], capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "--bogus" in bad.stderr
