"""The `released` configuration against docs/released_model.md §1–§2 and §4 (the preprocessing).

Built at 64 px (the weights do not depend on the input size) with a zeros recurrent
initializer: Keras' orthogonal draw for the 512-wide ConvLSTM costs ~10 s on 2 cores and
nothing here depends on initial values.
"""

import keras
import numpy as np
import pytest

from asnet_keras.model.released import graph as released
from asnet_keras.model import blocks
from asnet_keras.model import builder as model_module
from tests.support.released_table import (
    KERAS2_LAYER_NAMES,
    LAYERS,
    TABLE_NON_TRAINABLE,
    TABLE_TOTAL,
    layer_params,
    weight_specs,
)

SIZE = 64


@pytest.fixture(scope="module")
def model():
    return released.build_released_graph(
        (SIZE, SIZE, 3), None, recurrence="stock", recurrent_initializer="zeros"
    )


def _producer(tensor):
    """Name of the layer that produced a symbolic tensor."""
    return tensor._keras_history[0].name


def _inputs_of(model, name):
    inputs = model.get_layer(name).input
    return [_producer(t) for t in (inputs if isinstance(inputs, list) else [inputs])]


def test_build_asnet_dispatches_released_config(monkeypatch):
    calls = []
    monkeypatch.setattr(
        released, "build_released_graph", lambda *a, **k: calls.append((a, k)) or "built"
    )
    result = model_module.build_asnet(
        (32, 48, 3), None, config="released", recurrence="stock", name="n"
    )
    assert result == "built"
    assert calls == [(((32, 48, 3), None), {"recurrence": "stock", "name": "n"})]


def test_weighted_layers_equal_the_table(model):
    for name, kind, widths in LAYERS:
        layer = model.get_layer(name)
        assert type(layer).__name__ == kind, name
        assert [tuple(w.shape) for w in layer.weights] == [
            s for _, s in weight_specs(kind, widths)
        ], name
    weighted = [layer.name for layer in model.layers if layer.weights]
    # Besides the 37 layers of the table, only the frozen preprocessing convolution.
    assert weighted[0] == "preprocess" and not model.get_layer("preprocess").trainable
    # Keras 3's layer order equals Keras 2's `layer_names` order (§5.3).
    assert weighted[1:] == [n for n in KERAS2_LAYER_NAMES if n in {r[0] for r in LAYERS}]
    assert list(released.WEIGHTED_LAYERS) == [name for name, _, _ in LAYERS]


def test_parameter_count_equals_the_table(model):
    expected = sum(layer_params(kind, widths) for _, kind, widths in LAYERS)
    assert expected == TABLE_TOTAL == 35_516_167
    assert sum(model.get_layer(n).count_params() for n, _, _ in LAYERS) == expected
    # + 12 fixed preprocessing constants (3×3 permutation kernel, 3 means), not trainable.
    assert model.count_params() == expected + 12
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == expected - TABLE_NON_TRAINABLE


def test_outputs_in_released_order_with_our_names(model):
    assert list(model.output_names) == [
        "fixation",
        "saliency_side_conv5",
        "saliency_conv5",
        "saliency_conv4",
        "saliency_conv3",
        "saliency_conv2",
        "saliency_conv1",
    ]
    sides = [SIZE // 16] * 3 + [SIZE // 8, SIZE // 4, SIZE // 2, SIZE]
    assert [tuple(o.shape) for o in model.outputs] == [(None, s, s, 1) for s in sides]
    # Each output is a weightless identity on the Keras 2 layer of §2.2.
    for ours, theirs in zip(model.output_names, released.KERAS2_OUTPUT_LAYERS, strict=True):
        assert isinstance(model.get_layer(ours), keras.layers.Identity)
        assert _inputs_of(model, ours) == [theirs]
        assert model.get_layer(theirs).get_config()["activation"] == "sigmoid"


def test_graph_wiring_follows_the_released_code(model):
    # §2.3, input order of every concatenation and the source of every branch.
    assert _inputs_of(model, "concatenate_1") == ["conv5_lstm1", "learning_prior_1"]
    assert _inputs_of(model, "concatenate_2") == ["s_conv_5", "att_conv5"]
    for index, (k, lstm) in enumerate(released.STAGE_LSTM_NAMES.items(), start=1):
        assert _inputs_of(model, f"conv_{k}_out") == [blocks.VGG_SIDE_LAYERS[k]]
        assert _inputs_of(model, f"batch_normalization_{index}") == [f"conv_{k}_out"]
        assert _inputs_of(model, f"concatenate_{index + 2}") == [
            f"activation_{index}",
            f"up_sampling2d_{index}",
        ]
        previous = "sal_conv5" if k == 4 else f"sal_conv{k + 1}"
        assert _inputs_of(model, f"up_sampling2d_{index}") == [previous]
        assert _inputs_of(model, f"sal_conv{k}") == [lstm]
    assert _inputs_of(model, "s_conv_5") == ["block5_conv3"]
    assert _inputs_of(model, "learning_prior_1") == ["block5_conv3"]
    assert _inputs_of(model, "conv5_lstm1") == ["conv5_lstm1_repeat"]


def test_layer_settings_are_keras2s(model):
    for name, kind, widths in LAYERS:
        config = model.get_layer(name).get_config()
        if kind == "ConvLSTM2D":
            assert config["filters"] == widths[1]
            assert config["padding"] == "same" and config["return_sequences"] is False
            assert config["activation"] == "tanh"
            act = keras.activations.get(config["recurrent_activation"])
            assert act is blocks.hard_sigmoid_keras2, name
        if kind == "BatchNormalization":
            assert config["epsilon"] == 1e-3 and config["axis"] in (-1, 3)
        if kind == "Conv2D" and name.startswith(("s_conv_5", "merge_att", "block")):
            assert config["activation"] == "relu"
        if name.startswith("conv_") and name.endswith("_out"):
            assert config["activation"] == "linear" and config["kernel_size"] == (1, 1)
    for index in range(1, 5):
        assert model.get_layer(f"activation_{index}").get_config()["activation"] == "sigmoid"
        upsampling = model.get_layer(f"up_sampling2d_{index}").get_config()
        assert upsampling["interpolation"] == "nearest" and upsampling["size"] == (2, 2)


def test_preprocessing_of_a_known_pixel(model):
    # §4 step 3: the network sees B − 123.68, G − 116.779, R − 103.939 for raw RGB input.
    sub = keras.Model(model.input, model.get_layer("preprocess").output)
    image = np.zeros((1, SIZE, SIZE, 3), np.float32)
    image[0, 5, 7] = (200.0, 100.0, 50.0)  # R, G, B
    out = sub.predict(image, verbose=0)
    np.testing.assert_allclose(
        out[0, 5, 7], [50 - 123.68, 100 - 116.779, 200 - 103.939], rtol=0, atol=1e-4
    )
    np.testing.assert_allclose(out[0, 0, 0], [-123.68, -116.779, -103.939], atol=1e-4)


def test_any_batch_size_and_finite_maps(model):
    images = np.random.default_rng(0).uniform(0, 255, (2, SIZE, SIZE, 3)).astype(np.float32)
    maps = model.predict(images, verbose=0)
    assert len(maps) == 7
    for m in maps:
        assert m.shape[0] == 2 and np.all((m >= 0) & (m <= 1))
