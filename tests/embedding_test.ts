import * as tf from "@tensorflow/tfjs";
import fc from "fast-check";
import { assertEquals, assertThrows } from "@std/assert";
import { assertAllClose } from "../testing/tensor_assert.ts";
import {
  embedTokens,
  initEmbedding,
  inputEmbedding,
  learnedPositions,
  sinusoidalPositionalEncoding,
} from "../lib/embedding.ts";
import { assertNoTensorGrowth, initBackend } from "../lib/tensor.ts";

await initBackend();

Deno.test("sinusoidal PE: hand-worked values for d = 4", () => {
  const pe = sinusoidalPositionalEncoding(3, 4);
  // pos 0: sin 0, cos 0, sin 0, cos 0
  // pos 1: sin(1), cos(1), sin(1/100), cos(1/100)   (10000^(2/4) = 100)
  // pos 2: sin(2), cos(2), sin(0.02), cos(0.02)
  assertAllClose(pe, [
    [0, 1, 0, 1],
    [0.8414710, 0.5403023, 0.0099998, 0.9999500],
    [0.9092974, -0.4161468, 0.0199987, 0.9998000],
  ], { atol: 1e-6 });
  pe.dispose();
});

Deno.test("sinusoidal PE: values bounded in [-1, 1] (property)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 1, max: 64 }), (n, d) => {
      const pe = sinusoidalPositionalEncoding(n, d);
      const v = pe.dataSync();
      pe.dispose();
      return v.every((x) => x >= -1 && x <= 1);
    }),
    { numRuns: 60 },
  );
});

Deno.test("sinusoidal PE: PE(pos)·PE(pos+k) depends only on k (property)", () => {
  const d = 16;
  const pe = sinusoidalPositionalEncoding(200, d);
  const rows = pe.arraySync();
  pe.dispose();
  const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 99 }),
      fc.integer({ min: 0, max: 99 }),
      fc.integer({ min: 0, max: 99 }),
      (p, q, k) => {
        const a = dot(rows[p], rows[p + k]);
        const b = dot(rows[q], rows[q + k]);
        // and it equals the closed form Σᵢ cos(k / 10000^(2i/d))
        let closed = 0;
        for (let i = 0; i < d / 2; i++) closed += Math.cos(k / Math.pow(10000, (2 * i) / d));
        return Math.abs(a - b) < 1e-4 && Math.abs(a - closed) < 1e-4;
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("sinusoidal PE: bad lengths are rejected with a clear error", () => {
  assertThrows(
    () => sinusoidalPositionalEncoding(-1, 4),
    Error,
    "length must be a non-negative integer, got -1",
  );
  assertThrows(() => sinusoidalPositionalEncoding(2.5, 4), Error, "got 2.5");
  assertThrows(
    () => sinusoidalPositionalEncoding(3, 0),
    Error,
    "dModel must be a positive integer",
  );
  // deno-lint-ignore no-explicit-any
  assertThrows(() => sinusoidalPositionalEncoding("3" as any, 4), Error, "got string");
});

Deno.test("token embedding: picks rows of Wₑ (hand-worked)", () => {
  const We = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
  const ids = tf.tensor1d([2, 0, 2], "int32");
  const e = embedTokens(We, ids);
  assertEquals(e.shape, [3, 2]);
  assertAllClose(e, [[5, 6], [1, 2], [5, 6]]);
  const batch = tf.tensor2d([[0, 1], [1, 2]], [2, 2], "int32");
  const eb = embedTokens(We, batch);
  assertEquals(eb.shape, [2, 2, 2]);
  assertAllClose(eb, [[[1, 2], [3, 4]], [[3, 4], [5, 6]]]);
  tf.dispose([We, ids, e, batch, eb]);
});

Deno.test("token embedding: its gradient equals gather's (one-hot matmul)", () => {
  const We = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
  const ids = tf.tensor1d([2, 0, 2], "int32");
  const weights = tf.tensor2d([[1, -1], [2, 0.5], [3, 1]]);
  const g = tf.grad((w: tf.Tensor) => tf.sum(tf.mul(embedTokens(w as tf.Tensor2D, ids), weights)))(
    We,
  );
  // d/dWₑ[v] = Σ over positions t with u_t = v of weights[t]
  assertAllClose(g, [[2, 0.5], [0, 0], [4, 0]]);
  tf.dispose([We, ids, weights, g]);
});

Deno.test("token embedding: wrong rank, dtype or id is a clear error", () => {
  const We = tf.zeros([3, 2]) as tf.Tensor2D;
  const bad3 = tf.zeros([1, 1, 1], "int32");
  assertThrows(() => embedTokens(We, bad3), Error, "token ids: expected rank 1 or 2, got rank 3");
  const fl = tf.tensor1d([0, 1]);
  assertThrows(() => embedTokens(We, fl), Error, "must be int32, got float32");
  const out = tf.tensor1d([0, 3], "int32");
  assertThrows(() => embedTokens(We, out), Error, "token id 3 is outside the vocabulary [0, 3)");
  const vec = tf.zeros([3]) as unknown as tf.Tensor2D;
  assertThrows(() => embedTokens(vec, out), Error, "Wₑ: expected rank 2, got rank 1");
  tf.dispose([We, bad3, fl, out, vec]);
});

Deno.test("h₀ = UWₑ + Wₚ: learned and sinusoidal positions add to the token vectors", () => {
  const We = tf.tensor2d([[1, 0], [0, 1]]);
  const Wp = tf.tensor2d([[10, 20], [30, 40], [50, 60]]);
  const ids = tf.tensor2d([[1, 0]], [1, 2], "int32");
  const h0 = inputEmbedding(We, ids, Wp);
  assertAllClose(h0, [[[10, 21], [31, 40]]]);
  const pe = sinusoidalPositionalEncoding(2, 2);
  const h0s = inputEmbedding(We, ids, pe);
  assertAllClose(h0s, [[[0, 2], [1 + Math.sin(1), Math.cos(1)]]], { atol: 1e-6 });
  assertThrows(
    () => learnedPositions(Wp, 4),
    Error,
    "sequence length 4 exceeds the context length 3",
  );
  const long = tf.tensor2d([[0, 1, 0, 1]], [1, 4], "int32");
  assertThrows(() => inputEmbedding(We, long, Wp), Error, "4 tokens but only 3 positions");
  tf.dispose([We, Wp, ids, h0, pe, h0s, long]);
});

Deno.test("initEmbedding is reproducible from its seed and does not leak", async () => {
  const a = initEmbedding(5, 3, 42);
  const b = initEmbedding(5, 3, 42);
  assertAllClose(a, b, { rtol: 0, atol: 0 });
  tf.dispose([a, b]);
  const ids = tf.tensor1d([0, 1, 2], "int32");
  const We = initEmbedding(4, 8, 1);
  const pe = sinusoidalPositionalEncoding(8, 8);
  await assertNoTensorGrowth(
    () => {
      const { value, grads } = tf.variableGrads(() =>
        tf.sum(inputEmbedding(We, ids, pe)) as tf.Scalar
      );
      value.dispose();
      tf.dispose(grads);
    },
    4,
    "embedding step",
  );
  tf.dispose([ids, We, pe]);
});

Deno.test("initEmbedding leaves exactly one live tensor, the variable", () => {
  const before = tf.memory().numTensors;
  const We = initEmbedding(6, 4, 3);
  assertEquals(tf.memory().numTensors, before + 1);
  We.dispose();
  assertEquals(tf.memory().numTensors, before);
});
