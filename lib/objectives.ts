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

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/** Options of {@link crossEntropy}. */
export interface CrossEntropyOptions {
  /**
   * Targets equal to this id (e.g. `<pad>`'s id, or −1) are left out: they add nothing to the
   * sum and are not counted in the mean. Default: none left out.
   */
  ignoreIndex?: number;
}

/**
 * The mean negative log-likelihood of `targets` under `logits`, over the targets that are not
 * `ignoreIndex`:
 *
 *   CE = −(1/|S|) Σ_{n ∈ S} log softmax(zₙ)[yₙ],   log softmax(z)[y] = z_y − m − log Σⱼ exp(zⱼ − m)
 *
 * with zₙ the logits of position n, yₙ its target, S the positions whose target is not
 * ignored and m = maxⱼ zⱼ (subtracting m keeps exp from overflowing, so logits of ±10⁴ are
 * fine). `logits` is [..., V] (e.g. [N, V] or [B, T, V]) and `targets` holds integer ids of the
 * leading shape ([N] or [B, T]).
 *
 * The gradient is written out (∂CE/∂zₙ = (softmax(zₙ) − onehot(yₙ)) / |S| for n ∈ S, 0 for
 * ignored positions) instead of derived by tfjs, which saves a pass over the [N, V] logits.
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
  if (logits.rank < 2) {
    throw new Error(
      `crossEntropy: logits must be [..., V] with at least 2 axes, got ${shapeText(logits.shape)}`,
    );
  }
  const V = logits.shape[logits.rank - 1];
  const lead = logits.shape.slice(0, -1);
  if (targets.shape.join(",") !== lead.join(",")) {
    throw new Error(
      `crossEntropy: targets ${shapeText(targets.shape)} must have the logits' leading shape ${
        shapeText(lead)
      } (logits ${shapeText(logits.shape)})`,
    );
  }
  const ys = targets.dataSync();
  const N = ys.length;
  const { ignoreIndex } = opts;
  // The flat position of each picked logit (row n, column yₙ), and which rows count.
  const flatIndex = new Int32Array(N);
  const keep = new Float32Array(N);
  let count = 0;
  for (let n = 0; n < N; n++) {
    const y = ys[n];
    if (y === ignoreIndex) continue;
    if (!Number.isInteger(y) || y < 0 || y >= V) {
      throw new Error(
        `crossEntropy: target ${y} at flat position ${n} is outside the vocabulary 0 … ${V - 1}` +
          (ignoreIndex === undefined ? "" : ` and is not the ignored id ${ignoreIndex}`),
      );
    }
    flatIndex[n] = n * V + y;
    keep[n] = 1;
    count++;
  }
  if (count === 0) {
    throw new Error(
      `crossEntropy: all ${N} targets equal ignoreIndex ${ignoreIndex}; there is nothing to average`,
    );
  }
  const safeTargets = Int32Array.from(ys, (y) => (y === ignoreIndex ? 0 : y));
  return tf.tidy(() => {
    const f = tf.customGrad((z, save) => {
      const z2 = z as Tensor2D;
      (save as tf.GradSaveFunc)([z2]);
      const m = tf.max(z2, -1, true);
      const shifted = tf.sub(z2, m);
      const logSumExp = tf.log(tf.sum(tf.exp(shifted), -1));
      const picked = tf.gather(tf.reshape(shifted, [-1]), tf.tensor1d(flatIndex, "int32"));
      const nll = tf.mul(tf.sub(logSumExp, picked), tf.tensor1d(keep));
      return {
        value: tf.div(tf.sum(nll), count) as Scalar,
        gradFunc: (dy: Tensor, [sz]: Tensor[]) => {
          const scale = tf.mul(tf.tensor2d(keep, [N, 1]), tf.div(dy, count));
          const oneHot = tf.oneHot(tf.tensor1d(safeTargets, "int32"), V);
          return tf.mul(tf.sub(tf.softmax(sz), oneHot), scale);
        },
      };
    });
    return f(tf.reshape(logits, [N, V])) as Scalar;
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
      `languageModelingLoss: inputs ${shapeText(batch.inputs.shape)} and targets ${
        shapeText(batch.targets.shape)
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
