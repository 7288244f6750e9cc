/**
 * Induction heads (chapter 10): the mechanism behind copying from the context, in a small
 * attention-only Transformer trained here.
 *
 * Olsson et al. 2022 ("In-context Learning and Induction Heads", §2 "Key Concepts") define an
 * induction head as a head that, on a repeated sequence of random tokens, attends from a
 * token's second occurrence [A] to the token that followed its first occurrence [B] and copies
 * it: "[A][B] … [A] → [B]". It needs two layers: a previous-token head in layer 1 writes "the
 * token before me was A" into each position, and the induction head in layer 2 uses that as
 * its key (K-composition; Elhage et al. 2021, "A Mathematical Framework for Transformer
 * Circuits", §"Two-Layer Attention-Only Transformers"). A one-layer attention-only model cannot
 * form it; Olsson et al. (§3, Argument 1) see it appear in a sudden "phase change" during
 * training, together with the drop of the loss on repeated tokens.
 *
 * The data: random tokens in which, after a random prefix, a random segment of random length
 * repeats until the sequence ends ({@link periodicRepeats}), so that no position offset can
 * stand in for the repeat; and, to find induction heads in any model, the classic [⟨bos⟩,
 * r₁ … r_L, r₁ … r_L] ({@link repeatedSequences}).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor2D } from "../tf_types.ts";
import { makeRng } from "../tensor.ts";
import {
  type AnyGPTParams,
  type AttentionOnlyConfig,
  disposeGPT,
  type GPTConfig,
  gptConfig,
  gptForward,
  gptParameters,
  initGPT,
} from "../gpt.ts";
import { crossEntropy } from "../objectives.ts";
import { createOptimizer, fit } from "../train.ts";

/** A segment that occurs twice: tokens[first … first + length − 1] = tokens[second … ]. */
export interface Repeat {
  /** Where the segment's first occurrence starts. */
  first: number;
  /** Where its repeat starts (≥ first + length: the two do not overlap). */
  second: number;
  /** The segment's length. */
  length: number;
}

/** A token sequence and the segments that repeat in it. */
export interface RepeatedSequence {
  /** The token ids. */
  tokens: number[];
  /** The repeated segments. */
  repeats: Repeat[];
}

/** Options shared by {@link repeatedSequences} and {@link scatteredRepeats}. */
export interface RandomSequenceOptions {
  /** How many sequences. */
  count: number;
  /** The length of every sequence. */
  total: number;
  /** The ids random tokens are drawn from (uniformly). */
  tokens: readonly number[];
  /** A first token, e.g. ⟨bos⟩ (none when undefined). */
  bos?: number;
  /** The seed. */
  seed: number;
}

function checkTokens(tokens: readonly number[], fn: string): void {
  if (tokens.length < 2) throw new Error(`${fn}: need at least 2 tokens to draw from`);
}

/**
 * The classic test sequences of Olsson et al. 2022 (§2): [bos, r₁ … r_L, r₁ … r_L] with r drawn
 * uniformly from `tokens`, L = ⌊(total − 1)/2⌋ (without bos: ⌊total/2⌋; an odd total leaves one
 * random token at the end). The second copy is predictable only by copying from the first.
 */
export function repeatedSequences(opts: RandomSequenceOptions): RepeatedSequence[] {
  const { count, total, tokens, bos, seed } = opts;
  checkTokens(tokens, "repeatedSequences");
  const first = bos === undefined ? 0 : 1;
  const L = Math.floor((total - first) / 2);
  if (L < 1) throw new Error(`repeatedSequences: total ${total} leaves no room for a segment`);
  const rng = makeRng(seed);
  const draw = () => tokens[Math.floor(rng() * tokens.length)];
  return Array.from({ length: count }, () => {
    const segment = Array.from({ length: L }, draw);
    const tail = Array.from({ length: total - first - 2 * L }, draw);
    return {
      tokens: [...(bos === undefined ? [] : [bos]), ...segment, ...segment, ...tail],
      repeats: [{ first, second: first + L, length: L }],
    };
  });
}

/** Options of {@link periodicRepeats}. */
export interface PeriodicRepeatOptions extends RandomSequenceOptions {
  /** The shortest segment L. */
  minLength: number;
  /** The longest segment L (1 + 2·maxLength must fit in `total`). */
  maxLength: number;
}

/**
 * Random sequences [bos, f₁ … f_k, r₁ … r_L, r₁ … r_L, r₁ …] in which, after a random prefix of
 * k tokens, a random segment of L tokens repeats until the sequence ends; L is uniform in
 * minLength … maxLength and k in 0 … total − 1 − 2L, drawn per sequence, so that no fixed
 * position offset can stand in for the repeat (with a fixed L or start, a 1-layer model learns
 * to copy from a guessed offset instead). Each copy is a {@link Repeat} of the one before it.
 * Reproducible from `seed`; throws when two copies cannot fit.
 */
export function periodicRepeats(opts: PeriodicRepeatOptions): RepeatedSequence[] {
  const { count, total, tokens, bos, seed, minLength, maxLength } = opts;
  checkTokens(tokens, "periodicRepeats");
  const first = bos === undefined ? 0 : 1;
  if (!(Number.isInteger(minLength) && minLength >= 1 && maxLength >= minLength)) {
    throw new Error(
      `periodicRepeats: need 1 ≤ minLength ≤ maxLength, got ${minLength} and ${maxLength}`,
    );
  }
  if (first + 2 * maxLength > total) {
    throw new Error(
      `periodicRepeats: ${first} + 2·maxLength (${maxLength}) exceeds total ${total}`,
    );
  }
  const rng = makeRng(seed);
  const draw = () => tokens[Math.floor(rng() * tokens.length)];
  return Array.from({ length: count }, () => {
    const L = minLength + Math.floor(rng() * (maxLength - minLength + 1));
    const start = first + Math.floor(rng() * (total - first - 2 * L + 1));
    const segment = Array.from({ length: L }, draw);
    const out = [
      ...(bos === undefined ? [] : [bos]),
      ...Array.from({ length: start - first }, draw),
    ];
    for (let q = start; q < total; q++) out.push(segment[(q - start) % L]);
    const repeats: Repeat[] = [];
    for (let second = start + L; second < total; second += L) {
      repeats.push({ first: second - L, second, length: Math.min(L, total - second) });
    }
    return { tokens: out, repeats };
  });
}

/** One attention pattern [T_q][T_k] per sequence and head: weights[b][h][i][j]. */
export type AttentionWeights = number[][][][];

function toArray(weights: Tensor | AttentionWeights): AttentionWeights {
  return Array.isArray(weights) ? weights : weights.arraySync() as AttentionWeights;
}

/**
 * Each head's induction score, Olsson et al. 2022's prefix-matching score (§2 and Appendix
 * "Head activation evaluators": "attention to the token after earlier occurrences of the
 * current token"): for each query q inside a repeat, the attention it gives to every key j ≤ q
 * whose previous token is the query's token, summed, then averaged over the queries,
 *
 *   score_h = mean over b and repeated positions q of Σ_{j ≤ q, tokens[j − 1] = tokens[q]} A_h[b][q][j]
 *
 * for attention weights [B, h, T, T] of `sequences` (one per row b). On [r₁ … r_L, r₁ … r_L]
 * the key is the one position q − L + 1 (the token after the first occurrence); when a segment
 * repeats several times, every earlier copy's successor counts. A perfect induction head
 * scores 1; a head spreading its attention uniformly over the q + 1 keys it may see scores about
 * (number of earlier occurrences)/(q + 1).
 */
export function inductionScore(
  weights: Tensor | AttentionWeights,
  sequences: readonly RepeatedSequence[],
): number[] {
  const w = toArray(weights);
  checkRows(w, sequences, "inductionScore");
  return w[0].map((_, h) => {
    let sum = 0, n = 0;
    sequences.forEach(({ tokens, repeats }, b) => {
      for (const { second, length } of repeats) {
        for (let q = second; q < second + length && q < w[b][h].length; q++) {
          for (let j = 1; j <= q; j++) if (tokens[j - 1] === tokens[q]) sum += w[b][h][q][j];
          n++;
        }
      }
    });
    return sum / n;
  });
}

/**
 * Each head's previous-token score: the mean attention weight from each position to the one
 * before it, score_h = mean over b and q = 1 … T − 1 of A_h[b][q][q − 1] — the layer-1 half of
 * an induction circuit (Elhage et al. 2021, §"Two-Layer Attention-Only Transformers").
 */
export function previousTokenScore(weights: Tensor | AttentionWeights): number[] {
  const w = toArray(weights);
  return w[0].map((_, h) => {
    let sum = 0, n = 0;
    for (const row of w) {
      for (let q = 1; q < row[h].length; q++) {
        sum += row[h][q][q - 1];
        n++;
      }
    }
    return sum / n;
  });
}

function checkRows(w: AttentionWeights, sequences: readonly RepeatedSequence[], fn: string): void {
  if (w.length !== sequences.length) {
    throw new Error(`${fn}: ${w.length} attention rows for ${sequences.length} sequences`);
  }
}

/** The loss on segments' first occurrences and on their repeats (see {@link repeatLosses}). */
export interface RepeatLosses {
  /** Mean −log P of the first occurrences' tokens (random: ≈ ln of the number of tokens). */
  firstHalf: number;
  /** Mean −log P of the same tokens in the repeats (predictable by copying). */
  repeatedHalf: number;
}

/**
 * The model's loss on the same tokens in a segment's first occurrence and in its repeat: the
 * mean of −log P(tokens[q + 1] ∣ tokens[0 … q]) over q = f … f + ℓ − 2 (predicting the
 * segment's 2nd … ℓ-th token the first time, which nothing before announces; tokens that are
 * themselves repeats are left out) and over q = s … s + ℓ − 2 (the same tokens in the repeat,
 * announced by the token before each), for every repeat (f, s, ℓ) of every sequence. Olsson et al. 2022 (§2, "in-context learning
 * score") measure the same effect as the loss late in the context minus the loss early; a
 * model that copies from its context drives `repeatedHalf` far below `firstHalf`.
 */
export function repeatLosses(
  p: AnyGPTParams,
  config: GPTConfig,
  sequences: readonly RepeatedSequence[],
): RepeatLosses {
  const logProbs = tf.tidy(() => {
    const ids = tf.tensor2d(sequences.map((s) => s.tokens), undefined, "int32");
    return tf.logSoftmax(gptForward(p, config, ids).logits).arraySync() as number[][][];
  });
  let first = 0, repeated = 0, nFirst = 0, nRepeated = 0;
  sequences.forEach(({ tokens, repeats }, b) => {
    const copied = new Set(
      repeats.flatMap(({ second, length }) => Array.from({ length }, (_, i) => second + i)),
    );
    for (const { first: f, second: s, length } of repeats) {
      for (let i = 0; i + 1 < length; i++) {
        if (!copied.has(f + i + 1)) {
          first -= logProbs[b][f + i][tokens[f + i + 1]];
          nFirst++;
        }
        repeated -= logProbs[b][s + i][tokens[s + i + 1]];
        nRepeated++;
      }
    }
  });
  return { firstHalf: first / nFirst, repeatedHalf: repeated / nRepeated };
}

/** One head's scores (see {@link headScores}). */
export interface HeadScore {
  /** The block, 0-based. */
  layer: number;
  /** The head, 0-based. */
  head: number;
  /** {@link inductionScore}. */
  induction: number;
  /** {@link previousTokenScore}. */
  previousToken: number;
}

/**
 * Every head's induction and previous-token scores on `sequences`, from one traced forward
 * pass of any GPT (trained here, or the base model), sorted by induction score, highest first.
 */
export function headScores(
  p: AnyGPTParams,
  config: GPTConfig,
  sequences: readonly RepeatedSequence[],
): HeadScore[] {
  const ids = tf.tensor2d(sequences.map((s) => s.tokens), undefined, "int32");
  const { logits, attention } = gptForward(p, config, ids, { trace: true });
  const scores = attention!.flatMap((w, layer) => {
    const a = w.arraySync() as AttentionWeights;
    const induction = inductionScore(a, sequences), previous = previousTokenScore(a);
    return induction.map((s, head) => ({
      layer,
      head,
      induction: s,
      previousToken: previous[head],
    }));
  });
  tf.dispose([ids, logits, ...attention!]);
  return scores.sort((a, b) => b.induction - a.induction);
}

/** Options of {@link findInductionHeads}. */
export interface FindInductionOptions {
  /** The token ids to draw the random segments from (e.g. a vocabulary without specials). */
  tokens: readonly number[];
  /** A first token, e.g. ⟨bos⟩, or none. */
  bos?: number;
  /** Sequences (default 16). */
  count?: number;
  /** Sequence length (default: the context length, at most 1 + 2·24). */
  total?: number;
  /** The seed (default 0). */
  seed?: number;
}

/**
 * The heads of any GPT ranked by induction score on repeated random sequences drawn from its
 * vocabulary, [bos, r₁ … r_L, r₁ … r_L] ({@link repeatedSequences}; Olsson et al. 2022, §2: the
 * random tokens make the repeat the only way to predict the second copy). Also the losses on
 * the first and the repeated copy ({@link repeatLosses}). For a pretrained base model: pass its
 * vocabulary's ordinary ids as `tokens`.
 */
export function findInductionHeads(
  p: AnyGPTParams,
  config: GPTConfig,
  opts: FindInductionOptions,
): { heads: HeadScore[]; losses: RepeatLosses; sequences: RepeatedSequence[] } {
  const total = opts.total ??
    Math.min(config.contextLength, (opts.bos === undefined ? 0 : 1) + 2 * 24);
  const sequences = repeatedSequences({
    count: opts.count ?? 16,
    total,
    tokens: opts.tokens,
    bos: opts.bos,
    seed: opts.seed ?? 0,
  });
  return {
    heads: headScores(p, config, sequences),
    losses: repeatLosses(p, config, sequences),
    sequences,
  };
}

// ---------------------------------------------------------------------------------------
// Training the attention-only models
// ---------------------------------------------------------------------------------------

/** The settings of {@link trainInduction}. */
export interface InductionSettings {
  /** Vocabulary size V; id 0 is ⟨bos⟩, the random tokens are 1 … V − 1. */
  vocabSize: number;
  /** Sequence length (the context length of the model). */
  total: number;
  /** The shortest segment ({@link periodicRepeats}). */
  minLength: number;
  /** The longest segment. */
  maxLength: number;
  /** Model width d_model. */
  dModel: number;
  /** Heads per layer. */
  heads: number;
  /** Training steps. */
  steps: number;
  /** Sequences per step. */
  batchSize: number;
  /** Adam's learning rate. */
  learningRate: number;
  /** Measure the scores and losses every this many steps. */
  every: number;
  /** Held-out sequences for the measurements. */
  evalCount: number;
  /** The seed of the model and of the data. */
  seed: number;
}

/**
 * The chapter's settings: quick mode (tests) trains for seconds, full mode ≤ ~90 s on 2 cores.
 * The model is small (d_model 32, 2 heads) and the vocabulary large enough (V = 32) that
 * chance repeats inside a segment are rare.
 */
export function inductionSettings(quick: boolean): InductionSettings {
  return {
    vocabSize: 32,
    total: 25,
    minLength: 6,
    maxLength: 12,
    dModel: 32,
    heads: 2,
    steps: quick ? 300 : 3500,
    batchSize: 32,
    learningRate: 3e-3,
    every: quick ? 25 : 100,
    evalCount: 64,
    seed: 1,
  };
}

/** The attention-only pre-LN GPT of `layers` layers for these settings. */
export function inductionConfig(s: InductionSettings, layers: number): AttentionOnlyConfig {
  return {
    ...gptConfig({
      name: `attention-only, ${layers} layer${layers === 1 ? "" : "s"}`,
      vocabSize: s.vocabSize,
      contextLength: s.total,
      layers,
      heads: s.heads,
      dModel: s.dModel,
    }),
    feedForward: false,
  };
}

/** One measurement during {@link trainInduction}. */
export interface InductionPoint {
  /** Steps taken. */
  step: number;
  /** The highest induction score of any head. */
  inductionScore: number;
  /** {@link repeatLosses} on the held-out sequences. */
  losses: RepeatLosses;
}

/** What {@link trainInduction} returns. */
export interface InductionRun {
  /** The model's config. */
  config: AttentionOnlyConfig;
  /** The trained parameters (the caller disposes them with `disposeGPT`). */
  params: AnyGPTParams;
  /** Scores and losses at step 0 and every `every` steps. */
  history: InductionPoint[];
  /** Every head's scores at the end, highest induction score first. */
  heads: HeadScore[];
  /** The held-out sequences the scores were measured on. */
  evalSequences: RepeatedSequence[];
}

/**
 * Trains an attention-only GPT of `layers` layers on repeated random sequences with the
 * language-modelling loss over every position (Adam, `settings.learningRate`), measuring
 * every `every` steps the highest induction score and the first/repeated-copy losses on
 * held-out sequences — the curves of Olsson et al. 2022's phase change (§3, Figure 4, in
 * miniature). `onPoint` sees each measurement as it is made.
 */
export async function trainInduction(
  s: InductionSettings,
  layers: number,
  onPoint?: (point: InductionPoint) => void | Promise<void>,
): Promise<InductionRun> {
  const config = inductionConfig(s, layers);
  const params = initGPT(config, s.seed);
  const tokens = Array.from({ length: s.vocabSize - 1 }, (_, i) => i + 1);
  const data = (count: number, seed: number) =>
    periodicRepeats({
      count,
      total: s.total,
      minLength: s.minLength,
      maxLength: s.maxLength,
      tokens,
      bos: 0,
      seed,
    });
  const evalSequences = data(s.evalCount, s.seed + 1_000_003);
  const history: InductionPoint[] = [];
  const measure = async (step: number) => {
    const heads = headScores(params, config, evalSequences);
    const point = {
      step,
      inductionScore: heads[0].induction,
      losses: repeatLosses(params, config, evalSequences),
    };
    history.push(point);
    await onPoint?.(point);
  };
  await measure(0);
  const optimizer = createOptimizer({ learningRate: s.learningRate });
  try {
    await fit({
      variables: gptParameters(params),
      steps: s.steps,
      optimizer,
      loss: (step) => {
        const rows = data(s.batchSize, s.seed * 7919 + step).map((q) => q.tokens);
        const inputs = tf.tensor2d(rows.map((r) => r.slice(0, -1)), undefined, "int32");
        const targets = tf.tensor2d(rows.map((r) => r.slice(1)), undefined, "int32");
        return crossEntropy(gptForward(params, config, inputs as Tensor2D).logits, targets);
      },
      evaluate: {
        every: s.every,
        fn: async () => {
          await measure(optimizer.step);
          return history[history.length - 1].losses.repeatedHalf;
        },
      },
    });
  } catch (e) {
    disposeGPT(params);
    throw e;
  } finally {
    optimizer.dispose();
  }
  return {
    config,
    params,
    history,
    heads: headScores(params, config, evalSequences),
    evalSequences,
  };
}

/**
 * The step of the phase change in a run's history: the first measurement at which the loss on
 * repeated tokens is `margin` nats below the lowest the `control` run (the 1-layer model, which
 * cannot form an induction head) ever reached — the point past which copying from the context
 * does better than any one-layer trick (Olsson et al. 2022, §3: the abrupt drop of the loss on
 * repeated tokens). Undefined when the run never gets there.
 */
export function phaseChangeStep(
  history: readonly InductionPoint[],
  control: readonly InductionPoint[],
  margin = 0.5,
): number | undefined {
  const floor = Math.min(...control.map((h) => h.losses.repeatedHalf));
  return history.find((h) => h.losses.repeatedHalf < floor - margin)?.step;
}
