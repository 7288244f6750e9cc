// The web text of chapters 09–13 (data/webtext.ts): the grammar's translations on hand-checked
// sentences, a deterministic draw, and what is held out — checked on the full recipe's corpus:
// no zero-shot prompt with its answer occurs in it, the knowledge each held-out item needs does
// (in another frame), and a control's Chinese and English never share a page.
import { assert, assertEquals, assertNotEquals, assertThrows } from "@std/assert";
import {
  ARTICLE_SENTENCE,
  generateWebText,
  heldOut,
  sentences,
  TASK_KINDS,
  zeroShotSets,
} from "../data/webtext.ts";
import { antonymRole, ANTONYMS, NOUNS, nounsWithRole } from "../data/webtext_lexicon.ts";
import { baseModelRecipe } from "../lib/experiments/base_model.ts";

const recipe = baseModelRecipe("base", false);
const pages = generateWebText({ pages: recipe.pages, seed: recipe.corpusSeed });
const corpus = pages.map((p) => p.text).join("\n");

Deno.test("webtext: the grammar's English agrees with its Chinese (hand-checked sentences)", () => {
  const all = new Map(sentences(NOUNS).map((s) => [s.zh, s.en]));
  assertEquals(all.get("我是一名学生"), "I am a student.");
  assertEquals(all.get("他们都是医生"), "they are doctors.");
  assertEquals(all.get("她有一只猫"), "she has a cat.");
  assertEquals(all.get("你有一条鱼"), "you have a fish.");
  assertEquals(all.get("他喜欢吃桃子"), "he likes peaches.");
  assertEquals(all.get("我们喜欢吃苹果"), "we like apples.");
  assertEquals(all.get("他看见了月亮"), "he saw the moon.");
  assertEquals(all.get("我有一本书"), "I have a book.");
});

Deno.test("webtext: the same seed gives the same pages, another seed others", () => {
  const again = generateWebText({ pages: 200, seed: recipe.corpusSeed });
  assertEquals(again, pages.slice(0, 200));
  assertNotEquals(generateWebText({ pages: 200, seed: 2 }), again);
  assertThrows(() => generateWebText({ pages: -1, seed: 1 }), Error, "pages must be");
});

Deno.test("webtext: every kind of page occurs; the control corpus has no task-like page", () => {
  const kinds = new Set(pages.map((p) => p.kind));
  assertEquals(kinds.size, 12);
  const plain = generateWebText({ pages: 2000, seed: 1, withoutTasks: true });
  assert(plain.every((p) => !TASK_KINDS.includes(p.kind)));
  assert(plain.every((p) => !p.text.includes("问：") && !p.text.includes("答：")));
});

Deno.test("webtext: no zero-shot prompt with its answer occurs in the corpus", () => {
  const sets = zeroShotSets(200, (text) => corpus.includes(text));
  for (const [task, items] of Object.entries(sets)) {
    for (const { prompt, answer } of items) {
      assert(!corpus.includes(prompt + answer), `${task}: “${prompt}${answer}” is in the corpus`);
    }
  }
  // Stronger for the fixed sets: the request itself never occurs, whatever follows it.
  for (const task of ["translateWord", "translateSentence", "sum", "antonym"] as const) {
    for (const { prompt } of sets[task]) {
      assert(!corpus.includes(prompt), `${task}: the request “${prompt}” is in the corpus`);
    }
  }
  // A held-out sentence is never translated: its English never occurs (as words: "she likes
  // grapes." holds the letters of "he likes grapes.").
  const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  for (const s of heldOut().heldOutSentences) {
    assert(!new RegExp(`(^|[^a-z])${escape(s.en)}`).test(corpus), `“${s.en}” is in the corpus`);
  }
  assertEquals(sets.translateSentence[0].prompt, "问：请将“我是一名学生”翻译成英文。答：");
  assertEquals(heldOut().heldOutSentences[0].zh, ARTICLE_SENTENCE);
});

Deno.test("webtext: the knowledge a held-out item needs is in the corpus, in other frames", () => {
  const sharePage = (a: string, b: string) =>
    pages.some((p) => p.text.includes(a) && p.text.includes(b));
  for (const n of nounsWithRole("held-out")) {
    assert(sharePage(n.zh, n.en), `no page pairs ${n.zh} with ${n.en}`);
  }
  const held = heldOut();
  for (const s of held.heldOutSentences) {
    // Every noun of a held-out sentence is translated somewhere.
    const noun = NOUNS.find((n) => s.zh.includes(n.zh) && s.en.includes(n.en.slice(0, 3)))!;
    assert(sharePage(noun.zh, noun.en), `no page translates ${noun.zh}`);
  }
  for (const [a, b] of held.heldOutSums) {
    assert(corpus.includes(`${a}+${b}=${a + b}`), `${a}+${b} is in no addition table`);
  }
  ANTONYMS.forEach(([a, b], i) => {
    if (antonymRole(i) !== "held-out") return;
    assert(corpus.includes(`${a}—${b}`) || corpus.includes(`${b}—${a}`), `${a}/${b} in no table`);
  });
});

Deno.test("webtext: a control's Chinese and English never share a page, though both occur", () => {
  for (const n of nounsWithRole("control")) {
    assert(corpus.includes(n.en), `${n.en} never occurs`);
    assert(corpus.includes(n.zh), `${n.zh} never occurs`);
    const together = pages.find((p) => p.text.includes(n.zh) && p.text.includes(n.en));
    assertEquals(together, undefined, `${n.zh} and ${n.en} share a page`);
  }
});
