"""A shared test harness for model configurations and custom layers (keras-hub style).

`run_model_test` checks one `ASNetOptions` in one call: output names and shapes, the
options' JSON round trip, `.keras` and `.weights.h5` round trips (same outputs), reading
the options back off the weight file, and `predict` on a `tf.data` batch.
`run_layer_test` checks a custom layer: its config round trip, a call, and a `.keras`
round trip of a one-layer model.
"""

import os

import numpy as np


def _outputs(model, images):
    values = model.predict(images, verbose=0)
    return values if isinstance(values, list) else [values]


def run_model_test(options, tmp_path, *, expected_output_shapes, batch=2, atol=1e-6):
    """Build `options` (random weights) and check it end to end.

    Args:
        options: an `ASNetOptions`.
        tmp_path: a folder for the saved files.
        expected_output_shapes: dict output name → (h, w, 1), in output order.
    Returns:
        the built model.
    """
    import keras
    import tensorflow as tf

    from asnet_keras.inference.loading import load_asnet
    from asnet_keras.model.options import ASNetOptions
    from asnet_keras.model.weight_structure import options_from_weights_file

    model = options.build()
    assert list(model.output_names) == list(expected_output_shapes)
    assert [tuple(o.shape[1:]) for o in model.outputs] == list(expected_output_shapes.values())
    assert ASNetOptions.from_json(options.to_json()) == options

    size = options.input_size
    images = np.random.default_rng(0).uniform(0, 255, (batch, size, size, 3)).astype("float32")
    expected = _outputs(model, images)
    for value, shape in zip(expected, expected_output_shapes.values(), strict=True):
        assert value.shape == (batch, *shape)
        assert np.all((value >= 0) & (value <= 1))

    keras_path = os.path.join(tmp_path, "model.keras")
    model.save(keras_path)
    reloaded = load_asnet(keras_path)
    for a, b in zip(expected, _outputs(reloaded, images), strict=True):
        np.testing.assert_allclose(a, b, atol=atol)

    weights_path = os.path.join(tmp_path, "model.weights.h5")
    model.save_weights(weights_path)
    read_back = options_from_weights_file(weights_path, input_size=size)
    assert read_back == options.replace(recurrence="static"), read_back
    rebuilt = load_asnet(weights_path) if size == 224 else read_back.build()
    if size != 224:
        rebuilt.load_weights(weights_path)
    for a, b in zip(expected, _outputs(rebuilt, images), strict=True):
        np.testing.assert_allclose(a, b, atol=atol)

    dataset = tf.data.Dataset.from_tensor_slices(images).batch(batch)
    for a, b in zip(expected, _outputs(model, dataset), strict=True):
        np.testing.assert_allclose(a, b, atol=atol)
    keras.backend.clear_session(free_memory=False)
    return model


def run_layer_test(cls, init_kwargs, input_data, expected_output_shape, tmp_path, *, atol=1e-6):
    """Check a custom layer: config round trip, a call, and a one-layer `.keras` round trip."""
    import keras

    layer = cls(**init_kwargs)
    config = layer.get_config()
    clone = cls.from_config(config)
    assert clone.get_config() == config
    output = keras.ops.convert_to_numpy(layer(input_data))
    assert output.shape == tuple(expected_output_shape)

    inputs = keras.Input(shape=input_data.shape[1:])
    model = keras.Model(inputs, cls(**init_kwargs)(inputs))
    before = keras.ops.convert_to_numpy(model(input_data))
    path = os.path.join(tmp_path, "layer.keras")
    model.save(path)
    after = keras.ops.convert_to_numpy(keras.models.load_model(path, compile=False)(input_data))
    np.testing.assert_allclose(before, after, atol=atol)
    return output
