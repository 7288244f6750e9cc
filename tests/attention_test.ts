import * as tf from "@tensorflow/tfjs";
import fc from "fast-check";
import { assert, assertEquals, assertThrows } from "@std/assert";
import { assertAllClose } from "../testing/tensor_assert.ts";
import { gradCheck } from "../testing/gradcheck.ts";
import {
  additiveMask,
  additiveMaskWeights,
  bandedAttention,
  causalMask,
  combineMasks,
  initMultiHead,
  MASKED,
  multiHeadAttention,
  multiHeadParameters,
  multiplicativeMaskWeights,
  paddingMask,
  scaledDotProductAttention,
  sparseAttentionMask,
} from "../lib/attention.ts";
import { assertNoTensorGrowth, initBackend, makeRng } from "../lib/tensor.ts";
import { useNativeBlas } from "../lib/blas.ts";

await initBackend();

const rand = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, "float32", seed);

/** Plain-JS attention for one [T, d] slice: softmax(QKᵀ/√d_k + M)V, in float64. */
function referenceAttention(
  Q: number[][],
  K: number[][],
  V: number[][],
  M?: number[][],
): { output: number[][]; weights: number[][] } {
  const dk = Q[0].length;
  const weights = Q.map((q, i) => {
    const s = K.map((k, j) =>
      q.reduce((acc, qi, c) => acc + qi * k[c], 0) / Math.sqrt(dk) + (M ? M[i][j] : 0)
    );
    const max = Math.max(...s);
    const e = s.map((x) => Math.exp(x - max));
    const sum = e.reduce((a, b) => a + b, 0);
    return e.map((x) => x / sum);
  });
  const output = weights.map((w) =>
    V[0].map((_, c) => w.reduce((acc, wj, j) => acc + wj * V[j][c], 0))
  );
  return { output, weights };
}

Deno.test("attention: hand-worked 2×2 case", () => {
  // Q = K = I, d_k = 2: scores = I/√2, row 0 = [0.7071, 0];
  // softmax → [e^0.7071, 1]/(e^0.7071 + 1) = [0.66976, 0.33024]
  // output row 0 = 0.66976·[1, 2] + 0.33024·[3, 4] = [1.66048, 2.66048]
  const q = tf.tensor2d([[1, 0], [0, 1]]);
  const v = tf.tensor2d([[1, 2], [3, 4]]);
  const { output, weights, scores } = scaledDotProductAttention(q, q, v);
  assertAllClose(scores, [[0.7071068, 0], [0, 0.7071068]], { atol: 1e-6 });
  assertAllClose(weights, [[0.6697616, 0.3302384], [0.3302384, 0.6697616]], { atol: 1e-6 });
  assertAllClose(output, [[1.6604769, 2.6604769], [2.3395231, 3.3395231]], { atol: 1e-5 });
  tf.dispose([q, v, output, weights, scores]);
});

Deno.test("attention: hand-worked 3×3 case, without and with the causal mask", () => {
  // Q = K = [[2,0,0,0],[0,2,0,0],[1,1,1,1]], d_k = 4, √d_k = 2:
  // QKᵀ/2 = [[2,0,1],[0,2,1],[1,1,2]]; row 0 softmax = [e², 1, e]/(e² + 1 + e)
  const q = tf.tensor2d([[2, 0, 0, 0], [0, 2, 0, 0], [1, 1, 1, 1]]);
  const v = tf.tensor2d([[1, 0], [0, 1], [1, 1]]);
  const plain = scaledDotProductAttention(q, q, v);
  assertAllClose(plain.scores, [[2, 0, 1], [0, 2, 1], [1, 1, 2]], { atol: 1e-6 });
  assertAllClose(plain.weights, [
    [0.66524096, 0.09003057, 0.24472847],
    [0.09003057, 0.66524096, 0.24472847],
    [0.21194156, 0.21194156, 0.57611688],
  ], { atol: 1e-6 });
  assertAllClose(plain.output, [
    [0.90996943, 0.33475904],
    [0.33475904, 0.90996943],
    [0.78805844, 0.78805844],
  ], { atol: 1e-6 });
  // causal: row 0 sees only itself; row 1 = [1, e²]/(1 + e²) = [0.1192, 0.8808]
  const mask = causalMask(3);
  const causal = scaledDotProductAttention(q, q, v, { mask });
  assertAllClose(causal.weights, [
    [1, 0, 0],
    [0.11920292, 0.88079708, 0],
    [0.21194156, 0.21194156, 0.57611688],
  ], { atol: 1e-6 });
  assertAllClose(causal.output, [[1, 0], [0.11920292, 0.88079708], [0.78805844, 0.78805844]], {
    atol: 1e-6,
  });
  tf.dispose([q, v, mask, plain.output, plain.weights, plain.scores]);
  tf.dispose([causal.output, causal.weights, causal.scores]);
});

Deno.test("attention: any leading dims, equal to a plain-JS computation per slice", () => {
  const q = rand([2, 3, 4, 5], 1), k = rand([2, 3, 6, 5], 2), v = rand([2, 3, 6, 7], 3);
  const pad = paddingMask(
    tf.tensor2d([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]], undefined, "int32"),
    0,
  );
  const { output, weights } = scaledDotProductAttention(q, k, v, { mask: pad });
  assertEquals(output.shape, [2, 3, 4, 7]);
  assertEquals(weights.shape, [2, 3, 4, 6]);
  const Q = q.arraySync() as number[][][][], K = k.arraySync() as number[][][][];
  const V = v.arraySync() as number[][][][];
  const M = (b: number) =>
    Array.from({ length: 4 }, () => [0, 0, 0, 0, b === 0 ? MASKED : 0, b === 0 ? MASKED : 0]);
  const out = output.arraySync() as number[][][][], w = weights.arraySync() as number[][][][];
  for (let b = 0; b < 2; b++) {
    for (let h = 0; h < 3; h++) {
      const ref = referenceAttention(Q[b][h], K[b][h], V[b][h], M(b));
      assertAllClose(out[b][h], ref.output, { atol: 1e-5, msg: `output [${b}, ${h}]` });
      assertAllClose(w[b][h], ref.weights, { atol: 1e-6, msg: `weights [${b}, ${h}]` });
    }
  }
  tf.dispose([q, k, v, pad, output, weights]);
});

Deno.test("attention: gradients match finite differences and tfjs autodiff of the plain ops", () => {
  const q = rand([2, 3, 4], 4), k = rand([2, 5, 4], 5), v = rand([2, 5, 3], 6);
  const mask = tf.tensor2d([[0, 0, MASKED, 0, 0], [0, 0, 0, 0, MASKED], [0, 0, 0, 0, 0]]);
  const fast = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) =>
    scaledDotProductAttention(q, k, v, { mask }).output;
  const plain = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) =>
    tf.matMul(tf.softmax(tf.add(tf.div(tf.matMul(q, k, false, true), 2), mask)), v);
  for (const [i, e] of gradCheck(fast, [q, k, v]).entries()) {
    assert(e < 1e-3, `input ${i}: relative error ${e} ≥ 1e-3`);
  }
  tf.tidy(() => {
    const R = rand([2, 3, 3], 7);
    const loss = (f: typeof fast) => (...x: tf.Tensor[]) => tf.sum(tf.mul(f(x[0], x[1], x[2]), R));
    const gf = tf.grads(loss(fast))([q, k, v]), gp = tf.grads(loss(plain))([q, k, v]);
    gf.forEach((g, i) => assertAllClose(g, gp[i], { atol: 1e-5, rtol: 1e-4, msg: `grad ${i}` }));
  });
  tf.dispose([q, k, v, mask]);
});

Deno.test("attention: weight rows sum to 1 and masked positions get < 1e-6 (property)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 0, max: 1000 }),
      fc.double({ min: 0.1, max: 30, noNaN: true }),
      (B, T, dk, seed, scale) => {
        const rng = makeRng(seed);
        // pad a random suffix of each row, but keep position 0 a real token
        const lengths = Array.from({ length: B }, () => 1 + Math.floor(rng() * T));
        const ids = lengths.map((n) => Array.from({ length: T }, (_, j) => (j < n ? 5 : 0)));
        const [weights, idsTensor] = tf.tidy(() => {
          const idsT = tf.tensor2d(ids, [B, T], "int32");
          const mask = combineMasks(causalMask(T), paddingMask(idsT, 0));
          const x = tf.mul(tf.randomNormal([B, 1, T, dk], 0, 1, "float32", seed), scale);
          return [scaledDotProductAttention(x, x, x, { mask }).weights, idsT];
        });
        const w = weights.arraySync() as number[][][][];
        tf.dispose([weights, idsTensor]);
        for (let b = 0; b < B; b++) {
          for (let i = 0; i < T; i++) {
            const row = w[b][0][i];
            const sum = row.reduce((a, x) => a + x, 0);
            if (Math.abs(sum - 1) > 1e-5) return false;
            for (let j = 0; j < T; j++) {
              const blocked = j > i || j >= lengths[b];
              if (blocked && row[j] >= 1e-6) return false;
            }
          }
        }
        return true;
      },
    ),
    { numRuns: 80 },
  );
});

Deno.test("attention: scores of ±1e4 give finite outputs and weights", () => {
  // q·k/√d_k = ±1e4 exactly: d_k = 1, q = ±100, k = ±100
  const q = tf.tensor3d([[[100], [-100], [100]]]);
  const k = tf.tensor3d([[[100], [100], [-100]]]);
  const v = tf.tensor3d([[[1, 2], [3, 4], [5, 6]]]);
  const { output, weights, scores } = scaledDotProductAttention(q, k, v);
  assertEquals(Math.max(...Array.from(scores.dataSync()).map(Math.abs)), 1e4);
  for (const t of [output, weights]) assert(t.dataSync().every(Number.isFinite));
  // row 0 scores [1e4, 1e4, −1e4]: half each on keys 0 and 1
  assertAllClose(weights, [[[0.5, 0.5, 0], [0, 0, 1], [0.5, 0.5, 0]]], { atol: 1e-6 });
  tf.dispose([q, k, v, output, weights, scores]);
});

Deno.test("attention: wrong shapes are errors that name both shapes", () => {
  const q = tf.zeros([2, 4, 8]), k = tf.zeros([2, 5, 6]), v = tf.zeros([2, 5, 3]);
  assertThrows(
    () => scaledDotProductAttention(q, k, v),
    Error,
    "q [2, 4, 8] and k [2, 5, 6] do not fit (expected k [2, T_k, 8])",
  );
  const k8 = tf.zeros([2, 5, 8]), v4 = tf.zeros([2, 4, 3]);
  assertThrows(
    () => scaledDotProductAttention(q, k8, v4),
    Error,
    "k [2, 5, 8] and v [2, 4, 3] do not fit",
  );
  assertThrows(
    () => scaledDotProductAttention(q, k8, tf.zeros([5, 3])),
    Error,
    "must have the same rank",
  );
  const mask = tf.zeros([3, 5]);
  assertThrows(
    () => scaledDotProductAttention(q, k8, v, { mask }),
    Error,
    "mask [3, 5] does not broadcast against scores [2, 4, 5]",
  );
  tf.dispose([q, k, v, k8, v4, mask]);
});

Deno.test("masks: causal, padding and their combination", () => {
  const c = causalMask(3);
  assertEquals(c.arraySync(), [[0, MASKED, MASKED], [0, 0, MASKED], [0, 0, 0]]);
  const ids = tf.tensor2d([[4, 7, 0], [4, 0, 0]], undefined, "int32");
  const p = paddingMask(ids, 0);
  assertEquals(p.shape, [2, 1, 1, 3]);
  assertEquals(p.arraySync(), [[[[0, 0, MASKED]]], [[[0, MASKED, MASKED]]]]);
  const both = combineMasks(c, p);
  assertEquals(both.shape, [2, 1, 3, 3]);
  // blocked twice is still exactly MASKED, not 2·MASKED
  assertEquals(both.arraySync(), [
    [[[0, MASKED, MASKED], [0, 0, MASKED], [0, 0, MASKED]]],
    [[[0, MASKED, MASKED], [0, MASKED, MASKED], [0, MASKED, MASKED]]],
  ]);
  assertThrows(() => causalMask(0), Error, "T must be a positive integer, got 0");
  assertThrows(
    () => paddingMask(tf.zeros([2, 3]) as tf.Tensor2D, 0),
    Error,
    "ids must be int32, got float32",
  );
  tf.dispose([c, ids, p, both]);
});

Deno.test("masks: the multiplicative 0/1 mask leaks weight, the additive one does not", () => {
  // scores [1, 2, 3] with only position 0 allowed: S ⊙ M = [1, 0, 0] and exp(0) = 1, so
  // softmax gives [e, 1, 1]/(e + 2) = [0.576, 0.212, 0.212]: 42% leaks to the future
  const scores = tf.tensor2d([[1, 2, 3]]), mask01 = tf.tensor2d([[1, 0, 0]]);
  const wrong = multiplicativeMaskWeights(scores, mask01);
  assertAllClose(wrong, [[0.57611688, 0.21194156, 0.21194156]], { atol: 1e-6 });
  const right = additiveMaskWeights(scores, mask01);
  assertAllClose(right, [[1, 0, 0]], { atol: 1e-7 });
  assertThrows(
    () => additiveMaskWeights(scores, tf.tensor2d([[1, 0]])),
    Error,
    "mask [1, 2] and scores [1, 3] differ in shape",
  );
  tf.dispose([scores, mask01, wrong, right]);
});

Deno.test("multi-head: equals an independent per-head computation", () => {
  const d = 8, h = 2, dk = 4;
  const p = initMultiHead(d, h, 3);
  // non-zero biases so that they are checked too
  for (const b of [p.bq, p.bk, p.bv, p.bo]) b.assign(rand([d], 20 + b.size) as tf.Tensor1D);
  const xq = rand([2, 3, d], 8), xkv = rand([2, 5, d], 9);
  const { output, weights } = multiHeadAttention(p, xq, xkv);
  assertEquals(output.shape, [2, 3, d]);
  assertEquals(weights.shape, [2, h, 3, 5]);
  const expected = tf.tidy(() => {
    const proj = (x: tf.Tensor, W: tf.Tensor, b: tf.Tensor) =>
      tf.add(tf.matMul(x.reshape([-1, d]), W), b);
    const heads = [];
    for (let i = 0; i < h; i++) {
      const cols = (W: tf.Tensor) => tf.slice(W, [0, i * dk], [d, dk]);
      const part = (b: tf.Tensor) => tf.slice(b, [i * dk], [dk]);
      const Q = proj(xq, cols(p.Wq), part(p.bq)).reshape([2, 3, dk]);
      const K = proj(xkv, cols(p.Wk), part(p.bk)).reshape([2, 5, dk]);
      const V = proj(xkv, cols(p.Wv), part(p.bv)).reshape([2, 5, dk]);
      const w = tf.softmax(tf.div(tf.matMul(Q, K, false, true), Math.sqrt(dk)));
      heads.push(tf.matMul(w, V));
    }
    return proj(tf.concat(heads, -1), p.Wo, p.bo).reshape([2, 3, d]);
  });
  assertAllClose(output, expected, { atol: 1e-5 });
  tf.dispose([xq, xkv, output, weights, expected, ...multiHeadParameters(p)]);
});

Deno.test("multi-head: d_model not divisible by heads, and wrong widths, are errors naming both", () => {
  assertThrows(() => initMultiHead(30, 4, 1), Error, "d_model 30 is not divisible by heads 4");
  const p = initMultiHead(8, 2, 1);
  const x = tf.zeros([1, 3, 6]);
  assertThrows(() => multiHeadAttention(p, x, x), Error, "xq [1, 3, 6] has width 6, d_model is 8");
  const a = tf.zeros([1, 3, 8]), b = tf.zeros([2, 3, 8]);
  assertThrows(
    () => multiHeadAttention(p, a, b),
    Error,
    "xq [1, 3, 8] and xkv [2, 3, 8] have different batch sizes",
  );
  tf.dispose([x, a, b, ...multiHeadParameters(p)]);
});

Deno.test("multi-head: self-attention without positions is permutation-equivariant (property)", () => {
  const d = 8;
  const p = initMultiHead(d, 2, 4);
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 7 }).chain((T) =>
        fc.tuple(
          fc.constant(T),
          fc.shuffledSubarray([...Array(T).keys()], { minLength: T, maxLength: T }),
          fc.integer({ min: 0, max: 10000 }),
        )
      ),
      ([T, perm, seed]) => {
        const [a, b, wa, wb] = tf.tidy(() => {
          const x = tf.randomNormal([1, T, d], 0, 1, "float32", seed);
          const idx = tf.tensor1d(perm, "int32");
          const xp = tf.gather(x, idx, 1);
          const r = multiHeadAttention(p, x, x), rp = multiHeadAttention(p, xp, xp);
          // f(PX) = P f(X); the weights permute on both query and key axes
          return [
            tf.gather(r.output, idx, 1),
            rp.output,
            tf.gather(tf.gather(r.weights, idx, 2), idx, 3),
            rp.weights,
          ];
        });
        assertAllClose(b, a, { atol: 1e-5 });
        assertAllClose(wb, wa, { atol: 1e-6 });
        tf.dispose([a, b, wa, wb]);
      },
    ),
    { numRuns: 40 },
  );
  tf.dispose(multiHeadParameters(p));
});

Deno.test("multi-head: with the causal mask, output at i ignores tokens after i (property)", () => {
  const d = 8;
  const p = initMultiHead(d, 4, 5);
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 8 }).chain((T) =>
        fc.tuple(
          fc.constant(T),
          fc.integer({ min: 0, max: T - 1 }),
          fc.integer({ min: 0, max: 9999 }),
        )
      ),
      ([T, i, seed]) => {
        const [before, after] = tf.tidy(() => {
          const mask = causalMask(T);
          const x = tf.randomNormal([2, T, d], 0, 1, "float32", seed);
          // replace every position after i by something else
          const keep = tf.slice(x, [0, 0, 0], [2, i + 1, d]);
          const other = tf.randomNormal([2, T - i - 1, d], 0, 3, "float32", seed + 1);
          const x2 = tf.concat([keep, other], 1);
          const upTo = (t: tf.Tensor) => tf.slice(t, [0, 0, 0], [2, i + 1, d]);
          return [
            upTo(multiHeadAttention(p, x, x, { mask }).output),
            upTo(multiHeadAttention(p, x2, x2, { mask }).output),
          ];
        });
        assertAllClose(after, before, { atol: 1e-6 });
        tf.dispose([before, after]);
      },
    ),
    { numRuns: 40 },
  );
  tf.dispose(multiHeadParameters(p));
});

Deno.test("multi-head: gradients match finite differences", () => {
  const p = initMultiHead(4, 2, 6);
  const xq = rand([1, 2, 4], 10), xkv = rand([1, 3, 4], 11);
  const errors = gradCheck((xq, xkv, Wq, Wv) => {
    const q = { ...p, Wq: Wq as tf.Variable<tf.Rank.R2>, Wv: Wv as tf.Variable<tf.Rank.R2> };
    return multiHeadAttention(q, xq, xkv).output;
  }, [xq, xkv, p.Wq, p.Wv]);
  for (const [i, e] of errors.entries()) assert(e < 1e-3, `input ${i}: relative error ${e}`);
  tf.dispose([xq, xkv, ...multiHeadParameters(p)]);
});

Deno.test("multi-head: a training step leaks no tensors", async () => {
  const p = initMultiHead(8, 2, 7);
  const x = rand([2, 4, 8], 12), mask = causalMask(4);
  const opt = tf.train.adam(1e-2);
  const step = () =>
    tf.tidy(() => {
      opt.minimize(
        () => tf.mean(tf.square(multiHeadAttention(p, x, x, { mask }).output)),
        false,
        multiHeadParameters(p),
      );
    });
  await assertNoTensorGrowth(step, 4, "multi-head training step");
  opt.dispose();
  tf.dispose([x, mask, ...multiHeadParameters(p)]);
});

Deno.test("masks: a 0/1 or boolean mask is refused, additiveMask converts it", () => {
  const q = rand([1, 3, 4], 1), k = rand([1, 3, 4], 2), v = rand([1, 3, 4], 3);
  const lower01 = tf.linalg.bandPart(tf.ones([3, 3]), -1, 0); // 1 = may look
  const lowerBool = lower01.cast("bool");
  for (const mask of [lower01, lowerBool]) {
    assertThrows(
      () => scaledDotProductAttention(q, k, v, { mask }),
      Error,
      "scaledDotProductAttention: mask [3, 3]",
    );
  }
  assertThrows(() => scaledDotProductAttention(q, k, v, { mask: lower01 }), Error, "additiveMask");
  const p = initMultiHead(4, 2, 5);
  assertThrows(() => multiHeadAttention(p, q, q, { mask: lowerBool }), Error, "is bool");
  // converted, it equals the causal mask: the future gets no weight
  const converted = additiveMask(lower01);
  const a = scaledDotProductAttention(q, k, v, { mask: converted });
  const b = scaledDotProductAttention(q, k, v, { mask: causalMask(3) });
  assertAllClose(a.weights, b.weights, { atol: 1e-7 });
  tf.dispose(
    [q, k, v, lower01, lowerBool, converted, a, b].flatMap((x) =>
      x instanceof tf.Tensor ? [x] : Object.values(x)
    ),
  );
  tf.dispose(multiHeadParameters(p));
});

Deno.test("attention and multi-head: int32 inputs, empty inputs and freed caches are clear errors", () => {
  const p = initMultiHead(4, 2, 5);
  const ints = tf.zeros([1, 3, 4], "int32");
  const x = rand([1, 3, 4], 1);
  for (const blas of [true, false]) {
    // the same message whichever path runs the products
    const restore = useNativeBlas(blas);
    try {
      assertThrows(
        () => multiHeadAttention(p, ints, ints),
        Error,
        "xq [1, 3, 4] must be float32, got int32",
      );
      assertThrows(
        () => scaledDotProductAttention(ints, ints, ints),
        Error,
        "q [1, 3, 4] must be float32",
      );
    } finally {
      useNativeBlas(restore);
    }
  }
  const empty = tf.zeros([0, 3, 4]);
  assertThrows(() => multiHeadAttention(p, empty, empty), Error, "xq [0, 3, 4] is empty");
  const r = multiHeadAttention(p, x, x);
  assertEquals(r.keys.shape, [1, 2, 3, 2]);
  const past = { keys: r.keys, values: r.values };
  const next = multiHeadAttention(p, x, x, { past });
  assertEquals(next.keys.shape, [1, 2, 6, 2]);
  tf.dispose([r.output, r.weights, r.keys, r.values]);
  assertThrows(() => multiHeadAttention(p, x, x, { past }), Error, "already freed");
  tf.dispose([ints, x, empty, next.output, next.weights, next.keys, next.values]);
  tf.dispose(multiHeadParameters(p));
});

/** The 0/1 pattern of an additive mask: 1 where a query may look, 0 where it is MASKED. */
function allowedPattern(mask: tf.Tensor2D): number[][] {
  return (mask.arraySync() as number[][]).map((r) => r.map((x) => (x === 0 ? 1 : 0)));
}

Deno.test("sparse masks: hand-worked local, strided and fixed patterns (Child et al. 2019)", () => {
  const local = sparseAttentionMask(5, { kind: "local", window: 2 });
  assertEquals(allowedPattern(local), [
    [1, 0, 0, 0, 0],
    [1, 1, 0, 0, 0],
    [0, 1, 1, 0, 0],
    [0, 0, 1, 1, 0],
    [0, 0, 0, 1, 1],
  ]);
  // strided, stride 2: i − j < 2, or i − j even.
  const strided = sparseAttentionMask(5, { kind: "strided", stride: 2 });
  assertEquals(allowedPattern(strided), [
    [1, 0, 0, 0, 0],
    [1, 1, 0, 0, 0],
    [1, 1, 1, 0, 0],
    [0, 1, 1, 1, 0],
    [1, 0, 1, 1, 1],
  ]);
  // fixed, stride 3, c 1: the query's own block {0,1,2} or {3,4,5}, plus column 2 (2 mod 3 = 2).
  const fixed = sparseAttentionMask(6, { kind: "fixed", stride: 3, c: 1 });
  assertEquals(allowedPattern(fixed), [
    [1, 0, 0, 0, 0, 0],
    [1, 1, 0, 0, 0, 0],
    [1, 1, 1, 0, 0, 0],
    [0, 0, 1, 1, 0, 0],
    [0, 0, 1, 1, 1, 0],
    [0, 0, 1, 1, 1, 1],
  ]);
  const values = new Set([local, strided, fixed].flatMap((m) => [...m.dataSync()]));
  assertEquals([...values].sort(), [MASKED, 0].sort());
  tf.dispose([local, strided, fixed]);
});

Deno.test("sparse masks: always causal, the diagonal always visible, a window of T is causal (property)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 6 }),
      (T, stride, cRaw) => {
        const c = Math.min(cRaw, stride);
        for (
          const pattern of [
            { kind: "local", window: stride },
            { kind: "strided", stride },
            { kind: "fixed", stride, c },
          ] as const
        ) {
          const m = sparseAttentionMask(T, pattern);
          const a = allowedPattern(m);
          m.dispose();
          for (let i = 0; i < T; i++) {
            assertEquals(a[i][i], 1, `${pattern.kind}: diagonal`);
            for (let j = i + 1; j < T; j++) assertEquals(a[i][j], 0, `${pattern.kind}: causal`);
          }
        }
        const full = sparseAttentionMask(T, { kind: "local", window: T });
        const causal = causalMask(T);
        assertEquals(full.arraySync(), causal.arraySync());
        tf.dispose([full, causal]);
      },
    ),
    { numRuns: 40 },
  );
});

Deno.test("sparse masks: bad patterns are clear errors naming the field", () => {
  const bad = (p: unknown) => () => sparseAttentionMask(4, p as never);
  assertThrows(bad({ kind: "local", window: 0 }), Error, "window must be an integer ≥ 1");
  assertThrows(bad({ kind: "local", window: 1.5 }), Error, "window must be an integer ≥ 1");
  assertThrows(bad({ kind: "strided", stride: -2 }), Error, "stride must be an integer ≥ 1");
  assertThrows(bad({ kind: "fixed", stride: 2, c: 3 }), Error, "c (3) must be at most stride (2)");
  assertThrows(bad({ kind: "fixed", stride: 2, c: 0 }), Error, "c must be an integer ≥ 1");
  assertThrows(bad({ kind: "dense" }), Error, 'pattern.kind must be "local"');
  assertThrows(bad(null), Error, "pattern.kind");
  assertThrows(() => sparseAttentionMask(0, { kind: "local", window: 1 }), Error, "T must be");
});

Deno.test("banded attention equals dense attention under the local mask, T not a multiple of the block", () => {
  for (
    const [lead, T, window, block] of [
      [[2, 3], 11, 4, 4],
      [[1], 7, 3, 2],
      [[2], 5, 8, 3], // a window wider than T: plain causal attention
      [[], 9, 1, 4], // window 1: each token sees itself only
    ] as [number[], number, number, number][]
  ) {
    tf.tidy(() => {
      const q = rand([...lead, T, 4], 1),
        k = rand([...lead, T, 4], 2),
        v = rand([...lead, T, 3], 3);
      const mask = sparseAttentionMask(T, { kind: "local", window });
      const dense = scaledDotProductAttention(q, k, v, { mask }).output;
      const banded = bandedAttention(q, k, v, { window, block });
      assertEquals(banded.shape, dense.shape);
      assertAllClose(banded, dense, {
        atol: 1e-5,
        msg: `T ${T}, window ${window}, block ${block}`,
      });
    });
  }
});

Deno.test("banded attention: gradients match finite differences and the dense path's; no leak", async () => {
  const q = rand([1, 6, 3], 4), k = rand([1, 6, 3], 5), v = rand([1, 6, 2], 6);
  const banded = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) =>
    bandedAttention(q, k, v, { window: 3, block: 4 });
  for (const [i, e] of gradCheck(banded, [q, k, v]).entries()) {
    assert(e < 1e-3, `input ${i}: relative error ${e} ≥ 1e-3`);
  }
  tf.tidy(() => {
    const mask = sparseAttentionMask(6, { kind: "local", window: 3 });
    const R = rand([1, 6, 2], 7);
    const loss = (f: typeof banded) => (...x: tf.Tensor[]) =>
      tf.sum(tf.mul(f(x[0], x[1], x[2]), R));
    const dense = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) =>
      scaledDotProductAttention(q, k, v, { mask }).output;
    const gb = tf.grads(loss(banded))([q, k, v]), gd = tf.grads(loss(dense))([q, k, v]);
    gb.forEach((g, i) => assertAllClose(g, gd[i], { atol: 1e-5, rtol: 1e-4, msg: `grad ${i}` }));
  });
  await assertNoTensorGrowth(() => tf.dispose(banded(q, k, v)), 3, "banded attention");
  tf.dispose([q, k, v]);
});

Deno.test("banded attention: bad window, block or shapes are clear errors", () => {
  tf.tidy(() => {
    const q = rand([4, 2], 1), k = rand([4, 2], 2), v = rand([4, 2], 3);
    assertThrows(() => bandedAttention(q, k, v, { window: 0 }), Error, "window must be");
    assertThrows(() => bandedAttention(q, k, v, { window: 2, block: 1.5 }), Error, "block must");
    const k5 = rand([5, 2], 4), v5 = rand([5, 2], 5);
    assertThrows(() => bandedAttention(q, k5, v5, { window: 2 }), Error, "same T");
    assertThrows(
      () => bandedAttention(q, rand([4, 3], 6), v, { window: 2 }),
      Error,
      "bandedAttention",
    );
  });
});

Deno.test("sparse masks with past: the last T rows of the mask of past + T tokens (property)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 0, max: 8 }),
      fc.integer({ min: 1, max: 5 }),
      (T, past, w) => {
        for (
          const pattern of [
            { kind: "local", window: w },
            { kind: "strided", stride: w },
            { kind: "fixed", stride: w, c: 1 },
          ] as const
        ) {
          tf.tidy(() => {
            const incremental = sparseAttentionMask(T, pattern, past);
            assertEquals(incremental.shape, [T, past + T]);
            const whole = sparseAttentionMask(past + T, pattern);
            const rows = tf.slice(whole, [past, 0], [T, past + T]);
            assertEquals(incremental.arraySync(), rows.arraySync(), pattern.kind);
          });
        }
      },
    ),
    { numRuns: 30 },
  );
  assertThrows(
    () => sparseAttentionMask(2, { kind: "local", window: 1 }, -1),
    Error,
    "past must be a non-negative integer",
  );
});

Deno.test("multiHeadAttention's band = the local mask; keys and values returned; band misuse is an error", async () => {
  const p = initMultiHead(8, 2, 3);
  const x = rand([2, 9, 8], 4);
  tf.tidy(() => {
    for (const [window, block] of [[3, 3], [4, 2], [12, 5]]) {
      const mask = sparseAttentionMask(9, { kind: "local", window });
      const dense = multiHeadAttention(p, x, x, { mask });
      const band = multiHeadAttention(p, x, x, { band: { window, block } });
      assertAllClose(band.output, dense.output, { atol: 1e-5, msg: `window ${window}` });
      assertAllClose(band.keys, dense.keys);
      assertAllClose(band.values, dense.values);
      assertEquals(band.weights.shape, [2, 2, Math.ceil(9 / block), block, block + window - 1]);
    }
  });
  const y = rand([2, 9, 8], 5);
  const band = { window: 2 };
  assertThrows(() => multiHeadAttention(p, x, y, { band }), Error, "pass xkv = xq");
  assertThrows(
    () => multiHeadAttention(p, x, x, { band, mask: causalMask(9) }),
    Error,
    "no mask or past",
  );
  await assertNoTensorGrowth(
    () => tf.tidy(() => void multiHeadAttention(p, x, x, { band })),
    3,
    "banded multi-head attention",
  );
  tf.dispose([x, y, ...multiHeadParameters(p)]);
});
