/**
 * Writes data/intro_zh.txt: short Chinese sentences from a small grammar, the toy corpus of
 * chapter 00. Regenerate with `deno run -A data/make_intro_corpus.ts` (deterministic).
 *
 * The grammar is built so that one character of context is not enough: "学" is followed by
 * "校", "习" or "生" depending on what came before it, "吃" by a fruit that depends on the
 * subject's habits, and so on. A model that sees more context can do better than a bigram.
 *
 * @module
 */
import { makeRng } from "../lib/tensor.ts";

const subjects = ["我", "你", "他", "她", "小明", "小红", "老师", "学生们"];
const times = ["今天", "明天", "昨天", "每天", "早上", "晚上"];
const activities = [
  "去学校学习编程",
  "在学校学习数学",
  "在家里写代码",
  "去公园跑步",
  "去图书馆看书",
  "在图书馆学习",
  "在厨房做饭",
  "吃苹果",
  "吃香蕉",
  "吃樱桃",
  "学习英语",
  "和学生们一起唱歌",
  "给学生上课",
];
const endings = ["。", "。", "。", "！"];

const rng = makeRng(2026);
const pick = <T>(xs: T[]) => xs[Math.floor(rng() * xs.length)];
const lines: string[] = [];
for (let i = 0; i < 600; i++) {
  lines.push(pick(subjects) + pick(times) + pick(activities) + pick(endings));
}
await Deno.writeTextFile(new URL("./intro_zh.txt", import.meta.url), lines.join("\n") + "\n");
console.log(`wrote ${lines.length} sentences`);
