"""`predict clip.avi` (`asnet_keras.inference.video`, docs/outputs.md §6) on videos written
here with OpenCV, through a 64-px model.

What can be compared exactly: the input is written with FFV1 (lossless), so its decoded
frames are the arrays written; the outputs are written with FFV1 too (`--video-codec
ffv1`), so the frames read back are the maps as computed. Run with the same batch size,
the video's frames and the same frames saved as PNG images go through identical forward
passes, so their maps are equal to the grey level."""

import json
import math
import os

import cv2
import numpy as np
import pytest

from asnet_keras.commands import predict
from asnet_keras.inference import outputs, video
from asnet_keras.inference.maps import MapPipeline

FPS = 12.5
SIZE = (72, 56)  # width, height


@pytest.fixture(scope="module")
def model_path(model_path_64):
    return model_path_64


def _frames(count):
    """RGB frames: a bright ellipse moving over a gradient."""
    width, height = SIZE
    yy, xx = np.mgrid[:height, :width]
    frames = []
    for i in range(count):
        frame = np.dstack([xx * 3, yy * 4, np.full_like(xx, 40)]).astype(np.uint8)
        cv2.ellipse(frame, (12 + 6 * i, 28), (10, 14), 0, 0, 360, (250, 230, 30), -1)
        frames.append(frame)
    return frames


def _write_video(path, frames, fourcc="FFV1", fps=FPS):
    writer = cv2.VideoWriter(str(path), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*fourcc), fps,
                             SIZE, True)
    assert writer.isOpened()
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()


def _read_video(path):
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    fps = capture.get(cv2.CAP_PROP_FPS)
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames, fps


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clip")
    frames = _frames(5)
    _write_video(folder / "clip.avi", frames)
    back, _ = _read_video(folder / "clip.avi")
    for a, b in zip(back, frames, strict=True):  # FFV1: the frames read are the frames written
        np.testing.assert_array_equal(a[:, :, ::-1], b)
    (folder / "frames").mkdir()
    for i, frame in enumerate(frames):  # the same frames as images, for predict to compare
        cv2.imwrite(str(folder / "frames" / f"f{i}.png"), frame[:, :, ::-1])
    return folder, frames


def test_video_maps_equal_predict_on_its_frames_as_images(model_path, clip, tmp_path, capsys):
    folder, frames = clip
    out = tmp_path / "out"
    status = predict.main([str(folder / "clip.avi"), "--weights", model_path, "--out",
                           str(out), "--output", "map,mask,overlay,cutout", "--video-codec",
                           "ffv1", "--batch-size", "2", "--quiet"])
    assert status == 0
    assert "1 of 1 videos (5 frames)" in capsys.readouterr().out
    assert predict.main([str(folder / "frames"), "--weights", model_path, "--out",
                         str(tmp_path / "images"), "--batch-size", "2", "--quiet"]) == 0

    saliency, fps = _read_video(out / "saliency" / "clip.avi")
    assert len(saliency) == 5 and fps == FPS
    assert saliency[0].shape == (SIZE[1], SIZE[0], 3)
    masks, _ = _read_video(out / "mask" / "clip.avi")
    for i, frame in enumerate(saliency):
        image_map = cv2.imread(str(tmp_path / "images" / "saliency" / f"f{i}.png"),
                               cv2.IMREAD_GRAYSCALE)
        np.testing.assert_array_equal(frame[..., 0], image_map)
        np.testing.assert_array_equal(masks[i][..., 0], outputs.binary_mask(image_map))
        rgba = cv2.imread(str(out / "cutout" / "clip" / f"{i:06d}.png"), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(rgba[..., 3], image_map)
        np.testing.assert_array_equal(rgba[..., 2::-1], frames[i])
    fixation, _ = _read_video(out / "fixation" / "clip.avi")
    assert len(fixation) == 5
    overlay, _ = _read_video(out / "overlay" / "clip.avi")
    assert len(overlay) == 5
    index = json.loads((out / "cutout" / "clip" / "frames.json").read_text())
    assert index["frames"] == 5 and index["fps"] == FPS and index["complete"] is True


def test_every_and_smooth(model_path, clip, tmp_path):
    import keras

    folder, frames = clip
    out = tmp_path / "out"
    beta = 0.6
    assert predict.main([str(folder / "clip.avi"), "--weights", model_path, "--out", str(out),
                         "--video-codec", "ffv1", "--batch-size", "2", "--every", "2",
                         "--smooth", str(beta), "--quiet"]) == 0
    written, fps = _read_video(out / "saliency" / "clip.avi")
    assert len(written) == 3 and math.isclose(fps, FPS / 2)  # frames 0, 2, 4

    # the moving average by hand, on the float maps of frames 0, 2, 4 (same batches)
    pipeline = MapPipeline(keras.models.load_model(model_path, compile=False))
    kept = [frames[0], frames[2], frames[4]]
    raw = [maps for _, _, maps in pipeline.stream(kept, read=lambda f: f, batch_size=2,
                                                  finish=False)]
    state = raw[0]["saliency"]
    expected = [pipeline.finish({"saliency": state}, kept[0].shape[:2])["saliency"]]
    for maps, frame in zip(raw[1:], kept[1:], strict=True):
        state = (1 - beta) * maps["saliency"] + beta * state
        expected.append(pipeline.finish({"saliency": state}, frame.shape[:2])["saliency"])
    for got, want in zip(written, expected, strict=True):
        np.testing.assert_array_equal(got[..., 0], want)
    unsmoothed = pipeline.finish(raw[2], kept[2].shape[:2])["saliency"]
    assert np.abs(unsmoothed.astype(int) - expected[2]).max() > 0  # smoothing did something


def test_a_truncated_video_keeps_the_frames_before_the_damage(model_path, tmp_path, capsys):
    _write_video(tmp_path / "whole.avi", _frames(20), fourcc="MJPG")
    data = (tmp_path / "whole.avi").read_bytes()
    (tmp_path / "cut.avi").write_bytes(data[:len(data) // 2])
    readable, _ = _read_video(tmp_path / "cut.avi")
    assert 0 < len(readable) < 20
    out = tmp_path / "out"
    status = predict.main([str(tmp_path / "cut.avi"), "--weights", model_path, "--out",
                           str(out), "--output", "mask", "--quiet"])
    assert status == 1
    err = capsys.readouterr().err
    summary = err[err.index("1 input failed"):]
    assert (f"{tmp_path / 'cut.avi'}: the video ends after {len(readable)} of the 20 frames "
            f"its container declares (damaged or truncated); the {len(readable)} frames "
            "before it are written") in summary
    masks, fps = _read_video(out / "mask" / "cut.avi")
    assert len(masks) == len(readable) and fps == FPS


def test_an_unreadable_video_is_named_and_the_others_go_on(model_path, tmp_path, capsys):
    (tmp_path / "junk.mp4").write_bytes(b"this is no video " * 50)
    _write_video(tmp_path / "good.mkv", _frames(3))
    status = predict.main([str(tmp_path / "junk.mp4"), str(tmp_path / "good.mkv"),
                           "--weights", model_path, "--out", str(tmp_path / "out"), "--quiet"])
    assert status == 1
    captured = capsys.readouterr()
    assert f"{tmp_path / 'junk.mp4'}: cannot open this video" in captured.err
    assert "1 of 2 videos (3 frames)" in captured.out
    frames, _ = _read_video(tmp_path / "out" / "saliency" / "good.mkv")  # mp4v in .mkv
    assert len(frames) == 3


assert len(video.CODECS) == 6  # mp4v, mjpg, vp8, vp9, ffv1, png (docs/outputs.md)


@pytest.mark.parametrize("codec", sorted(video.CODECS))
def test_each_codec_writes_in_each_container_the_table_names(codec, tmp_path):
    fourcc, containers = video.CODECS[codec]
    frame = np.full((32, 48, 3), 120, np.uint8)
    frame[8:20, 10:30] = (10, 200, 90)
    for container in containers:
        for colour in (True, False):  # colour outputs, and grey ones (maps, masks)
            path = tmp_path / f"v{colour:d}{container}"
            writer = cv2.VideoWriter(str(path), cv2.CAP_FFMPEG,
                                     cv2.VideoWriter_fourcc(*fourcc), 10, (48, 32), colour)
            assert writer.isOpened(), (codec, container)
            written = frame if colour else frame[..., 1].copy()
            for _ in range(2):
                writer.write(written)
            writer.release()
            frames, _ = _read_video(path)
            assert len(frames) == 2, (codec, container, colour)
            if codec in video.LOSSLESS_CODECS:
                np.testing.assert_array_equal(frames[0] if colour else frames[0][..., 0],
                                              written)
    assert video.output_container("a.webm", "ffv1") == ".mkv"
    assert video.output_container("a.MP4") == ".mp4"


def test_no_transparent_video_here_so_cutouts_are_png_sequences(tmp_path):
    # OpenCV's FFmpeg writer takes 1- or 3-channel frames: a BGRA frame writes nothing
    writer = cv2.VideoWriter(str(tmp_path / "a.mov"), cv2.CAP_FFMPEG,
                             cv2.VideoWriter_fourcc(*"png "), 10, (16, 16), True)
    writer.write(np.zeros((16, 16, 4), np.uint8))
    writer.release()
    assert _read_video(tmp_path / "a.mov")[0] == []


@pytest.mark.parametrize("flag, value, message", [
    ("--every", "0", "every=0 (--every)"), ("--smooth", "1", "--smooth 1"),
    ("--smooth", "nan", "smooth=nan (--smooth)")])
def test_bad_video_options_are_usage_errors(model_path, clip, tmp_path, capsys, flag, value,
                                            message):
    folder, _ = clip
    assert predict.main([str(folder / "clip.avi"), "--weights", model_path, "--out",
                         str(tmp_path), flag, value, "--quiet"]) == 2
    assert message in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "saliency" / "clip.avi")
