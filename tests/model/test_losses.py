"""ASNet's losses against values worked out by hand (paper Eqs. 1, 7–12; docs/model.md §2)."""

import math

import keras
import numpy as np
import pytest

from asnet_keras.model import losses as losses_module
from asnet_keras.model.losses import (
    SaliencyLoss,
    balanced_bce,
    fixation_kl,
    fmeasure_loss,
    mae_loss,
    precision_loss,
    recall_loss,
    saliency_loss,
)
from tests.support.backends import value_and_gradients

EPS = 1e-7


def maps(*rows_list):
    """Stack 2-D lists into a (batch, H, W, 1) float32 array."""
    return np.stack([np.asarray(r, "float32") for r in rows_list])[..., None]


def value(fn, y_true, y_pred):
    out = keras.ops.convert_to_numpy(fn(y_true, y_pred))
    assert out.shape == (y_true.shape[0],)
    assert np.all(np.isfinite(out))
    return out


# The 2×2 example used throughout:
#   S = [[1, 0],     Q = [[0.8, 0.4],
#        [0, 0]]          [0.2, 0.0]]
S = maps([[1, 0], [0, 0]])
Q = maps([[0.8, 0.4], [0.2, 0.0]])


def test_fixation_kl_by_hand():
    # G = [[1, 0], [0, 1]] → g = [0.5, 0, 0, 0.5];  P = 0.5 everywhere → p = 0.25.
    # KL = 0.5·log(0.5/0.25) + 0.5·log(0.5/0.25) = log 2.
    g = maps([[1, 0], [0, 1]])
    p = maps([[0.5, 0.5], [0.5, 0.5]])
    np.testing.assert_allclose(value(fixation_kl, g, p), [math.log(2)], rtol=1e-5)
    # The scale of G does not matter (both maps are normalised to sum 1).
    np.testing.assert_allclose(value(fixation_kl, 255 * g, p), [math.log(2)], rtol=1e-5)
    # A perfect prediction (P ∝ G) gives 0.
    np.testing.assert_allclose(value(fixation_kl, g, 0.3 * g), [0.0], atol=1e-5)


def test_fixation_kl_edge_cases_are_finite():
    # All-zero fixation map: g = 0 everywhere → 0, whatever P is.
    zeros = maps([[0, 0], [0, 0]])
    np.testing.assert_allclose(value(fixation_kl, zeros, Q), [0.0], atol=1e-7)
    # P exactly 0 where G has all its mass: g = [1, 0, 0, 0], p = [0, 1/3, 1/3, 1/3]
    # → 1·log(ε + 1/(0 + ε)) = log(1e7 + 1e-7).
    g = maps([[1, 0], [0, 0]])
    p = maps([[0, 1], [1, 1]])
    np.testing.assert_allclose(value(fixation_kl, g, p), [math.log(1e7 + 1e-7)], rtol=1e-4)
    # All-zero prediction.
    np.testing.assert_allclose(value(fixation_kl, g, zeros), [math.log(1.0 / EPS)], rtol=1e-4)


def test_balanced_bce_by_hand():
    # γ = 1/4 salient pixels: salient pixel weighted 1 − γ = 0.75, background γ = 0.25.
    # Q's 0.0 is clipped to ε, so log(1 − ε) for that pixel.
    # L_C = −(0.75·log 0.8 + 0.25·log 0.6 + 0.25·log 0.8 + 0.25·log(1 − ε)) / 4
    expected = -(0.75 * math.log(0.8) + 0.25 * math.log(0.6) + 0.25 * math.log(0.8)
                 + 0.25 * math.log(1 - EPS)) / 4
    np.testing.assert_allclose(value(balanced_bce, S, Q), [expected], rtol=1e-5)
    assert expected == pytest.approx(0.0877115, abs=1e-6)


def test_balanced_bce_empty_and_full_masks_and_hard_predictions():
    empty, full = maps([[0, 0], [0, 0]]), maps([[1, 1], [1, 1]])
    # Empty mask: γ = 0, so background pixels weigh 0 and there is no salient pixel → 0.
    np.testing.assert_allclose(value(balanced_bce, empty, Q), [0.0], atol=1e-7)
    # Full mask: γ = 1, salient pixels weigh 1 − γ = 0 → 0.
    np.testing.assert_allclose(value(balanced_bce, full, Q), [0.0], atol=1e-7)
    # Predictions of exactly 0 and 1, both wrong: q clipped to [ε, 1 − ε].
    # S = [[1, 0], [0, 0]], Q = [[0, 1], [1, 1]]:
    # −(0.75·log ε + 3·0.25·log(1 − (1 − ε))) / 4, evaluated in float32 as the op does.
    hard = maps([[0, 1], [1, 1]])
    one_minus = np.float32(1) - np.float32(1 - EPS)  # 1 − float32(1 − ε)
    expected = -(0.75 * math.log(EPS) + 0.75 * math.log(float(one_minus))) / 4
    np.testing.assert_allclose(value(balanced_bce, S, hard), [expected], rtol=1e-3)
    # And exactly right: tiny loss.
    assert value(balanced_bce, S, S)[0] < 1e-6


def test_precision_recall_fmeasure_mae_by_hand():
    # Σ s·q = 0.8, Σ q = 1.4, Σ s = 1.
    precision, recall = 0.8 / 1.4, 0.8 / 1.0
    fmeasure = 1.3 * precision * recall / (0.3 * precision + recall)  # 0.611765
    np.testing.assert_allclose(value(precision_loss, S, Q), [-precision], rtol=1e-5)
    np.testing.assert_allclose(value(recall_loss, S, Q), [-recall], rtol=1e-5)
    np.testing.assert_allclose(value(fmeasure_loss, S, Q), [-fmeasure], rtol=1e-5)
    assert fmeasure == pytest.approx(0.611765, abs=1e-6)
    # MAE = (|1 − 0.8| + 0.4 + 0.2 + 0) / 4 = 0.2.
    np.testing.assert_allclose(value(mae_loss, S, Q), [0.2], rtol=1e-5)


def test_precision_recall_fmeasure_with_empty_mask_and_zero_prediction():
    empty, zeros = maps([[0, 0], [0, 0]]), maps([[0, 0], [0, 0]])
    for fn in (precision_loss, recall_loss, fmeasure_loss):
        np.testing.assert_allclose(value(fn, empty, zeros), [0.0], atol=1e-7)
        np.testing.assert_allclose(value(fn, empty, Q), [0.0], atol=1e-7)
    # Full mask, prediction 1 everywhere: P = R = F = 1 (up to ε).
    full, ones = maps([[1, 1], [1, 1]]), maps([[1, 1], [1, 1]])
    for fn in (precision_loss, recall_loss, fmeasure_loss):
        np.testing.assert_allclose(value(fn, full, ones), [-1.0], rtol=1e-5)
    np.testing.assert_allclose(value(mae_loss, full, zeros), [1.0])


def test_saliency_loss_is_eq7_with_alpha_01():
    l_c = 0.0877115
    precision, recall = 0.8 / 1.4, 0.8
    fmeasure = 1.3 * precision * recall / (0.3 * precision + recall)
    expected = l_c + 0.1 * (-precision - recall - fmeasure + 0.2)  # = −0.090607
    np.testing.assert_allclose(value(saliency_loss, S, Q), [expected], rtol=1e-4)
    assert expected == pytest.approx(-0.090607, abs=1e-5)


@pytest.mark.parametrize(
    "variant, dropped",
    [("full", ()), ("no_precision", ("P",)), ("no_recall", ("R",)), ("no_fmeasure", ("F",)),
     ("no_mae", ("MAE",)), ("no_extra", ("P", "R", "F", "MAE"))],
)
def test_loss_variants_drop_exactly_their_term(variant, dropped):
    terms = {"P": -0.8 / 1.4, "R": -0.8, "MAE": 0.2}
    terms["F"] = -1.3 * (0.8 / 1.4) * 0.8 / (0.3 * 0.8 / 1.4 + 0.8)
    expected = 0.0877115 + 0.1 * sum(v for k, v in terms.items() if k not in dropped)
    np.testing.assert_allclose(value(SaliencyLoss(variant).call, S, Q), [expected], rtol=1e-4)


def test_per_sample_values_for_a_batch():
    batch_true = np.concatenate([S, maps([[0, 0], [0, 0]])])
    batch_pred = np.concatenate([Q, Q])
    out = value(mae_loss, batch_true, batch_pred)
    # second sample: (0.8 + 0.4 + 0.2 + 0) / 4 = 0.35
    np.testing.assert_allclose(out, [0.2, 0.35], rtol=1e-5)


def test_zero_sample_weight_gives_zero_loss_and_zero_gradient():
    loss = SaliencyLoss("full")
    y_true = np.concatenate([S, maps([[0, 1], [1, 1]])])
    y_pred = np.concatenate([Q, maps([[0.3, 0.9], [0.1, 0.6]])])
    total, (grad,), _ = value_and_gradients(
        lambda q: loss(y_true, q, sample_weight=np.array([0.0, 1.0], "float32")), [y_pred]
    )
    np.testing.assert_array_equal(grad[0], 0.0)
    assert np.any(grad[1] != 0)
    # The weighted batch loss equals sample 1's loss alone divided by the batch size 2.
    alone = keras.ops.convert_to_numpy(SaliencyLoss("full").call(y_true[1:], y_pred[1:]))
    np.testing.assert_allclose(total, float(alone[0]) / 2, rtol=1e-5)


@pytest.mark.backend_heavy  # the loss-level test above covers every backend cheaply
def test_zero_weight_sample_does_not_change_model_gradients():
    from asnet_keras import build_asnet, compile_asnet

    model = compile_asnet(build_asnet((32, 32, 3), backbone_weights=None), jit_compile=False)
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    shapes = [tuple(o.shape[1:]) for o in model.outputs]

    def grads(targets_for_sample0):
        targets = [np.concatenate([t0[None], (rng.uniform(size=(1,) + s) > 0.5)]).astype("float32")
                   for t0, s in zip(targets_for_sample0, shapes, strict=True)]
        weights = tuple(np.array([0.0, 1.0], "float32") for _ in targets)

        def total_loss():
            outputs = model(images, training=False)
            return model.compute_loss(
                x=images, y=tuple(targets), y_pred=outputs, sample_weight=weights
            )

        total, _, gradients = value_and_gradients(total_loss, variables=model.trainable_weights)
        return gradients, total

    state = np.random.default_rng(5).bit_generator.state
    rng.bit_generator.state = state
    first, total_a = grads([np.zeros(s, "float32") for s in shapes])
    rng.bit_generator.state = state
    second, total_b = grads([np.ones(s, "float32") for s in shapes])
    np.testing.assert_allclose(float(total_a), float(total_b), rtol=1e-6)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-9)
        assert np.all(np.isfinite(a))


def test_loss_objects_serialise():
    assert losses_module.saliency_loss_for("no_mae").variant == "no_mae"
    restored = keras.losses.deserialize(keras.losses.serialize(SaliencyLoss("no_mae")))
    assert isinstance(restored, SaliencyLoss) and restored.variant == "no_mae"
    assert keras.saving.get_registered_object("asnet_keras>fixation_kl") is fixation_kl
    assert keras.losses.deserialize(keras.losses.serialize(fixation_kl)) is fixation_kl
    with pytest.raises(ValueError, match="variant"):
        SaliencyLoss("no_everything")


@pytest.mark.slow
def test_small_model_fits_four_images():
    """A 32-px model from scratch fits four fixed synthetic images with Adam.

    Every loss term is bounded below: KL ≥ 0, L_C ≥ 0, −P, −R, −F ≥ −1, MAE ≥ 0, so the
    total of one fixation and five saliency outputs is ≥ 5·0.1·(−3) = −1.5. The test
    asks the gap to that bound to fall by at least half.
    """
    from asnet_keras import build_asnet, compile_asnet

    model = build_asnet((32, 32, 3), backbone_weights=None)
    compile_asnet(model, learning_rate=1e-4, jit_compile=False)  # the paper's Adam rate
    rng = np.random.default_rng(7)
    images = rng.uniform(40, 90, (4, 32, 32, 3)).astype("float32")
    masks = np.zeros((4, 32, 32, 1), "float32")
    for i, (r, c) in enumerate([(4, 4), (12, 16), (18, 6), (8, 20)]):
        images[i, r:r + 10, c:c + 10] = (230, 60, 40)
        masks[i, r:r + 10, c:c + 10] = 1.0
    targets = []
    for name, out in zip(model.output_names, model.outputs, strict=True):
        size = out.shape[1]
        factor = 32 // size  # area resizing by a whole factor: the mean of each block
        resized = masks.reshape(4, size, factor, size, factor, 1).mean(axis=(2, 4))
        targets.append(resized if name == "fixation" else (resized >= 0.5).astype("float32"))
    bound = -1.5
    history = model.fit(images, targets, batch_size=4, epochs=30, verbose=0)  # 30 steps
    start, end = history.history["loss"][0], history.history["loss"][-1]
    assert end - bound <= 0.5 * (start - bound), (start, end)


def test_precision_and_recall_are_per_sample_in_a_batch():
    # sample 2's mask is the other top pixel: Σ s·q = 0.4, Σ q = 1.4, Σ s = 1
    batch_true = np.concatenate([S, maps([[0, 1], [0, 0]])])
    batch_pred = np.concatenate([Q, Q])
    np.testing.assert_allclose(value(precision_loss, batch_true, batch_pred),
                               [-0.8 / 1.4, -0.4 / 1.4], rtol=1e-5)
    np.testing.assert_allclose(value(recall_loss, batch_true, batch_pred), [-0.8, -0.4],
                               rtol=1e-5)


def test_precision_and_recall_stay_finite_when_a_sum_equals_epsilon():
    # P = Σ s·q / (Σ q + ε): a prediction whose only mass is q = ε on the salient pixel
    # gives ε / (ε + ε) = 1/2 (with − ε the denominator would be 0).
    # R = Σ s·q / (Σ s + ε): a soft mask whose only mass is s = ε under q = 0.8 gives
    # 0.8 ε / (ε + ε) = 0.4.
    q_eps = maps([[EPS, 0], [0, 0]])
    np.testing.assert_allclose(value(precision_loss, S, q_eps), [-0.5], rtol=1e-6)
    s_eps = maps([[EPS, 0], [0, 0]])
    np.testing.assert_allclose(value(recall_loss, s_eps, Q), [-0.4], rtol=1e-6)


def test_ground_truth_takes_the_prediction_dtype():
    # a uint8 mask against a float16 prediction: the loss is float16, the mask cast to it
    mask = (S * 255).astype("uint8") // 255
    out = keras.ops.convert_to_numpy(mae_loss(mask, Q.astype("float16")))
    assert out.dtype == np.float16
    np.testing.assert_allclose(out, [0.2], rtol=1e-3)  # (0.2 + 0.4 + 0.2 + 0) / 4


def test_saliency_loss_objects_name_reduce_and_serialise_their_settings():
    default = SaliencyLoss()
    assert (default.variant, default.alpha, default.name) == ("full", 0.1, "saliency_loss_full")
    assert SaliencyLoss("no_mae").name == "saliency_loss_no_mae"
    assert SaliencyLoss("no_mae", name="mine").name == "mine"
    assert losses_module.saliency_loss_for().variant == "full"
    # Keras' own arguments reach the base class: reduction="sum" adds the per-sample
    # values of the batch instead of averaging them. Sample 2 is Q against an empty mask:
    # L_C = 0 (γ = 0), P = R = F = 0, MAE = (0.8 + 0.4 + 0.2 + 0) / 4 = 0.35, so Eq. 7
    # gives 0.1 · 0.35 = 0.035.
    y_true = np.concatenate([S, maps([[0, 0], [0, 0]])])
    y_pred = np.concatenate([Q, Q])
    eq7 = 0.0877115 + 0.1 * (-0.8 / 1.4 - 0.8 - 1.3 * (0.8 / 1.4) * 0.8 / (0.3 * 0.8 / 1.4 + 0.8)
                             + 0.2)
    summed = keras.ops.convert_to_numpy(SaliencyLoss(reduction="sum")(y_true, y_pred))
    np.testing.assert_allclose(summed, eq7 + 0.035, rtol=1e-4)
    # alpha is part of the config: a restored loss keeps α = 0.5
    restored = keras.losses.deserialize(keras.losses.serialize(SaliencyLoss("no_mae", alpha=0.5)))
    assert (restored.variant, restored.alpha) == ("no_mae", 0.5)


def _two_output_model():
    """A real two-output Keras model named like ASNet's outputs (one 1×1 convolution each):
    `compile_asnet` reads only the output names, so this checks its wiring in a second."""
    inputs = keras.Input((4, 4, 3))
    fixation = keras.layers.Conv2D(1, 1, activation="sigmoid", name="fixation")(inputs)
    saliency = keras.layers.Conv2D(1, 1, activation="sigmoid", name="saliency_conv1")(inputs)
    return keras.Model(inputs, [fixation, saliency])


def test_compile_asnet_gives_each_output_its_loss_and_adam_at_the_paper_rate(tmp_path):
    model = losses_module.compile_asnet(_two_output_model())
    assert model.loss["fixation"] is fixation_kl
    assert isinstance(model.loss["saliency_conv1"], SaliencyLoss)
    assert model.loss["saliency_conv1"].variant == "full"
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(1e-4)
    assert isinstance(model.jit_compile, bool)  # "auto", resolved by Keras
    # the keyword arguments reach model.compile; a .keras file reloads with the losses
    model = losses_module.compile_asnet(_two_output_model(), loss_variant="no_recall",
                                        learning_rate=3e-3, jit_compile=False,
                                        steps_per_execution=3)
    assert (model.jit_compile, model.steps_per_execution) == (False, 3)
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(3e-3)
    model.save(tmp_path / "compiled.keras")
    restored = keras.models.load_model(tmp_path / "compiled.keras")
    assert restored.loss["fixation"] is fixation_kl
    assert restored.loss["saliency_conv1"].variant == "no_recall"
    sgd = keras.optimizers.SGD(0.5)
    assert losses_module.compile_asnet(_two_output_model(), sgd).optimizer is sgd


def test_asnet_losses_defaults_and_refuses_an_unknown_output():
    losses = losses_module.asnet_losses(["fixation_conv4", "saliency_conv5"])
    assert losses["fixation_conv4"] is fixation_kl
    assert losses["saliency_conv5"].variant == "full"
    with pytest.raises(ValueError, match=r"^output 'edges' is neither a fixation nor a "
                                         r"saliency map\.$"):
        losses_module.asnet_losses(["fixation", "edges"])
