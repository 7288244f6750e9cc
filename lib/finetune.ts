/**
 * GPT-1's supervised fine-tuning (Radford et al. 2018, §3.2–3.3 and Figure 1): the input
 * transformations that turn each task into token sequences with the task tokens `<start>`,
 * `<delim>` and `<extract>`, the linear head W_y read at `<extract>`, and the objectives
 *
 *   P(y ∣ x¹…xᵐ) = softmax(hₗᵐ W_y)      L₂(C) = Σ_{(x,y)} log P(y ∣ x¹…xᵐ)
 *   L₃(C) = L₂(C) + λ·L₁(C)
 *
 * written here, as in the rest of the library, as losses to minimise: the mean negative
 * log-likelihoods loss₂ = −L₂/|batch| and loss₁ (per predicted token), and
 * loss₃ = loss₂ + λ·loss₁ (λ = 0.5 as in the paper, λ = 0 for the ablation).
 *
 * The pretrained GPT stays as it is: {@link initFineTune} gives the task tokens rows of their
 * own (a separate variable, `taskEmbedding`) and the token table the model reads is
 *
 *   E = keep ⊙ [Wₑ; 0] + P·taskEmbedding
 *
 * (P places row j of `taskEmbedding` at the id of task token j, `keep` zeroes those ids' old
 * rows), so every pretrained row keeps its exact value, and a run that gives the optimiser
 * only W_y (a linear probe) or W_y and `taskEmbedding` (prompt tuning) leaves every body weight
 * bit-identical ({@link fineTuneVariables}).
 *
 * Sequences are character ids of a {@link Vocabulary} (the chapter's tasks are Chinese and the
 * pretraining vocabulary is character-level); fine-tuning runs without dropout.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Scalar, Tensor, Tensor2D, Variable, Variable2D } from "./tf_types.ts";
import { type GPTConfig, gptForward, gptParameters, type GPTParams } from "./gpt.ts";
import { matMul2d } from "./kernels.ts";
import { crossEntropy } from "./objectives.ts";
import { CharTokenizer, SPECIAL_TOKENS, Vocabulary } from "./tokenizer.ts";

/** GPT-1's task tokens, in the order of the rows of `taskEmbedding`. */
export const TASK_TOKENS: readonly string[] = [
  SPECIAL_TOKENS.start,
  SPECIAL_TOKENS.delim,
  SPECIAL_TOKENS.extract,
];

/** The ids the input transformations use. */
export interface TaskTokenIds {
  /** `<start>`. */
  start: number;
  /** `<delim>`. */
  delim: number;
  /** `<extract>`: where the head reads hₗᵐ. */
  extract: number;
  /** The filler after `<extract>` (`<pad>`, or 0 when the vocabulary has none); never read. */
  pad: number;
}

/** The four task formats of Figure 1. */
export type TaskKind = "classification" | "entailment" | "similarity" | "multipleChoice";

/** One example of a task, as token ids (see {@link encodeChars}). */
export type TaskInput =
  | { task: "classification"; text: readonly number[] }
  | { task: "entailment"; premise: readonly number[]; hypothesis: readonly number[] }
  | { task: "similarity"; a: readonly number[]; b: readonly number[] }
  | { task: "multipleChoice"; context: readonly number[]; answers: readonly (readonly number[])[] };

/**
 * The vocabulary with the task tokens: `vocab` itself when it already has all three (the
 * vocabularies of this library reserve ids 3 … 5 for them, see `DEFAULT_SPECIALS`), else
 * `vocab` with the missing ones appended as special tokens (ids V, V + 1, …).
 */
export function extendVocabulary(vocab: Vocabulary): { vocab: Vocabulary; ids: TaskTokenIds } {
  const missing = TASK_TOKENS.filter((t) => !vocab.has(t));
  const extended = missing.length === 0
    ? vocab
    : new Vocabulary([...vocab.tokens, ...missing], [...vocab.specials, ...missing]);
  const id = (t: string) => extended.tokens.indexOf(t);
  return {
    vocab: extended,
    ids: {
      start: id(SPECIAL_TOKENS.start),
      delim: id(SPECIAL_TOKENS.delim),
      extract: id(SPECIAL_TOKENS.extract),
      pad: extended.has(SPECIAL_TOKENS.pad) ? id(SPECIAL_TOKENS.pad) : 0,
    },
  };
}

/** The ids of a text's characters (one per code point); throws for an empty text. */
export function encodeChars(vocab: Vocabulary, text: string, name = "text"): number[] {
  if (typeof text !== "string" || text.length === 0) {
    throw new Error(`encodeChars: ${name} is empty`);
  }
  return vocab.encode(CharTokenizer.codePoints(text));
}

function nonEmpty(ids: readonly number[] | undefined, task: string, name: string): number[] {
  if (!Array.isArray(ids)) throw new Error(`${task}: ${name} is missing`);
  if (ids.length === 0) throw new Error(`${task}: ${name} is empty`);
  return [...ids];
}

/** The last `keep` tokens of `ids` (truncation from the left). */
function lastTokens(ids: number[], keep: number): number[] {
  return keep >= ids.length ? ids : ids.slice(ids.length - keep);
}

/**
 * `[Start] first [Delim] second [Extract]`, at most n tokens: tokens are dropped from the left
 * of `first` (the start of a premise or a story is the least needed to judge its end), and
 * only when `second` alone does not fit, from the left of `second` too.
 */
function pairSequence(
  first: number[],
  second: number[],
  ids: TaskTokenIds,
  n: number,
  task: string,
): number[] {
  const room = n - 3;
  if (room < 2) throw new Error(`${task}: the context length ${n} leaves no room for two texts`);
  const b = lastTokens(second, room - 1);
  const a = lastTokens(first, room - b.length);
  return [ids.start, ...a, ids.delim, ...b, ids.extract];
}

/**
 * GPT-1's input transformations (Figure 1), each giving the token sequences the model reads:
 *
 * - classification: `[Start] text [Extract]`;
 * - entailment: `[Start] premise [Delim] hypothesis [Extract]`;
 * - similarity: `[Start] a [Delim] b [Extract]` and `[Start] b [Delim] a [Extract]` (both
 *   orders, since the texts have no inherent order);
 * - multiple choice: `[Start] context [Delim] answerᵢ [Extract]`, one per candidate.
 *
 * Truncation to the context length n: a classification text keeps its last n − 2 tokens; a
 * pair drops tokens from the left of its first part (premise, context), and only when the
 * second part alone does not fit, from the left of the second; similarity shortens the
 * longer text from the left (both texts when they are equally long), so both orders hold the
 * same tokens. The special tokens are always kept. Throws for an empty text, no candidates
 * and a context too short for the format.
 */
export function transformInput(
  input: TaskInput,
  ids: TaskTokenIds,
  contextLength: number,
): number[][] {
  const n = contextLength;
  switch (input.task) {
    case "classification": {
      const text = nonEmpty(input.text, "classification", "text");
      if (n < 3) throw new Error(`classification: the context length ${n} leaves no room`);
      return [[ids.start, ...lastTokens(text, n - 2), ids.extract]];
    }
    case "entailment": {
      const premise = nonEmpty(input.premise, "entailment", "premise");
      const hypothesis = nonEmpty(input.hypothesis, "entailment", "hypothesis");
      return [pairSequence(premise, hypothesis, ids, n, "entailment")];
    }
    case "similarity": {
      let a = nonEmpty(input.a, "similarity", "text a");
      let b = nonEmpty(input.b, "similarity", "text b");
      if (n < 5) throw new Error(`similarity: the context length ${n} leaves no room`);
      while (a.length + b.length + 3 > n) {
        const longer = Math.max(a.length, b.length);
        if (a.length === longer) a = a.slice(1);
        if (b.length === longer) b = b.slice(1);
      }
      return [
        [ids.start, ...a, ids.delim, ...b, ids.extract],
        [ids.start, ...b, ids.delim, ...a, ids.extract],
      ];
    }
    case "multipleChoice": {
      const context = nonEmpty(input.context, "multipleChoice", "context");
      if (!Array.isArray(input.answers) || input.answers.length < 2) {
        throw new Error(
          `multipleChoice: needs at least 2 candidate answers, got ${input.answers?.length ?? 0}`,
        );
      }
      return input.answers.map((ans, i) =>
        pairSequence(
          context,
          nonEmpty(ans, "multipleChoice", `answer ${i}`),
          ids,
          n,
          "multipleChoice",
        )
      );
    }
    default:
      throw new Error(`transformInput: unknown task ${JSON.stringify((input as TaskInput).task)}`);
  }
}

/** A pretrained GPT ready to fine-tune on one task. */
export interface FineTuneModel {
  /** The pretrained parameters (unchanged by {@link initFineTune}). */
  body: GPTParams;
  /** The body's config with `vocabSize` = the extended vocabulary's size. */
  config: GPTConfig;
  /** The vocabulary with the task tokens ({@link extendVocabulary}). */
  vocab: Vocabulary;
  /** The ids of the task tokens and of the padding. */
  ids: TaskTokenIds;
  /** The task tokens' own embedding rows [3, d_model], in {@link TASK_TOKENS} order. */
  taskEmbedding: Variable2D;
  /** The head W_y [d_model, K] (K = 1 for multiple choice: one score per candidate). */
  Wy: Variable2D;
  /** The task this head is for. */
  task: TaskKind;
  /** K: the number of classes (the most candidates for multiple choice). */
  classes: number;
}

/** Options of {@link initFineTune}. */
export interface FineTuneOptions {
  /** The task format. */
  task: TaskKind;
  /** K: the classes (entailment 3, similarity 2; multiple choice: the most candidates). */
  classes: number;
  /** Seed of the new rows and of W_y, both from N(0, 0.02²). */
  seed: number;
}

/**
 * Prepares a pretrained GPT for fine-tuning: extends the vocabulary with the task tokens
 * ({@link extendVocabulary}), gives them fresh embedding rows ∼ N(0, 0.02²) in a separate
 * variable (when the pretrained vocabulary already reserved their ids, those rows were never
 * trained — the tokens do not occur in pretraining text — and are replaced) and creates
 * W_y ∼ N(0, 0.02²). The body's variables are shared, not copied. Needs a tied output layer
 * (GPT-1's), so that L₁ can score the task tokens with the same table.
 */
export function initFineTune(
  body: GPTParams,
  config: GPTConfig,
  vocab: Vocabulary,
  opts: FineTuneOptions,
): FineTuneModel {
  if (!config.tiedOutput || body.output) {
    throw new Error("initFineTune: needs a tied output layer (GPT-1's), got an untied one");
  }
  const V = body.tokenEmbedding.shape[0];
  if (vocab.size !== V) {
    throw new Error(
      `initFineTune: the vocabulary has ${vocab.size} tokens, the embedding ${V} rows`,
    );
  }
  const { task, classes, seed } = opts;
  const minimum = task === "entailment" ? 3 : 2;
  if (!Number.isInteger(classes) || classes < minimum) {
    throw new Error(`initFineTune: ${task} needs at least ${minimum} classes, got ${classes}`);
  }
  if (task === "similarity" && classes !== 2) {
    throw new Error(`initFineTune: similarity has 2 classes (paraphrase or not), got ${classes}`);
  }
  const extended = extendVocabulary(vocab);
  const d = config.dModel;
  const rows = TASK_TOKENS.length;
  const K = task === "multipleChoice" ? 1 : classes;
  return {
    body,
    config: { ...config, vocabSize: extended.vocab.size },
    vocab: extended.vocab,
    ids: extended.ids,
    taskEmbedding: tf.tidy(() =>
      tf.variable(tf.randomNormal([rows, d], 0, 0.02, "float32", seed))
    ) as Variable2D,
    Wy: tf.tidy(() =>
      tf.variable(tf.randomNormal([d, K], 0, 0.02, "float32", seed + 1))
    ) as Variable2D,
    task,
    classes,
  };
}

/**
 * What a fine-tuning run trains (the body is shared with the pretrained model in all three):
 *
 * - `"full"` — every body weight, the task-token rows and W_y: GPT-1 (Radford et al. 2018,
 *   §3.2: W_y and the task-token embeddings are the only new parameters, but all are updated);
 * - `"prompt"` — the task-token rows and W_y, the body frozen: the three task tokens act as a
 *   trained soft prompt read through the frozen body, prompt tuning (Lester et al. 2021) plus
 *   the head;
 * - `"probe"` — W_y alone, a linear probe on the frozen body's hₗᵐ (the task tokens keep their
 *   random rows): what the article describes, only W_y adjusted.
 */
export type FineTuneRegime = "full" | "prompt" | "probe";

/**
 * The variables a {@link FineTuneRegime} trains: `"full"` — the body's parameters, then
 * `taskEmbedding`, then W_y; `"prompt"` — `taskEmbedding` and W_y; `"probe"` — W_y. In the last
 * two the body stays bit-identical.
 */
export function fineTuneVariables(m: FineTuneModel, regime: FineTuneRegime): Variable[] {
  if (regime === "probe") return [m.Wy];
  if (regime === "prompt") return [m.taskEmbedding, m.Wy];
  if (regime === "full") return [...gptParameters(m.body), m.taskEmbedding, m.Wy];
  throw new Error(
    `fineTuneVariables: regime must be "full", "prompt" or "probe", got ${String(regime)}`,
  );
}

/** Frees the task-token rows and W_y (not the body). */
export function disposeFineTuneHead(m: FineTuneModel): void {
  tf.dispose([m.taskEmbedding, m.Wy]);
}

/**
 * The token table the model reads, E = keep ⊙ [Wₑ; 0] + P·taskEmbedding ∈ ℝ^{V′×d}: the
 * pretrained rows, zero rows for appended ids, and the task tokens' rows at their ids.
 */
export function tokenTable(m: FineTuneModel): Tensor2D {
  return tf.tidy(() => {
    const We = m.body.tokenEmbedding;
    const [V, d] = We.shape;
    const V2 = m.config.vocabSize;
    const taskIds = [m.ids.start, m.ids.delim, m.ids.extract];
    const keep = new Float32Array(V2).fill(1);
    const place = new Float32Array(V2 * taskIds.length);
    taskIds.forEach((id, j) => {
      keep[id] = 0;
      place[id * taskIds.length + j] = 1;
    });
    const padded = V2 > V ? tf.concat([We, tf.zeros([V2 - V, d])], 0) : We;
    return tf.add(
      tf.mul(padded, tf.tensor2d(keep, [V2, 1])),
      matMul2d(tf.tensor2d(place, [V2, taskIds.length]), m.taskEmbedding),
    ) as Tensor2D;
  });
}

/** A batch of transformed examples, padded on the right to one length. */
export interface FineTuneBatch {
  /** Token ids [N, T] (int32): every sequence of every example, padded after `<extract>`. */
  ids: Tensor2D;
  /** The position of `<extract>` in each row (found by its id). */
  extractPositions: number[];
  /** For each example, its rows of `ids` (1; 2 for similarity; one per candidate). */
  rows: number[][];
  /** The labels [B] (int32), or undefined when none were given. */
  labels?: Tensor;
}

/**
 * Transforms `inputs` ({@link transformInput}) and pads them with `ids.pad` to the longest
 * sequence. Throws when an input's task is not the model's, when a label is outside
 * 0 … K − 1 (for multiple choice: outside that example's candidates) and when a row does not
 * hold `<extract>` exactly once.
 */
export function fineTuneBatch(
  m: FineTuneModel,
  inputs: readonly TaskInput[],
  labels?: readonly number[],
): FineTuneBatch {
  if (inputs.length === 0) throw new Error("fineTuneBatch: no examples");
  if (labels && labels.length !== inputs.length) {
    throw new Error(`fineTuneBatch: ${inputs.length} examples but ${labels.length} labels`);
  }
  const sequences: number[][] = [];
  const rows: number[][] = [];
  inputs.forEach((input, i) => {
    if (input.task !== m.task) {
      throw new Error(
        `fineTuneBatch: example ${i} is a ${input.task} input, the model's head is for ${m.task}`,
      );
    }
    const seqs = transformInput(input, m.ids, m.config.contextLength);
    if (m.task === "multipleChoice" && seqs.length > m.classes) {
      throw new Error(
        `fineTuneBatch: example ${i} has ${seqs.length} candidates, the model at most ${m.classes}`,
      );
    }
    const count = m.task === "multipleChoice" ? seqs.length : m.classes;
    const y = labels?.[i];
    if (labels && !(Number.isInteger(y) && y! >= 0 && y! < count)) {
      throw new Error(
        `fineTuneBatch: label ${y} of example ${i} is outside the classes 0 … ${count - 1}`,
      );
    }
    rows.push(seqs.map((_, j) => sequences.length + j));
    sequences.push(...seqs);
  });
  const T = Math.max(...sequences.map((s) => s.length));
  const flat = new Int32Array(sequences.length * T).fill(m.ids.pad);
  const extractPositions = sequences.map((s, r) => {
    flat.set(s, r * T);
    const at = s.indexOf(m.ids.extract);
    if (at < 0 || s.lastIndexOf(m.ids.extract) !== at) {
      throw new Error(`fineTuneBatch: row ${r} must hold ${SPECIAL_TOKENS.extract} exactly once`);
    }
    return at;
  });
  return {
    ids: tf.tensor2d(flat, [sequences.length, T], "int32"),
    extractPositions,
    rows,
    labels: labels ? tf.tensor1d(Int32Array.from(labels), "int32") : undefined,
  };
}

/** Frees a batch's tensors. */
export function disposeFineTuneBatch(b: FineTuneBatch): void {
  tf.dispose(b.labels ? [b.ids, b.labels] : [b.ids]);
}

/** S ∈ {0,1}^{rows×columns} with S[i][j] = 1 for j in picks[i]: S·X sums the picked rows of X. */
function selection(rows: number, columns: number, picks: readonly number[][]): Tensor2D {
  const S = new Float32Array(rows * columns);
  picks.forEach((js, i) => js.forEach((j) => (S[i * columns + j] = 1)));
  return tf.tensor2d(S, [rows, columns]);
}

/** The result of {@link fineTuneForward}. */
export interface FineTuneOutput {
  /** Class logits [B, K] (multiple choice: [B, most candidates], missing ones at −10⁹). */
  logits: Tensor2D;
  /** The language-model logits [N, T, V′] of every row (for L₁). */
  lmLogits: Tensor;
  /** With `trace`: each block's attention weights [N, h, T, T]. */
  attention?: Tensor[];
}

/**
 * The fine-tuning forward pass: the GPT body over the batch's rows (the same computation as
 * `gptForward`, with the token table {@link tokenTable}), then hₗᵐ, the final state at each
 * row's `<extract>` (pre-LN: after the final layer norm), and
 *
 * - classification, entailment: logits = hₗᵐ W_y;
 * - similarity: logits = (hₗᵐ(a;b) + hₗᵐ(b;a)) W_y, the two orders' states added first;
 * - multiple choice: logit of candidate i = hₗᵐ(context; answerᵢ) W_y (a scalar), softmax over
 *   the candidates.
 *
 * The causal mask keeps padding after `<extract>` from changing hₗᵐ.
 */
export function fineTuneForward(
  m: FineTuneModel,
  batch: FineTuneBatch,
  opts: { trace?: boolean } = {},
): FineTuneOutput {
  const { body, config } = m;
  const [N, T] = batch.ids.shape;
  if (T > config.contextLength) {
    throw new Error(
      `fineTuneForward: ${T} tokens exceed the context length ${config.contextLength}`,
    );
  }
  return tf.tidy(() => {
    // The body's forward pass with the task-token rows swapped into the token table.
    const out = gptForward(body, config, batch.ids, {
      tokenEmbedding: tokenTable(m),
      hidden: true,
      trace: opts.trace,
    });
    const lmLogits = out.logits;
    const attention = out.attention;
    const h = out.hidden!.reshape([N * T, config.dModel]) as Tensor2D;
    // Row selections as one-hot matrix products (the wasm backend has no gradient for gather).
    const rowCount = batch.rows.length;
    const picked = matMul2d(
      selection(N, N * T, batch.extractPositions.map((p, r) => [r * T + p])),
      h,
    );
    let logits: Tensor2D;
    if (m.task === "similarity") {
      logits = matMul2d(matMul2d(selection(rowCount, N, batch.rows), picked), m.Wy);
    } else if (m.task === "multipleChoice") {
      const scores = matMul2d(picked, m.Wy);
      const C = Math.max(...batch.rows.map((r) => r.length));
      const slots = batch.rows.flatMap((r) =>
        Array.from({ length: C }, (_, c) => (c < r.length ? [r[c]] : []))
      );
      const missing = Float32Array.from(slots, (s) => (s.length === 0 ? -1e9 : 0));
      logits = tf.add(
        matMul2d(selection(rowCount * C, N, slots), scores).reshape([rowCount, C]),
        tf.tensor2d(missing, [rowCount, C]),
      ) as Tensor2D;
    } else {
      logits = matMul2d(picked, m.Wy);
    }
    return (opts.trace ? { logits, lmLogits, attention } : { logits, lmLogits }) as never;
  }) as FineTuneOutput;
}

/**
 * The next-token targets of L₁ on the batch's own rows: targets[r][t] = ids[r][t + 1] up to
 * `<extract>`, −1 (ignored) after it and at the last position.
 */
export function lmTargets(batch: FineTuneBatch): Tensor2D {
  const [N, T] = batch.ids.shape;
  const ids = batch.ids.dataSync();
  const targets = new Int32Array(N * T).fill(-1);
  batch.extractPositions.forEach((e, r) => {
    for (let t = 0; t < e; t++) targets[r * T + t] = ids[r * T + t + 1];
  });
  return tf.tensor2d(targets, [N, T], "int32");
}

/** The losses of {@link fineTuneLoss}. */
export interface FineTuneLosses {
  /** loss₃ = loss₂ + λ·loss₁, what is minimised. */
  loss: Scalar;
  /** loss₂ = −(1/B) Σ log P(y ∣ x¹…xᵐ), the mean over the batch's examples. */
  l2: Scalar;
  /** loss₁: the mean next-token negative log-likelihood over the rows (up to `<extract>`). */
  l1: Scalar;
}

/**
 * GPT-1's fine-tuning objective on one batch (as mean losses to minimise):
 *
 *   loss₂ = −(1/B) Σ_b log softmax(logits_b)[y_b]        (−L₂ per example)
 *   loss₁ = −(1/|S|) Σ_{(r,t) ∈ S} log P(u_{r,t+1} ∣ u_{r,≤t})   (−L₁ per token, S: positions
 *           before `<extract>`)
 *   loss₃ = loss₂ + λ·loss₁        (λ = 0.5 by default, 0 for the ablation)
 *
 * both from `crossEntropy` (lib/objectives.ts). The batch must carry labels.
 */
export function fineTuneLoss(
  m: FineTuneModel,
  batch: FineTuneBatch,
  opts: { lambda?: number } = {},
): FineTuneLosses {
  const { lambda = 0.5 } = opts;
  if (!(lambda >= 0)) throw new Error(`fineTuneLoss: λ must be ≥ 0, got ${lambda}`);
  if (!batch.labels) throw new Error("fineTuneLoss: the batch has no labels");
  const labels = batch.labels;
  return tf.tidy(() => {
    const { logits, lmLogits } = fineTuneForward(m, batch);
    const l2 = crossEntropy(logits, labels);
    const l1 = crossEntropy(lmLogits, lmTargets(batch), { ignoreIndex: -1 });
    // λ = 0: loss₃ is loss₂ itself, so that no gradient flows back through L₁'s output layer.
    const loss = lambda === 0 ? tf.clone(l2) : tf.add(l2, tf.mul(l1, lambda));
    return { loss: loss as Scalar, l2, l1 } as never;
  }) as FineTuneLosses;
}

/** The predicted class (or candidate) of each example: argmax of the logits. */
export function predictClasses(m: FineTuneModel, batch: FineTuneBatch): number[] {
  return tf.tidy(() => Array.from(tf.argMax(fineTuneForward(m, batch).logits, 1).dataSync()));
}
