import * as tf from "@tensorflow/tfjs";
import fc from "fast-check";
import { assert, assertEquals, assertThrows } from "@std/assert";
import { assertAllClose } from "../testing/tensor_assert.ts";
import { gradCheck } from "../testing/gradcheck.ts";
import { causalMask } from "../lib/attention.ts";
import {
  countParameters,
  decoderBlock,
  decoderBlockParameters,
  encoderBlock,
  encoderBlockParameters,
  feedForward,
  feedForwardParameters,
  greedyDecode,
  initDecoderBlock,
  initEncoderBlock,
  initFeedForward,
  initLayerNorm,
  initSeq2Seq,
  layerNorm,
  type NormPlacement,
  type Seq2SeqConfig,
  seq2seqForward,
  seq2seqParameters,
} from "../lib/transformer.ts";
import { assertNoTensorGrowth, initBackend, makeRng } from "../lib/tensor.ts";
import { seq2seqLoss } from "../lib/objectives.ts";
import type { Activation } from "../lib/kernels.ts";

await initBackend();

const rand = (shape: number[], seed: number, std = 1) =>
  tf.randomNormal(shape, 0, std, "float32", seed);
const ids2d = (rows: number[][]) => tf.tensor2d(rows, undefined, "int32");

function assertGradOk(errors: number[], what: string): void {
  for (const [i, e] of errors.entries()) {
    assert(e < 1e-3, `${what}: input ${i} gradient relative error ${e.toExponential(2)} ≥ 1e-3`);
  }
}

Deno.test("layerNorm: rows normalised to mean 0, variance 1; γ and β apply", () => {
  const p = initLayerNorm(6);
  tf.tidy(() => {
    const x = rand([3, 4, 6], 1, 5);
    const y = layerNorm(p, x);
    const { mean, variance } = tf.moments(y, -1);
    assertAllClose(mean, tf.zeros([3, 4]), { atol: 1e-5 });
    assertAllClose(variance, tf.ones([3, 4]), { atol: 1e-3 });
    p.gamma.assign(tf.fill([6], 2) as tf.Tensor1D);
    p.beta.assign(tf.fill([6], 0.5) as tf.Tensor1D);
    const y2 = layerNorm(p, x);
    assertAllClose(y2, tf.add(tf.mul(y, 2), 0.5), { atol: 1e-5 });
    assertGradOk(
      gradCheck(
        (x, g, b) => layerNorm({ gamma: g, beta: b } as typeof p, x),
        [rand([2, 6], 2), p.gamma, p.beta],
      ),
      "layerNorm",
    );
  });
  tf.dispose([p.gamma, p.beta]);
});

Deno.test("feedForward: hand-worked ReLU and GELU cases", () => {
  // d = 2, d_ff = 3: W₁ = [[1, −1, 0], [0, 1, 2]], b₁ = [0, 0, −1], W₂ = [[1, 0], [0, 1], [1, 1]],
  // b₂ = [0.5, 0]; x = [1, 2]: xW₁ + b₁ = [1, 1, 3]
  // ReLU → [1, 1, 3]; ·W₂ = [1 + 3, 1 + 3] = [4, 4]; + b₂ = [4.5, 4]
  // GELU → [0.8413447, 0.8413447, 2.9959502]; ·W₂ + b₂ = [4.3372949, 3.8372949]
  const p = initFeedForward(2, 3, 1);
  p.W1.assign(tf.tensor2d([[1, -1, 0], [0, 1, 2]]));
  p.b1.assign(tf.tensor1d([0, 0, -1]));
  p.W2.assign(tf.tensor2d([[1, 0], [0, 1], [1, 1]]));
  p.b2.assign(tf.tensor1d([0.5, 0]));
  const x = tf.tensor2d([[1, 2], [-1, 0]]);
  // second row: xW₁ + b₁ = [−1, 1, −1]; ReLU → [0, 1, 0] → [0.5, 1];
  // GELU → [−0.1586553, 0.8413447, −0.1586553] → [0.1826894, 0.6826894]
  assertAllClose(feedForward(p, x), [[4.5, 4], [0.5, 1]], { atol: 1e-6 });
  assertAllClose(feedForward(p, x, "gelu"), [[4.3372949, 3.8372949], [0.1826894, 0.6826894]], {
    atol: 1e-5,
  });
  tf.dispose([x, ...feedForwardParameters(p)]);
});

Deno.test("feedForward: d_ff defaults to 4·d_model; gradients match finite differences", () => {
  const p = initFeedForward(4, undefined, 2);
  assertEquals(p.W1.shape, [4, 16]);
  assertEquals(p.W2.shape, [16, 4]);
  const x = rand([2, 3, 4], 3);
  for (const act of ["relu", "gelu"] as const) {
    assertGradOk(
      gradCheck(
        (x, W1, W2) => feedForward({ ...p, W1, W2 } as typeof p, x, act),
        [x, p.W1, p.W2],
        { h: 1e-3 },
      ),
      `FFN (${act})`,
    );
  }
  tf.dispose([x, ...feedForwardParameters(p)]);
});

Deno.test("encoderBlock: trace shapes, post-LN normalises, pre-LN keeps the residual", () => {
  const p = initEncoderBlock(8, 2, 32, 4);
  tf.tidy(() => {
    const x = rand([2, 5, 8], 5);
    for (const norm of ["post", "pre"] as const) {
      const { output, trace } = encoderBlock(p, x, { norm, activation: "gelu" });
      for (const t of [trace.attentionOutput, trace.afterAttention, trace.ffnOutput, output]) {
        assertEquals(t.shape, [2, 5, 8]);
      }
      assertEquals(trace.weights.shape, [2, 2, 5, 5]);
      assertEquals(trace.input, x);
      if (norm === "post") {
        // LN with γ = 1, β = 0 at the end: every position has mean 0
        assertAllClose(tf.mean(output, -1), tf.zeros([2, 5]), { atol: 1e-5 });
      } else {
        // x + Sublayer(LN(x)): the residual stream is the sum
        assertAllClose(trace.afterAttention, tf.add(x, trace.attentionOutput), { atol: 1e-6 });
        assertAllClose(output, tf.add(trace.afterAttention, trace.ffnOutput), { atol: 1e-6 });
      }
    }
  });
  tf.dispose(encoderBlockParameters(p));
});

Deno.test("encoderBlock: without positions it is permutation-equivariant (property)", () => {
  const p = initEncoderBlock(8, 4, 16, 6);
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 6 }).chain((T) =>
        fc.tuple(
          fc.constant(T),
          fc.shuffledSubarray([...Array(T).keys()], { minLength: T, maxLength: T }),
          fc.integer({ min: 0, max: 9999 }),
          fc.constantFrom("post" as const, "pre" as const),
        )
      ),
      ([T, perm, seed, norm]) => {
        const [a, b] = tf.tidy(() => {
          const x = rand([1, T, 8], seed);
          const idx = tf.tensor1d(perm, "int32");
          const y = encoderBlock(p, x, { norm }).output;
          const yp = encoderBlock(p, tf.gather(x, idx, 1), { norm }).output;
          return [tf.gather(y, idx, 1), yp];
        });
        assertAllClose(b, a, { atol: 1e-4 });
        tf.dispose([a, b]);
      },
    ),
    { numRuns: 30 },
  );
  tf.dispose(encoderBlockParameters(p));
});

Deno.test("encoderBlock: gradients match finite differences", () => {
  const p = initEncoderBlock(4, 2, 8, 7);
  const x = rand([1, 3, 4], 8);
  for (const norm of ["post", "pre"] as const) {
    assertGradOk(
      gradCheck((x) => encoderBlock(p, x, { norm, activation: "gelu" }).output, [x], { h: 1e-2 }),
      `encoder block (${norm})`,
    );
  }
  tf.dispose([x, ...encoderBlockParameters(p)]);
});

Deno.test("decoderBlock: trace shapes, and the output at i ignores tokens after i (property)", () => {
  const p = initDecoderBlock(8, 2, 16, 9);
  const memory = rand([2, 4, 8], 10);
  const x = rand([2, 5, 8], 11);
  const mask = causalMask(5);
  const { output, trace } = decoderBlock(p, x, memory, { selfMask: mask });
  assertEquals(output.shape, [2, 5, 8]);
  assertEquals(trace.selfWeights.shape, [2, 2, 5, 5]);
  assertEquals(trace.crossWeights.shape, [2, 2, 5, 4]);
  for (const t of [trace.crossAttentionOutput, trace.afterCrossAttention, trace.ffnOutput]) {
    assertEquals(t.shape, [2, 5, 8]);
  }
  tf.dispose([output, ...Object.values(trace).filter((t) => t !== x && t !== memory)]);
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 4 }),
      fc.integer({ min: 0, max: 9999 }),
      fc.constantFrom("post" as const, "pre" as const),
      (i, seed, norm) => {
        const [before, after] = tf.tidy(() => {
          const changed = tf.concat([
            tf.slice(x, [0, 0, 0], [2, i + 1, 8]),
            rand([2, 4 - i, 8], seed, 3),
          ], 1);
          const upTo = (t: tf.Tensor) => tf.slice(t, [0, 0, 0], [2, i + 1, 8]);
          const run = (input: tf.Tensor) =>
            upTo(decoderBlock(p, input, memory, { norm, selfMask: mask }).output);
          return [run(x), run(changed)];
        });
        assertAllClose(after, before, { atol: 1e-5 });
        tf.dispose([before, after]);
      },
    ),
    { numRuns: 25 },
  );
  tf.dispose([memory, x, mask, ...decoderBlockParameters(p)]);
});

const tiny: Seq2SeqConfig = {
  srcVocabSize: 10,
  tgtVocabSize: 10,
  sharedVocab: true,
  dModel: 8,
  heads: 2,
  dFF: 16,
  encoderLayers: 1,
  decoderLayers: 1,
  maxLen: 8,
  norm: "post",
  activation: "relu",
  positions: "sinusoidal",
};

Deno.test("seq2seq: parameter count, shared and tied weights, config errors", () => {
  const d = 8, dff = 16, V = 10;
  const mha = 4 * (d * d + d);
  const ffn = d * dff + dff + dff * d + d;
  const encoder = mha + ffn + 2 * 2 * d;
  const decoder = 2 * mha + ffn + 3 * 2 * d;
  const cases: [Partial<Seq2SeqConfig>, number][] = [
    [{}, V * d + encoder + decoder + (d * V + V)],
    [{ sharedVocab: false, srcVocabSize: 12 }, (12 + V) * d + encoder + decoder + (d * V + V)],
    [{ tieOutput: true }, V * d + encoder + decoder],
    [{ norm: "pre", positions: "learned" }, V * d + 8 * d + encoder + decoder + 4 * d + d * V + V],
  ];
  for (const [change, expected] of cases) {
    const p = initSeq2Seq({ ...tiny, ...change }, 1);
    const vars = seq2seqParameters(p);
    assertEquals(countParameters(vars), expected, JSON.stringify(change));
    assertEquals(new Set(vars).size, vars.length);
    tf.dispose(vars);
  }
  assertThrows(
    () => initSeq2Seq({ ...tiny, dModel: 30, heads: 4 }, 1),
    Error,
    "d_model 30 is not divisible by heads 4",
  );
  assertThrows(
    () => initSeq2Seq({ ...tiny, srcVocabSize: 12 }, 1),
    Error,
    "got srcVocabSize 12 and tgtVocabSize 10",
  );
});

Deno.test("seq2seqForward: shapes, causal target, source padding ignored", () => {
  const cfg = { ...tiny, encoderLayers: 2, decoderLayers: 2, norm: "pre" as const };
  const p = initSeq2Seq(cfg, 2);
  tf.tidy(() => {
    const src = ids2d([[3, 4, 5, 0, 0], [6, 7, 8, 9, 3]]);
    const tgtIn = ids2d([[1, 5, 4, 3], [1, 3, 9, 8]]);
    const { logits, trace } = seq2seqForward(p, cfg, src, tgtIn, { padId: 0 });
    assertEquals(logits.shape, [2, 4, 10]);
    assertEquals(trace.encoder.length, 2);
    assertEquals(trace.decoder.length, 2);
    assertEquals(trace.encoder[1].weights.shape, [2, 2, 5, 5]);
    assertEquals(trace.decoder[1].crossWeights.shape, [2, 2, 4, 5]);
    // no weight on padded source positions
    const cross = trace.decoder[1].crossWeights.arraySync() as number[][][][];
    for (const row of cross[0].flat()) assert(row[3] < 1e-6 && row[4] < 1e-6);
    // the first sequence without its padding gives the same logits
    const short = seq2seqForward(p, cfg, ids2d([[3, 4, 5]]), ids2d([[1, 5, 4, 3]]), { padId: 0 });
    assertAllClose(short.logits, tf.slice(logits, [0, 0, 0], [1, 4, 10]), { atol: 1e-5 });
    // changing target tokens after position 1 leaves logits at positions 0 and 1 unchanged
    const other = seq2seqForward(p, cfg, src, ids2d([[1, 5, 9, 9], [1, 3, 4, 4]]), { padId: 0 });
    assertAllClose(
      tf.slice(other.logits, [0, 0, 0], [2, 2, 10]),
      tf.slice(logits, [0, 0, 0], [2, 2, 10]),
      { atol: 1e-5 },
    );
    assertThrows(
      () => seq2seqForward(p, cfg, ids2d([[1, 2, 3, 4, 5, 6, 7, 8, 9]]), tgtIn, { padId: 0 }),
      Error,
      "9 tokens exceed the model's maxLen 8",
    );
  });
  tf.dispose(seq2seqParameters(p));
});

Deno.test("seq2seqLoss: mean cross-entropy over non-padding targets, computed independently", () => {
  const p = initSeq2Seq(tiny, 3);
  tf.tidy(() => {
    const src = ids2d([[3, 4, 5], [6, 7, 0]]);
    const tgtIn = ids2d([[1, 5, 4], [1, 7, 0]]);
    const tgtOut = ids2d([[5, 4, 2], [7, 2, 0]]);
    const loss = seq2seqLoss(p, tiny, src, tgtIn, tgtOut, 0);
    const { logits } = seq2seqForward(p, tiny, src, tgtIn, { padId: 0 });
    const L = logits.arraySync() as number[][][], targets = tgtOut.arraySync();
    let sum = 0, n = 0;
    for (let b = 0; b < 2; b++) {
      for (let t = 0; t < 3; t++) {
        if (targets[b][t] === 0) continue;
        const row = L[b][t], max = Math.max(...row);
        const logZ = max + Math.log(row.reduce((s, z) => s + Math.exp(z - max), 0));
        sum += logZ - row[targets[b][t]];
        n++;
      }
    }
    assertAllClose(loss, sum / n, { rtol: 1e-5 });
  });
  tf.dispose(seq2seqParameters(p));
});

/** A batch of the reversal task: src = 4 tokens from 3…9, target = the same reversed. */
function reversalBatch(seqs: number[][]): tf.Tensor2D[] {
  return [
    ids2d(seqs),
    ids2d(seqs.map((s) => [1, ...s.slice().reverse()])),
    ids2d(seqs.map((s) => [...s.slice().reverse(), 2])),
  ];
}
const PAD = 0, BOS = 1, EOS = 2;
const randomSeq = (rng: () => number) => Array.from({ length: 4 }, () => 3 + Math.floor(rng() * 7));

Deno.test("seq2seq: Adam steps reduce the loss and leak no tensors (every variant)", async () => {
  const variants: Partial<Seq2SeqConfig>[] = [
    {},
    { norm: "pre", activation: "gelu", positions: "learned", tieOutput: true },
    { sharedVocab: false, srcVocabSize: 12 },
  ];
  for (const change of variants) {
    const cfg = { ...tiny, ...change };
    const p = initSeq2Seq(cfg, 4);
    const vars = seq2seqParameters(p);
    const rng = makeRng(5);
    const [src, tgtIn, tgtOut] = reversalBatch(Array.from({ length: 16 }, () => randomSeq(rng)));
    const opt = tf.train.adam(1e-2);
    const losses: number[] = [];
    const step = () => {
      const loss = opt.minimize(() => seq2seqLoss(p, cfg, src, tgtIn, tgtOut, PAD), true, vars)!;
      losses.push(loss.dataSync()[0]);
      loss.dispose();
    };
    await assertNoTensorGrowth(step, 8, `seq2seq training step ${JSON.stringify(change)}`);
    assert(
      losses[7] < losses[0] * 0.8,
      `${JSON.stringify(change)}: loss ${losses[0]} → ${losses[7]} did not fall`,
    );
    opt.dispose();
    tf.dispose([src, tgtIn, tgtOut, ...vars]);
  }
});

Deno.test("greedyDecode: the trace has the documented shape and leaks nothing", async () => {
  const cfg = { ...tiny, heads: 4 };
  const p = initSeq2Seq(cfg, 6);
  const src = [3, 4, 5];
  const opts = { bosId: BOS, eosId: EOS, padId: PAD, maxLen: 6, topK: 3 };
  let result = greedyDecode(p, cfg, src, opts);
  await assertNoTensorGrowth(
    () => {
      result = greedyDecode(p, cfg, src, opts);
    },
    3,
    "greedyDecode",
  );
  const { ids, steps } = result;
  assert(steps.length >= 1 && steps.length <= 6);
  steps.forEach((s, t) => {
    assertEquals(s.inputIds, [BOS, ...ids.slice(0, t)]);
    assertEquals(s.candidates.length, 3);
    assertEquals(s.chosen, s.candidates[0].id);
    for (let j = 1; j < 3; j++) assert(s.candidates[j - 1].prob >= s.candidates[j].prob);
    assert(s.candidates.reduce((a, c) => a + c.prob, 0) <= 1 + 1e-6);
    assertEquals(s.crossAttention.length, 4);
    for (const row of s.crossAttention) {
      assertEquals(row.length, 3);
      assertAllClose(row.reduce((a, w) => a + w, 0), 1, { atol: 1e-5 });
    }
  });
  const last = steps[steps.length - 1];
  if (last.chosen === EOS) assertEquals(ids.length, steps.length - 1);
  else assertEquals(ids.length, 6);
  assertThrows(
    () => greedyDecode(p, cfg, src, { ...opts, maxLen: 9 }),
    Error,
    "maxLen must be an integer in [1, 8] (the model's maxLen), got 9",
  );
  tf.dispose(seq2seqParameters(p));
});

Deno.test("seq2seq: a tiny model learns to reverse 4-token sequences it never saw", () => {
  const cfg: Seq2SeqConfig = { ...tiny, dModel: 32, heads: 4, dFF: 64 };
  const p = initSeq2Seq(cfg, 1);
  const vars = seq2seqParameters(p);
  const rng = makeRng(3);
  const heldOut = Array.from({ length: 40 }, () => randomSeq(rng));
  const held = new Set(heldOut.map((s) => s.join()));
  const opt = tf.train.adam(5e-3);
  for (let step = 0; step < 150; step++) {
    const seqs: number[][] = [];
    while (seqs.length < 64) {
      const s = randomSeq(rng);
      if (!held.has(s.join())) seqs.push(s);
    }
    const batch = reversalBatch(seqs);
    opt.minimize(() => seq2seqLoss(p, cfg, batch[0], batch[1], batch[2], PAD), false, vars);
    tf.dispose(batch);
  }
  const correct = heldOut.filter((s) => {
    const { ids } = greedyDecode(p, cfg, s, { bosId: BOS, eosId: EOS, padId: PAD, maxLen: 6 });
    return ids.join() === s.slice().reverse().join();
  }).length;
  assert(correct >= 38, `reversed ${correct} of 40 held-out sequences, expected ≥ 38`);
  opt.dispose();
  tf.dispose(vars);
});

Deno.test("blocks and the FFN name the allowed values on a wrong option", () => {
  const p = initEncoderBlock(8, 2, 16, 1);
  const x = tf.randomNormal([1, 3, 8], 0, 1, "float32", 2);
  assertThrows(
    () => encoderBlock(p, x, { norm: "Pre" as NormPlacement }),
    Error,
    'encoderBlock: norm must be "post" or "pre", got "Pre"',
  );
  assertThrows(
    () => feedForward(p.ffn, x, "GELU" as Activation),
    Error,
    'feedForward: activation must be one of "relu", "gelu", "gelu_tanh", got "GELU"',
  );
  const d = initDecoderBlock(8, 2, 16, 3);
  assertThrows(
    () => decoderBlock(d, x, x, { activation: "tanh" as Activation }),
    Error,
    "decoderBlock: activation must be one of",
  );
  tf.dispose([x, ...encoderBlockParameters(p), ...decoderBlockParameters(d)]);
});

Deno.test("encoderBlock without ffn: an attention-only block, output = x + Attn(LN(x)); half-blocks are errors", () => {
  const full = initEncoderBlock(8, 2, 16, 3);
  const { ffn: _ffn, norm2: _norm2, ...attentionOnly } = full;
  const x = rand([2, 5, 8], 6);
  tf.tidy(() => {
    for (const norm of ["pre", "post"] as NormPlacement[]) {
      const r = encoderBlock(attentionOnly, x, { norm, mask: causalMask(5) });
      assertEquals(r.trace.ffnOutput, undefined);
      assertAllClose(r.output, r.trace.afterAttention, { atol: 0 });
      const expected = norm === "pre"
        ? tf.add(x, r.trace.attentionOutput)
        : layerNorm(full.norm1, tf.add(x, r.trace.attentionOutput));
      assertAllClose(r.output, expected, { atol: 1e-6 });
      // the attention sublayer is the full block's
      const f = encoderBlock(full, x, { norm, mask: causalMask(5) });
      assertAllClose(f.trace.afterAttention, r.output, { atol: 1e-6 });
    }
  });
  assertEquals(
    countParameters(encoderBlockParameters(attentionOnly)),
    4 * 8 * 8 + 4 * 8 + 2 * 8,
  );
  assertThrows(
    () => encoderBlock({ ...attentionOnly, ffn: full.ffn }, x),
    Error,
    "both ffn and norm2 or neither",
  );
  tf.dispose([x, ...encoderBlockParameters(full)]);
});
