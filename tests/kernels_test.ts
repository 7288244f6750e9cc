import * as tf from "@tensorflow/tfjs";
import fc from "fast-check";
import { assert, assertThrows } from "@std/assert";
import { assertAllClose } from "../testing/tensor_assert.ts";
import { gradCheck } from "../testing/gradcheck.ts";
import {
  activate,
  type Activation,
  batchedMatMul,
  gelu,
  geluTanh,
  layerNormCore,
  linear,
  matMul2d,
  stableSoftmax,
} from "../lib/kernels.ts";
import { assertNoTensorGrowth, initBackend } from "../lib/tensor.ts";
import { nativeBlas, useNativeBlas } from "../lib/blas.ts";

await initBackend();
const nativeLoaded = nativeBlas() !== undefined;

/**
 * Registers `fn` twice: with the products on OpenBLAS (blas.ts; ignored, and so reported,
 * when it did not load) and on tfjs's own kernels (XNNPACK on wasm).
 */
function onBothPaths(name: string, fn: () => void | Promise<void>): void {
  for (const native of [true, false]) {
    Deno.test({
      name: `${name} [products on ${native ? "OpenBLAS" : "tfjs"}]`,
      ignore: native && !nativeLoaded,
      fn: async () => {
        const before = useNativeBlas(native);
        try {
          await fn();
        } finally {
          useNativeBlas(before);
        }
      },
    });
  }
}

const rand = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, "float32", seed);

/** Asserts every relative error from gradCheck is below 1e-3. */
function assertGradOk(errors: number[], what: string): void {
  for (const [i, e] of errors.entries()) {
    assert(e < 1e-3, `${what}: input ${i} gradient relative error ${e.toExponential(2)} ≥ 1e-3`);
  }
}

/** The gradients of `fast` and `plain` (tfjs autodiff) agree, for L = Σ f ⊙ R. */
function assertSameGrads(
  fast: (...xs: tf.Tensor[]) => tf.Tensor,
  plain: (...xs: tf.Tensor[]) => tf.Tensor,
  xs: tf.Tensor[],
  what: string,
  tol = 1e-5,
): void {
  tf.tidy(() => {
    const R = rand(plain(...xs).shape, 99);
    const loss = (f: typeof fast) => (...inputs: tf.Tensor[]) => tf.sum(tf.mul(f(...inputs), R));
    assertAllClose(fast(...xs), plain(...xs), { rtol: tol, atol: tol, msg: `${what} value` });
    const gf = tf.grads(loss(fast))(xs);
    const gp = tf.grads(loss(plain))(xs);
    gf.forEach((g, i) =>
      assertAllClose(g, gp[i], { rtol: tol, atol: tol, msg: `${what} gradient ${i}` })
    );
  });
}

onBothPaths("matMul2d: value and gradients equal tf.matMul's, with and without transposeB", () => {
  const a = rand([5, 7], 1), b = rand([7, 3], 2), bt = rand([3, 7], 3);
  assertSameGrads(
    (x, y) => matMul2d(x as tf.Tensor2D, y as tf.Tensor2D),
    (x, y) => tf.matMul(x, y),
    [a, b],
    "A·B",
  );
  assertSameGrads(
    (x, y) => matMul2d(x as tf.Tensor2D, y as tf.Tensor2D, true),
    (x, y) => tf.matMul(x, y, false, true),
    [a, bt],
    "A·Bᵀ",
  );
  tf.dispose([a, b, bt]);
});

onBothPaths("matMul2d: gradients match finite differences", () => {
  const a = rand([3, 4], 4), b = rand([4, 2], 5), bt = rand([2, 4], 6);
  assertGradOk(gradCheck((x, y) => matMul2d(x as tf.Tensor2D, y as tf.Tensor2D), [a, b]), "A·B");
  assertGradOk(
    gradCheck((x, y) => matMul2d(x as tf.Tensor2D, y as tf.Tensor2D, true), [a, bt]),
    "A·Bᵀ",
  );
  tf.dispose([a, b, bt]);
});

Deno.test("matMul2d and linear: mismatched shapes name both shapes", () => {
  const a = tf.zeros([2, 3]) as tf.Tensor2D, b = tf.zeros([4, 5]) as tf.Tensor2D;
  assertThrows(() => matMul2d(a, b), Error, "A [2, 3] and B [4, 5] do not fit");
  assertThrows(() => matMul2d(a, b, true), Error, "A has 3 columns, Bᵀ has 5 rows");
  assertThrows(() => linear(tf.zeros([2, 6, 3]), b), Error, "x [2, 6, 3] has last axis 3");
  assertThrows(
    () => linear(tf.zeros([2, 4]), b, tf.zeros([3]) as tf.Tensor1D),
    Error,
    "bias b [3] does not match W's output width 5",
  );
  tf.dispose([a, b]);
});

onBothPaths("linear: y = xW + b over leading axes, gradients match finite differences", () => {
  const x = rand([2, 3, 4], 7), W = rand([4, 5], 8) as tf.Tensor2D;
  const b = rand([5], 9) as tf.Tensor1D;
  // independent computation: one row at a time in plain JS
  const xv = x.arraySync() as number[][][], Wv = W.arraySync(), bv = b.arraySync();
  const expected = xv.map((batch) =>
    batch.map((row) => bv.map((bj, j) => bj + row.reduce((s, xi, i) => s + xi * Wv[i][j], 0)))
  );
  const y = linear(x, W, b);
  assertAllClose(y, expected, { atol: 1e-5 });
  assertGradOk(
    gradCheck((x, W, b) => linear(x, W as tf.Tensor2D, b as tf.Tensor1D), [x, W, b]),
    "linear",
  );
  tf.dispose([x, W, b, y]);
});

onBothPaths("batchedMatMul: value and gradients equal tf.matMul's (property over shapes)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 5 }),
      fc.boolean(),
      (G, M, K, N, transposeB) => {
        const a = rand([G, M, K], G + M);
        const b = rand(transposeB ? [G, N, K] : [G, K, N], K + N);
        assertSameGrads(
          (x, y) => batchedMatMul(x as tf.Tensor3D, y as tf.Tensor3D, transposeB),
          (x, y) => tf.matMul(x, y, false, transposeB),
          [a, b],
          `G ${G} M ${M} K ${K} N ${N} transposeB ${transposeB}`,
        );
        tf.dispose([a, b]);
      },
    ),
    { numRuns: 40 },
  );
});

onBothPaths("batchedMatMul: gradients match finite differences", () => {
  const a = rand([2, 3, 4], 10), b = rand([2, 4, 2], 11), bt = rand([2, 2, 4], 12);
  assertGradOk(
    gradCheck((x, y) => batchedMatMul(x as tf.Tensor3D, y as tf.Tensor3D), [a, b]),
    "A·B",
  );
  assertGradOk(
    gradCheck((x, y) => batchedMatMul(x as tf.Tensor3D, y as tf.Tensor3D, true), [a, bt]),
    "A·Bᵀ",
  );
  tf.dispose([a, b, bt]);
});

Deno.test("batchedMatMul: mismatched shapes name both shapes", () => {
  const a = tf.zeros([2, 3, 4]) as tf.Tensor3D;
  assertThrows(
    () => batchedMatMul(a, tf.zeros([3, 4, 5]) as tf.Tensor3D),
    Error,
    "A [2, 3, 4] and B [3, 4, 5] do not fit",
  );
  assertThrows(
    () => batchedMatMul(a, tf.zeros([2, 5, 3]) as tf.Tensor3D, true),
    Error,
    "A [2, 3, 4] and Bᵀ [2, 5, 3] do not fit",
  );
  a.dispose();
});

Deno.test("gelu: hand-worked values of x·Φ(x)", () => {
  // Φ(1) = 0.8413447, Φ(−1) = 0.1586553, Φ(2) = 0.9772499
  const y = gelu(tf.tensor1d([0, 1, -1, 2]));
  assertAllClose(y, [0, 0.8413447, -0.1586553, 1.9544997], { atol: 1e-6 });
  y.dispose();
});

Deno.test("gelu: gradient equals autodiff of x·Φ(x) and finite differences", () => {
  const x = tf.tensor1d([-3, -1.5, -0.3, 0, 0.2, 0.9, 2.5]);
  const plain = (t: tf.Tensor) => tf.mul(t, tf.mul(0.5, tf.add(1, tf.erf(tf.div(t, Math.SQRT2)))));
  assertSameGrads(gelu, plain, [x], "gelu");
  assertGradOk(gradCheck(gelu, [x]), "gelu");
  x.dispose();
});

Deno.test("geluTanh: hand-worked values and gradient vs autodiff and finite differences", () => {
  // ½x(1 + tanh(√(2/π)(x + 0.044715x³))) at 1, −1, 2, computed by hand with Math.tanh
  const ref = (v: number) =>
    0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
  const y = geluTanh(tf.tensor1d([0, 1, -1, 2]));
  assertAllClose(y, [0, ref(1), ref(-1), ref(2)], { atol: 1e-6 });
  // and within 4.8e-4 of the exact GELU
  assertAllClose(y, [0, 0.8413447, -0.1586553, 1.9544997], { atol: 4.8e-4 });
  y.dispose();
  const x = tf.tensor1d([-3, -1.5, -0.3, 0, 0.2, 0.9, 2.5]);
  const plain = (t: tf.Tensor) =>
    tf.mul(
      tf.mul(0.5, t),
      tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(t, tf.mul(0.044715, tf.pow(t, 3)))))),
    );
  assertSameGrads(geluTanh, plain, [x], "geluTanh");
  assertGradOk(gradCheck(geluTanh, [x]), "geluTanh");
  x.dispose();
});

Deno.test("activate: names the allowed activations on a wrong one", () => {
  const x = tf.tensor1d([-1, 1]);
  assertThrows(() => activate(x, "GELU" as Activation), Error, '"relu", "gelu", "gelu_tanh"');
  x.dispose();
});

onBothPaths(
  "layerNormCore: hand-worked row, and gradients vs autodiff and finite differences",
  () => {
    // row [1, 2, 3, 6]: μ = 3, σ² = (4 + 1 + 0 + 9)/4 = 3.5, x̂ = (x − 3)/√3.5
    const s = Math.sqrt(3.5 + 1e-5);
    const row = tf.tensor2d([[1, 2, 3, 6]]);
    const ones = tf.ones([4]) as tf.Tensor1D, zeros = tf.zeros([4]) as tf.Tensor1D;
    const y = layerNormCore(row, ones, zeros);
    assertAllClose(y, [[-2 / s, -1 / s, 0, 3 / s]], { atol: 1e-6 });

    const x = rand([2, 3, 5], 13);
    const gamma = rand([5], 14) as tf.Tensor1D, beta = rand([5], 15) as tf.Tensor1D;
    const fast = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
      layerNormCore(x, g as tf.Tensor1D, b as tf.Tensor1D);
    const plain = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const { mean, variance } = tf.moments(x, -1, true);
      return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b);
    };
    assertSameGrads(fast, plain, [x, gamma, beta], "layer norm", 1e-4);
    assertGradOk(gradCheck(fast, [x, gamma, beta]), "layer norm");
    assertThrows(
      () => layerNormCore(x, tf.ones([4]) as tf.Tensor1D, beta),
      Error,
      "γ [4] does not match x [2, 3, 5] (last axis 5)",
    );
    tf.dispose([row, ones, zeros, y, x, gamma, beta]);
  },
);

Deno.test("stableSoftmax: ±1e4 scores stay finite; gradient vs autodiff and finite differences", () => {
  const big = tf.tensor2d([[1e4, -1e4, 0], [-1e9, -1e9, -1e9]]);
  const y = stableSoftmax(big);
  assertAllClose(y, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], { atol: 1e-6 });
  const x = rand([3, 4], 16);
  assertSameGrads(stableSoftmax, (t) => tf.softmax(t), [x], "softmax");
  assertGradOk(gradCheck(stableSoftmax, [x]), "softmax");
  tf.dispose([big, y, x]);
});

onBothPaths("kernels: a training step with every kernel leaks no tensors", async () => {
  const W = tf.variable(rand([6, 6], 17));
  const g = tf.variable(tf.ones([6])), b = tf.variable(tf.zeros([6]));
  const x = rand([2, 3, 6], 18);
  const opt = tf.train.adam(1e-2);
  const step = () =>
    tf.tidy(() => {
      opt.minimize(() => {
        const h = gelu(linear(x, W as tf.Variable<tf.Rank.R2>));
        const n = layerNormCore(h, g as tf.Variable<tf.Rank.R1>, b as tf.Variable<tf.Rank.R1>);
        const q = n.reshape([2, 3, 6]) as tf.Tensor3D;
        return tf.sum(stableSoftmax(batchedMatMul(q, q, true)));
      });
    });
  await assertNoTensorGrowth(step, 4, "kernel training step");
  opt.dispose();
  tf.dispose([W, g, b, x]);
});
