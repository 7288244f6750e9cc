import * as tf from "@tensorflow/tfjs";
import fc from "fast-check";
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import {
  findInductionHeads,
  inductionScore,
  inductionSettings,
  periodicRepeats,
  phaseChangeStep,
  previousTokenScore,
  type RepeatedSequence,
  repeatedSequences,
  trainInduction,
} from "../../lib/experiments/induction.ts";
import { disposeGPT, gptConfig, initGPT } from "../../lib/gpt.ts";
import { assertNoTensorGrowth, initBackend } from "../../lib/tensor.ts";

await initBackend();

/** [bos, 5, 6, 7, 5, 6, 7]: the segment at 1 … 3 repeats at 4 … 6. */
const seq: RepeatedSequence = {
  tokens: [0, 5, 6, 7, 5, 6, 7],
  repeats: [{ first: 1, second: 4, length: 3 }],
};
const T = 7;
const oneHot = (j: number) => Array.from({ length: T }, (_, k) => (k === j ? 1 : 0));
/** Head 0: a perfect induction head (q → q − L + 1 on the repeat, else ⟨bos⟩). */
const induction = Array.from({ length: T }, (_, q) => oneHot(q >= 4 ? q - 2 : 0));
/** Head 1: a previous-token head (q → q − 1). */
const previous = Array.from({ length: T }, (_, q) => oneHot(Math.max(0, q - 1)));
/** Head 2: uniform over the q + 1 keys it may see. */
const uniform = Array.from(
  { length: T },
  (_, q) => Array.from({ length: T }, (_, k) => (k <= q ? 1 / (q + 1) : 0)),
);

Deno.test("inductionScore and previousTokenScore on hand-built attention, hand-worked", () => {
  const weights = [[induction, previous, uniform]];
  // induction: queries 4, 5, 6 → keys 2, 3, 4
  const ind = inductionScore(weights, [seq]);
  assertEquals(ind.slice(0, 2), [1, 0]);
  assertAlmostEquals(ind[2], (1 / 5 + 1 / 6 + 1 / 7) / 3, 1e-12);
  // previous token: queries 1 … 6 → keys 0 … 5; the induction head hits it only at q = 1
  const prev = previousTokenScore(weights);
  assertAlmostEquals(prev[0], 1 / 6, 1e-12);
  assertEquals(prev[1], 1);
  assertAlmostEquals(prev[2], (1 / 2 + 1 / 3 + 1 / 4 + 1 / 5 + 1 / 6 + 1 / 7) / 6, 1e-12);
  // a tensor gives the same; rows must match the sequences
  const t = tf.tensor4d(weights);
  inductionScore(t, [seq]).forEach((x, h) => assertAlmostEquals(x, ind[h], 1e-7)); // float32
  t.dispose();
  assertThrows(() => inductionScore(weights, [seq, seq]), Error, "1 attention rows for 2");
  // a segment [5, 6] repeated twice more: [0, 5, 6, 5, 6, 5, 6]; query 5 (token 5) may attend
  // to both 2 and 4 (after the earlier 5s): half on each still scores 1
  const periodic: RepeatedSequence = {
    tokens: [0, 5, 6, 5, 6, 5, 6],
    repeats: [{ first: 1, second: 3, length: 2 }, { first: 3, second: 5, length: 2 }],
  };
  const split = Array.from(
    { length: T },
    (_, q) =>
      q === 5 ? [0, 0, 0.5, 0, 0.5, 0, 0] : q === 6 ? [0, 0, 0, 0.25, 0, 0.25, 0.5] : oneHot(q),
  );
  // queries 3 (→ 2), 4 (→ 3), 5 (→ 2, 4), 6 (→ 3, 5): 0 + 0 + 1 + 0.5, over 4 queries
  assertAlmostEquals(inductionScore([[split]], [periodic])[0], 1.5 / 4, 1e-12);
});

Deno.test("periodicRepeats: each copy repeats the one before, start and L vary, reproducible (property)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 10_000 }), (seed) => {
      const tokens = [3, 4, 5, 6, 7, 8];
      const opts = { count: 8, total: 20, minLength: 3, maxLength: 6, tokens, bos: 0, seed };
      const seqs = periodicRepeats(opts);
      const starts = new Set<number>();
      for (const s of seqs) {
        assertEquals(s.tokens.length, 20);
        assertEquals(s.tokens[0], 0);
        assert(s.repeats.length >= 1);
        const L = s.repeats[0].second - s.repeats[0].first;
        assert(L >= 3 && L <= 6);
        starts.add(s.repeats[0].first);
        for (const r of s.repeats) {
          assertEquals(r.second - r.first, L);
          for (let i = 0; i < r.length; i++) {
            assertEquals(s.tokens[r.second + i], s.tokens[r.first + i]);
          }
        }
        // the copies run to the end
        const lastRepeat = s.repeats[s.repeats.length - 1];
        assertEquals(lastRepeat.second + lastRepeat.length, 20);
        assert(s.tokens.slice(1).every((t) => tokens.includes(t)));
      }
      assertEquals(periodicRepeats(opts), seqs);
    }),
    { numRuns: 40 },
  );
  const bad = { count: 1, total: 10, minLength: 3, maxLength: 5, tokens: [1, 2], bos: 0, seed: 1 };
  assertThrows(() => periodicRepeats(bad), Error, "exceeds total");
});

Deno.test("repeatedSequences: [bos, r₁ … r_L, r₁ … r_L], the classic test", () => {
  const [s] = repeatedSequences({ count: 1, total: 9, tokens: [5, 6, 7], bos: 0, seed: 3 });
  assertEquals(s.repeats, [{ first: 1, second: 5, length: 4 }]);
  assertEquals(s.tokens.slice(1, 5), s.tokens.slice(5, 9));
});

Deno.test("phaseChangeStep: the first step half a nat below the control's lowest loss", () => {
  const point = (step: number, repeatedHalf: number) => ({
    step,
    inductionScore: 0,
    losses: { firstHalf: 3, repeatedHalf },
  });
  const control = [point(0, 3), point(10, 2.4), point(20, 2.2), point(30, 2.3)];
  const run = [point(0, 3), point(10, 2.4), point(20, 1.8), point(30, 1.6), point(40, 0.3)];
  assertEquals(phaseChangeStep(run, control), 30);
  assertEquals(phaseChangeStep(run, control, 1), 40);
  assertEquals(phaseChangeStep(control, control), undefined);
});

Deno.test("findInductionHeads: every head scored on any GPT, sorted; no tensor growth", async () => {
  const config = gptConfig({ vocabSize: 12, layers: 2, heads: 2, dModel: 16, contextLength: 17 });
  const p = initGPT(config, 2);
  const opts = { tokens: Array.from({ length: 11 }, (_, i) => i + 1), bos: 0, count: 4 };
  const r = findInductionHeads(p, config, opts);
  assertEquals(r.heads.length, 4);
  assertEquals(r.sequences[0].tokens.length, 17);
  assertEquals(r.sequences[0].repeats, [{ first: 1, second: 9, length: 8 }]);
  for (let i = 1; i < r.heads.length; i++) assert(r.heads[i - 1].induction >= r.heads[i].induction);
  for (const h of r.heads) assert(h.induction >= 0 && h.induction <= 1 && h.previousToken <= 1);
  await assertNoTensorGrowth(
    () => void findInductionHeads(p, config, opts),
    2,
    "findInductionHeads",
  );
  disposeGPT(p);
});

Deno.test("repeatLosses: the first occurrence's tokens against the repeat's, on a trained model", async () => {
  const settings = inductionSettings(true);
  const before = tf.memory().numTensors;
  const [two, one] = [await trainInduction(settings, 2), await trainInduction(settings, 1)];
  for (const r of [two, one]) {
    const start = r.history[0], end = r.history[r.history.length - 1];
    assertEquals(end.step, settings.steps);
    assertEquals(r.history.length, settings.steps / settings.every + 1);
    // random tokens the first time: about ln(V − 1) nats, at the start and after training
    assert(Math.abs(start.losses.firstHalf - Math.log(settings.vocabSize - 1)) < 0.3);
    assert(end.losses.firstHalf > Math.log(settings.vocabSize - 1) - 0.3);
    // both models learn to use their context in quick mode: the repeat's loss falls by > 0.3 nats
    assert(
      end.losses.repeatedHalf < start.losses.repeatedHalf - 0.3,
      `${r.config.name}: ${start.losses.repeatedHalf} → ${end.losses.repeatedHalf}`,
    );
    assertEquals(r.heads.length, r.config.layers * settings.heads);
    disposeGPT(r.params);
  }
  assertEquals(tf.memory().numTensors, before, "no tensors left behind");
});
