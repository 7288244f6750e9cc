/**
 * Chapter 08's experiment: a miniature of GPT-1's transfer results (Radford et al. 2018, §5).
 * A small GPT is pre-trained once on unlabelled prose that uses the tasks' words (data/prose_zh.txt,
 * the role BooksCorpus plays for GPT-1) and a share of Tang poems;
 * every fine-tuning run then starts from a fresh copy of some of its weights:
 *
 * - all of them (GPT-1) or none (from scratch), on each of the four tasks;
 * - the embeddings and the first k blocks (k = 0 … n, the paper's Figure 2), the rest fresh;
 * - with λ = 0.5 or λ = 0 in L₃ = L₂ + λ·L₁;
 * - training every weight (GPT-1), only the task tokens and W_y (prompt tuning), or only W_y (a
 *   linear probe).
 *
 * ```ts
 * const settings = fineTuneSettings(isQuick());
 * const tasks = await loadFineTuneTasks();
 * const corpus = pretrainingCorpus(await loadTangPoems(), await loadProse(), tasks, settings);
 * const config = pretrainingConfig(settings.pretraining, corpus.vocab.size);
 * const pretrained = initGPT(config, settings.pretraining.seed);
 * await pretrain(pretrained, config, corpus.trainIds, settings.pretraining);
 * const run = await transferRun(pretrained, config, corpus.vocab, tasks, "sentiment", settings);
 * run.testAccuracy;
 * ```
 *
 * Nothing here draws: a chapter passes `onStep` a display.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor2D } from "../tf_types.ts";
import type { Vocabulary } from "../tokenizer.ts";
import { embedTokens } from "../embedding.ts";
import {
  charVocabulary,
  encodeCorpus,
  type FineTuneTasks,
  type PoemSplits,
  type TaskSplits,
} from "../data.ts";
import { disposeGPT, type GPTConfig, type GPTParams, initGPT, namedGPTParameters } from "../gpt.ts";
import {
  disposeFineTuneBatch,
  disposeFineTuneHead,
  encodeChars,
  fineTuneBatch,
  fineTuneLoss,
  type FineTuneModel,
  type FineTuneRegime,
  fineTuneVariables,
  initFineTune,
  predictClasses,
  type TaskInput,
  type TaskKind,
} from "../finetune.ts";
import {
  commonCharacterPoems,
  type PretrainingSettings,
  pretrainingSettings,
} from "./pretraining.ts";
import { createAdamW, epochBatches, fit, type StepReport, warmupCosine } from "../train.ts";

/** The names of chapter 08's tasks (the keys of `FineTuneTasks`). */
export type TaskName = keyof FineTuneTasks;

/** The tasks in the order the chapter shows them. */
export const TASK_NAMES: readonly TaskName[] = [
  "sentiment",
  "entailment",
  "similarity",
  "multipleChoice",
];

/** Each task's input format (Figure 1) and number of classes K (multiple choice: most endings). */
export const TASK_FORMATS: Readonly<Record<TaskName, { task: TaskKind; classes: number }>> = {
  sentiment: { task: "classification", classes: 2 },
  entailment: { task: "entailment", classes: 3 },
  similarity: { task: "similarity", classes: 2 },
  multipleChoice: { task: "multipleChoice", classes: 4 },
};

/** The sizes and schedules of chapter 08's runs. */
export interface FineTuneSettings {
  /** How the shared body is pre-trained (chapter 06's model and schedule, more steps). */
  pretraining: PretrainingSettings;
  /** The fraction of the pre-training stream that is Tang poems; the rest is the prose. */
  poemShare: number;
  /** Optimiser steps of every fine-tuning run. */
  steps: number;
  /** Examples per step. */
  batchSize: number;
  /** AdamW's peak learning rate (linear warmup, then cosine decay to 0, as GPT-1). */
  learningRate: number;
  /** Warmup steps. */
  warmupSteps: number;
  /** AdamW's decoupled weight decay. */
  weightDecay: number;
  /** Gradients are clipped to this global norm. */
  clipNorm: number;
  /** λ of L₃ = L₂ + λ·L₁ (GPT-1: 0.5). */
  lambda: number;
  /** Measure accuracy on at most this many examples of each split (all when undefined). */
  evalExamples?: number;
  /** Seed of the scratch and fresh weights, the heads and the batch order. */
  seed: number;
  /**
   * Runs of every kind in every experiment (pre-trained vs scratch, layers transferred, the
   * ablations), with seeds `seed`, `seed + 1`, …; the chapter compares their mean accuracies
   * ({@link compareAccuracies}). Default 1.
   */
  seeds: number;
}

/**
 * Chapter 08's settings. The body is chapter 06's model (quick: 2 blocks, d_model 64;
 * full: 3 blocks, d_model 96) pre-trained on a stream that is 95% prose and 5% Tang poems
 * ({@link pretrainingCorpus}) for 60 (quick) or 1,000 (full) steps — the full body needs
 * about 1,000 steps before it has sorted the feeling characters by mood; every fine-tuning
 * run takes 80 steps of 16 examples, about two epochs (quick: 20 steps of 8, measured on the
 * first 60 examples of each split — enough to run, not to compare) at a peak learning rate
 * of 10⁻³, with λ = 0.5. Every comparison runs 3 seeds in full mode and 1 in quick mode, on
 * every machine: the protocol does not depend on the hardware, only the time does.
 * `opts.seeds` (a number, or the text of an environment variable) overrides the count.
 *
 * Throws when `seeds` is not a whole number from 1 to 10.
 */
export function fineTuneSettings(
  quick: boolean,
  opts: { seeds?: number | string } = {},
): FineTuneSettings {
  const base = pretrainingSettings(quick);
  const seeds = Number(opts.seeds ?? (quick ? 1 : 3));
  if (!Number.isInteger(seeds) || seeds < 1 || seeds > 10) {
    throw new Error(
      `fineTuneSettings: seeds must be a whole number from 1 to 10, got ${
        JSON.stringify(opts.seeds)
      }`,
    );
  }
  return {
    pretraining: quick ? base : { ...base, steps: 1000 },
    poemShare: 0.05,
    steps: quick ? 20 : 80,
    batchSize: quick ? 8 : 16,
    learningRate: 1e-3,
    warmupSteps: quick ? 2 : 8,
    weightDecay: 0.01,
    clipNorm: 1,
    lambda: 0.5,
    evalExamples: quick ? 60 : undefined,
    seed: 8,
    seeds,
  };
}

/** Every text of every task and split, joined: the characters the vocabulary must hold. */
export function taskText(tasks: FineTuneTasks): string {
  const parts: string[] = [];
  for (const name of TASK_NAMES) {
    for (const split of ["train", "validation", "test"] as const) {
      for (const x of tasks[name][split] as unknown as Record<string, unknown>[]) {
        for (const v of Object.values(x)) {
          if (typeof v === "string") parts.push(v);
          else if (Array.isArray(v)) parts.push(...(v as string[]));
        }
      }
    }
  }
  return parts.join("");
}

/** The pre-training data of chapter 08's body. */
export interface PretrainingCorpus {
  /** The character vocabulary: the characters of the stream and of the tasks, nothing else. */
  vocab: Vocabulary;
  /** The training stream: the poems taken, then the prose, each text followed by a line break. */
  trainIds: number[];
  /** How many poems the stream holds. */
  poems: number;
  /** Characters of poems and of prose in the stream (without the line breaks). */
  characters: { poems: number; prose: number };
}

/**
 * The stream chapter 08's body is pre-trained on: the prose (`loadProse()`) and, in front of
 * it, the first training poems of {@link commonCharacterPoems} (`settings.pretraining.characters`
 * most frequent characters) until they hold `poemShare / (1 − poemShare)` times the prose's
 * characters. The vocabulary holds the characters of that stream and of the tasks (so that
 * every task example encodes), not every poem character: a smaller V makes the output layer,
 * the largest product of a step here, several times cheaper.
 */
export function pretrainingCorpus(
  poems: PoemSplits,
  prose: readonly string[],
  tasks: FineTuneTasks,
  settings: FineTuneSettings,
): PretrainingCorpus {
  const share = settings.poemShare;
  if (!(share >= 0 && share < 1)) {
    throw new Error(`pretrainingCorpus: poemShare must be in [0, 1), got ${share}`);
  }
  if (prose.length === 0) throw new Error("pretrainingCorpus: no prose");
  const proseChars = prose.reduce((n, line) => n + [...line].length, 0);
  const common = commonCharacterPoems(poems, settings.pretraining.characters);
  const wanted = (share / (1 - share)) * proseChars;
  const taken: string[] = [];
  let poemChars = 0;
  for (const poem of common.train) {
    if (poemChars >= wanted) break;
    taken.push(poem);
    poemChars += [...poem].length;
  }
  const vocab = charVocabulary([...taken, ...prose], taskText(tasks));
  return {
    vocab,
    trainIds: [...encodeCorpus(taken, vocab), ...encodeCorpus(prose, vocab)],
    poems: taken.length,
    characters: { poems: poemChars, prose: proseChars },
  };
}

/**
 * Which of two groups of tokens each of `tokens` sits nearer to in a body's token embedding
 * Wₑ: with ê = e/‖e‖ the unit embedding of a token and μ₊, μ₋ the normalised sums of the
 * unit embeddings of the groups `positive` and `negative`,
 *
 *   leaning(c) = ê_c·μ₊ − ê_c·μ₋   (in [−2, 2]; > 0: nearer the positive group).
 *
 * Chapter 08 uses it to show that pre-training alone sorted the feeling characters of every
 * split by mood. Every token must be in `vocab`.
 */
export function embeddingLeaning(
  p: GPTParams,
  vocab: Vocabulary,
  tokens: readonly string[],
  positive: readonly string[],
  negative: readonly string[],
): number[] {
  if (positive.length === 0 || negative.length === 0) {
    throw new Error("embeddingLeaning: both groups need at least one token");
  }
  return tf.tidy(() => {
    const unit = (ts: readonly string[]) => {
      const e = embeddingRows(p, vocab, ts, "embeddingLeaning");
      return tf.div(e, tf.norm(e, "euclidean", 1, true));
    };
    const centroid = (ts: readonly string[]) => {
      const sum = tf.sum(unit(ts), 0);
      return tf.div(sum, tf.norm(sum));
    };
    const direction = tf.sub(centroid(positive), centroid(negative));
    return Array.from(tf.matMul(unit(tokens), direction.reshape([-1, 1])).dataSync());
  });
}

/** The rows of Wₑ of `tokens` [n, d]; throws, naming `caller`, when a token is not in `vocab`. */
function embeddingRows(
  p: GPTParams,
  vocab: Vocabulary,
  tokens: readonly string[],
  caller: string,
): Tensor2D {
  const ids = tokens.map((t) => {
    if (!vocab.has(t)) throw new Error(`${caller}: ${JSON.stringify(t)} is not in the vocabulary`);
    return vocab.idOf(t);
  });
  return tf.tidy(() => embedTokens(p.tokenEmbedding, tf.tensor1d(ids, "int32")) as Tensor2D);
}

/**
 * How alike two words look in a body's token embedding Wₑ: with ē_w the mean of the rows of
 * a word's tokens,
 *
 *   cos(a, b) = ē_a·ē_b / (‖ē_a‖ ‖ē_b‖)   (in [−1, 1]).
 *
 * Chapter 08 uses it on the words a similarity test pair differs in. Every token must be in
 * `vocab`; neither word may be empty.
 */
export function embeddingCosine(
  p: GPTParams,
  vocab: Vocabulary,
  a: readonly string[],
  b: readonly string[],
): number {
  if (a.length === 0 || b.length === 0) {
    throw new Error("embeddingCosine: both words need at least one token");
  }
  return tf.tidy(() => {
    const mean = (w: readonly string[]) =>
      tf.mean(embeddingRows(p, vocab, w, "embeddingCosine"), 0);
    const [ea, eb] = [mean(a), mean(b)];
    return tf.div(tf.sum(tf.mul(ea, eb)), tf.mul(tf.norm(ea), tf.norm(eb))).dataSync()[0];
  });
}

/**
 * The words two equally long texts differ in: the characters of each from the first position
 * where they differ to the last (a similarity pair of chapter 08 differs in one slot: 日暮 /
 * 黄昏). Throws when the texts differ in length or not at all.
 */
export function differingSpan(a: string, b: string): [string[], string[]] {
  const [ca, cb] = [[...a], [...b]];
  if (ca.length !== cb.length) {
    throw new Error(`differingSpan: the texts have ${ca.length} and ${cb.length} characters`);
  }
  const differ = ca.flatMap((c, i) => (c !== cb[i] ? [i] : []));
  if (differ.length === 0) throw new Error(`differingSpan: ${JSON.stringify(a)} twice`);
  const [from, to] = [differ[0], differ[differ.length - 1] + 1];
  return [ca.slice(from, to), cb.slice(from, to)];
}

/** Every split of `splits` with `f` applied to each example. */
function mapSplits<T>(splits: TaskSplits<T>, f: (x: T) => T): TaskSplits<T> {
  return {
    train: splits.train.map(f),
    validation: splits.validation.map(f),
    test: splits.test.map(f),
  };
}

/**
 * A follow-up variant of the similarity task: each pair reduced to the words it differs in
 * ({@link differingSpan}; 日暮老翁在江边归来。/ 黄昏老翁在江边归来。 → 日暮 / 黄昏), so that a
 * model needs no comparison of two sentences, only of two words.
 */
export function similarityDifferingWords(tasks: FineTuneTasks): FineTuneTasks {
  return {
    ...tasks,
    similarity: mapSplits(tasks.similarity, (x) => {
      const [a, b] = differingSpan(x.a, x.b);
      return { ...x, a: a.join(""), b: b.join("") };
    }),
  };
}

/**
 * A follow-up variant of the multiple-choice task: each story "{who}{where}，{situation}，
 * {filler}。" (data/make_tasks.ts) told as "{who}{where}，{filler}，{situation}。", so that the
 * situation that decides the ending stands right before `<delim>` and the ending. Throws for a
 * story not in that form.
 */
export function situationLast(tasks: FineTuneTasks): FineTuneTasks {
  return {
    ...tasks,
    multipleChoice: mapSplits(tasks.multipleChoice, (x) => {
      const parts = x.context.replace(/。$/, "").split("，");
      if (parts.length !== 3 || !x.context.endsWith("。")) {
        throw new Error(`situationLast: ${JSON.stringify(x.context)} is not "…，…，…。"`);
      }
      return { ...x, context: `${parts[0]}，${parts[2]}，${parts[1]}。` };
    }),
  };
}

/** A task's examples as model inputs and labels. */
export interface TaskExamples {
  /** The inputs, as character ids. */
  inputs: TaskInput[];
  /** The labels. */
  labels: number[];
}

/** The examples of one task and split, encoded with `vocab` ({@link encodeChars}). */
export function taskExamples(
  tasks: FineTuneTasks,
  task: TaskName,
  split: "train" | "validation" | "test",
  vocab: Vocabulary,
): TaskExamples {
  const enc = (s: string) => encodeChars(vocab, s);
  const labels: number[] = [];
  let inputs: TaskInput[];
  switch (task) {
    case "sentiment":
      inputs = tasks.sentiment[split].map((x) => {
        labels.push(x.label);
        return { task: "classification", text: enc(x.text) };
      });
      break;
    case "entailment":
      inputs = tasks.entailment[split].map((x) => {
        labels.push(x.label);
        return { task: "entailment", premise: enc(x.premise), hypothesis: enc(x.hypothesis) };
      });
      break;
    case "similarity":
      inputs = tasks.similarity[split].map((x) => {
        labels.push(x.label);
        return { task: "similarity", a: enc(x.a), b: enc(x.b) };
      });
      break;
    case "multipleChoice":
      inputs = tasks.multipleChoice[split].map((x) => {
        labels.push(x.label);
        return { task: "multipleChoice", context: enc(x.context), answers: x.endings.map(enc) };
      });
      break;
    default:
      throw new Error(`taskExamples: unknown task ${JSON.stringify(task)}`);
  }
  return { inputs, labels };
}

/**
 * A new body with fresh variables: initGPT(config, seed), then the pretrained values copied
 * into the token and position embeddings and blocks 0 … k − 1 when `layers` = k (0 … n; with
 * k = n also the final layer norm), or into nothing when `layers` is `"none"` (from scratch).
 * The pretrained variables are never shared, so fine-tuning the copy leaves them unchanged.
 */
export function transferBody(
  pretrained: GPTParams,
  config: GPTConfig,
  layers: number | "none",
  seed: number,
): GPTParams {
  const n = config.layers;
  if (layers !== "none" && !(Number.isInteger(layers) && layers >= 0 && layers <= n)) {
    throw new Error(`transferBody: layers must be "none" or 0 … ${n}, got ${layers}`);
  }
  const body = initGPT(config, seed);
  if (layers === "none") return body;
  const source = new Map(namedGPTParameters(pretrained));
  const copied = (name: string) => {
    const block = /^blocks\.(\d+)\./.exec(name);
    if (block) return Number(block[1]) < layers;
    if (name.startsWith("finalNorm.")) return layers === n;
    return name === "tokenEmbedding" || name === "positionEmbedding";
  };
  for (const [name, v] of namedGPTParameters(body)) {
    if (!copied(name)) continue;
    const from = source.get(name);
    if (!from) throw new Error(`transferBody: the pretrained model has no ${name}`);
    v.assign(from);
  }
  return body;
}

/** Options of {@link fineTuneTask}. */
export interface FineTuneRunOptions {
  /** What is trained ({@link FineTuneRegime}): GPT-1's `"full"` by default. */
  regime?: FineTuneRegime;
  /** λ of L₃; default `settings.lambda`. */
  lambda?: number;
  /** Called after every step (a display). */
  onStep?: (report: StepReport) => void | Promise<void>;
}

/**
 * Fine-tunes `body` on a task's training examples: {@link initFineTune} (head seed
 * `settings.seed`), then `settings.steps` steps of AdamW on loss₃ = loss₂ + λ·loss₁ over
 * minibatches drawn epoch by epoch in a seeded order, with warmup and cosine decay. Returns
 * the model (its body is `body`; free it with `disposeFineTuneHead` and `disposeGPT`) and the
 * training losses.
 */
export async function fineTuneTask(
  body: GPTParams,
  config: GPTConfig,
  vocab: Vocabulary,
  task: TaskName,
  train: TaskExamples,
  settings: FineTuneSettings,
  opts: FineTuneRunOptions = {},
): Promise<{ model: FineTuneModel; losses: number[] }> {
  const { regime = "full", lambda = settings.lambda } = opts;
  const { steps, batchSize, learningRate: peak, warmupSteps } = settings;
  const model = initFineTune(body, config, vocab, { ...TASK_FORMATS[task], seed: settings.seed });
  const n = train.inputs.length;
  const batchOf = epochBatches(n, batchSize, settings.seed);
  const optimizer = createAdamW({
    learningRate: warmupCosine({ peak, warmupSteps, totalSteps: steps }),
    weightDecay: settings.weightDecay,
  });
  try {
    const { losses } = await fit({
      variables: fineTuneVariables(model, regime),
      steps,
      optimizer,
      clipNorm: settings.clipNorm,
      loss: (step) => {
        const picks = batchOf(step);
        const batch = fineTuneBatch(
          model,
          picks.map((i) => train.inputs[i]),
          picks.map((i) => train.labels[i]),
        );
        return fineTuneLoss(model, batch, { lambda }).loss;
      },
      onStep: opts.onStep,
    });
    return { model, losses };
  } catch (e) {
    disposeFineTuneHead(model);
    throw e;
  } finally {
    optimizer.dispose();
  }
}

/** The fraction of `examples` whose predicted class ({@link predictClasses}) is the label. */
export function accuracy(m: FineTuneModel, examples: TaskExamples, batchSize = 64): number {
  const n = examples.inputs.length;
  if (n === 0) throw new Error("accuracy: no examples");
  let right = 0;
  for (let i = 0; i < n; i += batchSize) {
    const batch = fineTuneBatch(m, examples.inputs.slice(i, i + batchSize));
    try {
      predictClasses(m, batch).forEach((p, j) => {
        if (p === examples.labels[i + j]) right++;
      });
    } finally {
      disposeFineTuneBatch(batch);
    }
  }
  return right / n;
}

/**
 * The standard error of the difference of two accuracies p₁ and p₂, measured on n₁ and n₂
 * independent examples (n₂ = n₁ unless given): √(p₁(1 − p₁)/n₁ + p₂(1 − p₂)/n₂). Chapter 08
 * calls a difference clear when it exceeds two of these. (The examples of a lexical split are
 * not independent — they share a few deciding words — so the true noise is larger; this is a
 * lower bound.)
 */
export function accuracyDifferenceError(p1: number, p2: number, n1: number, n2 = n1): number {
  if (!(p1 >= 0 && p1 <= 1 && p2 >= 0 && p2 <= 1)) {
    throw new Error(`accuracyDifferenceError: accuracies must be in [0, 1], got ${p1}, ${p2}`);
  }
  for (const n of [n1, n2]) {
    if (!Number.isInteger(n) || n < 1) {
      throw new Error(`accuracyDifferenceError: n must be a positive integer, got ${n}`);
    }
  }
  return Math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2);
}

/** What {@link compareAccuracies} says of two sets of runs. */
export type ComparisonVerdict = "clearly better" | "no clear difference" | "clearly worse";

/** The result of {@link compareAccuracies}. */
export interface AccuracyComparison {
  /** ā: the mean accuracy of the first set of runs. */
  a: number;
  /** b̄: the mean accuracy of the second. */
  b: number;
  /** ā − b̄. */
  difference: number;
  /** Two standard errors of the difference ({@link accuracyDifferenceError}). */
  twoSE: number;
  /** The first set against the second, by the 2·SE rule. */
  verdict: ComparisonVerdict;
}

/**
 * Chapter 08's 2·SE rule for two sets of runs (one accuracy per run, each measured on
 * `examples` test examples): with ā, b̄ their means and
 *
 *   2·SE = 2·√(ā(1 − ā)/(|a|·n) + b̄(1 − b̄)/(|b|·n))
 *
 * ({@link accuracyDifferenceError}, every run's examples counted), the first set is "clearly
 * better" when ā − b̄ > 2·SE, "clearly worse" when ā − b̄ < −2·SE, and otherwise there is "no
 * clear difference": a smaller gap is what another seed could undo.
 */
export function compareAccuracies(
  a: readonly number[],
  b: readonly number[],
  examples: number,
): AccuracyComparison {
  if (a.length === 0 || b.length === 0) {
    throw new Error("compareAccuracies: each side needs at least one run");
  }
  const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const [ma, mb] = [mean(a), mean(b)];
  const twoSE = 2 * accuracyDifferenceError(ma, mb, a.length * examples, b.length * examples);
  const difference = ma - mb;
  const verdict: ComparisonVerdict = difference > twoSE
    ? "clearly better"
    : difference < -twoSE
    ? "clearly worse"
    : "no clear difference";
  return { a: ma, b: mb, difference, twoSE, verdict };
}

/** Options of {@link transferRun}. */
export interface TransferRunOptions extends FineTuneRunOptions {
  /** Pretrained layers transferred ({@link transferBody}); default all, `"none"` = scratch. */
  layers?: number | "none";
  /** Keep the fine-tuned model (the caller frees it) instead of freeing it. */
  keep?: boolean;
  /** Also measure accuracy on the training split (its first `settings.evalExamples`). */
  measureTraining?: boolean;
}

/** The result of {@link transferRun}. */
export interface TransferRun {
  /** Accuracy on the task's test split. */
  testAccuracy: number;
  /** Accuracy on the task's validation split. */
  validationAccuracy: number;
  /** Accuracy on the task's training split, with `measureTraining`. */
  trainAccuracy?: number;
  /** The training loss₃ of every step. */
  losses: number[];
  /** The fine-tuned model, with `keep`. */
  model?: FineTuneModel;
}

/**
 * One run of the experiment: a body from {@link transferBody} (fresh weights seeded by
 * `settings.seed + 1`), fine-tuned on the task ({@link fineTuneTask}) and measured on its
 * validation and test splits (and, with `measureTraining`, its training split; the first
 * `settings.evalExamples` examples of each when set). Without `keep`, every tensor of the run
 * is freed.
 */
export async function transferRun(
  pretrained: GPTParams,
  config: GPTConfig,
  vocab: Vocabulary,
  tasks: FineTuneTasks,
  task: TaskName,
  settings: FineTuneSettings,
  opts: TransferRunOptions = {},
): Promise<TransferRun> {
  const body = transferBody(pretrained, config, opts.layers ?? config.layers, settings.seed + 1);
  let model: FineTuneModel | undefined;
  let kept = false;
  try {
    const train = taskExamples(tasks, task, "train", vocab);
    const run = await fineTuneTask(body, config, vocab, task, train, settings, opts);
    model = run.model;
    const measure = (split: "train" | "validation" | "test") => {
      const all = taskExamples(tasks, task, split, vocab);
      const n = settings.evalExamples ?? all.inputs.length;
      return accuracy(model!, { inputs: all.inputs.slice(0, n), labels: all.labels.slice(0, n) });
    };
    const result: TransferRun = {
      testAccuracy: measure("test"),
      validationAccuracy: measure("validation"),
      losses: run.losses,
      ...(opts.measureTraining ? { trainAccuracy: measure("train") } : {}),
    };
    kept = opts.keep === true;
    return kept ? { ...result, model } : result;
  } finally {
    if (!kept) {
      if (model) disposeFineTuneHead(model);
      disposeGPT(body);
    }
  }
}
