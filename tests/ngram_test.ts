import * as tf from "@tensorflow/tfjs";
import { assert, assertAlmostEquals, assertEquals, assertLess, assertThrows } from "@std/assert";
import {
  bigramLoss,
  bigramProbabilities,
  fitBigram,
  generate,
  initNeuralNgram,
  neuralNgramLogits,
  neuralNgramLoss,
  neuralNgramProbabilities,
  slidingWindows,
  trainNeuralNgram,
} from "../lib/ngram.ts";
import { assertNoTensorGrowth, initBackend } from "../lib/tensor.ts";

await initBackend();

Deno.test("bigram: hand-counted probabilities with add-α smoothing", () => {
  // stream 0 1 0 2 0 1: pairs (0,1) ×2, (1,0) ×1, (0,2) ×1, (2,0) ×1
  const m = fitBigram([0, 1, 0, 2, 0, 1], 3, 1);
  assertEquals(m.counts, [[0, 2, 1], [1, 0, 0], [1, 0, 0]]);
  // P(· | 0) = ([0, 2, 1] + 1) / (3 + 3) = [1/6, 3/6, 2/6]
  const p = bigramProbabilities(m, 0);
  [1 / 6, 3 / 6, 2 / 6].forEach((e, i) => assertAlmostEquals(p[i], e, 1e-12));
  // loss of "0 1" = −log P(1 | 0) = −log 0.5
  assertAlmostEquals(bigramLoss(m, [0, 1]), Math.log(2), 1e-12);
  assertThrows(() => fitBigram([0, 3], 3), Error, "id 3 at position 1 is outside [0, 3)");
});

Deno.test("sliding windows pad the start and pair each context with its target", () => {
  assertEquals(slidingWindows([5, 6, 7], 2, 0), {
    contexts: [[0, 5], [5, 6]],
    targets: [6, 7],
  });
});

Deno.test("neuralNgramLoss equals −mean log softmax of the model's logits at the targets (hand-computed)", () => {
  const p = initNeuralNgram({ vocabSize: 4, context: 2, dEmbed: 3, hidden: 5, seed: 2 });
  const ids = [1, 2, 3, 1, 0];
  const { contexts, targets } = slidingWindows(ids, 2, 0);
  const rows = tf.tidy(() =>
    neuralNgramLogits(p, tf.tensor2d(contexts, undefined, "int32")).arraySync()
  );
  const expected = -rows.reduce((sum, z, i) => {
    const logZ = Math.log(z.reduce((s, x) => s + Math.exp(x), 0));
    return sum + z[targets[i]] - logZ;
  }, 0) / rows.length;
  assertAlmostEquals(neuralNgramLoss(p, ids, 0), expected, 1e-5);
  tf.dispose([p.E, p.W1, p.b1, p.W2, p.b2]);
});

Deno.test("neural model learns a pattern a bigram cannot, without leaking tensors", async () => {
  // "a b c" and "d b e" repeat: after "b" the next token depends on the token before "b".
  const stream: number[] = [];
  for (let i = 0; i < 200; i++) stream.push(...(i % 2 ? [4, 2, 5] : [1, 2, 3]), 0);
  const bigram = fitBigram(stream, 6, 0.01);
  const p = initNeuralNgram({ vocabSize: 6, context: 2, dEmbed: 8, hidden: 16, seed: 3 });
  const before = tf.memory().numTensors;
  await trainNeuralNgram(p, stream, {
    steps: 150,
    batchSize: 64,
    learningRate: 0.03,
    seed: 1,
    padId: 0,
  });
  assertEquals(tf.memory().numTensors, before, "training left tensors behind");
  const neural = neuralNgramLoss(p, stream, 0);
  assertLess(neural, bigramLoss(bigram, stream) - 0.2);
  assert(neuralNgramProbabilities(p, [1, 2], 0)[3] > 0.9);
  assert(neuralNgramProbabilities(p, [4, 2], 0)[5] > 0.9);
  await assertNoTensorGrowth(() => neuralNgramProbabilities(p, [1, 2], 0), 3, "prediction");
  tf.dispose([p.E, p.W1, p.b1, p.W2, p.b2]);
});

Deno.test("generate: greedy follows the argmax, sampling is seeded, stops at stopId", () => {
  const next = (h: readonly number[]) => (h[h.length - 1] === 0 ? [0.1, 0.9, 0] : [0.8, 0.1, 0.1]);
  assertEquals(generate(next, [0], 4), [1, 0, 1, 0]);
  assertEquals(generate(next, [0], 4, { stopId: 1 }), [1]);
  const draws = () =>
    generate(next, [0], 20, {
      rng: (() => {
        let s = 0;
        return () => (s = (s * 9301 + 49297) % 233280) / 233280;
      })(),
    });
  assertEquals(draws(), draws());
  assertThrows(() => generate(next, [], 3), Error, "prompt must hold at least one token");
});
