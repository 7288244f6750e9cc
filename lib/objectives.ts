/**
 * What a language model is trained to do, as numbers: GPT-1's objective L₁, the
 * cross-entropy loss that minimises −L₁ on batches, and perplexity.
 *
 * GPT-1 (Radford et al. 2018, §3.1) maximises, over a corpus of tokens U = {u₁, …, uₙ},
 *
 *   L₁(U) = Σᵢ log P(uᵢ ∣ uᵢ₋ₖ, …, uᵢ₋₁; Θ)
 *
 * with a context window of k tokens. Training minimises the mean of the negated terms over a
 * batch, −L₁ / (number of terms): the cross-entropy between the model's next-token
 * distribution and the token that actually came next ({@link crossEntropy}). Its exponential
 * is the perplexity ({@link perplexity}).
 *
 * ```ts
 * const { inputs, targets } = batches(step); // targets = inputs shifted left by one
 * const loss = languageModelingLoss(params, config, { inputs, targets });
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Scalar, Tensor, Tensor2D } from "./tf_types.ts";
import type { LMBatch } from "./data.ts";
import { type GPTConfig, gptForward, type GPTParams } from "./gpt.ts";
import { type Seq2SeqConfig, seq2seqForward, type Seq2SeqParams } from "./transformer.ts";
import { shapeText } from "./tensor.ts";

/** Options of {@link targetLogProbs} and {@link crossEntropy}. */
export interface CrossEntropyOptions {
  /**
   * Targets equal to this id (e.g. `<pad>`'s id, or −1) are left out: their log-probability
   * is 0, they add nothing to the sum and are not counted in the mean. Default: none left out.
   */
  ignoreIndex?: number;
}

/** The targets of `logits`, checked: which rows count, and ids safe to one-hot (0 if ignored). */
function checkTargets(
  fn: string,
  logits: Tensor,
  targets: Tensor,
  ignoreIndex: number | undefined,
): { V: number; keep: Float32Array; ids: Int32Array; count: number } {
  if (logits.rank < 2) {
    throw new Error(
      `${fn}: logits must be [..., V] with at least 2 axes, got ${shapeText(logits)}`,
    );
  }
  const V = logits.shape[logits.rank - 1];
  const lead = logits.shape.slice(0, -1);
  if (targets.shape.join(",") !== lead.join(",")) {
    throw new Error(
      `${fn}: targets ${shapeText(targets)} must have the logits' leading shape ${
        shapeText(lead)
      } (logits ${shapeText(logits)})`,
    );
  }
  const ys = targets.dataSync();
  const keep = new Float32Array(ys.length);
  const ids = new Int32Array(ys.length);
  let count = 0;
  for (let n = 0; n < ys.length; n++) {
    const y = ys[n];
    if (y === ignoreIndex) continue;
    if (!Number.isInteger(y) || y < 0 || y >= V) {
      throw new Error(
        `${fn}: target ${y} at flat position ${n} is outside the vocabulary 0 … ${V - 1}` +
          (ignoreIndex === undefined ? "" : ` and is not the ignored id ${ignoreIndex}`),
      );
    }
    ids[n] = y;
    keep[n] = 1;
    count++;
  }
  return { V, keep, ids, count };
}

/**
 * log softmax(zₙ)[yₙ] for each row zₙ of `z` [N, V] and target id yₙ, [N]: the one-hot product
 * Σⱼ onehot(yₙ)ⱼ·(zₙⱼ − m) − log Σⱼ exp(zₙⱼ − m), with its gradient written out.
 */
function pickLogProbs(z: Tensor2D, ids: Int32Array): Tensor {
  const [N, V] = z.shape;
  const f = tf.customGrad((x, save) => {
    const logits = x as Tensor2D;
    const oneHot = tf.oneHot(tf.tensor1d(ids, "int32"), V).toFloat();
    (save as tf.GradSaveFunc)([logits, oneHot]);
    const shifted = tf.sub(logits, tf.max(logits, -1, true));
    const logSumExp = tf.log(tf.sum(tf.exp(shifted), -1));
    return {
      value: tf.sub(tf.sum(tf.mul(shifted, oneHot), -1), logSumExp),
      gradFunc: (dy: Tensor, [sz, hot]: Tensor[]) =>
        tf.mul(tf.sub(hot, tf.softmax(sz)), tf.reshape(dy, [N, 1])),
    };
  });
  return f(z) as Tensor;
}

/**
 * The log-probability of each target under its logits, the one place this project turns
 * logits into log-likelihoods:
 *
 *   log P(yₙ ∣ zₙ) = log softmax(zₙ)[yₙ] = z_{n,yₙ} − m − log Σⱼ exp(z_{n,j} − m)
 *
 * with zₙ the logits of position n, yₙ its target and m = maxⱼ z_{n,j} (subtracting m keeps
 * exp from overflowing, so logits of ±10⁴ are fine). `logits` is [..., V] (e.g. [N, V] or
 * [B, T, V]) and `targets` holds integer ids of the leading shape ([N] or [B, T]); the result
 * has the targets' shape, with 0 at targets equal to `ignoreIndex`.
 *
 * z_{n,yₙ} is picked with a one-hot product, Σⱼ onehot(yₙ)ⱼ·z_{n,j} (the wasm backend has no
 * gradient for gather), and the gradient is written out instead of derived by tfjs:
 * ∂ log P(yₙ ∣ zₙ)/∂zₙ = onehot(yₙ) − softmax(zₙ), one pass over the [N, V] logits. The logits
 * must be finite (a −∞ logit makes its 0 · −∞ in the product NaN).
 *
 * {@link crossEntropy} is the negated mean of these; chapter 00's neural model, chapter 04's
 * "it" model, every GPT loss and the zero-shot scores of prompting.ts all go through it.
 *
 * Throws when the shapes do not fit and when a target is outside 0 … V − 1 (and not ignored).
 */
export function targetLogProbs(
  logits: Tensor,
  targets: Tensor,
  opts: CrossEntropyOptions = {},
): Tensor {
  const { V, keep, ids } = checkTargets("targetLogProbs", logits, targets, opts.ignoreIndex);
  return tf.tidy(() => {
    const logP = pickLogProbs(tf.reshape(logits, [-1, V]) as Tensor2D, ids);
    return tf.reshape(tf.mul(logP, tf.tensor1d(keep)), targets.shape);
  });
}

/**
 * The mean negative log-likelihood of `targets` under `logits`, over the targets that are not
 * `ignoreIndex`:
 *
 *   CE = −(1/|S|) Σ_{n ∈ S} log softmax(zₙ)[yₙ]
 *
 * with S the positions whose target is not ignored and log softmax(zₙ)[yₙ] from
 * {@link targetLogProbs} (same shapes: `logits` [..., V], `targets` of the leading shape). Its
 * gradient is therefore (softmax(zₙ) − onehot(yₙ)) / |S| for n ∈ S, 0 for ignored positions.
 *
 * Throws when the shapes do not fit, when a target is outside 0 … V − 1 (and not ignored),
 * and when every target is ignored — the mean of nothing is undefined, and a batch made only
 * of padding is a bug worth hearing about.
 */
export function crossEntropy(
  logits: Tensor,
  targets: Tensor,
  opts: CrossEntropyOptions = {},
): Scalar {
  const { ignoreIndex } = opts;
  const { V, keep, ids, count } = checkTargets("crossEntropy", logits, targets, ignoreIndex);
  if (count === 0) {
    throw new Error(
      `crossEntropy: all ${keep.length} targets equal ignoreIndex ${ignoreIndex}; there is nothing to average`,
    );
  }
  return tf.tidy(() => {
    const logP = pickLogProbs(tf.reshape(logits, [-1, V]) as Tensor2D, ids);
    return tf.div(tf.neg(tf.sum(tf.mul(logP, tf.tensor1d(keep)))), count) as Scalar;
  });
}

/**
 * Perplexity = exp(mean negative log-likelihood per token), e.g. `perplexity(loss)` of a
 * cross-entropy loss in nats. A model that spreads its probability evenly over m tokens has
 * perplexity m: it is as unsure as a fair m-sided die. Throws for NaN.
 */
export function perplexity(meanNll: number): number {
  if (Number.isNaN(meanNll)) throw new Error("perplexity: the mean negative log-likelihood is NaN");
  return Math.exp(meanNll);
}

/** One term of {@link l1Terms}: log P(uᵢ ∣ context). */
export interface L1Term {
  /** The position i of the predicted token in the stream (1 … n − 1). */
  position: number;
  /** The context uᵢ₋ₖ … uᵢ₋₁ the model reads (shorter near the start of the stream). */
  context: number[];
  /** The token uᵢ that came next. */
  target: number;
  /** log P(uᵢ ∣ context) in nats. */
  logProb: number;
}

/**
 * The terms of L₁ over a token stream u₀ … uₙ₋₁, one sliding window per predicted token:
 * term i (i = 1 … n − 1) is log P(uᵢ ∣ u_max(0, i−k) … uᵢ₋₁), read from
 * `logProbNext(context)[uᵢ]`.
 *
 * The start of the stream: u₀ has no context, so it is given, not predicted (the model is
 * never asked for P(u₀ ∣ nothing)); positions 1 … k − 1 see the shorter contexts they have
 * (the window is truncated on the left), and from position k on every context is exactly k
 * tokens. So there are n − 1 terms.
 *
 * `logProbNext(context)` returns log P(· ∣ context) over the vocabulary (one number per
 * token id). Throws when k is not a positive integer, when the stream has fewer than 2 tokens,
 * or when `logProbNext` returns too few numbers or a NaN.
 */
export function l1Terms(
  logProbNext: (context: number[]) => readonly number[],
  tokens: readonly number[],
  k: number,
): L1Term[] {
  if (!Number.isInteger(k) || k < 1) {
    throw new Error(`l1Objective: the window k must be a positive integer, got ${k}`);
  }
  if (tokens.length < 2) {
    throw new Error(
      `l1Objective: needs at least 2 tokens (the first is context only), got ${tokens.length}`,
    );
  }
  const terms: L1Term[] = [];
  for (let i = 1; i < tokens.length; i++) {
    const context = tokens.slice(Math.max(0, i - k), i);
    const target = tokens[i];
    const logProbs = logProbNext([...context]);
    const logProb = logProbs[target];
    if (logProb === undefined || Number.isNaN(logProb)) {
      throw new Error(
        `l1Objective: logProbNext([${context}]) gave ${logProbs.length} log-probabilities, ` +
          `no number for token ${target} at position ${i}`,
      );
    }
    terms.push({ position: i, context, target, logProb });
  }
  return terms;
}

/**
 * GPT-1's objective on one token stream:
 *
 *   L₁(U) = Σᵢ log P(uᵢ ∣ uᵢ₋ₖ, …, uᵢ₋₁; Θ)
 *
 * summed over the n − 1 sliding windows of {@link l1Terms} (u₀ is context only; the first
 * k − 1 predictions see shorter, left-truncated contexts). Higher is better; it is ≤ 0, and
 * −L₁/(n − 1) is the mean cross-entropy that training minimises.
 */
export function l1Objective(
  logProbNext: (context: number[]) => readonly number[],
  tokens: readonly number[],
  k: number,
): number {
  return l1Terms(logProbNext, tokens, k).reduce((sum, t) => sum + t.logProb, 0);
}

/** Options of {@link languageModelingLoss}. */
export interface LanguageModelingLossOptions {
  /** Seed of this step's dropout masks (passed to `gptForward`); none: no dropout. */
  dropoutSeed?: number;
  /** Targets to leave out of the mean (see {@link crossEntropy}). */
  ignoreIndex?: number;
}

/**
 * The pre-training loss of a GPT on one batch: −L₁ per predicted token,
 *
 *   loss = −(1/(B·T)) Σ_b Σ_t log P(targets[b, t] ∣ inputs[b, 0 … t]; Θ)
 *
 * the {@link crossEntropy} of the logits of `gptForward(p, config, inputs)` against `targets`.
 * The causal mask makes position t see inputs 0 … t, i.e. a window of up to T tokens: the k of
 * L₁ is the context length.
 */
export function languageModelingLoss(
  p: GPTParams,
  config: GPTConfig,
  batch: LMBatch,
  opts: LanguageModelingLossOptions = {},
): Scalar {
  if (batch.inputs.shape.join(",") !== batch.targets.shape.join(",")) {
    throw new Error(
      `languageModelingLoss: inputs ${shapeText(batch.inputs)} and targets ${
        shapeText(batch.targets)
      } must have the same shape`,
    );
  }
  return tf.tidy(() => {
    const { logits } = gptForward(p, config, batch.inputs, { dropoutSeed: opts.dropoutSeed });
    return crossEntropy(logits, batch.targets, { ignoreIndex: opts.ignoreIndex });
  });
}

/**
 * The mean cross-entropy (nats per token) of a GPT over every target of `batches`:
 * −(1/N) Σ log P(target ∣ the window up to it), each batch weighted by its number of tokens.
 * Its exponential is the perplexity.
 */
export function meanLoss(p: GPTParams, config: GPTConfig, batches: readonly LMBatch[]): number {
  if (batches.length === 0) throw new Error("meanLoss: no batches");
  let sum = 0;
  let count = 0;
  for (const batch of batches) {
    const n = batch.targets.size;
    sum += n * tf.tidy(() => languageModelingLoss(p, config, batch).dataSync()[0]);
    count += n;
  }
  return sum / count;
}

/**
 * The teacher-forced training loss: mean cross-entropy of the targets `tgtOut` [B, T]
 * (tgtIn shifted left by one) under the model's predictions, over non-padding targets only:
 *
 *   L = −(1/N) Σ_{t: tgtOut_t ≠ pad} log P(tgtOut_t ∣ src, tgtIn_{≤t})
 */
export function seq2seqLoss(
  p: Seq2SeqParams,
  cfg: Seq2SeqConfig,
  src: Tensor2D,
  tgtIn: Tensor2D,
  tgtOut: Tensor2D,
  padId: number,
): Scalar {
  if (tgtOut.shape.join() !== tgtIn.shape.join()) {
    throw new Error(
      `seq2seqLoss: tgtOut [${tgtOut.shape.join(", ")}] and tgtIn [${
        tgtIn.shape.join(", ")
      }] differ in shape`,
    );
  }
  return tf.tidy(() => {
    const { logits } = seq2seqForward(p, cfg, src, tgtIn, { padId });
    return crossEntropy(logits, tgtOut, { ignoreIndex: padId });
  }) as Scalar;
}
