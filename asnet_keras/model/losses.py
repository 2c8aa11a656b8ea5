"""ASNet's losses (paper §3.1–3.3, with the corrections of docs/model.md §2).

Every loss takes maps shaped (batch, H, W, 1) — ground truth first, prediction second,
both in [0, 1] — and returns one value per sample, shape (batch,), so that Keras'
per-output `sample_weight` can switch a loss off for a sample without that label
(Eq. 13's y_A and y_S). All are written with `keras.ops` only and stay finite for empty
and full masks, all-zero fixation maps and predictions of exactly 0 or 1.

Example:
    >>> model = build_asnet((224, 224, 3))
    >>> compile_asnet(model)            # one loss per named output, Adam 1e-4
    >>> model.fit(dataset)              # dataset yields (image, targets, sample_weights)
"""

import keras
from keras import ops

# β² of the F-measure (Eq. 11, after Achanta et al. [1]) is the evaluation's β²
# (docs/metrics.md §B.1), defined once in the metrics.
from asnet_keras.metrics.salient_object import BETA2

# ε of Eqs. 9–11 and of the KL normalisation; also the clip of log arguments.
EPSILON = 1e-7
# α1 … α4 of Eq. 7, all 0.1 in the paper.
ALPHA = 0.1

# The extra terms of Eq. 7 besides L_C, by name.
EXTRA_TERMS = ("precision", "recall", "fmeasure", "mae")

# Table 5's loss ablations: which extra terms each variant keeps.
LOSS_VARIANTS = {
    "full": EXTRA_TERMS,
    "no_precision": ("recall", "fmeasure", "mae"),
    "no_recall": ("precision", "fmeasure", "mae"),
    "no_fmeasure": ("precision", "recall", "mae"),
    "no_mae": ("precision", "recall", "fmeasure"),
    "no_extra": (),
}

_PIXEL_AXES = (1, 2, 3)


def _cast(y_true, y_pred):
    y_pred = ops.convert_to_tensor(y_pred)
    return ops.cast(y_true, y_pred.dtype), y_pred


def _true_positive_sum(s, q):
    return ops.sum(s * q, axis=_PIXEL_AXES)


def _precision(s, q):
    """P = Σ s·q / (Σ q + ε), per sample (the positive quantity behind Eq. 9)."""
    return _true_positive_sum(s, q) / (ops.sum(q, axis=_PIXEL_AXES) + EPSILON)


def _recall(s, q):
    """R = Σ s·q / (Σ s + ε), per sample (the positive quantity behind Eq. 10)."""
    return _true_positive_sum(s, q) / (ops.sum(s, axis=_PIXEL_AXES) + EPSILON)


@keras.saving.register_keras_serializable(package="asnet_keras")
def fixation_kl(y_true, y_pred):
    """Eq. 1: KL divergence of the fixation map P from the ground-truth density G.

    Both maps are first normalised to sum to 1 (docs/model.md §2: taken literally with G,
    P in [0, 1] the loss is minimised by P = 1 everywhere):
        g = G / (Σ G + ε),  p = P / (Σ P + ε),  L = Σ_x g·log(ε + g / (p + ε)).
    The paper's 1/(14·14) prefactor is dropped: it is a constant, and at that scale the
    fixation term would be ~200× weaker against the five saliency terms of Eq. 13 than
    in the saliency works Eq. 1 follows. An all-zero G gives exactly 0.

    Args:
        y_true: (batch, h, w, 1) ground-truth fixation density, any non-negative scale.
        y_pred: (batch, h, w, 1) predicted fixation map P in [0, 1].
    Returns:
        (batch,) loss per sample.
    """
    g, p = _cast(y_true, y_pred)
    g = g / (ops.sum(g, axis=_PIXEL_AXES, keepdims=True) + EPSILON)
    p = p / (ops.sum(p, axis=_PIXEL_AXES, keepdims=True) + EPSILON)
    return ops.sum(g * ops.log(EPSILON + g / (p + EPSILON)), axis=_PIXEL_AXES)


@keras.saving.register_keras_serializable(package="asnet_keras")
def balanced_bce(y_true, y_pred):
    """Eq. 8, class-balanced binary cross-entropy (sign fixed, docs/model.md §2).

        L_C = −(1/N) Σ_x [ γ·(1 − s)·log(1 − q) + (1 − γ)·s·log q ],
    with γ = the fraction of salient pixels of this sample's mask S, so salient pixels
    weigh (1 − γ) and background pixels γ. q is clipped to [ε, 1 − ε]. An empty mask
    (γ = 0) gives 0: the formula weighs its background by γ = 0.

    Args:
        y_true: (batch, h, w, 1) binary mask S.
        y_pred: (batch, h, w, 1) saliency map Q in [0, 1].
    Returns:
        (batch,) loss per sample.
    """
    s, q = _cast(y_true, y_pred)
    q = ops.clip(q, EPSILON, 1.0 - EPSILON)
    gamma = ops.mean(s, axis=_PIXEL_AXES, keepdims=True)
    per_pixel = gamma * (1.0 - s) * ops.log(1.0 - q) + (1.0 - gamma) * s * ops.log(q)
    return -ops.mean(per_pixel, axis=_PIXEL_AXES)


@keras.saving.register_keras_serializable(package="asnet_keras")
def precision_loss(y_true, y_pred):
    """Eq. 9: L_P = −Σ s·q / (Σ q + ε). (batch, h, w, 1) ×2 → (batch,)."""
    s, q = _cast(y_true, y_pred)
    return -_precision(s, q)


@keras.saving.register_keras_serializable(package="asnet_keras")
def recall_loss(y_true, y_pred):
    """Eq. 10: L_R = −Σ s·q / (Σ s + ε). (batch, h, w, 1) ×2 → (batch,)."""
    s, q = _cast(y_true, y_pred)
    return -_recall(s, q)


@keras.saving.register_keras_serializable(package="asnet_keras")
def fmeasure_loss(y_true, y_pred):
    """Eq. 11 with the sign settled (docs/model.md §2): L_F = −(1 + β²)·P·R / (β²·P + R + ε).

    P and R are the positive precision and recall of Eqs. 9–10 (Eq. 11 as printed builds
    F from the negated L_P and L_R, which flips its sign). β² = 0.3.
    (batch, h, w, 1) ×2 → (batch,).
    """
    s, q = _cast(y_true, y_pred)
    precision, recall = _precision(s, q), _recall(s, q)
    return -(1.0 + BETA2) * precision * recall / (BETA2 * precision + recall + EPSILON)


@keras.saving.register_keras_serializable(package="asnet_keras")
def mae_loss(y_true, y_pred):
    """Eq. 12: L_MAE = (1/N) Σ |s − q|. (batch, h, w, 1) ×2 → (batch,)."""
    s, q = _cast(y_true, y_pred)
    return ops.mean(ops.abs(s - q), axis=_PIXEL_AXES)


_EXTRA_LOSSES = {
    "precision": precision_loss,
    "recall": recall_loss,
    "fmeasure": fmeasure_loss,
    "mae": mae_loss,
}


@keras.saving.register_keras_serializable(package="asnet_keras")
def saliency_loss(y_true, y_pred):
    """Eq. 7 in full: L_C + 0.1·(L_P + L_R + L_F + L_MAE). (batch, h, w, 1) ×2 → (batch,)."""
    return _eq7(y_true, y_pred, EXTRA_TERMS, ALPHA)


def _eq7(y_true, y_pred, terms, alpha):
    """L_C + α·Σ_{t ∈ terms} L_t, per sample."""
    total = balanced_bce(y_true, y_pred)
    for term in terms:
        total = total + alpha * _EXTRA_LOSSES[term](y_true, y_pred)
    return total


@keras.saving.register_keras_serializable(package="asnet_keras")
class SaliencyLoss(keras.losses.Loss):
    """Eq. 7 for one saliency output, or one of Table 5's loss ablations.

    L_Sal = L_C + α·Σ_{t ∈ terms} L_t with α = 0.1 (the paper's α1 … α4).

    Args:
        variant: a key of `LOSS_VARIANTS`: "full" (Eq. 7), "no_precision",
            "no_recall", "no_fmeasure", "no_mae" (`w/o L_P` … `w/o L_MAE`) or
            "no_extra" (`w/o extra loss`: L_C alone).
        alpha: weight of each extra term.
    """

    def __init__(self, variant="full", alpha=ALPHA, name=None, **kwargs):
        if variant not in LOSS_VARIANTS:
            raise ValueError(f"variant={variant!r}: pass one of {sorted(LOSS_VARIANTS)}.")
        super().__init__(name=name or f"saliency_loss_{variant}", **kwargs)
        self.variant = variant
        self.alpha = float(alpha)

    def call(self, y_true, y_pred):
        return _eq7(y_true, y_pred, LOSS_VARIANTS[self.variant], self.alpha)

    def get_config(self):
        config = super().get_config()
        config.update(variant=self.variant, alpha=self.alpha)
        return config


def saliency_loss_for(variant="full"):
    """The saliency loss of one Table 5 loss variant (see `LOSS_VARIANTS`)."""
    return SaliencyLoss(variant)


def asnet_losses(output_names, loss_variant="full"):
    """One loss per named output: KL for fixation outputs, Eq. 7 for saliency outputs.

    Args:
        output_names: the model's output names (`model.output_names`).
        loss_variant: the saliency loss variant (`LOSS_VARIANTS`).
    Returns:
        dict output name → loss.
    """
    losses = {}
    for name in output_names:
        if name.startswith("fixation"):
            losses[name] = fixation_kl
        elif name.startswith("saliency"):
            losses[name] = SaliencyLoss(loss_variant)
        else:
            raise ValueError(f"output {name!r} is neither a fixation nor a saliency map.")
    return losses


def compile_asnet(
    model, optimizer=None, *, learning_rate=1e-4, loss_variant="full", jit_compile="auto", **kwargs
):
    """Compile `model` with one loss per named output (Eq. 13).

    The total loss is Σ over outputs of the per-output losses; Keras multiplies each
    per-sample loss by that output's `sample_weight` (y_A for fixation outputs, y_S for
    saliency outputs) and divides by the batch size, which is Eq. 13 up to the constant
    1/batch.

    Args:
        model: an ASNet model from `build_asnet`.
        optimizer: defaults to Adam(learning_rate) (paper §3.3: Adam, 1e-4).
        learning_rate: used only when `optimizer` is None; may be a schedule.
        loss_variant: saliency loss variant of Table 5 (`LOSS_VARIANTS`).
        jit_compile: passed to `model.compile`.
        **kwargs: more `model.compile` arguments.
    Returns:
        the same model, compiled.
    """
    if optimizer is None:
        optimizer = keras.optimizers.Adam(learning_rate)
    model.compile(
        optimizer=optimizer,
        loss=asnet_losses(model.output_names, loss_variant),
        jit_compile=jit_compile,
        **kwargs,
    )
    return model
