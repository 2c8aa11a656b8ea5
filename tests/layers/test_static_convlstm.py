"""StaticConvLSTM2D equals keras.layers.ConvLSTM2D on a repeated input (Eqs. 2–6)."""

import h5py
import keras
import numpy as np
import pytest

from asnet_keras.model.blocks import hard_sigmoid_keras2
from asnet_keras.layers import StaticConvLSTM2D
from tests.support.backends import value_and_gradients


def _pair(filters, channels, *, steps=3, recurrent_activation="sigmoid", seed=0, **kwargs):
    """A built StaticConvLSTM2D and ConvLSTM2D sharing random weights (biases too)."""
    rng = np.random.default_rng(seed)
    static = StaticConvLSTM2D(
        filters, 3, time_steps=steps, recurrent_activation=recurrent_activation, **kwargs
    )
    stock = keras.layers.ConvLSTM2D(
        filters, 3, padding=kwargs.get("padding", "same"),
        recurrent_activation=recurrent_activation, return_sequences=False,
    )
    static.build((None, 10, 12, channels))
    stock.build((None, steps, 10, 12, channels))
    weights = [rng.normal(scale=0.4, size=w.shape).astype("float32") for w in static.weights]
    static.set_weights(weights)
    stock.set_weights(weights)
    return static, stock


def _repeat(x, steps):
    return np.repeat(x[:, None], steps, axis=1)


@pytest.mark.parametrize("activation", ["sigmoid", hard_sigmoid_keras2], ids=["sigmoid", "hard"])
@pytest.mark.parametrize("steps", [1, 2, 3])
def test_output_equals_stock_convlstm_on_repeated_input(activation, steps):
    static, stock = _pair(6, 5, steps=steps, recurrent_activation=activation)
    x = np.random.default_rng(1).normal(size=(2, 10, 12, 5)).astype("float32")
    got = keras.ops.convert_to_numpy(static(x))
    want = keras.ops.convert_to_numpy(stock(_repeat(x, steps)))
    assert got.shape == (2, 10, 12, 6)
    assert np.abs(want).max() > 0.1  # a real signal, not saturated zeros
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)


def test_valid_padding_equals_stock_and_shape_is_computed():
    static, stock = _pair(4, 3, padding="valid")
    x = np.random.default_rng(2).normal(size=(1, 10, 12, 3)).astype("float32")
    got = keras.ops.convert_to_numpy(static(x))
    np.testing.assert_allclose(got, keras.ops.convert_to_numpy(stock(_repeat(x, 3))), atol=1e-5)
    assert got.shape == (1, 8, 10, 4) == static.compute_output_shape((1, 10, 12, 3))


def test_hard_sigmoid_is_keras2_not_keras3():
    """With Keras 2's hard sigmoid the layer differs from the same weights with sigmoid."""
    hard, _ = _pair(4, 3, recurrent_activation=hard_sigmoid_keras2)
    soft, _ = _pair(4, 3, recurrent_activation="sigmoid")
    keras3, _ = _pair(4, 3, recurrent_activation="hard_sigmoid")
    x = np.random.default_rng(3).normal(scale=3.0, size=(1, 10, 12, 3)).astype("float32")
    outs = [keras.ops.convert_to_numpy(layer(x)) for layer in (hard, soft, keras3)]
    assert np.abs(outs[0] - outs[1]).max() > 1e-2
    assert np.abs(outs[0] - outs[2]).max() > 1e-2


def test_gradients_equal_stock_convlstm():
    static, stock = _pair(5, 4, recurrent_activation=hard_sigmoid_keras2, seed=4)
    x = np.random.default_rng(5).normal(size=(2, 10, 12, 4)).astype("float32")
    target = np.random.default_rng(6).normal(size=(2, 10, 12, 5)).astype("float32")

    def grads(layer, inputs):
        def loss(t):
            return keras.ops.sum(keras.ops.square(keras.ops.subtract(layer(inputs(t)), target)))

        _, input_grads, weight_grads = value_and_gradients(loss, [x], layer.trainable_weights)
        return input_grads + weight_grads

    got = grads(static, lambda t: t)
    want = grads(stock, lambda t: keras.ops.repeat(t[:, None], 3, axis=1))
    assert len(got) == len(want) == 4
    for g, w in zip(got, want, strict=True):
        scale = np.abs(w).max()
        assert scale > 0
        assert np.abs(g - w).max() <= 1e-4 * scale


def test_variables_match_convlstm2d_in_names_shapes_order_and_init():
    layer = StaticConvLSTM2D(8, 3)
    layer.build((None, 6, 6, 5))
    stock = keras.layers.ConvLSTM2D(8, 3, padding="same")
    stock.build((None, 3, 6, 6, 5))
    assert [v.name for v in layer.weights] == [v.name for v in stock.weights]
    assert [tuple(v.shape) for v in layer.weights] == [(3, 3, 5, 32), (3, 3, 8, 32), (32,)]
    assert [tuple(v.shape) for v in stock.weights] == [tuple(v.shape) for v in layer.weights]
    bias = keras.ops.convert_to_numpy(layer.bias)
    np.testing.assert_array_equal(bias, np.r_[np.zeros(8), np.ones(8), np.zeros(16)])


@pytest.mark.parametrize("activation", ["sigmoid", hard_sigmoid_keras2], ids=["sigmoid", "hard"])
def test_config_round_trip_keeps_activation(activation):
    layer = StaticConvLSTM2D(7, (3, 3), time_steps=2, recurrent_activation=activation, name="r")
    config = keras.saving.serialize_keras_object(layer)
    assert config["registered_name"] == "asnet_keras>StaticConvLSTM2D"
    clone = keras.saving.deserialize_keras_object(config)
    assert isinstance(clone, StaticConvLSTM2D)
    assert clone.get_config() == layer.get_config()
    assert (clone.filters, clone.kernel_size, clone.time_steps) == (7, (3, 3), 2)
    probe = np.linspace(-4, 4, 9).astype("float32")
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(clone.recurrent_activation(probe)),
        keras.ops.convert_to_numpy(layer.recurrent_activation(probe)),
    )


def test_keras_file_round_trip_in_safe_mode(tmp_path):
    inputs = keras.Input((8, 8, 3))
    outputs = StaticConvLSTM2D(4, 3, recurrent_activation=hard_sigmoid_keras2)(inputs)
    model = keras.Model(inputs, outputs)
    x = np.random.default_rng(7).normal(size=(2, 8, 8, 3)).astype("float32")
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_array_equal(loaded.predict_on_batch(x), model.predict_on_batch(x))


def test_bad_arguments_say_what_to_pass():
    with pytest.raises(ValueError, match="time_steps"):
        StaticConvLSTM2D(4, 3, time_steps=0)
    with pytest.raises(ValueError, match="padding"):
        StaticConvLSTM2D(4, 3, padding="causal")


def _mixed_model(first_static):
    inputs = keras.Input((6, 6, 2))
    a = StaticConvLSTM2D(3, 3)(inputs) if first_static else None
    sequence = keras.layers.Reshape((1, 6, 6, 2))(inputs)
    sequence = keras.layers.Concatenate(axis=1)([sequence] * 3)
    b = keras.layers.ConvLSTM2D(3, 3, padding="same")(sequence)
    outputs = [b] if a is None else [a, b]
    return keras.Model(inputs, outputs)


def test_model_with_both_classes_saves_and_reloads(tmp_path):
    """The stock-path link is skipped where a real ConvLSTM2D already sits."""
    model = _mixed_model(first_static=True)
    model.save_weights(tmp_path / "mixed.weights.h5")
    with h5py.File(tmp_path / "mixed.weights.h5", "r") as file:
        real = file["layers/conv_lstm2d/cell/vars/0"][()]
    np.testing.assert_array_equal(real, model.layers[-1].weights[0].numpy())
    clone = _mixed_model(first_static=True)
    clone.load_weights(tmp_path / "mixed.weights.h5")
    for a, b in zip(model.weights, clone.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
