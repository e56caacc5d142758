// The latent-space explorer: plain JavaScript over the server's /v1 API.
"use strict";

const $ = (id) => document.getElementById(id);
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
// RAMP is a sequential ramp of 16 colours, light yellow (low score) to dark
// red (high), for the map coloured by score.
const RAMP = (() => {
  const stops = [[254, 204, 92], [253, 141, 60], [240, 59, 32], [189, 0, 38], [90, 0, 30]];
  return Array.from({ length: 16 }, (_, k) => {
    const f = k / 15 * (stops.length - 1), i = Math.min(stops.length - 2, Math.floor(f)), t = f - i;
    return "rgb(" + stops[i].map((v, c) => Math.round(v + t * (stops[i + 1][c] - v))).join(",") + ")";
  });
})();

const state = {
  model: null,     // GET /v1/model
  pts: null,       // GET /v1/points
  L: 0,            // latent size
  rows: 0, cols: 0, channels: 1, // image shape (3 channels: RGB planes)
  proj: { kind: "dims", x: 0, y: 1 },
  px: null, py: null, // projected test points
  view: { cx: 0, cy: 0, scale: 60 }, // map units at the centre, pixels per unit
  z: null,         // the pinned latent point
  pin: null,       // {u, v} of the pinned point on the map
  drawn: null,     // {u, v} of the drawing's encoding
  drawnZ: null,    // the drawing's encoding
  a: null, b: null, // interpolation ends
  table: null,     // a table model's columns (model.table), else null
  pinnedRow: null, // the pinned test example's row, column → value (table models)
  pinnedName: "",  // its name in the decoded table's header
  decodedRow: null, // the latest decoded row (table models)
  byScore: null,   // the test points in the bins of RAMP, by score
  scoreRange: null, // [lo, hi], the scores of the first and last bin
  anomalies: null, // GET /v1/anomalies
  token: sessionStorage.getItem("vae-token") || "",
};

// ---- API ----

// api calls the server: a GET of path, or a POST of the JSON body or of the
// form, and returns the JSON response, or with blob its body as a Blob.
async function api(path, body, form, blob) {
  const opt = { headers: {} };
  if (state.token) opt.headers.Authorization = "Bearer " + state.token;
  if (form) {
    opt.method = "POST";
    opt.body = form;
  } else if (body !== undefined) {
    opt.method = "POST";
    opt.headers["Content-Type"] = "application/json";
    opt.body = JSON.stringify(body);
  }
  const r = await fetch(path, opt);
  if (blob && r.ok) return r.blob();
  const j = await r.json();
  if (r.status === 401) $("token-form").hidden = false;
  if (!r.ok) throw new Error(j.error || r.statusText);
  return j;
}

function showError(e) {
  $("error").textContent = String(e.message || e);
  $("error").hidden = false;
}

// ---- images ----

// paint draws images (rows of pixels in [0, 1]; a colour image's red,
// green and blue planes one after the other) side by side on canvas.
function paint(canvas, images, perRow) {
  const { rows: h, cols: w, channels: c } = state;
  const plane = c === 3 ? h * w : 0;
  perRow = perRow || images.length;
  const nr = Math.ceil(images.length / perRow);
  canvas.width = w * perRow;
  canvas.height = h * nr;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(canvas.width, canvas.height);
  images.forEach((px, k) => {
    const ox = (k % perRow) * w, oy = Math.floor(k / perRow) * h;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = y * w + x;
        const o = 4 * ((oy + y) * canvas.width + ox + x);
        img.data[o] = Math.round(255 * px[i]);
        img.data[o + 1] = Math.round(255 * px[plane + i]);
        img.data[o + 2] = Math.round(255 * px[2 * plane + i]);
        img.data[o + 3] = 255;
      }
    }
  });
  ctx.putImageData(img, 0, 0);
}

// ---- table rows ----

// cellText formats a cell of a decoded row: a number to 4 significant
// digits, a category as it is, a missing value as a dash.
function cellText(v) {
  if (v === null || v === undefined) return "—";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
  return String(v);
}

// renderCells fills the <table> el with a header row and rows of cells.
function renderCells(el, head, rows) {
  el.textContent = "";
  const thead = el.createTHead().insertRow();
  for (const h of head) {
    const th = document.createElement("th");
    th.textContent = h;
    thead.append(th);
  }
  const body = el.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    r.forEach((v, k) => {
      const td = tr.insertCell();
      td.textContent = k === 0 ? String(v) : cellText(v);
      if (k > 0 && (typeof v === "number" || v === null || v === undefined)) td.className = "num";
    });
  }
}

// showDecodedRow shows the decoded row beside the pinned test example's.
function showDecodedRow(row) {
  state.decodedRow = row;
  const head = ["column", "decoded"];
  if (state.pinnedRow) head.push(state.pinnedName);
  renderCells($("decoded-row"), head, state.table.columns.map((c) => {
    const r = [c.name, row[c.name]];
    if (state.pinnedRow) r.push(state.pinnedRow[c.name]);
    return r;
  }));
}

// ---- projection between latent space and the map ----

function project(z) {
  const p = state.proj;
  if (p.kind === "pca") {
    const { center, components } = state.pts.pca;
    let u = 0, v = 0;
    for (let i = 0; i < state.L; i++) {
      const d = z[i] - center[i];
      u += d * components[0][i];
      v += d * components[1][i];
    }
    return [u, v];
  }
  return [z[p.x], state.L > 1 ? z[p.y] : 0];
}

// unproject returns the latent point under map point (u, v): on the
// principal plane, or the pinned z with the two mapped dimensions replaced.
function unproject(u, v) {
  const p = state.proj;
  if (p.kind === "pca") {
    const { center, components } = state.pts.pca;
    return center.map((c, i) => c + u * components[0][i] + v * components[1][i]);
  }
  const z = state.z.slice();
  z[p.x] = u;
  if (state.L > 1) z[p.y] = v;
  return z;
}

function reproject() {
  const n = state.pts.n, L = state.L, mean = state.pts.mean;
  state.px = new Float32Array(n);
  state.py = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    [state.px[i], state.py[i]] = project(mean[i]);
  }
  if (state.z) state.pin = toUV(state.z);
  if (state.drawnZ) state.drawn = toUV(state.drawnZ);
  const note = $("projection-note");
  if (state.proj.kind === "pca") {
    const e = state.pts.pca.explained;
    note.textContent = `Principal plane of the ${n} test means (PC1 ${(100 * e[0]).toFixed(1)}%, PC2 ${(100 * e[1]).toFixed(1)}% of the variance): ` +
      "a map point (u, v) decodes z = centre + u·PC1 + v·PC2.";
  } else {
    note.textContent = L <= 2 ? `The ${L}-D latent means of the ${n} test points.` :
      `Latent dimensions ${state.proj.x} (x) and ${state.proj.y} (y); the other dimensions take the sliders' values.`;
  }
  fitView();
}

function toUV(z) {
  const [u, v] = project(z);
  return { u, v };
}

// ---- the map ----

const map = $("map");
const mctx = map.getContext("2d");
let dirty = false;

function resizeMap() {
  const dpr = window.devicePixelRatio || 1;
  map.width = map.clientWidth * dpr;
  map.height = map.clientHeight * dpr;
  mctx.setTransform(dpr, 0, 0, dpr, 0, 0);
}

function fitView() {
  const n = state.pts.n;
  if (n === 0) {
    state.view = { cx: 0, cy: 0, scale: map.clientWidth / 8 };
    return redraw();
  }
  const xs = Array.from(state.px).sort((a, b) => a - b);
  const ys = Array.from(state.py).sort((a, b) => a - b);
  const x0 = quantile(xs, 0.005), x1 = quantile(xs, 0.995), y0 = quantile(ys, 0.005), y1 = quantile(ys, 0.995);
  const span = Math.max(x1 - x0, y1 - y0, 1e-3) * 1.1;
  state.view = { cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, scale: map.clientWidth / span };
  redraw();
}

// quantile returns the f quantile of the sorted numbers a (nearest rank).
function quantile(a, f) {
  return a[Math.min(a.length - 1, Math.floor(f * a.length))];
}

function toScreen(u, v) {
  const { cx, cy, scale } = state.view;
  return [(u - cx) * scale + map.clientWidth / 2, map.clientHeight / 2 - (v - cy) * scale];
}

function toMap(sx, sy) {
  const { cx, cy, scale } = state.view;
  return [(sx - map.clientWidth / 2) / scale + cx, cy - (sy - map.clientHeight / 2) / scale];
}

function redraw() {
  if (!dirty) {
    dirty = true;
    requestAnimationFrame(drawMap);
  }
}

function drawMap() {
  dirty = false;
  const W = map.clientWidth, H = map.clientHeight;
  mctx.clearRect(0, 0, W, H);
  // axes through the origin of the map
  mctx.strokeStyle = "#ddd";
  const [ox, oy] = toScreen(0, 0);
  mctx.beginPath();
  mctx.moveTo(ox, 0); mctx.lineTo(ox, H); mctx.moveTo(0, oy); mctx.lineTo(W, oy);
  mctx.stroke();
  if (state.pts && state.px) {
    const { cx, cy, scale } = state.view;
    const hx = W / 2 - cx * scale, hy = H / 2 + cy * scale;
    const byScore = $("by-score").checked;
    const groups = byScore ? state.byScore : state.byClass, colors = byScore ? RAMP : COLORS;
    // a table's few points drawn larger
    const r = state.table && state.pts.n < 5000 ? 2 : 1, d = state.table && state.pts.n < 5000 ? 4 : 2.5;
    for (let c = 0; c < groups.length; c++) {
      mctx.fillStyle = colors[c % colors.length];
      const idx = groups[c];
      for (let k = 0; k < idx.length; k++) {
        const i = idx[k];
        const x = state.px[i] * scale + hx, y = hy - state.py[i] * scale;
        if (x >= -2 && x <= W + 2 && y >= -2 && y <= H + 2) mctx.fillRect(x - r, y - r, d, d);
      }
    }
  }
  marker(state.pin, "#000", 7);
  marker(state.drawn, "#e00", 9);
}

function marker(p, color, r) {
  if (!p) return;
  const [x, y] = toScreen(p.u, p.v);
  mctx.lineWidth = 2.5;
  mctx.strokeStyle = "#fff";
  mctx.beginPath(); mctx.arc(x, y, r, 0, 2 * Math.PI); mctx.stroke();
  mctx.lineWidth = 1.5;
  mctx.strokeStyle = color;
  mctx.beginPath(); mctx.arc(x, y, r, 0, 2 * Math.PI); mctx.stroke();
  mctx.lineWidth = 1;
}

// ---- decoding: the latest request wins, one in flight at a time ----

const decoder = { busy: false, next: null, last: null };

function decodeLive(z) {
  decoder.next = decoder.last = z;
  if (!decoder.busy) pumpDecode();
}

$("class-picker").addEventListener("change", () => { if (decoder.last) decodeLive(decoder.last); });

// decodeBody is the body of a decode request for latents zs: a
// conditional model's with the class of the picker.
function decodeBody(zs) {
  const C = state.model.config.classes || 0;
  return C > 0 ? { latents: zs, class: Number($("class-picker").value) } : { latents: zs };
}

// setupClasses shows a conditional model's class picker, which the
// decoding (hover, pins, interpolation, the grid) follows.
function setupClasses() {
  const C = state.model.config.classes || 0;
  $("class-box").hidden = C === 0;
  const sel = $("class-picker");
  sel.textContent = "";
  for (let c = 0; c < C; c++) sel.append(new Option(className(c), String(c)));
}

async function pumpDecode() {
  while (decoder.next) {
    const z = decoder.next;
    decoder.next = null;
    decoder.busy = true;
    try {
      const r = await api("/v1/decode", decodeBody([z]));
      if (state.table) {
        showDecodedRow(r.rows[0]);
        $("decoded-row").dataset.z = z.join(",");
      } else {
        paint($("decoded"), r.outputs);
      }
      $("decoded").dataset.z = z.join(",");
      if (state.model.config.classes) $("decoded").dataset.class = $("class-picker").value;
      $("z-text").textContent = "z = [" + z.map((v) => v.toFixed(2)).join(", ") + "]";
    } catch (e) {
      showError(e);
    } finally {
      decoder.busy = false;
    }
  }
}

// ---- pointer on the map: hover decodes, click pins, drag pans, wheel zooms ----

let drag = null;

map.addEventListener("pointerdown", (e) => {
  drag = { x: e.offsetX, y: e.offsetY, cx: state.view.cx, cy: state.view.cy, moved: false };
  map.setPointerCapture(e.pointerId);
});

map.addEventListener("pointermove", (e) => {
  if (drag) {
    const dx = e.offsetX - drag.x, dy = e.offsetY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    if (drag.moved) {
      state.view.cx = drag.cx - dx / state.view.scale;
      state.view.cy = drag.cy + dy / state.view.scale;
      redraw();
      return;
    }
  }
  if (!state.z) return;
  const [u, v] = toMap(e.offsetX, e.offsetY);
  decodeLive(unproject(u, v));
});

map.addEventListener("pointerup", (e) => {
  const d = drag;
  drag = null;
  if (!d || d.moved) return;
  const [u, v] = toMap(e.offsetX, e.offsetY);
  const near = nearestPoint(e.offsetX, e.offsetY, 5);
  if (near >= 0) pinTestPoint(near);
  else pin(unproject(u, v), "map point");
});

map.addEventListener("pointerleave", () => {
  if (state.z) decodeLive(state.z);
});

map.addEventListener("wheel", (e) => {
  e.preventDefault();
  const [u, v] = toMap(e.offsetX, e.offsetY);
  const f = Math.exp(-e.deltaY * 0.0015);
  state.view.scale *= f;
  // keep the point under the cursor in place
  state.view.cx = u - (u - state.view.cx) / f;
  state.view.cy = v - (v - state.view.cy) / f;
  redraw();
}, { passive: false });

function nearestPoint(sx, sy, radius) {
  if (!state.px) return -1;
  let best = -1, bd = radius * radius;
  for (let i = 0; i < state.pts.n; i++) {
    const [x, y] = toScreen(state.px[i], state.py[i]);
    const d = (x - sx) ** 2 + (y - sy) ** 2;
    if (d < bd) { bd = d; best = i; }
  }
  return best;
}

function pin(z, what) {
  state.pinnedRow = null;
  state.z = z.slice();
  state.pin = toUV(state.z);
  $("pinned-text").textContent = "pinned: " + what;
  $("pinned-input").hidden = true;
  syncSliders();
  decodeLive(state.z);
  redraw();
}

async function pinTestPoint(i) {
  try {
    const p = await api("/v1/points/" + i);
    const label = p.class !== undefined ? `, ${p.class}` : p.label !== undefined ? `, label ${p.label}` : "";
    const id = p.id !== undefined ? ` (id ${p.id})` : "";
    if (state.table) {
      pin(p.mean, `test example ${i}${id}${label} (its values beside the decoded ones)`);
      state.pinnedRow = p.row;
      state.pinnedName = `example ${i}` + (p.id !== undefined ? ` (id ${p.id})` : "");
      if (state.decodedRow) showDecodedRow(state.decodedRow);
      return;
    }
    pin(p.mean, `test example ${i}${id}${label} (its input below)`);
    $("pinned-input").hidden = false;
    paint($("pinned-input"), [p.input]);
  } catch (e) {
    showError(e);
  }
}

// ---- sliders: one per latent dimension ----

function buildSliders() {
  const box = $("sliders");
  box.textContent = "";
  for (let i = 0; i < state.L; i++) {
    const label = document.createElement("label");
    const s = document.createElement("input");
    s.type = "range"; s.min = -4; s.max = 4; s.step = 0.01; s.value = 0;
    s.dataset.dim = i;
    const out = document.createElement("span");
    out.className = "mono";
    s.addEventListener("input", () => {
      state.z[i] = Number(s.value);
      out.textContent = Number(s.value).toFixed(2);
      state.pin = toUV(state.z);
      $("pinned-text").textContent = "pinned: sliders";
      decodeLive(state.z.slice());
      redraw();
    });
    label.append(`z[${i}]`, s, out);
    box.append(label);
  }
}

function syncSliders() {
  document.querySelectorAll("#sliders input").forEach((s) => {
    const i = Number(s.dataset.dim);
    s.value = state.z[i];
    s.nextSibling.textContent = state.z[i].toFixed(2);
  });
}

// ---- drawing and uploading ----

const draw = $("draw");
const dctx = draw.getContext("2d", { willReadFrequently: true });
let stroke = null;

function clearDrawing() {
  dctx.fillStyle = "#000";
  dctx.fillRect(0, 0, draw.width, draw.height);
}

draw.addEventListener("pointerdown", (e) => {
  draw.setPointerCapture(e.pointerId);
  stroke = [e.offsetX * draw.width / draw.clientWidth, e.offsetY * draw.height / draw.clientHeight];
  dctx.fillStyle = "#fff";
  dctx.beginPath(); dctx.arc(stroke[0], stroke[1], 9, 0, 2 * Math.PI); dctx.fill();
});

draw.addEventListener("pointermove", (e) => {
  if (!stroke) return;
  const p = [e.offsetX * draw.width / draw.clientWidth, e.offsetY * draw.height / draw.clientHeight];
  dctx.strokeStyle = "#fff";
  dctx.lineWidth = 18;
  dctx.lineCap = "round";
  dctx.beginPath(); dctx.moveTo(stroke[0], stroke[1]); dctx.lineTo(p[0], p[1]); dctx.stroke();
  stroke = p;
});

draw.addEventListener("pointerup", () => {
  if (!stroke) return;
  stroke = null;
  analyse({ inputs: [drawingToInput()] });
});

$("clear").addEventListener("click", clearDrawing);

$("upload").addEventListener("change", async (e) => {
  const file = e.target.files[0];
  if (!file) return;
  const bmp = await createImageBitmap(file);
  clearDrawing();
  const s = Math.min(draw.width / bmp.width, draw.height / bmp.height);
  dctx.drawImage(bmp, (draw.width - bmp.width * s) / 2, (draw.height - bmp.height * s) / 2, bmp.width * s, bmp.height * s);
  // The server reads the PNG itself: multipart/form-data, scaled to the
  // model's input size.
  const form = () => {
    const f = new FormData();
    f.append("image", file);
    if ($("invert").checked) f.append("invert", "true");
    return f;
  };
  analyse(null, form);
  e.target.value = "";
});

// drawingToInput turns the drawing into the model's input as MNIST made its
// digits: the ink's bounding box scaled into the central 20/28 of the
// image, then moved so its centre of mass is at the centre.
function drawingToInput() {
  const { rows: h, cols: w } = state;
  const src = dctx.getImageData(0, 0, draw.width, draw.height).data;
  let x0 = draw.width, y0 = draw.height, x1 = -1, y1 = -1;
  for (let y = 0; y < draw.height; y++) {
    for (let x = 0; x < draw.width; x++) {
      if (src[4 * (y * draw.width + x)] > 20) {
        x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      }
    }
  }
  const out = new Array(h * w).fill(0);
  if (x1 < 0) return out;
  const box = Math.round(Math.min(h, w) * 20 / 28);
  const s = box / Math.max(x1 - x0 + 1, y1 - y0 + 1);
  const tmp = document.createElement("canvas");
  tmp.width = w; tmp.height = h;
  const t = tmp.getContext("2d");
  t.fillStyle = "#000"; t.fillRect(0, 0, w, h);
  t.imageSmoothingQuality = "high";
  const bw = (x1 - x0 + 1) * s, bh = (y1 - y0 + 1) * s;
  t.drawImage(draw, x0, y0, x1 - x0 + 1, y1 - y0 + 1, (w - bw) / 2, (h - bh) / 2, bw, bh);
  let px = t.getImageData(0, 0, w, h).data;
  let m = 0, mx = 0, my = 0;
  for (let i = 0; i < h * w; i++) {
    const v = px[4 * i] / 255;
    m += v; mx += v * (i % w); my += v * Math.floor(i / w);
  }
  const dx = Math.round((w - 1) / 2 - mx / m), dy = Math.round((h - 1) / 2 - my / m);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sx = x - dx, sy = y - dy;
      if (sx >= 0 && sx < w && sy >= 0 && sy < h) out[y * w + x] = px[4 * (sy * w + sx)] / 255;
    }
  }
  // a colour model reads the drawing as white ink in each of its planes
  return state.channels === 3 ? out.concat(out, out) : out;
}

// analyse encodes, reconstructs and scores one input (a JSON body, or a
// function making a multipart form), then shows it on the map.
async function analyse(body, form) {
  try {
    if (state.model.config.classes) { // a conditional model's input is of the picker's class
      const cls = Number($("class-picker").value);
      if (body) body = Object.assign({}, body, { class: cls });
      if (form) {
        const make = form;
        form = () => { const f = make(); f.append("class", String(cls)); return f; };
      }
    }
    const call = (path) => form ? api(path, undefined, form()) : api(path, body);
    const [enc, rec, sc] = await Promise.all([call("/v1/encode"), call("/v1/reconstruct"), call("/v1/score")]);
    const s = sc.scores[0];
    const text = `−ELBO ${s.loss.toFixed(1)} nats\n= recon ${s.recon.toFixed(1)} + KL ${s.kl.toFixed(1)}`;
    state.drawnZ = enc.mean[0];
    state.drawn = toUV(state.drawnZ);
    if (state.table) {
      const input = body.rows[0];
      $("row-score").textContent = text + (s.id !== undefined ? ` (id ${s.id})` : "");
      renderCells($("recon-row"), ["column", "input", "reconstruction", "recon term"],
        state.table.columns.map((c) => [c.name, input[c.name], rec.rows[0][c.name], s.parts ? Number(s.parts[c.name].toFixed(3)) : null]));
      $("row-input").dataset.encoded = enc.mean[0].join(",");
      pin(enc.mean[0], "the row's encoding (red ring)");
    } else {
      paint($("recon"), rec.outputs);
      $("score").textContent = text;
      $("draw").dataset.encoded = enc.mean[0].join(",");
      pin(enc.mean[0], "the drawing's encoding (red ring)");
    }
    redraw();
  } catch (e) {
    showError(e);
  }
}

// ---- interpolation ----

$("set-a").addEventListener("click", () => { if (state.z) { state.a = state.z.slice(); interpolate(); } });
$("set-b").addEventListener("click", () => { if (state.z) { state.b = state.z.slice(); interpolate(); } });

async function interpolate() {
  const a = state.a, b = state.b || state.a;
  if (!a) return;
  const steps = 10, zs = [];
  for (let k = 0; k < steps; k++) {
    const t = k / (steps - 1);
    zs.push(a.map((v, i) => (1 - t) * v + t * b[i]));
  }
  try {
    const r = await api("/v1/decode", decodeBody(zs));
    if (state.table) {
      const head = ["column"].concat(zs.map((_, k) => k === 0 ? "A" : k === steps - 1 ? "B" : String(k)));
      renderCells($("interp-table"), head, state.table.columns.map((c) => [c.name].concat(r.rows.map((row) => row[c.name]))));
      $("interp-table").dataset.steps = String(r.rows.length);
      return;
    }
    paint($("interp"), r.outputs);
  } catch (e) {
    showError(e);
  }
}

// ---- grid of the view, as the seed's manifold picture ----

$("show-grid").addEventListener("click", async () => {
  const n = 16, W = map.clientWidth, H = map.clientHeight, zs = [];
  const [u0, v1] = toMap(W * 0.1, H * 0.1), [u1, v0] = toMap(W * 0.9, H * 0.9);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      zs.push(unproject(u0 + (u1 - u0) * c / (n - 1), v1 - (v1 - v0) * r / (n - 1)));
    }
  }
  try {
    const res = await api("/v1/decode", decodeBody(zs));
    $("grid-panel").hidden = false;
    paint($("grid"), res.outputs, n);
    $("grid-note").textContent = `${n}×${n} points evenly spaced over the central 80% of the map's view ` +
      `(u ${u0.toFixed(2)}…${u1.toFixed(2)}, v ${v0.toFixed(2)}…${v1.toFixed(2)}), decoded; top row is the largest v.`;
  } catch (e) {
    showError(e);
  }
});

// ---- projection controls ----

function buildProjection() {
  const sel = $("projection");
  sel.textContent = "";
  const opts = [["dims", "latent dimensions"]];
  if (state.L > 2 && state.pts.pca) opts.unshift(["pca", "PCA of the test means"]);
  for (const [v, t] of opts) sel.append(new Option(t, v));
  for (const id of ["dim-x", "dim-y"]) {
    const d = $(id);
    d.textContent = "";
    for (let i = 0; i < state.L; i++) d.append(new Option(String(i), String(i)));
  }
  $("dim-x").value = "0";
  $("dim-y").value = String(Math.min(1, state.L - 1));
  const update = () => {
    state.proj = { kind: sel.value, x: Number($("dim-x").value), y: Number($("dim-y").value) };
    $("dims").hidden = sel.value !== "dims";
    reproject();
  };
  sel.onchange = update;
  $("dim-x").onchange = update;
  $("dim-y").onchange = update;
  sel.value = opts[0][0];
  update();
}

// className names class c of the test set's labels.
function className(c) {
  const names = state.pts.classes || [];
  return c < names.length ? names[c] : String(c);
}

// buildLegend names the colours of the map: the classes and their counts,
// or some bins of the scores.
function buildLegend() {
  const box = $("legend");
  box.textContent = "";
  const swatch = (color, text) => {
    const s = document.createElement("span");
    s.style.setProperty("--c", color);
    s.textContent = text;
    box.append(s);
  };
  if ($("by-score").checked) {
    const [lo, hi] = state.scoreRange, K = RAMP.length;
    box.append(`${state.pts.score_kind} score:`);
    for (const k of [0, 5, 10, K - 1]) {
      const v = Number((lo + (hi - lo) * k / (K - 1)).toPrecision(4));
      swatch(RAMP[k], k === 0 ? `≤ ${v}` : k === K - 1 ? `≥ ${v}` : String(v));
    }
    return;
  }
  state.byClass.forEach((idx, c) => {
    if (idx.length > 0) swatch(COLORS[c % COLORS.length], `${className(c)} (${idx.length})`);
  });
}

$("reset-view").addEventListener("click", fitView);

$("token-form").addEventListener("submit", (e) => {
  e.preventDefault();
  state.token = $("token").value;
  sessionStorage.setItem("vae-token", state.token);
  $("token-form").hidden = true;
  $("error").hidden = true;
  start();
});

// ---- a row of a table model ----

$("row-analyse").addEventListener("click", () => {
  let row;
  try {
    row = JSON.parse($("row-input").value);
  } catch (e) {
    showError(new Error("the row is not JSON: " + e.message));
    return;
  }
  $("error").hidden = true;
  analyse({ rows: [row] });
});

$("row-from-pin").addEventListener("click", () => {
  const row = state.pinnedRow || state.decodedRow;
  if (row) $("row-input").value = JSON.stringify(row, null, 1);
});

// setupTable turns the page to a table model: tables of named values
// instead of images, a row to edit instead of a drawing.
async function setupTable() {
  for (const id of ["decoded", "draw-panel", "show-grid", "interp"]) $(id).hidden = true;
  for (const id of ["decoded-box", "row-panel", "interp-box"]) $(id).hidden = false;
  document.querySelector("#side .panel h2").textContent = "decoded row";
  if (state.pts.n > 0) {
    const p = await api("/v1/points/0");
    const row = Object.assign({}, p.row);
    if (state.table.id && p.id !== undefined) row[state.table.id] = p.id;
    $("row-input").value = JSON.stringify(row, null, 1);
  }
}

// ---- anomalies: the test set's scores, a threshold, the highest ----

// setupAnomalies sets the threshold's slider over the range of the test
// scores, the normal classes to those the model was trained on (its run's
// classes) or else to the most frequent label, the bins of the map coloured
// by score, and lists the anomalies.
async function setupAnomalies() {
  const pts = state.pts;
  $("anomaly-panel").hidden = pts.n === 0;
  if (pts.n === 0) return;
  const sorted = Float64Array.from(pts.scores).sort();
  const s = $("threshold");
  s.min = state.scoreMin = sorted[0];
  s.max = state.scoreMax = sorted[pts.n - 1];
  s.step = "any";
  s.value = pts.threshold !== null ? pts.threshold : quantile(sorted, 0.95);
  $("anomaly-note").textContent = pts.threshold !== null ?
    `The slider starts at the threshold of the model's detector (${pts.score_kind} score).` :
    "The model has no detector (vae threshold makes one): the scores are the negative ELBO and the slider starts at their 95th percentile.";
  $("normal-box").hidden = pts.labels.length === 0;
  const sel = $("normal-class");
  sel.textContent = "";
  let common = 0;
  state.byClass.forEach((idx, c) => {
    if (idx.length === 0) return;
    sel.append(new Option(className(c), String(c)));
    if (idx.length > state.byClass[common].length) common = c;
  });
  const trained = ((state.model.spec || {}).classes || []).map((c) => pts.classes.includes(c) ? pts.classes.indexOf(c) : Number(c));
  for (const o of sel.options) o.selected = trained.length ? trained.includes(Number(o.value)) : Number(o.value) === common;
  sel.size = Math.min(4, sel.options.length);
  // the colours of the map by score: 16 bins from the 1st to the 99th percentile
  const lo = quantile(sorted, 0.01), hi = Math.max(quantile(sorted, 0.99), lo + 1e-9), K = RAMP.length;
  state.scoreRange = [lo, hi];
  state.byScore = Array.from({ length: K }, () => []);
  pts.scores.forEach((v, i) => {
    state.byScore[Math.max(0, Math.min(K - 1, Math.round((v - lo) / (hi - lo) * (K - 1))))].push(i);
  });
  showFlagged();
  state.anomalies = (await api("/v1/anomalies?n=20")).anomalies;
  renderAnomalies();
}

// showFlagged says how many test points the threshold flags and, with
// labels, the precision and recall it gives when the classes other than
// the normal ones are the anomalies.
function showFlagged() {
  // The slider keeps its value in a decimal of its own precision, which can
  // round its ends past the extreme scores: clamp to them.
  const pts = state.pts, s = $("threshold");
  const t = Math.min(Math.max(Number(s.value), state.scoreMin), state.scoreMax);
  const normal = new Set(Array.from($("normal-class").selectedOptions, (o) => Number(o.value)));
  const labelled = pts.labels.length > 0;
  let flagged = 0, anomalies = 0, found = 0;
  for (let i = 0; i < pts.n; i++) {
    const f = pts.scores[i] > t, a = labelled && !normal.has(pts.labels[i]);
    flagged += f;
    anomalies += a;
    found += f && a;
  }
  $("threshold-value").textContent = `> ${Number(t.toPrecision(5))}`;
  let text = `flags ${flagged} of ${pts.n} (${(100 * flagged / pts.n).toFixed(1)}%)`;
  if (labelled) {
    text += `\nprecision ${flagged ? (found / flagged).toFixed(3) : "—"}, recall ${anomalies ? (found / anomalies).toFixed(3) : "—"}` +
      ` (the ${anomalies} of other classes are the anomalies)`;
  }
  $("flagged").textContent = text;
  $("flagged").dataset.count = String(flagged);
}

// renderAnomalies lists the test points of highest score: an image with the
// heat map of its pixels' reconstruction terms, or a row's columns most to
// blame; a click pins the point.
function renderAnomalies() {
  const ol = $("anomalies");
  ol.textContent = "";
  for (const a of state.anomalies) {
    const b = document.createElement("button");
    b.type = "button";
    b.addEventListener("click", () => pinTestPoint(a.index));
    if (a.input) {
      const input = document.createElement("canvas");
      input.className = "digit";
      paint(input, [a.input]);
      b.append(input);
    }
    if (a.heat) {
      const heat = document.createElement("canvas");
      heat.className = "digit";
      heat.id = "heat-" + a.index;
      b.append(heat);
      api(a.heat, undefined, undefined, true).then((blob) => createImageBitmap(blob)).then((bmp) => {
        heat.width = bmp.width;
        heat.height = bmp.height;
        heat.getContext("2d").drawImage(bmp, 0, 0);
        heat.dataset.ready = "1";
      }).catch(showError);
    }
    const text = document.createElement("span");
    text.className = "mono";
    const label = a.class !== undefined ? ` ${a.class}` : a.label !== undefined ? ` label ${a.label}` : "";
    text.textContent = `#${a.index}${a.id !== undefined ? ` (id ${a.id})` : ""}${label}: score ${Number(a.score.toPrecision(5))}` +
      (a.blame || []).slice(0, 3).map((c) => `\n${c.column} ${(100 * c.share).toFixed(0)}%: ${cellText(c.observed)} → ${cellText(c.expected)}`).join("");
    b.append(text);
    const li = document.createElement("li");
    li.append(b);
    ol.append(li);
  }
}

$("threshold").addEventListener("input", showFlagged);
$("normal-class").addEventListener("change", showFlagged);
$("by-score").addEventListener("change", () => {
  buildLegend();
  redraw();
});

// ---- start ----

async function start() {
  try {
    const [model, pts] = await Promise.all([api("/v1/model"), api("/v1/points")]);
    state.model = model;
    state.pts = pts;
    setupClasses();
    state.L = model.config.latent;
    state.rows = model.image ? model.image.rows : 1;
    state.cols = model.image ? model.image.cols : model.config.input;
    state.channels = model.image ? model.image.channels : 1;
    state.table = model.table || null;
    const last = (model.metrics || []).at(-1);
    const tab = state.table ? `, a table of ${state.table.columns.length} columns` +
      (state.table.label ? ` (map coloured by ${state.table.label})` : "") : "";
    $("model").textContent = `${model.architecture}` + (model.data ? ` on ${model.data}` : "") + tab +
      (last && last.test ? `, test −ELBO ${last.test.loss.toFixed(2)} after ${last.epoch} epochs` : "") +
      (pts.n ? `, ${pts.n} test points` : ", no test set loaded (start vae serve with --data)");
    $("by-score").checked = false; // as the page starts, whatever the browser restored
    const classes = Math.max(1, ...pts.labels.map((l) => l + 1));
    state.byClass = Array.from({ length: classes }, () => []);
    for (let i = 0; i < pts.n; i++) state.byClass[pts.labels.length ? pts.labels[i] : 0].push(i);
    state.z = new Array(state.L).fill(0);
    resizeMap();
    buildSliders();
    buildProjection();
    buildLegend();
    clearDrawing();
    if (state.table) await setupTable();
    await setupAnomalies();
    pin(state.z, "the origin");
    document.body.dataset.ready = "1";
  } catch (e) {
    showError(e);
  }
}

start();
