"""The check every export passes before it is trusted (docs/deployment.md §2).

The written file is loaded again, run on the fixed input `check_images`, and every output
is compared by name with the trained Keras model: the largest absolute difference must be
at most `CHECK_TOLERANCE` (`asnet_keras.export.contract`). The portable `.keras`/`.h5` is
reloaded in this process (`compare_outputs`); an artefact is run by its own runtime in a
fresh Python process (`check_artifact`, whose child is `python -m
asnet_keras.export.runtimes`), so that nothing this process has imported or registered
helps it load.
"""

import os
import subprocess
import sys
import tempfile

import keras
import numpy as np

from asnet_keras.export.contract import CHECK_TOLERANCE, check_images

# The folder holding the `asnet_keras` package: the child process must import this copy.
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def model_outputs(model, images):
    """{output name: float array} of a Keras model (or a runtime's stand-in) on `images`."""
    outputs = model(images, training=False)
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    # convert_to_numpy: under torch the outputs are tensors that require grad.
    return {name: keras.ops.convert_to_numpy(value)
            for name, value in zip(model.output_names, outputs)}


def compare_outputs(expected, got, what):
    """Largest absolute difference per output between two {name: array} dicts.

    Args:
        expected: the Keras model's outputs (`model_outputs`).
        got: the outputs of what was written, by name.
        what: names the written file in the error ("asnet.onnx: the onnx artefact").
    Returns:
        dict output name → largest absolute difference (float).
    Raises:
        RuntimeError: an output is missing or of another shape, or a difference exceeds
            `CHECK_TOLERANCE`; the message says which.
    """
    differences, problems = {}, []
    for name, want in expected.items():
        if name not in got:
            problems.append(f"output {name!r} is missing (got {sorted(got)})")
            continue
        value = np.asarray(got[name])
        if value.shape != want.shape:
            problems.append(f"output {name!r} has shape {value.shape}, Keras {want.shape}")
            continue
        differences[name] = float(np.max(np.abs(value.astype("float64") - want)))
    worst = max(differences.values(), default=0.0)
    if problems or worst > CHECK_TOLERANCE:
        detail = "; ".join(problems) or f"largest difference {worst:.3g} > {CHECK_TOLERANCE}"
        raise RuntimeError(
            f"{what} does not reproduce the Keras model ({detail}); it is not "
            "trustworthy. Please report this."
        )
    return differences


def check_artifact(fmt, path, model, *, input_size, timeout=600):
    """Run the artefact in its own runtime in a fresh process and compare with `model`.

    The child is `python -m asnet_keras.export.runtimes PATH --format FMT --inputs
    IN.npy --out OUT.npz` on `check_images(input_size)`.

    Returns:
        dict output name → largest absolute difference from the Keras model.
    Raises:
        RuntimeError: the child failed, or `compare_outputs` refused the outputs.
    """
    images = check_images(input_size)
    expected = model_outputs(model, images)
    with tempfile.TemporaryDirectory(prefix="asnet_check_") as folder:
        inputs, outputs = os.path.join(folder, "in.npy"), os.path.join(folder, "out.npz")
        np.save(inputs, images)
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"))
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
        command = [sys.executable, "-m", "asnet_keras.export.runtimes", os.fspath(path),
                   "--format", fmt, "--inputs", inputs, "--out", outputs]
        result = subprocess.run(command, capture_output=True, text=True, env=env,
                                timeout=timeout, check=False)
        if result.returncode != 0 or not os.path.isfile(outputs):
            raise RuntimeError(
                f"{path}: loading it with its runtime in a fresh process failed "
                f"(exit {result.returncode}):\n{result.stderr.strip()[-3000:]}"
            )
        with np.load(outputs) as saved:
            got = {name: saved[name] for name in saved.files}
    return compare_outputs(expected, got, f"{path}: the {fmt} artefact")
