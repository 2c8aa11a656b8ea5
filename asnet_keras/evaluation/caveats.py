"""Warnings written with results: scores that are not a held-out test, NaN counts."""

TRAINED_ON_ASNET = ("dut-omron",)  # ASNet's own training sets that are also SOD test sets


def _training_datasets(config):
    """Dataset names of a training run's config.json (`datasets`: list or comma string)."""
    if not config:
        return []
    value = config.get("datasets")
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    names = []
    for entry in value:
        entry = str(entry).strip()
        for sep in (":", "/"):
            entry = entry.split(sep)[0]
        if entry:
            names.append(entry)
    return names


def training_warnings(dataset, split, config, asnet_model=True):
    """Warnings for a dataset the model was trained on (run config and the paper)."""
    warnings = []
    trained = _training_datasets(config)
    if dataset in trained:
        if split == "test":
            warnings.append(
                f"'{dataset}' is one of the model's training datasets (run config.json); "
                f"this evaluation uses its '{split}' split, which is held out only if "
                "training read no test images."
            )
        else:
            warnings.append(
                f"TRAINED ON: '{dataset}' is one of the model's training datasets and split "
                f"'{split}' may have been seen in training; these scores are not a held-out test."
            )
    elif dataset in TRAINED_ON_ASNET and asnet_model:
        warnings.append(
            f"TRAINED ON: '{dataset}' is one of ASNet's training sets (paper §3.3: SALICON, "
            "THUS10K, DUT-OMRON); scores on it are not a held-out test."
        )
    return warnings


def scorer_warnings(scorer):
    """Warnings about the scoring itself (images without sAUC reference fixations)."""
    if scorer.fixation and scorer.missing_other:
        return [
            f"{scorer.missing_other} images have no entry in fixations.npz: their sAUC "
            "is NaN (counted in nan_count)."
        ]
    return []
