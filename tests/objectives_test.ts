// Objectives: the log-probability of each target and the cross-entropy built on it, against
// hand-worked values and tfjs's own autodiff of the plain
// formula (and finite differences), the ignore index, stability at ±10⁴, perplexity, GPT-1's L₁
// on a 5-token stream with a hand-written bigram table, and the GPT language-modelling loss
// against L₁ computed window by window, and its mean over several batches.
import * as tf from "@tensorflow/tfjs";
import fc from "fast-check";
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { assertAllClose } from "../testing/tensor_assert.ts";
import {
  crossEntropy,
  l1Objective,
  l1Terms,
  languageModelingLoss,
  meanLoss,
  perplexity,
  targetLogProbs,
} from "../lib/objectives.ts";
import { disposeGPT, gptConfig, gptForward, gptParameters, initGPT } from "../lib/gpt.ts";
import { createAdamW, fit } from "../lib/train.ts";
import { lmBatches } from "../lib/data.ts";
import { assertNoTensorGrowth, initBackend, makeRng } from "../lib/tensor.ts";

await initBackend();

Deno.test("crossEntropy: hand-worked values, with and without an ignored target", () => {
  // Row 0: z = [1, 2, 3], y = 2: −log softmax = log(e¹ + e² + e³) − 3 = log(e⁻² + e⁻¹ + 1)
  //        = log(0.135335 + 0.367879 + 1) = log(1.503215) = 0.407606.
  // Row 1: z = [0, 0, 0], y = 1: −log(1/3) = log 3 = 1.098612.
  // Mean over the two rows: (0.407606 + 1.098612) / 2 = 0.753109.
  const logits = tf.tensor2d([[1, 2, 3], [0, 0, 0]]);
  const ce = crossEntropy(logits, tf.tensor1d([2, 1], "int32"));
  assertAlmostEquals(ce.dataSync()[0], 0.753109, 1e-5);
  // Ignoring row 1 (target −1): the mean is over row 0 alone.
  const ignored = crossEntropy(logits, tf.tensor1d([2, -1], "int32"), { ignoreIndex: -1 });
  assertAlmostEquals(ignored.dataSync()[0], 0.407606, 1e-5);
  // An ignore index that is a real id (a <pad> id) leaves out exactly those rows.
  const pad = crossEntropy(logits, tf.tensor1d([1, 1], "int32"), { ignoreIndex: 2 });
  assertAlmostEquals(pad.dataSync()[0], (Math.log(1.503215) + 1 + Math.log(3)) / 2, 1e-5);
  tf.dispose([logits, ce, ignored, pad]);
});

Deno.test("targetLogProbs: log softmax at each target, in the targets' shape, 0 where ignored", () => {
  // The rows of the crossEntropy test above: log P = −0.407606 and −log 3.
  const logits = tf.tensor3d([[[1, 2, 3], [0, 0, 0]]]);
  const logP = targetLogProbs(logits, tf.tensor2d([[2, 1]], [1, 2], "int32"));
  assertEquals(logP.shape, [1, 2]);
  assertAllClose(logP, [[-0.407606, -Math.log(3)]], { atol: 1e-5 });
  const ignored = targetLogProbs(logits, tf.tensor2d([[2, -1]], [1, 2], "int32"), {
    ignoreIndex: -1,
  });
  assertAllClose(ignored, [[-0.407606, 0]], { atol: 1e-5 });
  // crossEntropy is their negated mean over the targets that count.
  const ce = crossEntropy(logits, tf.tensor2d([[2, -1]], [1, 2], "int32"), { ignoreIndex: -1 });
  assertAlmostEquals(ce.dataSync()[0], 0.407606, 1e-5);
  assertThrows(
    () => targetLogProbs(logits, tf.tensor1d([0, 3], "int32")),
    Error,
    "targetLogProbs: targets [2] must have the logits' leading shape [1, 2]",
  );
  assertThrows(
    () => targetLogProbs(logits, tf.tensor2d([[0, 3]], [1, 2], "int32")),
    Error,
    "targetLogProbs: target 3 at flat position 1 is outside the vocabulary 0 … 2",
  );
  tf.dispose([logits, logP, ignored, ce]);
});

Deno.test("targetLogProbs: its written-out gradient equals tfjs autodiff of log softmax", () => {
  fc.assert(
    fc.property(fc.integer(), fc.integer({ min: 2, max: 9 }), (seed, V) => {
      const rng = makeRng(seed);
      const N = 5;
      const ys = Array.from({ length: N }, () => Math.floor(rng() * V));
      const weights = tf.tensor1d(Array.from({ length: N }, () => rng() * 4 - 2));
      const z = tf.tensor2d(Array.from({ length: N * V }, () => rng() * 6 - 3), [N, V]);
      const targets = tf.tensor1d(ys, "int32");
      // A weighted sum checks that each position's upstream gradient is used.
      const ours = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(targetLogProbs(x, targets), weights)))(
        z,
      );
      const plain = tf.grad((x: tf.Tensor) =>
        tf.sum(tf.mul(tf.sum(tf.mul(tf.logSoftmax(x), tf.oneHot(targets, V)), -1), weights))
      )(z);
      assertAllClose(ours, plain, { atol: 1e-5 });
      tf.dispose([z, targets, weights, ours, plain]);
    }),
    { numRuns: 25 },
  );
});

Deno.test("crossEntropy: [B, T, V] logits give the same value as the flattened [N, V]", () => {
  const rng = makeRng(1);
  const values = Array.from({ length: 2 * 3 * 5 }, () => rng() * 4 - 2);
  const targets = [[0, 4, 2], [1, 1, 3]];
  const three = crossEntropy(tf.tensor3d(values, [2, 3, 5]), tf.tensor2d(targets, [2, 3], "int32"));
  const two = crossEntropy(tf.tensor2d(values, [6, 5]), tf.tensor1d(targets.flat(), "int32"));
  // By hand from the same numbers, in float64.
  let sum = 0;
  targets.flat().forEach((y, n) => {
    const row = values.slice(5 * n, 5 * n + 5);
    const m = Math.max(...row);
    sum += m + Math.log(row.reduce((s, z) => s + Math.exp(z - m), 0)) - row[y];
  });
  assertAlmostEquals(three.dataSync()[0], sum / 6, 1e-5);
  assertAlmostEquals(two.dataSync()[0], sum / 6, 1e-5);
});

Deno.test("crossEntropy: logits of ±10⁴ stay finite (log-softmax with the max subtracted)", () => {
  const logits = tf.tensor2d([[1e4, 0, -1e4], [1e4, 0, -1e4]]);
  const right = crossEntropy(logits, tf.tensor1d([0, 0], "int32"));
  const wrong = crossEntropy(logits, tf.tensor1d([1, 2], "int32"));
  assertAlmostEquals(right.dataSync()[0], 0, 1e-6);
  assertAlmostEquals(wrong.dataSync()[0], (1e4 + 2e4) / 2, 1e-2);
  const g = tf.grad((z: tf.Tensor) => crossEntropy(z, tf.tensor1d([1, 2], "int32")))(logits);
  assert(g.dataSync().every(Number.isFinite), "finite gradient");
  tf.dispose([logits, right, wrong, g]);
});

/** The plain formula, left to tfjs's autodiff: −Σ mask·log softmax(z)[y] / Σ mask. */
function plainCrossEntropy(z: tf.Tensor, ys: number[], ignore: number): tf.Scalar {
  const V = z.shape[z.rank - 1];
  const safe = tf.tensor1d(ys.map((y) => (y === ignore ? 0 : y)), "int32");
  const mask = tf.tensor1d(ys.map((y) => (y === ignore ? 0 : 1)));
  const picked = tf.sum(tf.mul(tf.logSoftmax(z.reshape([-1, V])), tf.oneHot(safe, V)), -1);
  return tf.div(tf.neg(tf.sum(tf.mul(picked, mask))), tf.sum(mask));
}

Deno.test("crossEntropy: its written-out gradient equals tfjs autodiff of the plain formula", () => {
  fc.assert(
    fc.property(fc.integer(), fc.integer({ min: 2, max: 9 }), (seed, V) => {
      const rng = makeRng(seed);
      const B = 2, T = 3;
      const ys = Array.from({ length: B * T }, () => (rng() < 0.25 ? -1 : Math.floor(rng() * V)));
      if (!ys.some((y) => y >= 0)) ys[0] = 0;
      const z = tf.tensor3d(Array.from({ length: B * T * V }, () => rng() * 6 - 3), [B, T, V]);
      const targets = tf.tensor2d(ys, [B, T], "int32");
      // A scaled loss checks that the upstream gradient dy is used.
      const ours = tf.grad((x: tf.Tensor) =>
        tf.mul(crossEntropy(x, targets, { ignoreIndex: -1 }), 2.5)
      )(z);
      const plain = tf.grad((x: tf.Tensor) => tf.mul(plainCrossEntropy(x, ys, -1), 2.5))(z);
      const value = crossEntropy(z, targets, { ignoreIndex: -1 }).dataSync()[0];
      const plainValue = plainCrossEntropy(z, ys, -1).dataSync()[0];
      assertAllClose(ours, plain, { atol: 1e-6 });
      assertAlmostEquals(value, plainValue, 1e-5);
      // Ignored positions get no gradient at all.
      const g = ours.arraySync() as number[][][];
      ys.forEach((y, n) => {
        if (y === -1) assert(g[Math.floor(n / T)][n % T].every((d) => d === 0));
      });
      tf.dispose([z, targets, ours, plain]);
    }),
    { numRuns: 25 },
  );
});

Deno.test("crossEntropy: gradient matches central finite differences", () => {
  const rng = makeRng(7);
  const values = Array.from({ length: 12 }, () => rng() * 2 - 1);
  const ys = tf.tensor1d([3, 0, 2], "int32");
  const f = (v: number[]) => tf.tidy(() => crossEntropy(tf.tensor2d(v, [3, 4]), ys).dataSync()[0]);
  const g = tf.grad((z: tf.Tensor) => crossEntropy(z, ys))(tf.tensor2d(values, [3, 4]));
  const h = 1e-2;
  const numeric = values.map((_, i) => {
    const up = [...values], down = [...values];
    up[i] += h;
    down[i] -= h;
    return (f(up) - f(down)) / (2 * h);
  });
  assertAllClose(g, [numeric.slice(0, 4), numeric.slice(4, 8), numeric.slice(8)], {
    atol: 2e-4,
  });
  tf.dispose([ys, g]);
});

Deno.test("crossEntropy: clear errors for shapes, targets out of range, all ignored", () => {
  const z = tf.zeros([2, 3, 4]);
  assertThrows(
    () => crossEntropy(z, tf.zeros([2, 4], "int32")),
    Error,
    "targets [2, 4] must have the logits' leading shape [2, 3] (logits [2, 3, 4])",
  );
  assertThrows(
    () => crossEntropy(z, tf.tensor2d([[0, 1, 4], [0, 0, 0]], [2, 3], "int32")),
    Error,
    "target 4 at flat position 2 is outside the vocabulary 0 … 3",
  );
  assertThrows(
    () => crossEntropy(z, tf.fill([2, 3], -1, "int32"), { ignoreIndex: -1 }),
    Error,
    "all 6 targets equal ignoreIndex -1; there is nothing to average",
  );
  assertThrows(() => crossEntropy(tf.zeros([4]), tf.zeros([4])), Error, "at least 2 axes");
  z.dispose();
});

Deno.test("crossEntropy: no tensor growth across gradient steps", async () => {
  const w = tf.variable(tf.randomNormal([6, 5], 0, 1, "float32", 3));
  const ys = tf.tensor1d([0, 1, 2, 3, 4, -1], "int32");
  await assertNoTensorGrowth(
    () => {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => crossEntropy(w, ys, { ignoreIndex: -1 }), [w]);
        w.assign(tf.sub(w, tf.mul(grads[w.name], 0.1)));
      });
    },
    4,
    "crossEntropy step",
  );
  tf.dispose([w, ys]);
});

Deno.test("perplexity: uniform logits over V tokens have perplexity V", () => {
  for (const V of [2, 10, 65]) {
    const ce = tf.tidy(() =>
      crossEntropy(tf.zeros([4, V]), tf.tensor1d([0, 1, 1, 0], "int32")).dataSync()[0]
    );
    assertAlmostEquals(perplexity(ce), V, 1e-3 * V);
  }
  assertEquals(perplexity(0), 1);
  assertThrows(() => perplexity(NaN), Error, "NaN");
});

// A toy model over the vocabulary {a = 0, b = 1, c = 2}: a bigram table written by hand,
// P(next ∣ previous token).
const BIGRAM = [
  [0.1, 0.6, 0.3], // after a
  [0.2, 0.2, 0.6], // after b
  [0.5, 0.25, 0.25], // after c
];
const bigram = (context: number[]) => BIGRAM[context[context.length - 1]].map(Math.log);

Deno.test("L₁ on a 5-token stream equals the hand-computed sum", () => {
  // U = a b c a b. u₀ = a is context only; four terms with k = 1:
  //   log P(b∣a) + log P(c∣b) + log P(a∣c) + log P(b∣a)
  //   = log 0.6 + log 0.6 + log 0.5 + log 0.6
  //   = 3·(−0.5108256) + (−0.6931472) = −1.5324769 − 0.6931472 = −2.2256241
  const U = [0, 1, 2, 0, 1];
  assertAlmostEquals(l1Objective(bigram, U, 1), -2.2256241, 1e-7);
  // The sliding windows with k = 2: the first prediction sees only u₀ (left-truncated).
  const terms = l1Terms(bigram, U, 2);
  assertEquals(terms.map((t) => t.context), [[0], [0, 1], [1, 2], [2, 0]]);
  assertEquals(terms.map((t) => t.target), [1, 2, 0, 1]);
  assertEquals(terms.map((t) => t.position), [1, 2, 3, 4]);
  // A model that reads two tokens: P(next ∣ x y) = 0.9 for the token after "b c" (a), else
  // the bigram. With k = 2 only the window "b c" → a changes: log 0.5 becomes log 0.9.
  const trigram = (context: number[]) =>
    context.join() === "1,2" ? [0.9, 0.05, 0.05].map(Math.log) : bigram(context);
  assertAlmostEquals(
    l1Objective(trigram, U, 2),
    3 * Math.log(0.6) + Math.log(0.9),
    1e-12,
  );
  // With k = 1 it never sees "b c".
  assertAlmostEquals(l1Objective(trigram, U, 1), -2.2256241, 1e-7);
});

Deno.test("L₁: −L₁/(n − 1) is the cross-entropy of the same predictions", () => {
  const U = [0, 1, 2, 0, 1, 1, 2, 2, 0];
  // Log-probabilities are valid logits: log softmax(log p) = log p.
  const logits = tf.tensor2d(U.slice(0, -1).map((u) => BIGRAM[u].map(Math.log)));
  const ce = crossEntropy(logits, tf.tensor1d(U.slice(1), "int32")).dataSync()[0];
  assertAlmostEquals(-l1Objective(bigram, U, 1) / (U.length - 1), ce, 1e-6);
  logits.dispose();
});

Deno.test("L₁: clear errors", () => {
  assertThrows(() => l1Objective(bigram, [0, 1], 0), Error, "k must be a positive integer, got 0");
  assertThrows(() => l1Objective(bigram, [0], 1), Error, "needs at least 2 tokens");
  assertThrows(
    () => l1Objective(() => [0], [0, 1], 1),
    Error,
    "gave 1 log-probabilities, no number for token 1 at position 1",
  );
});

const tinyConfig = gptConfig({
  vocabSize: 11,
  contextLength: 8,
  layers: 2,
  heads: 2,
  dModel: 16,
});

Deno.test("languageModelingLoss = −L₁/(n − 1) of the GPT, computed window by window", () => {
  const p = initGPT(tinyConfig, 5);
  const U = [3, 1, 4, 1, 5, 9, 2, 6, 5]; // n = 9 = T + 1
  const inputs = tf.tensor2d([U.slice(0, -1)], [1, 8], "int32");
  const targets = tf.tensor2d([U.slice(1)], [1, 8], "int32");
  const loss = languageModelingLoss(p, tinyConfig, { inputs, targets }).dataSync()[0];
  // L₁ with k = T: each window is re-run through the model on its own, and the next-token
  // distribution read from its last position.
  const logProbNext = (context: number[]) =>
    tf.tidy(() => {
      const { logits } = gptForward(
        p,
        tinyConfig,
        tf.tensor2d([context], [1, context.length], "int32"),
      );
      return Array.from(
        tf.logSoftmax(logits).slice([0, context.length - 1, 0], [1, 1, 11])
          .dataSync(),
      );
    });
  const l1 = l1Objective(logProbNext, U, 8);
  assertAlmostEquals(loss, -l1 / 8, 1e-5);
  // At initialisation the model is close to uniform: loss ≈ log 11.
  assert(Math.abs(loss - Math.log(11)) < 0.3, `initial loss ${loss}`);
  assertThrows(
    () => languageModelingLoss(p, tinyConfig, { inputs, targets: tf.zeros([1, 7], "int32") }),
    Error,
    "inputs [1, 8] and targets [1, 7] must have the same shape",
  );
  tf.dispose([inputs, targets]);
  disposeGPT(p);
});

Deno.test("a tiny GPT overfits a short text to near-zero loss (AdamW, fit, lmBatches)", async () => {
  const text = "白日依山尽，黄河入海流。";
  const chars = [...new Set(text)];
  const ids = [...text, ...text, ...text].map((c) => chars.indexOf(c));
  const config = gptConfig({
    vocabSize: chars.length,
    contextLength: 12,
    layers: 1,
    heads: 2,
    dModel: 32,
  });
  const p = initGPT(config, 1);
  const batches = lmBatches(ids, { batchSize: 8, contextLength: 12, seed: 3 });
  const optimizer = createAdamW({ learningRate: 0.01, weightDecay: 0.01 });
  const { losses } = await fit({
    variables: gptParameters(p),
    steps: 150,
    loss: (step) => languageModelingLoss(p, config, batches(step)),
    optimizer,
  });
  assert(losses[0] > 2, `starts near log ${chars.length}: ${losses[0]}`);
  const last = losses[losses.length - 1];
  assert(last < 0.05, `final loss ${last}`);
  optimizer.dispose();
  disposeGPT(p);
});

Deno.test("meanLoss: weights batches by tokens, equal to one batch of every window", () => {
  const config = gptConfig({ vocabSize: 11, contextLength: 6, layers: 1, heads: 2, dModel: 8 });
  const p = initGPT(config, 3);
  const ids = Array.from({ length: 60 }, (_, i) => (i * 7) % 11);
  // 7 windows of 6 tokens at offsets 0, 8, …, 48 (targets shifted by one), in batches of 3, 3, 1
  const windows = Array.from({ length: 7 }, (_, w) => w * 8);
  const batch = (offsets: number[]) => ({
    inputs: tf.tensor2d(offsets.map((o) => ids.slice(o, o + 6)), undefined, "int32"),
    targets: tf.tensor2d(offsets.map((o) => ids.slice(o + 1, o + 7)), undefined, "int32"),
  });
  const batches = [batch(windows.slice(0, 3)), batch(windows.slice(3, 6)), batch(windows.slice(6))];
  assertEquals(batches.map((b) => b.inputs.shape[0]), [3, 3, 1]);
  const all = batch(windows);
  const whole = tf.tidy(() => languageModelingLoss(p, config, all).dataSync()[0]);
  assertAlmostEquals(meanLoss(p, config, batches), whole, 1e-5);
  assertThrows(() => meanLoss(p, config, []), Error, "no batches");
  tf.dispose([all.inputs, all.targets, ...batches.flatMap((b) => [b.inputs, b.targets])]);
  disposeGPT(p);
});
