"""`LearningPrior` against a numpy implementation of docs/released_model.md §3."""

import math

import keras
import numpy as np
import pytest

from asnet_keras.model.released.layers import GaussianPriorInitializer, LearningPrior


def numpy_prior(weights, height, width, eps=1e-7, clip=True):
    """docs/released_model.md §3 steps 1–5 in float64: (H, W, n) maps."""
    n = weights.size // 4
    mu_x, mu_y, sigma_x, sigma_y = (weights[b * n : (b + 1) * n] for b in range(4))
    if clip:
        mu_x = np.clip(mu_x, 0.25, 0.75)
        mu_y = np.clip(mu_y, 0.35, 0.65)
        sigma_x = np.clip(sigma_x, 0.1, 0.9)
        sigma_y = np.clip(sigma_y, 0.2, 0.8)
    e = height / width
    e1 = (1 - e) / 2
    e2 = e1 + e
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    x = (cols / (width - 1))[..., None]
    y = (e1 + rows * (e2 - e1) / (height - 1))[..., None]
    g = (
        1
        / (2 * math.pi * sigma_x * sigma_y + eps)
        * np.exp(
            -((x - mu_x) ** 2 / (2 * sigma_x**2 + eps) + (y - mu_y) ** 2 / (2 * sigma_y**2 + eps))
        )
    )
    return g / g.max(axis=(0, 1), keepdims=True)


def _run(weights, height, width, batch=2, channels=5):
    layer = LearningPrior(weights.size // 4, name="learning_prior_1")
    inputs = np.random.default_rng(1).normal(size=(batch, height, width, channels))
    layer.build(inputs.shape)
    layer.set_weights([weights.astype(np.float32)])
    return keras.ops.convert_to_numpy(layer(inputs.astype(np.float32)))


@pytest.mark.parametrize("height, width", [(14, 14), (6, 10), (10, 6)])
def test_prior_equals_numpy_formula_with_clipping(height, width):
    rng = np.random.default_rng(height * 100 + width)
    # Raw parameters well outside every clip range as well as inside.
    weights = rng.uniform(-0.2, 1.2, size=64)
    out = _run(weights, height, width)
    expected = numpy_prior(weights, height, width)
    assert out.shape == (2, height, width, 16)
    np.testing.assert_allclose(out[0], expected, rtol=0, atol=2e-6)
    np.testing.assert_array_equal(out[0], out[1])  # the same maps for every sample
    # Clipping matters here: without it the formula gives other maps.
    positive = np.clip(weights, 0.02, None)
    assert np.abs(numpy_prior(positive, height, width, clip=False) - out[0]).max() > 0.1
    assert np.abs(out.max(axis=(1, 2)) - 1).max() < 1e-6  # each map peaks at 1


def test_clipping_is_applied_at_call_time():
    weights = np.full(64, 0.5)
    weights[0] = -5.0  # μx of map 0 → 0.25
    weights[16] = 5.0  # μy of map 0 → 0.65
    weights[32] = 0.0  # σx of map 0 → 0.1
    weights[48] = 9.0  # σy of map 0 → 0.8
    clipped = weights.copy()
    clipped[[0, 16, 32, 48]] = [0.25, 0.65, 0.1, 0.8]
    out = _run(weights, 14, 14)
    np.testing.assert_allclose(out[0], numpy_prior(clipped, 14, 14), atol=2e-6)


def test_sanity_example_rows_are_y_columns_are_x():
    # docs/released_model.md §3: μx 0.25, μy 0.4, σx 0.1, σy 0.2 peaks at row 5, column 3.
    weights = np.tile(np.array([0.25, 0.4, 0.1, 0.2])[:, None], (1, 16)).ravel()
    out = _run(weights, 14, 14)[0, :, :, 0]
    assert np.unravel_index(np.argmax(out), out.shape) == (5, 3)
    assert out[5, 3] == pytest.approx(1.0, abs=1e-6)
    assert out[0, 0] == pytest.approx(0.006075, abs=5e-6)


def test_initializer_ranges_and_config_round_trip():
    values = keras.ops.convert_to_numpy(GaussianPriorInitializer(seed=3)((64,)))
    assert values.dtype == np.float32
    assert np.all((values[:32] >= 0.3) & (values[:32] <= 0.7))
    assert np.all((values[32:] >= 0.05) & (values[32:] <= 0.3))
    layer = LearningPrior(16, seed=3, name="learning_prior_1")
    clone = LearningPrior.from_config(layer.get_config())
    assert clone.nb_gaussian == 16 and clone.seed == 3 and clone.name == "learning_prior_1"
    assert clone.compute_output_shape((None, 14, 14, 512)) == (None, 14, 14, 16)


def test_saved_model_with_the_prior_loads_by_registration(tmp_path):
    inputs = keras.Input((4, 6, 3))
    outputs = LearningPrior(16, name="learning_prior_1")(inputs)
    model = keras.Model(inputs, outputs)
    model.get_layer("learning_prior_1").set_weights(
        [np.random.default_rng(0).uniform(0, 1, 64).astype(np.float32)]
    )
    path = tmp_path / "prior.keras"
    model.save(path)
    loaded = keras.models.load_model(path)  # registered: no custom_objects needed
    x = np.zeros((3, 4, 6, 3), np.float32)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_grid_without_static_size_is_refused():
    with pytest.raises(ValueError, match="static height"):
        LearningPrior(16).build((None, None, None, 8))
