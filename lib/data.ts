/**
 * Loaders for the datasets in `data/` (written by this project, see data/README.md).
 *
 * Paths are resolved from this file, not from the working directory, so a chapter reads the
 * same file whether it runs in Jupyter (whose kernel starts in `notebooks/`) or as a script
 * started from anywhere.
 *
 * @module
 */
import { CharTokenizer, type Vocabulary, WordTokenizer } from "./tokenizer.ts";

const DATA_DIR = new URL("../data/", import.meta.url);

/**
 * The text of `data/<name>`, e.g. `await loadDataText("intro_zh.txt")`. Throws an error
 * naming the file and listing the available ones when it does not exist.
 */
export async function loadDataText(name: string): Promise<string> {
  if (typeof name !== "string" || name.length === 0 || name.includes("..")) {
    throw new Error(`loadDataText: expected a file name inside data/, got ${JSON.stringify(name)}`);
  }
  try {
    return await Deno.readTextFile(new URL(name, DATA_DIR));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    const available: string[] = [];
    for await (const entry of Deno.readDir(DATA_DIR)) {
      if (entry.isFile && !entry.name.endsWith(".ts") && entry.name !== "README.md") {
        available.push(entry.name);
      }
    }
    throw new Error(
      `loadDataText: no file data/${name}; available: ${available.sort().join(", ")}`,
    );
  }
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
