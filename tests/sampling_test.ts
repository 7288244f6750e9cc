import fc from "fast-check";
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import {
  argmax,
  beamSearch,
  generateTokens,
  gptLanguageModel,
  gptLogProbNext,
  gptTokenLogProbs,
  type LanguageModel,
  nextTokenDistribution,
  sampleIndex,
  softmaxWithTemperature,
  topK,
  topP,
} from "../lib/sampling.ts";
import { disposeGPT, gptConfig, gptForward, initGPT } from "../lib/gpt.ts";
import { assertAllClose } from "../testing/tensor_assert.ts";
import * as tf from "@tensorflow/tfjs";
import { assertNoTensorGrowth, initBackend, makeRng } from "../lib/tensor.ts";

await initBackend();

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const logits = (min = 1, max = 30) =>
  fc.array(fc.double({ min: -20, max: 20, noNaN: true }), { minLength: min, maxLength: max });
/** Strictly positive probabilities summing to 1. */
const distribution = (min = 1, max = 30) =>
  fc.array(fc.double({ min: 1e-3, max: 1, noNaN: true }), { minLength: min, maxLength: max })
    .map((w) => w.map((x) => x / sum(w)));

Deno.test("softmaxWithTemperature: hand-worked values", () => {
  // softmax([1, 2, 3]) = e^{z−3} / Σ = [e^-2, e^-1, 1] / (1 + e^-1 + e^-2)
  const d = 1 + Math.exp(-1) + Math.exp(-2);
  const p = softmaxWithTemperature([1, 2, 3], 1);
  [Math.exp(-2) / d, Math.exp(-1) / d, 1 / d].forEach((x, i) => assertAlmostEquals(p[i], x, 1e-12));
  // T = 2 halves the gaps: e^{(z−3)/2}
  const d2 = 1 + Math.exp(-0.5) + Math.exp(-1);
  assertAlmostEquals(softmaxWithTemperature([1, 2, 3], 2)[0], Math.exp(-1) / d2, 1e-12);
  // T = 0 is greedy: one-hot on the (first) largest logit
  assertEquals(softmaxWithTemperature([1, 3, 3, 2], 0), [0, 1, 0, 0]);
  // −Infinity logits get probability 0
  assertEquals(softmaxWithTemperature([0, -Infinity], 1), [1, 0]);
});

Deno.test("softmaxWithTemperature: T = 0.05 on large logits does not overflow", () => {
  const p = softmaxWithTemperature([1000, 999, -1000, 998.5], 0.05);
  assert(p.every(Number.isFinite), String(p));
  assertAlmostEquals(sum(p), 1, 1e-12);
  // p₁/p₀ = e^{(999 − 1000)/0.05} = e^{−20}
  assertAlmostEquals(p[1] / p[0], Math.exp(-20), 1e-15);
});

Deno.test("softmaxWithTemperature: sums to 1 and preserves the order of the logits (property)", () => {
  fc.assert(
    fc.property(logits(), fc.double({ min: 0.01, max: 10, noNaN: true }), (z, T) => {
      const p = softmaxWithTemperature(z, T);
      if (Math.abs(sum(p) - 1) > 1e-9) return false;
      for (let i = 0; i < z.length; i++) {
        for (let j = 0; j < z.length; j++) if (z[i] > z[j] && p[i] < p[j]) return false;
      }
      return p.every((x) => x >= 0);
    }),
    { numRuns: 200 },
  );
});

Deno.test("softmaxWithTemperature: T → 0 approaches the argmax one-hot (property)", () => {
  fc.assert(
    fc.property(logits(2), (z) => {
      const best = argmax(z);
      const gap = Math.min(...z.filter((_, i) => i !== best).map((x) => z[best] - x));
      fc.pre(gap > 1e-3);
      // the largest probability rises as T falls, and at T = gap/50 every other entry is ≤ e^{-50}
      const temps = [2, 1, 0.5, 0.1, gap / 50];
      const top = temps.map((T) => softmaxWithTemperature(z, T)[best]);
      const rising = top.every((x, i) => i === 0 || x >= top[i - 1] - 1e-15);
      return rising && top[top.length - 1] > 1 - z.length * Math.exp(-50) - 1e-12;
    }),
    { numRuns: 200 },
  );
});

Deno.test("softmaxWithTemperature, topK, topP: bad parameters are named", () => {
  assertThrows(() => softmaxWithTemperature([1, 2], -0.5), Error, "got -0.5");
  assertThrows(() => softmaxWithTemperature([1, NaN], 1), Error, "logits[1] is NaN");
  assertThrows(() => softmaxWithTemperature([], 1), Error, "empty");
  assertThrows(() => topK([0.5, 0.5], 0), Error, "k must be an integer ≥ 1, got 0");
  assertThrows(() => topK([0.5, 0.5], 1.5), Error, "got 1.5");
  assertThrows(() => topK([0.5, 0.5], 3), Error, "k = 3 is larger than the vocabulary (2");
  assertThrows(() => topK([0.5, -0.1], 1), Error, "probability 1 is -0.1");
  assertThrows(() => topP([0.5, 0.5], 0), Error, "p must be in (0, 1], got 0");
  assertThrows(() => topP([0.5, 0.5], 1.2), Error, "got 1.2");
  assertThrows(() => nextTokenDistribution([1, 2], { topP: -1 }), Error, "topP must be in");
  assertThrows(() => nextTokenDistribution([1, 2], { temperature: -1 }), Error, "got -1");
  assertThrows(() => nextTokenDistribution([1, 2], { topK: 0 }), Error, "topK must be");
  assertThrows(() => argmax([]), Error, "empty");
});

Deno.test("topK: keeps exactly the k largest, renormalised (property)", () => {
  fc.assert(
    // up to 150 tokens: both the short-list path (k ≤ 64) and the full sort are exercised
    fc.property(distribution(1, 150), fc.integer({ min: 1, max: 150 }), (p, k0) => {
      const k = Math.min(k0, p.length);
      const q = topK(p, k);
      const kept = q.map((x, i) => (x > 0 ? i : -1)).filter((i) => i >= 0);
      if (kept.length !== k || Math.abs(sum(q) - 1) > 1e-9) return false;
      // every kept entry is at least as probable as every dropped one
      const minKept = Math.min(...kept.map((i) => p[i]));
      const dropped = p.filter((_, i) => q[i] === 0);
      if (dropped.some((x) => x > minKept)) return false;
      // renormalised: ratios inside the kept set are unchanged
      const mass = sum(kept.map((i) => p[i]));
      return kept.every((i) => Math.abs(q[i] - p[i] / mass) < 1e-12);
    }),
    { numRuns: 300 },
  );
});

Deno.test("topK: ties at the boundary keep the lower ids", () => {
  assertEquals(topK([0.25, 0.25, 0.25, 0.25], 2), [0.5, 0.5, 0, 0]);
  assertEquals(topK([0.1, 0.3, 0.3, 0.3], 2), [0, 0.5, 0.5, 0]);
});

Deno.test("topP: the smallest descending prefix with mass ≥ p (property)", () => {
  fc.assert(
    fc.property(distribution(), fc.double({ min: 0.01, max: 1, noNaN: true }), (p, P) => {
      const r = topP(p, P);
      const masses = r.kept.map((i) => p[i]);
      const mass = sum(masses);
      const total = sum(p);
      // a prefix of the tokens sorted by descending probability
      const sorted = [...p].sort((a, b) => b - a);
      if (masses.some((x, i) => x !== sorted[i])) return false;
      // reaches p, and dropping its last element would not
      if (mass < P * total - 1e-12) return false;
      if (mass - masses[masses.length - 1] >= P * total) return false;
      if (r.cutoffProbability !== masses[masses.length - 1]) return false;
      // renormalised, zero outside the nucleus
      const inside = new Set(r.kept);
      return Math.abs(sum(r.probs) - 1) < 1e-9 &&
        r.probs.every((x, i) => (inside.has(i) ? Math.abs(x - p[i] / mass) < 1e-12 : x === 0));
    }),
    { numRuns: 300 },
  );
});

Deno.test("topP: hand-worked nucleus, and p = 1 keeps every nonzero token", () => {
  const r = topP([0.1, 0.5, 0.05, 0.35], 0.8);
  assertEquals(r.kept, [1, 3]); // 0.5 < 0.8 ≤ 0.5 + 0.35
  assertEquals(r.cutoffProbability, 0.35);
  assertAlmostEquals(r.probs[1], 0.5 / 0.85, 1e-12);
  assertEquals(topP([0.1, 0.5, 0.05, 0.35], 1).kept, [1, 3, 0, 2]);
  assertEquals(topP([0.2, 0, 0.8], 1).kept, [2, 0]);
});

Deno.test("nextTokenDistribution: temperature, then top-k, then top-p", () => {
  const z = [2, 1, 0.5, 0, -1];
  const expected = topP(topK(softmaxWithTemperature(z, 0.7), 3), 0.9).probs;
  assertEquals(nextTokenDistribution(z, { temperature: 0.7, topK: 3, topP: 0.9 }), expected);
  assertEquals(nextTokenDistribution(z), softmaxWithTemperature(z, 1));
  assertEquals(nextTokenDistribution(z, { topK: 99 }), softmaxWithTemperature(z, 1));
});

Deno.test("sampleIndex: reproducible with a seed, never draws a zero", () => {
  fc.assert(
    fc.property(distribution(2, 10), fc.integer(), (p, seed) => {
      const q = topK(p, 1 + (Math.abs(seed) % p.length));
      const a = Array.from({ length: 50 }, ((r) => () => sampleIndex(q, r))(makeRng(seed)));
      const b = Array.from({ length: 50 }, ((r) => () => sampleIndex(q, r))(makeRng(seed)));
      return a.every((x, i) => x === b[i] && q[x] > 0);
    }),
    { numRuns: 100 },
  );
});

Deno.test("sampleIndex: empirical frequencies match the distribution (chi-square)", () => {
  const p = [0.4, 0.25, 0.15, 0.1, 0.07, 0.03];
  const n = 20000;
  const counts = p.map(() => 0);
  const rng = makeRng(2024);
  for (let i = 0; i < n; i++) counts[sampleIndex(p, rng)]++;
  const chi2 = sum(p.map((pi, i) => (counts[i] - n * pi) ** 2 / (n * pi)));
  // 5 degrees of freedom: P(χ² > 20.5) = 0.001
  assert(chi2 < 20.5, `χ² = ${chi2.toFixed(2)} for counts ${counts}`);
});

/**
 * A toy language model on 4 tokens where greedy is myopic. From the prompt (token 3):
 * P(0) = 0.6, P(1) = 0.4. After 0 every token has 0.25; after 1, token 2 has 0.9.
 * Greedy: 0 then something with 0.25 → P = 0.15. Beam search: 1, 2 → P = 0.36.
 */
const toy: LanguageModel = {
  vocabSize: 4,
  contextLength: 8,
  nextLogits(ids) {
    const last = ids[ids.length - 1];
    const p = last === 3
      ? [0.6, 0.4, 0, 0]
      : last === 1
      ? [0.05, 0.025, 0.9, 0.025]
      : [0.25, 0.25, 0.25, 0.25];
    return p.map(Math.log);
  },
};

Deno.test("beamSearch: finds a more probable sequence than myopic greedy", () => {
  const greedy = generateTokens(toy, [3], { maxNewTokens: 2, temperature: 0 });
  assertEquals(greedy.ids, [0, 0]);
  assertAlmostEquals(greedy.steps[0].chosenProb * greedy.steps[1].chosenProb, 0.15, 1e-12);
  const { sequences } = beamSearch(toy, [3], { beamWidth: 2, maxNewTokens: 2 });
  assertEquals(sequences[0].ids, [1, 2]);
  assertAlmostEquals(sequences[0].logProb, Math.log(0.36), 1e-12);
  assert(sequences[0].logProb > Math.log(0.15));
  assertEquals(sequences.length, 2);
  assert(sequences[0].score >= sequences[1].score);
});

Deno.test("beamSearch: a wider beam can end below greedy (not monotone in the width)", () => {
  // tokens a = 0, b = 1, c = 2, prompt c: P(a) = 0.4, P(b) = 0.38; after ca the model is unsure
  // (0.34), after caa sure (0.98); after cb it splits (0.51, 0.47), then is unsure (1/3 each).
  // With B = 2, cba (0.1938) and cbb (0.1786) push greedy's caa (0.136) out of the beam.
  const table: Record<string, number[]> = {
    "2": [0.4, 0.38, 0.22],
    "2,0": [0.34, 0.33, 0.33],
    "2,0,0": [0.98, 0.01, 0.01],
    "2,1": [0.51, 0.47, 0.02],
  };
  const lm: LanguageModel = {
    vocabSize: 3,
    contextLength: 8,
    nextLogits: (ids) => (table[ids.join()] ?? [1 / 3, 1 / 3, 1 / 3]).map(Math.log),
  };
  const greedy = generateTokens(lm, [2], { maxNewTokens: 3, temperature: 0 });
  assertEquals(greedy.ids, [0, 0, 0]);
  const best = (beamWidth: number) =>
    beamSearch(lm, [2], { beamWidth, maxNewTokens: 3 }).sequences[0];
  assertAlmostEquals(best(1).logProb, Math.log(0.4 * 0.34 * 0.98), 1e-12);
  assertEquals(best(2).ids, [1, 0, 0]);
  assertAlmostEquals(best(2).logProb, Math.log(0.38 * 0.51 / 3), 1e-12);
  assert(best(2).logProb < best(1).logProb, "B = 2 ends below greedy");
  assertEquals(best(3).ids, greedy.ids, "B = 3 keeps greedy's prefix");
});

Deno.test("beamSearch: beamWidth 1 is greedy (property on random toy models)", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 5, maxLength: 5 }),
        {
          minLength: 5,
          maxLength: 5,
        },
      ),
      fc.integer({ min: 0, max: 4 }),
      (table, start) => {
        const lm: LanguageModel = {
          vocabSize: 5,
          contextLength: 16,
          nextLogits: (ids) => table[ids[ids.length - 1]],
        };
        const g = generateTokens(lm, [start], { maxNewTokens: 6, temperature: 0 }).ids;
        const b = beamSearch(lm, [start], { beamWidth: 1, maxNewTokens: 6 }).sequences;
        return b.length === 1 && b[0].ids.every((x, i) => x === g[i]) && b[0].ids.length === 6;
      },
    ),
    { numRuns: 100 },
  );
});

Deno.test("beamSearch: finished beams stop growing; lengthPenalty divides by |y|^α", () => {
  // token 2 ends a sequence; from the prompt: P(2) = 0.5, P(0) = 0.5, then 0 → 0 with 0.9
  const lm: LanguageModel = {
    vocabSize: 3,
    contextLength: 10,
    nextLogits: (ids) =>
      (ids[ids.length - 1] === 1 ? [0.5, 1e-9, 0.5] : [0.9, 1e-9, 0.1]).map(Math.log),
  };
  const plain = beamSearch(lm, [1], { beamWidth: 2, maxNewTokens: 4, stopIds: [2] }).sequences;
  assertEquals(plain[0].ids, [2]); // log 0.5 beats 0.5·0.9³ = 0.36
  const long =
    beamSearch(lm, [1], { beamWidth: 2, maxNewTokens: 4, stopIds: [2], lengthPenalty: 1 })
      .sequences;
  assertEquals(long[0].ids, [0, 0, 0, 0]); // log(0.5·0.9³)/4 ≈ −0.25 beats log 0.5 ≈ −0.69
  assertAlmostEquals(long[0].score, long[0].logProb / 4, 1e-12);
});

Deno.test("generateTokens, beamSearch: bad inputs are named", () => {
  assertThrows(() => generateTokens(toy, [], { maxNewTokens: 2 }), Error, "the prompt is empty");
  assertThrows(
    () => generateTokens(toy, new Array(9).fill(3), { maxNewTokens: 2 }),
    Error,
    "the prompt has 9 tokens, longer than the context (8)",
  );
  assertThrows(() => generateTokens(toy, [4], { maxNewTokens: 2 }), Error, "prompt token 0 is 4");
  assertThrows(() => generateTokens(toy, [3], { maxNewTokens: -1 }), Error, "got -1");
  assertThrows(
    () => generateTokens(toy, [3], { maxNewTokens: 2, temperature: -1 }),
    Error,
    "got -1",
  );
  assertThrows(() => generateTokens(toy, [3], { maxNewTokens: 2, topK: 0 }), Error, "topK");
  assertThrows(() => generateTokens(toy, [3], { maxNewTokens: 2, topP: 2 }), Error, "got 2");
  assertThrows(() => generateTokens(toy, [3], { maxNewTokens: 2, seed: 0.5 }), Error, "0.5");
  assertThrows(() => beamSearch(toy, [3], { beamWidth: 0, maxNewTokens: 2 }), Error, "got 0");
  assertThrows(() => beamSearch(toy, [], { beamWidth: 2, maxNewTokens: 2 }), Error, "empty");
});

Deno.test("generateTokens: seeded sampling is reproducible; stopIds end the loop", () => {
  const a = generateTokens(toy, [3], { maxNewTokens: 20, seed: 7 });
  const b = generateTokens(toy, [3], { maxNewTokens: 20, seed: 7 });
  assertEquals(a.ids, b.ids);
  assertEquals(a.steps.length, 20);
  assertEquals(a.steps[0].candidates.map((c) => c.id), [0, 1, 2, 3]);
  assertAlmostEquals(a.steps[0].candidates[0].prob, 0.6, 1e-12);
  const stopped = generateTokens(toy, [3], { maxNewTokens: 20, seed: 7, stopIds: [2] });
  const at = a.ids.indexOf(2);
  assert(at >= 0, "the sample should contain token 2");
  assertEquals(stopped.ids, a.ids.slice(0, at + 1));
});

// A tiny GPT: the cached and the re-forward loop must choose the same tokens.
const config = gptConfig({
  name: "tiny",
  vocabSize: 11,
  contextLength: 8,
  layers: 2,
  heads: 2,
  dModel: 16,
  dFF: 32,
});
const params = initGPT(config, 5);

Deno.test("GPT: the KV cache gives the re-forward's logits", () => {
  const cached = gptLanguageModel({ params, config }, { useCache: true });
  const full = gptLanguageModel({ params, config }, { useCache: false });
  const ids = [1, 4, 2, 9, 3, 3, 7, 0, 5, 6]; // longer than the context: the window slides
  for (let t = 1; t <= ids.length; t++) {
    const a = cached.nextLogits(ids.slice(0, t));
    const b = full.nextLogits(ids.slice(0, t));
    const diff = Math.max(...a.map((x, i) => Math.abs(x - b[i])));
    assert(diff < 1e-4, `step ${t}: max |Δ| = ${diff}`);
  }
  cached.dispose();
});

Deno.test("GPT: cached and re-forward generation choose the same tokens for a seed", () => {
  for (const opts of [{ temperature: 0 }, { temperature: 1.2, seed: 3 }, { topK: 4, seed: 9 }]) {
    const a = generateTokens({ params, config }, [1, 2, 3], { ...opts, maxNewTokens: 12 });
    const b = generateTokens({ params, config }, [1, 2, 3], {
      ...opts,
      maxNewTokens: 12,
      useCache: false,
    });
    assertEquals(a.ids, b.ids, JSON.stringify(opts));
    assertEquals(a.ids.length, 12);
  }
});

Deno.test("GPT: generation and beam search leave no tensors behind", async () => {
  await assertNoTensorGrowth(
    () => generateTokens({ params, config }, [1, 2], { maxNewTokens: 10, seed: 1 }),
    3,
    "cached generation",
  );
  await assertNoTensorGrowth(
    () => generateTokens({ params, config }, [1, 2], { maxNewTokens: 4, useCache: false }),
    3,
    "re-forward generation",
  );
  await assertNoTensorGrowth(
    () => beamSearch({ params, config }, [1, 2], { beamWidth: 3, maxNewTokens: 3 }),
    3,
    "beam search",
  );
  assertThrows(
    () => generateTokens({ params, config }, new Array(9).fill(1), { maxNewTokens: 1 }),
    Error,
    "longer than the context (8)",
  );
});

Deno.test("gptLogProbNext: the log-softmax of gptForward's last position", () => {
  const config = gptConfig({ vocabSize: 9, contextLength: 5, layers: 1, heads: 2, dModel: 8 });
  const p = initGPT(config, 4);
  const logProb = gptLogProbNext(p, config)([1, 4, 2]);
  assertAlmostEquals(logProb.reduce((s, x) => s + Math.exp(x), 0), 1, 1e-5);
  const expected = tf.tidy(() => {
    const { logits } = gptForward(p, config, tf.tensor2d([[1, 4, 2]], [1, 3], "int32"));
    return tf.logSoftmax(logits.slice([0, 2, 0], [1, 1, 9]).reshape([9]));
  });
  assertAllClose(tf.tensor1d(logProb), expected, { atol: 1e-5 });
  tf.dispose(expected);
  disposeGPT(p);
});

Deno.test("gptTokenLogProbs: at every position, gptLogProbNext's value at the target", async () => {
  const config = gptConfig({ vocabSize: 9, contextLength: 5, layers: 1, heads: 2, dModel: 8 });
  const p = initGPT(config, 4);
  const model = { params: p, config };
  const rows = [[1, 4, 2, 7], [3, 3, 0, 8]];
  const targets = [[4, 2, 7, 5], [3, 0, 8, 1]];
  const ids = tf.tensor2d(rows, [2, 4], "int32");
  const ys = tf.tensor2d(targets, [2, 4], "int32");
  const logP = gptTokenLogProbs(model, ids, ys);
  assertEquals(logP.shape, [2, 4]);
  const next = gptLogProbNext(p, config);
  const expected = rows.map((r, b) => r.map((_, t) => next(r.slice(0, t + 1))[targets[b][t]]));
  assertAllClose(logP, expected, { atol: 1e-5 });
  assertThrows(
    () => gptTokenLogProbs(model, ids, tf.tensor2d([[1, 2, 3]], [1, 3], "int32")),
    Error,
    "must have the logits' leading shape [2, 4]",
  );
  await assertNoTensorGrowth(() => gptTokenLogProbs(model, ids, ys).dispose());
  tf.dispose([ids, ys, logP]);
  disposeGPT(p);
});
