import fc from "fast-check";
import { assert, assertEquals, assertThrows } from "@std/assert";
import {
  attentionCost,
  compareAttentionPatterns,
  GPT3_175B_ATTENTION,
  gpt3AttentionCosts,
  recallExamples,
  receptiveField,
  sparseSettings,
  sparseVariants,
} from "../../lib/experiments/sparse_attention.ts";
import { loadDataText } from "../../lib/data.ts";
import { initBackend } from "../../lib/tensor.ts";
import * as tf from "@tensorflow/tfjs";

await initBackend();

Deno.test("attentionCost: dense and banded counts, hand-worked", () => {
  const shape = { T: 4, dHead: 3, heads: 2, layers: 1 };
  // dense: 4² = 16 scores, 1 + 2 + 3 + 4 = 10 allowed; FLOPs 4·3·2·16; bytes 2·16·4
  assertEquals(attentionCost(shape), {
    scoresComputed: 16,
    scoresAllowed: 10,
    flops: 384,
    scoreBytes: 128,
  });
  // banded w = 2, b = 2: 2 blocks × 2 queries × 3 keys = 12; allowed 1 + 2 + 2 + 2 = 7
  assertEquals(attentionCost(shape, { window: 2, block: 2 }), {
    scoresComputed: 12,
    scoresAllowed: 7,
    flops: 288,
    scoreBytes: 96,
  });
  // T = 5, w = 3, b = 2: 3 blocks (the last padded) × 2 × 4 = 24; allowed 1 + 2 + 3 + 3 + 3 = 12
  const c = attentionCost({ ...shape, T: 5 }, { window: 3, block: 2 });
  assertEquals([c.scoresComputed, c.scoresAllowed], [24, 12]);
  // a window wider than T allows every causal pair: T(T + 1)/2
  assertEquals(attentionCost({ ...shape, T: 3 }, { window: 5 }).scoresAllowed, 6);
  assertThrows(() => attentionCost(shape, { window: 0 }), Error, "window and block");
  assertThrows(() => attentionCost({ ...shape, T: 1.5 }), Error, "T must be");
});

Deno.test("GPT-3 175B: attention FLOPs and score memory, dense vs alternating with a band of 256", () => {
  const r = gpt3AttentionCosts(256);
  assertEquals(GPT3_175B_ATTENTION, { T: 2048, dHead: 128, heads: 96, layers: 96 });
  // one dense layer: 2048² = 4,194,304 scores per head; 4·128·96·4,194,304 FLOPs
  assertEquals(r.perLayer.dense.scoresComputed, 4_194_304);
  assertEquals(r.perLayer.dense.flops, 206_158_430_208);
  // fp16 scores of 96 heads: 96·4,194,304·2 bytes ≈ 805 MB per layer and sequence
  assertEquals(r.perLayer.dense.scoreBytes, 805_306_368);
  // one banded layer: 8 blocks × 256 queries × 511 keys = 1,046,528 scores
  assertEquals(r.perLayer.banded.scoresComputed, 1_046_528);
  assertEquals(r.perLayer.banded.flops, 51_438_944_256);
  assertEquals(r.dense.flops, 96 * 206_158_430_208);
  assertEquals(r.alternating.flops, 48 * 206_158_430_208 + 48 * 51_438_944_256);
  assertEquals(r.alternating.scoreBytes, 48 * 805_306_368 + 48 * 96 * 1_046_528 * 2);
});

Deno.test("receptiveField: banded layers add w − 1 each, a dense layer sees everything", () => {
  const local = { kind: "local", window: 4 } as const;
  assertEquals(receptiveField([local, local]), 6);
  assertEquals(receptiveField([local, "dense"]), Infinity);
  assertEquals(receptiveField([]), 0);
  const s = sparseSettings(true);
  const [dense, alternating, banded] = sparseVariants(s);
  assertEquals(dense.attention, ["dense", "dense"]);
  assertEquals(alternating.attention, [{ kind: "local", window: s.window }, "dense"]);
  // the recall answer lies beyond what the banded-only model can see
  assert(receptiveField(banded.attention) < s.recallMinDistance);
});

Deno.test("recallExamples: ⟨key⟩ x … ⟨query⟩ with x at least minDistance back (property)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1000 }), (seed) => {
      for (const e of recallExamples(5, 20, 8, 10, seed)) {
        assertEquals(e.tokens.length, 20);
        assertEquals(e.tokens[19], 1);
        assertEquals(e.tokens[e.position - 1], 0);
        assertEquals(e.tokens[e.position], e.answer);
        assert(e.answer >= 2 && e.answer < 8);
        assert(19 - e.position >= 10, `distance ${19 - e.position}`);
        assertEquals(e.tokens.filter((t) => t < 2).length, 2);
      }
    }),
    { numRuns: 30 },
  );
  assertEquals(recallExamples(3, 20, 8, 10, 4), recallExamples(3, 20, 8, 10, 4));
  assertThrows(() => recallExamples(1, 10, 8, 9, 1), Error, "minDistance");
});

Deno.test("compareAttentionPatterns (quick): models that see the answer beat the banded-only one on recall", async () => {
  const lines = (await loadDataText("intro_zh.txt")).split("\n").filter((l) => l.length > 0);
  const before = tf.memory().numTensors;
  const r = await compareAttentionPatterns(sparseSettings(true), lines);
  assertEquals(tf.memory().numTensors, before, "no tensors left behind");
  const [dense, alternating, banded] = r.variants;
  assertEquals(r.variants.map((v) => v.name), ["dense", "alternating", "banded only"]);
  for (const v of r.variants) {
    assert(Number.isFinite(v.textValidationLoss) && v.textValidationLoss > 0);
    assert(v.textValidationLoss < r.textUnigramLoss, `${v.name} learned the text`);
  }
  // the banded-only model cannot see the answer: it stays near chance
  assert(banded.recallAccuracy < 3 * r.recallChance, `banded only: ${banded.recallAccuracy}`);
  for (const v of [dense, alternating]) {
    assert(
      v.recallAccuracy > banded.recallAccuracy + 0.2,
      `${v.name}: ${v.recallAccuracy} vs banded only ${banded.recallAccuracy}`,
    );
  }
});
