// Training utilities: Adam against its formula and against tf.train.adam, AdamW's decoupled
// decay against a hand-worked step (and against Adam + L2), the warmup + cosine schedule at
// hand-computed points, global-norm clipping by hand, seeded batches and epochs, fit on least
// squares against the closed-form optimum, checkpoints and the NaN guard (non-finite losses,
// gradients and parameters), resuming bit for bit, and no tensor growth across steps.
import * as tf from "@tensorflow/tfjs";
import fc from "fast-check";
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertNotEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { assertAllClose } from "../testing/tensor_assert.ts";
import {
  batchIndices,
  clipByGlobalNorm,
  createAdamW,
  createOptimizer,
  epochBatches,
  fit,
  type Optimizer,
  warmupCosine,
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

Deno.test("epochBatches: every index once per epoch, epoch e = batchIndices(n, b, seed + e)", () => {
  const batchAt = epochBatches(10, 4, 7);
  // k = ⌈10 / 4⌉ = 3 batches per epoch: steps 1–3 are epoch 0, 4–6 epoch 1, 7–9 epoch 2.
  const epochs = [0, 1, 2].map((e) => [1, 2, 3].map((k) => batchAt(3 * e + k)));
  epochs.forEach((batches, e) => {
    assertEquals(batches, batchIndices(10, 4, 7 + e), `epoch ${e}`);
    assertEquals(batches.flat().sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
  assertNotEquals(epochs[0].flat(), epochs[1].flat());
  // Same seed, same batches, in any order of steps (as a resumed run asks for them).
  const again = epochBatches(10, 4, 7);
  assertEquals(
    [8, 2, 5, 1].map(again),
    [8, 2, 5, 1].map((t) => epochs[Math.floor((t - 1) / 3)][(t - 1) % 3]),
  );
  // The returned batch is a copy: changing it changes no later answer.
  batchAt(1).fill(-1);
  assertEquals(batchAt(1), epochs[0][0]);
  assertThrows(
    () => epochBatches(0, 4, 1),
    Error,
    "epochBatches: n must be a positive integer, got 0",
  );
  assertThrows(() => epochBatches(5, 0, 1), Error, "batchSize must be a positive integer, got 0");
  assertThrows(() => epochBatches(5, 2, 0.5), Error, "seed must be an integer, got 0.5");
  assertThrows(() => batchAt(0), Error, "epochBatches: step must be a positive integer, got 0");
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 60 }),
      fc.integer({ min: 1, max: 20 }),
      fc.integer(),
      fc.nat(4),
      (n, size, seed, e) => {
        const at = epochBatches(n, size, seed);
        const k = Math.ceil(n / size);
        const epoch = Array.from({ length: k }, (_, i) => at(e * k + i + 1));
        const flat = epoch.flat();
        return new Set(flat).size === n && flat.length === n &&
          JSON.stringify(epoch) === JSON.stringify(batchIndices(n, size, seed + e));
      },
    ),
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

Deno.test("AdamW: a hand-worked step, and how it differs from Adam + L2", () => {
  // θ = [1, −2], g = [0.5, 0.1], α = 0.1, λ = 0.1. At t = 1, m̂ = g and v̂ = g², so
  // m̂/(√v̂ + ε) ≈ sign(g) = [1, 1].
  // AdamW:     θ ← θ − α·(sign(g) + λθ) = [1 − 0.1·(1 + 0.1), −2 − 0.1·(1 − 0.2)] = [0.89, −2.08]
  // Adam + L2: g' = g + λθ = [0.6, −0.1], θ ← θ − α·sign(g') = [0.9, −1.9]: the decay term
  //            went through m̂/√v̂, which turned it into a full-size step of the wrong sign for
  //            the second weight.
  const init = [[1, -2]];
  const g = [[0.5, 0.1]];
  const w = tf.variable(tf.tensor2d(init));
  const adamW = createAdamW({ learningRate: 0.1, weightDecay: 0.1 });
  tf.tidy(() => adamW.applyGradients([w], [tf.tensor2d(g)]));
  assertAllClose(w, [[0.89, -2.08]], { atol: 1e-6 });
  const l2 = tf.variable(tf.tensor2d(init));
  const adam = createOptimizer({ learningRate: 0.1 });
  tf.tidy(() => adam.applyGradients([l2], [tf.add(tf.tensor2d(g), tf.mul(l2, 0.1))]));
  assertAllClose(l2, [[0.9, -1.9]], { atol: 1e-6 });
  // A second AdamW step with g₂ = [1, 1] by the formula: m̂ and v̂ by hand, then + λθ.
  tf.tidy(() => adamW.applyGradients([w], [tf.tensor2d([[1, 1]])]));
  const expected = [0.89, -2.08].map((theta, i) => {
    const m = 0.9 * 0.1 * g[0][i] + 0.1 * 1;
    const v = 0.999 * 0.001 * g[0][i] ** 2 + 0.001 * 1;
    const step = (m / (1 - 0.9 ** 2)) / (Math.sqrt(v / (1 - 0.999 ** 2)) + 1e-8);
    return theta - 0.1 * (step + 0.1 * theta);
  });
  assertAllClose(w, [expected], { atol: 1e-5 });
  tf.dispose([w, l2]);
  adamW.dispose();
  adam.dispose();
});

Deno.test("AdamW: biases and gains (rank 1) are not decayed by default; decayFilter decides", () => {
  const run = (opt: Optimizer) => {
    const W = tf.variable(tf.tensor2d([[1, 2], [3, 4]]));
    const b = tf.variable(tf.tensor1d([1, -1]));
    for (let i = 0; i < 3; i++) {
      tf.tidy(() => opt.applyGradients([W, b], [tf.fill([2, 2], 0.5), tf.fill([2], -0.3)]));
    }
    const out = [Array.from(W.dataSync()), Array.from(b.dataSync())];
    tf.dispose([W, b]);
    opt.dispose();
    return out;
  };
  const [adamW, adamB] = run(createOptimizer({ learningRate: 0.1 }));
  const [wW, wB] = run(createAdamW({ learningRate: 0.1, weightDecay: 0.5 }));
  assertEquals(wB, adamB, "the bias follows plain Adam exactly");
  assert(wW.every((x, i) => Math.abs(x) < Math.abs(adamW[i])), "the matrix shrinks");
  const [onlyBiasW, onlyBiasB] = run(
    createAdamW({ learningRate: 0.1, weightDecay: 0.5, decayFilter: (v) => v.rank === 1 }),
  );
  assertEquals(onlyBiasW, adamW, "an excluded matrix follows plain Adam exactly");
  assertNotEquals(onlyBiasB, adamB);
  // weightDecay 0 is Adam, bit for bit.
  const [zeroW, zeroB] = run(createAdamW({ learningRate: 0.1, weightDecay: 0 }));
  assertEquals([zeroW, zeroB], [adamW, adamB]);
  assertThrows(
    () => createAdamW({ learningRate: 0.1, weightDecay: -1 }),
    Error,
    "weightDecay must be a finite number ≥ 0, got -1",
  );
});

Deno.test("AdamW: with g = 0 every decayed weight shrinks by the factor 1 − α·λ per step", () => {
  const w = tf.variable(tf.tensor2d([[2, -4]]));
  const opt = createAdamW({ learningRate: 0.01, weightDecay: 0.1 });
  for (let i = 0; i < 5; i++) tf.tidy(() => opt.applyGradients([w], [tf.zeros([1, 2])]));
  assertAllClose(w, [[2 * 0.999 ** 5, -4 * 0.999 ** 5]], { atol: 1e-6 });
  opt.dispose();
  w.dispose();
});

Deno.test("warmupCosine: hand-computed points", () => {
  // peak 1e-3, 10 warmup steps, cosine to floor 1e-4 at step 110.
  const lr = warmupCosine({ peak: 1e-3, warmupSteps: 10, totalSteps: 110, floor: 1e-4 });
  const close = (a: number, b: number) => assertAlmostEquals(a, b, 1e-12);
  close(lr(0), 0);
  close(lr(1), 1e-4); // 1e-3 · 1/10
  close(lr(5), 5e-4);
  close(lr(10), 1e-3); // the peak at the end of warmup
  // A quarter of the way down (step 35): 1e-4 + 9e-4 · ½(1 + cos(π/4)) = 1e-4 + 9e-4 · 0.85355339
  close(lr(35), 8.68198052e-4);
  close(lr(60), 5.5e-4); // halfway: floor + (peak − floor)/2
  close(lr(110), 1e-4);
  close(lr(500), 1e-4);
  // GPT-1: 2,000 warmup steps to 2.5e-4, cosine to 0.
  const gpt1 = warmupCosine({ peak: 2.5e-4, warmupSteps: 2000, totalSteps: 100_000 });
  close(gpt1(1000), 1.25e-4);
  close(gpt1(2000), 2.5e-4);
  close(gpt1(51_000), 1.25e-4);
  close(gpt1(100_000), 0);
  // No warmup: starts at the peak.
  close(warmupCosine({ peak: 1, warmupSteps: 0, totalSteps: 4 })(2), 0.5);
  assertThrows(
    () => warmupCosine({ peak: 1, warmupSteps: 10, totalSteps: 10 }),
    Error,
    "totalSteps must be an integer > warmupSteps 10, got 10",
  );
  assertThrows(() => warmupCosine({ peak: 1, warmupSteps: 1, totalSteps: 5, floor: 2 }), Error);
  // The schedule drives the optimiser: a constant gradient moves θ by ≈ α_t each step.
  const theta = tf.variable(tf.scalar(0));
  const opt = createAdamW({ learningRate: lr, weightDecay: 0 });
  for (let i = 0; i < 10; i++) tf.tidy(() => opt.applyGradients([theta], [tf.scalar(-1)]));
  assertAllClose(theta, 5.5e-3, { atol: 1e-7 }); // 1e-4 · (1 + 2 + … + 10)
  opt.dispose();
  theta.dispose();
});

/** A small model with matrices and biases, trained on seeded random batches. */
function smallProblem(seed: number) {
  const rng = makeRng(seed);
  const X = Array.from({ length: 64 }, () => [rng(), rng(), rng(), rng()]);
  const Y = X.map((x) => [Math.sin(3 * x[0]) + x[1] * x[2]]);
  const params = () => [
    tf.tidy(() => tf.variable(tf.randomNormal([4, 16], 0, 0.5, "float32", 11))),
    tf.tidy(() => tf.variable(tf.zeros([16]))),
    tf.tidy(() => tf.variable(tf.randomNormal([16, 1], 0, 0.5, "float32", 12))),
  ];
  const loss = (vs: tf.Variable[]) => (step: number) => {
    const idx = batchIndices(64, 16, step)[0];
    const x = tf.tensor2d(idx.map((i) => X[i]));
    const y = tf.tensor2d(idx.map((i) => Y[i]));
    const h = tf.relu(tf.add(tf.matMul(x, vs[0]), vs[1]));
    return tf.mean(tf.square(tf.sub(tf.matMul(h, vs[2]), y))) as tf.Scalar;
  };
  const optimizer = () =>
    createAdamW({
      learningRate: warmupCosine({ peak: 0.05, warmupSteps: 3, totalSteps: 10 }),
      weightDecay: 0.1,
    });
  return { params, loss, optimizer };
}

Deno.test("fit: resuming from saved parameters and optimiser state equals an uninterrupted run", async () => {
  const { params, loss, optimizer } = smallProblem(4);
  // Ten steps straight.
  const straight = params();
  const opt1 = optimizer();
  const all = await fit({
    variables: straight,
    steps: 10,
    loss: loss(straight),
    optimizer: opt1,
    clipNorm: 1,
  });
  // Five steps, save everything, throw it away, restore into fresh objects, five more.
  const first = params();
  const opt2 = optimizer();
  const half = await fit({
    variables: first,
    steps: 5,
    loss: loss(first),
    optimizer: opt2,
    clipNorm: 1,
  });
  const savedParams = first.map((v) => v.arraySync());
  const savedState = await opt2.getState!();
  assertEquals(Object.keys(savedState).sort(), ["m.0", "m.1", "m.2", "step", "v.0", "v.1", "v.2"]);
  opt2.dispose();
  tf.dispose(first);
  const resumed = straight.map((v, i) =>
    tf.tidy(() => tf.variable(tf.tensor(savedParams[i] as number[], v.shape)))
  );
  const opt3 = optimizer();
  opt3.setState!(savedState);
  tf.dispose(Object.values(savedState));
  assertEquals(opt3.step, 5);
  const steps: number[] = [];
  const rest = await fit({
    variables: resumed,
    steps: 10,
    startStep: 5,
    loss: loss(resumed),
    optimizer: opt3,
    clipNorm: 1,
    onStep: (s) => {
      steps.push(s.step);
    },
  });
  assertEquals(steps, [6, 7, 8, 9, 10]);
  assertEquals([...half.losses, ...rest.losses], all.losses, "the same losses, bit for bit");
  resumed.forEach((v, i) => {
    assertEquals(Array.from(v.dataSync()), Array.from(straight[i].dataSync()), `variable ${i}`);
  });
  // Resuming with an optimiser that has not been restored is refused.
  const fresh = optimizer();
  await assertRejects(
    () =>
      fit({ variables: resumed, steps: 10, startStep: 5, loss: loss(resumed), optimizer: fresh }),
    Error,
    "resuming after step 5, but the optimizer has taken 0 steps",
  );
  [opt1, opt3, fresh].forEach((o) => o.dispose());
  tf.dispose([...straight, ...resumed]);
});

Deno.test("optimizer state: clear errors for a wrong order or a broken state", () => {
  const a = tf.variable(tf.zeros([2, 3]));
  const b = tf.variable(tf.zeros([3]));
  const opt = createAdamW({ learningRate: 0.1, weightDecay: 0.1 });
  tf.tidy(() => opt.applyGradients([a, b], [tf.ones([2, 3]), tf.ones([3])]));
  const state = tf.tidy(() => ({
    step: tf.scalar(1, "int32"),
    "m.0": tf.zeros([2, 3]),
    "v.0": tf.zeros([2, 3]),
  }));
  const other = createOptimizer({ learningRate: 0.1 });
  other.setState!(state);
  assertThrows(
    () => tf.tidy(() => other.applyGradients([b], [tf.ones([3])])),
    Error,
    "moments 0 have shape [2,3] but variable",
  );
  assertThrows(() => other.setState!({ "m.0": state["m.0"] }), Error, 'expected a scalar "step"');
  assertThrows(
    () => other.setState!({ step: state.step, "m.0": state["m.0"] }),
    Error,
    '"m.0" and "v.0" must both be present',
  );
  assertThrows(
    () => other.setState!({ ...state, extra: state.step }),
    Error,
    "unexpected keys extra",
  );
  tf.dispose([a, b, ...Object.values(state)]);
  opt.dispose();
  other.dispose();
});

Deno.test("fit: checkpoints every k steps and at the end; a NaN stop names the last one", async () => {
  const w = tf.variable(tf.scalar(1));
  const saved: { step: number; w: number }[] = [];
  const save = (step: number) => {
    saved.push({ step, w: w.dataSync()[0] });
    return Promise.resolve();
  };
  await fit({
    variables: [w],
    steps: 7,
    loss: () => tf.square(w) as tf.Scalar,
    optimizer: createOptimizer({ learningRate: 0.01 }),
    checkpoint: { every: 3, save },
  });
  assertEquals(saved.map((s) => s.step), [3, 6, 7]);
  saved.length = 0;
  const opt = createOptimizer({ learningRate: 0.01 });
  const e = await assertRejects(
    () =>
      fit({
        variables: [w],
        steps: 10,
        loss: (step) => tf.mul(tf.square(w), step === 8 ? NaN : 1) as tf.Scalar,
        optimizer: opt,
        checkpoint: { every: 3, save },
      }),
    Error,
    "the loss is NaN at step 8 of 10",
  );
  assertStringIncludes((e as Error).message, "keep their values after step 7");
  assertStringIncludes((e as Error).message, "the last good checkpoint is from step 6");
  assertEquals(saved.map((s) => s.step), [3, 6]);
  await assertRejects(
    () =>
      fit({
        variables: [w],
        steps: 10,
        loss: () => tf.mul(w, NaN) as tf.Scalar,
        optimizer: opt,
        checkpoint: { every: 3, save },
      }),
    Error,
    "no checkpoint was saved in this run",
  );
  await assertRejects(
    () =>
      fit({
        variables: [w],
        steps: 1,
        loss: () => tf.square(w) as tf.Scalar,
        checkpoint: { every: 0, save },
      }),
    Error,
    "checkpoint.every must be a positive integer, got 0",
  );
  opt.dispose();
  w.dispose();
});

Deno.test("fit: tensor count flat with AdamW, a schedule, checkpoints of the state, tokens/s", async () => {
  const { params, loss } = smallProblem(9);
  const vs = params();
  const opt = createAdamW({
    learningRate: warmupCosine({ peak: 0.01, warmupSteps: 2, totalSteps: 12 }),
    weightDecay: 0.01,
  });
  const counts: number[] = [];
  const rates: (number | undefined)[] = [];
  await fit({
    variables: vs,
    steps: 12,
    loss: loss(vs),
    optimizer: opt,
    clipNorm: 1,
    tokensPerStep: 16,
    checkpoint: {
      every: 2,
      save: async () => tf.dispose(Object.values(await opt.getState!())),
    },
    onStep: (s) => {
      counts.push(tf.memory().numTensors);
      rates.push(s.tokensPerSecond);
    },
  });
  assert(counts.every((c) => c === counts[0]), `tensor counts per step: ${counts.join(", ")}`);
  assert(rates.every((r) => r !== undefined && r > 0), "tokens/s on every step");
  opt.dispose();
  tf.dispose(vs);
});

/**
 * Σ x², whose gradient is 2x except while `spike.value` is set: then every entry of the
 * gradient is `spike.value` (e.g. +∞), though the loss stays finite.
 */
function spikyLoss(spike: { value?: number }) {
  return tf.customGrad((...args) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    save([x]);
    return {
      value: tf.sum(tf.square(x)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        spike.value === undefined
          ? tf.mul(dy, tf.mul(saved[0], 2))
          : tf.fill(saved[0].shape, spike.value),
    };
  }) as (x: tf.Tensor) => tf.Scalar;
}

Deno.test("fit: an infinite gradient with a finite loss stops before the update, nothing bad is saved", async () => {
  const w = tf.variable(tf.tensor1d([1, -2]));
  const spike: { value?: number } = {};
  const sumSquares = spikyLoss(spike);
  const saved: { step: number; w: number[] }[] = [];
  const save = (step: number) => {
    saved.push({ step, w: [...w.dataSync()] });
    return Promise.resolve();
  };
  const before = tf.memory().numTensors;
  const opt = createOptimizer({ learningRate: 0.01 });
  const e = await assertRejects(
    () =>
      fit({
        variables: [w],
        steps: 10,
        loss: (step) => {
          spike.value = step === 4 ? Infinity : undefined;
          return sumSquares(w);
        },
        optimizer: opt,
        checkpoint: { every: 1, save },
      }),
    Error,
    `fit: the gradient is not finite (NaN or ±Infinity in ∂L/∂${w.name}; the loss is`,
  );
  const message = (e as Error).message;
  assertStringIncludes(message, "at step 4 of 10");
  assertStringIncludes(message, "The parameters keep their values after step 3;");
  assertStringIncludes(message, "the last good checkpoint is from step 3");
  // No save after the bad step; every saved parameter is finite; w is the step-3 checkpoint's.
  assertEquals(saved.map((s) => s.step), [1, 2, 3]);
  assert(saved.every((s) => s.w.every(Number.isFinite)), JSON.stringify(saved));
  assertEquals([...w.dataSync()], saved[2].w);
  assertEquals(opt.step, 3, "the optimiser took no step 4");
  opt.dispose();
  assertEquals(tf.memory().numTensors, before, "no tensor left behind");
  // With clipping, the global norm is the probe: the same stop.
  const values = [...w.dataSync()];
  await assertRejects(
    () =>
      fit({
        variables: [w],
        steps: 5,
        clipNorm: 1,
        loss: (step) => {
          spike.value = step === 2 ? -Infinity : undefined;
          return sumSquares(w);
        },
      }),
    Error,
    "the gradient is not finite",
  );
  assertEquals(tf.memory().numTensors, before);
  assertNotEquals([...w.dataSync()], values, "step 1 updated w");
  assert([...w.dataSync()].every(Number.isFinite));
  w.dispose();
});

Deno.test("fit: a finite gradient whose sum overflows trains on; with clipNorm its norm stops", async () => {
  const w = tf.variable(tf.tensor1d([1, -2]));
  // Entries 3e38 are finite float32, but their sum (and norm) overflows to +∞.
  const spike: { value?: number } = { value: 3e38 };
  const sumSquares = spikyLoss(spike);
  const before = tf.memory().numTensors;
  const { losses } = await fit({ variables: [w], steps: 3, loss: () => sumSquares(w) });
  assertEquals(losses.length, 3);
  assert([...w.dataSync()].every(Number.isFinite));
  await assertRejects(
    () => fit({ variables: [w], steps: 3, clipNorm: 1, loss: () => sumSquares(w) }),
    Error,
    "fit: the gradient norm overflows float32 (Infinity) at step 1 of 3",
  );
  assertEquals(tf.memory().numTensors, before);
  w.dispose();
});

Deno.test("fit: parameters an update leaves non-finite are never saved, and stop training", async () => {
  const w = tf.variable(tf.scalar(1));
  const saved: { step: number; w: number }[] = [];
  const save = (step: number) => {
    saved.push({ step, w: w.dataSync()[0] });
    return Promise.resolve();
  };
  // Gradient descent whose fifth update writes NaN, from a finite loss and gradient.
  const broken = (): Optimizer => {
    let t = 0;
    return {
      get step() {
        return t;
      },
      applyGradients: (vs, gs) => {
        t++;
        vs.forEach((v, i) =>
          v.assign(t === 5 ? tf.fill(v.shape, NaN) : tf.sub(v, tf.mul(gs[i], 0.1)))
        );
      },
      dispose: () => {},
    };
  };
  const before = tf.memory().numTensors;
  const e = await assertRejects(
    () =>
      fit({
        variables: [w],
        steps: 10,
        loss: () => tf.square(w) as tf.Scalar,
        optimizer: broken(),
        checkpoint: { every: 1, save },
      }),
    Error,
    `fit: the update left ${w.name} not finite at step 5 of 10`,
  );
  assertStringIncludes((e as Error).message, `after step 5, not finite in ${w.name}`);
  assertStringIncludes((e as Error).message, "the last good checkpoint is from step 4");
  assertEquals(saved.map((s) => s.step), [1, 2, 3, 4]);
  assert(saved.every((s) => Number.isFinite(s.w)));
  // Without checkpoints: the next loss is NaN, and the error says the parameters are not finite.
  tf.tidy(() => w.assign(tf.scalar(1)));
  const e2 = await assertRejects(
    () =>
      fit({
        variables: [w],
        steps: 10,
        loss: () => tf.square(w) as tf.Scalar,
        optimizer: broken(),
      }),
    Error,
    "the loss is NaN at step 6 of 10",
  );
  assertStringIncludes((e2 as Error).message, `after step 5, not finite in ${w.name}`);
  // A run whose last update breaks the parameters does not return as if it had succeeded.
  tf.tidy(() => w.assign(tf.scalar(1)));
  await assertRejects(
    () =>
      fit({ variables: [w], steps: 5, loss: () => tf.square(w) as tf.Scalar, optimizer: broken() }),
    Error,
    `the update left ${w.name} not finite at step 5 of 5`,
  );
  assertEquals(tf.memory().numTensors, before);
  w.dispose();
});
