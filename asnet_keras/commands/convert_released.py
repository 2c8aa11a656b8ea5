"""`asnet convert-released`: the authors' `ASNet.h5` as a Keras 3 model.

    asnet convert-released --weights ASNet.h5 --out weights/asnet_released.keras

The work is done by `asnet_keras.released.converter`; see its docstring. Exit status:
0 written, 1 the file could not be written, 2 usage error (a file that is not the
released ASNet.h5 included: `ConversionError` lists what does not fit).
"""

import argparse

from asnet_keras.commands import UsageError, run_command
from asnet_keras.model.options import RECURRENCES


def build_parser():
    parser = argparse.ArgumentParser(
        prog="asnet convert-released",
        description=(
            "Convert the authors' trained ASNet.h5 (Keras 2, from the wenguanwang/ASNet "
            "repository) into a Keras 3 model. Reads the file with h5py (Keras 2 is not "
            "needed), maps every array onto build_asnet(config='released') by layer name, "
            "checks every shape, and refuses a file that does not fit, listing what is "
            "missing, extra or mis-shaped."
        ),
        epilog=(
            "Example: asnet convert-released --weights ASNet.h5 "
            "--out weights/asnet_released.keras   (then: asnet predict "
            "IMAGES --weights weights/asnet_released.keras --postprocess released --out "
            "maps/). In your own script, `import asnet_keras.model.released` before "
            "keras.models.load_model(...)."
        ),
    )
    parser.add_argument("--weights", required=True, metavar="ASNet.h5",
                        help="the authors' trained Keras 2 file, ASNet.h5 (weights-only or "
                        "full-model)")
    parser.add_argument(
        "--out",
        default="weights/asnet_released.keras",
        help="the Keras 3 model to write (.keras); the weights also go to the same name "
        "with .weights.h5 (default: %(default)s)",
    )
    parser.add_argument(
        "--recurrence",
        choices=RECURRENCES,
        default="stock",
        help="ConvLSTM implementation of the written model: 'stock' (keras ConvLSTM2D, "
        "default) or 'static' (faster, same results); the weights are the same",
    )
    parser.add_argument(
        "--by-order",
        action="store_true",
        help="pair layers by position, as Keras 2's load_weights did, instead of by name "
        "(only for a file whose layer names differ from the released code's)",
    )
    return parser


def run(args):
    """Convert --weights into --out; a file that does not fit is refused, saying why."""
    # Imported here: the converter builds the network in Keras, which loads TensorFlow
    # (seconds) that `asnet convert-released --help` must not pay.
    from asnet_keras.model.released.converter import ConversionError, convert_released

    try:
        convert_released(args.weights, args.out, by_order=args.by_order,
                         recurrence=args.recurrence)
    except ConversionError as error:
        message = str(error)  # most messages start with the file's name already
        if not message.startswith(args.weights):
            message = f"{args.weights}: {message}"
        raise UsageError(message) from error


def main(argv=None):
    """`asnet convert-released`; returns the exit status (asnet_keras.commands.run_command)."""
    return run_command(argv, build_parser, run)
