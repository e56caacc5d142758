// Runs an ONNX model once with ONNX Runtime's CPU execution provider on the
// inputs of a JSON file and writes each output as raw little-endian float32
// into a folder. For graphs whose inputs are not one float32 matrix (the
// preprocessing of a table model: a double or string tensor per column).
//
//   node scripts/onnx/feed.js MODEL FEEDS.json OUTDIR
//
// FEEDS.json: {"NAME": {"type": "float64"|"float32"|"string", "dims": [N, 1], "data": [...]}, ...};
// a null in a number tensor's data is NaN.
"use strict";
const fs = require("fs");
const path = require("path");
const ort = require("onnxruntime-node");

async function main() {
  const argv = process.argv.slice(2);
  if (argv.length !== 3) throw new Error("usage: feed.js MODEL FEEDS.json OUTDIR");
  const [model, feedsPath, outDir] = argv;
  const feeds = {};
  for (const [name, t] of Object.entries(JSON.parse(fs.readFileSync(feedsPath, "utf8")))) {
    const data = t.type === "string" ? t.data : t.data.map((v) => (v === null ? NaN : v));
    feeds[name] = new ort.Tensor(t.type, t.type === "float64" ? Float64Array.from(data) : t.type === "float32" ? Float32Array.from(data) : data, t.dims);
  }
  const session = await ort.InferenceSession.create(model, { executionProviders: ["cpu"], intraOpNumThreads: 1 });
  const res = await session.run(feeds);
  fs.mkdirSync(outDir, { recursive: true });
  for (const name of session.outputNames) {
    const d = Float32Array.from(res[name].data);
    fs.writeFileSync(path.join(outDir, name + ".f32"), Buffer.from(d.buffer));
  }
}

main().catch((e) => { console.error(e.message || e); process.exit(1); });
