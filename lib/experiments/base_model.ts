/**
 * The base model of chapters 09–13: one small GPT pre-trained once on the project's "web text"
 * (`data/webtext.ts`), the way GPT-2 was pre-trained on WebText, then asked tasks in words
 * (chapter 09), given examples in its prompt (chapter 10), tuned to follow instructions (chapter
 * 12) and adapted cheaply (chapter 13).
 *
 * `deno task pretrain` builds it (and chapter 09's control, the same model pre-trained on the
 * corpus without its task-like pages) into the cache folder {@link modelCacheDir}; a chapter calls
 * {@link loadBaseModel}, which reads the checkpoint when its recipe matches and otherwise builds it.
 * In quick mode (tests) every recipe is tiny and builds in seconds.
 *
 * The tokenizer is {@link WordTokenizer}: one token per Chinese character, per English word and per
 * punctuation mark — the corpus mixes both scripts, a character is the natural unit of Chinese,
 * and a whole English word makes a one-word answer one token.
 *
 * @module
 */
import { WordTokenizer } from "../tokenizer.ts";
import { type GPTConfig, type GPTParams, initGPT } from "../gpt.ts";
import { loadCheckpoint, saveCheckpoint } from "../checkpoint.ts";
import { outputPath } from "../data.ts";
import { readEnv } from "../env.ts";
import { join } from "node:path";
import type { StepReport } from "../train.ts";
import { generateTokens } from "../sampling.ts";
import { pretrain, pretrainingConfig, type PretrainingSettings } from "./pretraining.ts";
import {
  generateWebText,
  type Page,
  type PageKind,
  sentences,
  type ZeroShotItem,
  type ZeroShotSets,
  zeroShotSets,
} from "../../data/webtext.ts";
import { ANTONYMS, CITIES, NAMES, NOUNS, PLACES } from "../../data/webtext_lexicon.ts";

export type { Page, PageKind, ZeroShotItem, ZeroShotSets } from "../../data/webtext.ts";

/**
 * Which model: the base model; chapter 09's control, the same model pre-trained on the corpus
 * without its task-like pages; and two smaller models on the base model's corpus, for zero-shot
 * accuracy against size (GPT-2's Figure 1 in miniature).
 */
export type BaseVariant = "base" | "no-tasks" | "small" | "tiny";

/** The variants, largest first; `deno task pretrain` builds them all. */
export const BASE_VARIANTS: readonly BaseVariant[] = ["base", "no-tasks", "small", "tiny"];

/**
 * How a base model is made: its corpus, its size and its training run (the model and training
 * fields as chapter 06's {@link PretrainingSettings}; learning rate: linear warmup, then cosine
 * decay to a tenth of the peak).
 */
export interface BaseModelRecipe
  extends Omit<PretrainingSettings, "characters" | "evalEvery" | "evalWindows"> {
  /** The variant this recipe builds. */
  variant: BaseVariant;
  /** Quick mode's tiny version. */
  quick: boolean;
  /** Pages of web text drawn. */
  pages: number;
  /** The seed of the pages drawn. */
  corpusSeed: number;
  /** How many times during training the zero-shot tests run (on their first items), for the curve. */
  checkpoints: number;
}

/**
 * The recipe of a variant, full or quick. Full: 4 blocks of width 128 (small: 2 of 64, tiny: 1 of
 * 32), context 96, 1,500 steps of 16 windows on 20,000 pages — a model that reads its corpus about
 * three times and can be built on two cores within the budget of `deno task pretrain`. Quick: a
 * few seconds per model, enough to run every cell, not to answer.
 */
export function baseModelRecipe(variant: BaseVariant, quick: boolean): BaseModelRecipe {
  const size = { base: [4, 4, 128], "no-tasks": [4, 4, 128], small: [2, 4, 64], tiny: [1, 2, 32] }[
    variant
  ];
  const common = {
    variant,
    quick,
    corpusSeed: 1,
    weightDecay: 0.01,
    clipNorm: 1,
    seed: 1,
  };
  return quick
    ? {
      ...common,
      pages: 1500,
      layers: Math.min(2, size[0]),
      heads: 2,
      dModel: size[2] / 4,
      contextLength: 64,
      batchSize: 8,
      steps: 40,
      peakLearningRate: 1e-2,
      warmupSteps: 4,
      checkpoints: 2,
    }
    : {
      ...common,
      pages: 20000,
      layers: size[0],
      heads: size[1],
      dModel: size[2],
      contextLength: 96,
      batchSize: 16,
      steps: 1500,
      peakLearningRate: 3e-3,
      warmupSteps: 100,
      checkpoints: 6,
    };
}

/** The web-text corpus of a recipe, tokenised. */
export interface WebTextCorpus {
  /** The pages drawn. */
  pages: Page[];
  /** How many pages of each kind. */
  pageCounts: Partial<Record<PageKind, number>>;
  /** The tokenizer (built from the full corpus, so every variant shares one vocabulary). */
  tokenizer: WordTokenizer;
  /** The token stream: each page preceded by `<s>`, which marks where a page begins. */
  ids: number[];
}

/** The pages of each (pages, seed, without tasks) drawn so far: a corpus is drawn once per process. */
const drawnPages = new Map<string, Page[]>();

/** The pages of a recipe's corpus (the full web text unless `withoutTasks`), drawn once. */
function recipePages(recipe: BaseModelRecipe, withoutTasks: boolean): Page[] {
  const key = `${recipe.pages}/${recipe.corpusSeed}/${withoutTasks}`;
  let pages = drawnPages.get(key);
  if (!pages) {
    pages = generateWebText({ pages: recipe.pages, seed: recipe.corpusSeed, withoutTasks });
    drawnPages.set(key, pages);
  }
  return pages;
}

/**
 * The tokenizer every variant of a recipe shares: the words of the full corpus (task-like pages
 * included) and of chapter 09's test items, so the control model has an id for every word the
 * tests ask for even where its own corpus never uses it.
 */
function sharedTokenizer(recipe: BaseModelRecipe): WordTokenizer {
  const full = recipePages(recipe, false);
  const tests = Object.values(zeroShotSets()).flat().map((i) => `${i.prompt}${i.answer}`);
  return WordTokenizer.fromText([...full.map((p) => p.text), ...tests].join("\n"));
}

/** The corpus of a recipe: its pages, counted by kind, and the token stream. */
export function webTextCorpus(recipe: BaseModelRecipe): WebTextCorpus {
  const pages = recipePages(recipe, recipe.variant === "no-tasks");
  const tokenizer = sharedTokenizer(recipe);
  const bos = tokenizer.vocab.idOf("<s>");
  const ids: number[] = [];
  const pageCounts: Partial<Record<PageKind, number>> = {};
  for (const page of pages) {
    ids.push(bos, ...tokenizer.encode(page.text));
    pageCounts[page.kind] = (pageCounts[page.kind] ?? 0) + 1;
  }
  return { pages, pageCounts, tokenizer, ids };
}

/** Zero-shot exact-match accuracy per task of chapter 09 after some training steps. */
export interface ZeroShotPoint {
  /** The training step after which the tests ran. */
  step: number;
  /** Exact-match accuracy per task (the keys of `zeroShotSets`). */
  accuracy: Record<string, number>;
}

/** A pre-trained base model with its tokenizer and how it was made. */
export interface BaseModel {
  /** The weights. */
  params: GPTParams;
  /** The GPT's configuration. */
  config: GPTConfig;
  /** The tokenizer of its corpus (one vocabulary for every variant). */
  tokenizer: WordTokenizer;
  /** How it was made. */
  recipe: BaseModelRecipe;
  /** Tokens in the corpus it read. */
  corpusTokens: number;
  /** The training loss after every step. */
  losses: number[];
  /** Zero-shot accuracy on the first items of each test during training (`recipe.checkpoints` times). */
  curve: ZeroShotPoint[];
  /** Seconds the pre-training took (where it was built). */
  seconds: number;
}

/** How many items of each zero-shot test the training curve reads. */
const CURVE_ITEMS = 30;

/** The GPT config of a recipe for a vocabulary. */
export function baseModelConfig(recipe: BaseModelRecipe, vocabSize: number): GPTConfig {
  const name = `web-text GPT (${recipe.variant}${recipe.quick ? ", quick" : ""})`;
  return pretrainingConfig(recipe, vocabSize, name);
}

/**
 * Pre-trains the model of a recipe on its corpus (`onStep` for a progress display), running the
 * zero-shot tests on their first items `recipe.checkpoints` times along the way.
 */
export async function pretrainBaseModel(
  recipe: BaseModelRecipe,
  opts: { onStep?: (report: StepReport) => void | Promise<void> } = {},
): Promise<BaseModel> {
  const corpus = webTextCorpus(recipe);
  const config = baseModelConfig(recipe, corpus.tokenizer.vocabSize);
  const params = initGPT(config, recipe.seed);
  const text = corpus.pages.map((p) => p.text).join("\n");
  const tests = Object.entries(zeroShotSets(CURVE_ITEMS, (t) => text.includes(t)));
  const every = Math.max(1, Math.round(recipe.steps / recipe.checkpoints));
  const curve: ZeroShotPoint[] = [];
  const model = (): BaseModel => ({
    params,
    config,
    tokenizer: corpus.tokenizer,
    recipe,
    corpusTokens: corpus.ids.length,
    losses: [],
    curve,
    seconds: 0,
  });
  const started = performance.now();
  let trainingSeconds = 0;
  const result = await pretrain(params, config, corpus.ids, recipe, {
    onStep: async (report) => {
      await opts.onStep?.(report);
      if (report.step % every === 0 || report.step === recipe.steps) {
        const paused = performance.now();
        const accuracy = Object.fromEntries(
          tests.map(([task, items]) => [task, zeroShotExactMatch(model(), items).accuracy]),
        );
        curve.push({ step: report.step, accuracy });
        trainingSeconds -= (performance.now() - paused) / 1000;
      }
    },
  });
  trainingSeconds += (performance.now() - started) / 1000;
  return { ...model(), losses: result.losses, seconds: trainingSeconds };
}

/**
 * The folder where `deno task pretrain` keeps the base models: `<repository>/.out/models/`, or the
 * folder named by the environment variable `GPT_MODEL_CACHE`.
 */
export function modelCacheDir(): string {
  return readEnv("GPT_MODEL_CACHE") ?? outputPath("models");
}

/** The checkpoint file of a recipe in {@link modelCacheDir}. */
export function baseModelPath(recipe: BaseModelRecipe): string {
  return join(modelCacheDir(), `webtext-${recipe.variant}${recipe.quick ? "-quick" : ""}.ckpt`);
}

/** Saves a base model as a checksummed checkpoint, with its recipe and vocabulary. */
export async function saveBaseModel(model: BaseModel, path = baseModelPath(model.recipe)) {
  await Deno.mkdir(modelCacheDir(), { recursive: true });
  await saveCheckpoint(path, {
    config: model.config,
    params: model.params,
    step: model.recipe.steps,
    extra: {
      recipe: model.recipe,
      words: model.tokenizer.vocab.tokens.slice(model.tokenizer.vocab.specials.length),
      corpusTokens: model.corpusTokens,
      losses: model.losses,
      curve: model.curve,
      seconds: model.seconds,
    },
  });
}

/**
 * A display for a build, given its steps and a title, called only when a model is built (the
 * display layer's `monitorOnDemand` fits: a progress bar and the loss curve).
 */
export type BuildProgress = (
  total: number,
  opts: { title: string },
) => {
  onStep(report: StepReport): void | Promise<void>;
  finish(info?: Record<string, string | number>): void | Promise<void>;
};

/**
 * The base model of a variant: read from its checkpoint when one exists with the same recipe,
 * else pre-trained now (and saved). `log` hears which (and a build's size in steps); `progress`
 * displays a build.
 */
export async function loadBaseModel(
  variant: BaseVariant,
  opts: {
    quick: boolean;
    log?: (message: string) => void;
    progress?: BuildProgress;
  },
): Promise<BaseModel> {
  const recipe = baseModelRecipe(variant, opts.quick);
  const path = baseModelPath(recipe);
  try {
    const ckpt = await loadCheckpoint(path);
    const extra = ckpt.extra as {
      recipe: BaseModelRecipe;
      words: string[];
      corpusTokens: number;
      losses: number[];
      curve: ZeroShotPoint[];
      seconds: number;
    };
    if (JSON.stringify(extra.recipe) === JSON.stringify(recipe)) {
      opts.log?.(`read the ${variant} model from ${path}`);
      return {
        params: ckpt.params,
        config: ckpt.config,
        tokenizer: new WordTokenizer(extra.words),
        recipe,
        corpusTokens: extra.corpusTokens,
        losses: extra.losses,
        curve: extra.curve,
        seconds: extra.seconds,
      };
    }
    opts.log?.(`${path} was made by another recipe: building the ${variant} model again`);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound) && !String(error).includes("No such file")) {
      opts.log?.(`could not read ${path} (${(error as Error).message}): building it again`);
    } else {
      opts.log?.(
        `no ${variant} model in ${modelCacheDir()} yet: building it (${recipe.steps} steps)`,
      );
    }
  }
  const display = opts.progress?.(recipe.steps, { title: `pre-training the ${variant} model` });
  const model = await pretrainBaseModel(recipe, { onStep: display?.onStep });
  await display?.finish({ seconds: model.seconds });
  await saveBaseModel(model, path);
  return model;
}

/** The marks that end an answer by default: "。", "." (kept: a sentence's English ends with it), `<s>`. */
export const ANSWER_STOPS: readonly string[] = ["。", ".", "<s>"];

/**
 * The model's greedy answer to a prompt: `<s>` + the prompt (its last n_ctx − 1 tokens if longer),
 * then the most probable token until one of `stops` (at most `maxNewTokens`, default 16); the
 * answer is the text before the stop mark, except a final "." (a sentence's English keeps it).
 */
export function greedyAnswer(
  model: BaseModel,
  prompt: string,
  opts: { maxNewTokens?: number; stops?: readonly string[] } = {},
): string {
  const { tokenizer } = model;
  const bos = tokenizer.vocab.idOf("<s>");
  const stops = (opts.stops ?? ANSWER_STOPS).map((t) => tokenizer.vocab.idOf(t));
  const body = tokenizer.encode(prompt).slice(-(model.config.contextLength - 1));
  const out = generateTokens({ params: model.params, config: model.config }, [bos, ...body], {
    maxNewTokens: opts.maxNewTokens ?? 16,
    temperature: 0,
    stopIds: stops,
  });
  const last = out.ids[out.ids.length - 1];
  const answer = stops.includes(last) && tokenizer.vocab.tokenOf(last) !== "."
    ? out.ids.slice(0, -1)
    : out.ids;
  return tokenizer.decode(answer);
}

/** The answer text as the tokenizer writes it back (so "I am a student." compares as decoded). */
export function normalizedAnswer(model: BaseModel, answer: string): string {
  return model.tokenizer.decode(model.tokenizer.encode(answer.replace(/。$/, "")));
}

/** Exact-match accuracy of greedy answers on test items, with every answer. */
export function zeroShotExactMatch(
  model: BaseModel,
  items: readonly ZeroShotItem[],
): { accuracy: number; answers: { item: ZeroShotItem; answer: string; right: boolean }[] } {
  const answers = items.map((item) => {
    const answer = greedyAnswer(model, item.prompt);
    return { item, answer, right: answer === normalizedAnswer(model, item.answer) };
  });
  return {
    accuracy: answers.filter((a) => a.right).length / Math.max(1, answers.length),
    answers,
  };
}

/**
 * Chapter 09's test items for a recipe's corpus: {@link zeroShotSets} with `count` passages and
 * stories, skipping any draw whose prompt and answer occur in the full web text of the recipe
 * (the no-tasks corpus is a part of it).
 */
export function testSets(recipe: BaseModelRecipe, count = 200): ZeroShotSets {
  const text = recipePages(recipe, false).map((p) => p.text).join("\n");
  return zeroShotSets(count, (t) => text.includes(t));
}

/**
 * The accuracy of guessing, per task of {@link zeroShotSets}: a word or a sentence drawn from
 * all the lexicon's English nouns or the grammar's sentences; for a question, one of the answers
 * the passage mentions (its cities and nouns); for a sum, always the most common sum of two
 * digits 1…9 (10); for an antonym, any other of the antonym characters; for a summary, any name
 * with any place. The yardstick a zero-shot accuracy must beat before it means anything.
 */
export function chanceAccuracy(task: keyof ZeroShotSets, items: readonly ZeroShotItem[]): number {
  if (items.length === 0) return 0;
  const mean = (f: (item: ZeroShotItem) => number) =>
    items.reduce((s, item) => s + f(item), 0) / items.length;
  switch (task) {
    case "translateWord":
    case "translateControl":
      return 1 / NOUNS.length;
    case "translateSentence":
      return 1 / sentences(NOUNS).length;
    case "question":
      return mean((item) => {
        const passage = item.prompt.slice(0, item.prompt.lastIndexOf("问："));
        const candidates = [...CITIES, ...NOUNS.map((n) => n.zh)].filter((w) =>
          passage.includes(w)
        );
        return candidates.includes(item.answer) ? 1 / candidates.length : 0;
      });
    case "sum":
      return mean((item) => (item.answer === "10" ? 1 : 0));
    case "antonym":
      return 1 / (2 * ANTONYMS.length - 1);
    case "summary":
      return 1 / (NAMES.length * PLACES.length);
  }
}
