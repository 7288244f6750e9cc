/**
 * Chapter 06's experiment: pre-train a small GPT on Tang poems (唐诗) with GPT-1's objective,
 * measure it against a unigram baseline, and let it write five-character quatrains.
 *
 * ```ts
 * const settings = pretrainingSettings(isQuick());
 * const corpus = commonCharacterCorpus(await loadTangPoems(), settings.characters, "在一个寒冷的冬日，");
 * const config = pretrainingConfig(settings, corpus.vocab.size);
 * const params = initGPT(config, settings.seed);
 * const held = evaluationBatches(corpus.validationIds, settings);
 * await pretrain(params, config, corpus.trainIds, settings, {
 *   evaluate: () => meanLoss(params, config, held),
 * });
 * writePoem({ params, config }, corpus.vocab, "春", { temperature: 0.8, topK: 20, seed: 1 });
 * ```
 *
 * Nothing here draws: a chapter passes `onStep` a display (`trainingMonitor`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { CharTokenizer, type Vocabulary } from "../tokenizer.ts";
import type { Tensor } from "../tf_types.ts";
import {
  charVocabulary,
  encodeCorpus,
  type LMBatch,
  lmBatches,
  POEM_SEPARATOR,
  type PoemSplits,
} from "../data.ts";
import {
  type GPTConfig,
  gptConfig,
  gptParameters,
  gptParameterShapes,
  type GPTParams,
} from "../gpt.ts";
import { languageModelingLoss } from "../objectives.ts";
import { createAdamW, fit, type FitResult, type StepReport, warmupCosine } from "../train.ts";
import {
  type DisposableLanguageModel,
  generateTokens,
  gptLanguageModel,
  type GPTModel,
  type SamplingOptions,
} from "../sampling.ts";

/** The size of chapter 06's model, its corpus and how it is trained. */
export interface PretrainingSettings {
  /** Keep the poems written only with this many most frequent characters. */
  characters: number;
  /** Number of Transformer blocks n. */
  layers: number;
  /** Attention heads h per block. */
  heads: number;
  /** Model width d_model (d_ff = 4·d_model). */
  dModel: number;
  /** Context length n_ctx: tokens per training window, and the most the model reads. */
  contextLength: number;
  /** Windows per step, B. */
  batchSize: number;
  /** Optimiser steps. */
  steps: number;
  /** AdamW's peak learning rate (reached after warmup, then cosine decay to a tenth). */
  peakLearningRate: number;
  /** Steps of linear warmup. */
  warmupSteps: number;
  /** AdamW's decoupled weight decay λ. */
  weightDecay: number;
  /** Gradients are clipped to this global norm. */
  clipNorm: number;
  /** Evaluate on the validation windows after every this many steps. */
  evalEvery: number;
  /** How many validation windows of `contextLength` tokens the evaluation reads. */
  evalWindows: number;
  /** Seed of the initial weights and of the batches. */
  seed: number;
}

/**
 * Chapter 06's settings. Full: 3 pre-LN blocks, 4 heads, d_model 96, context 48, on the poems
 * written with the 2,500 most frequent characters, 600 steps of 12 windows (on this
 * project's shared 2-core machine about 100 s with the matrix products on OpenBLAS, about 4
 * minutes on XNNPACK; validation loss 5.64 nats per character against the unigram model's
 * 6.26). Quick
 * (`QUICK=1`): 2 blocks, d_model 64, context 32, 60 steps of 8 windows — enough to run every
 * cell, not to write poems.
 */
export function pretrainingSettings(quick: boolean): PretrainingSettings {
  const common = {
    characters: 2500,
    heads: 4,
    weightDecay: 0.01,
    clipNorm: 1,
    seed: 6,
  };
  return quick
    ? {
      ...common,
      layers: 2,
      dModel: 64,
      contextLength: 32,
      batchSize: 8,
      steps: 60,
      peakLearningRate: 1e-2,
      warmupSteps: 6,
      evalEvery: 30,
      evalWindows: 32,
    }
    : {
      ...common,
      layers: 3,
      dModel: 96,
      contextLength: 48,
      batchSize: 12,
      steps: 600,
      peakLearningRate: 6e-3,
      warmupSteps: 30,
      evalEvery: 50,
      evalWindows: 64,
    };
}

/**
 * The GPT of `settings` for a vocabulary of `vocabSize` tokens: {@link gptConfig} (pre-LN, GELU,
 * tied, d_ff = 4·d_model), named `name`.
 */
export function pretrainingConfig(
  settings: Pick<PretrainingSettings, "layers" | "heads" | "dModel" | "contextLength">,
  vocabSize: number,
  name = "Tang-poem GPT",
): GPTConfig {
  const { layers, heads, dModel, contextLength } = settings;
  return gptConfig({
    name,
    vocabSize,
    contextLength,
    layers,
    heads,
    dModel,
    dFF: 4 * dModel,
  });
}

/** One row of {@link parameterBreakdown}. */
export interface ParameterPart {
  /** What the parameters are. */
  part: string;
  /** How their number follows from the config (d = d_model, n = layers). */
  formula: string;
  /** How many there are. */
  count: number;
}

/**
 * Where a GPT's parameters are, counted from the shapes of its tensors
 * (`gptParameterShapes`): token embeddings V·d, positions n_ctx·d, per block the attention
 * (W_q, W_k, W_v, W_o and biases: 4d² + 4d), the FFN (2·d·d_ff + d_ff + d) and two layer norms
 * (4d), the n blocks, the final layer norm (pre-LN: 2d), an untied output layer (d·V; tied:
 * 0), and the total — which equals `countGPTParameters(config)`.
 */
export function parameterBreakdown(config: GPTConfig): ParameterPart[] {
  const sums = new Map<string, number>();
  for (const [name, shape] of gptParameterShapes(config)) {
    const group = name.startsWith("blocks.")
      ? name.split(".")[2].replace(/\d$/, "")
      : name.split(".")[0];
    sums.set(group, (sums.get(group) ?? 0) + shape.reduce((a, b) => a * b, 1));
  }
  const n = config.layers;
  const of = (group: string, perBlock = false) => (sums.get(group) ?? 0) / (perBlock ? n : 1);
  const block = of("attention", true) + of("ffn", true) + of("norm", true);
  return [
    { part: "token embeddings Wₑ", formula: "V·d", count: of("tokenEmbedding") },
    { part: "positions Wₚ", formula: "n_ctx·d", count: of("positionEmbedding") },
    {
      part: "attention, per block (W_q, W_k, W_v, W_o, biases)",
      formula: "4d² + 4d",
      count: of("attention", true),
    },
    {
      part: "FFN, per block (W₁, b₁, W₂, b₂)",
      formula: "2·d·d_ff + d_ff + d",
      count: of("ffn", true),
    },
    { part: "2 LayerNorms, per block (γ, β)", formula: "4d", count: of("norm", true) },
    { part: "one block", formula: "sum of the three above", count: block },
    { part: `all blocks`, formula: "n × one block", count: n * block },
    { part: "final LayerNorm", formula: "2d (pre-LN only)", count: of("finalNorm") },
    {
      part: "output layer",
      formula: config.tiedOutput ? "tied: reuses Wₑ, 0" : "d·V",
      count: of("output"),
    },
    {
      part: "total",
      formula: "",
      count: [...sums.values()].reduce((a, b) => a + b, 0),
    },
  ];
}

/** A poem corpus ready to train on: the kept poems, their vocabulary and token streams. */
export interface PoemCorpus {
  /** The training poems kept. */
  train: string[];
  /** The validation poems kept. */
  validation: string[];
  /** The character vocabulary (specials, the line break between poems, the characters). */
  vocab: Vocabulary;
  /** The training stream: every poem followed by the line break ({@link encodeCorpus}). */
  trainIds: number[];
  /** The validation stream, the same way. */
  validationIds: number[];
  /** How many poems of the splits were dropped for a rarer character. */
  dropped: number;
}

/**
 * The poems of both splits written only with the `characters` most frequent characters of the
 * training split (counted over all its poems; ties by code point), so that a vocabulary built
 * from them stays small — the output layer's cost grows with V — and no kept poem needs
 * `<unk>`. Throws when a split keeps no poem.
 */
export function commonCharacterPoems(splits: PoemSplits, characters: number): PoemSplits {
  if (!Number.isInteger(characters) || characters < 1) {
    throw new Error(
      `commonCharacterPoems: characters must be a positive integer, got ${characters}`,
    );
  }
  const counts = new Map<string, number>();
  for (const poem of splits.train) {
    for (const c of CharTokenizer.codePoints(poem)) counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  const common = new Set(
    [...counts.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].codePointAt(0)! - b[0].codePointAt(0)!)
      .slice(0, characters)
      .map(([c]) => c),
  );
  const written = (poem: string) => CharTokenizer.codePoints(poem).every((c) => common.has(c));
  const train = splits.train.filter(written);
  const validation = splits.validation.filter(written);
  if (train.length === 0 || validation.length === 0) {
    throw new Error(
      `commonCharacterPoems: no ${
        train.length === 0 ? "training" : "validation"
      } poem is written with the ${characters} most frequent characters; keep more`,
    );
  }
  return { train, validation };
}

/**
 * The poems of {@link commonCharacterPoems}, ready to train on. The vocabulary is
 * {@link charVocabulary} of the kept training poems plus `extraText` (so that a prompt
 * encodes, even with characters the kept poems lack: their embeddings stay untrained).
 */
export function commonCharacterCorpus(
  splits: PoemSplits,
  characters: number,
  extraText = "",
): PoemCorpus {
  const { train, validation } = commonCharacterPoems(splits, characters);
  const vocab = charVocabulary(train, extraText);
  return {
    train,
    validation,
    vocab,
    trainIds: encodeCorpus(train, vocab),
    validationIds: encodeCorpus(validation, vocab),
    dropped: splits.train.length + splits.validation.length - train.length - validation.length,
  };
}

/**
 * The cross-entropy (nats per token) of a unigram model on `evalIds`: every token is
 * predicted with its frequency in `trainIds`, whatever came before, add-α smoothed so that
 * a token unseen in training still gets some probability:
 *
 *   P(w) = (c(w) + α) / (N + α·V)        H = −(1/M) Σⱼ log P(vⱼ)
 *
 * with c(w) the count of w among the N training tokens and v₁ … v_M the evaluated tokens.
 * A language model that beats H has learned something about order, not only about how
 * common each token is. Throws for ids outside 0 … V − 1 or empty streams.
 */
export function unigramCrossEntropy(
  trainIds: readonly number[],
  evalIds: readonly number[],
  vocabSize: number,
  alpha = 1,
): number {
  if (trainIds.length === 0 || evalIds.length === 0) {
    throw new Error("unigramCrossEntropy: the training and evaluated streams must not be empty");
  }
  if (!(alpha >= 0)) throw new Error(`unigramCrossEntropy: alpha must be ≥ 0, got ${alpha}`);
  const counts = new Float64Array(vocabSize);
  const check = (id: number, where: string) => {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new Error(
        `unigramCrossEntropy: ${where} id ${id} is outside the vocabulary 0 … ${vocabSize - 1}`,
      );
    }
  };
  for (const id of trainIds) {
    check(id, "training");
    counts[id]++;
  }
  const total = trainIds.length + alpha * vocabSize;
  let nll = 0;
  for (const id of evalIds) {
    check(id, "evaluated");
    nll -= Math.log((counts[id] + alpha) / total);
  }
  return nll / evalIds.length;
}

/**
 * Fixed evaluation batches from a token stream: `evalWindows` windows of `contextLength`
 * tokens (inputs, and targets shifted by one), at evenly spaced offsets, `batchSize` windows
 * per batch (the last batch may be shorter). The same stream gives the same windows, so every
 * evaluation during training reads the same text. Dispose the tensors when done.
 */
export function evaluationBatches(
  ids: readonly number[],
  settings: Pick<PretrainingSettings, "contextLength" | "batchSize" | "evalWindows">,
): LMBatch[] {
  const { contextLength: T, batchSize, evalWindows } = settings;
  if (ids.length < T + 1) {
    throw new Error(
      `evaluationBatches: a window of ${T} tokens and its next token need ${T + 1} tokens, ` +
        `the stream has ${ids.length}`,
    );
  }
  const n = Math.min(evalWindows, Math.floor((ids.length - 1) / T));
  const stride = Math.floor((ids.length - 1 - T) / Math.max(1, n - 1));
  const offsets = Array.from({ length: n }, (_, i) => i * stride);
  const batches: LMBatch[] = [];
  for (let b = 0; b < n; b += batchSize) {
    const chunk = offsets.slice(b, b + batchSize);
    const inputs = chunk.flatMap((o) => ids.slice(o, o + T));
    const targets = chunk.flatMap((o) => ids.slice(o + 1, o + T + 1));
    batches.push({
      inputs: tf.tensor2d(inputs, [chunk.length, T], "int32"),
      targets: tf.tensor2d(targets, [chunk.length, T], "int32"),
    });
  }
  return batches;
}

/** What {@link pretrain} reads of a recipe: the batches, the schedule and the optimiser. */
export type TrainingRun =
  & Pick<
    PretrainingSettings,
    | "batchSize"
    | "contextLength"
    | "steps"
    | "peakLearningRate"
    | "warmupSteps"
    | "weightDecay"
    | "clipNorm"
    | "seed"
  >
  & { evalEvery?: number };

/** Options of {@link pretrain}. */
export interface PretrainOptions {
  /** The validation loss, run after every `evalEvery` steps and after the last. */
  evaluate?: () => number;
  /** Called after every step (a display). */
  onStep?: (report: StepReport) => void | Promise<void>;
}

/**
 * Pre-trains a GPT on random windows of a token stream ({@link lmBatches}-style, seeded by
 * `settings.seed`), minimising the cross-entropy −L₁/N with AdamW (decoupled weight decay),
 * linear warmup then cosine decay — GPT-1's schedule, except that it ends at a tenth of the
 * peak (Chinchilla's floor, Hoffmann et al. 2022 §3.1) where GPT-1 annealed to 0 (§4.1) — and
 * gradient clipping, via `fit`. Reports tokens per second (B·T tokens per step).
 */
export async function pretrain(
  p: GPTParams,
  config: GPTConfig,
  trainIds: readonly number[],
  settings: TrainingRun,
  opts: PretrainOptions = {},
): Promise<FitResult> {
  const { batchSize, contextLength, steps, peakLearningRate: peak, warmupSteps } = settings;
  if (contextLength > config.contextLength) {
    throw new Error(
      `pretrain: windows of ${contextLength} tokens do not fit the context ${config.contextLength}`,
    );
  }
  const batches = lmBatches(trainIds, { batchSize, contextLength, seed: settings.seed });
  const optimizer = createAdamW({
    learningRate: warmupCosine({ peak, warmupSteps, totalSteps: steps, floor: peak / 10 }),
    weightDecay: settings.weightDecay,
  });
  try {
    return await fit({
      variables: gptParameters(p),
      steps,
      optimizer,
      clipNorm: settings.clipNorm,
      loss: (step) => languageModelingLoss(p, config, batches(step)),
      evaluate: opts.evaluate
        ? { every: settings.evalEvery ?? Math.max(1, Math.floor(steps / 10)), fn: opts.evaluate }
        : undefined,
      tokensPerStep: batchSize * contextLength,
      onStep: opts.onStep,
    });
  } finally {
    optimizer.dispose();
  }
}

/**
 * A GPT as a `LanguageModel` (lib/sampling.ts) that never writes a special token (`<unk>`,
 * `<s>`, …) and, with `endPoem: false`, never the line break that ends a poem: their logits
 * are set to −∞ before sampling. Call `dispose` when done (its KV cache).
 */
export function poemLanguageModel(
  model: GPTModel,
  vocab: Vocabulary,
  opts: { endPoem?: boolean } = {},
): DisposableLanguageModel {
  const lm = gptLanguageModel(model);
  const banned = vocab.specials.map((s) => vocab.idOf(s));
  if (opts.endPoem === false) banned.push(vocab.idOf(POEM_SEPARATOR));
  return {
    vocabSize: lm.vocabSize,
    contextLength: lm.contextLength,
    nextLogits(ids) {
      const z = lm.nextLogits(ids);
      for (const id of banned) z[id] = -Infinity;
      return z;
    },
    dispose: () => lm.dispose(),
  };
}

/** Options of {@link writePoem}. */
export interface WritePoemOptions extends SamplingOptions {
  /** Write this many characters in all, prompt included (default 24: a quatrain). */
  length?: number;
}

/**
 * Writes a poem: starts a new poem (the line break that separates poems in the training
 * stream) followed by `prompt` — a first character, a first line, or any text — and samples
 * characters ({@link generateTokens} with `opts`) until the text has `length` characters.
 * The model may not end the poem early nor write a special token ({@link poemLanguageModel}
 * with `endPoem: false`): how long a poem is, is the caller's choice. Returns the prompt and
 * what was written.
 */
export function writePoem(
  model: GPTModel,
  vocab: Vocabulary,
  prompt: string,
  opts: WritePoemOptions = {},
): string {
  const { length = 24, ...sampling } = opts;
  const promptChars = CharTokenizer.codePoints(prompt);
  const unknown = promptChars.filter((c) => !vocab.has(c));
  if (unknown.length > 0) {
    throw new Error(`writePoem: the vocabulary has no ${unknown.join(" ")} (prompt "${prompt}")`);
  }
  const ids = [vocab.idOf(POEM_SEPARATOR), ...vocab.encode(promptChars)];
  const lm = poemLanguageModel(model, vocab, { endPoem: false });
  try {
    const out = generateTokens(lm, ids.slice(-model.config.contextLength), {
      ...sampling,
      maxNewTokens: Math.max(0, length - promptChars.length),
    });
    return prompt + vocab.decode(out.ids).join("");
  } finally {
    lm.dispose();
  }
}

/**
 * The lines of a poem: pieces ending in ， or 。 (the punctuation kept), and the unfinished
 * rest, if any, as a last line. "白日依山尽，黄河入海流。" → ["白日依山尽，", "黄河入海流。"].
 */
export function poemLines(text: string): string[] {
  return text.match(/[^，。]+[，。]|[^，。]+$|[，。]/gu) ?? [];
}

/** Five Han characters and a ， or 。: the line of a 五言 poem. */
const FIVE_CHAR_LINE = /^\p{sc=Han}{5}[，。]$/u;

/** How many lines of some poems have the five-character form. */
export interface LineForm {
  /** All lines ({@link poemLines}). */
  lines: number;
  /** Lines of exactly five Han characters followed by ， or 。. */
  formed: number;
  /** formed / lines (0 when there are no lines). */
  fraction: number;
}

/**
 * Measures the form of five-character poems (五言): the fraction of lines that are five Han
 * characters followed by ， or 。, over all lines of `poems`.
 */
export function fiveCharLineForm(poems: readonly string[]): LineForm {
  const lines = poems.flatMap(poemLines);
  const formed = lines.filter((line) => FIVE_CHAR_LINE.test(line)).length;
  return { lines: lines.length, formed, fraction: lines.length === 0 ? 0 : formed / lines.length };
}

/** Whether `text` is a five-character quatrain (五言绝句): "xxxxx，xxxxx。xxxxx，xxxxx。". */
export function isFiveCharQuatrain(text: string): boolean {
  return /^(\p{sc=Han}{5}，\p{sc=Han}{5}。){2}$/u.test(text);
}

/**
 * Per layer and head, the mean attention weight that a position gives to the position `lag`
 * tokens before it (over the positions that have one): `attention` is `gptForward`'s trace
 * for one sequence, each [1, h, T, T]. With lag 1 it measures "look at the previous token";
 * in five-character poems lag 6 is the same place in the previous line.
 */
export function attentionAtLag(attention: readonly Tensor[], lag: number): number[][] {
  return attention.map((a) => {
    const [, h, T] = a.shape;
    if (!(Number.isInteger(lag) && lag >= 1 && lag < T)) {
      throw new Error(`attentionAtLag: lag must be an integer in 1 … ${T - 1}, got ${lag}`);
    }
    const w = a.arraySync() as number[][][][];
    return Array.from({ length: h }, (_, head) => {
      let sum = 0;
      for (let t = lag; t < T; t++) sum += w[0][head][t][t - lag];
      return sum / (T - lag);
    });
  });
}
