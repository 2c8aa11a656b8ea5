"""PR-curve and qualitative-grid figures: the PNG exists, has the right size, is not blank."""


import matplotlib.image
import numpy as np
import pytest

from asnet_keras.metrics import SalientObjectEvaluator
from asnet_keras.evaluation.plots import (
    GRID_COLUMNS,
    plot_pr_curves,
    plot_pr_curves_by_dataset,
    plot_qualitative_grid,
)


def read_png(path):
    img = matplotlib.image.imread(str(path))  # float in [0, 1], H×W×4
    return img


def synthetic_curve(k):
    recall = np.linspace(1.0, 0.0, 256)
    precision = np.clip(0.3 + 0.7 * (1 - recall**k), 0, 1)
    return recall, precision


def test_pr_plot_draws_one_line_per_result_set(tmp_path):
    ev = SalientObjectEvaluator()
    pred = np.array([[255, 128], [64, 0]], np.uint8)
    ev.step(pred, np.array([[255, 255], [0, 0]], np.uint8))
    curves = {
        "ours": ev.get_results(),  # evaluator result dict
        "pair": synthetic_curve(2),  # (recall, precision)
        "triple": (*synthetic_curve(4), 0.9),  # (recall, precision, maxF)
    }
    out = tmp_path / "pr.png"
    fig = plot_pr_curves(curves, out, title="ECSSD", figsize=(5, 4), dpi=80)
    ax = fig.axes[0]
    assert len(ax.get_lines()) == 3
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[0] == "ours (maxF=1.000)"  # the 2×2 example of the SOD tests has maxF = 1
    assert legend[1].startswith("pair (maxF_PR=")
    assert legend[2] == "triple (maxF=0.900)"
    assert ax.get_xlim() == (0.0, 1.0) and ax.get_ylim() == (0.0, 1.0)
    img = read_png(out)
    assert img.shape[:2] == (4 * 80, 5 * 80)
    assert img[..., :3].var() > 0


def test_pr_plot_per_dataset_has_one_panel_per_dataset(tmp_path):
    per_dataset = {
        name: {"A": synthetic_curve(2), "B": synthetic_curve(3)} for name in ("ECSSD", "HKU-IS", "PASCAL-S")
    }
    out = tmp_path / "sub" / "pr_all.png"
    fig = plot_pr_curves_by_dataset(per_dataset, out, panel_size=(3, 3), dpi=50)
    assert [ax.get_title() for ax in fig.axes] == ["ECSSD", "HKU-IS", "PASCAL-S"]
    assert all(len(ax.get_lines()) == 2 for ax in fig.axes)
    img = read_png(out)
    assert img.shape[:2] == (150, 450)
    assert img[..., :3].var() > 0


def test_pr_plot_rejects_bad_entries(tmp_path):
    with pytest.raises(ValueError, match="non-empty"):
        plot_pr_curves({}, tmp_path / "x.png")
    with pytest.raises(ValueError, match="recall, precision"):
        plot_pr_curves({"bad": (1, 2, 3, 4)}, tmp_path / "x.png")


def test_qualitative_grid_with_missing_cells(tmp_path):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    fix = np.zeros((30, 40), np.uint8)
    fix[10, 12] = 255
    sal = rng.random((30, 40))
    gt = (sal > 0.5).astype(np.uint8) * 255
    rows = [
        (image, fix, sal, gt),
        {"image": image, "saliency": sal},  # no fixation map, no mask (an FP-only or SOD-only set)
    ]
    out = tmp_path / "grid.png"
    fig = plot_qualitative_grid(rows, out, row_labels=["a", "b"], cell_size=(2, 1.5), dpi=50)
    assert len(fig.axes) == 8
    assert [ax.get_title() for ax in fig.axes[:4]] == list(GRID_COLUMNS)
    blank = [ax for ax in fig.axes if [t.get_text() for t in ax.texts] == ["n/a"]]
    assert len(blank) == 2 and all(not ax.get_images() for ax in blank)
    img = read_png(out)
    assert img.shape[:2] == (2 * 1.5 * 50, 4 * 2 * 50)
    assert img[..., :3].var() > 0


def test_pr_plot_accepts_a_single_result_dict(tmp_path):
    ev = SalientObjectEvaluator()
    ev.step(np.array([[255, 128], [64, 0]], np.uint8), np.array([[255, 255], [0, 0]], np.uint8))
    fig = plot_pr_curves(ev.get_results(), tmp_path / "one.png", label="ASNet")
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["ASNet (maxF=1.000)"]
