"""The Table 5 variants: how each maps onto `build_asnet` options and a loss variant.

One registry, used by training (`--variant`), the ablation runner and the notebooks,
so a variant's name means the same everywhere. The `conv5-output` … `conv2-output`
rows of Table 5 need no variant: they are the full model's intermediate outputs.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Variant:
    name: str
    label: str  # the row label of the paper's Table 5
    model_options: dict = field(default_factory=dict)  # keyword arguments of build_asnet
    loss_variant: str = "full"  # a key of asnet_keras.model.losses.LOSS_VARIANTS


VARIANTS = {
    v.name: v
    for v in (
        Variant("full", "ASNet"),
        Variant("wo_fixation", "w/o fixation", {"fixation_head": False}),
        Variant("wo_convlstm", "w/o convLSTM", {"use_convlstm": False}),
        Variant("wo_precision", "w/o L_P", loss_variant="no_precision"),
        Variant("wo_recall", "w/o L_R", loss_variant="no_recall"),
        Variant("wo_fmeasure", "w/o L_F", loss_variant="no_fmeasure"),
        Variant("wo_mae", "w/o L_MAE", loss_variant="no_mae"),
        Variant("wo_extra", "w/o extra loss", loss_variant="no_extra"),
    )
}

# Table 5 rows read from the full model's intermediate outputs, without retraining.
INTERMEDIATE_ROWS = {
    "conv5-output": "saliency_conv5",
    "conv4-output": "saliency_conv4",
    "conv3-output": "saliency_conv3",
    "conv2-output": "saliency_conv2",
}


def get_variant(name):
    """The `Variant` called `name`; ValueError listing the valid names otherwise."""
    try:
        return VARIANTS[name]
    except KeyError:
        raise ValueError(f"variant {name!r}: pass one of {', '.join(VARIANTS)}.") from None
