// Wrong arguments of the right kinds, drawn at random (fast-check), fed to the teaching kernel's
// exported functions: each call either works, or throws an `Error` whose message names the
// function — never a TypeError from inside tfjs, never NaN out of finite input, never a leak.
import * as tf from "@tensorflow/tfjs";
import fc from "fast-check";
import { assert } from "@std/assert";
import {
  activate,
  additiveMaskWeights,
  batchedMatMul,
  causalMask,
  combineMasks,
  createKVCache,
  crossEntropy,
  decoderBlock,
  disposeGPT,
  dropout,
  embedTokens,
  encoderBlock,
  feedForward,
  gelu,
  geluTanh,
  gptConfig,
  gptForward,
  gptForwardCached,
  initDecoderBlock,
  initEncoderBlock,
  initGPT,
  initMultiHead,
  layerNormCore,
  learnedPositions,
  linear,
  matMul2d,
  multiHeadAttention,
  multiplicativeMaskWeights,
  paddingMask,
  perplexity,
  scaledDotProductAttention,
  sinusoidalPositionalEncoding,
  softmaxWithTemperature,
  stableSoftmax,
  targetLogProbs,
  topK,
  topP,
} from "../mod.ts";
import { initBackend } from "../lib/tensor.ts";

await initBackend();

/** A tensor of a wrong (or right) kind: dtype, rank, empty axes, sizes that do not fit. */
type TensorSpec = { dtype: "float32" | "int32" | "bool"; shape: number[] };

const tensorSpec: fc.Arbitrary<TensorSpec> = fc.record({
  dtype: fc.constantFrom("float32", "float32", "float32", "int32", "bool"),
  shape: fc.array(fc.constantFrom(0, 1, 2, 3, 4, 8), { minLength: 0, maxLength: 4 }),
}) as fc.Arbitrary<TensorSpec>;

/** A number a caller might pass by mistake. */
const badNumber = fc.constantFrom(NaN, -1, 0, 0.5, 1, 2, 3, 7, Infinity, -Infinity, 1e9);
/** An option string, right or wrong. */
const badString = fc.constantFrom("relu", "gelu", "gelu_tanh", "GELU", "pre", "post", "Pre", "");

function make(spec: TensorSpec, seed: number): tf.Tensor {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  const values = Array.from({ length: size }, (_, i) => ((i * 7 + seed) % 11) - 5);
  if (spec.dtype === "bool") return tf.tensor(values.map((v) => v > 0 ? 1 : 0), spec.shape, "bool");
  return tf.tensor(values, spec.shape, spec.dtype);
}

/** True when no number in the outputs is NaN. */
function finite(out: unknown): boolean {
  if (out instanceof tf.Tensor) {
    return out.dtype !== "float32" || !out.dataSync().some(Number.isNaN);
  }
  if (typeof out === "number") return !Number.isNaN(out);
  if (Array.isArray(out)) return out.every(finite);
  if (out && typeof out === "object") return Object.values(out).every(finite);
  return true;
}

/** Every tensor inside an output record. */
function tensorsIn(out: unknown): tf.Tensor[] {
  if (out instanceof tf.Tensor) return [out];
  if (Array.isArray(out)) return out.flatMap(tensorsIn);
  if (out && typeof out === "object") return Object.values(out).flatMap(tensorsIn);
  return [];
}

/**
 * Calls `fn`; asserts that it returns no NaN or throws an Error naming `name`, and
 * that it leaves no tensor behind (the inputs are disposed by the caller).
 */
function expectWorksOrNames(name: string, fn: () => unknown): void {
  const before = tf.memory().numTensors;
  let out: unknown;
  try {
    out = fn();
  } catch (e) {
    assert(e instanceof Error, `${name}: threw a non-Error ${String(e)}`);
    assert(!(e instanceof TypeError), `${name}: threw a TypeError: ${e.message}\n${e.stack}`);
    assert(e.message.includes(name), `${name}: the error does not name the function: ${e.message}`);
    assert(
      tf.memory().numTensors === before,
      `${name}: a refused call leaked ${tf.memory().numTensors - before} tensors`,
    );
    return;
  }
  assert(finite(out), `${name}: NaN out of finite input`);
  tf.dispose(tensorsIn(out));
}

const RUNS = { numRuns: 60, seed: 20261206 };

/** One property per function: `call` builds the function's arguments from the drawn ones. */
function fuzz<A extends unknown[]>(
  name: string,
  args: { [K in keyof A]: fc.Arbitrary<A[K]> },
  call: (...args: A) => unknown,
): void {
  Deno.test(`wrong arguments to ${name}: it works or throws an Error naming ${name}`, () => {
    const models = makeModels();
    try {
      current = models;
      checkAll();
    } finally {
      current = undefined;
      tf.dispose([
        ...tensorsIn(models.attn),
        ...tensorsIn(models.block),
        ...tensorsIn(models.dblock),
      ]);
      disposeGPT(models.gpt);
    }
  });
  const checkAll = () =>
    fc.assert(
      fc.property(fc.tuple(...args), (drawn) => {
        const made: tf.Tensor[] = [];
        const tensor = (s: TensorSpec) => {
          const t = make(s, made.length);
          made.push(t);
          return t;
        };
        const values = (drawn as unknown[]).map((a) =>
          a && typeof a === "object" && "dtype" in a ? tensor(a as TensorSpec) : a
        );
        try {
          expectWorksOrNames(name, () => call(...values as A));
        } finally {
          tf.dispose(made);
        }
      }),
      RUNS,
    );
}

/** Small models of width 8 for the functions of parameters, made and freed by each test. */
function makeModels() {
  const config = gptConfig({ vocabSize: 8, layers: 1, heads: 2, dModel: 8, contextLength: 4 });
  return {
    attn: initMultiHead(8, 2, 1),
    block: initEncoderBlock(8, 2, 16, 2),
    dblock: initDecoderBlock(8, 2, 16, 3),
    config,
    gpt: initGPT(config, 4),
  };
}
let current: ReturnType<typeof makeModels> | undefined;
const model = () => current!;

const T = tensorSpec as fc.Arbitrary<unknown>;
type X = tf.Tensor;

fuzz(
  "scaledDotProductAttention",
  [T, T, T, fc.option(T)],
  (q, k, v, m) => scaledDotProductAttention(q as X, k as X, v as X, m ? { mask: m as X } : {}),
);
fuzz(
  "matMul2d",
  [T, T, fc.boolean()],
  (a, b, t) => matMul2d(a as tf.Tensor2D, b as tf.Tensor2D, t),
);
fuzz("batchedMatMul", [T, T, fc.boolean()], (a, b, t) => batchedMatMul(a as X, b as X, t));
fuzz(
  "linear",
  [T, T, fc.option(T)],
  (x, W, b) => linear(x as X, W as tf.Tensor2D, (b ?? undefined) as tf.Tensor1D | undefined),
);
fuzz(
  "layerNorm",
  [T, T, T],
  (x, g, b) => layerNormCore(x as X, g as tf.Tensor1D, b as tf.Tensor1D),
);
fuzz("activate", [T, badString], (x, a) => activate(x as X, a as "relu"));
fuzz("gelu", [T], (x) => gelu(x as X));
fuzz("geluTanh", [T], (x) => geluTanh(x as X));
fuzz("stableSoftmax", [T], (x) => stableSoftmax(x as X));
fuzz("dropout", [T, badNumber, badNumber], (x, r, s) => dropout(x as X, r as number, s as number));
fuzz("causalMask", [badNumber, badNumber], (t, p) => causalMask(t as number, p as number));
fuzz("paddingMask", [T, badNumber], (ids, pad) => paddingMask(ids as tf.Tensor2D, pad as number));
fuzz("combineMasks", [T, T], (a, b) => combineMasks(a as X, b as X));
fuzz(
  "additiveMaskWeights",
  [T, T],
  (s, m) => additiveMaskWeights(s as tf.Tensor2D, m as tf.Tensor2D),
);
fuzz(
  "multiplicativeMaskWeights",
  [T, T],
  (s, m) => multiplicativeMaskWeights(s as tf.Tensor2D, m as tf.Tensor2D),
);
fuzz("embedTokens", [T, T], (We, ids) => embedTokens(We as tf.Tensor2D, ids as X));
fuzz(
  "learnedPositions",
  [T, badNumber, badNumber],
  (Wp, n, s) => learnedPositions(Wp as tf.Tensor2D, n as number, s as number),
);
fuzz(
  "sinusoidalPositionalEncoding",
  [badNumber, badNumber],
  (n, d) => sinusoidalPositionalEncoding(n as number, d as number),
);
fuzz(
  "crossEntropy",
  [T, T, fc.option(badNumber)],
  (z, y, i) => crossEntropy(z as X, y as X, i === null ? {} : { ignoreIndex: i as number }),
);
fuzz("targetLogProbs", [T, T], (z, y) => targetLogProbs(z as X, y as X));
fuzz("perplexity", [badNumber], (n) => perplexity(n as number));
fuzz(
  "softmaxWithTemperature",
  [fc.array(badNumber, { maxLength: 4 }), badNumber],
  (z, t) => softmaxWithTemperature(z as number[], t as number),
);
fuzz(
  "topK",
  [fc.array(badNumber, { maxLength: 4 }), badNumber],
  (p, k) => topK(p as number[], k as number),
);
fuzz(
  "topP",
  [fc.array(badNumber, { maxLength: 4 }), badNumber],
  (p, q) => topP(p as number[], q as number),
);

// Functions of parameters (the models of makeModels), with wrong inputs and options.
fuzz(
  "multiHeadAttention",
  [T, T, fc.option(T)],
  (q, kv, m) => multiHeadAttention(model().attn, q as X, kv as X, m ? { mask: m as X } : {}),
);
fuzz("feedForward", [T, badString], (x, a) => feedForward(model().block.ffn, x as X, a as "relu"));
fuzz(
  "encoderBlock",
  [T, badString, badString, fc.option(T)],
  (x, n, a, m) =>
    encoderBlock(model().block, x as X, {
      norm: n as "pre",
      activation: a as "relu",
      ...(m ? { mask: m as X } : {}),
    }),
);
fuzz(
  "decoderBlock",
  [T, T, badString],
  (x, mem, n) => decoderBlock(model().dblock, x as X, mem as X, { norm: n as "pre" }),
);
fuzz(
  "gptForward",
  [T, badNumber],
  (ids, layers) =>
    gptForward(model().gpt, { ...model().config, layers: layers as number }, ids as tf.Tensor2D),
);
fuzz("createKVCache", [badNumber], (batch) => createKVCache(model().config, batch as number));
fuzz("gptForwardCached", [T, fc.constantFrom(1, 2)], (ids, batch) => {
  const r = gptForwardCached(
    model().gpt,
    model().config,
    ids as tf.Tensor2D,
    createKVCache(model().config, batch as number),
  );
  tf.dispose([...r.cache.keys, ...r.cache.values]);
  return r.logits;
});
