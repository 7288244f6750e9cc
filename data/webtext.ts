/**
 * The "web text" of this project: a generator of short Chinese pages (with some English) in
 * which tasks appear the way they appeared in GPT-2's WebText — a sentence followed by
 * 用英文说就是…, a question and its answer, a word list with meanings, a story and its one-line
 * summary, sums written out, a table of antonyms, a quiz with its answers — beside plain prose.
 * Chapters 09–13's base model is pre-trained on it (`lib/experiments/base_model.ts`).
 *
 * Pages of one relation list several examples of it (a glossary, an addition table, a
 * classification game): that burstiness is what lets in-context learning appear in small models
 * (Chan et al. 2022, "Data distributional properties drive emergent in-context learning").
 *
 * What is held out (see `data/webtext_lexicon.ts` for the words' roles): the zero-shot prompts of
 * chapter 09 ({@link zeroShotSets}) never occur in the corpus, but the knowledge they need does,
 * in other frames: a held-out word's English is in glossaries, bilingual notes and quizzes but never
 * in the request frame 问：请将“…”翻译成英文。答：; a held-out sentence (我是一名学生 among them) is
 * never translated, though all its words are; a held-out sum is in addition tables and word
 * problems but never asked as 问：a加b等于几？; a held-out antonym is in tables, never asked. The
 * controls' English never shares a page with their Chinese, so there the model must fail.
 *
 * Deterministic: the same seed gives the same pages. `deno run -A data/webtext.ts` prints a
 * sample of each kind of page and the corpus's size.
 *
 * @module
 */
import { makeRng } from "../lib/tensor.ts";
import {
  antonymRole,
  ANTONYMS,
  CITIES,
  KINDS,
  LABEL_PAIRS,
  NAMES,
  type Noun,
  NOUNS,
  nounsWithRole,
  NUMERALS,
  PLACES,
} from "./webtext_lexicon.ts";

/** The kinds of page. */
export type PageKind =
  | "glossary"
  | "bilingual"
  | "request"
  | "qa"
  | "sums"
  | "summary"
  | "antonyms"
  | "classify"
  | "quiz"
  | "story"
  | "facts"
  | "english";

/**
 * The task-like kinds: pages in which a task and its answer appear. Chapter 09's control model is
 * pre-trained on a corpus without them (the same number of pages of the other kinds).
 */
export const TASK_KINDS: readonly PageKind[] = [
  "glossary",
  "bilingual",
  "request",
  "qa",
  "sums",
  "summary",
  "antonyms",
  "classify",
  "quiz",
];

/** How often each kind of page is drawn (relative weights). */
export const PAGE_WEIGHTS: Readonly<Record<PageKind, number>> = {
  glossary: 8,
  bilingual: 10,
  request: 8,
  qa: 12,
  sums: 8,
  summary: 8,
  antonyms: 6,
  classify: 10,
  quiz: 5,
  story: 10,
  facts: 8,
  english: 7,
};

/** One page of the corpus. */
export interface Page {
  /** What kind of page it is. */
  kind: PageKind;
  /** Its text (one paragraph; pages are separated by `<s>` in the token stream). */
  text: string;
}

type Rng = () => number;

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)];
}

/** `k` distinct items in random order. */
function sample<T>(rng: Rng, items: readonly T[], k: number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy.slice(0, k);
}

function between(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

// ── Sentences with their English ──────────────────────────────────────────────────────────

interface Subject {
  zh: string;
  en: string;
  person: "I" | "3s" | "pl";
}

const SUBJECTS: readonly Subject[] = [
  { zh: "我", en: "I", person: "I" },
  { zh: "你", en: "you", person: "pl" },
  { zh: "他", en: "he", person: "3s" },
  { zh: "她", en: "she", person: "3s" },
  { zh: "我们", en: "we", person: "pl" },
  { zh: "他们", en: "they", person: "pl" },
];

const PLURAL_EXCEPTIONS: Record<string, string> = {
  peach: "peaches",
  cherry: "cherries",
  strawberry: "strawberries",
  mango: "mangoes",
};

/** The English plural of a noun of the lexicon. */
export function plural(en: string): string {
  return PLURAL_EXCEPTIONS[en] ?? `${en}s`;
}

/** "a" or "an" before an English noun. */
function article(en: string): string {
  return /^[aeiou]/.test(en) ? `an ${en}` : `a ${en}`;
}

/** The Chinese measure word for one animal or thing (一只猫, 一条鱼, 一本书). */
const MEASURE: Record<string, string> = {
  鱼: "条",
  马: "匹",
  牛: "头",
  熊: "头",
  书: "本",
  笔: "支",
  桌子: "张",
  床: "张",
  椅子: "把",
  门: "扇",
  窗户: "扇",
  帽子: "顶",
};

function measure(zh: string): string {
  return MEASURE[zh] ?? (KIND_OF[zh] === "animal" ? "只" : "个");
}

const KIND_OF: Record<string, string> = Object.fromEntries(NOUNS.map((n) => [n.zh, n.kind]));

/** A Chinese sentence and its English translation (lower case but "I", ending with "."). */
export interface Sentence {
  zh: string;
  en: string;
}

/**
 * Every sentence of the grammar over the given nouns: subject + 是一名 job / 有一 (measure) animal
 * or thing / 喜欢吃 fruit / 看见了 nature, with the English agreeing in person and number:
 * 我是一名学生 → "I am a student.", 他们是医生 → "they are doctors.", 她有一只猫 → "she has a cat.",
 * 我们喜欢吃苹果 → "we like apples.", 他看见了月亮 → "he saw the moon.".
 */
export function sentences(nouns: readonly Noun[]): Sentence[] {
  const out: Sentence[] = [];
  for (const s of SUBJECTS) {
    const be = s.person === "I" ? "am" : s.person === "3s" ? "is" : "are";
    const has = s.person === "3s" ? "has" : "have";
    const likes = s.person === "3s" ? "likes" : "like";
    const group = s.zh === "我们" || s.zh === "他们";
    for (const n of nouns) {
      if (n.kind === "job") {
        out.push(
          group
            ? { zh: `${s.zh}都是${n.zh}`, en: `${s.en} ${be} ${plural(n.en)}.` }
            : { zh: `${s.zh}是一名${n.zh}`, en: `${s.en} ${be} ${article(n.en)}.` },
        );
      } else if (n.kind === "animal" || n.kind === "thing") {
        out.push({
          zh: `${s.zh}有一${measure(n.zh)}${n.zh}`,
          en: `${s.en} ${has} ${article(n.en)}.`,
        });
      } else if (n.kind === "fruit") {
        out.push({ zh: `${s.zh}喜欢吃${n.zh}`, en: `${s.en} ${likes} ${plural(n.en)}.` });
      } else {
        out.push({ zh: `${s.zh}看见了${n.zh}`, en: `${s.en} saw the ${n.en}.` });
      }
    }
  }
  return out;
}

// ── What is held out ──────────────────────────────────────────────────────────────────────

/** The article's own example (3.2.2): 请将“我是一名学生”翻译成英文。 It is always held out. */
export const ARTICLE_SENTENCE = "我是一名学生";

/** The sums asked about: a + b with a, b ∈ 1…9. */
const PAIRS: readonly [number, number][] = Array.from(
  { length: 81 },
  (_, i) => [1 + Math.floor(i / 9), 1 + (i % 9)] as [number, number],
);

/** The split of the corpus's instances into taught (appear in the request frames) and held out. */
export interface HeldOut {
  /** Sentences translated in the corpus (bilingual notes; the request frame when all nouns are taught). */
  taughtSentences: Sentence[];
  /** Sentences never translated in the corpus; the first is {@link ARTICLE_SENTENCE}. */
  heldOutSentences: Sentence[];
  /** Sums asked as 问：a加b等于几？ in the corpus. */
  taughtSums: [number, number][];
  /** Sums only in addition tables and word problems. */
  heldOutSums: [number, number][];
}

/**
 * The held-out split, fixed by its own seed (not the corpus's), so every corpus generated from
 * this module holds out the same instances: a fifth of the sentences over taught and held-out
 * nouns (and {@link ARTICLE_SENTENCE}), and 24 of the 81 sums.
 */
export function heldOut(): HeldOut {
  const rng = makeRng(9);
  const known = NOUNS.filter((n) => n.role !== "control");
  const all = sentences(known);
  const article = all.find((s) => s.zh === ARTICLE_SENTENCE)!;
  const rest = sample(rng, all.filter((s) => s !== article), all.length - 1);
  const nHeld = Math.round(all.length / 5);
  const heldOutSentences = [article, ...rest.slice(0, nHeld - 1)];
  const taughtSentences = rest.slice(nHeld - 1);
  const sums = sample(rng, PAIRS, PAIRS.length);
  return {
    taughtSentences,
    heldOutSentences,
    taughtSums: sums.slice(24),
    heldOutSums: sums.slice(0, 24),
  };
}

// ── The request frames (the zero-shot prompts' wording) ───────────────────────────────────

/** 问：请将“X”翻译成英文。答： — the request frame of a translation (the article's prompt). */
export function translationRequest(zh: string): string {
  return `问：请将“${zh}”翻译成英文。答：`;
}

/** 问：a加b等于几？答： */
export function sumRequest(a: number, b: number): string {
  return `问：${a}加${b}等于几？答：`;
}

/** 问：“X”的反义词是什么？答： */
export function antonymRequest(word: string): string {
  return `问：“${word}”的反义词是什么？答：`;
}

/** The prompt that asks for a one-line summary after a story. */
export const SUMMARY_CUE = "一句话总结：";

// ── Page generators ───────────────────────────────────────────────────────────────────────

const known = () => NOUNS.filter((n) => n.role !== "control");

function glossary(rng: Rng): string {
  const title = pick(rng, ["生词表", "英语单词", "今天学的单词", "单词卡片", "词汇表"]);
  const format = pick(rng, [
    (n: Noun) => `${n.zh}：${n.en}`,
    (n: Noun) => `${n.zh}（${n.en}）`,
    (n: Noun) => `${n.en}，${n.zh}`,
    (n: Noun) => `${n.zh}是${n.en}`,
  ]);
  const entries = sample(rng, known(), between(rng, 4, 9)).map(format);
  return `${title}：${entries.join("；")}。`;
}

function bilingual(rng: Rng, held: HeldOut): string {
  if (rng() < 0.5) {
    const s = pick(rng, held.taughtSentences);
    return pick(rng, [
      `${s.zh}。用英文说就是：${s.en}`,
      `“${s.zh}”这句话，用英文说就是 ${s.en}`,
      `${s.en} 这句英文的意思是：${s.zh}。`,
    ]);
  }
  const n = pick(rng, known());
  return pick(rng, [
    `${n.zh}用英文说就是${n.en}。`,
    `英语里的${n.en}就是中文的${n.zh}。`,
    `${n.zh}的英文是${n.en}，我们今天学会了。`,
    `老师说：“${n.en}的意思是${n.zh}。”`,
  ]);
}

function request(rng: Rng, held: HeldOut): string {
  const lines: string[] = [];
  for (let i = between(rng, 1, 3); i > 0; i--) {
    if (rng() < 0.6) {
      const n = pick(rng, nounsWithRole("taught"));
      lines.push(`${translationRequest(n.zh)}${n.en}。`);
    } else {
      const taughtOnly = held.taughtSentences.filter((s) =>
        NOUNS.every((n) => n.role === "taught" || !s.zh.includes(n.zh))
      );
      const s = pick(rng, taughtOnly);
      lines.push(`${translationRequest(s.zh)}${s.en}`);
    }
  }
  return lines.join("");
}

type Fact = { text: string; question: string; answer: string };

function personFacts(rng: Rng, name: string): Fact[] {
  const city = pick(rng, CITIES);
  const fruit = pick(rng, NOUNS.filter((n) => n.kind === "fruit")).zh;
  const job = pick(rng, NOUNS.filter((n) => n.kind === "job")).zh;
  const pet = pick(rng, NOUNS.filter((n) => n.kind === "animal")).zh;
  return [
    { text: `${name}住在${city}。`, question: `${name}住在哪里？`, answer: city },
    { text: `${name}喜欢吃${fruit}。`, question: `${name}喜欢吃什么？`, answer: fruit },
    { text: `${name}是一名${job}。`, question: `${name}是做什么的？`, answer: job },
    { text: `${name}养了一只${pet}。`, question: `${name}养了什么动物？`, answer: pet },
  ];
}

/** A passage about one or two people and questions on it, answered from the passage. */
export interface Passage {
  passage: string;
  questions: { question: string; answer: string }[];
}

/** A reading passage: 2–5 facts about one or two people, and 1–3 questions with their answers. */
export function passage(rng: Rng): Passage {
  const people = sample(rng, NAMES, between(rng, 1, 2));
  const facts = people.flatMap((name) => sample(rng, personFacts(rng, name), between(rng, 1, 3)));
  const told = sample(rng, facts, facts.length);
  const asked = sample(rng, told, Math.min(told.length, between(rng, 1, 3)));
  return {
    passage: told.map((f) => f.text).join(""),
    questions: asked.map(({ question, answer }) => ({ question, answer })),
  };
}

/** 问：…答：… — the question frame of reading passages. */
export function questionPrompt(question: string): string {
  return `问：${question}答：`;
}

function qa(rng: Rng): string {
  const p = passage(rng);
  return p.passage + p.questions.map((q) => `${questionPrompt(q.question)}${q.answer}。`).join("");
}

function numeral(n: number): string {
  return n <= 10 ? NUMERALS[n] : `十${NUMERALS[n - 10]}`;
}

function sums(rng: Rng, held: HeldOut): string {
  const r = rng();
  if (r < 0.35) {
    const items = sample(rng, PAIRS, between(rng, 5, 10)).map(([a, b]) => `${a}+${b}=${a + b}`);
    return `${pick(rng, ["加法表", "算术练习", "口算"])}：${items.join("，")}。`;
  }
  if (r < 0.6) {
    const [a, b] = pick(rng, PAIRS);
    const name = pick(rng, NAMES);
    const fruit = pick(rng, NOUNS.filter((n) => n.kind === "fruit")).zh;
    return `${name}有${a}个${fruit}，又买了${b}个，现在一共有${a + b}个${fruit}。`;
  }
  if (r < 0.75) {
    const [a, b] = pick(rng, PAIRS);
    return `${numeral(a)}加${numeral(b)}等于${numeral(a + b)}。`;
  }
  const lines: string[] = [];
  for (let i = between(rng, 1, 3); i > 0; i--) {
    const [a, b] = pick(rng, held.taughtSums);
    lines.push(`${sumRequest(a, b)}${a + b}。`);
  }
  return lines.join("");
}

/** A story in five sentences and its one-line summary (who went where and did what). */
export interface Story {
  story: string;
  summary: string;
}

/** A story: someone goes to a place and does what is done there; the summary says so. */
export function story(rng: Rng): Story {
  const name = pick(rng, NAMES);
  const { place, activity } = pick(rng, PLACES);
  const time = pick(rng, ["今天早上", "星期天", "放学以后", "一个晴天", "昨天下午"]);
  const start = pick(rng, ["起得很早", "吃完了早饭", "穿上了新鞋", "和妈妈说了再见"]);
  const animal = pick(rng, NOUNS.filter((n) => n.kind === "animal")).zh;
  const aside = pick(rng, [`路上，${name}看见了一只${animal}。`, "天上有很多云。", "路上人很多。"]);
  const feeling = pick(rng, ["很开心", "觉得有点累", "忘了时间", "玩得很高兴"]);
  const end = pick(rng, [`晚上，${name}回家了。`, `天黑了，${name}才回家。`]);
  return {
    story:
      `${time}，${name}${start}。${aside}${name}来到了${place}。${name}在${place}${activity}，` +
      `${feeling}。${end}`,
    summary: `${name}去${place}${activity}了。`,
  };
}

function summary(rng: Rng): string {
  const s = story(rng);
  return `${s.story}${SUMMARY_CUE}${s.summary}`;
}

function antonyms(rng: Rng): string {
  const pairs = ANTONYMS.filter((_, i) => antonymRole(i) !== "control");
  const r = rng();
  if (r < 0.4) {
    const items = sample(rng, pairs, between(rng, 4, 8)).map(([a, b]) =>
      rng() < 0.5 ? `${a}—${b}` : `${b}—${a}`
    );
    return `${pick(rng, ["反义词表", "反义词", "意思相反的字"])}：${items.join("，")}。`;
  }
  if (r < 0.65) {
    const [a, b] = pick(rng, pairs);
    return pick(rng, [`${a}和${b}意思相反。`, `“${a}”的反面是“${b}”。`]);
  }
  const taught = ANTONYMS.filter((_, i) => antonymRole(i) === "taught");
  const lines: string[] = [];
  for (let i = between(rng, 1, 3); i > 0; i--) {
    const [a, b] = pick(rng, taught);
    lines.push(rng() < 0.5 ? `${antonymRequest(a)}${b}。` : `${antonymRequest(b)}${a}。`);
  }
  return lines.join("");
}

/**
 * A classification game: nouns of two kinds, each kind given one of two label words at random
 * (the page itself is the only place that says which), e.g. 分类游戏：苹果是左，猫是右，梨是左。
 */
export function classificationGame(
  rng: Rng,
  items: number,
): { kinds: [string, string]; labels: [string, string]; pairs: [string, string][] } {
  const kindNames = Object.keys(KINDS);
  const kinds = sample(rng, kindNames, 2) as [string, string];
  const labels = sample(rng, pick(rng, LABEL_PAIRS), 2) as [string, string];
  const pool = NOUNS.filter((n) => kinds.includes(n.kind));
  const pairs = sample(rng, pool, items).map((n) =>
    [n.zh, labels[kinds.indexOf(n.kind)]] as [string, string]
  );
  return { kinds, labels, pairs };
}

/** The title of a classification game page. */
export const GAME_TITLE = "分类游戏：";

function classify(rng: Rng): string {
  const game = classificationGame(rng, between(rng, 5, 10));
  return `${GAME_TITLE}${game.pairs.map(([w, l]) => `${w}是${l}`).join("，")}。`;
}

function quiz(rng: Rng, held: HeldOut): string {
  const questions: [string, string][] = [];
  for (let i = between(rng, 2, 4); i > 0; i--) {
    const r = rng();
    if (r < 0.5) {
      const n = pick(rng, known());
      questions.push([`${n.zh}的英文是什么？`, n.en]);
    } else if (r < 0.75) {
      const pairs = ANTONYMS.filter((_, j) => antonymRole(j) !== "control");
      const [a, b] = pick(rng, pairs);
      questions.push([`哪个字和“${a}”意思相反？`, b]);
    } else {
      const [a, b] = pick(rng, [...held.taughtSums, ...held.heldOutSums]);
      questions.push([`${a}+${b}是多少？`, String(a + b)]);
    }
  }
  return `小测验：${questions.map(([q], i) => `${i + 1}.${q}`).join("")}答案：${
    questions.map(([, a], i) => `${i + 1}.${a}`).join("；")
  }。`;
}

function facts(rng: Rng): string {
  const lines: string[] = [];
  for (let i = between(rng, 2, 4); i > 0; i--) {
    const r = rng();
    const n = pick(rng, NOUNS);
    const kind = KINDS[n.kind];
    if (r < 0.4) lines.push(`${n.zh}是一种${kind}。`);
    else if (r < 0.7) {
      const m = pick(rng, NOUNS.filter((x) => x.kind === n.kind && x !== n));
      lines.push(`${n.zh}和${m.zh}都是${kind}。`);
    } else lines.push(`${pick(rng, CITIES)}有很多${n.zh}。`);
  }
  return lines.join("");
}

function english(rng: Rng): string {
  const lines: string[] = [];
  for (let i = between(rng, 2, 4); i > 0; i--) {
    const n = pick(rng, NOUNS), m = pick(rng, NOUNS);
    lines.push(pick(rng, [
      `look at the ${n.en}.`,
      `this is ${article(n.en)}.`,
      `the ${n.en} is ${pick(rng, ["big", "small", "old", "new", "nice"])}.`,
      `${article(n.en)} and ${article(m.en)}.`,
      `where is the ${n.en}?`,
    ]));
  }
  return lines.join(" ");
}

function plainStory(rng: Rng): string {
  return story(rng).story;
}

/** Options of {@link generateWebText}. */
export interface WebTextOptions {
  /** How many pages. */
  pages: number;
  /** Seed of the draw (the held-out split has its own, see {@link heldOut}). */
  seed: number;
  /** Leave out the task-like kinds ({@link TASK_KINDS}): the corpus of chapter 09's control. */
  withoutTasks?: boolean;
}

/** `pages` pages drawn by {@link PAGE_WEIGHTS} (without the task-like kinds if asked). */
export function generateWebText(options: WebTextOptions): Page[] {
  const { pages, seed, withoutTasks = false } = options;
  if (!Number.isInteger(pages) || pages < 0) {
    throw new Error(`generateWebText: pages must be a non-negative integer, got ${pages}`);
  }
  const rng = makeRng(seed);
  const held = heldOut();
  const kinds = (Object.keys(PAGE_WEIGHTS) as PageKind[]).filter((k) =>
    !(withoutTasks && TASK_KINDS.includes(k))
  );
  const total = kinds.reduce((s, k) => s + PAGE_WEIGHTS[k], 0);
  const makers: Record<PageKind, () => string> = {
    glossary: () => glossary(rng),
    bilingual: () => bilingual(rng, held),
    request: () => request(rng, held),
    qa: () => qa(rng),
    sums: () => sums(rng, held),
    summary: () => summary(rng),
    antonyms: () => antonyms(rng),
    classify: () => classify(rng),
    quiz: () => quiz(rng, held),
    story: () => plainStory(rng),
    facts: () => facts(rng),
    english: () => english(rng),
  };
  const out: Page[] = [];
  for (let i = 0; i < pages; i++) {
    let r = rng() * total;
    const kind = kinds.find((k) => (r -= PAGE_WEIGHTS[k]) < 0) ?? kinds[kinds.length - 1];
    out.push({ kind, text: makers[kind]() });
  }
  return out;
}

// ── Chapter 09's zero-shot test sets ───────────────────────────────────────────────────────

/** One zero-shot test item: the prompt the model continues and the answer it should write. */
export interface ZeroShotItem {
  /** The text the model continues. */
  prompt: string;
  /** What it should write next (without the closing "。"). */
  answer: string;
}

/** Chapter 09's zero-shot tasks, each a list of held-out items. */
export interface ZeroShotSets {
  /** 问：请将“X”翻译成英文。答： for the held-out nouns. */
  translateWord: ZeroShotItem[];
  /** The same frame for the control nouns, whose English the corpus never pairs with them. */
  translateControl: ZeroShotItem[];
  /** The same frame for the held-out sentences; the first is the article's 我是一名学生. */
  translateSentence: ZeroShotItem[];
  /** Fresh reading passages with one question each: 问：小明住在哪里？答：. */
  question: ZeroShotItem[];
  /** 问：a加b等于几？答： for the held-out sums. */
  sum: ZeroShotItem[];
  /** 问：“X”的反义词是什么？答： for the held-out antonyms, both ways. */
  antonym: ZeroShotItem[];
  /** A fresh story followed by 一句话总结：. */
  summary: ZeroShotItem[];
}

/**
 * The held-out items of chapter 09: `count` fresh reading passages (one question each) and
 * stories, drawn with their own seed, and all the held-out words, sentences, sums and antonyms.
 * Answers end where the corpus's answers end, before "。" (a sentence's English keeps its ".").
 * The passages and stories are random draws and a short one can occur in a corpus by chance:
 * `occurs` (e.g. "is this text in the corpus?") skips such draws, so no item is a prompt the
 * model has read with its answer.
 */
export function zeroShotSets(
  count = 200,
  occurs: (text: string) => boolean = () => false,
): ZeroShotSets {
  const rng = makeRng(99);
  const held = heldOut();
  const item = (prompt: string, answer: string): ZeroShotItem => ({ prompt, answer });
  const question: ZeroShotItem[] = [];
  while (question.length < count) {
    const p = passage(rng);
    const q = p.questions[0];
    const prompt = p.passage + questionPrompt(q.question);
    if (!occurs(prompt + q.answer)) question.push(item(prompt, q.answer));
  }
  const summary: ZeroShotItem[] = [];
  while (summary.length < count) {
    const s = story(rng);
    if (!occurs(s.story + SUMMARY_CUE + s.summary)) {
      summary.push(item(s.story + SUMMARY_CUE, s.summary));
    }
  }
  const heldAntonyms = ANTONYMS.filter((_, i) => antonymRole(i) === "held-out");
  return {
    translateWord: nounsWithRole("held-out").map((n) => item(translationRequest(n.zh), n.en)),
    translateControl: nounsWithRole("control").map((n) => item(translationRequest(n.zh), n.en)),
    translateSentence: held.heldOutSentences.map((s) => item(translationRequest(s.zh), s.en)),
    question,
    sum: held.heldOutSums.map(([a, b]) => item(sumRequest(a, b), String(a + b))),
    antonym: heldAntonyms.flatMap(([a, b]) => [
      item(antonymRequest(a), b),
      item(antonymRequest(b), a),
    ]),
    summary,
  };
}

if (import.meta.main) {
  const pages = generateWebText({ pages: 20000, seed: 1 });
  const seen = new Set<PageKind>();
  for (const p of pages) {
    if (seen.has(p.kind)) continue;
    seen.add(p.kind);
    console.log(`${p.kind.padEnd(10)} ${p.text}`);
  }
  const chars = pages.reduce((s, p) => s + p.text.length, 0);
  console.log(`\n${pages.length} pages, ${chars} characters`);
  const sets = zeroShotSets();
  for (const [task, items] of Object.entries(sets)) {
    console.log(
      `${task.padEnd(18)} ${items.length} items, e.g. ${items[0].prompt} → ${items[0].answer}`,
    );
  }
}
