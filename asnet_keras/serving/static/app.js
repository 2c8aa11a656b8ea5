// The page of the ASNet service: upload an image, show its maps, overlay and crop.
// Plain browser JavaScript, no build step; its arithmetic and text are in page.js. It calls POST /predict?format=json once per
// image (maps, statistics, the crop boxes of the preset aspect ratios, and the image as
// the service decoded it), POST /crop only for an aspect ratio typed by hand, and
// POST /predict?output=mask|cutout|background when one of those is downloaded.
// The image shown is the service's decoded copy, not the file: browsers apply a JPEG's
// EXIF rotation, the model does not, and the maps must line up with what is shown. body[data-state] is "idle",
// "working", "done" or "error" (the browser test waits on it).
"use strict";

(function () {
  const PRESETS = ["16:9", "4:3", "3:2", "1:1", "4:5", "3:4", "9:16"];
  // The arithmetic and text without the DOM (page.js, tested under Node.js).
  const { detailOf, fitted: fittedSize, blend, cropShading, cropCaption, statsCells, stemOf,
          cropFileName } = window.ASNetPage;
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
  function fitted() {
    return fittedSize(state.width, state.height);
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
    blend(base.data, sctx.getImageData(0, 0, w, h).data, alpha);
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
    const { shade, outline } = cropShading(box, s, w, h);
    ctx.fillStyle = "rgba(0, 0, 0, 0.55)";
    for (const rect of shade) ctx.fillRect(...rect);
    ctx.strokeStyle = "#ffd400";
    ctx.lineWidth = 2;
    ctx.strokeRect(...outline);

    const crop = $("crop");
    crop.width = box.width;
    crop.height = box.height;
    const source = state.imageOk ? $("img-image") : state.maps.saliency;
    crop.getContext("2d").drawImage(source, box.x, box.y, box.width, box.height,
                                    0, 0, box.width, box.height);
    crop.dataset.aspect = box.aspect;
    $("crop-box").textContent = cropCaption(box);
    blobLink($("dl-crop"), crop, cropFileName(state.stem, box.aspect));
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
      const row = document.createElement("tr");
      for (const value of statsCells(kind, entry.stats)) {
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
    state.stem = stemOf(file.name);
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
