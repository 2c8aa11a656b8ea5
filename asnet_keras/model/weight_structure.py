"""Which ASNet a weight file holds, read off the file's layer structure.

A Keras 3 weight file (`.weights.h5`, or the `model.weights.h5` inside a `.keras` zip)
stores one group per weighted layer under `layers/`, keyed by the layer's class
(`conv2d`, `conv2d_1`, …, `conv_lstm2d_N`, `batch_normalization_N`,
`learning_prior`; `StaticConvLSTM2D` writes under the `conv_lstm2d` key so that both
recurrences load the same files, docs/framework_notes.md). The architecture follows from
how many layers of each kind there are (paper §3, Table 5):

    kind                 paper configuration                          released
    conv_lstm2d          5 (+1 with fixation_28), 0 without ConvLSTM   6
    conv2d               24 + fixation head + fixation_28              (has learning_prior)
                         (+5, +1 more with fixation_28, without ConvLSTM)
    learning_prior       0                                            1

The input size is not stored in weights (every layer works at any multiple of 16), so
it is `default_input_size` unless the caller knows better; the recurrence is `static`
(both recurrences load the same file).
"""

import collections
import io
import os
import zipfile

from asnet_keras.model.options import PAPER_INPUT_SIZE, ASNetOptions

VGG_AND_READOUT_CONVS = 24  # 13 VGG16 convs, the preprocessing conv, compress + readouts
PAPER_STAGES = 5  # ConvLSTM stages conv5 … conv1


def layer_counts(path):
    """Weighted layers of a `.weights.h5` or `.keras` file, counted by kind.

    Returns:
        dict kind → count, e.g. {"conv2d": 25, "conv_lstm2d": 5, "batch_normalization": 4}.
    Raises:
        ValueError: not a Keras 3 weight file.
    """
    import h5py

    path = os.fspath(path)
    try:
        if path.endswith(".keras"):
            with zipfile.ZipFile(path) as archive:
                data = io.BytesIO(archive.read("model.weights.h5"))
            handle = h5py.File(data, "r")
        else:
            handle = h5py.File(path, "r")
    except (OSError, KeyError, zipfile.BadZipFile) as error:
        raise ValueError(f"{path}: not a Keras 3 weight file ({error}).") from None
    with handle:
        if "layers" not in handle:
            raise ValueError(
                f"{path}: no 'layers' group, so not a Keras 3 weight file (a Keras 2 "
                "file such as the authors' ASNet.h5 goes through asnet "
                "convert-released)."
            )
        groups = [key for key in handle["layers"].keys() if _holds_arrays(handle["layers"][key])]
    counts = collections.Counter(key.rstrip("0123456789").rstrip("_") for key in groups)
    return dict(counts)


def _holds_arrays(group):
    found = []
    group.visititems(lambda name, obj: found.append(name) if hasattr(obj, "shape") else None)
    return bool(found)


def options_from_counts(counts, *, input_size=PAPER_INPUT_SIZE, source="the weight file"):
    """`ASNetOptions` for the layer counts of `layer_counts` (see the module table).

    Raises:
        ValueError: the counts fit no ASNet; the message says which flags to pass.
    """
    if counts.get("learning_prior"):
        return ASNetOptions(config="released", input_size=input_size)
    n_conv = counts.get("conv2d", 0)
    n_lstm = counts.get("conv_lstm2d", 0)
    extra = n_conv - VGG_AND_READOUT_CONVS
    if n_lstm in (PAPER_STAGES, PAPER_STAGES + 1):
        fixation_28 = n_lstm == PAPER_STAGES + 1
        fixation_head = extra - fixation_28 == 1
        if extra - fixation_28 in (0, 1):
            return ASNetOptions(input_size=input_size, fixation_head=fixation_head,
                                fixation_28=fixation_28)
    elif n_lstm == 0:
        # without ConvLSTMs each stage (and the 28×28 head) has one more conv
        known = {6: (True, False), 5: (False, False), 8: (True, True)}
        if extra in known:
            fixation_head, fixation_28 = known[extra]
            return ASNetOptions(input_size=input_size, fixation_head=fixation_head,
                                use_convlstm=False, fixation_28=fixation_28)
    raise ValueError(
        f"{source} holds {n_conv} convolutions and {n_lstm} ConvLSTMs, which fits no ASNet "
        "this package builds. Put the training run's config.json beside it, or pass the "
        "options it was trained with (--input-size, --fixation-28, --no-fixation, "
        "--no-convlstm, --variant released)."
    )


def options_from_weights_file(path, *, input_size=PAPER_INPUT_SIZE):
    """`ASNetOptions` of the network whose weights `path` (`.weights.h5` or `.keras`) holds."""
    return options_from_counts(layer_counts(path), input_size=input_size, source=os.fspath(path))


def options_from_model(model):
    """`ASNetOptions` of a loaded Keras model, read off its weights the same way (they are
    written to a temporary `.weights.h5` first); the input size is the model's."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.weights.h5")
        model.save_weights(path)
        size = model.input_shape[1]
        return options_from_counts(layer_counts(path), input_size=int(size or PAPER_INPUT_SIZE),
                                   source=f"model {model.name!r}")
