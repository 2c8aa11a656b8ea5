// The page of the ASNet service: upload an image, show its maps, overlay and crop.
// Plain browser JavaScript, no build step. It calls POST /predict?format=json once per
// image (maps, statistics, the crop boxes of the preset aspect ratios, and the image as
// the service decoded it), POST /crop only for an aspect ratio typed by hand, and
// POST /predict?output=mask|cutout|background when one of those is downloaded.
// The image shown is the service's decoded copy, not the file: browsers apply a JPEG's
// EXIF rotation, the model does not, and the maps must line up with what is shown. body[data-state] is "idle",
// "working", "done" or "error" (the browser test waits on it).
"use strict";

(function () {
  const PRESETS = ["16:9", "4:3", "3:2", "1:1", "4:5", "3:4", "9:16"];
  const OVERLAY_SIDE = 1024; // longest side of the overlay and crop-view canvases
  const $ = (id) => document.getElementById(id);

  const state = {
    request: 0,        // id of the latest upload; older answers are dropped
    file: null,
    stem: "image",
    imageOk: false,    // the image could be shown
    width: 0,
    height: 0,
    maps: {},          // kind -> HTMLImageElement of the map PNG
    crops: {},         // aspect label -> crop box from the service
    blobUrls: [],
  };

  function setState(name, message) {
    document.body.dataset.state = name;
    $("status").textContent = message;
  }

  function detailOf(json, fallback) {
    if (json && typeof json.detail === "string") return json.detail;
    if (json && json.detail) return JSON.stringify(json.detail);
    return fallback;
  }

  async function errorText(response) {
    try {
      return detailOf(await response.json(), response.statusText);
    } catch (err) {
      return response.statusText || "no details";
    }
  }

  function loadImage(img, src) {
    return new Promise((resolve, reject) => {
      img.onload = () => resolve(img);
      img.onerror = () => reject(new Error("the browser cannot decode this image"));
      img.src = src;
    });
  }

  function blobLink(anchor, canvas, filename) {
    canvas.toBlob((blob) => {
      if (!blob) return;
      const url = URL.createObjectURL(blob);
      state.blobUrls.push(url);
      anchor.href = url;
      anchor.download = filename;
    }, "image/png");
  }

  function forgetBlobs() {
    state.blobUrls.forEach((url) => URL.revokeObjectURL(url));
    state.blobUrls = [];
  }

  // ----------------------------------------------------------------- model info
  fetch("/info")
    .then((r) => (r.ok ? r.json() : null))
    .then((info) => {
      if (!info) return;
      const head = info.maps.includes("fixation") ? "" : ", no fixation head";
      $("model-info").textContent =
        `Model ${info.model.name} (${info.model.options.config}${head}), ` +
        `${info.input_size}×${info.input_size} input, ${info.backend} on ${info.device}, ` +
        `asnet-keras ${info.version}.`;
      if (!info.maps.includes("fixation")) {
        $("overlay-map").querySelector('option[value="fixation"]').disabled = true;
      }
    })
    .catch(() => { $("model-info").textContent = "The service did not answer /info."; });

  // ----------------------------------------------------------------- overlay
  function jet(v) { // OpenCV's COLORMAP_JET, as predict --overlay uses
    const c = (x) => Math.max(0, Math.min(1, x));
    return [c(1.5 - Math.abs(4 * v - 3)), c(1.5 - Math.abs(4 * v - 2)), c(1.5 - Math.abs(4 * v - 1))];
  }

  function fitted() {
    const s = Math.min(1, OVERLAY_SIDE / Math.max(state.width, state.height));
    return [Math.max(1, Math.round(state.width * s)), Math.max(1, Math.round(state.height * s)), s];
  }

  function drawOverlay() {
    const kind = $("overlay-map").value;
    const map = state.maps[kind] || state.maps.saliency;
    const alpha = Number($("alpha").value) / 100;
    $("alpha-value").textContent = `${Math.round(alpha * 100)} %`;
    const canvas = $("overlay");
    const [w, h] = fitted();
    canvas.width = w;
    canvas.height = h;
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    if (state.imageOk) {
      ctx.drawImage($("img-image"), 0, 0, w, h);
    } else {
      ctx.fillStyle = "#808080";
      ctx.fillRect(0, 0, w, h);
    }
    const base = ctx.getImageData(0, 0, w, h);
    const scratch = document.createElement("canvas");
    scratch.width = w;
    scratch.height = h;
    const sctx = scratch.getContext("2d", { willReadFrequently: true });
    sctx.drawImage(map, 0, 0, w, h);
    const m = sctx.getImageData(0, 0, w, h).data;
    const px = base.data;
    for (let i = 0; i < px.length; i += 4) {
      const [r, g, b] = jet(m[i] / 255);
      px[i] = (1 - alpha) * px[i] + alpha * 255 * r;
      px[i + 1] = (1 - alpha) * px[i + 1] + alpha * 255 * g;
      px[i + 2] = (1 - alpha) * px[i + 2] + alpha * 255 * b;
    }
    ctx.putImageData(base, 0, 0);
    blobLink($("dl-overlay"), canvas, `${state.stem}-overlay-${kind}.png`);
  }

  // ----------------------------------------------------------------- crop
  function currentAspect() {
    const chosen = $("aspect").value;
    return chosen === "custom" ? $("aspect-custom").value.trim() : chosen;
  }

  async function fetchCrop(aspect) {
    const form = new FormData();
    form.append("image", state.file, state.file.name);
    const response = await fetch(`/crop?format=json&aspect=${encodeURIComponent(aspect)}`,
                                 { method: "POST", body: form });
    if (!response.ok) throw new Error(`${response.status}: ${await errorText(response)}`);
    return (await response.json()).crop;
  }

  function drawCrop(box) {
    const [w, h, s] = fitted();
    const view = $("crop-view");
    view.width = w;
    view.height = h;
    const ctx = view.getContext("2d");
    if (state.imageOk) ctx.drawImage($("img-image"), 0, 0, w, h);
    else ctx.drawImage(state.maps.saliency, 0, 0, w, h);
    const x = box.x * s, y = box.y * s, bw = box.width * s, bh = box.height * s;
    ctx.fillStyle = "rgba(0, 0, 0, 0.55)";
    ctx.fillRect(0, 0, w, y);
    ctx.fillRect(0, y + bh, w, h - y - bh);
    ctx.fillRect(0, y, x, bh);
    ctx.fillRect(x + bw, y, w - x - bw, bh);
    ctx.strokeStyle = "#ffd400";
    ctx.lineWidth = 2;
    ctx.strokeRect(x + 1, y + 1, Math.max(0, bw - 2), Math.max(0, bh - 2));

    const crop = $("crop");
    crop.width = box.width;
    crop.height = box.height;
    const source = state.imageOk ? $("img-image") : state.maps.saliency;
    crop.getContext("2d").drawImage(source, box.x, box.y, box.width, box.height,
                                    0, 0, box.width, box.height);
    crop.dataset.aspect = box.aspect;
    const kept = box.mass_fraction === null ? "the map is empty"
      : `keeps ${(100 * box.mass_fraction).toFixed(1)} % of the saliency mass`;
    $("crop-box").textContent = `${box.aspect} crop at x=${box.x}, y=${box.y}, ` +
      `${box.width} × ${box.height} px: ${kept}.`;
    blobLink($("dl-crop"), crop, `${state.stem}-crop-${box.aspect.replace(":", "x")}.png`);
  }

  async function showCrop() {
    const aspect = currentAspect();
    if (!aspect) return false;
    let box = state.crops[aspect];
    if (!box) {
      box = await fetchCrop(aspect);
      state.crops[aspect] = box;
    }
    drawCrop(box);
    return true;
  }

  async function changeCrop() {
    if (!state.file || document.body.dataset.state === "working") return;
    const id = state.request;
    setState("working", `Searching the ${currentAspect()} crop…`);
    try {
      const shown = await showCrop();
      if (id === state.request) setState("done", shown ? "Done." : "Type an aspect ratio, e.g. 1.91:1.");
    } catch (err) {
      if (id === state.request) setState("error", err.message);
    }
  }

  // ----------------------------------------------------------------- outputs
  // mask, cut-out, background: made by the service (POST /predict?output=...), one
  // request per click, saved as <stem>-<output>.png.
  async function downloadOutput(kind) {
    if (!state.file) return;
    const form = new FormData();
    form.append("image", state.file, state.file.name);
    $("output-status").textContent = `Making the ${kind}…`;
    const response = await fetch(`/predict?output=${encodeURIComponent(kind)}`,
                                 { method: "POST", body: form });
    if (!response.ok) throw new Error(`${response.status}: ${await errorText(response)}`);
    const url = URL.createObjectURL(await response.blob());
    state.blobUrls.push(url);
    const anchor = document.createElement("a");
    anchor.href = url;
    anchor.download = `${state.stem}-${kind}.png`;
    document.body.appendChild(anchor);
    anchor.click();
    anchor.remove();
    $("output-status").textContent = `${kind} saved as ${anchor.download}.`;
  }

  // ----------------------------------------------------------------- upload
  function fillStats(result) {
    const body = $("stats").querySelector("tbody");
    body.textContent = "";
    for (const [kind, entry] of Object.entries(result.maps)) {
      const s = entry.stats;
      const row = document.createElement("tr");
      const cells = [kind, s.min, s.max, s.mean.toFixed(1), `${(100 * s.salient_fraction).toFixed(1)} %`,
                     `${s.centroid.x.toFixed(1)}, ${s.centroid.y.toFixed(1)}`, `${s.peak.x}, ${s.peak.y}`];
      for (const value of cells) {
        const cell = document.createElement("td");
        cell.textContent = value;
        row.appendChild(cell);
      }
      body.appendChild(row);
    }
  }

  async function handleFile(file) {
    if (!file) return;
    const id = ++state.request;
    state.file = file;
    state.stem = file.name.replace(/\.[^.]+$/, "") || "image";
    state.crops = {};
    setState("working", `Computing the maps of ${file.name}…`);
    const form = new FormData();
    form.append("image", file, file.name);
    const crops = encodeURIComponent(PRESETS.join(","));
    const response = await fetch(`/predict?format=json&include_image=true&crop=${crops}`,
                                 { method: "POST", body: form });
    if (id !== state.request) return;
    if (!response.ok) {
      setState("error", `${file.name}: ${response.status} ${await errorText(response)}`);
      return;
    }
    const result = await response.json();
    if (id !== state.request) return;
    state.width = result.width;
    state.height = result.height;
    for (const box of result.crops || []) state.crops[box.aspect] = box;

    forgetBlobs();
    try {
      await loadImage($("img-image"), `data:image/${result.image.format};base64,${result.image.base64}`);
      state.imageOk = true;
    } catch (err) {
      state.imageOk = false;
    }
    state.maps = {};
    for (const kind of ["fixation", "saliency"]) {
      const img = $(`img-${kind}`);
      const link = $(`dl-${kind}`);
      const entry = result.maps[kind];
      img.hidden = !entry;
      link.hidden = !entry;
      if (!entry) continue;
      const url = `data:image/png;base64,${entry.png_base64}`;
      await loadImage(img, url);
      link.href = url;
      link.download = `${state.stem}-${kind}.png`;
      state.maps[kind] = img;
    }
    $("no-fixation").hidden = Boolean(result.maps.fixation);
    $("size-image").textContent = `${result.width} × ${result.height}`;
    $("results").hidden = false;
    fillStats(result);
    drawOverlay();
    await showCrop();
    if (id !== state.request) return;
    const note = state.imageOk ? "" : " (the image could not be shown; the crop is drawn on the saliency map)";
    setState("done", `${file.name}: ${result.width} × ${result.height} px, ` +
      `${result.batch.inference_ms.toFixed(0)} ms in a batch of ${result.batch.size}.${note}`);
  }

  function upload(file) {
    handleFile(file).catch((err) => setState("error", `${file ? file.name + ": " : ""}${err.message}`));
  }

  // ----------------------------------------------------------------- events
  $("file").addEventListener("change", (event) => upload(event.target.files[0]));
  const drop = $("drop");
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    upload(event.dataTransfer.files[0]);
  });
  drop.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") $("file").click();
  });
  // A file dropped beside the zone must not make the browser navigate away.
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());

  $("alpha").addEventListener("input", () => { if (state.maps.saliency) drawOverlay(); });
  $("overlay-map").addEventListener("change", () => { if (state.maps.saliency) drawOverlay(); });
  $("aspect").addEventListener("change", () => {
    $("aspect-custom").hidden = $("aspect").value !== "custom";
    if ($("aspect").value === "custom") $("aspect-custom").focus();
    else changeCrop();
  });
  $("aspect-custom").addEventListener("change", changeCrop);
  document.querySelectorAll("button[data-output]").forEach((button) => {
    button.addEventListener("click", () => downloadOutput(button.dataset.output)
      .catch((err) => { $("output-status").textContent = err.message; }));
  });
})();
