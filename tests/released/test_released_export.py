"""The released network exported as a plain Keras 3 file (docs/deployment.md §5): its prior
as constant maps and its Keras 2 gates as Keras 3's `hard_sigmoid` on scaled weights, so
that `keras.models.load_model` loads it in a process that cannot import asnet_keras and
gives the released model's outputs (≤ 1e-5)."""

import zipfile

import keras
import numpy as np
import pytest

from asnet_keras.commands import export
from asnet_keras.export import builtin
from asnet_keras.model.blocks import hard_sigmoid_keras2
from asnet_keras.model.released import LearningPrior
from tests.support.export_runs import load_elsewhere, outputs_of, write_run

SIZE = 32

_LOAD_IN_KERAS = """
import keras, numpy as np
images = np.load("images.npy")
for name in ("released.keras", "released.h5"):
    model = keras.models.load_model(name, compile=False, safe_mode=True)
    np.savez(name + ".npz", **dict(zip(model.output_names, model.predict_on_batch(images))))
"""


def test_keras3_hard_sigmoid_on_scaled_inputs_is_keras2s():
    # hs2(z) = clip(0.2 z + 0.5, 0, 1): 0 at -3, 0.1 at -2, 0.5 at 0, 0.7 at 1, 1 at 2.5 and 4.
    z = np.array([-3.0, -2.0, 0.0, 1.0, 2.5, 4.0], "float32")
    expected = [0.0, 0.1, 0.5, 0.7, 1.0, 1.0]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(hard_sigmoid_keras2(z)), expected,
                               atol=1e-7)
    scaled = keras.activations.hard_sigmoid(builtin.GATE_SCALE * z)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(scaled), expected, atol=1e-6)


def test_gate_weights_scale_the_i_f_o_columns_only():
    # F = 1: one column per gate, in Keras' order i, f, c, o.
    kernel = np.ones((3, 3, 2, 4), "float32")
    bias = np.array([1.0, 2.0, 3.0, 4.0], "float32")
    new_kernel, new_bias = builtin.keras3_gate_weights([kernel, bias])
    np.testing.assert_allclose(new_bias, [1.2, 2.4, 3.0, 4.8], rtol=1e-7)
    np.testing.assert_allclose(new_kernel[1, 2, 0], [1.2, 1.2, 1.0, 1.2], rtol=1e-7)
    assert new_bias.dtype == np.float32 and bias[0] == 1.0  # the input is not changed


def test_constant_maps_give_the_prior_bit_for_bit():
    prior = LearningPrior(16, seed=3, name="learning_prior")
    batch = np.random.default_rng(0).uniform(0, 50, (3, 4, 6, 5)).astype("float32")
    want = keras.ops.convert_to_numpy(prior(batch))  # a 4×6 grid, so rows ≠ columns
    features = keras.Input((4, 6, 5))
    maps = builtin.prior_maps(prior, features.shape)
    model = keras.Model(features, builtin.constant_maps(features, maps, "prior"))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model(batch)), want)
    assert float(np.std(want)) > 0.05  # sixteen Gaussians, not a constant
    assert all(not layer.trainable for layer in model.layers if layer.weights)
    assert builtin.custom_objects(model) == []


@pytest.mark.slow
@pytest.mark.backend_heavy  # a .keras file across processes: tests/test_backends.py
def test_released_export_loads_without_asnet_keras_and_matches(tmp_path):
    weights, model = write_run(tmp_path / "run", config="released")
    assert "asnet_keras>LearningPrior" in builtin.custom_objects(model)
    images = np.random.default_rng(5).uniform(0, 255, (3, SIZE, SIZE, 3)).astype("float32")
    expected = outputs_of(model, images)
    for name in ("released.keras", "released.h5"):
        assert export.main(["--weights", str(weights), "--out", str(tmp_path / name)]) == 0
    with zipfile.ZipFile(tmp_path / "released.keras") as archive:
        assert "asnet_keras" not in archive.read("config.json").decode("utf8")
    np.save(tmp_path / "images.npy", images)
    load_elsewhere(_LOAD_IN_KERAS, tmp_path)
    for name in ("released.keras", "released.h5"):
        got = np.load(tmp_path / f"{name}.npz")
        assert list(got.files) == list(model.output_names)
        for output, want in expected.items():
            difference = float(np.max(np.abs(got[output] - want)))
            assert difference <= 1e-5, (name, output, difference)
