/**
 * GPT-3's sparse attention (chapter 10): what a locally banded layer saves, and what it loses.
 *
 * GPT-3 uses "alternating dense and locally banded sparse attention patterns in the layers of
 * the transformer, similar to the Sparse Transformer" (Brown et al. 2020, §2.1). A dense
 * causal layer scores every pair of positions, T² entries per head (half of them masked); a
 * banded layer with window w scores only the keys i − w + 1 … i of each query i, about T·w
 * (Child et al. 2019, §4.2 "local" pattern; lib/attention.ts's `bandedAttention` computes the
 * band in blocks, §5.5). Stacked banded layers see at most 1 + n·(w − 1) positions back; one
 * dense layer in between sees the whole context again.
 *
 * This module counts both (FLOPs, memory) for any size, GPT-3 175B included, and trains small
 * GPTs with dense, alternating and banded-only layers side by side: on text, where most
 * dependencies are short, and on a recall task whose answer lies further back than the banded
 * layers can see.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor2D } from "../tf_types.ts";
import { makeRng } from "../tensor.ts";
import { bandedAttention, causalMask, scaledDotProductAttention } from "../attention.ts";
import {
  disposeGPT,
  type GPTAttentionPattern,
  type GPTConfig,
  gptConfig,
  gptForward,
  gptParameters,
  type GPTParams,
  initGPT,
} from "../gpt.ts";
import { crossEntropy, languageModelingLoss, meanLoss } from "../objectives.ts";
import { createOptimizer, fit } from "../train.ts";
import { charVocabulary, encodeCorpus, type LMBatch, lmBatches } from "../data.ts";

// ---------------------------------------------------------------------------------------
// Counting
// ---------------------------------------------------------------------------------------

/** The sizes that set the cost of attention scores. */
export interface AttentionShape {
  /** Context length T. */
  T: number;
  /** Width of one head, d_head = d_model / h. */
  dHead: number;
  /** Heads per layer h. */
  heads: number;
  /** Layers. */
  layers: number;
}

/**
 * GPT-3 175B's attention (Brown et al. 2020, Table 2.1): n_ctx = 2,048, 96 layers, 96 heads of
 * d_head = 128. The paper does not state the band's width of its sparse layers: the window is
 * a parameter of {@link gpt3AttentionCosts}.
 */
export const GPT3_175B_ATTENTION: Readonly<AttentionShape> = Object.freeze({
  T: 2048,
  dHead: 128,
  heads: 96,
  layers: 96,
});

/** The cost of one kind of attention layer (see {@link attentionCost}). */
export interface AttentionCost {
  /** Score entries computed per head and layer: T² dense, ⌈T/b⌉·b·(b + w − 1) banded. */
  scoresComputed: number;
  /** Score entries the mask allows: T(T + 1)/2 dense causal, Σᵢ min(i + 1, w) banded. */
  scoresAllowed: number;
  /** Multiply–adds ×2 of QKᵀ and of A·V over all heads and layers: 4·d_head·h·n·scoresComputed. */
  flops: number;
  /** Bytes of one layer's scores (all heads, one sequence): h·scoresComputed·bytesPerValue. */
  scoreBytes: number;
}

/**
 * The cost of attention scores for `layers` layers of one kind: dense causal (no `window`:
 * the whole T×T matrix QKᵀ is computed and the upper half masked) or banded (`window` w, in
 * query blocks of `block` rows, default w, as `bandedAttention` computes it):
 *
 *   dense:  scores = T²,                      allowed = T(T + 1)/2
 *   banded: scores = ⌈T/b⌉·b·(b + w − 1),     allowed = Σ_{i<T} min(i + 1, w)
 *   FLOPs  = 2·d_head·scores (QKᵀ) + 2·d_head·scores (A·V), per head and layer
 *   bytes  = h·scores·bytesPerValue for one layer's scores (4: float32)
 *
 * Projections and the FFN cost the same either way and are left out.
 */
export function attentionCost(
  shape: AttentionShape,
  opts: { window?: number; block?: number; bytesPerValue?: number } = {},
): AttentionCost {
  const { T, dHead, heads, layers } = shape;
  for (const [name, v] of Object.entries(shape)) {
    if (!Number.isInteger(v) || v < 0) {
      throw new Error(`attentionCost: ${name} must be a non-negative integer, got ${v}`);
    }
  }
  const { window, block = window, bytesPerValue = 4 } = opts;
  let scoresComputed: number, scoresAllowed: number;
  if (window === undefined) {
    scoresComputed = T * T;
    scoresAllowed = T * (T + 1) / 2;
  } else {
    if (!Number.isInteger(window) || window < 1 || !Number.isInteger(block) || block! < 1) {
      throw new Error(
        `attentionCost: window and block must be integers ≥ 1, got ${window} and ${block}`,
      );
    }
    const b = block!;
    scoresComputed = Math.ceil(T / b) * b * (b + window - 1);
    const w = Math.min(window, T);
    scoresAllowed = w * T - w * (w - 1) / 2;
  }
  return {
    scoresComputed,
    scoresAllowed,
    flops: 4 * dHead * heads * layers * scoresComputed,
    scoreBytes: heads * scoresComputed * bytesPerValue,
  };
}

/** GPT-3-sized totals (see {@link gpt3AttentionCosts}). */
export interface ModelAttentionCosts {
  /** Every layer dense. */
  dense: { flops: number; scoreBytes: number };
  /** Half the layers dense, half banded, alternating as in GPT-3. */
  alternating: { flops: number; scoreBytes: number };
  /** One dense layer's cost and one banded layer's. */
  perLayer: { dense: AttentionCost; banded: AttentionCost };
}

/**
 * The attention-score FLOPs of a whole model (one sequence of T tokens, forward) and the bytes
 * of its layers' scores, all dense against alternating dense and banded layers (Brown et al.
 * 2020, §2.1), for GPT-3 175B by default. `scoreBytes` sums the layers' scores, what a
 * training step keeps for the backward pass. `window` is a free parameter: the paper does not
 * say how wide GPT-3's band is.
 */
export function gpt3AttentionCosts(
  window: number,
  shape: AttentionShape = GPT3_175B_ATTENTION,
  bytesPerValue = 2,
): ModelAttentionCosts {
  const one = { ...shape, layers: 1 };
  const dense = attentionCost(one, { bytesPerValue });
  const banded = attentionCost(one, { window, bytesPerValue });
  const nDense = Math.ceil(shape.layers / 2), nBanded = shape.layers - nDense;
  return {
    dense: { flops: shape.layers * dense.flops, scoreBytes: shape.layers * dense.scoreBytes },
    alternating: {
      flops: nDense * dense.flops + nBanded * banded.flops,
      scoreBytes: nDense * dense.scoreBytes + nBanded * banded.scoreBytes,
    },
    perLayer: { dense, banded },
  };
}

/**
 * How far back position i can draw information through a stack of layers: a dense layer sees
 * everything before it, so any dense layer makes it unbounded (Infinity); n banded layers of
 * windows w₁ … w_n see Σ (w_l − 1) positions back (Child et al. 2019, §4: each local step
 * moves at most w − 1).
 */
export function receptiveField(patterns: readonly GPTAttentionPattern[]): number {
  return patterns.reduce(
    (sum, p) => (p === "dense" ? Infinity : sum + p.window - 1),
    0,
  );
}

// ---------------------------------------------------------------------------------------
// Timing
// ---------------------------------------------------------------------------------------

/** One length's measurement (see {@link timeAttention}). */
export interface AttentionTiming {
  /** Sequence length T. */
  T: number;
  /** Median forward time of dense causal attention, ms (undefined when skipped). */
  denseMs?: number;
  /** Median forward time of banded attention, ms. */
  bandedMs: number;
  /** Peak bytes of the tensors dense attention holds during one call (tf.profile), when run. */
  denseBytes?: number;
  /** Peak bytes of the tensors banded attention holds during one call. */
  bandedBytes: number;
}

/**
 * Times one head's attention on random q, k, v [1, T, d] (forward only, the result read back):
 * `scaledDotProductAttention` under the causal mask (built beforehand) against
 * `bandedAttention` with `window`, the median of `repeats` runs after two warm-ups; and the
 * peak bytes of tensors each holds during one call, above what was allocated before it
 * (`tf.profile`'s peakBytes). Dense runs only for T ≤ `denseMax` (its T² scores and weights
 * grow fastest). A measurement, not a test: times depend on the machine and its load.
 */
export async function timeAttention(
  lengths: readonly number[],
  opts: { window: number; d?: number; repeats?: number; denseMax?: number },
): Promise<AttentionTiming[]> {
  const { window, d = 64, repeats = 3, denseMax = Infinity } = opts;
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const run = async (f: () => tf.Tensor): Promise<{ ms: number; bytes: number }> => {
    const times: number[] = [];
    for (let r = -2; r < repeats; r++) {
      const t0 = performance.now();
      tf.tidy(() => void f().dataSync());
      if (r >= 0) times.push(performance.now() - t0);
    }
    const before = tf.memory().numBytes;
    const info = await tf.profile(() => tf.tidy(() => void f().dataSync()));
    return { ms: median(times), bytes: info.peakBytes - before };
  };
  const rows: AttentionTiming[] = [];
  for (const T of lengths) {
    const [q, k, v] = [1, 2, 3].map((seed) => tf.randomNormal([1, T, d], 0, 1, "float32", seed));
    const banded = await run(() => bandedAttention(q, k, v, { window }));
    let dense: { ms: number; bytes: number } | undefined;
    if (T <= denseMax) {
      const mask = causalMask(T);
      dense = await run(() => scaledDotProductAttention(q, k, v, { mask }).output);
      mask.dispose();
    }
    tf.dispose([q, k, v]);
    rows.push({
      T,
      denseMs: dense?.ms,
      bandedMs: banded.ms,
      denseBytes: dense?.bytes,
      bandedBytes: banded.bytes,
    });
  }
  return rows;
}

/**
 * The least-squares slope of log y against log x: the exponent p of y ∝ xᵖ (≈ 1 for time linear
 * in T, ≈ 2 for quadratic). Needs at least two points with x, y > 0.
 */
export function logLogSlope(xs: readonly number[], ys: readonly number[]): number {
  if (xs.length !== ys.length || xs.length < 2) {
    throw new Error(
      `logLogSlope: need two or more (x, y) pairs, got ${xs.length} and ${ys.length}`,
    );
  }
  if ([...xs, ...ys].some((v) => !(v > 0))) throw new Error("logLogSlope: values must be > 0");
  const lx = xs.map(Math.log), ly = ys.map(Math.log);
  const mx = lx.reduce((a, b) => a + b) / lx.length, my = ly.reduce((a, b) => a + b) / ly.length;
  let num = 0, den = 0;
  lx.forEach((x, i) => {
    num += (x - mx) * (ly[i] - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}

// ---------------------------------------------------------------------------------------
// Training dense, alternating and banded-only GPTs side by side
// ---------------------------------------------------------------------------------------

/** The settings of {@link compareAttentionPatterns}. */
export interface SparseSettings {
  /** Layers of each model (even, so that alternating is half dense). */
  layers: number;
  /** Model width. */
  dModel: number;
  /** Heads. */
  heads: number;
  /** The band's width in the local layers. */
  window: number;
  /** Context length of the text models. */
  textContext: number;
  /** Training steps on text. */
  textSteps: number;
  /** Recall sequences' length T (the context length of the recall models). */
  recallLength: number;
  /** The recall answer lies at least this far back. */
  recallMinDistance: number;
  /** Random tokens of the recall task. */
  recallVocab: number;
  /** Training steps on the recall task. */
  recallSteps: number;
  /** Sequences or windows per step. */
  batchSize: number;
  /** Adam's learning rate. */
  learningRate: number;
  /** Held-out recall sequences. */
  evalCount: number;
  /** The seed. */
  seed: number;
}

/** Quick mode trains for seconds; full mode a minute or two on 2 cores. */
export function sparseSettings(quick: boolean): SparseSettings {
  return {
    layers: 2,
    dModel: 48,
    heads: 4,
    window: 4,
    textContext: 32,
    textSteps: quick ? 40 : 300,
    recallLength: 24,
    recallMinDistance: 12,
    recallVocab: 16,
    recallSteps: quick ? 150 : 400,
    batchSize: 32,
    learningRate: 3e-3,
    evalCount: 256,
    seed: 3,
  };
}

/** The three models compared: their names and per-layer patterns. */
export function sparseVariants(
  s: SparseSettings,
): { name: string; attention: GPTAttentionPattern[] }[] {
  const local: GPTAttentionPattern = { kind: "local", window: s.window };
  const n = s.layers;
  return [
    { name: "dense", attention: Array(n).fill("dense") },
    {
      name: "alternating",
      attention: Array.from({ length: n }, (_, l) => l % 2 === 0 ? local : "dense"),
    },
    { name: "banded only", attention: Array(n).fill(local) },
  ];
}

/** A recall sequence: [f …, ⟨key⟩, x, f …, ⟨query⟩] → x. */
export interface RecallExample {
  /** The tokens, ending with ⟨query⟩ (id 1). */
  tokens: number[];
  /** The answer x: the token after ⟨key⟩ (id 0). */
  answer: number;
  /** Where x stands. */
  position: number;
}

/**
 * The recall task: T − 1 random filler tokens (ids 2 … V − 1) with ⟨key⟩ (id 0) and the answer
 * x (an id 2 … V − 1) somewhere among them, at least `minDistance` positions before the last
 * token ⟨query⟩ (id 1); the model must say x after ⟨query⟩. Nothing near the end tells x, so a
 * model that sees fewer than `minDistance` positions back can only guess (chance 1/(V − 2)).
 */
export function recallExamples(
  count: number,
  T: number,
  V: number,
  minDistance: number,
  seed: number,
): RecallExample[] {
  if (minDistance >= T - 1 || V < 4) {
    throw new Error(
      `recallExamples: need minDistance < T − 1 and V ≥ 4, got ${minDistance}, ${T}, ${V}`,
    );
  }
  const rng = makeRng(seed);
  const token = () => 2 + Math.floor(rng() * (V - 2));
  return Array.from({ length: count }, () => {
    const tokens = Array.from({ length: T }, token);
    const position = 1 + Math.floor(rng() * (T - 1 - minDistance)); // x; ⟨key⟩ before it
    tokens[position - 1] = 0;
    tokens[T - 1] = 1;
    return { tokens, answer: tokens[position], position };
  });
}

/** One model's results in {@link compareAttentionPatterns}. */
export interface SparseVariantResult {
  /** "dense", "alternating" or "banded only". */
  name: string;
  /** Its layers' patterns. */
  attention: GPTAttentionPattern[];
  /** How far back it can see ({@link receptiveField}). */
  receptiveField: number;
  /** Held-out loss per character on intro_zh.txt's last 100 lines. */
  textValidationLoss: number;
  /** Accuracy of the recall answer on held-out sequences. */
  recallAccuracy: number;
  /** Its greedy answers to the held-out recall sequences, in order. */
  recallAnswers: number[];
}

/** What {@link compareAttentionPatterns} returns. */
export interface SparseComparison {
  /** The settings. */
  settings: SparseSettings;
  /** One row per model. */
  variants: SparseVariantResult[];
  /** The held-out recall sequences. */
  recallEval: RecallExample[];
  /** Chance accuracy on recall, 1/(V − 2). */
  recallChance: number;
  /** The unigram baseline's loss on the text's held-out lines. */
  textUnigramLoss: number;
}

async function trainVariant(
  config: GPTConfig,
  s: SparseSettings,
  steps: number,
  loss: (p: GPTParams, step: number) => tf.Scalar,
): Promise<GPTParams> {
  const p = initGPT(config, s.seed);
  const optimizer = createOptimizer({ learningRate: s.learningRate });
  try {
    await fit({ variables: gptParameters(p), steps, optimizer, loss: (step) => loss(p, step) });
  } finally {
    optimizer.dispose();
  }
  return p;
}

/**
 * Trains the dense, alternating and banded-only GPTs ({@link sparseVariants}) with the same
 * seed, data and steps, twice each: as character language models on data/intro_zh.txt (the
 * first 500 lines; the loss measured on the last 100), and on the recall task
 * ({@link recallExamples}, loss on the answer only). `lines` is the text, one sentence a line.
 */
export async function compareAttentionPatterns(
  s: SparseSettings,
  lines: readonly string[],
  onDone?: (r: SparseVariantResult) => void | Promise<void>,
): Promise<SparseComparison> {
  const train = lines.slice(0, 500), held = lines.slice(500);
  const vocab = charVocabulary(lines);
  const trainIds = encodeCorpus(train, vocab), heldIds = encodeCorpus(held, vocab);
  const batches = lmBatches(trainIds, {
    batchSize: s.batchSize,
    contextLength: s.textContext,
    seed: s.seed,
  });
  const heldBatches = (() => {
    const out: LMBatch[] = [];
    for (let o = 0; o + s.textContext + 1 <= heldIds.length; o += s.textContext) {
      const w = heldIds.slice(o, o + s.textContext + 1);
      out.push({
        inputs: tf.tensor2d([w.slice(0, -1)], undefined, "int32"),
        targets: tf.tensor2d([w.slice(1)], undefined, "int32"),
      });
    }
    return out;
  })();
  const recallEval = recallExamples(
    s.evalCount,
    s.recallLength,
    s.recallVocab,
    s.recallMinDistance,
    s.seed + 1_000_003,
  );
  const variants: SparseVariantResult[] = [];
  try {
    for (const { name, attention } of sparseVariants(s)) {
      const base = { layers: s.layers, dModel: s.dModel, heads: s.heads, attention };
      const textConfig = gptConfig({
        ...base,
        name: `${name} (text)`,
        vocabSize: vocab.size,
        contextLength: s.textContext,
      });
      const text = await trainVariant(textConfig, s, s.textSteps, (p, step) => {
        const batch = batches(step);
        return languageModelingLoss(p, textConfig, batch);
      });
      const textValidationLoss = meanLoss(text, textConfig, heldBatches);
      disposeGPT(text);
      const recallConfig = gptConfig({
        ...base,
        name: `${name} (recall)`,
        vocabSize: s.recallVocab,
        contextLength: s.recallLength,
      });
      const recall = await trainVariant(recallConfig, s, s.recallSteps, (p, step) => {
        const ex = recallExamples(
          s.batchSize,
          s.recallLength,
          s.recallVocab,
          s.recallMinDistance,
          s.seed * 7919 + step,
        );
        const ids = tf.tensor2d(ex.map((e) => e.tokens), undefined, "int32");
        const logits = gptForward(p, recallConfig, ids as Tensor2D).logits;
        const last = tf.slice(logits, [0, s.recallLength - 1, 0], [-1, 1, -1]);
        return crossEntropy(last, tf.tensor2d(ex.map((e) => [e.answer]), undefined, "int32"));
      });
      const recallAnswers = tf.tidy(() => {
        const ids = tf.tensor2d(recallEval.map((e) => e.tokens), undefined, "int32");
        const logits = gptForward(recall, recallConfig, ids).logits;
        return tf.argMax(tf.slice(logits, [0, s.recallLength - 1, 0], [-1, 1, -1]), -1)
          .dataSync();
      });
      disposeGPT(recall);
      const answers = Array.from(recallAnswers);
      const result = {
        name,
        attention,
        receptiveField: receptiveField(attention),
        textValidationLoss,
        recallAccuracy: answers.filter((a, i) => a === recallEval[i].answer).length /
          answers.length,
        recallAnswers: answers,
      };
      variants.push(result);
      await onDone?.(result);
    }
  } finally {
    tf.dispose(heldBatches.flatMap((b) => [b.inputs, b.targets]));
  }
  const counts = new Map<number, number>();
  for (const id of trainIds) counts.set(id, (counts.get(id) ?? 0) + 1);
  // the same held-out targets as the models' (add-one smoothed unigram counts of the training text)
  const heldTargets = heldIds.slice(1, 1 + heldBatches.length * s.textContext);
  const textUnigramLoss = heldTargets.reduce(
    (sum, id) => sum - Math.log(((counts.get(id) ?? 0) + 1) / (trainIds.length + vocab.size)),
    0,
  ) / heldTargets.length;
  return {
    settings: s,
    variants,
    recallEval,
    recallChance: 1 / (s.recallVocab - 2),
    textUnigramLoss,
  };
}
