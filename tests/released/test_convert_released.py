"""`asnet convert-released` on Keras 2-structured files built here with h5py.

The authors' ASNet.h5 cannot be downloaded in tests; `tests/released_table.py` writes
files of both Keras 2 layouts (docs/released_model.md §5.1, §5.2) filled with random arrays.
The converted model is built at 64 px (weights do not depend on the input size).
"""

import hashlib
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from asnet_keras.commands.convert_released import main
from asnet_keras.model import blocks
from asnet_keras.model.released.converter import (
    ConversionError,
    FileLayer,
    _flip_theano_kernels,
    convert_released,
    plan_mapping,
    released_targets,
    weights_path_for,
)
from tests.support.released_table import LAYERS, random_arrays, write_keras2_file

SHAPE = (64, 64, 3)
SHIFTED = {  # auto-names as a training script that built other layers first leaves them
    "batch_normalization_1": "batch_normalization_5",
    "batch_normalization_2": "batch_normalization_6",
    "batch_normalization_3": "batch_normalization_7",
    "batch_normalization_4": "batch_normalization_8",
    "learning_prior_1": "learning_prior",
}


def _has_static():
    try:
        from asnet_keras.layers import StaticConvLSTM2D  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def source():
    return random_arrays(seed=7)


@pytest.fixture(scope="module")
def converted(source, tmp_path_factory):
    """Weights-only file → .keras + .weights.h5, with the log lines."""
    folder = tmp_path_factory.mktemp("convert")
    path = folder / "ASNet.h5"
    write_keras2_file(path, source, layout="weights")
    lines = []
    out = folder / "weights" / "asnet_released.keras"
    model = convert_released(str(path), str(out), input_shape=SHAPE, log=lines.append)
    return model, out, lines, path


def _assert_weights_equal(model, source):
    for name, _, _ in LAYERS:
        got = model.get_layer(name).get_weights()
        assert len(got) == len(source[name]), name
        for have, want in zip(got, source[name], strict=True):
            np.testing.assert_array_equal(have, want, err_msg=name)


def test_weights_only_file_converts_exactly(converted, source):
    model, out, lines, _ = converted
    _assert_weights_equal(model, source)
    assert out.exists() and os.path.exists(weights_path_for(str(out)))
    assert any("35,516,167 parameters" in line for line in lines)
    assert any("Keras 2.1.2 weights file" in line for line in lines)


def test_full_model_file_with_shifted_auto_names_converts(source, tmp_path):
    path = tmp_path / "ASNet_full.h5"
    write_keras2_file(path, source, layout="model", rename=SHIFTED, keras_version="2.0.8")
    lines = []
    model = convert_released(str(path), None, input_shape=(32, 32, 3), log=lines.append)
    _assert_weights_equal(model, source)
    assert any("Keras 2.0.8 model file" in line for line in lines)
    # Auto-named layers are matched by class and order of their numbers, and the log says so.
    for ours, file_name in SHIFTED.items():
        assert any(f"file layer '{file_name}' → '{ours}'" in line for line in lines), ours


# A fresh process, as a user's script: `import asnet_keras.model.released` (which registers
# LearningPrior and hard_sigmoid_keras2), then load the .keras file; and the .weights.h5
# file into a newly built `released` model of the same recurrence.
_RELOAD_SCRIPT = """
import hashlib, json, sys
import keras
import asnet_keras.model.released
from asnet_keras.model.released import build_released_graph

def hashes(model):
    return {l.name: [hashlib.sha1(w.tobytes()).hexdigest() for w in l.get_weights()]
            for l in model.layers if l.weights}

loaded = keras.models.load_model(sys.argv[1])
fresh = build_released_graph((64, 64, 3), None, recurrence="stock",
                             recurrent_initializer="zeros")
fresh.load_weights(sys.argv[2])
print(json.dumps({"outputs": list(loaded.output_names), "keras": hashes(loaded),
                  "weights": hashes(fresh)}))
"""


@pytest.mark.slow
def test_saved_files_reload_with_the_same_weights(converted, source):
    model, out, _, _ = converted
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    run = subprocess.run(
        [sys.executable, "-c", _RELOAD_SCRIPT, str(out), weights_path_for(str(out))],
        capture_output=True,
        text=True,
        env=env,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["outputs"] == list(model.output_names)
    for name, _, _ in LAYERS:
        want = [hashlib.sha1(a.tobytes()).hexdigest() for a in source[name]]
        assert report["keras"][name] == want, name
        assert report["weights"][name] == want, name


def test_wrong_shape_is_refused_naming_it(tmp_path, capsys):
    bad = {"sal_conv3": [np.zeros((1, 1, 64, 2), np.float32), np.zeros((1,), np.float32)]}
    path = tmp_path / "bad.h5"
    write_keras2_file(path, None, override=bad)
    out = tmp_path / "never.keras"
    assert main(["--weights", str(path), "--out", str(out)]) == 2
    message = capsys.readouterr().err
    assert "mis-shaped" in message and "sal_conv3" in message
    assert "(1, 1, 64, 2)" in message and "(1, 1, 64, 1)" in message
    assert "'sal_conv3/kernel:0'" in message
    assert not out.exists()


def test_missing_and_extra_layers_are_refused_naming_them(tmp_path):
    path = tmp_path / "missing.h5"
    write_keras2_file(path, None, drop=("conv3_lstm",), rename={"sal_conv2": "sal_conv2_x"})
    with pytest.raises(ConversionError) as error:
        convert_released(str(path), None, input_shape=(32, 32, 3), log=None)
    message = str(error.value)
    assert "missing (in the model, not in the file)" in message
    assert "- conv3_lstm" in message and "- sal_conv2" in message
    assert "extra (in the file, not in the model)" in message and "- sal_conv2_x" in message


def _file_layers(names_and_targets):
    """FileLayer stand-ins with zero-size-in-memory arrays of the targets' shapes."""
    return [
        FileLayer(
            name,
            position,
            [f"{name}/w{i}:0" for i in range(len(t.shapes))],
            [np.broadcast_to(np.float32(0), s) for s in t.shapes],
        )
        for position, (name, t) in enumerate(names_and_targets)
    ]


def test_missing_auto_named_layer_and_ambiguous_numbers(converted):
    targets = released_targets(converted[0])
    layers = _file_layers([(t.name, t) for t in targets if t.name != "batch_normalization_4"])
    with pytest.raises(ConversionError, match=r"batch_normalization_4 \(auto-named"):
        plan_mapping(layers, targets)
    # Numbers in an order other than the file's: which BN is which cannot be decided.
    swapped = _file_layers([(t.name, t) for t in targets])
    for layer in swapped:
        if layer.name == "batch_normalization_1":
            layer.name = "batch_normalization_9"
    with pytest.raises(ConversionError, match="ambiguous"):
        plan_mapping(swapped, targets)


def test_renamed_file_needs_by_order_and_then_loads_positionally(converted):
    targets = released_targets(converted[0])
    layers = _file_layers([(f"layer_{i}", t) for i, t in enumerate(targets)])
    with pytest.raises(ConversionError, match="--by-order"):
        plan_mapping(layers, targets)
    pairs, notes = plan_mapping(layers, targets, by_order=True)
    assert [t.name for t, _ in pairs] == [t.name for t in targets]
    assert [f.name for _, f in pairs] == [f"layer_{i}" for i in range(len(targets))]
    assert "by order: file layer 'layer_0' → 'block1_conv1'" in notes


def test_theano_kernels_are_rotated_like_keras2():
    class Target:
        kind = "convlstm"

    kernel = np.arange(3 * 3 * 2 * 4, dtype=np.float32).reshape(3, 3, 2, 4)
    flipped = _flip_theano_kernels(Target, [kernel, kernel + 1, np.ones(4, np.float32)])
    np.testing.assert_array_equal(flipped[0][0, 0], kernel[2, 2])
    np.testing.assert_array_equal(flipped[1][1, 2], kernel[1, 0] + 1)
    np.testing.assert_array_equal(flipped[2], np.ones(4))


def test_help_explains_the_command(capsys):
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    assert "ASNet.h5" in text and "--out" in text and "--by-order" in text


# ----------------------------------------------------------------------------------
# The converted ConvLSTM against Eqs. 2–6 with Keras 2's hard sigmoid.


def _xcorr_same(x, kernel):
    """3×3 "same" cross-correlation: x (H, W, C), kernel (3, 3, C, O) → (H, W, O)."""
    height, width = x.shape[:2]
    padded = np.pad(x, ((1, 1), (1, 1), (0, 0)))
    return sum(
        padded[a : a + height, b : b + width] @ kernel[a, b] for a in range(3) for b in range(3)
    )


def numpy_convlstm(x, kernel, recurrent_kernel, bias, steps):
    """Eqs. 2–6 with σ = clip(0.2x + 0.5, 0, 1), the same input x at every step.

    Returns the last hidden state and all gate pre-activations (for coverage checks).
    """
    hard_sigmoid = lambda z: np.clip(0.2 * z + 0.5, 0.0, 1.0)  # noqa: E731
    filters = recurrent_kernel.shape[2]
    h = np.zeros(x.shape[:2] + (filters,))
    c = np.zeros_like(h)
    gates = []
    for _ in range(steps):
        z = _xcorr_same(x, kernel) + bias + _xcorr_same(h, recurrent_kernel)
        z_i, z_f, z_c, z_o = np.split(z, 4, axis=-1)  # gate order i, f, c, o (§1.2)
        i, f, o = hard_sigmoid(z_i), hard_sigmoid(z_f), hard_sigmoid(z_o)  # Eqs. 2–4
        c = f * c + i * np.tanh(z_c)  # Eq. 5
        h = o * np.tanh(c)  # Eq. 6
        gates.append(np.concatenate([z_i, z_f, z_o], axis=-1))
    return h, np.stack(gates)


@pytest.mark.parametrize("steps", [1, 3])
def test_converted_convlstm_step_equals_numpy_equations(converted, source, steps):
    layer = converted[0].get_layer("conv1_lstm")
    kernel, recurrent_kernel, bias = (a.astype(np.float64) for a in source["conv1_lstm"])
    x = np.random.default_rng(steps).uniform(-3, 3, SHAPE[:2] + (33,))
    sequence = np.repeat(x[None, None], steps, axis=1).astype(np.float32)
    got = keras.ops.convert_to_numpy(layer(sequence))[0]
    want, gates = numpy_convlstm(x, kernel, recurrent_kernel, bias, steps)
    # Both the linear part and the clipped parts of the hard sigmoid are exercised.
    assert 0.05 < np.mean(np.abs(gates) > 2.5) < 0.95
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-5)


def test_model_stage_runs_the_convlstm_three_steps(converted, source):
    model = converted[0]
    sub = keras.Model(
        model.input, [model.get_layer("concatenate_6").output, model.get_layer("conv1_lstm").output]
    )
    image = np.random.default_rng(3).uniform(0, 255, (1,) + SHAPE).astype(np.float32)
    merged, hidden = (keras.ops.convert_to_numpy(t) for t in sub(image, training=False))
    kernel, recurrent_kernel, bias = (a.astype(np.float64) for a in source["conv1_lstm"])
    want, _ = numpy_convlstm(merged[0].astype(np.float64), kernel, recurrent_kernel, bias, 3)
    np.testing.assert_allclose(hidden[0], want, rtol=0, atol=2e-5)


@pytest.mark.skipif(not _has_static(), reason="asnet_keras.layers.StaticConvLSTM2D not there yet")
def test_static_recurrence_gives_the_same_maps(converted, source):
    stock, _, _, path = converted
    static = convert_released(str(path), None, recurrence="static", input_shape=SHAPE, log=None)
    _assert_weights_equal(static, source)
    assert type(static.get_layer("conv1_lstm")).__name__ == "StaticConvLSTM2D"
    assert static.get_layer("conv1_lstm").recurrent_activation is blocks.hard_sigmoid_keras2
    image = np.random.default_rng(4).uniform(0, 255, (1,) + SHAPE).astype(np.float32)
    for a, b in zip(stock(image, training=False), static(image, training=False), strict=True):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b),
                                   rtol=0, atol=1e-5)
