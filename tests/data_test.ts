import {
  assert,
  assertEquals,
  assertNotEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import fc from "fast-check";
import {
  buildSeq2SeqVocab,
  charVocabulary,
  encodeCorpus,
  encodePairs,
  type ItSentence,
  lmBatches,
  loadDataText,
  loadFineTuneTasks,
  loadItSentences,
  loadProse,
  loadTangPoems,
  loadTranslationPairs,
  outputPath,
  POEM_SEPARATOR,
  SEQ2SEQ_SPECIALS,
} from "../lib/data.ts";
import { DEFAULT_SPECIALS } from "../lib/tokenizer.ts";
import { SPLITS, triples } from "../data/task_lexicon.ts";
import { initBackend } from "../lib/tensor.ts";

await initBackend();

Deno.test("loadDataText reads data/ from any working directory", async () => {
  const text = await loadDataText("intro_zh.txt");
  const lines = text.trim().split("\n");
  assertEquals(lines.length, 600);
  assertStringIncludes(text, "学习编程");
});

Deno.test("loadDataText: a missing file names the available ones", async () => {
  const e = await assertRejects(
    () => loadDataText("nope.txt"),
    Error,
    'loadDataText: "nope.txt" is not a file in data/',
  );
  assertStringIncludes((e as Error).message, "intro_zh.txt");
});

Deno.test("loadDataText: only files inside data/, whatever the name says", async () => {
  const refused = async (name: string, why: string) => {
    const e = await assertRejects(() => loadDataText(name), Error, why);
    assertStringIncludes((e as Error).message, `loadDataText: ${JSON.stringify(name)}`);
    assertStringIncludes((e as Error).message, "available: ");
    assertStringIncludes((e as Error).message, "intro_zh.txt");
  };
  await refused("/etc/hostname", "is an absolute path or a URL");
  await refused("file:///etc/hostname", "is an absolute path or a URL");
  await refused(new URL("../deno.json", import.meta.url).href, "is an absolute path or a URL");
  // Percent-escapes are not decoded: "%2e%2e" is a (missing) folder name, not "..".
  await refused("%2e%2e/deno.json", "is not a file in data/");
  await refused("../deno.json", "outside data/");
  await refused("README.md/../../deno.json", "outside data/");
  await refused("", "is not a file name inside data/");
  await refused(".", "is not a file in data/");
  // Symbolic links are followed before the check: one leading out is refused, one within
  // data/ is read.
  const outside = new URL("../data/.data_test_outside.txt", import.meta.url);
  const within = new URL("../data/.data_test_within.txt", import.meta.url);
  await Deno.symlink(new URL("../deno.json", import.meta.url).pathname, outside.pathname);
  await Deno.symlink("intro_zh.txt", within.pathname);
  try {
    await refused(".data_test_outside.txt", "outside data/");
    assertEquals(await loadDataText(".data_test_within.txt"), await loadDataText("intro_zh.txt"));
  } finally {
    await Deno.remove(outside);
    await Deno.remove(within);
  }
});

Deno.test("outputPath: under <repository>/.out/ whatever the working directory", async () => {
  const out = new URL("../.out/", import.meta.url).pathname;
  const cwd = Deno.cwd();
  const elsewhere = await Deno.makeTempDir();
  Deno.chdir(elsewhere);
  try {
    const path = outputPath("data_test", "nested", "x.txt");
    assertEquals(path, `${out}data_test/nested/x.txt`);
    assert((await Deno.stat(`${out}data_test/nested`)).isDirectory, "the folder is created");
    assertEquals(outputPath("data_test/y.txt"), `${out}data_test/y.txt`);
    assertEquals(
      [...Deno.readDirSync(elsewhere)],
      [],
      "nothing is written in the working directory",
    );
  } finally {
    Deno.chdir(cwd);
  }
  for (
    const parts of [[], [""], [".."], ["..", "x"], ["a/../../x"], ["a", "..", ".."], ["."]]
  ) {
    assertThrows(() => outputPath(...parts), Error, "outputPath: ");
  }
  assertThrows(() => outputPath("/tmp/x"), Error, "expected relative paths inside .out/");
  assertThrows(() => outputPath("file:///tmp/x"), Error, "expected relative paths inside .out/");
  assertThrows(
    () => outputPath("a", "../../deno.json"),
    Error,
    '"a/../../deno.json" is outside .out/',
  );
  // A symbolic link inside .out/ that leads out of it is refused before anything is created.
  await Deno.symlink(elsewhere, `${out}data_test/link`);
  try {
    assertThrows(() => outputPath("data_test", "link", "z", "x.txt"), Error, "outside .out/");
    assertEquals([...Deno.readDirSync(elsewhere)], []);
  } finally {
    await Deno.remove(`${out}data_test`, { recursive: true });
    await Deno.remove(elsewhere, { recursive: true });
  }
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

const FIVE_CHAR = /^(\p{sc=Han}{5}，\p{sc=Han}{5}。)+$/u;
const PROMPT = "在一个寒冷的冬日，";

Deno.test("Tang poems: a few hundred five-character poems, split 95/5, disjoint, deterministic", async () => {
  const { train, validation } = await loadTangPoems({ maxPoems: 400 });
  assertEquals(train.length + validation.length, 400);
  assert(validation.length >= 8 && validation.length <= 40, `${validation.length} held out`);
  for (const poem of [...train, ...validation]) {
    assert(FIVE_CHAR.test(poem), `not five-character couplets: ${poem}`);
  }
  const trainSet = new Set(train);
  assertEquals(trainSet.size, train.length, "no poem twice");
  for (const poem of validation) assert(!trainSet.has(poem), `${poem} is in both splits`);
  // The order and the split are fixed by hashes of the text, the same on every run: this is
  // the first training poem on every machine (chinese-poetry 2.0.1).
  assertEquals(
    train[0],
    "九嶷日已暮，三湘云复愁。窅霭罗袂色，潺湲江水流。佳期来北渚，捐佩在芳洲。",
  );
  assertEquals(await loadTangPoems({ maxPoems: 400 }), { train, validation });
  // A poem's split does not depend on how many are loaded: a larger load extends both splits.
  const larger = await loadTangPoems({ maxPoems: 1000 });
  const largerTrain = new Set(larger.train);
  const largerValidation = new Set(larger.validation);
  assert(
    train.every((p) => largerTrain.has(p)) && validation.every((p) => largerValidation.has(p)),
  );
});

Deno.test("Tang poems: simplified characters (opencc-js), traditional on request", async () => {
  const simplified = await loadTangPoems({ maxPoems: 300 });
  const traditional = await loadTangPoems({ maxPoems: 300, simplified: false });
  const simpleText = [...simplified.train, ...simplified.validation].join("");
  const traditionalText = [...traditional.train, ...traditional.validation].join("");
  // Common characters that have a simplified form: 雲→云 風→风 門→门 書→书 無→无 來→来 …
  const pairs = ["雲云", "風风", "無无", "來来", "東东", "長长", "見见", "時时", "馬马", "爲为"];
  for (const [t, s] of pairs) {
    assert(!simpleText.includes(t), `traditional ${t} in the simplified corpus`);
    assert(traditionalText.includes(t), `${t} expected in the traditional corpus`);
    assert(simpleText.includes(s), `${s} expected in the simplified corpus`);
  }
  assert(
    traditional.train.includes(
      "九嶷日已暮，三湘雲復愁。窅靄羅袂色，潺湲江水流。佳期來北渚，捐佩在芳洲。",
    ),
  );
});

Deno.test("Tang poems: the prompt 在一个寒冷的冬日， is encodable", async () => {
  const few = await loadTangPoems({ maxPoems: 300 });
  // A few hundred poems lack some of its characters; extraText adds them.
  const vocab = charVocabulary(few.train, PROMPT);
  const ids = vocab.encode([...PROMPT]);
  assert(!ids.includes(vocab.unkId!), "no <unk> in the prompt");
  assertEquals(vocab.decode(ids).join(""), PROMPT);
  // The default corpus (20,000 poems) has every character of it on its own.
  const { train, validation } = await loadTangPoems();
  assertEquals(train.length + validation.length, 20_000);
  const full = charVocabulary(train);
  for (const c of PROMPT) assert(full.has(c), `${c} is not in the default training poems`);
});

Deno.test("charVocabulary: specials, the separator, then characters by code point", () => {
  const vocab = charVocabulary(["白日依山尽，", "黄河入海流。"], "日在");
  assertEquals(vocab.tokens.slice(0, DEFAULT_SPECIALS.length), [...DEFAULT_SPECIALS]);
  const chars = vocab.tokens.slice(DEFAULT_SPECIALS.length);
  assertEquals(chars[0], POEM_SEPARATOR);
  assertEquals(chars.length, 1 + 12 + 1, "separator, 12 distinct characters of the texts, 在");
  assertEquals(chars, [...chars].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!));
  // minCount keeps the frequent characters of the texts (and every character of extraText).
  const frequent = charVocabulary(["春眠不觉晓", "春风又绿江南岸", "春江"], "夜", { minCount: 2 });
  assertEquals(frequent.tokens.slice(DEFAULT_SPECIALS.length), ["\n", "夜", "春", "江"]);
  assertThrows(() => charVocabulary([], "", { minCount: 0 }), Error, "minCount must be");
  // encodeCorpus: each text, then the separator.
  const ids = encodeCorpus(["白日", "黄河"], vocab);
  assertEquals(vocab.decode(ids).join(""), "白日\n黄河\n");
  assertEquals(encodeCorpus(["白X"], vocab)[1], vocab.unkId);
});

Deno.test("lmBatches: targets are the inputs shifted by one; seeded per step", () => {
  const ids = Array.from({ length: 50 }, (_, i) => 100 + i); // token i is 100 + i: easy offsets
  const batches = lmBatches(ids, { batchSize: 4, contextLength: 8, seed: 1 });
  const { inputs, targets } = batches(1);
  assertEquals(inputs.shape, [4, 8]);
  assertEquals(inputs.dtype, "int32");
  assertEquals(targets.dtype, "int32");
  const x = inputs.arraySync();
  const y = targets.arraySync();
  for (let b = 0; b < 4; b++) {
    const o = x[b][0] - 100;
    assert(o >= 0 && o <= 50 - 9, `offset ${o}`);
    assertEquals(x[b], ids.slice(o, o + 8), "a window of the stream");
    assertEquals(y[b], ids.slice(o + 1, o + 9), "the same window shifted by one");
    for (let t = 0; t + 1 < 8; t++) assertEquals(y[b][t], x[b][t + 1]);
  }
  tf.dispose([inputs, targets]);
  // The same (seed, step) gives the same batch, whatever was drawn before.
  const again = lmBatches(ids, { batchSize: 4, contextLength: 8, seed: 1 });
  const inputsOf = (b: { inputs: tf.Tensor2D; targets: tf.Tensor2D }) => {
    tf.dispose(b.targets);
    const values = b.inputs.arraySync();
    b.inputs.dispose();
    return values;
  };
  inputsOf(again(7));
  assertEquals(inputsOf(again(1)), x);
  assertNotEquals(inputsOf(batches(2)), x);
  assertNotEquals(
    inputsOf(lmBatches(ids, { batchSize: 4, contextLength: 8, seed: 2 })(1)),
    x,
  );
  // Every offset 0 … n − T − 1 can occur, including the very last window.
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 30 }), fc.integer(), fc.nat(1000), (n, seed, step) => {
      const T = Math.max(1, n - 1 - (Math.abs(seed) % (n - 1)));
      const stream = Array.from({ length: n }, (_, i) => i);
      const batch = tf.tidy(() => {
        const { inputs, targets } = lmBatches(stream, { batchSize: 3, contextLength: T, seed })(
          step,
        );
        return [inputs.arraySync(), targets.arraySync()];
      });
      return batch[0].every((row, b) =>
        row.every((v, t) => batch[1][b][t] === v + 1) && row[0] + T <= n - 1
      );
    }),
    { numRuns: 200 },
  );
  assertThrows(
    () => lmBatches([1, 2, 3], { batchSize: 1, contextLength: 3, seed: 0 }),
    Error,
    "need 4 tokens, the stream has 3",
  );
  assertThrows(
    () => lmBatches(ids, { batchSize: 0, contextLength: 3, seed: 0 }),
    Error,
    "batchSize",
  );
});

Deno.test("fine-tuning tasks: the generator reproduces the committed file exactly", async () => {
  assertEquals(await regenerate("make_tasks.ts"), await loadDataText("finetune_tasks.json"));
});

Deno.test("fine-tuning tasks: sizes, labels, and lexical splits with no overlap", async () => {
  const tasks = await loadFineTuneTasks();
  for (const [name, t] of Object.entries(tasks)) {
    assertEquals([t.train.length, t.validation.length, t.test.length], [600, 120, 240], name);
    const keys = (xs: unknown[]) => new Set(xs.map((x) => JSON.stringify(x)));
    const [tr, va, te] = [keys(t.train), keys(t.validation), keys(t.test)];
    for (const k of va) assert(!tr.has(k) && !te.has(k), `${name}: ${k} in two splits`);
    for (const k of te) assert(!tr.has(k), `${name}: ${k} in train and test`);
  }
  // hand-checked examples
  assertEquals(tasks.sentiment.train[0], { text: "雨后行人楼上独坐，心中舞歌。", label: 1 });
  assertEquals(tasks.entailment.train[0], {
    premise: "春来故人楼上望月，夜长。",
    hypothesis: "夜短。",
    label: 2,
  });
  assertEquals(tasks.similarity.train[0], {
    a: "日暮老翁在江边归来。",
    b: "日暮老翁在江畔归来。",
    label: 1,
  });
  assertEquals(
    tasks.multipleChoice.train[0].endings[tasks.multipleChoice.train[0].label],
    "于是闭门听雨。",
  );
  // every entailment label follows from the lexicon: no negation; the premise's object with
  // the synonym entails, with the antonym contradicts; another object is neutral
  for (const split of SPLITS) {
    for (const x of tasks.entailment[split]) {
      const [object, adj] = [...x.premise].slice(-3, -1);
      const [, synonym, antonym] = triples[split].find(([a]) => a === adj)!;
      const [about, word, end] = [...x.hypothesis];
      assertEquals(end, "。");
      const label = about !== object ? 1 : word === synonym ? 0 : word === antonym ? 2 : -1;
      assertEquals(x.label, label, `${x.premise} ${x.hypothesis}`);
    }
  }
  // the deciding feeling characters of the test split never occur in training texts
  const trainText = tasks.sentiment.train.map((x) => x.text).join("");
  for (const c of "畅庆贺兴忧凄惨叹") assert(!trainText.includes(c), c);
  const mcTrain = tasks.multipleChoice.train.flatMap((x) => x.endings);
  for (const x of tasks.multipleChoice.test) {
    assert(x.endings.length >= 2 && x.endings.length <= 4);
    for (const e of x.endings) assert(!mcTrain.includes(e), e);
  }
});

Deno.test("prose: the generator reproduces the committed file exactly", async () => {
  assertEquals(await regenerate("make_prose.ts"), await loadDataText("prose_zh.txt"));
});

Deno.test("prose: every task word in it, no task sentence and no label", async () => {
  const prose = await loadProse();
  assertEquals(prose.length, 4000);
  const text = prose.join("\n");
  const tasks = await loadFineTuneTasks();
  // the deciding words of every split, test included, occur in the prose …
  for (const c of "欢愁悦怨畅庆贺兴忧凄惨叹") assertStringIncludes(text, c);
  for (const w of ["秋天", "秋日", "孩童", "小儿", "筋疲力尽", "倒头便睡", "静", "喧"]) {
    assertStringIncludes(text, w);
  }
  // … but no example's text does, with or without its final 。
  const sentences = [
    ...Object.values(tasks.sentiment).flat().map((x) => x.text),
    ...Object.values(tasks.entailment).flat().flatMap((x) => [x.premise, x.hypothesis]),
    ...Object.values(tasks.similarity).flat().flatMap((x) => [x.a, x.b]),
    ...Object.values(tasks.multipleChoice).flat().flatMap((x) => [x.context, ...x.endings]),
  ];
  for (const s of new Set(sentences)) {
    const body = s.replace(/。$/, "");
    // a two-character hypothesis such as 林寂 is a word pair the prose must be free to use
    if ([...body].length <= 3) continue;
    assert(!text.includes(body), `the prose contains the task text ${s}`);
  }
  // nor do the task frames 心中 (sentiment) and 于是 (endings)
  for (const frame of ["心中", "于是"]) assert(!text.includes(frame), frame);
});
