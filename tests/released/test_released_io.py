"""`--postprocess released` reads and processes images as the authors' `main.py` did
(docs/released_pipeline.md §1–§3), checked against SciPy 1.0's `scipy.misc` rules
re-written here on top of Pillow.

The reference below is written from SciPy 1.0's `imread`/`fromimage`, `toimage`,
`imresize`, `imsave` and `bytescale` behaviour and from `main.py`'s `get_test` /
`postprocess_predictions`; it calls none of this project's image functions. Pillow comes
with matplotlib (a project requirement).
"""

import os
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image  # installed with matplotlib, a project requirement

from asnet_keras import io as image_io
from asnet_keras.commands import predict
from asnet_keras.inference import images as inference
from asnet_keras.inference.released_processing import display_rgb
from asnet_keras.io.released_reading import decode_released, read_image_released


SIZE = 32  # the released graph builds at any multiple of 16 from 32; main.py used 224


# ------------------------------------------------------------ SciPy 1.0 reference


def scipy_bytescale(data, cmin=None, cmax=None, high=255, low=0):
    """scipy.misc.bytescale (1.0) as NumPy 1.x evaluated it.

    NumPy 1.x rules that matter: `float / numpy scalar` is float64; an array combined
    with a Python or float64 scalar of the same kind keeps the array's dtype
    (value-based casting), an integer array times a float scalar becomes float64.
    """
    if data.dtype == np.uint8:
        return data
    if cmin is None:
        cmin = data.min()
    if cmax is None:
        cmax = data.max()
    cscale = cmax - cmin
    if cscale == 0:
        cscale = 1
    scale = float(high - low) / np.float64(cscale)
    if np.issubdtype(data.dtype, np.floating):
        kind = data.dtype.type
        bytedata = (data - kind(cmin)) * kind(scale) + kind(low)
        bytedata = bytedata.clip(kind(low), kind(high)) + kind(0.5)
    else:
        shifted = (data - data.dtype.type(cmin)).astype(np.float64)  # integer subtraction
        bytedata = (shifted * scale + low).clip(low, high) + 0.5
    return bytedata.astype(np.uint8)


def scipy_imread(path):
    """scipy.misc.imread (1.0): Pillow image → array; "P" → RGB(A), "1" → "L"."""
    image = Image.open(path)
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode == "1":
        image = image.convert("L")
    return np.array(image)


def scipy_toimage(arr):
    """scipy.misc.toimage (1.0) with default arguments."""
    data = np.asarray(arr)
    shape = list(data.shape)
    if data.ndim == 2:
        return Image.frombytes("L", (shape[1], shape[0]), scipy_bytescale(data).tobytes())
    if data.ndim != 3 or not (3 in shape or 4 in shape):
        raise ValueError("'arr' does not have a suitable array shape for any mode.")
    axis = shape.index(3) if 3 in shape else shape.index(4)  # the first such axis
    channels = shape[axis]
    bytedata = np.moveaxis(scipy_bytescale(data), axis, -1)
    height, width = bytedata.shape[:2]
    mode = "RGB" if channels == 3 else "RGBA"
    return Image.frombytes(mode, (width, height), np.ascontiguousarray(bytedata).tobytes())


def scipy_imresize(arr, size):
    """scipy.misc.imresize(arr, (h, w)) (1.0, interp="bilinear").

    Pillow before 13 (what main.py ran) resized horizontally first, then vertically;
    Pillow 13 may choose the other order, so the two passes are made one at a time.
    """
    image = scipy_toimage(arr)
    height, width = size
    image = image.resize((width, image.size[1]), Image.BILINEAR)
    image = image.resize((width, height), Image.BILINEAR)
    return np.array(image)


def main_py_input(path, size=SIZE):
    """main.py's `get_test` for one image: the (size, size, 3) float32 network input
    (before its mean subtraction, which our model does) and the image's (H, W)."""
    image = scipy_imread(path)
    height, width = image.shape[:2]
    if image.ndim == 2:
        copy = np.zeros((height, width, 3))  # float64
        copy[:, :, 0] = image
        copy[:, :, 1] = image
        copy[:, :, 2] = image
        image = copy
    batch = np.zeros((1, size, size, 3))
    batch[0] = scipy_imresize(image, (size, size))  # 4 channels do not fit: ValueError
    return batch[0].astype(np.float32), (height, width)


def main_py_output(prediction, shape):
    """main.py's `postprocess_predictions` followed by `imsave`: the saved uint8 map."""
    resized = scipy_imresize(prediction, shape)
    stretched = (resized / np.max(resized) * 255).astype(int)
    return np.array(scipy_toimage(stretched))


# ------------------------------------------------------------- files of every kind


def _chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def write_png(path, array, colour_type, bit_depth):
    """A minimal PNG writer for the kinds Pillow does not write (2/4-bit grey, 16-bit LA)."""
    height, width = array.shape[:2]
    if bit_depth < 8:
        per_byte = 8 // bit_depth
        rows = []
        for row in array.reshape(height, -1):
            padded = np.concatenate([row, np.zeros(-len(row) % per_byte, row.dtype)])
            groups = padded.reshape(-1, per_byte).astype(np.uint16)
            shifts = bit_depth * np.arange(per_byte - 1, -1, -1)
            rows.append((groups << shifts).sum(axis=1).astype(np.uint8).tobytes())
    else:
        samples = array.astype(">u2" if bit_depth == 16 else np.uint8).reshape(height, -1)
        rows = [row.tobytes() for row in samples]
    raw = b"".join(b"\0" + row for row in rows)
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    data = (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw))
            + _chunk(b"IEND", b""))
    with open(path, "wb") as f:
        f.write(data)


def _grey(rng, shape=(19, 23), low=60, high=190):
    """A smooth grey picture with noise, levels within low…high (both reached)."""
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    picture = 0.5 + 0.25 * np.sin(rows / 3.0) + 0.2 * np.cos(cols / 4.0)
    picture = low + (high - low) * (picture - picture.min()) / np.ptp(picture)
    picture += rng.normal(0, 4, shape)
    picture = np.clip(np.rint(picture), low, high).astype(np.uint8)
    picture[0, 0], picture[-1, -1] = low, high
    return picture


def _palette_image(indices, palette):
    image = Image.fromarray(indices.astype(np.uint8), "P")
    image.putpalette([v for colour in palette for v in colour])
    return image


def make_kinds(folder):
    """Write one file per kind of docs/released_pipeline.md §2; return name → path."""
    rng = np.random.default_rng(15)
    grey = _grey(rng)
    colour = rng.integers(0, 256, grey.shape + (3,), dtype=np.uint8)
    alpha = rng.integers(0, 256, grey.shape, dtype=np.uint8)
    grey16 = (grey.astype(np.uint16) * 257 + rng.integers(0, 200, grey.shape)).astype(np.uint16)
    colour16 = (colour.astype(np.uint16) * 257 + 77).astype(np.uint16)
    indices = rng.integers(0, 8, grey.shape)
    grey_palette = [(36 * i,) * 3 for i in range(8)]  # grey, but not the identity ramp
    colour_palette = [tuple(int(v) for v in rng.integers(0, 256, 3)) for _ in range(8)]
    files = {}

    def save(name, image, **options):
        files[name] = os.path.join(folder, name)
        image.save(files[name], **options)

    save("grey.png", Image.fromarray(grey))
    save("grey_trns.png", Image.fromarray(grey), transparency=int(grey[3, 3]))
    files["grey_4bit.png"] = os.path.join(folder, "grey_4bit.png")
    write_png(files["grey_4bit.png"], grey >> 4, 0, 4)
    save("bilevel.png", Image.fromarray(grey > 120).convert("1"))
    save("grey16.png", Image.fromarray(grey16))
    save("grey.jpg", Image.fromarray(grey), quality=90)
    save("grey.bmp", Image.fromarray(grey))
    save("bilevel.bmp", Image.fromarray(grey > 120).convert("1"))
    save("grey.tif", Image.fromarray(grey))
    save("grey16.tif", Image.fromarray(grey16))
    save("float.tif", Image.fromarray(grey.astype(np.float32) / 7))
    save("colour.png", Image.fromarray(colour))
    save("grey_as_rgb.png", Image.fromarray(np.dstack([grey, grey, grey])))
    save("grey_as_rgb.jpg", Image.fromarray(np.dstack([grey, grey, grey])), quality=90)
    save("palette.png", _palette_image(indices, colour_palette))
    save("grey_palette.png", _palette_image(indices, grey_palette))
    files["colour16.png"] = os.path.join(folder, "colour16.png")
    cv2.imwrite(files["colour16.png"], colour16[:, :, ::-1])
    save("colour.jpg", Image.fromarray(colour), quality=90)
    save("colour.bmp", Image.fromarray(colour))
    save("grey_palette.bmp", _palette_image(indices, grey_palette))
    save("palette.bmp", _palette_image(indices, colour_palette))
    save("colour.tif", Image.fromarray(colour))
    save("colour.webp", Image.fromarray(colour), lossless=True)
    # Kinds main.py fails on.
    save("grey_alpha.png", Image.fromarray(np.dstack([grey, alpha]), "LA"))
    files["grey_alpha16.png"] = os.path.join(folder, "grey_alpha16.png")
    write_png(files["grey_alpha16.png"], np.dstack([grey16, grey16 // 3]), 4, 16)
    save("rgba.png", Image.fromarray(np.dstack([colour, alpha]), "RGBA"))
    save("palette_trns.png", _palette_image(indices, colour_palette), transparency=2)
    save("cmyk.jpg", Image.fromarray(colour).convert("CMYK"), quality=90)
    save("rgba.webp", Image.fromarray(np.dstack([colour, alpha]), "RGBA"), lossless=True)
    return files, {"grey16": grey16}


GREY_KINDS = ("grey.png", "grey_trns.png", "grey_4bit.png", "bilevel.png", "grey16.png",
              "grey.jpg", "grey.bmp", "bilevel.bmp", "grey.tif", "grey16.tif", "float.tif")
COLOUR_KINDS = ("colour.png", "grey_as_rgb.png", "grey_as_rgb.jpg", "palette.png",
                "grey_palette.png", "colour16.png", "colour.jpg", "colour.bmp",
                "grey_palette.bmp", "palette.bmp", "colour.tif", "colour.webp")
FAILING_KINDS = ("grey_alpha.png", "grey_alpha16.png", "rgba.png", "palette_trns.png",
                 "cmyk.jpg", "rgba.webp")
assert (len(GREY_KINDS), len(COLOUR_KINDS), len(FAILING_KINDS)) == (11, 12, 6)


@pytest.fixture(scope="module")
def kinds(tmp_path_factory):
    return make_kinds(str(tmp_path_factory.mktemp("kinds")))


@pytest.mark.parametrize("name", GREY_KINDS)
def test_grey_kinds_are_read_2d_like_scipy_imread(kinds, name):
    files, _ = kinds
    expected = scipy_imread(files[name])
    assert expected.ndim == 2  # what main.py's imread gives: the stretched case
    ours = read_image_released(files[name])
    assert ours.shape == expected.shape
    np.testing.assert_array_equal(ours, expected)
    np.testing.assert_array_equal(main_py_input(files[name])[0].shape, (SIZE, SIZE, 3))


@pytest.mark.parametrize("name", COLOUR_KINDS)
def test_colour_kinds_are_read_3d_like_scipy_imread(kinds, name):
    files, _ = kinds
    expected = scipy_imread(files[name])
    assert expected.shape[2:] == (3,) and expected.dtype == np.uint8
    ours = read_image_released(files[name])
    assert ours.dtype == np.uint8
    np.testing.assert_array_equal(ours, expected)


@pytest.mark.parametrize("name", FAILING_KINDS)
def test_kinds_main_py_fails_on_are_read_without_alpha(kinds, name):
    files, arrays = kinds
    with pytest.raises(ValueError):  # toimage refuses 2 channels; 4 do not fit 224×224×3
        main_py_input(files[name])
    ours = read_image_released(files[name])
    pillow = scipy_imread(files[name])
    if name == "grey_alpha.png":  # Pillow "LA": (H, W, 2) → its grey channel
        np.testing.assert_array_equal(ours, pillow[..., 0])
    elif name == "grey_alpha16.png":  # Pillow opens it as RGBA of high bytes
        assert ours.dtype == np.uint16
        np.testing.assert_array_equal(ours, arrays["grey16"])
        np.testing.assert_array_equal(ours >> 8, pillow[..., 0])
    elif name == "cmyk.jpg":  # OpenCV's CMYK → RGB, as the default pipeline
        np.testing.assert_array_equal(ours, image_io.read_image(files[name]))
    else:  # RGBA: alpha dropped
        np.testing.assert_array_equal(ours, pillow[..., :3])


def test_truncated_and_broken_files_are_refused_by_name(kinds, tmp_path):
    files, _ = kinds
    with open(files["grey.png"], "rb") as f:
        data = f.read()
    cut = tmp_path / "cut.png"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(image_io.ImageReadError, match=r"cut\.png.*truncated PNG"):
        read_image_released(cut)
    with pytest.raises(image_io.ImageReadError, match="nothing.jpg"):
        read_image_released(tmp_path / "nothing.jpg")
    with pytest.raises(ValueError, match="empty file"):
        decode_released(b"")


def test_display_rgb_for_overlays():
    grey16 = np.array([[0, 257, 65535]], np.uint16)
    np.testing.assert_array_equal(display_rgb(grey16), [[[0] * 3, [1] * 3, [255] * 3]])
    np.testing.assert_array_equal(display_rgb(np.array([[0.5, 1.5]])), [[[0] * 3, [255] * 3]])
    colour = np.arange(6, dtype=np.uint8).reshape(1, 2, 3)
    np.testing.assert_array_equal(display_rgb(colour), colour)


def test_default_pipeline_never_stretches_grey(kinds):
    # The paper pipeline (docs/released_pipeline.md §5): grey → three equal channels,
    # levels kept (60…190), and the resize cannot leave that range.
    files, _ = kinds
    image = image_io.read_image(files["grey.png"])
    assert image.shape[2] == 3 and (image[..., 0] == image[..., 2]).all()
    assert (image.min(), image.max()) == (60, 190)
    network_input = inference.resize_to_input(image, SIZE)
    assert network_input.min() >= 60 - 1e-3 and network_input.max() <= 190 + 1e-3
    # main.py's input for the same file spans 0…255 (before its mean subtraction).
    stretched, _ = main_py_input(files["grey.png"])
    assert stretched.min() <= 5 and stretched.max() >= 250


# ------------------------------------------------ predict --postprocess released, end to end


@pytest.fixture(scope="module")
def released_model_path(tmp_path_factory):
    import keras

    from asnet_keras.model.released import build_released_graph

    keras.utils.set_random_seed(15)
    path = tmp_path_factory.mktemp("released") / "released.keras"
    build_released_graph((SIZE, SIZE, 3), None, recurrent_initializer="zeros").save(path)
    return str(path)


END_TO_END = ("grey.png", "grey.jpg", "grey16.png", "bilevel.png", "grey_as_rgb.png",
              "palette.png", "colour.jpg")


def test_predict_released_equals_main_py_pixel_for_pixel(kinds, released_model_path, tmp_path):
    import shutil

    import keras

    files, _ = kinds
    folder = tmp_path / "in"
    folder.mkdir()
    for name in END_TO_END:  # distinct stems, so outputs are named <stem>.png
        stem, ext = os.path.splitext(name)
        shutil.copy(files[name], folder / f"{stem}_{ext[1:]}{ext}")
    out = tmp_path / "out"
    status = predict.main([str(folder), "--weights", released_model_path, "--out", str(out),
                           "--postprocess", "released", "--batch-size", "1", "--overlay",
                           "--quiet"])
    assert status == 0

    model = keras.models.load_model(released_model_path, compile=False)
    names = list(model.output_names)
    checked_stretch = False
    for name in END_TO_END:
        stem, ext = os.path.splitext(name)
        stem = f"{stem}_{ext[1:]}"
        network_input, shape = main_py_input(files[name])
        outputs = model.predict_on_batch(network_input[None])
        for kind, output in (("saliency", "saliency_conv1"), ("fixation", "fixation")):
            expected = main_py_output(outputs[names.index(output)][0, ..., 0], shape)
            saved = cv2.imread(str(out / kind / f"{stem}.png"), cv2.IMREAD_UNCHANGED)
            assert saved.shape == shape, name
            np.testing.assert_array_equal(saved, expected, err_msg=f"{name} {kind}")
        overlay = cv2.imread(str(out / "overlay" / f"{stem}.jpg"))
        assert overlay.shape == shape + (3,)
        if name in ("grey.png", "grey.jpg"):
            # The test tells the two readings apart: without main.py's stretch (the grey
            # file read as three uint8 channels) the saved map differs.
            unstretched = np.repeat(scipy_imread(files[name])[..., None], 3, axis=-1)
            plain_input = scipy_imresize(unstretched, (SIZE, SIZE)).astype(np.float32)
            plain = model.predict_on_batch(plain_input[None])[names.index("saliency_conv1")]
            saved = cv2.imread(str(out / "saliency" / f"{stem}.png"), cv2.IMREAD_UNCHANGED)
            assert (main_py_output(plain[0, ..., 0], shape) != saved).any()
            checked_stretch = True
    assert checked_stretch
