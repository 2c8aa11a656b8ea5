"""`ASNetOptions`: the one description of which ASNet a model or a weight file holds,
and the one place it is checked.

Training writes it into every run's `config.json` (its keys at the top level); loading,
export, prediction and evaluation read it back with `ASNetOptions.from_json`, and
`build` turns it into a model. A `.weights.h5` without a `config.json` beside it is
described by `asnet_keras.model.weight_structure.options_from_weights_file`, which reads
the layer structure of the file. No code guesses the architecture from class or model
names.

Every value is checked when the options are made (`check_input_side`,
`check_architecture`); `build_asnet` checks its arguments with the same two functions
(it also takes non-square shapes, through `check_input_shape`), and `TrainConfig` holds
an `ASNetOptions` instead of checking these values itself. A bad value raises
`asnet_keras.parameters.ParameterError` (a ValueError) saying what to pass instead.

Example:
    >>> options = ASNetOptions(input_size=64, fixation_28=True)
    >>> model = options.build()                      # random weights
    >>> ASNetOptions.from_json(options.to_json()) == options
    True
"""

import dataclasses
import numbers

from asnet_keras.parameters import ParameterError, check_bool, check_choice

CONFIGS = ("paper", "released")
RECURRENCES = ("static", "stock")
PAPER_INPUT_SIZE = 224  # paper §3.3
# VGG16 has four 2×2 poolings before conv5_3 (H/16), and Keras' VGG16 takes at least 32 px.
INPUT_SIDE_STEP, MIN_INPUT_SIDE = 16, 32


def check_input_side(name, side):
    """`side` as an int if it is a possible input side: a multiple of 16, at least 32.

    Raises:
        ParameterError: naming `name`, with the nearest side that works.
    """
    if isinstance(side, bool) or not isinstance(side, numbers.Integral):
        raise ParameterError(name, side, (
            f"pass an integer number of pixels, a multiple of {INPUT_SIDE_STEP} and at least "
            f"{MIN_INPUT_SIDE} (the paper: {PAPER_INPUT_SIZE})."))
    if side < MIN_INPUT_SIDE or side % INPUT_SIDE_STEP:
        fixed = max(MIN_INPUT_SIDE, INPUT_SIDE_STEP * round(side / INPUT_SIDE_STEP))
        raise ParameterError(name, side, (
            f"pass a multiple of {INPUT_SIDE_STEP}, at least {MIN_INPUT_SIDE} (four 2×2 "
            f"poolings, VGG16's minimum); try {fixed} (the paper: {PAPER_INPUT_SIZE})."))
    return int(side)


def check_input_shape(input_shape):
    """`input_shape` as a tuple (height, width, 3) of ints, each side as `check_input_side`
    requires (the builder's check; `ASNetOptions` describes square inputs only).

    Raises:
        ParameterError: naming `input_shape`, with what to pass instead.
    """
    try:
        height, width, channels = (int(v) for v in input_shape)
    except (TypeError, ValueError):
        raise ParameterError("input_shape", input_shape,
                             "pass (height, width, 3), e.g. (224, 224, 3).") from None
    if channels != 3:
        raise ParameterError("input_shape", input_shape, (
            "ASNet takes RGB images; pass 3 channels (grey images are stacked to 3 channels "
            "by the data pipeline)."))
    for side in (height, width):
        try:
            check_input_side("input_shape", side)
        except ParameterError as error:
            raise ParameterError("input_shape", input_shape,
                                 f"height and width: {side} px does not fit; {error.advice}"
                                 ) from None
    return (height, width, 3)


def check_architecture(*, config, fixation_head, use_convlstm, fixation_28, recurrence):
    """Check the arguments of `build_asnet` that decide the architecture (the fields of
    `ASNetOptions` other than `input_size`).

    Raises:
        ParameterError: naming the first value that is impossible, with the fix.
    """
    check_choice("config", config, CONFIGS)
    check_choice("recurrence", recurrence, RECURRENCES)
    for name, value in (("fixation_head", fixation_head), ("use_convlstm", use_convlstm),
                        ("fixation_28", fixation_28)):
        check_bool(name, value)
    if fixation_28 and not fixation_head:
        raise ParameterError("fixation_28", fixation_28, (
            "the ASNet-28×28 output needs the fixation head, which Table 5's `w/o fixation` "
            "(fixation_head=False) removes: drop one of the two."))
    if config == "released" and not (fixation_head and use_convlstm and not fixation_28):
        raise ParameterError("config", config, (
            "the authors' released network has the fixation head and the ConvLSTMs and no "
            "28×28 output; pass config='paper' for a Table 5 variant or ASNet-28×28."))


@dataclasses.dataclass(frozen=True)
class ASNetOptions:
    """Which ASNet: the arguments of `build_asnet` that decide the architecture.

    Attributes:
        config: "paper" (the CVPR text, default) or "released" (the authors' network,
            which has no Table 5 switches and no 28×28 output).
        input_size: square input side in px, a multiple of 16, at least 32 (paper: 224).
        fixation_head: False for Table 5's `w/o fixation`.
        use_convlstm: False for Table 5's `w/o convLSTM`.
        fixation_28: True adds ASNet-28×28's `fixation_conv4` output (needs the fixation
            head).
        recurrence: "static" (`StaticConvLSTM2D`, default) or "stock" (`ConvLSTM2D`);
            the weights are the same in both.
    Raises:
        ParameterError (a ValueError): a value of the wrong type or out of range, or an
            impossible combination; the message names the field and what to pass.
    """

    config: str = "paper"
    input_size: int = PAPER_INPUT_SIZE
    fixation_head: bool = True
    use_convlstm: bool = True
    fixation_28: bool = False
    recurrence: str = "static"

    def __post_init__(self):
        object.__setattr__(self, "input_size", check_input_side("input_size", self.input_size))
        check_architecture(**self.builder_kwargs())

    def build(self, backbone_weights=None, *, sync_batchnorm=False, name=None):
        """The Keras model these options describe (`build_asnet`), random weights by
        default; `backbone_weights` as in `build_asnet` ("imagenet", None or a path)."""
        # Imported here: the builder imports Keras, and these options stay a pure-Python
        # import (config.json readers, the training config, weight-file inspection).
        from asnet_keras.model.builder import build_asnet

        return build_asnet(
            (self.input_size, self.input_size, 3),
            backbone_weights,
            sync_batchnorm=sync_batchnorm,
            name=name,
            **self.builder_kwargs(),
        )

    def builder_kwargs(self):
        """The keyword arguments of `build_asnet` other than the input shape."""
        return {
            "config": self.config,
            "fixation_head": self.fixation_head,
            "use_convlstm": self.use_convlstm,
            "fixation_28": self.fixation_28,
            "recurrence": self.recurrence,
        }

    def replace(self, **changes):
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_json(self):
        """The options as a JSON-ready dict; these keys sit at the top of config.json."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, content, *, source="config.json"):
        """Options from a dict such as a run's config.json (other keys are ignored).

        A key that is absent (or null, or "") takes its default (files written before
        `recurrence` was recorded load as `static`); an integral float input size (224.0)
        reads as an int; every value is then checked as in the constructor.

        Raises:
            ValueError: a value is invalid; the message names `source` and the field.
        """
        if not isinstance(content, dict):
            raise ValueError(f"{source}: expected a JSON object with keys {cls.keys()}.")
        values = {}
        for name in cls.keys():
            value = content.get(name)
            if value is None or value == "":
                continue
            if name == "input_size" and isinstance(value, float) and value.is_integer():
                value = int(value)
            values[name] = value
        try:
            return cls(**values)
        except ValueError as error:
            raise ValueError(f"{source}: {error}") from None

    @classmethod
    def keys(cls):
        """The option names, in order."""
        return tuple(field.name for field in dataclasses.fields(cls))
