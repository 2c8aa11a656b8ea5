"""`ASNetOptions`: the one description of which ASNet a model or a weight file holds.

Training writes it into every run's `config.json` (its keys at the top level); loading,
export, prediction and evaluation read it back with `ASNetOptions.from_json`, and
`build` turns it into a model. A `.weights.h5` without a `config.json` beside it is
described by `asnet_keras.model.weight_structure.options_from_weights_file`, which reads
the layer structure of the file. No code guesses the architecture from class or model
names.

Example:
    >>> options = ASNetOptions(input_size=64, fixation_28=True)
    >>> model = options.build()                      # random weights
    >>> ASNetOptions.from_json(options.to_json()) == options
    True
"""

import dataclasses

CONFIGS = ("paper", "released")
RECURRENCES = ("static", "stock")
PAPER_INPUT_SIZE = 224  # paper §3.3


@dataclasses.dataclass(frozen=True)
class ASNetOptions:
    """Which ASNet: the arguments of `build_asnet` that decide the architecture.

    Attributes:
        config: "paper" (the CVPR text, default) or "released" (the authors' network).
        input_size: square input side in px, a multiple of 16, at least 32 (paper: 224).
        fixation_head: False for Table 5's `w/o fixation`.
        use_convlstm: False for Table 5's `w/o convLSTM`.
        fixation_28: True adds ASNet-28×28's `fixation_conv4` output.
        recurrence: "static" (`StaticConvLSTM2D`, default) or "stock" (`ConvLSTM2D`);
            the weights are the same in both.
    """

    config: str = "paper"
    input_size: int = PAPER_INPUT_SIZE
    fixation_head: bool = True
    use_convlstm: bool = True
    fixation_28: bool = False
    recurrence: str = "static"

    def __post_init__(self):
        if self.config not in CONFIGS:
            raise ValueError(f"config={self.config!r}: pass one of {CONFIGS}.")
        if self.recurrence not in RECURRENCES:
            raise ValueError(f"recurrence={self.recurrence!r}: pass one of {RECURRENCES}.")
        size = self.input_size
        if not isinstance(size, int) or isinstance(size, bool) or size < 32 or size % 16:
            raise ValueError(
                f"input_size={size!r}: pass a multiple of 16, at least 32 (the paper: 224)."
            )
        if self.fixation_28 and not self.fixation_head:
            raise ValueError(
                "fixation_28=True needs the fixation head: pass fixation_head=True, or "
                "fixation_28=False for the `w/o fixation` ablation."
            )

    def build(self, backbone_weights=None, *, sync_batchnorm=False, name=None):
        """The Keras model these options describe (`build_asnet`), random weights by
        default; `backbone_weights` as in `build_asnet` ("imagenet", None or a path)."""
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

        A key that is absent takes its default (files written before `recurrence` was
        recorded load as `static`); a value of the wrong type is refused.

        Raises:
            ValueError: a value is invalid; the message names `source`.
        """
        if not isinstance(content, dict):
            raise ValueError(f"{source}: expected a JSON object with keys {cls.keys()}.")
        values = {}
        for field in dataclasses.fields(cls):
            value = content.get(field.name)
            if value is None or value == "":
                continue
            expected = {"config": str, "recurrence": str, "input_size": int}.get(field.name, bool)
            if expected is int and isinstance(value, float) and value.is_integer():
                value = int(value)
            if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
                raise ValueError(
                    f"{source}: {field.name}={value!r} is not a {expected.__name__}."
                )
            values[field.name] = value
        try:
            return cls(**values)
        except ValueError as error:
            raise ValueError(f"{source}: {error}") from None

    @classmethod
    def keys(cls):
        """The option names, in order."""
        return tuple(field.name for field in dataclasses.fields(cls))
