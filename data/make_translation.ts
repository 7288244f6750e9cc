/**
 * Writes data/translation_zh_en.json: Chinese → English sentence pairs from a small grammar,
 * the training data of chapter 05's encoder–decoder. Regenerate with
 * `deno run -A data/make_translation.ts` (deterministic: seed 2026; an argument names another
 * output file).
 *
 * A sentence is subject + (negation) + verb + number + measure word + noun:
 * 我 + 是 + 一 + 名 + 学生 → "I am a student". The English side agrees in person (am / is / are,
 * like / likes, do not / does not), in number (a cat / two cats) and in article (an apple), and
 * the Chinese side picks the measure word that fits the noun (一名学生, 一本书, 两只猫, 一辆车).
 * English is written in lower case except the pronoun "I", words separated by single spaces,
 * without final punctuation.
 *
 * The test split holds whole English sentences (with every Chinese wording of each) that the
 * training split never contains, chosen so that every character, word, subject, verb form and
 * object phrase of a test sentence also occurs in training: the test asks for new
 * combinations of seen parts.
 *
 * @module
 */
import { makeRng } from "../lib/tensor.ts";

/** Where to write: the first argument (the tests write to a temporary file), else data/. */
const OUT = Deno.args[0] ?? new URL("./translation_zh_en.json", import.meta.url);

interface Subject {
  zh: string;
  en: string;
  /** Which verb forms agree with it: "I" (am), "3s" (is, likes, does), "pl" (are, like, do). */
  person: "I" | "3s" | "pl";
  plural: boolean;
}

const subjects: Subject[] = [
  { zh: "我", en: "I", person: "I", plural: false },
  { zh: "你", en: "you", person: "pl", plural: false },
  { zh: "他", en: "he", person: "3s", plural: false },
  { zh: "她", en: "she", person: "3s", plural: false },
  { zh: "我们", en: "we", person: "pl", plural: true },
  { zh: "他们", en: "they", person: "pl", plural: true },
];

type Kind = "person" | "animal" | "book" | "car" | "fruit";

interface Noun {
  zh: string;
  en: string;
  plural: string;
  kind: Kind;
}

const nouns: Noun[] = [
  { zh: "学生", en: "student", plural: "students", kind: "person" },
  { zh: "老师", en: "teacher", plural: "teachers", kind: "person" },
  { zh: "医生", en: "doctor", plural: "doctors", kind: "person" },
  { zh: "工人", en: "worker", plural: "workers", kind: "person" },
  { zh: "朋友", en: "friend", plural: "friends", kind: "person" },
  { zh: "猫", en: "cat", plural: "cats", kind: "animal" },
  { zh: "狗", en: "dog", plural: "dogs", kind: "animal" },
  { zh: "鸟", en: "bird", plural: "birds", kind: "animal" },
  { zh: "书", en: "book", plural: "books", kind: "book" },
  { zh: "车", en: "car", plural: "cars", kind: "car" },
  { zh: "苹果", en: "apple", plural: "apples", kind: "fruit" },
];

/** The measure words each kind of noun takes (学生 takes 名 or 个; a friend is 个, not 名). */
const measures: Record<Kind, string[]> = {
  person: ["名", "个"],
  animal: ["只"],
  book: ["本"],
  car: ["辆"],
  fruit: ["个"],
};

const numbers = [
  { zh: "一", en: "a", n: 1 },
  { zh: "两", en: "two", n: 2 },
  { zh: "三", en: "three", n: 3 },
];

interface Verb {
  zh: string;
  /** The negated Chinese verb: 不是, 没有, 不喜欢… */
  neg: string;
  /** English forms for "I", "3s" and "pl" subjects. */
  en: Record<Subject["person"], string>;
  /** English negation: "am not" for 是, otherwise "do/does not" + base form. */
  enNeg: Record<Subject["person"], string>;
  /** The kinds of object it takes. */
  objects: Kind[];
}

const doNot = (base: string) => ({
  I: `do not ${base}`,
  "3s": `does not ${base}`,
  pl: `do not ${base}`,
});

const verbs: Verb[] = [
  {
    zh: "是",
    neg: "不是",
    en: { I: "am", "3s": "is", pl: "are" },
    enNeg: { I: "am not", "3s": "is not", pl: "are not" },
    objects: ["person"],
  },
  {
    zh: "有",
    neg: "没有",
    en: { I: "have", "3s": "has", pl: "have" },
    enNeg: doNot("have"),
    objects: ["person", "animal", "book", "car", "fruit"],
  },
  {
    zh: "喜欢",
    neg: "不喜欢",
    en: { I: "like", "3s": "likes", pl: "like" },
    enNeg: doNot("like"),
    objects: ["person", "animal", "book", "car", "fruit"],
  },
  {
    zh: "看见",
    neg: "没看见",
    en: { I: "see", "3s": "sees", pl: "see" },
    enNeg: doNot("see"),
    objects: ["person", "animal", "book", "car", "fruit"],
  },
  {
    zh: "想要",
    neg: "不想要",
    en: { I: "want", "3s": "wants", pl: "want" },
    enNeg: doNot("want"),
    objects: ["animal", "book", "car", "fruit"],
  },
];

interface Sentence {
  zh: string;
  en: string;
  /** The grammar parts, for the coverage check of the test split. */
  parts: string[];
}

/** The longest Chinese sentence kept, in characters (我们不喜欢两个苹果 is left out). */
const MAX_ZH = 8;

/** Every sentence of the grammar up to {@link MAX_ZH} characters. 是 makes the number agree with the subject (我们是两名老师). */
function allSentences(): Sentence[] {
  const out: Sentence[] = [];
  for (const s of subjects) {
    for (const v of verbs) {
      for (const negated of [false, true]) {
        for (const noun of nouns.filter((x) => v.objects.includes(x.kind))) {
          for (const num of numbers) {
            if (v.zh === "是" && (num.n > 1) !== s.plural) continue;
            for (const m of measures[noun.kind]) {
              const article = num.n > 1 ? num.en : noun.en.startsWith("a") ? "an" : "a";
              const object = `${article} ${num.n > 1 ? noun.plural : noun.en}`;
              const verbEn = (negated ? v.enNeg : v.en)[s.person];
              const zh = s.zh + (negated ? v.neg : v.zh) + num.zh + m + noun.zh;
              if (zh.length > MAX_ZH) continue;
              out.push({
                zh,
                en: `${s.en} ${verbEn} ${object}`,
                parts: [`subject ${s.en}`, `verb ${verbEn}`, `object ${object}`],
              });
            }
          }
        }
      }
    }
  }
  return out;
}

/** Fisher–Yates shuffle with the seeded generator. */
function shuffle<T>(xs: T[], rng: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

const SEED = 2026;
/** English sentences kept (each with all its Chinese wordings). */
const KEEP = 520;
/** English sentences held out for the test split. */
const TEST = 80;
/** The sentence chapter 05 decodes: always in the training split. */
const ANCHOR = "I am a student";

const rng = makeRng(SEED);
const byEnglish = new Map<string, Sentence[]>();
for (const s of allSentences()) byEnglish.set(s.en, [...(byEnglish.get(s.en) ?? []), s]);
const groups = shuffle([...byEnglish.values()], rng).slice(0, KEEP);
if (!groups.some((g) => g[0].en === ANCHOR)) groups[0] = byEnglish.get(ANCHOR)!;

// Candidates for the test split come from the end of the shuffled list; a candidate is kept
// only when every part of it (character, word, subject, verb form, object phrase) still
// occurs in the sentences left for training.
const test: Sentence[][] = [];
const train = [...groups];
const counts = new Map<string, number>();
const partsOf = (g: Sentence[]) =>
  g.flatMap((
    s,
  ) => [
    ...Array.from(s.zh, (c) => `zh ${c}`),
    ...s.en.split(" ").map((w) => `en ${w}`),
    ...s.parts,
  ]);
for (const g of train) for (const p of partsOf(g)) counts.set(p, (counts.get(p) ?? 0) + 1);
for (let i = train.length - 1; i >= 0 && test.length < TEST; i--) {
  const g = train[i];
  if (g[0].en === ANCHOR) continue;
  const ps = partsOf(g);
  const need = new Map<string, number>();
  for (const p of ps) need.set(p, (need.get(p) ?? 0) + 1);
  if ([...need].every(([p, n]) => counts.get(p)! > n)) {
    for (const p of ps) counts.set(p, counts.get(p)! - 1);
    test.push(g);
    train.splice(i, 1);
  }
}

const pairs = (gs: Sentence[][]) => gs.flat().map(({ zh, en }) => ({ zh, en }));
const data = {
  about:
    'Chinese → English pairs from the grammar in data/make_translation.ts (seed 2026). English: lower case except "I", words separated by spaces, no punctuation. Test sentences never occur in train.',
  train: pairs(train),
  test: pairs(test.reverse()),
};
const lines = [
  "{",
  `  "about": ${JSON.stringify(data.about)},`,
  ...(["train", "test"] as const).flatMap((split, k) => [
    `  "${split}": [`,
    ...data[split].map((p, i, a) =>
      `    { "zh": ${JSON.stringify(p.zh)}, "en": ${JSON.stringify(p.en)} }${
        i < a.length - 1 ? "," : ""
      }`
    ),
    k === 0 ? "  ]," : "  ]",
  ]),
  "}",
];
await Deno.writeTextFile(
  OUT,
  lines.join("\n") + "\n",
);
console.log(`wrote ${data.train.length} training and ${data.test.length} test pairs`);
