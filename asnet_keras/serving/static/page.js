// The page's arithmetic and text, without the DOM: colours, sizes, the overlay blend, the
// crop's shading and caption, the statistics row, file names. app.js uses them in the
// browser (window.ASNetPage); tests/serving/test_page_js.py runs them under Node.js and
// compares them with the service's Python (predict --overlay, the crop rule).
"use strict";

(function (root, factory) {
  const api = factory();
  if (typeof module === "object" && module.exports) module.exports = api;
  else root.ASNetPage = api;
})(typeof self !== "undefined" ? self : this, function () {
  const OVERLAY_SIDE = 1024; // longest side of the overlay and crop-view canvases

  // The message of an error answer: FastAPI's {"detail": ...}, else `fallback`.
  function detailOf(json, fallback) {
    if (json && typeof json.detail === "string") return json.detail;
    if (json && json.detail) return JSON.stringify(json.detail);
    return fallback;
  }

  // OpenCV's COLORMAP_JET at v in [0, 1], as [r, g, b] in [0, 1] (predict --overlay uses it).
  function jet(v) {
    const c = (x) => Math.max(0, Math.min(1, x));
    return [c(1.5 - Math.abs(4 * v - 3)), c(1.5 - Math.abs(4 * v - 2)), c(1.5 - Math.abs(4 * v - 1))];
  }

  // [canvas width, canvas height, scale] of an image shown with its longest side at most `side`.
  function fitted(width, height, side = OVERLAY_SIDE) {
    const s = Math.min(1, side / Math.max(width, height));
    return [Math.max(1, Math.round(width * s)), Math.max(1, Math.round(height * s)), s];
  }

  // The map in JET colour over the image, in place: `base` and `map` are RGBA pixel arrays
  // of one size (a canvas's ImageData.data; the map's grey in its red channel).
  function blend(base, map, alpha) {
    for (let i = 0; i < base.length; i += 4) {
      const [r, g, b] = jet(map[i] / 255);
      base[i] = (1 - alpha) * base[i] + alpha * 255 * r;
      base[i + 1] = (1 - alpha) * base[i + 1] + alpha * 255 * g;
      base[i + 2] = (1 - alpha) * base[i + 2] + alpha * 255 * b;
    }
    return base;
  }

  // The crop `box` (image pixels) drawn at scale `s` on a w × h canvas: the four rectangles
  // [x, y, width, height] shaded around it (above, below, left, right) and its outline.
  function cropShading(box, s, w, h) {
    const x = box.x * s, y = box.y * s, bw = box.width * s, bh = box.height * s;
    return {
      shade: [[0, 0, w, y], [0, y + bh, w, h - y - bh], [0, y, x, bh], [x + bw, y, w - x - bw, bh]],
      outline: [x + 1, y + 1, Math.max(0, bw - 2), Math.max(0, bh - 2)],
    };
  }

  // The sentence under the crop.
  function cropCaption(box) {
    const kept = box.mass_fraction === null ? "the map is empty"
      : `keeps ${(100 * box.mass_fraction).toFixed(1)} % of the saliency mass`;
    return `${box.aspect} crop at x=${box.x}, y=${box.y}, ` +
      `${box.width} × ${box.height} px: ${kept}.`;
  }

  // One row of the statistics table: a map's kind and its /predict statistics.
  function statsCells(kind, s) {
    return [kind, s.min, s.max, s.mean.toFixed(1), `${(100 * s.salient_fraction).toFixed(1)} %`,
            `${s.centroid.x.toFixed(1)}, ${s.centroid.y.toFixed(1)}`, `${s.peak.x}, ${s.peak.y}`];
  }

  // A file name without its extension ("image" if nothing is left).
  function stemOf(name) {
    return name.replace(/\.[^.]+$/, "") || "image";
  }

  // The download name of a crop.
  function cropFileName(stem, aspect) {
    return `${stem}-crop-${aspect.replace(":", "x")}.png`;
  }

  return { OVERLAY_SIDE, detailOf, jet, fitted, blend, cropShading, cropCaption, statsCells,
           stemOf, cropFileName };
});
