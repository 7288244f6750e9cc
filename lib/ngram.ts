/**
 * 一、介绍: a language model predicts the next token. Two small ones, to compare before the
 * GPT exists:
 *
 * - the count-based bigram model, P(uᵢ ∣ uᵢ₋₁) = (c(uᵢ₋₁, uᵢ) + α) / (c(uᵢ₋₁) + αV);
 * - a neural next-token model with a window of k tokens (Bengio et al., 2003):
 *   P(uᵢ ∣ uᵢ₋ₖ … uᵢ₋₁) = softmax(tanh([e(uᵢ₋ₖ); …; e(uᵢ₋₁)] W₁ + b₁) W₂ + b₂),
 *   trained by gradient descent on the same objective GPT-1 uses, Σᵢ log P(uᵢ ∣ context).
 *
 * And the loop that turns either into a writer: predict a distribution, choose a token,
 * append it, repeat.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor2D, Variable } from "./tf_types.ts";
import { makeRng, shapeText } from "./tensor.ts";
import { embedTokens } from "./embedding.ts";
import { crossEntropy } from "./objectives.ts";

/** Counts c(a, b) of each pair of neighbouring tokens, with add-α smoothing. */
export interface BigramModel {
  /** V, the number of token ids. */
  vocabSize: number;
  /** counts[a][b] = how often token b follows token a in the training ids. */
  counts: number[][];
  /** α, added to every count so unseen pairs keep a little probability. */
  smoothing: number;
}

/** Throws unless every id of a token stream is in [0, V) (`checkIds` in tensor.ts checks a batch tensor). */
function checkStream(ids: readonly number[], vocabSize: number, fn: string): void {
  ids.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new Error(`${fn}: id ${id} at position ${i} is outside [0, ${vocabSize})`);
    }
  });
}

/** Counts every neighbouring pair in `ids` (a token stream). */
export function fitBigram(ids: readonly number[], vocabSize: number, smoothing = 1): BigramModel {
  if (!(smoothing >= 0)) throw new Error(`fitBigram: smoothing must be ≥ 0, got ${smoothing}`);
  checkStream(ids, vocabSize, "fitBigram");
  const counts = Array.from({ length: vocabSize }, () => new Array<number>(vocabSize).fill(0));
  for (let i = 1; i < ids.length; i++) counts[ids[i - 1]][ids[i]]++;
  return { vocabSize, counts, smoothing };
}

/** P(· ∣ prev) = (c(prev, ·) + α) / (c(prev) + αV), a distribution over the V tokens. */
export function bigramProbabilities(model: BigramModel, prev: number): number[] {
  checkStream([prev], model.vocabSize, "bigramProbabilities");
  const row = model.counts[prev];
  const total = row.reduce((s, c) => s + c, 0) + model.smoothing * model.vocabSize;
  if (total === 0) return row.map(() => 1 / model.vocabSize);
  return row.map((c) => (c + model.smoothing) / total);
}

/** Mean negative log-likelihood −(1/N) Σᵢ log P(uᵢ ∣ uᵢ₋₁) over a token stream, in nats. */
export function bigramLoss(model: BigramModel, ids: readonly number[]): number {
  checkStream(ids, model.vocabSize, "bigramLoss");
  let sum = 0;
  for (let i = 1; i < ids.length; i++) {
    sum -= Math.log(bigramProbabilities(model, ids[i - 1])[ids[i]]);
  }
  return sum / Math.max(1, ids.length - 1);
}

/** Parameters of the neural next-token model (all learned jointly). */
export interface NeuralNgramParams {
  /** k, how many previous tokens the model sees. */
  context: number;
  /** Token embeddings e(u), [V, d]. */
  E: Variable;
  /** Hidden layer, [k·d, h] and [h]. */
  W1: Variable;
  /** Hidden bias b₁, [h]. */
  b1: Variable;
  /** Output layer to the vocabulary, [h, V]. */
  W2: Variable;
  /** Output bias b₂, [V]. */
  b2: Variable;
}

/** Sizes of the neural next-token model. */
export interface NeuralNgramConfig {
  /** V, the number of token ids. */
  vocabSize: number;
  /** k, the context window. */
  context: number;
  /** d, the embedding width. */
  dEmbed: number;
  /** h, the hidden width. */
  hidden: number;
  /** Seed for the initial weights. */
  seed: number;
}

/** Fresh parameters, small random weights (N(0, 1/fan_in)) and zero biases. */
export function initNeuralNgram(c: NeuralNgramConfig): NeuralNgramParams {
  for (const key of ["vocabSize", "context", "dEmbed", "hidden"] as const) {
    if (!Number.isInteger(c[key]) || c[key] < 1) {
      throw new Error(`initNeuralNgram: ${key} must be a positive integer, got ${c[key]}`);
    }
  }
  // each tidy frees the starting tensor; the variable keeps its own copy
  const normal = (shape: number[], std: number, seed: number) =>
    tf.tidy(() => tf.variable(tf.randomNormal(shape, 0, std, "float32", seed)));
  const zeros = (n: number) => tf.tidy(() => tf.variable(tf.zeros([n])));
  return {
    context: c.context,
    E: normal([c.vocabSize, c.dEmbed], 1, c.seed),
    W1: normal([c.context * c.dEmbed, c.hidden], 1 / Math.sqrt(c.context * c.dEmbed), c.seed + 1),
    b1: zeros(c.hidden),
    W2: normal([c.hidden, c.vocabSize], 1 / Math.sqrt(c.hidden), c.seed + 2),
    b2: zeros(c.vocabSize),
  };
}

/** Counts the learned numbers: V·d + k·d·h + h + h·V + V. */
export function countNeuralNgramParameters(p: NeuralNgramParams): number {
  return [p.E, p.W1, p.b1, p.W2, p.b2].reduce((s, v) => s + v.size, 0);
}

/**
 * Logits for a batch of contexts [N, k] (int32 ids):
 * tanh([e(uᵢ₋ₖ); …; e(uᵢ₋₁)] W₁ + b₁) W₂ + b₂, shape [N, V]. The embeddings e(u) are the rows
 * of E, looked up by `embedTokens` (embedding.ts).
 */
export function neuralNgramLogits(p: NeuralNgramParams, contexts: Tensor2D): Tensor2D {
  if (contexts.rank !== 2 || contexts.shape[1] !== p.context) {
    throw new Error(
      `neuralNgramLogits: contexts must have shape [N, ${p.context}], got ${shapeText(contexts)}`,
    );
  }
  return tf.tidy(() => {
    const [n, k] = contexts.shape;
    const E = p.E as Tensor2D;
    const x = embedTokens(E, contexts).reshape([n, k * E.shape[1]]);
    const h = tf.tanh(tf.add(tf.matMul(x, p.W1), p.b1));
    return tf.add(tf.matMul(h, p.W2), p.b2) as Tensor2D;
  });
}

/**
 * Sliding windows over a token stream: for each position i ≥ 1, the k ids before it
 * (left-padded with `padId` at the start) and the target uᵢ.
 */
export function slidingWindows(
  ids: readonly number[],
  k: number,
  padId: number,
): { contexts: number[][]; targets: number[] } {
  const contexts: number[][] = [];
  const targets: number[] = [];
  for (let i = 1; i < ids.length; i++) {
    const ctx: number[] = [];
    for (let j = i - k; j < i; j++) ctx.push(j >= 0 ? ids[j] : padId);
    contexts.push(ctx);
    targets.push(ids[i]);
  }
  return { contexts, targets };
}

/** Options for {@link trainNeuralNgram}. */
export interface TrainOptions {
  /** Number of Adam steps. */
  steps: number;
  /** Windows per step. */
  batchSize: number;
  /** Adam learning rate. */
  learningRate: number;
  /** Seed for the order of batches. */
  seed: number;
  /** Id used to left-pad the first windows. */
  padId: number;
  /** Called after each step with the step number (1-based) and its loss. */
  onStep?: (step: number, loss: number) => void | Promise<void>;
}

/**
 * Trains the model to maximise Σᵢ log P(uᵢ ∣ uᵢ₋ₖ … uᵢ₋₁) on `ids` with Adam, one random
 * batch of windows per step. Returns the loss of every step. No tensors outlive a step.
 */
export async function trainNeuralNgram(
  p: NeuralNgramParams,
  ids: readonly number[],
  o: TrainOptions,
): Promise<number[]> {
  checkStream(ids, p.E.shape[0], "trainNeuralNgram");
  const { contexts, targets } = slidingWindows(ids, p.context, o.padId);
  const rng = makeRng(o.seed);
  const optimizer = tf.train.adam(o.learningRate);
  const vars = [p.E, p.W1, p.b1, p.W2, p.b2];
  const losses: number[] = [];
  for (let step = 1; step <= o.steps; step++) {
    const rows = Array.from(
      { length: Math.min(o.batchSize, targets.length) },
      () => Math.floor(rng() * targets.length),
    );
    const x = tf.tensor2d(rows.map((r) => contexts[r]), [rows.length, p.context], "int32");
    const y = tf.tensor1d(rows.map((r) => targets[r]), "int32");
    const loss = optimizer.minimize(() => crossEntropy(neuralNgramLogits(p, x), y), true, vars);
    const value = (await loss!.data())[0];
    tf.dispose([x, y, loss!]);
    losses.push(value);
    await o.onStep?.(step, value);
  }
  optimizer.dispose();
  return losses;
}

/** Mean negative log-likelihood of a token stream under the neural model, in nats. */
export function neuralNgramLoss(
  p: NeuralNgramParams,
  ids: readonly number[],
  padId: number,
): number {
  const { contexts, targets } = slidingWindows(ids, p.context, padId);
  return tf.tidy(() => {
    const x = tf.tensor2d(contexts, [contexts.length, p.context], "int32");
    const y = tf.tensor1d(targets, "int32");
    return crossEntropy(neuralNgramLogits(p, x), y).dataSync()[0];
  });
}

/** P(· ∣ the last k ids of `history`), left-padded with `padId`. */
export function neuralNgramProbabilities(
  p: NeuralNgramParams,
  history: readonly number[],
  padId: number,
): number[] {
  const ctx: number[] = [];
  for (let j = history.length - p.context; j < history.length; j++) {
    ctx.push(j >= 0 ? history[j] : padId);
  }
  return tf.tidy(() => {
    const logits = neuralNgramLogits(p, tf.tensor2d([ctx], [1, p.context], "int32"));
    return Array.from(tf.softmax(logits).dataSync());
  });
}

/**
 * The autoregressive loop: repeat `steps` times — ask `next` for P(· ∣ history), choose a
 * token (the most probable one, or a sample when `rng` is given), append it. Stops early
 * at `stopId`. Returns the ids generated (without the prompt).
 */
export function generate(
  next: (history: readonly number[]) => number[],
  prompt: readonly number[],
  steps: number,
  opts: { rng?: () => number; stopId?: number } = {},
): number[] {
  if (prompt.length === 0) throw new Error("generate: the prompt must hold at least one token");
  const history = [...prompt];
  const out: number[] = [];
  for (let s = 0; s < steps; s++) {
    const probs = next(history);
    let choice = 0;
    if (opts.rng) {
      let r = opts.rng();
      choice = probs.length - 1;
      for (let i = 0; i < probs.length; i++) {
        r -= probs[i];
        if (r < 0) {
          choice = i;
          break;
        }
      }
    } else {
      for (let i = 1; i < probs.length; i++) if (probs[i] > probs[choice]) choice = i;
    }
    history.push(choice);
    out.push(choice);
    if (choice === opts.stopId) break;
  }
  return out;
}
