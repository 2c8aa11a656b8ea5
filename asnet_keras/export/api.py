"""`export`: trained ASNet weights → any format of `asnet_keras.export.contract`, checked.

One call for every format: `keras` and `h5` go to `asnet_keras.export.portable`, `keras2`
to `asnet_keras.export.keras2`, the compiled formats to `asnet_keras.export.formats`; all
return the same report.

Example:
    >>> from asnet_keras.export.api import export
    >>> report = export("runs/asnet", "asnet.onnx")      # format from the name
    >>> report["format"], report["max_abs_difference"] <= 1e-4
    ('onnx', True)
"""

from asnet_keras.export.contract import KERAS2_FORMAT, PORTABLE_FORMATS, format_for
from asnet_keras.export.formats import export_artifact
from asnet_keras.export.keras2 import export_keras2
from asnet_keras.export.portable import export_portable


def export(weights, out, fmt=None, *, input_size=None, fixation_head=None, fixation_28=None,
           use_convlstm=None, config=None, check=True):
    """Write the trained ASNet at `weights` as `fmt` at `out`, then check it.

    Args:
        weights: a training run folder, `.keras`, `.h5` or `.weights.h5` file
            (`asnet_keras.export.trained.load_trained`).
        out: the file (or SavedModel folder) to write.
        fmt: one of `asnet_keras.export.contract.FORMATS`; None: from the name of `out`.
        input_size, fixation_head, fixation_28, use_convlstm, config: `ASNetOptions`
            fields; None: from config.json beside `weights`, else from its layers.
        check: load what was written and compare it with the trained model (for the
            compiled formats in their own runtime, in a fresh process).
    Returns:
        dict: out, format, options, outputs (names in order), layers_copied, differences
        (output → largest absolute difference, None unchecked) and max_abs_difference.
    Raises:
        FileNotFoundError: nothing at `weights`.
        ValueError: a path or option is wrong; the message says what to pass.
        asnet_keras.export.formats.FormatUnavailable: a package the format (or its check)
            needs is missing, or the Keras backend is not TensorFlow.
        RuntimeError: what was written does not reproduce the trained model.
    """
    fmt = format_for(out, fmt)
    options = dict(input_size=input_size, fixation_head=fixation_head, fixation_28=fixation_28,
                   use_convlstm=use_convlstm, config=config, check=check)
    if fmt in PORTABLE_FORMATS:
        return export_portable(weights, out, **options)
    if fmt == KERAS2_FORMAT:
        return export_keras2(weights, out, **options)
    return export_artifact(weights, out, fmt, **options)
