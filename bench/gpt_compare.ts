/**
 * tfjs (this library, wasm backend) against PyTorch on the same GPT, side by side in one run:
 * `deno task bench-compare`. A benchmark, not a test (see bench/README.md).
 *
 * The model is nanoGPT's CPU "baby GPT" (lib/gpt.ts `GPT_TINY`): 4 blocks, 4 heads, d_model
 * 128, d_ff 512, context 64, pre-LN with a final LN, exact GELU, tied output, no dropout, a
 * 100-token vocabulary; batch 12. bench/torch_gpt.py is the same model in PyTorch.
 *
 * Measured on each side:
 * - a training step (forward, cross-entropy, backward, AdamW update) in ms: the median of
 *   `--steps` steps after `--warmup` steps (V8 and PyTorch both need warming up);
 * - generation in tokens/s, batch 1, greedy, from a one-token prompt until the context is
 *   full (63 new tokens): re-running the whole sequence for every token, and with a KV cache;
 *   and re-running a full 64-token window per token (nanoGPT's sample loop past the context).
 *
 * tfjs runs the library's default path (matrix products on the system's OpenBLAS when it
 * loads, lib/blas.ts), then — when OpenBLAS loaded — with its products on XNNPACK
 * (`useNativeBlas(false)`) and with OpenBLAS on two threads, for comparison; the required
 * ratios use the default path. PyTorch runs with one thread (OMP_NUM_THREADS=1,
 * torch.set_num_threads(1)) like tfjs's wasm backend here, then with two. Before that, a
 * probe checks that torch uses OpenBLAS and how fast a 1024² matmul is: Debian's reference
 * BLAS (~5 GFLOP/s) would make PyTorch look 15× slower than it is. OpenBLAS's OpenMP build
 * is preferred when installed (the pthread build's own thread pool fights PyTorch's on two
 * threads). OpenBLAS 0.3.21 does not
 * recognise recent Intel CPUs and falls back to its SSE3 "Prescott" kernels (~25 GFLOP/s);
 * the probe then sets OPENBLAS_CORETYPE to the kernel family the CPU supports and says so.
 *
 * Options: `--warmup=N` (default 20), `--steps=N` (30), `--gen-runs=N` (7), `--no-two-threads`,
 * `--profile` (per-kernel time of one tfjs training step), `--python=PATH` (default: the
 * `PYTHON` environment variable, else /usr/bin/python3, else python3 on the PATH).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend, makeRng } from "../lib/tensor.ts";
import { cpuCoreType, setNativeBlasThreads, useNativeBlas } from "../lib/blas.ts";
import {
  countGPTParameters,
  createKVCache,
  disposeGPT,
  disposeKVCache,
  type GPTConfig,
  gptConfig,
  gptForward,
  gptForwardCached,
  gptParameters,
  type GPTParams,
  initGPT,
} from "../lib/gpt.ts";
import { languageModelingLoss } from "../lib/objectives.ts";
import { createAdamW } from "../lib/train.ts";

const VOCAB = 100, BATCH = 12;

/** `--name=value` and `--flag` arguments. */
function parseArgs(args: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const a of args) {
    const m = /^--([\w-]+)(?:=(.*))?$/.exec(a);
    if (!m) fail(`unknown argument ${a} (options: see the comment at the top of this file)`);
    out.set(m[1], m[2] ?? "true");
  }
  return out;
}

function fail(message: string): never {
  console.error(`bench-compare: ${message}`);
  Deno.exit(1);
}

function intArg(args: Map<string, string>, name: string, fallback: number, min: number): number {
  const v = Number(args.get(name) ?? fallback);
  if (!Number.isInteger(v) || v < min) fail(`--${name} must be an integer ≥ ${min}, got ${v}`);
  return v;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// ---------------------------------------------------------------------------------------
// The PyTorch side: bench/torch_gpt.py in a child process
// ---------------------------------------------------------------------------------------

interface TorchProbe {
  torch: string;
  threads: number;
  blas: { libraries: string[]; openblas_config?: string; openblas_core?: string };
  matmul_gflops: number;
}

interface TorchResult extends TorchProbe {
  parameters: number;
  step_ms: number[];
  first_loss: number;
  last_loss: number;
  generated_tokens: number;
  cache_matches_reforward: boolean;
  reforward_tokens_per_s: number;
  cached_tokens_per_s: number;
  full_context_tokens_per_s: number;
}

const script = new URL("./torch_gpt.py", import.meta.url).pathname;

function choosePython(args: Map<string, string>): string {
  const given = args.get("python") ?? Deno.env.get("PYTHON");
  if (given) return given;
  try {
    Deno.statSync("/usr/bin/python3");
    return "/usr/bin/python3"; // Debian's python3-torch lives in the system Python
  } catch {
    return "python3";
  }
}

/** Runs torch_gpt.py with `threads` threads and extra arguments; returns its JSON line. */
async function runTorch<T>(
  python: string,
  threads: number,
  extra: string[],
  env: Record<string, string>,
): Promise<T> {
  const n = String(threads);
  const out = await new Deno.Command(python, {
    args: [script, `--threads=${n}`, ...extra],
    env: { ...env, OMP_NUM_THREADS: n, OPENBLAS_NUM_THREADS: n, MKL_NUM_THREADS: n },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) fail(`${python} ${script} failed:\n${stderr}`);
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  return JSON.parse(lines[lines.length - 1]) as T;
}

/** Fails with the install command when python3 or torch is missing. */
async function checkTorchInstalled(python: string): Promise<void> {
  let ok = false;
  let why = "";
  try {
    const out = await new Deno.Command(python, {
      args: ["-c", "import torch"],
      stdout: "null",
      stderr: "piped",
    }).output();
    ok = out.success;
    why = new TextDecoder().decode(out.stderr).trim().split("\n").pop() ?? "";
  } catch (e) {
    why = (e as Error).message;
  }
  if (!ok) {
    fail(
      `PyTorch is not available to ${python} (${why}).\n` +
        `Install it with: apt-get update && apt-get install -y python3-torch libopenblas0-openmp\n` +
        `(or point --python=… / PYTHON at an interpreter that has torch). See bench/README.md.`,
    );
  }
}

/**
 * The folder of OpenBLAS's OpenMP build (Debian: libopenblas0-openmp), when installed. The
 * pthread build, which Debian may prefer as the libblas.so.3 alternative, keeps its own
 * thread pool beside PyTorch's OpenMP one: with two threads each, four threads fight over
 * two cores (measured: a 130 ms step instead of 49 ms).
 */
function openmpBlasDir(): string | undefined {
  for (const triplet of ["x86_64-linux-gnu", "aarch64-linux-gnu"]) {
    const dir = `/usr/lib/${triplet}/openblas-openmp`;
    try {
      Deno.statSync(`${dir}/libblas.so.3`);
      return dir;
    } catch {
      // not installed for this architecture
    }
  }
  return undefined;
}

/**
 * Checks the BLAS torch uses and its matmul speed; when OpenBLAS picked its generic SSE3
 * kernels on a CPU with AVX2/AVX-512, sets OPENBLAS_CORETYPE and checks again.
 */
async function probeTorch(
  python: string,
): Promise<{ probe: TorchProbe; env: Record<string, string>; notes: string[] }> {
  const env: Record<string, string> = {};
  const notes: string[] = [];
  const openmp = openmpBlasDir();
  if (openmp) {
    env.LD_LIBRARY_PATH = [openmp, Deno.env.get("LD_LIBRARY_PATH")].filter(Boolean).join(":");
    notes.push(`OpenBLAS's OpenMP build from ${openmp} (shares PyTorch's OpenMP threads)`);
  }
  let probe = await runTorch<TorchProbe>(python, 1, ["--probe"], env);
  const generic = ["Prescott", "Core2", "Nehalem", "generic"];
  const core = cpuCoreType();
  if (
    probe.blas.openblas_core && generic.includes(probe.blas.openblas_core) && core &&
    !Deno.env.get("OPENBLAS_CORETYPE")
  ) {
    env.OPENBLAS_CORETYPE = core;
    const before = probe;
    probe = await runTorch<TorchProbe>(python, 1, ["--probe"], env);
    notes.push(
      `OpenBLAS chose its "${before.blas.openblas_core}" kernels on this CPU ` +
        `(${before.matmul_gflops.toFixed(0)} GFLOP/s); set OPENBLAS_CORETYPE=${core} ` +
        `(${probe.matmul_gflops.toFixed(0)} GFLOP/s)`,
    );
  }
  return { probe, env, notes };
}

// ---------------------------------------------------------------------------------------
// The tfjs side: lib/gpt.ts on the wasm backend
// ---------------------------------------------------------------------------------------

/** Random token batches (speed does not depend on the text). */
function makeBatch(rng: () => number, T: number): { inputs: tf.Tensor2D; targets: tf.Tensor2D } {
  const ids = Int32Array.from({ length: BATCH * (T + 1) }, () => Math.floor(rng() * VOCAB));
  const inputs = new Int32Array(BATCH * T), targets = new Int32Array(BATCH * T);
  for (let b = 0; b < BATCH; b++) {
    for (let t = 0; t < T; t++) {
      inputs[b * T + t] = ids[b * (T + 1) + t];
      targets[b * T + t] = ids[b * (T + 1) + t + 1];
    }
  }
  return {
    inputs: tf.tensor2d(inputs, [BATCH, T], "int32"),
    targets: tf.tensor2d(targets, [BATCH, T], "int32"),
  };
}

interface TfjsResult {
  stepMs: number[];
  firstLoss: number;
  lastLoss: number;
  tensorGrowth: number;
  reforwardTokensPerS: number;
  cachedTokensPerS: number;
  fullContextTokensPerS: number;
  cacheMatchesReforward: boolean;
}

function trainSteps(p: GPTParams, config: GPTConfig, warmup: number, steps: number) {
  const vars = gptParameters(p);
  const optimizer = createAdamW({
    learningRate: 1e-3,
    beta2: 0.99,
    weightDecay: 0.1,
  });
  const rng = makeRng(1);
  const times: number[] = [], losses: number[] = [];
  let tensorsAfterWarmup = 0;
  for (let i = 0; i < warmup + steps; i++) {
    if (i === warmup) tensorsAfterWarmup = tf.memory().numTensors;
    const batch = makeBatch(rng, config.contextLength);
    const t0 = performance.now();
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => languageModelingLoss(p, config, batch), vars);
      losses.push(value.dataSync()[0]);
      optimizer.applyGradients(vars, vars.map((v) => grads[v.name]));
    });
    times.push(performance.now() - t0);
    tf.dispose([batch.inputs, batch.targets]);
  }
  const tensorGrowth = tf.memory().numTensors - tensorsAfterWarmup;
  return { optimizer, vars, times: times.slice(warmup), losses, tensorGrowth };
}

/** Greedy generation from token 0 until the context is full; returns the ids. */
function generate(p: GPTParams, config: GPTConfig, cached: boolean): number[] {
  const ids = [0];
  const nNew = config.contextLength - 1;
  if (!cached) {
    for (let i = 0; i < nNew; i++) {
      const next = tf.tidy(() => {
        const input = tf.tensor2d([ids], [1, ids.length], "int32");
        const { logits } = gptForward(p, config, input);
        return tf.argMax(
          logits.reshape([ids.length, config.vocabSize]).slice(ids.length - 1, 1),
          1,
        );
      });
      ids.push(next.dataSync()[0]);
      next.dispose();
    }
    return ids;
  }
  let cache = createKVCache(config);
  for (let i = 0; i < nNew; i++) {
    const input = tf.tensor2d([ids.slice(-1)], [1, 1], "int32");
    const r = gptForwardCached(p, config, input, cache);
    cache = r.cache;
    const next = tf.tidy(() => tf.argMax(r.logits.reshape([1, config.vocabSize]), 1));
    ids.push(next.dataSync()[0]);
    tf.dispose([input, r.logits, next]);
  }
  disposeKVCache(cache);
  return ids;
}

function tokensPerSecond(p: GPTParams, config: GPTConfig, cached: boolean, runs: number): number {
  for (let i = 0; i < 2; i++) generate(p, config, cached);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    generate(p, config, cached);
    times.push(performance.now() - t0);
  }
  return (config.contextLength - 1) / (median(times) / 1000);
}

/**
 * The steady state of re-forward generation past the context (nanoGPT's sample loop): each
 * new token re-runs a full n_ctx-token window. Tokens/s, median of `runs` runs of 20.
 */
function fullContextTokensPerSecond(p: GPTParams, config: GPTConfig, runs: number): number {
  const T = config.contextLength, perRun = 20;
  const ids = tf.zeros([1, T], "int32") as tf.Tensor2D;
  const next = () => {
    const id = tf.tidy(() => {
      const { logits } = gptForward(p, config, ids);
      return tf.argMax(logits.reshape([T, config.vocabSize]).slice(T - 1, 1), 1);
    });
    id.dataSync();
    id.dispose();
  };
  for (let i = 0; i < 5; i++) next();
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    for (let i = 0; i < perRun; i++) next();
    times.push(performance.now() - t0);
  }
  ids.dispose();
  return perRun / (median(times) / 1000);
}

/** Milliseconds per kernel over one training step (tf.profile), largest first. */
async function profileStep(p: GPTParams, config: GPTConfig): Promise<void> {
  const vars = gptParameters(p);
  const optimizer = createAdamW({ learningRate: 1e-3, beta2: 0.99, weightDecay: 0.1 });
  const batch = makeBatch(makeRng(2), config.contextLength);
  const step = () =>
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => languageModelingLoss(p, config, batch), vars);
      value.dataSync();
      optimizer.applyGradients(vars, vars.map((v) => grads[v.name]));
    });
  step();
  const info = await tf.profile(step);
  const byKernel = new Map<string, { ms: number; calls: number }>();
  for (const k of info.kernels) {
    const key = `${k.name} ${k.inputShapes.map((s) => `[${s}]`).join("·")}`;
    const e = byKernel.get(key) ?? { ms: 0, calls: 0 };
    e.ms += k.kernelTimeMs as number;
    e.calls++;
    byKernel.set(key, e);
  }
  const byName = new Map<string, number>();
  for (const k of info.kernels) {
    byName.set(k.name, (byName.get(k.name) ?? 0) + (k.kernelTimeMs as number));
  }
  const total = info.kernels.reduce((s, k) => s + (k.kernelTimeMs as number), 0);
  console.log(`\ntfjs training step, per kernel (tf.profile; ${total.toFixed(1)} ms in kernels):`);
  for (const [name, ms] of [...byName].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
    console.log(`  ${ms.toFixed(1).padStart(7)} ms  ${name}`);
  }
  console.log("by kernel and input shapes:");
  for (const [key, e] of [...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25)) {
    console.log(`  ${e.ms.toFixed(1).padStart(7)} ms  ${String(e.calls).padStart(3)}×  ${key}`);
  }
  optimizer.dispose();
  tf.dispose([batch.inputs, batch.targets]);
}

async function runTfjs(
  warmup: number,
  steps: number,
  genRuns: number,
  profile: boolean,
): Promise<TfjsResult> {
  const config = gptConfig({ vocabSize: VOCAB, name: "nanoGPT CPU baby GPT" });
  const p = initGPT(config, 0);
  const train = trainSteps(p, config, warmup, steps);
  train.optimizer.dispose();
  if (profile) await profileStep(p, config);
  const reforward = generate(p, config, false);
  const cached = generate(p, config, true);
  const result: TfjsResult = {
    stepMs: train.times,
    firstLoss: train.losses[0],
    lastLoss: train.losses[train.losses.length - 1],
    tensorGrowth: train.tensorGrowth,
    reforwardTokensPerS: tokensPerSecond(p, config, false, genRuns),
    cachedTokensPerS: tokensPerSecond(p, config, true, genRuns),
    fullContextTokensPerS: fullContextTokensPerSecond(p, config, genRuns),
    cacheMatchesReforward: reforward.join() === cached.join(),
  };
  disposeGPT(p);
  return result;
}

// ---------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------

const args = parseArgs(Deno.args);
const warmup = intArg(args, "warmup", 20, 0);
const steps = intArg(args, "steps", 30, 1);
const genRuns = intArg(args, "gen-runs", 7, 1);
const python = choosePython(args);

await checkTorchInstalled(python);
const { probe, env, notes } = await probeTorch(python);
const blasName = probe.blas.openblas_config ?? probe.blas.libraries.join(", ");
console.log(`PyTorch ${probe.torch}, BLAS: ${blasName || "(none mapped)"}`);
for (const note of notes) console.log(`note: ${note}`);
console.log(`1024² matmul, 1 thread: ${probe.matmul_gflops.toFixed(1)} GFLOP/s`);
if (probe.matmul_gflops < 50) {
  console.log(
    `\n*** WARNING: PyTorch's matmul reaches only ${probe.matmul_gflops.toFixed(1)} GFLOP/s ` +
      `(OpenBLAS: ~100). ***\n*** This looks like the reference BLAS or a generic kernel; ` +
      `the ratios below flatter tfjs. ***\n*** apt-get install -y libopenblas0-openmp ` +
      `(see bench/README.md), or set OPENBLAS_CORETYPE. ***\n`,
  );
}

const backend = await initBackend();
if (backend.name !== "wasm") {
  console.log(`*** WARNING: tfjs runs on ${backend.description}, not the wasm backend ***`);
}
const config = gptConfig({ vocabSize: VOCAB });
console.log(
  `model: ${config.layers} layers, ${config.heads} heads, d_model ${config.dModel}, ` +
    `context ${config.contextLength}, vocabulary ${VOCAB}, batch ${BATCH}; ` +
    `${countGPTParameters(config).toLocaleString("en")} parameters; ` +
    `${warmup} warm-up steps, median of ${steps}`,
);

const torchArgs = [`--warmup=${warmup}`, `--steps=${steps}`, `--gen-runs=${genRuns}`];
console.log("running PyTorch, 1 thread …");
const torch1 = await runTorch<TorchResult>(python, 1, torchArgs, env);
console.log(`running tfjs, ${backend.description} …`);
const tfjs = await runTfjs(warmup, steps, genRuns, args.has("profile"));
/** The library's other paths, for comparison: products on XNNPACK, and OpenBLAS with 2 threads. */
const tfjsOthers: { label: string; threads: number; result: TfjsResult }[] = [];
if (backend.blas) {
  const label = `tfjs 4.22 wasm, matrix products on XNNPACK (GPT_BLAS=off)`;
  console.log(`running ${label} …`);
  useNativeBlas(false);
  tfjsOthers.push({ label, threads: 1, result: await runTfjs(warmup, steps, genRuns, false) });
  useNativeBlas(true);
}
let torch2: TorchResult | undefined;
if (!args.has("no-two-threads")) {
  console.log("running PyTorch, 2 threads …");
  torch2 = await runTorch<TorchResult>(python, 2, torchArgs, env);
  if (backend.blas) {
    const before = setNativeBlasThreads(2);
    const label = `tfjs 4.22 wasm, matrix products on ${backend.blas.description}`;
    console.log(`running ${label} …`);
    tfjsOthers.push({ label, threads: 2, result: await runTfjs(warmup, steps, genRuns, false) });
    setNativeBlasThreads(before);
  }
}
if (torch1.parameters !== countGPTParameters(config)) {
  console.log(
    `*** WARNING: PyTorch's model has ${torch1.parameters} parameters, tfjs's ` +
      `${countGPTParameters(config)}: not the same architecture ***`,
  );
}

const fmt = (x: number, digits = 1) => x.toFixed(digits);
const rows: string[][] = [
  [
    "implementation",
    "threads",
    "step ms (median)",
    "step ms (min)",
    "re-forward tok/s",
    "KV-cache tok/s",
    "full-context re-forward tok/s",
  ],
];
for (const r of [torch1, torch2]) {
  if (!r) continue;
  rows.push([
    `PyTorch ${r.torch} + ${r.blas.openblas_core ? `OpenBLAS (${r.blas.openblas_core})` : "BLAS?"}`,
    String(r.threads),
    fmt(median(r.step_ms)),
    fmt(Math.min(...r.step_ms)),
    fmt(r.reforward_tokens_per_s, 0),
    fmt(r.cached_tokens_per_s, 0),
    fmt(r.full_context_tokens_per_s, 0),
  ]);
}
for (
  const { label, threads, result } of [
    { label: `tfjs 4.22 ${backend.description}`, threads: 1, result: tfjs },
    ...tfjsOthers,
  ]
) {
  rows.push([
    label,
    String(threads),
    fmt(median(result.stepMs)),
    fmt(Math.min(...result.stepMs)),
    fmt(result.reforwardTokensPerS, 0),
    fmt(result.cachedTokensPerS, 0),
    fmt(result.fullContextTokensPerS, 0),
  ]);
}
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
console.log();
for (const [i, r] of rows.entries()) {
  console.log(`| ${r.map((cell, c) => cell.padEnd(widths[c])).join(" | ")} |`);
  if (i === 0) console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
}

const stepRatio = median(tfjs.stepMs) / median(torch1.step_ms);
const genRatio = tfjs.cachedTokensPerS / torch1.reforward_tokens_per_s;
const verdict = (ok: boolean) => (ok ? "PASS" : "FAIL");
console.log(
  `\ntraining step, tfjs / PyTorch (1 thread each): ${fmt(stepRatio, 2)}×` +
    `  (required ≤ 3.5, aim 2.5) ${verdict(stepRatio <= 3.5)}`,
);
console.log(
  `generation, tfjs KV cache / PyTorch re-forward (tokens/s, 1 thread each): ${fmt(genRatio, 2)}×` +
    `  (required > 1) ${verdict(genRatio > 1)}`,
);
console.log(
  `  (PyTorch re-forward above is over the growing text, 1 … 63 tokens; at a full 64-token ` +
    `window, nanoGPT's steady state: tfjs KV cache / PyTorch ${
      fmt(tfjs.cachedTokensPerS / torch1.full_context_tokens_per_s, 2)
    }×)`,
);
console.log(
  `also: tfjs KV cache / PyTorch KV cache ${
    fmt(tfjs.cachedTokensPerS / torch1.cached_tokens_per_s, 2)
  }×; tfjs re-forward / PyTorch re-forward ${
    fmt(tfjs.reforwardTokensPerS / torch1.reforward_tokens_per_s, 2)
  }×` + (torch2
    ? `; tfjs step / PyTorch 2-thread step ${fmt(median(tfjs.stepMs) / median(torch2.step_ms), 2)}×`
    : ""),
);
for (const { label, threads, result } of tfjsOthers) {
  const torch = threads === 2 ? torch2 : torch1;
  if (!torch) continue;
  console.log(
    `also: ${label} / PyTorch (${threads} ${threads === 1 ? "thread" : "threads"} each): ` +
      `step ${fmt(median(result.stepMs) / median(torch.step_ms), 2)}×, KV cache / re-forward ` +
      `${fmt(result.cachedTokensPerS / torch.reforward_tokens_per_s, 2)}×`,
  );
}
const checks = [
  `losses: PyTorch ${fmt(torch1.first_loss, 3)} → ${fmt(torch1.last_loss, 3)}, tfjs ${
    fmt(tfjs.firstLoss, 3)
  } → ${fmt(tfjs.lastLoss, 3)} (ln ${VOCAB} = ${fmt(Math.log(VOCAB), 3)})`,
  `KV-cache generation equals re-forward generation: PyTorch ${torch1.cache_matches_reforward}, ` +
  `tfjs ${tfjs.cacheMatchesReforward}`,
  `tfjs tensors after the measured steps: ${
    [tfjs, ...tfjsOthers.map((o) => o.result)].map((r) =>
      `${r.tensorGrowth >= 0 ? "+" : ""}${r.tensorGrowth}`
    ).join(", ")
  }`,
];
console.log(checks.map((c) => `check: ${c}`).join("\n"));
console.log(
  "\nTimings on a shared machine drift; the ratios come from this one run. See bench/README.md.",
);
