import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import {
  buildSeq2SeqVocab,
  encodePairs,
  type ItSentence,
  loadDataText,
  loadItSentences,
  loadTranslationPairs,
  SEQ2SEQ_SPECIALS,
} from "../lib/data.ts";

Deno.test("loadDataText reads data/ from any working directory", async () => {
  const text = await loadDataText("intro_zh.txt");
  const lines = text.trim().split("\n");
  assertEquals(lines.length, 600);
  assertStringIncludes(text, "学习编程");
});

Deno.test("loadDataText: a missing file names the available ones", async () => {
  const e = await assertRejects(() => loadDataText("nope.txt"), Error, "no file data/nope.txt");
  assertStringIncludes((e as Error).message, "intro_zh.txt");
  await assertRejects(() => loadDataText("../deno.json"), Error, "inside data/");
});

const ROOT = new URL("..", import.meta.url);

/** Runs a generator in data/ writing to a temporary file; returns what it wrote. */
async function regenerate(script: string): Promise<string> {
  const out = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL(`data/${script}`, ROOT).pathname, out],
      cwd: ROOT.pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(run.code, 0, new TextDecoder().decode(run.stderr));
    return await Deno.readTextFile(out);
  } finally {
    await Deno.remove(out);
  }
}

Deno.test("translation pairs: the generator reproduces the committed file exactly", async () => {
  assertEquals(
    await regenerate("make_translation.ts"),
    await loadDataText("translation_zh_en.json"),
  );
});

Deno.test("translation pairs: 我是一名学生 → I am a student in train; test sentences unseen", async () => {
  const { train, test } = await loadTranslationPairs();
  assertEquals([train.length, test.length], [618, 121]);
  assert(train.some((p) => p.zh === "我是一名学生" && p.en === "I am a student"));
  const trainZh = new Set(train.map((p) => p.zh));
  const trainEn = new Set(train.map((p) => p.en));
  assertEquals(trainZh.size, train.length, "no Chinese sentence twice in train");
  assertEquals(
    new Set(test.map((p) => p.zh)).size,
    test.length,
    "no Chinese sentence twice in test",
  );
  for (const p of test) {
    assert(!trainZh.has(p.zh), `test sentence ${p.zh} is also in train`);
    assert(!trainEn.has(p.en), `test translation "${p.en}" is also in train`);
  }
  // Small vocabularies, short sentences.
  const all = [...train, ...test];
  const chars = new Set(all.flatMap((p) => Array.from(p.zh)));
  const words = new Set(all.flatMap((p) => p.en.split(" ")));
  assert(chars.size >= 30 && chars.size <= 80, `${chars.size} characters`);
  assert(words.size >= 30 && words.size <= 80, `${words.size} words`);
  assert(all.every((p) => Array.from(p.zh).length <= 8 && p.en.split(" ").length <= 6));
  assert(all.every((p) => /^[a-zI ]+$/.test(p.en) && !/\bi\b/.test(p.en)), "lower case but I");
});

Deno.test("translation pairs: every part of a test sentence occurs in training", async () => {
  const { train, test } = await loadTranslationPairs();
  const chars = new Set(train.flatMap((p) => Array.from(p.zh)));
  const words = new Set(train.flatMap((p) => p.en.split(" ")));
  // The parts of an English sentence: subject, verb phrase, object phrase (number + noun).
  const parts = (en: string) => {
    const w = en.split(" ");
    const n = w.length;
    return [w[0], w.slice(1, n - 2).join(" "), w.slice(n - 2).join(" ")];
  };
  const phrases = new Set(train.flatMap((p) => parts(p.en)));
  for (const p of test) {
    for (const c of p.zh) assert(chars.has(c), `character ${c} of ${p.zh} is not in train`);
    for (const w of p.en.split(" ")) assert(words.has(w), `word ${w} of "${p.en}" not in train`);
    for (const ph of parts(p.en)) assert(phrases.has(ph), `"${ph}" of "${p.en}" not in train`);
  }
  // And the mapping is a function: one English sentence per Chinese sentence.
  const en = new Map<string, string>();
  for (const p of [...train, ...test]) {
    assertEquals(en.get(p.zh) ?? p.en, p.en, `${p.zh} has two translations`);
    en.set(p.zh, p.en);
  }
});

Deno.test("buildSeq2SeqVocab and encodePairs: a hand-worked case", () => {
  const pairs = [
    { zh: "我是学生", en: "I am a student" },
    { zh: "他是学生", en: "he is a student" },
  ];
  const vocab = buildSeq2SeqVocab(pairs);
  assertEquals(SEQ2SEQ_SPECIALS, ["<s>", "<pad>", "<unk>", "</s>"]);
  // Characters by code point: 他 U+4ED6, 学 U+5B66, 我 U+6211, 是 U+662F, 生 U+751F.
  assertEquals(vocab.src.tokens, [...SEQ2SEQ_SPECIALS, "他", "学", "我", "是", "生"]);
  // Words by count (a, student twice), ties in order of appearance.
  assertEquals(vocab.tgt.tokens, [...SEQ2SEQ_SPECIALS, "a", "student", "I", "am", "he", "is"]);
  const e = encodePairs(pairs, vocab, { maxSrc: 5, maxTgt: 6 });
  assertEquals(e.src, [[6, 7, 5, 8, 1], [4, 7, 5, 8, 1]]);
  assertEquals(e.tgtIn, [[0, 6, 7, 4, 5, 1], [0, 8, 9, 4, 5, 1]]);
  assertEquals(e.tgtOut, [[6, 7, 4, 5, 3, 1], [8, 9, 4, 5, 3, 1]]);
  assertEquals([e.bosId, e.padId, e.eosId], [0, 1, 3]);
  // Default lengths: the longest source, the longest target + 1 (for <s> or </s>).
  const d = encodePairs(pairs, vocab);
  assertEquals(d.src[0], [6, 7, 5, 8]);
  assertEquals(d.tgtOut[1], [8, 9, 4, 5, 3]);
  // Unknown characters and words become <unk>.
  assertEquals(encodePairs([{ zh: "你是", en: "you are" }], vocab).tgtIn, [[0, 2, 2]]);
  assertThrows(
    () => encodePairs(pairs, vocab, { maxTgt: 4 }),
    Error,
    `pair 0 ("我是学生" → "I am a student") needs target length 5, more than 4`,
  );
});

Deno.test("buildSeq2SeqVocab on the real pairs covers the test split", async () => {
  const { train, test } = await loadTranslationPairs();
  const vocab = buildSeq2SeqVocab(train);
  const e = encodePairs(test, vocab, { maxSrc: 8, maxTgt: 7 });
  const unk = vocab.src.idOf("<unk>");
  assert(e.src.flat().every((id) => id !== unk) && e.tgtIn.flat().every((id) => id !== unk));
  assertEquals(
    vocab.tgt.decode(encodePairs([train[0]], vocab).tgtIn[0]).slice(1).join(" "),
    train[0].en,
  );
});

Deno.test("it sentences: the generator reproduces the committed file exactly", async () => {
  assertEquals(await regenerate("make_it_sentences.ts"), await loadDataText("it_sentences.json"));
});

Deno.test("it sentences: labels of hand-checked examples", async () => {
  const { train, test } = await loadItSentences();
  const find = (text: string) => [...train, ...test].find((s) => s.text === text);
  const tired = train.find((s) =>
    s.text === "The animal didn't cross the street because it was too tired."
  );
  assertEquals(
    tired?.tokens.join(" "),
    "The animal didn't cross the street because it was too tired .",
  );
  assertEquals(
    [tired?.itIndex, tired?.referentIndex, tired?.otherIndex, tired?.referent],
    [7, 1, 5, "animal"],
  );
  const narrow = train.find((s) =>
    s.text === "The animal didn't cross the street because it was too narrow."
  );
  assertEquals(
    [narrow?.itIndex, narrow?.referentIndex, narrow?.otherIndex, narrow?.referent],
    [7, 5, 1, "place"],
  );
  // In(0) the(1) end(2) the(3) little(4) animal(5) didn't(6) cross(7) the(8) path(9) as(10) it(11)
  const sick = find("In the end the little animal didn't cross the path as it was too sick.");
  assertEquals(
    [sick?.itIndex, sick?.referentIndex, sick?.otherIndex, sick?.referent],
    [11, 5, 9, "animal"],
  );
});

Deno.test("it sentences: the adjective decides the referent; test pairings unseen in train", async () => {
  const { train, test } = await loadItSentences();
  assertEquals([train.length, test.length], [556, 164]);
  const adjectiveOf = (s: ItSentence) => s.tokens[s.itIndex + 3];
  const kind = new Map<string, string>();
  for (const s of [...train, ...test]) {
    assertEquals(s.tokens[s.itIndex], "it");
    assertEquals(s.tokens.slice(s.itIndex, s.itIndex + 3), ["it", "was", "too"]);
    // The animal comes first, the place second.
    assertEquals(s.referentIndex < s.otherIndex, s.referent === "animal", s.text);
    assertEquals(
      kind.get(adjectiveOf(s)) ?? s.referent,
      s.referent,
      `${adjectiveOf(s)} is ambiguous`,
    );
    kind.set(adjectiveOf(s), s.referent);
  }
  const pairing = (s: ItSentence) => `${adjectiveOf(s)} ${s.tokens[s.referentIndex]}`;
  const trainPairings = new Set(train.map(pairing));
  const trainTexts = new Set(train.map((s) => s.text));
  const trainWords = new Set(train.flatMap((s) => s.tokens));
  for (const s of test) {
    assert(!trainTexts.has(s.text), `${s.text} is in both splits`);
    assert(!trainPairings.has(pairing(s)), `"${pairing(s)}" occurs in train`);
    for (const w of s.tokens) assert(trainWords.has(w), `"${w}" of "${s.text}" not in train`);
  }
  // Both referents are well represented, and "it" moves around.
  for (const split of [train, test]) {
    const animals = split.filter((s) => s.referent === "animal").length / split.length;
    assert(animals > 0.3 && animals < 0.7, `animal share ${animals}`);
  }
  assert(new Set(train.map((s) => s.itIndex)).size >= 4, "it appears at several positions");
});
