// Runs ONNX models with ONNX Runtime (onnxruntime-node) for the ONNX export tests
// (tests/onnx/ort_node.py writes the job and reads the answer).
//   node ort_run.js NODE_DIR JOB.json OUT.json
// JOB: [{"model": path, "input": name, "rows": [[...], ...]}, ...]
// OUT: one object per job: {"outputs": {name: {"type": ..., "dims": [...], "data": [...]}}} or
// {"error": message}. int64 values come back as numbers (exact up to 2^53: mlp's int64 labels
// are classes that a double holds exactly).
'use strict';
const fs = require('fs');
const [nodeDir, jobPath, outPath] = process.argv.slice(2);
const ort = require(require.resolve('onnxruntime-node', { paths: [nodeDir] }));

async function run(job) {
  const session = await ort.InferenceSession.create(job.model);
  const n = job.rows.length, d = n ? job.rows[0].length : 0;
  const x = new ort.Tensor('float32', Float32Array.from(job.rows.flat()), [n, d]);
  const result = await session.run({ [job.input]: x });
  const outputs = {};
  for (const name of session.outputNames) {
    const t = result[name];
    outputs[name] = { type: t.type, dims: t.dims, data: Array.from(t.data, v => (typeof v === 'bigint' ? Number(v) : v)) };
  }
  return { outputs };
}

(async () => {
  const jobs = JSON.parse(fs.readFileSync(jobPath, 'utf8'));
  const answers = [];
  for (const job of jobs) {
    try {
      answers.push(await run(job));
    } catch (e) {
      answers.push({ error: String(e && e.message ? e.message : e) });
    }
  }
  fs.writeFileSync(outPath, JSON.stringify(answers));
})().catch(e => {
  console.error('ort_run.js: ' + e);
  process.exit(1);
});
