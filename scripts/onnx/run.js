// Runs an ONNX model with ONNX Runtime's CPU execution provider on rows of
// float32 read from a file, in batches, and writes each output as raw
// little-endian float32 into a folder; prints what it measured as JSON.
//
//   node scripts/onnx/run.js MODEL INPUT IN.f32 ROWS COLS OUTDIR [--threads T] [--batch B] [--repeat R] [--class CLASSES.f32]
//
// INPUT is the graph's input name ("x" for encoder.onnx, "z" for
// decoder.onnx). --batch rows per run (default all), --repeat passes over
// the rows (default 1), the fastest of which is timed. --class gives a
// conditional model's "class" input: one float32 per row, fed as int64.
"use strict";
const fs = require("fs");
const path = require("path");
const ort = require("onnxruntime-node");

async function main() {
  const argv = process.argv.slice(2);
  const opt = { threads: 1, batch: 0, repeat: 1, class: "" };
  const pos = [];
  for (let i = 0; i < argv.length; i++) {
    const m = /^--(threads|batch|repeat|class)$/.exec(argv[i]);
    if (m) opt[m[1]] = m[1] === "class" ? argv[++i] : Number(argv[++i]);
    else pos.push(argv[i]);
  }
  if (pos.length !== 6) throw new Error("usage: run.js MODEL INPUT IN.f32 ROWS COLS OUTDIR [--threads T] [--batch B] [--repeat R]");
  const [model, input, inPath, rowsArg, colsArg, outDir] = pos;
  const rows = Number(rowsArg), cols = Number(colsArg), batch = opt.batch || rows;
  const buf = fs.readFileSync(inPath);
  if (buf.length !== 4 * rows * cols) throw new Error(`${inPath}: ${buf.length} bytes, want ${4 * rows * cols} for ${rows} rows of ${cols}`);
  const x = new Float32Array(buf.buffer, buf.byteOffset, rows * cols);
  let classes = null;
  if (opt.class) {
    const cb = fs.readFileSync(opt.class);
    classes = BigInt64Array.from(new Float32Array(cb.buffer, cb.byteOffset, rows), (v) => BigInt(v));
  }
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ["cpu"], intraOpNumThreads: opt.threads, interOpNumThreads: 1, graphOptimizationLevel: "all",
  });
  let best = Infinity, outs = null;
  for (let r = 0; r < opt.repeat; r++) {
    const got = {};
    const start = process.hrtime.bigint();
    for (let lo = 0; lo < rows; lo += batch) {
      const n = Math.min(batch, rows - lo);
      const feed = { [input]: new ort.Tensor("float32", x.subarray(lo * cols, (lo + n) * cols), [n, cols]) };
      if (classes) feed.class = new ort.Tensor("int64", classes.subarray(lo, lo + n), [n]);
      const res = await session.run(feed);
      for (const name of session.outputNames) (got[name] = got[name] || []).push(res[name].data);
    }
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e9);
    outs = got;
  }
  fs.mkdirSync(outDir, { recursive: true });
  for (const [name, parts] of Object.entries(outs)) {
    const f = fs.openSync(path.join(outDir, name + ".f32"), "w");
    for (const p of parts) fs.writeSync(f, Buffer.from(p.buffer, p.byteOffset, p.byteLength));
    fs.closeSync(f);
  }
  const version = require("onnxruntime-node/package.json").version;
  console.log(JSON.stringify({ onnxruntime: version, threads: opt.threads, rows, batch, seconds: best, rows_per_sec: rows / best }));
}

main().catch((e) => { console.error(e.message || e); process.exit(1); });
