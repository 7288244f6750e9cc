// Training utilities: Adam against its formula and against tf.train.adam, global-norm clipping
// by hand, seeded batches, fit on least squares against the closed-form optimum, the NaN
// guard, and no tensor growth across steps.
import * as tf from "@tensorflow/tfjs";
import fc from "fast-check";
import { assert, assertEquals, assertNotEquals, assertRejects, assertThrows } from "@std/assert";
import { assertAllClose } from "../testing/tensor_assert.ts";
import {
  batchIndices,
  clipByGlobalNorm,
  createOptimizer,
  fit,
  type Optimizer,
} from "../lib/train.ts";
import { initBackend, makeRng } from "../lib/tensor.ts";

await initBackend();

Deno.test("Adam: the first update is α·g/(|g| + ε), the second follows the formula", () => {
  const theta = tf.variable(tf.tensor1d([1, -2, 0.5]));
  const opt = createOptimizer({ learningRate: 0.1 });
  const g1 = [0.5, -4, 1e-3];
  const g2 = [1, 2, -1];
  tf.tidy(() => opt.applyGradients([theta], [tf.tensor1d(g1)]));
  assertAllClose(theta, [1 - 0.1, -2 + 0.1, 0.5 - 0.1 * 1e-3 / (1e-3 + 1e-8)], { atol: 1e-6 });
  tf.tidy(() => opt.applyGradients([theta], [tf.tensor1d(g2)]));
  // By hand: m = 0.9·0.1·g1 + 0.1·g2, v = 0.999·0.001·g1² + 0.001·g2², t = 2.
  const expected = [0.9, -1.9, 0.5 - 0.1 * 1e-3 / (1e-3 + 1e-8)].map((x, i) => {
    const m = 0.9 * 0.1 * g1[i] + 0.1 * g2[i];
    const v = 0.999 * 0.001 * g1[i] ** 2 + 0.001 * g2[i] ** 2;
    const mHat = m / (1 - 0.9 ** 2);
    const vHat = v / (1 - 0.999 ** 2);
    return x - 0.1 * mHat / (Math.sqrt(vHat) + 1e-8);
  });
  assertAllClose(theta, expected, { atol: 1e-5 });
  assertEquals(opt.step, 2);
  opt.dispose();
  theta.dispose();
});

Deno.test("Adam: matches tf.train.adam over 20 steps on a quadratic", () => {
  const target = tf.tensor2d([[1, -2], [3, 0.5]]);
  const a = tf.variable(tf.zeros([2, 2]));
  const b = tf.variable(tf.zeros([2, 2]));
  const loss = (x: tf.Variable) => () =>
    tf.sum(tf.square(tf.sub(tf.mul(x, x), target))) as tf.Scalar;
  const ours = createOptimizer({ learningRate: 0.05, beta1: 0.8, beta2: 0.99, epsilon: 1e-7 });
  const theirs = tf.train.adam(0.05, 0.8, 0.99, 1e-7);
  a.assign(tf.fill([2, 2], 0.3));
  b.assign(tf.fill([2, 2], 0.3));
  for (let i = 0; i < 20; i++) {
    tf.tidy(() => {
      const { grads } = tf.variableGrads(loss(a), [a]);
      ours.applyGradients([a], [grads[a.name]]);
    });
    tf.tidy(() => {
      theirs.minimize(loss(b), false, [b]);
    });
  }
  assertAllClose(a, b, { atol: 1e-5 });
  ours.dispose();
  theirs.dispose();
  tf.dispose([a, b, target]);
});

Deno.test("Adam: a learning-rate schedule receives t = 1, 2, …", () => {
  const seen: number[] = [];
  const theta = tf.variable(tf.scalar(0));
  const opt = createOptimizer({ learningRate: (t) => (seen.push(t), 0.01 * t) });
  for (let i = 0; i < 3; i++) tf.tidy(() => opt.applyGradients([theta], [tf.scalar(-1)]));
  assertEquals(seen, [1, 2, 3]);
  // Every update moves by ≈ α_t (the gradient is constant, so m̂/√v̂ = 1): 0.01 + 0.02 + 0.03.
  assertAllClose(theta, 0.06, { atol: 1e-6 });
  opt.dispose();
  theta.dispose();
});

Deno.test("Adam: clear errors for bad settings and mismatched gradients", () => {
  assertThrows(() => createOptimizer({ learningRate: -1 }), Error, "learningRate must be");
  assertThrows(() => createOptimizer({ learningRate: 0.1, beta1: 1 }), Error, "beta1");
  const x = tf.variable(tf.zeros([2, 3]));
  const opt = createOptimizer({ learningRate: 0.1 });
  assertThrows(
    () => tf.tidy(() => opt.applyGradients([x], [tf.zeros([3, 2])])),
    Error,
    "has shape [2,3], its gradient [3,2]",
  );
  assertThrows(() => opt.applyGradients([x], []), Error, "1 variables but 0 gradients");
  opt.dispose();
  x.dispose();
});

Deno.test("clipByGlobalNorm: hand-worked norms and scaling", () => {
  const g = [tf.tensor1d([3, 4]), tf.tensor2d([[12]])]; // ‖g‖ = √(9 + 16 + 144) = 13
  const clipped = clipByGlobalNorm(g, 6.5);
  assertAllClose(clipped.norm, 13, { atol: 1e-5 });
  assertAllClose(clipped.grads[0], [1.5, 2], { atol: 1e-6 });
  assertAllClose(clipped.grads[1], [[6]], { atol: 1e-6 });
  const kept = clipByGlobalNorm(g, 20);
  assertAllClose(kept.grads[0], [3, 4]);
  assertAllClose(kept.grads[1], [[12]]);
  assertThrows(() => clipByGlobalNorm(g, 0), Error, "maxNorm must be");
  tf.dispose([...g, ...clipped.grads, ...kept.grads]);
});

Deno.test("clipByGlobalNorm: the clipped norm is min(‖g‖, maxNorm) (property)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.float({ min: -100, max: 100, noNaN: true }), { minLength: 1, maxLength: 8 }),
      fc.float({ min: Math.fround(0.1), max: 50, noNaN: true }),
      (values, maxNorm) => {
        const g = tf.tensor1d(values);
        const { grads, norm } = clipByGlobalNorm([g], maxNorm);
        const after = Math.hypot(...grads[0].dataSync());
        tf.dispose([g, ...grads]);
        const expected = Math.hypot(...values);
        return Math.abs(norm - expected) <= 1e-4 * (1 + expected) &&
          Math.abs(after - Math.min(expected, maxNorm)) <= 1e-4 * (1 + expected);
      },
    ),
    { numRuns: 100 },
  );
});

Deno.test("batchIndices: a seeded permutation cut into batches", () => {
  const batches = batchIndices(10, 4, 7);
  assertEquals(batches.map((b) => b.length), [4, 4, 2]);
  assertEquals(batches.flat().sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assertEquals(batchIndices(10, 4, 7), batches);
  assertNotEquals(batchIndices(10, 4, 8).flat(), batches.flat());
  assertEquals(batchIndices(0, 3, 1), []);
  assertThrows(() => batchIndices(5, 0, 1), Error, "batchSize must be a positive integer, got 0");
  fc.assert(
    fc.property(fc.nat(200), fc.integer({ min: 1, max: 50 }), fc.integer(), (n, size, seed) => {
      const flat = batchIndices(n, size, seed).flat();
      return flat.length === n && new Set(flat).size === n && flat.every((i) => i >= 0 && i < n);
    }),
  );
});

/** Least squares: X (40×3), y = X·[2, −1, 0.5] + noise; the optimum from the normal equations. */
function leastSquares() {
  const rng = makeRng(3);
  const rows = Array.from({ length: 40 }, () => [rng() * 2 - 1, rng() * 2 - 1, rng() * 2 - 1]);
  const ys = rows.map((r) => 2 * r[0] - r[1] + 0.5 * r[2] + 0.5 * (rng() - 0.5));
  // Solve (XᵀX) w = Xᵀy by Gaussian elimination, in plain numbers.
  const A = [0, 1, 2].map((i) => [0, 1, 2].map((j) => rows.reduce((s, r) => s + r[i] * r[j], 0)));
  const b = [0, 1, 2].map((i) => rows.reduce((s, r, k) => s + r[i] * ys[k], 0));
  for (let c = 0; c < 3; c++) {
    for (let r = c + 1; r < 3; r++) {
      const f = A[r][c] / A[c][c];
      for (let k = c; k < 3; k++) A[r][k] -= f * A[c][k];
      b[r] -= f * b[c];
    }
  }
  const w = [0, 0, 0];
  for (let r = 2; r >= 0; r--) {
    w[r] = (b[r] - [0, 1, 2].reduce((s, k) => s + (k > r ? A[r][k] * w[k] : 0), 0)) / A[r][r];
  }
  const optimum =
    rows.reduce((s, r, k) => s + (r[0] * w[0] + r[1] * w[1] + r[2] * w[2] - ys[k]) ** 2, 0) /
    rows.length;
  return { rows, ys, w, optimum };
}

Deno.test("fit: least squares reaches the closed-form optimum", async () => {
  const { rows, ys, w: wStar, optimum } = leastSquares();
  const X = tf.tensor2d(rows);
  const y = tf.tensor2d(ys, [ys.length, 1]);
  const w = tf.variable(tf.zeros([3, 1]));
  const evalsSeen: number[] = [];
  const { losses, evals } = await fit({
    variables: [w],
    steps: 400,
    loss: () => tf.mean(tf.square(tf.sub(tf.matMul(X, w), y))) as tf.Scalar,
    optimizer: createOptimizer({ learningRate: (t) => 0.1 * (1 - t / 401) }),
    evaluate: { every: 100, fn: () => tf.tidy(() => tf.sum(tf.abs(w)).dataSync()[0]) },
    onStep: (s) => {
      if (s.evalLoss !== undefined) evalsSeen.push(s.step);
    },
  });
  assertEquals(losses.length, 400);
  assert(losses[0] > 10 * optimum, `starts far from the optimum: ${losses[0]} vs ${optimum}`);
  assert(
    losses[399] <= optimum * 1.001,
    `final loss ${losses[399]} should be within 0.1% of the optimum ${optimum}`,
  );
  assertAllClose(w, wStar.map((v) => [v]), { atol: 5e-3 });
  assertEquals(evals.map((e) => e.step), [100, 200, 300, 400]);
  assertEquals(evalsSeen, [100, 200, 300, 400]);
  tf.dispose([X, y, w]);
});

Deno.test("fit: a NaN or infinite loss stops training with an error naming the step", async () => {
  const w = tf.variable(tf.scalar(1));
  const before = tf.memory().numTensors;
  await assertRejects(
    () =>
      fit({
        variables: [w],
        steps: 10,
        loss: (step) => tf.mul(tf.square(w), step === 4 ? NaN : 1) as tf.Scalar,
        optimizer: createOptimizer({ learningRate: 0.01 }),
      }),
    Error,
    "the loss is NaN at step 4 of 10",
  );
  assertEquals(tf.memory().numTensors, before + 2, "only the optimiser's m and v remain");
  const value = w.dataSync()[0];
  assert(Number.isFinite(value), "the parameters keep their last finite values");
  // Divergence: plain gradient descent θ ← θ − η·g on L = w² with η = 1.5 maps w to −2w, so
  // after 64 steps w = 2⁶⁴ and the loss 2¹²⁸ overflows float32 at step 65. (fit accepts any
  // Optimizer, not only Adam.)
  const sgd: Optimizer = {
    step: 0,
    applyGradients: (vs, gs) => vs.forEach((v, i) => v.assign(tf.sub(v, tf.mul(gs[i], 1.5)))),
    dispose: () => {},
  };
  w.assign(tf.scalar(1));
  await assertRejects(
    () =>
      fit({ variables: [w], steps: 100, loss: () => tf.square(w) as tf.Scalar, optimizer: sgd }),
    Error,
    "fit: the loss is Infinity at step 65 of 100",
  );
  assertEquals(w.dataSync()[0], 2 ** 64);
  w.dispose();
});

Deno.test("fit: the number of live tensors stays flat across steps", async () => {
  const rng = makeRng(5);
  const X = tf.tensor2d(Array.from({ length: 32 }, () => [rng(), rng(), rng(), rng()]));
  const y = tf.tensor2d(Array.from({ length: 32 }, () => [rng()]));
  const W1 = tf.variable(tf.randomNormal([4, 8], 0, 0.5, "float32", 1));
  const W2 = tf.variable(tf.randomNormal([8, 1], 0, 0.5, "float32", 2));
  const counts: number[] = [];
  await fit({
    variables: [W1, W2],
    steps: 12,
    clipNorm: 1,
    loss: () =>
      tf.mean(tf.square(tf.sub(tf.matMul(tf.relu(tf.matMul(X, W1)), W2), y))) as tf.Scalar,
    evaluate: { every: 3, fn: () => 0 },
    onStep: () => {
      counts.push(tf.memory().numTensors);
    },
  });
  assert(counts.every((c) => c === counts[0]), `tensor counts per step: ${counts.join(", ")}`);
  tf.dispose([X, y, W1, W2]);
});

Deno.test("fit: rejects bad settings and variables the loss ignores", async () => {
  const a = tf.variable(tf.scalar(1));
  const b = tf.variable(tf.scalar(1));
  await assertRejects(
    () => fit({ variables: [a, b], steps: 1, loss: () => tf.square(a) as tf.Scalar }),
    Error,
    `does not depend on variable ${b.name}`,
  );
  await assertRejects(
    () => fit({ variables: [a], steps: 1.5, loss: () => tf.square(a) as tf.Scalar }),
    Error,
    "steps must be a non-negative integer, got 1.5",
  );
  tf.dispose([a, b]);
});
