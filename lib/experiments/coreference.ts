/**
 * What does "it" refer to? The experiment of chapter 04: a small Transformer encoder trained
 * on the "it" sentences ("The animal didn't cross the street because it was too tired /
 * narrow") to name the noun "it" stands for, and a way to read, from its attention, which
 * noun "it" looks at.
 *
 * The model never sees an attention label. It reads the whole sentence with N encoder blocks
 * (bidirectional self-attention: "it" can see the adjective after it), then answers the
 * question "which word is 'it'?" with one more attention head, the *copy head*: its query is
 * the encoder's output at "it", its keys and values are the plain word embeddings, so what it
 * hands back is a mixture of words, read out against every word of the vocabulary:
 *
 *   h₀ = UWₑ + PE,   h_l = EncoderBlock_l(h_{l−1}),   H = h_N,   E = UWₑ
 *   a = softmax(H[it]W_q (EW_k)ᵀ/√d_model),   z = Σⱼ aⱼ·Eⱼ,   P(word ∣ sentence) = softmax(zWₑᵀ)
 *
 * The loss only asks for the referent's word. Why the copy head: a plain encoder trained the
 * same way (tried while building chapter 04) learns one head that always looks at the animal
 * and one that always looks at the place, and lets its feed-forward layer pick between them;
 * its attention from "it" says nothing about the referent. Values that are plain word
 * embeddings cannot be mixed and unmixed later: the copy head has to look at the right noun.
 * Its keys are plain word embeddings too, so whether a word is chosen depends on the word and
 * on what "it" asks, never on which other words share the sentence.
 * {@link headAccuracies} measures every head, the encoder's and the copy head.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Scalar, Tensor, Tensor2D, Variable, Variable2D } from "../tf_types.ts";
import type { ItSentence } from "../data.ts";
import { SPECIAL_TOKENS, Vocabulary } from "../tokenizer.ts";
import { isQuick } from "../env.ts";
import { embedTokens, initEmbedding, sinusoidalPositionalEncoding } from "../embedding.ts";
import { crossEntropy } from "../objectives.ts";
import { checkIds, tidyRecord } from "../tensor.ts";
import { paddingMask, scaledDotProductAttention } from "../attention.ts";
import {
  encoderBlock,
  encoderBlockParameters,
  type EncoderBlockParams,
  initEncoderBlock,
  type NormPlacement,
} from "../transformer.ts";
import { deriveSeeds, initLinear, linear, type LinearParams, matMul2d } from "../kernels.ts";
import { createOptimizer, epochBatches, fit, type FitResult, type StepReport } from "../train.ts";

/** The size of the coreference model and how it is trained. */
export interface CorefConfig {
  /** Model width d_model. */
  dModel: number;
  /** Attention heads h per encoder block (d_model must be divisible by h). */
  heads: number;
  /** FFN inner width d_ff. */
  dFF: number;
  /** Encoder blocks N ≥ 1 before the copy head (where "it" learns the adjective after it). */
  layers: number;
  /** Layer norm placement in the encoder blocks. */
  norm: NormPlacement;
  /** Training steps (minibatches). */
  steps: number;
  /** Sentences per minibatch. */
  batchSize: number;
  /** Adam's step size α. */
  learningRate: number;
  /** Seed of the initial weights and of the batch order. */
  seed: number;
}

/**
 * The configuration chapter 04 trains (and its test): d_model 32, 4 heads, d_ff 64, one
 * encoder block (pre-LN) before the copy head, Adam α = 0.003 on batches of 32, seed 1;
 * 600 steps, or 300 in quick mode.
 */
export function corefConfig(quick: boolean = isQuick()): CorefConfig {
  return {
    dModel: 32,
    heads: 4,
    dFF: 64,
    layers: 1,
    norm: "pre",
    steps: quick ? 300 : 600,
    batchSize: 32,
    learningRate: 0.003,
    seed: 1,
  };
}

/** The trainable parameters: embedding, encoder blocks and the copy head's W_q, W_k. */
export interface CorefParams {
  /** Token embedding Wₑ [|V|, d_model], also the copy head's values and the readout. */
  embedding: Variable2D;
  /** The encoder blocks. */
  blocks: EncoderBlockParams[];
  /** The copy head's query projection W_q [d_model, d_model] and bias. */
  copyQuery: LinearParams;
  /** The copy head's key projection W_k [d_model, d_model] and bias (applied to UWₑ). */
  copyKey: LinearParams;
}

/** A coreference model: its config, its word vocabulary and its parameters. */
export interface CorefModel {
  /** Size and training settings. */
  config: CorefConfig;
  /** The words of the training sentences, after `<pad>` and `<unk>`. */
  vocab: Vocabulary;
  /** The longest sentence (in tokens) the model accepts. */
  maxLen: number;
  /** The trainable parameters. */
  params: CorefParams;
}

/** Sentences ready for the model: padded ids, the position of "it", the referent's word id. */
export interface CorefBatch {
  /** Token ids [B][T], padded with `<pad>` to the longest sentence. */
  ids: number[][];
  /** The position of "it" in each sentence. */
  itIndex: number[];
  /** The referent noun's id in the vocabulary (the word to predict). */
  target: number[];
}

function checkConfig(cfg: CorefConfig): void {
  for (const name of ["dModel", "heads", "dFF", "layers", "batchSize"] as const) {
    const v = cfg[name];
    if (!Number.isInteger(v) || v < 1) {
      throw new Error(`CorefConfig: ${name} must be a positive integer, got ${v}`);
    }
  }
  for (const name of ["steps", "seed"] as const) {
    if (!Number.isInteger(cfg[name]) || cfg[name] < 0) {
      throw new Error(`CorefConfig: ${name} must be a non-negative integer, got ${cfg[name]}`);
    }
  }
  if (cfg.dModel % cfg.heads !== 0) {
    throw new Error(`CorefConfig: d_model ${cfg.dModel} is not divisible by heads ${cfg.heads}`);
  }
  if (!(cfg.learningRate > 0)) {
    throw new Error(`CorefConfig: learningRate must be positive, got ${cfg.learningRate}`);
  }
}

/**
 * A fresh model for the training sentences `train`: the vocabulary is their words (after
 * `<pad>` and `<unk>`), `maxLen` the longest of them plus 4 unless given. Wₑ ~ N(0, 1), the
 * scale of the sinusoidal positions added to it; blocks and projections as in
 * lib/transformer.ts. Reproducible from `config.seed`.
 */
export function initCorefModel(
  config: CorefConfig,
  train: readonly ItSentence[],
  maxLen?: number,
): CorefModel {
  checkConfig(config);
  if (train.length === 0) throw new Error("initCorefModel: no training sentences");
  const vocab = Vocabulary.build(
    train.flatMap((s) => s.tokens),
    [SPECIAL_TOKENS.pad, SPECIAL_TOKENS.unk],
  );
  const { dModel: d, heads, dFF, layers } = config;
  const seeds = deriveSeeds(config.seed, layers + 3);
  return {
    config,
    vocab,
    maxLen: maxLen ?? Math.max(...train.map((s) => s.tokens.length)) + 4,
    params: {
      embedding: initEmbedding(vocab.size, d, seeds[0], 1),
      blocks: Array.from(
        { length: layers },
        (_, i) => initEncoderBlock(d, heads, dFF, seeds[3 + i]),
      ),
      copyQuery: initLinear(d, d, seeds[1]),
      copyKey: initLinear(d, d, seeds[2]),
    },
  };
}

/** Every trainable tensor of the model. */
export function corefParameters(p: CorefParams): Variable[] {
  return [
    p.embedding,
    ...p.blocks.flatMap(encoderBlockParameters),
    p.copyQuery.W,
    p.copyQuery.b,
    p.copyKey.W,
    p.copyKey.b,
  ];
}

/**
 * The sentences as a batch: ids padded to the longest of them, the position of "it", and the
 * referent's word id. Words outside the vocabulary become `<unk>`. Throws for a sentence
 * longer than the model's `maxLen`.
 */
export function encodeItBatch(model: CorefModel, sentences: readonly ItSentence[]): CorefBatch {
  if (sentences.length === 0) throw new Error("encodeItBatch: no sentences");
  const T = Math.max(...sentences.map((s) => s.tokens.length));
  if (T > model.maxLen) {
    throw new Error(
      `encodeItBatch: a sentence has ${T} tokens, the model's maxLen is ${model.maxLen}`,
    );
  }
  const padId = model.vocab.idOf(SPECIAL_TOKENS.pad);
  return {
    ids: sentences.map((s) => {
      const ids = model.vocab.encode(s.tokens);
      return [...ids, ...Array<number>(T - ids.length).fill(padId)];
    }),
    itIndex: sentences.map((s) => s.itIndex),
    target: sentences.map((s) => model.vocab.idOf(s.tokens[s.referentIndex])),
  };
}

/** What {@link corefForward} returns. */
export interface CorefOutput {
  /** Word logits at "it", [B, |V|]. */
  logits: Tensor2D;
  /**
   * Attention weights per attention layer, [B, h, T, T] (rows: queries, columns: keys):
   * `weights[0 … N−1]` the encoder blocks, `weights[N]` the copy head ([B, 1, T, T]).
   */
  weights: Tensor[];
}

/**
 * The forward pass on ids [B, T] (int32) with "it" at position `itIndex[b]` of row b:
 *
 *   h₀ = UWₑ + PE,   h_l = EncoderBlock_l(h_{l−1}; padding mask),   H = h_N
 *   E = UWₑ,   A = softmax((HW_q + b_q)(EW_k + b_k)ᵀ/√d_model + M),   Z = A·E
 *   logits_b = Z[b, it_b]·Wₑᵀ
 *
 * UWₑ is `embedTokens`; the row at "it" is picked with a one-hot product (gather has no
 * gradient on wasm). Throws on ids of the wrong rank, dtype or length or outside the
 * vocabulary (`checkIds`), or an `itIndex` of the wrong length or outside the sentence.
 */
export function corefForward(model: CorefModel, ids: Tensor2D, itIndex: number[]): CorefOutput {
  const fn = "corefForward";
  checkIds(ids, fn, {
    vocabSize: model.vocab.size,
    maxLength: model.maxLen,
    lengthName: "model's maxLen",
  });
  const [B, T] = ids.shape;
  if (itIndex.length !== B) {
    throw new Error(`${fn}: ${B} sentences but ${itIndex.length} positions of "it"`);
  }
  for (const i of itIndex) {
    if (!Number.isInteger(i) || i < 0 || i >= T) {
      throw new Error(`${fn}: position of "it" ${i} is outside [0, ${T})`);
    }
  }
  const { params: p, config: cfg } = model;
  const d = cfg.dModel;
  return tidyRecord((): CorefOutput => {
    const mask = paddingMask(ids, model.vocab.idOf(SPECIAL_TOKENS.pad));
    const words = embedTokens(p.embedding, ids);
    let h: Tensor = tf.add(words, sinusoidalPositionalEncoding(T, d));
    const weights: Tensor[] = [];
    for (const block of p.blocks) {
      const r = encoderBlock(block, h, { norm: cfg.norm, mask });
      weights.push(r.trace.weights);
      h = r.output;
    }
    const Q = linear(h, p.copyQuery.W, p.copyQuery.b).reshape([B, 1, T, d]);
    const K = linear(words, p.copyKey.W, p.copyKey.b).reshape([B, 1, T, d]);
    const copy = scaledDotProductAttention(Q, K, words.reshape([B, 1, T, d]), { mask });
    weights.push(copy.weights);
    const pick = tf.oneHot(tf.tensor1d(itIndex, "int32"), T).toFloat().reshape([B, 1, T, 1]);
    const z = tf.sum(tf.mul(copy.output, pick), [1, 2]) as Tensor2D;
    return { logits: matMul2d(z, p.embedding, true), weights };
  });
}

/**
 * The training loss: the mean cross-entropy of the referent's word ({@link crossEntropy} of
 * the logits at "it"), L = −(1/B) Σ_b log P(referent_b ∣ sentence_b).
 */
export function corefLoss(model: CorefModel, batch: CorefBatch): Scalar {
  return tf.tidy(() => {
    const ids = tf.tensor2d(batch.ids, undefined, "int32");
    const { logits } = corefForward(model, ids, batch.itIndex);
    return crossEntropy(logits, tf.tensor1d(batch.target, "int32"));
  });
}

/** Options of {@link trainCoref}. */
export interface TrainCorefOptions {
  /** Called after each step (a display, a log). */
  onStep?: (report: StepReport) => void | Promise<void>;
  /** Runs `fn` every `every` steps and after the last; reported as `evalLoss`. */
  evaluate?: { every: number; fn: () => number | Promise<number> };
}

/**
 * Trains the model on `train` with Adam (α = `config.learningRate`) for `config.steps`
 * minibatches of `config.batchSize` sentences, in a new seeded order each epoch.
 */
export async function trainCoref(
  model: CorefModel,
  train: readonly ItSentence[],
  opts: TrainCorefOptions = {},
): Promise<FitResult> {
  const { steps, batchSize, learningRate, seed } = model.config;
  const all = encodeItBatch(model, train);
  const batchOf = epochBatches(train.length, batchSize, seed);
  const batchAt = (step: number): CorefBatch => {
    const idx = batchOf(step);
    return {
      ids: idx.map((i) => all.ids[i]),
      itIndex: idx.map((i) => all.itIndex[i]),
      target: idx.map((i) => all.target[i]),
    };
  };
  const optimizer = createOptimizer({ learningRate });
  try {
    return await fit({
      variables: corefParameters(model.params),
      steps,
      loss: (step) => corefLoss(model, batchAt(step)),
      optimizer,
      evaluate: opts.evaluate,
      onStep: opts.onStep,
    });
  } finally {
    optimizer.dispose();
  }
}

/** Runs the model on `sentences` and returns its logits and weights as plain arrays. */
function run(model: CorefModel, sentences: readonly ItSentence[]) {
  const batch = encodeItBatch(model, sentences);
  const ids = tf.tensor2d(batch.ids, undefined, "int32");
  const out = corefForward(model, ids, batch.itIndex);
  const logits = out.logits.arraySync();
  const weights = out.weights.map((w) => w.arraySync() as number[][][][]);
  tf.dispose([ids, out.logits, ...out.weights]);
  return { batch, logits, weights };
}

/** The model's answer id per sentence: the most probable word at "it", argmaxₖ logits[k]. */
function answerIds(model: CorefModel, sentences: readonly ItSentence[]) {
  const { batch, logits } = run(model, sentences);
  return { batch, answers: logits.map((row) => row.indexOf(Math.max(...row))) };
}

/**
 * The model's answer for each sentence: the word it names for "it", the most probable word
 * argmaxₖ logits[k] (the copy head reads it from the words it attends to).
 */
export function corefAnswers(model: CorefModel, sentences: readonly ItSentence[]): string[] {
  return answerIds(model, sentences).answers.map((id) => model.vocab.tokenOf(id));
}

/**
 * The task accuracy: the fraction of sentences whose most probable word at "it" is the
 * referent, argmaxₖ logits[k] = referent.
 */
export function corefAccuracy(model: CorefModel, sentences: readonly ItSentence[]): number {
  const { batch, answers } = answerIds(model, sentences);
  return answers.filter((id, b) => id === batch.target[b]).length / sentences.length;
}

/** Which attention head: attention layer and head, both 0-based. */
export interface HeadRef {
  /** 0 … N − 1 for the encoder blocks, N for the copy head. */
  layer: number;
  /** The head within that layer (always 0 for the copy head). */
  head: number;
}

/** Attention from "it" to the two nouns in one head, per sentence. */
export interface ReferentAttention {
  /** a[it → referent] for each sentence. */
  referent: number[];
  /** a[it → other noun] for each sentence. */
  other: number[];
  /** The fraction of sentences in which the referent gets more weight than the other noun. */
  accuracy: number;
}

/** The number of heads in each attention layer: h for each encoder block, then 1 (copy head). */
export function attentionLayers(model: CorefModel): number[] {
  return [...model.params.blocks.map(() => model.config.heads), 1];
}

function checkHead(model: CorefModel, { layer, head }: HeadRef): void {
  const heads = attentionLayers(model);
  if (!Number.isInteger(layer) || layer < 0 || layer >= heads.length) {
    throw new Error(`layer ${layer} is outside [0, ${heads.length})`);
  }
  if (!Number.isInteger(head) || head < 0 || head >= heads[layer]) {
    throw new Error(`head ${head} is outside [0, ${heads[layer]}) in layer ${layer}`);
  }
}

function referentFrom(
  weights: number[][][][][],
  sentences: readonly ItSentence[],
  { layer, head }: HeadRef,
): ReferentAttention {
  const referent = sentences.map((s, b) => weights[layer][b][head][s.itIndex][s.referentIndex]);
  const other = sentences.map((s, b) => weights[layer][b][head][s.itIndex][s.otherIndex]);
  const wins = referent.filter((r, i) => r > other[i]).length;
  return { referent, other, accuracy: wins / sentences.length };
}

/**
 * How much attention "it" pays to its referent and to the other noun in one head, sentence by
 * sentence, and the attention accuracy: the fraction of sentences with
 * a[it → referent] > a[it → other noun]. Throws for a head the model does not have.
 */
export function referentAttention(
  model: CorefModel,
  sentences: readonly ItSentence[],
  ref: HeadRef,
): ReferentAttention {
  checkHead(model, ref);
  return referentFrom(run(model, sentences).weights, sentences, ref);
}

/**
 * The attention accuracy (see {@link referentAttention}) of every head, `[layer][head]`: the
 * encoder blocks' h heads each, then the copy head.
 */
export function headAccuracies(model: CorefModel, sentences: readonly ItSentence[]): number[][] {
  const { weights } = run(model, sentences);
  return attentionLayers(model).map((heads, layer) =>
    Array.from(
      { length: heads },
      (_, head) => referentFrom(weights, sentences, { layer, head }).accuracy,
    )
  );
}

/**
 * The head whose attention from "it" best picks the referent on `sentences` — pass the
 * training split, then report the chosen head on held-out sentences. Ties go to the first
 * head found (lower layer, then lower head).
 */
export function chooseHead(
  model: CorefModel,
  sentences: readonly ItSentence[],
): HeadRef & { accuracy: number } {
  let best = { layer: 0, head: 0, accuracy: -1 };
  headAccuracies(model, sentences).forEach((row, layer) =>
    row.forEach((accuracy, head) => {
      if (accuracy > best.accuracy) best = { layer, head, accuracy };
    })
  );
  return best;
}

/**
 * One sentence's attention weights in one head, [T][T] (row i: how token i splits its
 * attention over the tokens). Throws for a head the model does not have.
 */
export function sentenceAttention(
  model: CorefModel,
  sentence: ItSentence,
  ref: HeadRef,
): number[][] {
  checkHead(model, ref);
  return run(model, [sentence]).weights[ref.layer][0][ref.head];
}
