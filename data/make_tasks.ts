/**
 * Writes data/finetune_tasks.json: the four small Chinese fine-tuning tasks of chapter 08
 * (GPT-1's Figure 1), each with train / validation / test splits. Regenerate with
 * `deno run -A data/make_tasks.ts` (deterministic: seed 2026; an argument names another
 * output file).
 *
 * Every task is built so that the words that decide the label in one split never occur in
 * another (a lexical split): the validation and test sentences use sentiment characters,
 * adjective triples, synonym pairs and situations that training never shows. A model trained
 * from scratch has never seen those characters in a labelled example, so their embeddings are
 * random to it and it can only guess; a model pretrained on Tang poems has read them in
 * context (愁 next to 泪, 寒 opposite 暖 in parallel couplets, 日暮 where 黄昏 also goes) and
 * can transfer. All the text uses characters common in Tang poetry.
 *
 * - sentiment: "{time}{person}{place}{action}，心中{c₁}{c₂}。" with c₁ ≠ c₂ two feeling
 *   characters of one polarity (label 1 positive, 0 negative).
 * - entailment: premise "{time}{person}{place}{action}，{object}{adj}。", hypothesis about the
 *   object: a synonym of adj or "不" + its antonym (0 entails), the antonym or "不" + the
 *   synonym (2 contradicts), or another object (1 neutral: the premise says nothing of it).
 * - similarity: two sentences "{time}{person}在{place}{action}" differing in one slot: the
 *   word replaced by its synonym (1 paraphrase) or by another word of the same kind (0 not).
 * - multiple choice: a short story "{person}{place}，{situation}，{filler}。" and 2–4 endings
 *   "于是{ending}。": one fits the situation, the others belong to other situations.
 *
 * @module
 */
import { makeRng } from "../lib/tensor.ts";

/** Where to write: the first argument (the tests write to a temporary file), else data/. */
const OUT: string = Deno.args[0] ?? new URL("./finetune_tasks.json", import.meta.url).pathname;

const rng = makeRng(2026);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)];
const shuffle = <T>(xs: T[]): T[] => {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
};

type Split = "train" | "validation" | "test";
const SPLITS: Split[] = ["train", "validation", "test"];
const SIZES: Record<Split, number> = { train: 600, validation: 120, test: 240 };

const times = ["今日", "春来", "秋夜", "清晨", "黄昏", "雨后", "月下", "日暮"];
const persons = ["游子", "老翁", "少年", "故人", "僧人", "渔父", "行人", "归客"];
const places = ["江上", "山中", "楼上", "城外", "松下", "门前", "湖边", "桥头"];
const actions = ["独坐", "相逢", "饮酒", "望月", "看花", "听雨", "吹笛", "回首"];
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

// Sentiment: feeling characters, disjoint between splits.
const feelings: Record<Split, { positive: string[]; negative: string[] }> = {
  train: {
    positive: ["欢", "喜", "笑", "乐", "歌", "舞"],
    negative: ["愁", "悲", "泪", "恨", "苦", "哀"],
  },
  validation: { positive: ["悦", "欣", "酣"], negative: ["怨", "伤", "泣"] },
  test: { positive: ["畅", "庆", "贺", "兴"], negative: ["忧", "凄", "惨", "叹"] },
};

function sentiment(split: Split) {
  return draw(SIZES[split], () => {
    const label = rng() < 0.5 ? 1 : 0;
    const chars = label ? feelings[split].positive : feelings[split].negative;
    const [a, b] = shuffle([...chars]).slice(0, 2);
    return { text: `${scene()}，心中${a}${b}。`, label };
  }, (x) => x.text);
}

// Entailment: (adjective, synonym, antonym) triples, disjoint between splits.
const triples: Record<Split, [string, string, string][]> = {
  train: [
    ["寒", "冷", "暖"],
    ["明", "亮", "暗"],
    ["远", "遥", "近"],
    ["多", "众", "少"],
    ["白", "素", "黑"],
    ["大", "巨", "小"],
    ["长", "久", "短"],
  ],
  validation: [["深", "幽", "浅"], ["满", "盈", "空"], ["高", "峻", "低"]],
  test: [["静", "寂", "喧"], ["清", "澈", "浊"], ["新", "鲜", "旧"], ["疾", "快", "慢"]],
};
const objects = ["天", "水", "山", "路", "夜", "江", "城", "林"];

function entailment(split: Split) {
  return draw(SIZES[split], () => {
    const [adj, syn, ant] = pick(triples[split]);
    const object = pick(objects);
    const premise = `${scene()}，${object}${adj}。`;
    const label = Math.floor(rng() * 3);
    const other = pick(objects.filter((o) => o !== object));
    const hypothesis = label === 0
      ? object + (rng() < 0.5 ? syn : `不${ant}`)
      : label === 2
      ? object + (rng() < 0.5 ? ant : `不${syn}`)
      : other + pick([adj, syn, ant]);
    return { premise, hypothesis: `${hypothesis}。`, label };
  }, (x) => x.premise + x.hypothesis);
}

// Similarity: synonym pairs per slot, disjoint between splits (two per slot per split).
const synonyms: Record<Split, Record<"time" | "person" | "place" | "action", string[][]>> = {
  train: {
    time: [["黄昏", "日暮"], ["清晨", "拂晓"]],
    person: [["老翁", "老叟"], ["朋友", "友人"]],
    place: [["江边", "江畔"], ["山中", "山间"]],
    action: [["归来", "回来"], ["饮酒", "把酒"]],
  },
  validation: {
    time: [["深夜", "半夜"], ["春天", "春日"]],
    person: [["游子", "旅人"], ["美人", "佳人"]],
    place: [["故乡", "家乡"], ["城外", "郊外"]],
    action: [["哭泣", "落泪"], ["远望", "眺望"]],
  },
  test: {
    time: [["秋天", "秋日"], ["傍晚", "薄暮"]],
    person: [["孩童", "小儿"], ["书生", "儒生"]],
    place: [["楼上", "楼头"], ["河边", "水边"]],
    action: [["睡觉", "入眠"], ["歌唱", "放歌"]],
  },
};
const SLOTS = ["time", "person", "place", "action"] as const;

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

// Multiple choice: situations (cues → fitting endings), disjoint between splits.
interface Situation {
  cues: string[];
  endings: string[];
}
const situations: Record<Split, Situation[]> = {
  train: [
    { cues: ["天寒地冻", "大雪纷飞"], endings: ["添衣取暖", "围炉而坐"] },
    { cues: ["烈日当空", "暑气逼人"], endings: ["摇扇纳凉", "入林避暑"] },
    { cues: ["大雨倾盆", "阴雨连绵"], endings: ["披蓑回家", "闭门听雨"] },
    { cues: ["夜深人静", "月落星沉"], endings: ["吹灯入睡", "掩门安眠"] },
    { cues: ["一日未食", "腹中空虚"], endings: ["煮饭充饥", "取食果腹"] },
  ],
  validation: [
    { cues: ["友人远行", "送别故人"], endings: ["挥手垂泪", "折柳相送"] },
    { cues: ["故人归来", "久别重逢"], endings: ["把酒言欢", "相拥而笑"] },
    { cues: ["口干舌燥", "久旱无水"], endings: ["饮水解渴", "煎茶止渴"] },
  ],
  test: [
    { cues: ["走了一天", "筋疲力尽"], endings: ["倒头便睡", "坐下歇息"] },
    { cues: ["春暖花开", "桃李争春"], endings: ["踏青赏花", "出门看花"] },
    { cues: ["身染重病", "卧病多日"], endings: ["请医服药", "卧床养病"] },
    { cues: ["日落西山", "天色已晚"], endings: ["点灯读书", "策马回家"] },
  ],
};
const fillers = ["四下无人", "心中思量", "不知如何", "独自一人", "左右徘徊"];

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
for (const [name, make] of Object.entries(makers)) {
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
