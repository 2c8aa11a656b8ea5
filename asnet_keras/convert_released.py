"""Command line: convert the authors' `ASNet.h5` into a Keras 3 model.

    python -m asnet_keras.convert_released ASNet.h5 --out weights/asnet_released.keras

The work is done by `asnet_keras.model.released.converter`; see its docstring.
"""

import argparse
import sys

from asnet_keras._cli import quiet_tensorflow
from asnet_keras.model.options import RECURRENCES
from asnet_keras.model.released.converter import ConversionError, convert_released


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m asnet_keras.convert_released",
        description=(
            "Convert the authors' trained ASNet.h5 (Keras 2, from the wenguanwang/ASNet "
            "repository) into a Keras 3 model. Reads the file with h5py (Keras 2 is not "
            "needed), maps every array onto build_asnet(config='released') by layer name, "
            "checks every shape, and refuses a file that does not fit, listing what is "
            "missing, extra or mis-shaped."
        ),
        epilog=(
            "Example: python -m asnet_keras.convert_released ASNet.h5 "
            "--out weights/asnet_released.keras   (then: python -m asnet_keras.predict "
            "IMAGES --weights weights/asnet_released.keras --postprocess released --out "
            "maps/). In your own script, `import asnet_keras.model.released` before "
            "keras.models.load_model(...)."
        ),
    )
    parser.add_argument("h5", help="the Keras 2 file: ASNet.h5 (weights-only or full-model)")
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


def main(argv=None):
    quiet_tensorflow()
    args = build_parser().parse_args(argv)
    try:
        convert_released(args.h5, args.out, by_order=args.by_order, recurrence=args.recurrence)
    except ConversionError as error:
        print(f"Refusing to convert {args.h5}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
