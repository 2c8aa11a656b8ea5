"""Convert the authors' trained `ASNet.h5` (Keras 2) into a Keras 3 `released` model.

The command line is `asnet convert-released` (thin wrapper of
`convert_released` below):

    asnet convert-released --weights ASNet.h5 --out weights/asnet_released.keras

The file is read with h5py alone (no Keras 2 needed), in either layout Keras 2 writes
(docs/released_model.md §5): `save_weights` (layer groups at the root, root attribute
`layer_names`) or `save` / `ModelCheckpoint` (the same groups under `model_weights`;
the optimizer state is ignored). Every array is mapped onto the `released` model
(`asnet_keras.model.released.graph`, docs/released_model.md §1) by layer name:

- the 32 layers the released code names (VGG16's `block*_conv*`, `conv5_lstm1`,
  `att_conv5`, …) must be in the file under the same name;
- the 5 layers Keras 2 auto-named (`batch_normalization_N` ×4, `learning_prior_N`) are
  matched by class prefix in the order of their numbers, since those numbers depend on
  what else the training script had built (docs/released_model.md §1.3); the converter says
  which file layer went where.

Every array's shape is checked. A file with a missing, extra or mis-shaped layer is
refused, with the list, and nothing is written. `--by-order` instead pairs the file's
weighted layers with the model's by position, as Keras 2's own `load_weights` (and so the
authors' `main.py`) did (docs/released_model.md §5.3); use it only if the names differ.

Outputs: the model as `.keras` (loads with `keras.models.load_model` after
`import asnet_keras.model.released`) and its weights as `.weights.h5` (for a model built by
`build_asnet(config="released", recurrence=...)` with the same recurrence).
"""

import os
import re
from dataclasses import dataclass

import h5py
import numpy as np

from asnet_keras.model.released.graph import AUTO_NAMED, KERAS2_LOAD_ORDER, build_released_graph

# Expected weight-name suffixes per layer kind, in Keras 2's storage order (§1.2, §5.1);
# a check only (the arrays are taken in the order of the file's `weight_names`).
_SUFFIXES = {
    "conv": ("kernel", "bias"),
    "convlstm": ("kernel", "recurrent_kernel", "bias"),
    "batchnorm": ("gamma", "beta", "moving_mean", "moving_variance"),
    "prior": ("W",),
}
_KINDS = {
    "Conv2D": "conv",
    "ConvLSTM2D": "convlstm",
    "StaticConvLSTM2D": "convlstm",
    "BatchNormalization": "batchnorm",
    "LearningPrior": "prior",
}


class ConversionError(ValueError):
    """The file cannot be converted; the message lists why and what to do."""


@dataclass
class FileLayer:
    """One layer group of a Keras 2 file that holds weights."""

    name: str
    position: int  # index in the file's `layer_names`
    weight_names: list
    arrays: list


@dataclass
class Target:
    """One weighted layer of the `released` model."""

    name: str
    kind: str
    shapes: list


# ----------------------------------------------------------------------------------
# Reading the Keras 2 file (docs/released_model.md §5).


def _as_str(value):
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def _read_str_list(attrs, name):
    """A list-of-strings attribute, also when Keras 2.1.5+ split it into name0, name1, …"""
    if name in attrs:
        values = attrs[name]
    elif f"{name}0" in attrs:
        values, chunk = [], 0
        while f"{name}{chunk}" in attrs:
            values.extend(attrs[f"{name}{chunk}"])
            chunk += 1
    else:
        return None
    return [_as_str(v) for v in np.asarray(values).ravel()] if len(values) else []


def read_keras2_file(path):
    """Read a Keras 2 HDF5 file (weights-only or full-model) with h5py.

    Returns:
        (info, layers): info is a dict with "layout" ("weights" or "model"),
        "keras_version", "backend"; layers lists a `FileLayer` for each layer with weights,
        in `layer_names` order, arrays as numpy.
    Raises:
        ConversionError: not an HDF5 file, or not in a Keras 2 layout.
    """
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise ConversionError(f"{path}: cannot be opened as an HDF5 file ({error}).") from None
    with handle:
        if _read_str_list(handle.attrs, "layer_names") is not None:
            root, layout = handle, "weights"
        elif "model_weights" in handle:
            root, layout = handle["model_weights"], "model"
        else:
            raise ConversionError(
                f"{path}: not a Keras 2 weights file: it has neither a root attribute "
                "`layer_names` (save_weights) nor a `model_weights` group (save)."
            )
        info = {"layout": layout}
        for key in ("keras_version", "backend"):
            value = root.attrs.get(key, handle.attrs.get(key))
            info[key] = None if value is None else _as_str(value)
        names = _read_str_list(root.attrs, "layer_names")
        if names is None:
            raise ConversionError(f"{path}: the `model_weights` group has no `layer_names`.")
        layers = []
        for position, name in enumerate(names):
            if name not in root:
                raise ConversionError(f"{path}: `layer_names` lists {name!r}, but no such group.")
            group = root[name]
            weight_names = _read_str_list(group.attrs, "weight_names") or []
            arrays = []
            for weight_name in weight_names:
                if weight_name not in group:
                    raise ConversionError(
                        f"{path}: layer {name!r} lists weight {weight_name!r}, but the "
                        "dataset is not in its group."
                    )
                arrays.append(np.asarray(group[weight_name]))
            if arrays:
                layers.append(FileLayer(name, position, weight_names, arrays))
    return info, layers


# ----------------------------------------------------------------------------------
# Mapping file layers onto the model.


def released_targets(model):
    """The model's 37 weighted layers (§1.1) as `Target`s, in Keras 2's file order (§5.3)."""
    targets = []
    for name in KERAS2_LOAD_ORDER:
        layer = model.get_layer(name)
        kind = _KINDS.get(type(layer).__name__)
        if kind is None:
            raise ConversionError(f"layer {name!r} of the model is a {type(layer).__name__}.")
        targets.append(Target(name, kind, [tuple(w.shape) for w in layer.weights]))
    return targets


def _auto_suffix(name, prefix):
    """Numeric suffix of an auto-generated Keras name (`prefix` alone counts as 0)."""
    match = re.fullmatch(rf"{re.escape(prefix)}(?:_(\d+))?", name)
    if match is None:
        return None
    return int(match.group(1) or 0)


def plan_mapping(file_layers, targets, *, by_order=False):
    """Pair every target with one file layer, or raise listing every problem.

    By name (default): explicit names exactly; auto-named layers (`AUTO_NAMED`) by class
    prefix, in the order of their numeric suffixes, which must agree with their order in
    the file (docs/released_model.md §1.3). By order (`by_order=True`): position by position
    over the weighted layers, as Keras 2's `load_weights` (§5.3).

    Returns:
        (pairs, notes): pairs is a list of (Target, FileLayer) in target order; notes
        are lines saying what was matched other than by identical name.
    Raises:
        ConversionError: missing, extra, ambiguous or mis-shaped layers (all listed).
    """
    notes, missing, extra, ambiguous = [], [], [], []
    if by_order:
        if len(file_layers) != len(targets):
            raise ConversionError(
                f"--by-order: the file has {len(file_layers)} layers with weights, the "
                f"released model {len(targets)}: "
                + ", ".join(layer.name for layer in file_layers)
            )
        pairs = list(zip(targets, file_layers))
        notes += [
            f"by order: file layer {f.name!r} → {t.name!r}" for t, f in pairs if t.name != f.name
        ]
    else:
        by_name = {layer.name: layer for layer in file_layers}
        matched = {}
        auto = {name for names in AUTO_NAMED.values() for name in names}
        for target in targets:
            if target.name not in auto:
                if target.name in by_name:
                    matched[target.name] = by_name[target.name]
                else:
                    missing.append(target.name)
        for prefix, ours in AUTO_NAMED.items():
            found = [
                (_auto_suffix(layer.name, prefix), layer)
                for layer in file_layers
                if _auto_suffix(layer.name, prefix) is not None
            ]
            found.sort(key=lambda item: item[0])
            candidates = [layer for _, layer in found]
            listed = ", ".join(layer.name for layer in candidates) or "none"
            if [c.position for c in candidates] != sorted(c.position for c in candidates):
                ambiguous.append(
                    f"{prefix}_N: the order of the numbers ({listed}) differs from the "
                    "order of the layers in the file, so which is which is ambiguous"
                )
                continue
            if len(candidates) < len(ours):
                missing += [
                    f"{name} (auto-named; the file has {len(candidates)} {prefix} "
                    f"layer(s): {listed})"
                    for name in ours[len(candidates) :]
                ]
            elif len(candidates) > len(ours):
                ambiguous.append(
                    f"{prefix}_N: the file has {len(candidates)} ({listed}), the model "
                    f"{len(ours)}, so which is which is ambiguous"
                )
                continue
            for name, layer in zip(ours, candidates):
                matched[name] = layer
                notes.append(
                    f"auto-generated name: file layer {layer.name!r} → {name!r} "
                    f"(matched by class and order of {prefix}_N, shapes checked)"
                )
        used = {id(layer) for layer in matched.values()}
        extra = [layer.name for layer in file_layers if id(layer) not in used]
        pairs = [(t, matched[t.name]) for t in targets if t.name in matched]

    misshaped = []
    for target, layer in pairs:
        found = [tuple(a.shape) for a in layer.arrays]
        if len(found) != len(target.shapes):
            misshaped.append(
                f"{target.name}: the file layer {layer.name!r} has {len(found)} arrays "
                f"{found}, the model needs {len(target.shapes)} {target.shapes}"
            )
            continue
        for index, (weight_name, have, need) in enumerate(
            zip(layer.weight_names, found, target.shapes)
        ):
            if have != need:
                misshaped.append(
                    f"{target.name}: array {index} {weight_name!r} has shape {have}, "
                    f"the model needs {need}"
                )
        suffixes = [re.sub(r":\d+$", "", w).rsplit("/", 1)[-1] for w in layer.weight_names]
        expected = _SUFFIXES[target.kind]
        fits = all(
            s == e or (target.kind == "prior" and s.endswith("_W"))
            for s, e in zip(suffixes, expected)
        )
        if not fits:
            notes.append(
                f"warning: {layer.name!r} stores {suffixes}, expected {list(expected)}; the "
                "arrays are taken in the stored order, as Keras 2 did"
            )

    if missing or extra or ambiguous or misshaped:
        lines = ["the file does not fit the released ASNet; nothing was converted."]
        for title, items in (
            ("missing (in the model, not in the file)", missing),
            ("extra (in the file, not in the model)", extra),
            ("ambiguous", ambiguous),
            ("mis-shaped", misshaped),
        ):
            if items:
                lines.append(f"{title}:")
                lines += [f"  - {item}" for item in items]
        if not by_order and missing and len(file_layers) == len(targets):
            lines.append(
                "The file has the right number of weighted layers under other names: if "
                "it is the authors' ASNet.h5, try --by-order (Keras 2's positional load)."
            )
        raise ConversionError("\n".join(lines))
    return pairs, notes


def _flip_theano_kernels(target, arrays):
    """Keras 2's Theano → TensorFlow conversion: rotate conv kernels by 180° (§5.2)."""
    count = {"conv": 1, "convlstm": 2}.get(target.kind, 0)
    return [a[::-1, ::-1].copy() if i < count else a for i, a in enumerate(arrays)]


# ----------------------------------------------------------------------------------
# The conversion.


def weights_path_for(out):
    """`weights/x.keras` → `weights/x.weights.h5`."""
    return out[: -len(".keras")] + ".weights.h5"


def convert_released(
    path,
    out=None,
    *,
    by_order=False,
    recurrence="stock",
    input_shape=(224, 224, 3),
    model=None,
    log=print,
):
    """Convert a Keras 2 `ASNet.h5` into the Keras 3 `released` model.

    Args:
        path: the Keras 2 HDF5 file (weights-only or full-model).
        out: where to write the `.keras` model (and, beside it, `.weights.h5`); None
            writes nothing.
        by_order: pair layers by position instead of by name (see module docstring).
        recurrence: "stock" (Keras ConvLSTM2D; loads anywhere) or "static".
        input_shape: of the model built (the released network: 224×224×3).
        model: an already built `released` model to load into (its recurrence wins).
        log: callable for progress lines (None: silent).
    Returns:
        the `keras.Model` holding the converted weights.
    Raises:
        ConversionError: the file does not fit; the message lists missing, extra,
            ambiguous and mis-shaped layers. Nothing is written then.
    """
    log = log or (lambda *_: None)
    if out is not None and not os.fspath(out).endswith(".keras"):
        raise ConversionError(f"--out {out}: the model file name must end with .keras.")
    info, file_layers = read_keras2_file(path)
    version, backend = info["keras_version"], info["backend"]
    if version is None or version.startswith("1"):
        raise ConversionError(
            f"{path}: keras_version is {version!r}: a Keras 1 file, whose weight layout "
            "differs. Only Keras 2 files (the released ASNet.h5) are supported."
        )
    log(
        f"{path}: Keras {version} {info['layout']} file ({backend} backend), "
        f"{len(file_layers)} layers with weights."
    )

    if model is None:
        model = build_released_graph(
            input_shape, None, recurrence=recurrence, recurrent_initializer="zeros"
        )
    targets = released_targets(model)
    pairs, notes = plan_mapping(file_layers, targets, by_order=by_order)
    for note in notes:
        log(note)
    if backend == "theano":
        log("theano backend: conv kernels rotated by 180°, as Keras 2 did (docs/released_model.md §5.2).")
    elif backend not in (None, "tensorflow"):
        raise ConversionError(f"{path}: backend {backend!r}; expected tensorflow (or theano).")

    for target, layer in pairs:
        arrays = layer.arrays
        if backend == "theano":
            arrays = _flip_theano_kernels(target, arrays)
        model.get_layer(target.name).set_weights(arrays)

    count = sum(int(np.prod(shape)) for target in targets for shape in target.shapes)
    arrays = sum(len(target.shapes) for target in targets)
    extra = model.count_params() - count
    log(
        f"converted {count:,} parameters ({arrays} arrays in {len(targets)} layers); the "
        f"model also holds {extra:,} fixed preprocessing constants."
    )
    if out is not None:
        out = os.fspath(out)
        os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
        model.save(out)
        model.save_weights(weights_path_for(out))
        log(f"wrote {out} and {weights_path_for(out)}")
    return model
