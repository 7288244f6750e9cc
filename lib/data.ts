/**
 * Loaders for the datasets in `data/` (written by this project, see data/README.md), and for
 * the Tang poems, a real corpus read at run time from the npm package chinese-poetry
 * ({@link loadTangPoems}), with a character vocabulary ({@link charVocabulary}) and seeded
 * language-modelling batches ({@link lmBatches}).
 *
 * Paths are resolved from this file, not from the working directory, so a chapter reads the
 * same file whether it runs in Jupyter (whose kernel starts in `notebooks/`) or as a script
 * started from anywhere; {@link outputPath} does the same for what chapters write, under
 * `.out/`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import * as OpenCC from "opencc-js";
import { createRequire } from "node:module";
import { dirname, isAbsolute, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { Tensor2D } from "./tf_types.ts";
import { makeRng } from "./tensor.ts";
import { CharTokenizer, type Vocabulary, WordTokenizer } from "./tokenizer.ts";

const DATA_DIR = new URL("../data/", import.meta.url);
const OUT_DIR = new URL("../.out/", import.meta.url);

/** A name that starts like a URL (`file:`, `https:`) or a Windows drive (`C:`). */
const URL_LIKE = /^[A-Za-z][A-Za-z\d+.-]*:/;

/** Whether `path` is `root` itself or lies below it (both absolute, already normalised). */
function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (rel !== ".." && !rel.startsWith(".." + sep) && !isAbsolute(rel));
}

/** The data files a loader can read: data/ less its generators (`*.ts`) and README.md. */
async function availableDataFiles(): Promise<string> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(DATA_DIR)) {
    if (entry.isFile && !entry.name.endsWith(".ts") && entry.name !== "README.md") {
      names.push(entry.name);
    }
  }
  return names.sort().join(", ");
}

/**
 * The real path of the file `name` inside data/, for the loader `caller`: `name` is joined to
 * the folder as plain text (no URL decoding) and resolved with `Deno.realPath`, symbolic
 * links included; an absolute path, a URL, a missing file or one that resolves outside data/
 * throws an error naming `name` and listing the available files.
 */
async function dataFile(caller: string, name: string): Promise<string> {
  const refuse = async (why: string) =>
    new Error(
      `${caller}: ${JSON.stringify(name)} ${why}; available: ${await availableDataFiles()}`,
    );
  if (typeof name !== "string" || name.length === 0) {
    throw await refuse("is not a file name inside data/");
  }
  if (isAbsolute(name) || URL_LIKE.test(name)) {
    throw await refuse("is an absolute path or a URL, not a file name inside data/");
  }
  const dir = await Deno.realPath(fileURLToPath(DATA_DIR));
  let path: string;
  try {
    path = await Deno.realPath(join(dir, name));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw await refuse("is not a file in data/");
    throw e;
  }
  if (!isInside(dir, path)) throw await refuse(`resolves to ${path}, outside data/`);
  if (!(await Deno.stat(path)).isFile) throw await refuse("is not a file in data/");
  return path;
}

/**
 * The text of `data/<name>`, e.g. `await loadDataText("intro_zh.txt")`. Only files inside
 * data/ are read: an absolute path, a URL, or a name that resolves elsewhere (through `..`
 * or a symbolic link) throws an error naming it and listing the available files, as does a
 * missing file.
 */
export async function loadDataText(name: string): Promise<string> {
  return await Deno.readTextFile(await dataFile("loadDataText", name));
}

/**
 * The path `<repository>/.out/<parts…>` (absolute), where chapters write what they make
 * (checkpoints, figures): found from this module's location, so the same place whatever the
 * working directory (Jupyter starts in notebooks/, a script anywhere). Creates the folder
 * that holds it. `outputPath("checkpoints", "06_tang.gptc")`. Each part must be a relative
 * path; one that leads outside .out/ (`..`, or a symbolic link out of it) throws an error.
 */
export function outputPath(...parts: string[]): string {
  const bad = parts.find((part) =>
    typeof part !== "string" || part.length === 0 || isAbsolute(part) || URL_LIKE.test(part)
  );
  if (parts.length === 0 || bad !== undefined) {
    throw new Error(
      `outputPath: expected relative paths inside .out/, got ${JSON.stringify(parts)}`,
    );
  }
  const root = fileURLToPath(OUT_DIR);
  const path = join(root, ...parts);
  if (relative(root, path) === "" || !isInside(root, path)) {
    throw new Error(`outputPath: ${JSON.stringify(parts.join("/"))} is outside .out/`);
  }
  Deno.mkdirSync(root, { recursive: true });
  const realRoot = Deno.realPathSync(root);
  // The deepest folder of the path that exists must really be in .out/ before anything is
  // created below it.
  let existing = dirname(path);
  for (;;) {
    try {
      existing = Deno.realPathSync(existing);
      break;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      existing = dirname(existing);
    }
  }
  if (!isInside(realRoot, existing)) {
    throw new Error(
      `outputPath: ${JSON.stringify(parts.join("/"))} leads to ${existing}, outside .out/`,
    );
  }
  Deno.mkdirSync(dirname(path), { recursive: true });
  return path;
}

/** One translation example: a Chinese sentence and its English translation. */
export interface Pair {
  /** The Chinese sentence, e.g. `"我是一名学生"` (tokenised one character per token). */
  zh: string;
  /**
   * The English sentence, e.g. `"I am a student"`: lower case except "I", words separated by
   * single spaces, no punctuation (tokenised one word per token).
   */
  en: string;
}

/** A dataset's training split and its held-out test split. */
export interface Splits<T> {
  /** The examples to train on. */
  train: T[];
  /** Held-out examples, never seen in training. */
  test: T[];
}

/** Parses a `data/` JSON file with `train` and `test` arrays, checking each item. */
async function loadSplits<T>(name: string, check: (item: unknown, where: string) => T) {
  const raw = JSON.parse(await loadDataText(name)) as Record<string, unknown>;
  const split = (key: "train" | "test") => {
    const items = raw[key];
    if (!Array.isArray(items)) throw new Error(`data/${name}: expected a "${key}" array`);
    return items.map((item, i) => check(item, `data/${name} ${key}[${i}]`));
  };
  return { train: split("train"), test: split("test") };
}

/**
 * The Chinese → English pairs of chapter 05 (`data/translation_zh_en.json`, made by
 * `data/make_translation.ts`): 618 training and 121 test pairs from a small grammar, such as
 * 我是一名学生 → "I am a student" (in training). No test sentence, Chinese or English, occurs in
 * training; every character, word and phrase of a test sentence does.
 */
export async function loadTranslationPairs(): Promise<Splits<Pair>> {
  return await loadSplits("translation_zh_en.json", (item, where) => {
    const p = item as Pair;
    if (typeof p?.zh !== "string" || typeof p?.en !== "string") {
      throw new Error(`${where}: expected { zh: string, en: string }, got ${JSON.stringify(item)}`);
    }
    return { zh: p.zh, en: p.en };
  });
}

/**
 * The special tokens of the translation vocabularies, ids 0 … 3: `<s>` (start of the decoder's
 * input), `<pad>`, `<unk>` and `</s>`, the end of a sentence, which the decoder learns to emit
 * when the translation is complete (greedy decoding stops there).
 */
export const SEQ2SEQ_SPECIALS: readonly string[] = ["<s>", "<pad>", "<unk>", "</s>"];

/** The source (Chinese characters) and target (English words) vocabularies of a translator. */
export interface Seq2SeqVocab {
  /** `<s> <pad> <unk> </s>`, then the Chinese characters by code point. */
  src: Vocabulary;
  /** `<s> <pad> <unk> </s>`, then the English words, most frequent first. */
  tgt: Vocabulary;
}

/**
 * Builds the vocabularies of `pairs`: every Chinese character (as {@link CharTokenizer} splits
 * text) and every English word (as {@link WordTokenizer} splits it), after
 * {@link SEQ2SEQ_SPECIALS}.
 */
export function buildSeq2SeqVocab(pairs: readonly Pair[]): Seq2SeqVocab {
  const zh = pairs.map((p) => p.zh).join("");
  const en = pairs.map((p) => p.en).join(" ");
  return {
    src: CharTokenizer.fromText(zh, { specials: SEQ2SEQ_SPECIALS }).vocab,
    tgt: WordTokenizer.fromText(en, { specials: SEQ2SEQ_SPECIALS }).vocab,
  };
}

/** Token ids of a batch of pairs, every row padded with `<pad>` to the same length. */
export interface EncodedPairs {
  /** Encoder input: the characters of `zh`, then `<pad>` up to `maxSrc`. */
  src: number[][];
  /** Decoder input (teacher forcing): `<s>` and the words of `en`, then `<pad>` up to `maxTgt`. */
  tgtIn: number[][];
  /** Decoder target: the words of `en` and `</s>`, then `<pad>` up to `maxTgt`. */
  tgtOut: number[][];
  /** The id of `<pad>`: positions to mask in attention and to leave out of the loss. */
  padId: number;
  /** The id of `<s>`. */
  bosId: number;
  /** The id of `</s>`. */
  eosId: number;
}

/**
 * Encodes pairs for teacher-forced training. For "I am a student" (words w₁…w₄):
 * tgtIn = `<s>` w₁ w₂ w₃ w₄ and tgtOut = w₁ w₂ w₃ w₄ `</s>`: at position t the decoder reads
 * `<s>` w₁…w_{t−1} and must predict w_t. Lengths default to the longest source and the
 * longest target + 1; a sentence that does not fit throws an error naming it and both lengths.
 */
export function encodePairs(
  pairs: readonly Pair[],
  vocab: Seq2SeqVocab,
  opts: { maxSrc?: number; maxTgt?: number } = {},
): EncodedPairs {
  const [bos, pad, , eos] = SEQ2SEQ_SPECIALS;
  const srcTokens = pairs.map((p) => CharTokenizer.codePoints(p.zh));
  const tgtTokens = pairs.map((p) => WordTokenizer.split(p.en));
  const maxSrc = opts.maxSrc ?? Math.max(0, ...srcTokens.map((t) => t.length));
  const maxTgt = opts.maxTgt ?? Math.max(0, ...tgtTokens.map((t) => t.length)) + 1;
  const padId = vocab.tgt.idOf(pad);
  const padTo = (ids: number[], n: number, what: string, i: number) => {
    if (ids.length > n) {
      throw new Error(
        `encodePairs: pair ${i} (${JSON.stringify(pairs[i].zh)} → ${
          JSON.stringify(pairs[i].en)
        }) needs ${what} length ${ids.length}, more than ${n}`,
      );
    }
    return [...ids, ...Array(n - ids.length).fill(padId)];
  };
  if (vocab.src.idOf(pad) !== padId) {
    throw new Error(
      `encodePairs: <pad> must have the same id in both vocabularies, got ${
        vocab.src.idOf(pad)
      } and ${padId}`,
    );
  }
  return {
    src: srcTokens.map((t, i) => padTo(vocab.src.encode(t), maxSrc, "source", i)),
    tgtIn: tgtTokens.map((t, i) => padTo(vocab.tgt.encode([bos, ...t]), maxTgt, "target", i)),
    tgtOut: tgtTokens.map((t, i) => padTo(vocab.tgt.encode([...t, eos]), maxTgt, "target", i)),
    padId,
    bosId: vocab.tgt.idOf(bos),
    eosId: vocab.tgt.idOf(eos),
  };
}

/** An "it" sentence labelled with what "it" refers to (chapter 04). */
export interface ItSentence {
  /** The sentence, e.g. "The animal didn't cross the street because it was too tired." */
  text: string;
  /** `WordTokenizer.split(text)`: the indices below count these tokens. */
  tokens: string[];
  /** The position of "it". */
  itIndex: number;
  /** The position of the noun "it" refers to ("animal" for tired, "street" for narrow). */
  referentIndex: number;
  /** The position of the other noun. */
  otherIndex: number;
  /** Whether "it" is the animal or the place. */
  referent: "animal" | "place";
}

/**
 * The "it" sentences of chapter 04 (`data/it_sentences.json`, made by
 * `data/make_it_sentences.ts`): 556 training and 164 test sentences. The adjective decides the
 * referent ("tired" → the animal, "narrow" → the place); the test split pairs adjectives with
 * referent nouns that training never pairs them with. Each sentence is checked on loading:
 * `tokens[itIndex]` must be "it" and both nouns must come before it.
 */
export async function loadItSentences(): Promise<Splits<ItSentence>> {
  return await loadSplits("it_sentences.json", (item, where) => {
    const s = item as Omit<ItSentence, "tokens">;
    if (typeof s?.text !== "string") throw new Error(`${where}: expected a "text" string`);
    const tokens = WordTokenizer.split(s.text);
    const { itIndex, referentIndex, otherIndex, referent } = s;
    const inRange = (i: number) => Number.isInteger(i) && i >= 0 && i < itIndex;
    if (
      tokens[itIndex] !== "it" || !inRange(referentIndex) || !inRange(otherIndex) ||
      referentIndex === otherIndex || (referent !== "animal" && referent !== "place")
    ) {
      throw new Error(`${where}: inconsistent labels for ${JSON.stringify(s.text)}`);
    }
    return { text: s.text, tokens, itIndex, referentIndex, otherIndex, referent };
  });
}

/** A sentiment example of chapter 08: a sentence and its polarity (1 positive, 0 negative). */
export interface SentimentExample {
  /** e.g. "雨后行人楼上独坐，心中舞歌。" */
  text: string;
  /** 1 positive, 0 negative. */
  label: number;
}

/** An entailment example: label 0 entails, 1 neutral, 2 contradicts. */
export interface EntailmentExample {
  /** e.g. "雨后渔父楼上独坐，林大。" */
  premise: string;
  /** e.g. "林不小。" (entails). */
  hypothesis: string;
  /** 0 entails, 1 neutral, 2 contradicts ({@link ENTAILMENT_LABELS}). */
  label: number;
}

/** The names of the entailment labels, by id. */
export const ENTAILMENT_LABELS: readonly string[] = ["entails", "neutral", "contradicts"];

/** A similarity example: two sentences, label 1 when one paraphrases the other. */
export interface SimilarityExample {
  /** The first sentence. */
  a: string;
  /** The second sentence (one slot differs from the first). */
  b: string;
  /** 1 paraphrase, 0 not. */
  label: number;
}

/** A multiple-choice example: a short story and 2–4 endings, `label` the fitting one. */
export interface MultipleChoiceExample {
  /** The story, e.g. "行人江上，阴雨连绵，四下无人。" */
  context: string;
  /** The candidate endings, e.g. "于是撑伞回家。" */
  endings: string[];
  /** The index of the fitting ending. */
  label: number;
}

/** Train, validation and test examples of one task. */
export interface TaskSplits<T> {
  /** The examples to train on. */
  train: T[];
  /** Held-out examples to choose settings with. */
  validation: T[];
  /** Held-out examples to report. */
  test: T[];
}

/** The four fine-tuning tasks of chapter 08. */
export interface FineTuneTasks {
  /** Sentiment classification (2 classes). */
  sentiment: TaskSplits<SentimentExample>;
  /** Entailment (3 classes). */
  entailment: TaskSplits<EntailmentExample>;
  /** Similarity: paraphrase or not (2 classes). */
  similarity: TaskSplits<SimilarityExample>;
  /** Multiple choice among 2–4 story endings. */
  multipleChoice: TaskSplits<MultipleChoiceExample>;
}

function taskText(x: unknown, where: string, name: string): string {
  if (typeof x !== "string" || x.length === 0) {
    throw new Error(`${where}: expected a non-empty "${name}" string`);
  }
  return x;
}

function taskLabel(x: unknown, classes: number, where: string): number {
  if (!Number.isInteger(x) || (x as number) < 0 || (x as number) >= classes) {
    throw new Error(`${where}: label ${String(x)} is outside 0 … ${classes - 1}`);
  }
  return x as number;
}

/**
 * The fine-tuning tasks of chapter 08 (`data/finetune_tasks.json`, made by
 * `data/make_tasks.ts`): 600 training, 120 validation and 240 test examples per task, in
 * Chinese written with characters common in Tang poems. The splits are lexical: the words that
 * decide a label (feeling characters, adjective triples, synonym pairs, story situations) in
 * validation and test never occur in training, so only knowledge from pretraining can help
 * with them. Each example is checked on loading (non-empty texts, labels in range, 2–4
 * endings).
 */
export async function loadFineTuneTasks(): Promise<FineTuneTasks> {
  const name = "finetune_tasks.json";
  const raw = JSON.parse(await loadDataText(name)) as Record<string, Record<string, unknown>>;
  function splits<T>(task: string, check: (x: Record<string, unknown>, where: string) => T) {
    const get = (split: "train" | "validation" | "test") => {
      const items = raw[task]?.[split];
      if (!Array.isArray(items)) throw new Error(`data/${name}: expected ${task}.${split} array`);
      return items.map((x, i) => check(x, `data/${name} ${task}.${split}[${i}]`));
    };
    return { train: get("train"), validation: get("validation"), test: get("test") };
  }
  return {
    sentiment: splits("sentiment", (x, w) => ({
      text: taskText(x.text, w, "text"),
      label: taskLabel(x.label, 2, w),
    })),
    entailment: splits("entailment", (x, w) => ({
      premise: taskText(x.premise, w, "premise"),
      hypothesis: taskText(x.hypothesis, w, "hypothesis"),
      label: taskLabel(x.label, 3, w),
    })),
    similarity: splits("similarity", (x, w) => ({
      a: taskText(x.a, w, "a"),
      b: taskText(x.b, w, "b"),
      label: taskLabel(x.label, 2, w),
    })),
    multipleChoice: splits("multipleChoice", (x, w) => {
      const endings = x.endings;
      if (!Array.isArray(endings) || endings.length < 2 || endings.length > 4) {
        throw new Error(`${w}: expected 2–4 endings`);
      }
      return {
        context: taskText(x.context, w, "context"),
        endings: endings.map((e, i) => taskText(e, w, `endings[${i}]`)),
        label: taskLabel(x.label, endings.length, w),
      };
    }),
  };
}

/**
 * The unlabelled prose chapter 08's body is pre-trained on beside the Tang poems
 * (`data/prose_zh.txt`, made by `data/make_prose.ts`), one sentence per line: the tasks' words
 * in frames that are not the tasks' own and carry no labels (feelings after good or bad news,
 * an adjective with its synonym and against its antonym, two words said to mean the same, a
 * situation and what people do in it) — the role BooksCorpus plays for GPT-1.
 */
export async function loadProse(): Promise<string[]> {
  const lines = (await loadDataText("prose_zh.txt")).split("\n").filter((l) => l.length > 0);
  if (lines.length === 0) throw new Error("data/prose_zh.txt: no lines");
  return lines;
}

/** Options of {@link loadTangPoems}. */
export interface TangPoemOptions {
  /** Convert traditional characters to simplified ones with opencc-js (default true). */
  simplified?: boolean;
  /** At most this many poems in both splits together (default 20,000). */
  maxPoems?: number;
  /**
   * Keep only poems made of five-character lines (五言): couplets "xxxxx，xxxxx。", every x a
   * Han character (default true). Otherwise every poem with some text is kept.
   */
  fiveCharOnly?: boolean;
}

/** The poems to train on and the held-out ones, each poem one string. */
export interface PoemSplits {
  /** About 95% of the poems. */
  train: string[];
  /** About 5% of the poems; no poem text is in both splits. */
  validation: string[];
}

/** One or more couplets of two five-character lines: 五言 (after joining a poem's lines). */
const FIVE_CHAR_POEM = /^(\p{sc=Han}{5}，\p{sc=Han}{5}。)+$/u;

/** FNV-1a, 32 bits, over UTF-16 code units: a fixed hash for ordering and splitting poems. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Every Tang poem of chinese-poetry, paragraphs joined, duplicates removed: read once. */
let tangTexts: Promise<string[]> | undefined;
/** Loaded splits by options, so a chapter can ask again for free. */
const tangCache = new Map<string, Promise<PoemSplits>>();

/** The folder of the Tang poem files inside the installed npm package. */
function quantangshiDir(): string {
  let pkg: string;
  try {
    pkg = createRequire(import.meta.url).resolve("chinese-poetry/package.json");
  } catch (e) {
    throw new Error(
      `loadTangPoems: the npm package chinese-poetry is not installed (${
        (e as Error).message
      }); run \`deno install\` in the project folder`,
    );
  }
  return pkg.replace(/package\.json$/, "dist/quantangshi/");
}

async function readTangTexts(): Promise<string[]> {
  const dir = quantangshiDir();
  const files: { name: string; first: number }[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const m = /^poet\.tang\.(\d+)\.json$/.exec(entry.name);
    if (entry.isFile && m) files.push({ name: entry.name, first: Number(m[1]) });
  }
  if (files.length === 0) throw new Error(`loadTangPoems: no poet.tang.*.json files in ${dir}`);
  files.sort((a, b) => a.first - b.first);
  const texts = new Set<string>();
  for (const { name } of files) {
    const poems = JSON.parse(await Deno.readTextFile(dir + name)) as { paragraphs?: unknown }[];
    for (const poem of poems) {
      if (!Array.isArray(poem.paragraphs)) continue;
      const text = poem.paragraphs.filter((p) => typeof p === "string").join("").trim();
      if (text.length > 0) texts.add(text);
    }
  }
  return [...texts];
}

/**
 * The Tang poems of the npm package chinese-poetry (MIT; its `dist/quantangshi/poet.tang.*.json`,
 * 全唐诗, 57,607 poems), read at run time and never committed. Each poem is one string, its
 * lines joined: "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。".
 *
 * Steps, all deterministic: join each poem's paragraphs; drop duplicates; with `fiveCharOnly`
 * keep the poems whose lines are five Han characters each (五言, ~26,700 poems); order the
 * poems by a hash of their text (FNV-1a, so the choice does not follow the collection's
 * order of authors); convert each to simplified characters (opencc-js, OpenCC's "t" → "cn")
 * and drop duplicates again, until `maxPoems` are taken. The split is by a second hash of
 * the final text: a poem goes to validation when it is 0 … 4 mod 100 (5%), so a poem's split
 * never depends on `maxPoems` or on the other poems, and a smaller load's validation poems
 * are validation poems of every larger load too.
 *
 * Reading the package's files takes ~0.3 s and converting 20,000 poems ~0.4 s on this
 * project's machines; results are cached in memory, so a second call costs nothing.
 */
export function loadTangPoems(opts: TangPoemOptions = {}): Promise<PoemSplits> {
  const { simplified = true, maxPoems = 20_000, fiveCharOnly = true } = opts;
  if (!Number.isInteger(maxPoems) || maxPoems < 1) {
    throw new Error(`loadTangPoems: maxPoems must be a positive integer, got ${maxPoems}`);
  }
  const key = JSON.stringify([simplified, maxPoems, fiveCharOnly]);
  let result = tangCache.get(key);
  if (!result) {
    result = selectPoems(simplified, maxPoems, fiveCharOnly);
    tangCache.set(key, result);
    result.catch(() => tangCache.delete(key));
  }
  return result.then((r) => ({ train: [...r.train], validation: [...r.validation] }));
}

async function selectPoems(
  simplified: boolean,
  maxPoems: number,
  fiveCharOnly: boolean,
): Promise<PoemSplits> {
  tangTexts ??= readTangTexts();
  tangTexts.catch(() => (tangTexts = undefined));
  const all = await tangTexts;
  const keyed = all
    .filter((text) => !fiveCharOnly || FIVE_CHAR_POEM.test(text))
    .map((text) => ({ text, hash: fnv1a(text) }))
    .sort((a, b) => a.hash - b.hash || (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
  const convert = simplified ? OpenCC.Converter({ from: "t", to: "cn" }) : (t: string) => t;
  const chosen = new Set<string>();
  for (const { text } of keyed) {
    if (chosen.size >= maxPoems) break;
    const out = convert(text);
    if (!fiveCharOnly || FIVE_CHAR_POEM.test(out)) chosen.add(out);
  }
  const splits: PoemSplits = { train: [], validation: [] };
  for (const text of chosen) {
    (fnv1a("validation " + text) % 100 < 5 ? splits.validation : splits.train).push(text);
  }
  return splits;
}

/** The token that separates poems in a training stream ({@link encodeCorpus}): a line break. */
export const POEM_SEPARATOR = "\n";

/** Options of {@link charVocabulary}. */
export interface CharVocabularyOptions {
  /**
   * Keep only the characters of `texts` that occur at least this often (default 1: all);
   * the others encode as `<unk>`. The 20,000 default poems have 7,119 distinct characters;
   * those seen ≥ 5 times are 4,750 and cover 99.6% of the text.
   */
  minCount?: number;
}

/**
 * A character-level vocabulary for a corpus: the special tokens (ids 0 … 5, `<s>` … see
 * `DEFAULT_SPECIALS`), then {@link POEM_SEPARATOR} and the distinct characters of `texts`
 * (those seen `minCount` times) and of `extraText`, by code point. `extraText` adds
 * characters the corpus may lack, so that a prompt encodes without `<unk>`:
 * `charVocabulary(train, "在一个寒冷的冬日，")`. (The default 20,000 poems contain all of
 * those; a few hundred may not.)
 */
export function charVocabulary(
  texts: readonly string[],
  extraText = "",
  opts: CharVocabularyOptions = {},
): Vocabulary {
  const { minCount = 1 } = opts;
  if (!Number.isInteger(minCount) || minCount < 1) {
    throw new Error(`charVocabulary: minCount must be a positive integer, got ${minCount}`);
  }
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const c of CharTokenizer.codePoints(text)) counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  const chars = new Set<string>([POEM_SEPARATOR]);
  for (const [c, n] of counts) if (n >= minCount) chars.add(c);
  for (const c of CharTokenizer.codePoints(extraText)) chars.add(c);
  return new CharTokenizer([...chars].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!))
    .vocab;
}

/**
 * One token stream of a corpus: the characters of each text in order, each text followed by
 * {@link POEM_SEPARATOR}, encoded with `vocab` (characters it lacks become `<unk>`).
 */
export function encodeCorpus(texts: readonly string[], vocab: Vocabulary): number[] {
  const separator = vocab.idOf(POEM_SEPARATOR);
  const ids: number[] = [];
  for (const text of texts) {
    for (const c of CharTokenizer.codePoints(text)) ids.push(vocab.idOf(c));
    ids.push(separator);
  }
  return ids;
}

/** A language-modelling batch: `targets[b][t] = inputs[b][t + 1]` of one token stream. */
export interface LMBatch {
  /** Token ids [B, T] (int32). */
  inputs: Tensor2D;
  /** The token after each input position, [B, T] (int32). */
  targets: Tensor2D;
}

/** Options of {@link lmBatches}. */
export interface LMBatchOptions {
  /** B: windows per batch. */
  batchSize: number;
  /** T: tokens per window (at most the model's context length). */
  contextLength: number;
  /** The seed; with the step number it fixes every window. */
  seed: number;
}

/**
 * Random windows of a token stream, as nanoGPT's `get_batch`: `batches(step)` draws B offsets
 * o₁ … o_B uniformly from 0 … n − T − 1 (n = ids.length) with a random source seeded by
 * (seed, step), and returns inputs[b] = ids[o_b … o_b + T − 1] and targets[b] = ids[o_b + 1 …
 * o_b + T] — the same window shifted by one, so targets[b][t] = inputs[b][t + 1] and the last
 * target is the token after the window. The same seed and step give the same batch in any
 * order of calls (so a resumed run sees the batches of an uninterrupted one). The tensors
 * belong to the caller (inside `fit`'s loss they are freed with the step).
 */
export function lmBatches(
  ids: readonly number[],
  opts: LMBatchOptions,
): (step: number) => LMBatch {
  const { batchSize: B, contextLength: T, seed } = opts;
  if (!Number.isInteger(B) || B < 1) {
    throw new Error(`lmBatches: batchSize must be a positive integer, got ${B}`);
  }
  if (!Number.isInteger(T) || T < 1) {
    throw new Error(`lmBatches: contextLength must be a positive integer, got ${T}`);
  }
  if (!Number.isInteger(seed)) throw new Error(`lmBatches: seed must be an integer, got ${seed}`);
  if (ids.length < T + 1) {
    throw new Error(
      `lmBatches: a window of ${T} tokens and its next token need ${T + 1} tokens, the stream ` +
        `has ${ids.length}`,
    );
  }
  const stream = Int32Array.from(ids);
  return (step) => {
    if (!Number.isInteger(step)) throw new Error(`lmBatches: step must be an integer, got ${step}`);
    const rng = makeRng(Math.imul(seed, 0x9e3779b1) ^ Math.imul(step, 0x85ebca6b));
    const inputs = new Int32Array(B * T);
    const targets = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const o = Math.floor(rng() * (stream.length - T));
      inputs.set(stream.subarray(o, o + T), b * T);
      targets.set(stream.subarray(o + 1, o + T + 1), b * T);
    }
    return {
      inputs: tf.tensor2d(inputs, [B, T], "int32"),
      targets: tf.tensor2d(targets, [B, T], "int32"),
    };
  };
}
