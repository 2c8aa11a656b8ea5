"""The paper-table notebooks: stored without outputs, and executed top to bottom (nbclient)
against results this test produces from the synthetic data with a smoke `make ablation`
(two variants, 32 px, 1 epoch × 2 steps), and against a missing results folder."""

import fcntl
import json
import math
import os
import re

import nbformat
import pytest

from asnet_keras import reporting
from asnet_keras.commands import notebooks
from tests.support.known_results import (
    EXPECTED,
    KNOWN,
    ablation_values,
    write_known_ablation,
)
from tests.support.results_fixtures import write_known_results

pytestmark = pytest.mark.slow

TABLES = {
    "table2_fp_mit1003": "table2",
    "table3_fp_pascal_s": "table3",
    "table4_sod": "table4",
    "table5_ablation": "table5",
}
FIGURES = ("fig5_pr_curves", "fig6_qualitative")
SMOKE_VARIANTS = ["full", "wo_extra"]
assert (len(notebooks.NOTEBOOKS), len(TABLES), len(FIGURES)) == (6, 4, 2)


def _stored(name):
    return nbformat.read(notebooks.NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)


# ------------------------------------------------------------------ stored notebooks


@pytest.mark.parametrize("name", notebooks.NOTEBOOKS)
def test_notebook_is_stored_without_outputs(name):
    nb = _stored(name)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name}: a code cell has stored outputs"
            assert cell.execution_count is None, f"{name}: a code cell has an execution count"


@pytest.mark.parametrize("name", notebooks.NOTEBOOKS)
def test_notebook_uses_python3_kernel_and_one_parameters_cell_first(name):
    nb = _stored(name)
    assert nb.metadata.kernelspec.name == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", [])
    assert "os.environ.get(" in code[0].source


def test_every_notebook_exists():
    stored = sorted(p.stem for p in notebooks.NOTEBOOK_DIR.glob("*.ipynb"))
    assert stored == sorted(notebooks.NOTEBOOKS)


# ------------------------------------------------------------------ produced results


def _shared_dir(tmp_path_factory):
    """A folder shared by pytest-xdist workers (the base temp's parent under xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def produced(tmp_path_factory):
    """Synthetic data, a smoke ablation of two variants, and its evaluation (built once,
    shared across xdist workers through a lock)."""
    root = _shared_dir(tmp_path_factory) / "notebook-results"
    root.mkdir(exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = root / "done.json"
        if not done.is_file():
            from asnet_keras.commands.ablation import AblationConfig, run_ablation
            from data_prep.synthetic import make_synthetic

            make_synthetic(root / "data", n=8, size=48, seed=0, n_test=4)
            config = AblationConfig(
                data=str(root / "data"), out=str(root / "ablation"), variants=SMOKE_VARIANTS,
                datasets=["synthetic-both"], eval_datasets=["synthetic-both"], input_size=32,
                epochs=1, steps_per_epoch=2, backbone_weights="none", save_maps=True)
            first = run_ablation(config, log=lambda *_: None)
            second = run_ablation(config, log=lambda *_: None)
            done.write_text(json.dumps({"first": first, "second": second}))
    return {
        "root": root,
        "data": root / "data",
        "ablation": root / "ablation",
        # the full variant's evaluation stands for `make eval`'s results
        "results": root / "ablation" / "full" / "eval",
        "datasets": "*=synthetic-both",
        "calls": json.loads((root / "done.json").read_text()),
    }


def _execute(shared, name, names=None, **folders):
    """Execute the notebooks ``names`` (default all) into ``shared/name`` once (other xdist
    workers reuse it)."""
    out = shared / name
    out.mkdir(exist_ok=True)
    with open(out / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / "outcome.json").is_file():
            outcome = notebooks.execute_all(out, names, quiet=True, jobs=2, timeout=300,
                                            **folders)
            (out / "outcome.json").write_text(json.dumps(outcome))
    outcome = json.loads((out / "outcome.json").read_text())
    return {name: (error, nbformat.read(out / f"{name}.ipynb", as_version=4))
            for name, error in outcome.items()}


@pytest.fixture(scope="session")
def executed(produced, tmp_path_factory):
    return _execute(_shared_dir(tmp_path_factory), "executed", results=produced["results"],
                    ablation=produced["ablation"], data=produced["data"],
                    datasets=produced["datasets"])


@pytest.fixture(scope="session")
def executed_missing(tmp_path_factory):
    shared = _shared_dir(tmp_path_factory)
    nowhere = shared / "no-such-folder"
    return _execute(shared, "executed-missing", results=nowhere, ablation=nowhere,
                    data=nowhere, datasets="")


@pytest.fixture(scope="session")
def executed_known(tmp_path_factory):
    """The table notebooks run against known results (`tests/support/known_results.py`)."""
    shared = _shared_dir(tmp_path_factory)
    known = shared / "known-results"
    with open(shared / ".known.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not known.is_dir():
            write_known_results(known / "eval", KNOWN)
            write_known_ablation(known / "ablation")
    return _execute(shared, "executed-known", names=list(TABLES), results=known / "eval",
                    ablation=known / "ablation", data=known, datasets="")


def _outputs(nb, tag=None):
    for cell in nb.cells:
        if cell.cell_type != "code" or (tag and tag not in cell.metadata.get("tags", [])):
            continue
        yield from cell.outputs


def _texts(nb, tag=None):
    out = []
    for o in _outputs(nb, tag):
        if o.output_type == "stream":
            out.append(o.text)
        elif o.output_type in ("execute_result", "display_data"):
            out.append(o.data.get("text/plain", ""))
    return out


def _errors(nb):
    return [f"{o.ename}: {o.evalue}" for o in _outputs(nb) if o.output_type == "error"]


# ------------------------------------------------------------------ execution


def test_smoke_ablation_trains_once_and_skips_finished_variants_on_the_second_call(produced):
    calls = produced["calls"]
    assert calls["first"] == {v: {"trained": True, "evaluated": True} for v in SMOKE_VARIANTS}
    assert calls["second"] == {v: {"trained": False, "evaluated": False} for v in SMOKE_VARIANTS}
    assert (produced["ablation"] / "summary.md").is_file()


@pytest.mark.parametrize("name", notebooks.NOTEBOOKS)
def test_notebook_executes_top_to_bottom(executed, name):
    error, nb = executed[name]
    assert error is None, error
    assert _errors(nb) == []


def _table_lines(nb):
    texts = _texts(nb, "comparison")
    assert len(texts) == 1, "the comparison cell shows one table"
    return texts[0].splitlines()


@pytest.mark.parametrize("name", TABLES)
def test_table_has_every_paper_row_and_a_finite_row_of_ours(executed, name):
    _, nb = executed[name]
    lines = _table_lines(nb)
    table = reporting.paper_table(TABLES[name])
    for row in table.rows:
        cells = [line for line in lines if re.split(r"\s{2,}", line.strip())[0].endswith(row.method)
                 and "(ours" not in line]
        assert cells, f"{name}: paper row {row.method!r} missing"
        assert re.split(r"\s{2,}", cells[0].strip())[1:] == list(row.printed)
    ours = [re.split(r"\s{2,}", line.strip()) for line in lines
            if "(ours" in line and "maxF_PR" not in line]
    finite = [cells for cells in ours
              if len(cells) == 1 + len(table.columns) and all(_is_finite(c) for c in cells[1:])]
    assert finite, f"{name}: no row of ours with finite numbers in\n" + "\n".join(lines)


def _is_finite(text):
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _rendered(nb):
    """The comparison cell's (text/plain, text/markdown) output."""
    (result,) = [o for o in _outputs(nb, "comparison") if o.output_type == "execute_result"]
    return result.data["text/plain"], result.data["text/markdown"]


@pytest.mark.parametrize("name", TABLES)
def test_notebook_renders_every_known_cell_in_its_place(executed_known, name):
    """Each row of ours and of differences, as the notebook shows it in text and Markdown."""
    error, nb = executed_known[name]
    assert error is None, error
    text, markdown = _rendered(nb)
    table_id = TABLES[name]
    if table_id == "table5":
        _, expected = ablation_values()
        rows = []
        for prow in reporting.paper_table("table5").rows:
            variant, output = prow.ours["variant"], prow.ours["output"]
            suffix = "" if output == "saliency_conv1" else f", {output}"
            rows.append((f"{prow.method} (ours: {variant}{suffix})",
                         [f"{value:.3f}" for value, _ in expected[prow.method]]))
            rows.append(("Δ ours − paper", [cell for _, cell in expected[prow.method]]))
    else:
        rows = [(label if not label.startswith("Δ") else "Δ ours − paper", cells)
                for label, cells in EXPECTED[table_id].items() if "ours" in label
                or label.startswith("Δ")]
    assert len(rows) == {"table2": 4, "table3": 4, "table4": 3, "table5": 24}[table_id]
    text_rows = [re.split(r"\s{2,}", line.strip()) for line in text.splitlines()]
    markdown_lines = markdown.splitlines()
    for label, cells in rows:
        assert f"| {label} | {' | '.join(cells)} |" in markdown_lines, label
        if all(cells):  # text drops empty cells: compare those rows in Markdown only
            assert [label, *cells] in text_rows, label


def test_table5_fills_the_smoke_variants_and_the_intermediate_outputs(executed):
    lines = _table_lines(executed["table5_ablation"][1])
    for label in ("ASNet (conv1-output) (ours: full)", "conv5-output (ours: full, saliency_conv5)",
                  "conv2-output (ours: full, saliency_conv2)", "w/o extra loss (ours: wo_extra)"):
        row = [re.split(r"\s{2,}", line.strip()) for line in lines if line.startswith(label)]
        assert row and all(_is_finite(c) for c in row[0][1:]), label


@pytest.mark.parametrize("name", FIGURES)
def test_figure_notebook_draws_inline(executed, name):
    _, nb = executed[name]
    images = [o for o in _outputs(nb, "figure") if "image/png" in o.get("data", {})]
    assert images, f"{name}: no figure drawn"


# ------------------------------------------------------------------ missing results


@pytest.mark.parametrize("name", notebooks.NOTEBOOKS)
def test_missing_results_folder_gives_the_command_not_a_traceback(executed_missing, name):
    error, nb = executed_missing[name]
    assert error is None, error
    assert _errors(nb) == []
    text = "\n".join(_texts(nb))
    assert "does not exist" in text
    assert "Produce them with" in text
    assert ("asnet evaluate" in text) or ("make ablation" in text)


def test_runner_cli_rejects_unknown_notebook(tmp_path, capsys):
    assert notebooks.main(["--out", str(tmp_path), "--notebooks", "table9"]) == 2
    assert "unknown notebook" in capsys.readouterr().err
