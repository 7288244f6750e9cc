/**
 * Writes data/prose_zh.txt: unlabelled Chinese prose that chapter 08's body is pre-trained on
 * beside the Tang poems, in the role BooksCorpus plays for GPT-1. Regenerate with
 * `deno run -A data/make_prose.ts` (deterministic: seed 2027; an argument names another output
 * file).
 *
 * The prose uses the words of every split of the tasks (data/task_lexicon.ts), in frames that
 * are not the tasks' own and carry no labels: it says what ordinary text says about those words
 * — feelings follow good or bad news and come in pairs of one mood; an adjective goes with its
 * synonym and against its antonym; two words of one meaning are said to be interchangeable; a
 * situation is followed by what people do in it. A model that reads it learns, for instance,
 * that 忧 keeps 愁's company, which is what fine-tuning on 愁 alone cannot teach about 忧.
 * No line of the prose is a task example or contains one's text.
 *
 * @module
 */
import { makeRng } from "../lib/tensor.ts";
import {
  feelings,
  objects,
  persons,
  situations,
  SPLITS,
  synonyms,
  triples,
} from "./task_lexicon.ts";

/** Where to write: the first argument (the tests write to a temporary file), else data/. */
const OUT: string = Deno.args[0] ?? new URL("./prose_zh.txt", import.meta.url).pathname;
/** Lines written. */
const LINES = 4000;

const rng = makeRng(2027);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)];
/** Two different items of `xs`, in random order. */
const two = <T>(xs: readonly T[]): [T, T] => {
  const a = pick(xs);
  return [a, pick(xs.filter((x) => x !== a))];
};

const positive = SPLITS.flatMap((s) => feelings[s].positive);
const negative = SPLITS.flatMap((s) => feelings[s].negative);
const goodNews = ["听闻捷报", "金榜题名", "喜逢佳节", "得遇知音", "五谷丰登", "儿孙满堂"];
const badNews = ["听闻噩耗", "痛失亲人", "家书断绝", "屡试不第", "流落他乡", "田园荒芜"];
const allTriples = SPLITS.flatMap((s) => triples[s]);
const allPairs = SPLITS.flatMap((s) => Object.values(synonyms[s]).flat());

/** Feelings after news, two of one mood together. */
function feeling(): string {
  const good = rng() < 0.5;
  const [a, b] = two(good ? positive : negative);
  const [c, d] = two(good ? positive : negative);
  const news = pick(good ? goodNews : badNews);
  const person = pick(persons);
  return pick([
    () => `${person}${news}，${a}${b}不已，${c}${d}满怀。`,
    () => `${person}${a}${b}不已，${c}${d}满怀，原来${news}。`,
    () => `${person}终日${a}${b}，${c}${d}满怀，只因${news}。`,
  ])();
}

/** An adjective with its synonym and against its antonym. */
function adjective(): string {
  const [adj, syn, ant] = pick(allTriples);
  const [a, b] = rng() < 0.5 ? [adj, syn] : [syn, adj];
  const object = pick(objects);
  return pick([
    () => `${object}既${a}又${b}，并不${ant}。`,
    () => `${object}不${ant}，也就是${object}${a}。`,
    () => `${object}不${a}，也就是${object}${ant}。`,
  ])();
}

/** What goes with each pair of words of one meaning (the same for both words). */
const pairScenes = [
  "落叶纷纷",
  "炊烟袅袅",
  "蝉声阵阵",
  "霜露满地",
  "花香阵阵",
  "鸡鸣三声",
  "灯火点点",
  "星斗满天",
  "白发苍苍",
  "青衫磊落",
  "笑语盈盈",
  "行囊沉沉",
  "书声琅琅",
  "钟声悠悠",
  "衣袖飘飘",
  "脚步匆匆",
  "流水潺潺",
  "草木青青",
  "风声萧萧",
  "小桥横斜",
  "柳丝依依",
  "细沙软软",
  "鼾声阵阵",
  "曲调悠扬",
];

if (pairScenes.length !== allPairs.length) {
  throw new Error(`make_prose: ${allPairs.length} synonym pairs but ${pairScenes.length} scenes`);
}

/** Two words of one meaning: said to be interchangeable, and found in the same scenes. */
function synonym(): string {
  const i = Math.floor(rng() * allPairs.length);
  const [a, b] = rng() < 0.5 ? allPairs[i] : [...allPairs[i]].reverse();
  return pick([
    () => `人们说${a}，也说${b}。`,
    () => `${a}和${b}是一个意思。`,
    () => `${a}，${pairScenes[i]}。`,
    () => `${pairScenes[i]}，正是${b}。`,
  ])();
}

/**
 * A situation and what people do in it; the cue and the ending are of one kind but may come
 * from different splits' words (天寒地冻 … 烤火御寒), as text about the cold uses all of them.
 * Two cues of one kind also come together (朔风凛冽，天寒地冻), and two things people do in
 * one kind of situation (烤火御寒，围炉而坐), as the feelings of one mood do.
 */
function situation(): string {
  const kind = Math.floor(rng() * situations.train.length);
  const cues = SPLITS.flatMap((s) => situations[s][kind].cues);
  const endings = SPLITS.flatMap((s) => situations[s][kind].endings);
  const cue = pick(cues);
  const ending = pick(endings);
  return pick([
    () => `${cue}的时候，人们常常${ending}。`,
    () => `${cue}，${ending}，说的都是同一件事。`,
    () => `${pick(persons)}${ending}，只因${cue}。`,
    () => two(cues).join("，") + "，又是这样的日子。",
    () => `${pick(persons)}${two(endings).join("，")}，人人如此。`,
  ])();
}

const makers = [feeling, adjective, synonym, situation];
const lines: string[] = [];
for (let i = 0; i < LINES; i++) lines.push(makers[i % makers.length]());
await Deno.writeTextFile(OUT, lines.join("\n") + "\n");
console.log(
  `${lines.length} lines, ${new Set(lines).size} distinct, ${lines.join("").length} characters`,
);
