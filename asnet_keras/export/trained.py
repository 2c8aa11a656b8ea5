"""The trained model every export starts from, and the network options it was trained with.

`load_trained(weights)` takes what training left (a run folder, `.keras`, `.h5` or
`.weights.h5`; which file a run folder means is `asnet_keras.inference.loading`'s one
answer, `resolve_model_path`) and returns it as a float32 Keras model with its
`ASNetOptions`. The options come from the flags where given, else from the
`config.json` beside the weights (training writes one), else from the layer structure of
the weights themselves (`asnet_keras.model.weight_structure`; the input size then is the
saved model's, or 224 for a weights-only file).
"""

import keras

from asnet_keras.inference.loading import (is_weights_only, load_saved_model, load_weights_file,
                                           options_for, read_run_config, resolve_model_path)
from asnet_keras.layers import copy_weights_by_name
from asnet_keras.model.weight_structure import options_from_model


def load_trained(weights, *, input_size=None, fixation_head=None, fixation_28=None,
                 use_convlstm=None, config=None):
    """The trained model at `weights` and its `ASNetOptions` (shared by every format).

    Args:
        weights: a `.weights.h5` file, a whole saved model (`.keras`, legacy `.h5`) or a
            training run folder (`resolve_model_path`: its best.keras, else its
            best.weights.h5; the config.json beside either).
        input_size, fixation_head, fixation_28, use_convlstm, config: `ASNetOptions`
            fields; None means "as config.json beside `weights` says, else as the
            weights' layer structure says".
    Returns:
        (keras.Model holding the weights, computing in float32; `ASNetOptions`).
    Raises:
        FileNotFoundError: nothing at `weights`.
        ValueError: a path or option is wrong; the message says what to do.
    """
    path = resolve_model_path(weights)
    source = None if is_weights_only(path) else load_saved_model(path)
    if source is not None and "input_size" not in read_run_config(path):
        options = options_from_model(source)
    else:
        options, _ = options_for(path)
    explicit = dict(input_size=input_size, fixation_head=fixation_head,
                    fixation_28=fixation_28, use_convlstm=use_convlstm, config=config)
    options = options.replace(**{k: v for k, v in explicit.items() if v is not None})
    if source is None:
        return load_weights_file(path, options), options
    return _in_float32(source, options), options


def _in_float32(model, options):
    """`model`, or for one trained under a mixed-precision policy (docs/framework_notes.md
    §6) the same network and weights computing in float32: every export is float32, and
    its check compares against this model."""
    if all(layer.compute_dtype in (None, "float32") for layer in model.layers):
        return model
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        float32 = options.build()
    finally:
        keras.mixed_precision.set_global_policy(previous)
    copy_weights_by_name(model, float32)
    return float32

