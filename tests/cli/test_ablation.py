"""The Table 5 runner: one folder per variant, resumable, subsets, settings guard.

Training and evaluation are stand-ins here (the real ones run in test_notebooks.py's
smoke ablation); these tests prove the runner's bookkeeping.
"""

import json
from pathlib import Path

import pytest

from asnet_keras.commands import ablation
from tests.support.results_fixtures import write_results


class Recorder:
    def __init__(self):
        self.trained, self.evaluated = [], []

    def train(self, kwargs):
        self.trained.append(kwargs["variant"])
        out = Path(kwargs["out"])
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(kwargs))
        (out / "best.weights.h5").write_bytes(b"")
        (out / "finished.json").write_text("{}")

    def evaluate(self, run, data, datasets, out, all_outputs, save_maps, batch_size):
        self.evaluated.append((run.parent.name, all_outputs))
        outputs = ("saliency_conv1", "saliency_conv2") if all_outputs else ("saliency_conv1",)
        write_results(out, datasets, sod_outputs=outputs)


def _config(tmp_path, **kw):
    kw.setdefault("variants", ["full", "wo_extra"])
    return ablation.AblationConfig(data=str(tmp_path / "data"), out=str(tmp_path / "abl"),
                                   eval_datasets=["synthetic-both"], input_size=32, epochs=1,
                                   steps_per_epoch=2, backbone_weights="none", **kw)


def test_each_variant_gets_a_run_and_an_eval_folder(tmp_path):
    rec = Recorder()
    done = ablation.run_ablation(_config(tmp_path), rec.train, rec.evaluate, log=lambda *_: None)
    assert done == {v: {"trained": True, "evaluated": True} for v in ("full", "wo_extra")}
    assert rec.evaluated == [("full", True), ("wo_extra", False)]  # all outputs for full only
    for variant in ("full", "wo_extra"):
        assert (tmp_path / "abl" / variant / "run" / "finished.json").is_file()
        assert (tmp_path / "abl" / variant / "eval" / "synthetic-both" / "results.json").is_file()
    summary = (tmp_path / "abl" / "summary.md").read_text()
    assert "conv2-output" in summary and "w/o extra loss" in summary
    assert "## Paper and ours" in summary  # one eval dataset stands for the paper's three


def test_second_call_skips_finished_variants(tmp_path):
    rec = Recorder()
    ablation.run_ablation(_config(tmp_path), rec.train, rec.evaluate, log=lambda *_: None)
    rec2 = Recorder()
    done = ablation.run_ablation(_config(tmp_path), rec2.train, rec2.evaluate, log=lambda *_: None)
    assert rec2.trained == [] and rec2.evaluated == []
    assert done == {v: {"trained": False, "evaluated": False} for v in ("full", "wo_extra")}


def test_interrupted_variant_is_resumed_where_it_stopped(tmp_path):
    rec = Recorder()
    ablation.run_ablation(_config(tmp_path), rec.train, rec.evaluate, log=lambda *_: None)
    (tmp_path / "abl" / "wo_extra" / "eval" / ablation.EVAL_FINISHED).unlink()  # eval interrupted
    (tmp_path / "abl" / "full" / "run" / "finished.json").unlink()  # training interrupted
    rec2 = Recorder()
    ablation.run_ablation(_config(tmp_path), rec2.train, rec2.evaluate, log=lambda *_: None)
    assert rec2.trained == ["full"]
    assert rec2.evaluated == [("full", True), ("wo_extra", False)]


def test_a_run_finished_with_other_settings_is_refused(tmp_path):
    rec = Recorder()
    ablation.run_ablation(_config(tmp_path), rec.train, rec.evaluate, log=lambda *_: None)
    bigger = _config(tmp_path)
    bigger.input_size = 64
    with pytest.raises(ValueError, match="input_size"):
        ablation.run_ablation(bigger, rec.train, rec.evaluate, log=lambda *_: None)


def test_variants_subset_and_unknown_variant(tmp_path):
    rec = Recorder()
    ablation.run_ablation(_config(tmp_path, variants=["wo_mae"]), rec.train, rec.evaluate,
                          log=lambda *_: None)
    assert rec.trained == ["wo_mae"] and not (tmp_path / "abl" / "full").exists()
    with pytest.raises(ValueError, match="wo_fixation"):
        _config(tmp_path, variants=["wo_everything"])


def test_cli_parses_flags_onto_the_config_fields():
    args = ablation.build_parser().parse_args([
        "--data", "D", "--out", "O", "--variants", "full,wo_extra", "--input-size", "32",
        "--epochs", "1", "--steps-per-epoch", "2", "--eval-datasets", "synthetic-both"])
    config = ablation.AblationConfig(**vars(args))
    assert config.variants == ["full", "wo_extra"] and config.input_size == 32
    assert config.eval_datasets == ["synthetic-both"] and config.steps_per_epoch == 2


def test_cli_error_is_a_message(tmp_path, capsys):
    assert ablation.main(["--data", "D", "--out", str(tmp_path), "--variants", "nope"]) == 2
    assert "pass one of" in capsys.readouterr().err
