"""Command line: write trained ASNet weights as a plain Keras model that loads anywhere.

    python -m asnet_keras.export runs/exp1 --out asnet.keras

The work is done by `asnet_keras.model.portable` (see its docstring).
"""

import argparse
import sys

from asnet_keras._cli import quiet_tensorflow
from asnet_keras.model.portable import export


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m asnet_keras.export",
        description=(
            "Turn trained ASNet weights into a self-contained Keras model file that any "
            "Keras 3 code can load with keras.models.load_model(FILE, compile=False), "
            "without installing or importing asnet_keras. The network is rebuilt from "
            "built-in layers only (ConvLSTMs as keras.layers.ConvLSTM2D), the weights are "
            "copied in, and the result is checked against the original before you use it."
        ),
        epilog=(
            "Network options not given as flags come from a config.json beside WEIGHTS "
            "(written by training), else from the layer structure of WEIGHTS (input size: "
            "the saved model's, or 224 for a .weights.h5). Example: python -m asnet_keras.export "
            "runs/exp1/model.weights.h5 --out asnet.keras"
        ),
    )
    parser.add_argument(
        "weights", metavar="WEIGHTS",
        help="trained weights: a .weights.h5 file, a whole model saved as .keras or .h5, "
        "or a training run folder (uses its best.weights.h5 and config.json)",
    )
    parser.add_argument(
        "--out", required=True, metavar="FILE",
        help="where to write the model: FILE.keras (recommended) or FILE.h5 (legacy HDF5)",
    )
    parser.add_argument(
        "--input-size", type=int, default=None, metavar="PX",
        help="image side the network was trained at, a multiple of 16 (default 224)",
    )
    parser.add_argument(
        "--variant", choices=("paper", "released"), default=None,
        help="network configuration: 'paper' (default) or 'released' (the authors' network)",
    )
    parser.add_argument(
        "--fixation-28", action="store_true", default=None,
        help="the weights include the ASNet-28x28 output fixation_conv4",
    )
    parser.add_argument(
        "--no-fixation", dest="fixation_head", action="store_false", default=None,
        help="the 'w/o fixation' ablation: no fixation head",
    )
    parser.add_argument(
        "--no-convlstm", dest="use_convlstm", action="store_false", default=None,
        help="the 'w/o convLSTM' ablation: plain convolutions instead of ConvLSTMs",
    )
    parser.add_argument(
        "--no-check", dest="check", action="store_false",
        help="skip reloading the written file and comparing its outputs",
    )
    return parser


def main(argv=None):
    quiet_tensorflow()
    args = build_parser().parse_args(argv)
    try:
        report = export(
            args.weights, args.out, input_size=args.input_size,
            fixation_head=args.fixation_head, fixation_28=args.fixation_28,
            use_convlstm=args.use_convlstm, config=args.variant, check=args.check,
        )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {report['out']}: {report['layers_copied']} layers copied, options "
          f"{report['options']}, outputs {report['outputs']}, largest output difference "
          f"{report['max_abs_difference']}")
    print(f"load it with: keras.models.load_model({report['out']!r}, compile=False)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
