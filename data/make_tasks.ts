/**
 * Writes data/finetune_tasks.json: the four small Chinese fine-tuning tasks of chapter 08
 * (GPT-1's Figure 1), each with train / validation / test splits. Regenerate with
 * `deno run -A data/make_tasks.ts` (deterministic: seed 2026; an argument names another
 * output file).
 *
 * Each task draws from its own random stream (seed 2026 + its index), so that changing one
 * task leaves the others' examples as they were.
 *
 * Every task is built so that the words that decide the label in one split never occur in
 * another (a lexical split): the validation and test sentences use sentiment characters,
 * adjective triples, synonym pairs and situations that training never shows. A model trained
 * from scratch has never seen those characters in a labelled example, so their embeddings are
 * random to it and it can only guess; a pretrained model has read them in context (chapter 08
 * pre-trains on the unlabelled prose of make_prose.ts, which uses every split's words) and
 * can transfer. All the text uses characters common in Tang poetry; the words are in
 * task_lexicon.ts.
 *
 * - sentiment: "{time}{person}{place}{action}，心中{c₁}{c₂}。" with c₁ ≠ c₂ two feeling
 *   characters of one polarity (label 1 positive, 0 negative).
 * - entailment: premise "{time}{person}{place}{action}，{object}{adj}。", hypothesis about the
 *   object: the synonym of adj (0 entails), its antonym (2 contradicts), or another object
 *   (1 neutral: the premise says nothing of it). No negated hypotheses ("不" + antonym
 *   entails): the label would then be the XOR of the negation and the relation, which no
 *   model here learned even on the training split in chapter 08's 80 steps (see
 *   data/README.md).
 * - similarity: two sentences "{time}{person}在{place}{action}" differing in one slot: the
 *   word replaced by its synonym (1 paraphrase) or by another word of the same kind (0 not).
 * - multiple choice: a short story "{person}{place}，{situation}，{filler}。" and 2–4 endings
 *   "于是{ending}。": one fits the situation, the others belong to other situations.
 *
 * @module
 */
import { makeRng } from "../lib/tensor.ts";
import {
  actions,
  feelings,
  fillers,
  objects,
  persons,
  places,
  situations,
  SLOTS,
  type Split,
  SPLITS,
  synonyms,
  times,
  triples,
} from "./task_lexicon.ts";

/** Where to write: the first argument (the tests write to a temporary file), else data/. */
const OUT: string = Deno.args[0] ?? new URL("./finetune_tasks.json", import.meta.url).pathname;

/** The random stream of the task being made (each task restarts it, see `makers` below). */
let rng = makeRng(2026);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)];
const shuffle = <T>(xs: T[]): T[] => {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
};

const SIZES: Record<Split, number> = { train: 600, validation: 120, test: 240 };

const scene = () => pick(times) + pick(persons) + pick(places) + pick(actions);

/** Draws distinct items with `make` until `n` are found (or the space runs out). */
function draw<T>(n: number, make: () => T, key: (x: T) => string): T[] {
  const seen = new Map<string, T>();
  for (let tries = 0; seen.size < n && tries < n * 200; tries++) {
    const x = make();
    if (!seen.has(key(x))) seen.set(key(x), x);
  }
  return [...seen.values()];
}

function sentiment(split: Split) {
  return draw(SIZES[split], () => {
    const label = rng() < 0.5 ? 1 : 0;
    const chars = label ? feelings[split].positive : feelings[split].negative;
    const [a, b] = shuffle([...chars]).slice(0, 2);
    return { text: `${scene()}，心中${a}${b}。`, label };
  }, (x) => x.text);
}

function entailment(split: Split) {
  return draw(SIZES[split], () => {
    const [adj, syn, ant] = pick(triples[split]);
    const object = pick(objects);
    const premise = `${scene()}，${object}${adj}。`;
    const label = Math.floor(rng() * 3);
    const other = pick(objects.filter((o) => o !== object));
    const hypothesis = label === 0
      ? object + syn
      : label === 2
      ? object + ant
      : other + pick([adj, syn, ant]);
    return { premise, hypothesis: `${hypothesis}。`, label };
  }, (x) => x.premise + x.hypothesis);
}

function similarity(split: Split) {
  const lex = synonyms[split];
  return draw(SIZES[split], () => {
    const words = SLOTS.map((s) => pick(pick(lex[s])));
    const slot = Math.floor(rng() * SLOTS.length);
    const pairs = lex[SLOTS[slot]];
    const own = pairs.find((p) => p.includes(words[slot]))!;
    const label = rng() < 0.5 ? 1 : 0;
    const replaced = [...words];
    replaced[slot] = label
      ? own.find((w) => w !== words[slot])!
      : pick(pairs.filter((p) => p !== own).flat());
    const sentence = (w: string[]) => `${w[0]}${w[1]}在${w[2]}${w[3]}。`;
    return rng() < 0.5
      ? { a: sentence(words), b: sentence(replaced), label }
      : { a: sentence(replaced), b: sentence(words), label };
  }, (x) => x.a + x.b);
}

function multipleChoice(split: Split) {
  const all = situations[split];
  return draw(SIZES[split], () => {
    const i = Math.floor(rng() * all.length);
    const others = shuffle(all.filter((_, j) => j !== i));
    const count = 1 + Math.min(others.length, 1 + Math.floor(rng() * 3));
    const endings = [
      pick(all[i].endings),
      ...others.slice(0, count - 1).map((s) => pick(s.endings)),
    ];
    const order = shuffle(endings.map((_, j) => j));
    return {
      context: `${pick(persons)}${pick(places)}，${pick(all[i].cues)}，${pick(fillers)}。`,
      endings: order.map((j) => `于是${endings[j]}。`),
      label: order.indexOf(0),
    };
  }, (x) => x.context + x.endings.join("|"));
}

const makers = { sentiment, entailment, similarity, multipleChoice };
const out: Record<string, Record<Split, unknown[]>> = {};
for (const [i, [name, make]] of Object.entries(makers).entries()) {
  rng = makeRng(2026 + i);
  out[name] = Object.fromEntries(SPLITS.map((s) => [s, make(s)])) as Record<Split, unknown[]>;
}
await Deno.writeTextFile(OUT, JSON.stringify(out) + "\n");
// Lay the file out as `deno fmt` does (the project's line width), so the tree stays fmt-clean.
const fmt = await new Deno.Command(Deno.execPath(), {
  args: [
    "fmt",
    "--quiet",
    "--line-width=100",
    "--ext=json",
    OUT,
  ],
}).output();
if (fmt.code !== 0) throw new Error(new TextDecoder().decode(fmt.stderr));
console.log(
  Object.entries(out).map(([k, v]) => `${k}: ${SPLITS.map((s) => v[s].length).join("/")}`)
    .join("; "),
);
