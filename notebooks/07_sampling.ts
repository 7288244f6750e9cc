// Chapter 07 — sampling: from “选取概率最高的词” to temperature, top-k, top-p and beam search
// Source of notebooks/07_sampling.ipynb (regenerate with `deno task notebooks`).
// Run in a terminal: `deno task chapter 07` (`QUICK=1` trains for fewer steps).

// %% [markdown]
// # 07 Sampling — how a distribution becomes text
//
// A GPT does not write text. At each position it outputs **logits** z, one score per token of
// the vocabulary, and softmax turns them into a distribution P(next token ∣ text so far). Some
// rule must then choose one token, append it, and run the model again. The article describes
// one rule — the decoder “选取概率最高的词”, picks the most probable word — and that rule is
// called **greedy decoding**. It is one choice among several, and not the one that writes the
// best text:
//
// - **temperature** T reshapes the distribution: p = softmax(z / T);
// - **top-k** keeps only the k most probable tokens, **top-p** (the nucleus) the fewest whose
//   probabilities add up to p;
// - **sampling** draws the token at random from what is left — with a seeded random source,
//   so every text below comes out the same on every run;
// - **beam search** keeps several candidate continuations instead of one.
//
// To have real distributions to work on, we first train a small GPT on Tang poems (唐诗), then
// look at one prompt's next-token distribution under each rule, decode step by step, compare
// greedy with sampling, run beam search, and measure what the KV cache buys.

// %%
import {
  barChart,
  type Beam,
  beamSearch,
  charVocabulary,
  countGPTParameters,
  createAdamW,
  encodeCorpus,
  fit,
  generateTokens,
  gptConfig,
  gptLanguageModel,
  gptParameters,
  initGPT,
  isQuick,
  type LanguageModel,
  languageModelingLoss,
  lineChart,
  lmBatches,
  loadTangPoems,
  md,
  nextTokenDistribution,
  type PoemSplits,
  setup,
  show,
  softmaxWithTemperature,
  table,
  tex,
  topK,
  topP,
  trainingMonitor,
  warmupCosine,
} from "../mod.ts";
import { commonCharacterPoems, pretrainingSettings } from "../lib/experiments/mod.ts";
import * as tf from "@tensorflow/tfjs";

await setup({ title: "07 Sampling" });

// %% [markdown]
// ## A small GPT that writes Tang poems
//
// The corpus is the 全唐诗 of the npm package `chinese-poetry`, as chapter 06 uses it: poems of
// five-character lines, “xxxxx，xxxxx。…”, converted to simplified characters and read one
// character at a time. A character-level vocabulary of Tang poetry has thousands of entries,
// and the output layer (d_model × V) dominates the cost of a small model; to train in about a
// minute on a laptop's CPU we keep the poems written only with the 1,500 most frequent
// characters — a stricter cut than chapter 06's, which explains the model (the table below
// counts both); here it is a tool.
//
// The model: 2 pre-LN blocks, d_model 64, 4 heads, a 32-character context, trained with
// AdamW on random windows of the poem stream (`QUICK=1` trains it for fewer steps).

// %%
const quick = isQuick();
const settings = quick
  ? { layers: 2, dModel: 64, contextLength: 32, batchSize: 16, steps: 60, peak: 1e-2 }
  : { layers: 2, dModel: 64, contextLength: 32, batchSize: 16, steps: 450, peak: 1e-2 };
const characters = 1500;
const poems = await loadTangPoems({ maxPoems: 20_000 });
const { train, validation } = commonCharacterPoems(poems, characters);
const chapter06 = pretrainingSettings(quick).characters;
const kept06 = commonCharacterPoems(poems, chapter06);
const vocab = charVocabulary(train);
const config = gptConfig({
  name: "Tang-poem GPT",
  vocabSize: vocab.size,
  contextLength: settings.contextLength,
  layers: settings.layers,
  heads: 4,
  dModel: settings.dModel,
});
const params = initGPT(config, 7);
const trainIds = encodeCorpus(train, vocab);
const batches = lmBatches(trainIds, { ...settings, seed: 1 });
const heldOut = lmBatches(encodeCorpus(validation, vocab), { ...settings, batchSize: 64, seed: 2 })(
  0,
);
/** “train / validation” sizes of a split. */
const sizes = (s: PoemSplits) => `${s.train.length} / ${s.validation.length}`;
await show(
  table([
    ["five-character poems loaded (train / validation)", sizes(poems)],
    [`kept by chapter 06 (its ${chapter06} most frequent characters)`, sizes(kept06)],
    [`kept here (the ${characters} most frequent characters)`, sizes({ train, validation })],
    ["characters in the training stream", trainIds.length],
    ["vocabulary V", vocab.size],
    [
      "blocks, d_model, heads, context",
      `${config.layers}, ${config.dModel}, 4, ${config.contextLength}`,
    ],
    ["parameters", countGPTParameters(config)],
    ["steps × batch", `${settings.steps} × ${settings.batchSize}`],
  ], { header: ["corpus and model", ""], digits: 0 }),
  md(
    `Chapter 06 does not train on everything either: of the ${poems.train.length} training poems ` +
      `it keeps the ${kept06.train.length} written with its ${chapter06} most frequent ` +
      `characters; our cut to ${characters} keeps ${train.length}.`,
  ),
);

const monitor = await trainingMonitor(settings.steps, {
  title: "training the Tang-poem GPT",
  evalName: "validation loss",
});
const { losses, evals } = await fit({
  variables: gptParameters(params),
  steps: settings.steps,
  optimizer: createAdamW({
    learningRate: warmupCosine({
      peak: settings.peak,
      warmupSteps: Math.round(settings.steps / 10),
      totalSteps: settings.steps,
      floor: settings.peak / 10,
    }),
    weightDecay: 0.01,
  }),
  clipNorm: 1,
  loss: (step) => languageModelingLoss(params, config, batches(step)),
  evaluate: {
    every: quick ? settings.steps : 100,
    fn: () => tf.tidy(() => languageModelingLoss(params, config, heldOut).dataSync()[0]),
  },
  onStep: (s) => monitor.update(s),
});
await monitor.finish({ "validation loss": evals[evals.length - 1].value });
tf.dispose([heldOut.inputs, heldOut.targets]);

// %% [markdown]
// The loss is −log P of the correct next character, averaged: e^L is the number of characters
// the model hesitates between. Before training it is ln V; a model that only knew how often
// each character occurs (a unigram model) would sit near the entropy of the character
// frequencies. Below that, the model has learned something about order — where the ， and 。
// go, which characters follow which.

// %%
const unigram = (() => {
  const freq = new Map<number, number>();
  for (const id of trainIds) freq.set(id, (freq.get(id) ?? 0) + 1);
  let h = 0;
  for (const n of freq.values()) h -= (n / trainIds.length) * Math.log(n / trainIds.length);
  return h;
})();
const finalLoss = evals[evals.length - 1].value;
await show(
  tex`\ln V = ${
    Math.log(vocab.size)
  },\quad H_{\text{unigram}} = ${unigram},\quad L_{\text{validation}} = ${finalLoss}\ \ (e^{L} = ${
    Math.exp(finalLoss)
  }),\quad L_{\text{last batch}} = ${losses[losses.length - 1]}`,
);

// %% [markdown]
// ## One prompt, one distribution
//
// The article's running example is “在一个寒冷的冬日，” — a modern sentence, and 个 and 的
// are rare in Tang poetry (outside the 1,500 characters kept). We give our poet a classical
// line of the same winter instead, ending with ， so that the next character starts a new
// line and many characters are plausible. The model's output for it is one logit per
// character; softmax makes it the distribution p = softmax(z). The chart shows the 20 most
// probable characters; the other characters share the rest of the mass.

// %%
const prompt = "北风吹白雪，";
const promptIds = vocab.encode([...prompt]);
/** Characters of `ids`, with ↵ for the line break that ends each poem in the stream. */
const chars = (ids: number[]) => vocab.decode(ids).map((c) => (c === "\n" ? "↵" : c));
const lm = gptLanguageModel({ params, config });
const z = lm.nextLogits(promptIds);
const p = softmaxWithTemperature(z, 1);
const order = p.map((_, i) => i).sort((a, b) => p[b] - p[a]);
const shown = order.slice(0, 20);
const label = (id: number) => chars([id])[0];
/** The same inside a formula (TeX has no ↵). */
const texLabel = (id: number) =>
  label(id) === "↵" ? String.raw`\hookleftarrow` : String.raw`\text{${label(id)}}`;
const labels = shown.map(label);
const mass = (q: number[]) => shown.reduce((s, i) => s + q[i], 0);
await show(
  barChart(labels, shown.map((i) => p[i]), {
    title: `P(next character ∣ “${prompt}”): the 20 most probable (${
      (100 * mass(p)).toFixed(1)
    }% of the mass)`,
    xTitle: "next character",
    yTitle: "probability",
    highlight: [0],
  }),
  tex`p_i = \mathrm{softmax}(z)_i = \frac{e^{z_i}}{\sum_j e^{z_j}},\qquad \max_i p_i = p(${
    texLabel(shown[0])
  }) = ${p[shown[0]]}`,
);

// %% [markdown]
// ## Temperature
//
// Dividing the logits by T before softmax, p(T) = softmax(z / T), keeps their order and changes
// their spread (the formula below, with this prompt's numbers for its most probable character).
// T < 1 stretches the gaps, so the likely characters become likelier; T > 1 squeezes them,
// so the unlikely ones gain; T → 0 puts all the mass on the largest logit — greedy decoding is
// sampling at temperature 0. The code subtracts max z before exponentiating (it changes
// nothing, since the factor cancels), so that a low temperature such as 0.05, which multiplies
// the logits by 20, cannot overflow.

// %%
const temperatures = [0.5, 1, 1.5];
const byT = temperatures.map((T) => softmaxWithTemperature(z, T));
const entropy = (q: number[]) => -q.reduce((s, x) => (x > 0 ? s + x * Math.log(x) : s), 0);
const top = shown[0];
await show(
  tex`p_i(T) = \mathrm{softmax}(z/T)_i = \frac{e^{z_i/T}}{\sum_j e^{z_j/T}}:\quad z_{${
    texLabel(top)
  }} = ${z[top]},\quad p_{${texLabel(top)}}(${temperatures[0]}) = ${byT[0][top]},\ p_{${
    texLabel(top)
  }}(${temperatures[1]}) = ${byT[1][top]},\ p_{${texLabel(top)}}(${temperatures[2]}) = ${
    byT[2][top]
  }`,
  barChart(
    labels,
    byT.map((q, k) => ({ name: `T = ${temperatures[k]}`, values: shown.map((i) => q[i]) })),
    { title: "the same logits at three temperatures", xTitle: "next character", yTitle: "p" },
  ),
  table(
    [0.05, ...temperatures, 3].map((T) => {
      const q = softmaxWithTemperature(z, T);
      return [T, q[shown[0]], mass(q), entropy(q), Math.exp(entropy(q))];
    }),
    {
      header: ["T", `p(${labels[0]})`, "mass of the top 20", "entropy H (nats)", "e^H"],
      digits: 3,
    },
  ),
  md(
    `e^H, the exponential of the entropy, reads as “how many characters the draw is really ` +
      `choosing among”: ${
        byT.map((q, i) => `${Math.exp(entropy(q)).toFixed(0)} at T = ${temperatures[i]}`)
          .join(", ")
      }.`,
  ),
);

// %% [markdown]
// ## Top-k and top-p
//
// Even at T = 1 every character keeps a sliver of probability, and together the slivers can be
// a large share of the mass (the first chart's title gives the share of the top 20 here): a
// draw can land in the long tail, and a poem draws many times. **Top-k** keeps only
// the k most probable characters and renormalises (the formula is under the chart, with this
// prompt's numbers).
//
// A fixed k is too many when the model is sure and too few when it is not. **Top-p** (nucleus
// sampling, Holtzman et al. 2020) adapts: sort by probability and keep the smallest prefix
// whose mass reaches p.

// %%
const k = 5;
const afterK = topK(p, k);
const nucleusP = 0.9;
const nucleus = topP(p, nucleusP);
const m = nucleus.kept.length;
let running = 0;
const cumulative = order.map((i) => (running += p[i]));
const rank = cumulative.map((_, r) => r + 1);
await show(
  barChart(
    labels,
    [
      { name: "p (T = 1)", values: shown.map((i) => p[i]) },
      { name: `top-k, k = ${k}`, values: shown.map((i) => afterK[i]) },
    ],
    { title: `top-k keeps the ${k} most probable and renormalises`, yTitle: "probability" },
  ),
  tex`p'_i = \frac{p_i}{\sum_{j \in \text{top-}k} p_j} \text{ for the } k \text{ most probable } i,\ 0 \text{ for the rest};\quad k = ${k}:\ \sum_{j \in \text{top-}k} p_j = ${
    order.slice(0, k).reduce((sum, i) => sum + p[i], 0)
  },\ p'_{${texLabel(top)}} = ${afterK[top]}`,
  lineChart([
    { name: "mass of the r most probable characters", x: rank, y: cumulative },
    { name: `p = ${nucleusP}`, x: [1, vocab.size], y: [nucleusP, nucleusP] },
    { name: `nucleus boundary: r = ${m}`, x: [m, m], y: [0, 1] },
  ], {
    title: `top-p after “${prompt}”: the nucleus is the ${m} most probable characters`,
    xTitle: "rank r (characters sorted by probability)",
    yTitle: "cumulative probability",
  }),
  tex`V^{(p)} = \{${
    nucleus.kept.slice(0, 8).map(texLabel).join(",")
  },\ldots\},\quad |V^{(p)}| = ${m},\quad \sum_{i \in V^{(p)}} p_i = ${nucleus.mass} \ge ${nucleusP},\quad \text{cutoff } p_{\min} = ${nucleus.cutoffProbability}`,
);

// %% [markdown]
// After “，” a new line begins, and many characters can start it. One character earlier, after
// “北风吹白雪” (the prompt without its comma), a line of five characters is complete, and a
// model that has learned the form expects ， or 。 there: its nucleus should be small. The chart
// shows that second distribution, its nucleus highlighted; the table and the sentence under it
// compare the two nuclei.

// %%
const sharpIds = promptIds.slice(0, -1);
const pSharp = softmaxWithTemperature(lm.nextLogits(sharpIds), 1);
const sharpOrder = pSharp.map((_, i) => i).sort((a, b) => pSharp[b] - pSharp[a]).slice(0, 12);
const sharpNucleus = topP(pSharp, nucleusP);
const combined = nextTokenDistribution(z, { temperature: 0.8, topK: 20, topP: 0.9 });
await show(
  barChart(sharpOrder.map(label), sharpOrder.map((i) => pSharp[i]), {
    title: `P(next ∣ “${chars(sharpIds).join("")}”): the nucleus p = ${nucleusP} (highlighted) ` +
      `holds ${sharpNucleus.kept.length}; cutoff ${sharpNucleus.cutoffProbability.toFixed(4)}`,
    xTitle: "next character",
    yTitle: "probability (before renormalising)",
    highlight: sharpOrder.map((id, j) => (sharpNucleus.kept.includes(id) ? j : -1))
      .filter((j) => j >= 0),
  }),
  table(
    [[prompt, p, nucleus], [chars(sharpIds).join(""), pSharp, sharpNucleus]].map(
      ([text, q, r]) => {
        const dist = q as number[], nuc = r as typeof nucleus;
        const top5 = [...dist].sort((a, b) => b - a).slice(0, k).reduce((x, y) => x + y, 0);
        return [`“${text}”`, top5, String(nuc.kept.length), nuc.cutoffProbability];
      },
    ),
    {
      header: ["after", `mass of the top ${k}`, `nucleus size, p = ${nucleusP}`, "cutoff p"],
      digits: 4,
    },
  ),
  tex`\text{all three after “${prompt}”: } T = 0.8,\ k = 20,\ p = 0.9 \;\Rightarrow\; ${
    combined.filter((x) => x > 0).length
  } \text{ characters left, } p'(${texLabel(shown[0])}) = ${combined[shown[0]]}`,
);
const mSharp = sharpNucleus.kept.length;
const sharpText = chars(sharpIds).join("");
await show(md(
  `The nucleus p = ${nucleusP} holds ${m} characters after “${prompt}” and ${mSharp} after ` +
    `“${sharpText}”. ` +
    (mSharp <= k
      ? `Where the model is sure, the same p keeps only ${mSharp} — fewer than k = ${k}, so a ` +
        `fixed k = ${k} would also keep ${k - mSharp} character${
          k - mSharp === 1 ? "" : "s"
        } outside the nucleus.`
      : mSharp < m
      ? `It shrinks where the line is complete, but ${mSharp} characters is not a few: this ` +
        `model${
          quick ? ` (quick mode: ${settings.steps} steps)` : ""
        } is not yet sure that a five-character line ends there.`
      : `It does not shrink where the line is complete: this model${
        quick ? ` (quick mode: ${settings.steps} steps)` : ""
      } has not learned that a five-character line ends there.`) +
    (m > k
      ? ` After “${prompt}”, top-k with k = ${k} would keep ${k} of the ${m} characters of the ` +
        `nucleus.`
      : ""),
));

// %% [markdown]
// Dropping the nucleus's last character would bring its mass below p: that is what “smallest”
// means, and the tests check it for random distributions. The library applies the three in
// Hugging Face's order: temperature, then top-k, then top-p (`nextTokenDistribution`).
//
// ## Decoding step by step
//
// Generation repeats: run the model on the text so far, form the distribution, choose, append.
// Each row below is one step at T = 0.8 with top-p 0.9 and seed 1: the model's five most
// probable characters (under its own distribution, T = 1) and the one drawn. The chosen
// character is not always the first candidate — that is the point of sampling.

// %%
const stepwise = generateTokens(lm, promptIds, {
  temperature: 0.8,
  topP: 0.9,
  seed: 1,
  maxNewTokens: 12,
});
await show(table(
  stepwise.steps.map((s, t) => [
    String(t + 1),
    prompt + chars(stepwise.ids.slice(0, t)).join(""),
    s.candidates.map((c) => `${label(c.id)} ${c.prob.toFixed(3)}`).join(" · "),
    label(s.chosen),
    s.chosenProb,
  ]),
  {
    header: ["step", "text so far", "top 5 candidates (p)", "chosen", "its p"],
    digits: 3,
  },
));

// %% [markdown]
// ## Erratum: greedy is only one choice — and it repeats itself
//
// “选取概率最高的词” is greedy decoding. It is deterministic — one prompt, one text — and it
// maximises each step's probability, not the text's. A small model's most probable next
// character after a few common characters is often a character it has just written, and
// once greedy has written a phrase twice, the most probable continuation is that phrase
// again: it falls into a loop. Sampling escapes the loop, at the price of occasionally
// drawing an odd character; temperature and top-p control that price. Every row below is
// seeded, so the table is the same on every run.

// %%
const newTokens = config.contextLength - promptIds.length;
const settingsToCompare: { name: string; temperature: number; topK?: number; topP?: number }[] = [
  { name: "greedy (T = 0)", temperature: 0 },
  { name: "T = 0.7", temperature: 0.7 },
  { name: "T = 1", temperature: 1 },
  { name: "T = 1.5", temperature: 1.5 },
  { name: "T = 1, top-k 10", temperature: 1, topK: 10 },
  { name: "T = 1, top-p 0.9", temperature: 1, topP: 0.9 },
];
/** Distinct characters ÷ characters: 1 = no repeats, small = a loop. */
const distinct = (text: string[]) => new Set(text).size / text.length;
const rows: (string | number)[][] = [];
const texts = new Map<string, string>();
for (const s of settingsToCompare) {
  for (const seed of s.temperature === 0 ? [0] : [1, 2, 3]) {
    const text = chars(generateTokens(lm, promptIds, { ...s, seed, maxNewTokens: newTokens }).ids);
    texts.set(`${s.name}, seed ${seed}`, text.join(""));
    rows.push([s.name, s.temperature === 0 ? "–" : String(seed), text.join(""), distinct(text)]);
  }
}
const again = generateTokens(lm, promptIds, { temperature: 1, seed: 2, maxNewTokens: newTokens });
const same = chars(again.ids).join("") === texts.get("T = 1, seed 2");
await show(
  table(rows, {
    header: ["setting", "seed", `“${prompt}” + ${newTokens} characters`, "distinct ÷ length"],
    digits: 2,
  }),
  md(
    `Re-running “T = 1, seed 2” gives the same text: **${same ? "yes" : "no"}**. (↵ is the ` +
      `line break that ends each poem in the training stream: the model has learned that poems ` +
      `end, and goes on with the next one.)`,
  ),
);

// %% [markdown]
// ## Beam search
//
// Greedy picks the best *next* character; the best *text* may start with a worse one. Beam
// search keeps the B most probable partial texts (the beam): at each step it extends every one
// of them by every character, scores each extension by its total log-probability
// log P(y) = Σₜ log p(yₜ ∣ prompt, y₍<t₎), and keeps the best B. With B = 1 it is greedy. A
// wider beam looks at more texts, but it need not end with a text as probable as greedy's:
// greedy's own prefix can fall out of the beam, beaten for a step by prefixes that lead nowhere
// good, and nothing brings it back — beam search is not monotone in B (a model built to show it
// follows the table). A more probable text is not a better poem either: the most probable texts
// tend to be dull and repetitive (Holtzman et al. 2020, Figure 1: a beam of 32 repeats itself).
// Beam search is the usual choice where one answer is right, as in translation (Vaswani et al.
// 2017, §6.1, use a beam of 4), not in open-ended writing.

// %%
const beamTokens = 16;
/** log P of a generated text: Σₜ log p(chosen) under the model's own distribution. */
const logP = (out: { steps: { chosenProb: number }[] }) =>
  out.steps.reduce((sum, s) => sum + Math.log(s.chosenProb), 0);
const greedyOut = generateTokens(lm, promptIds, { temperature: 0, maxNewTokens: beamTokens });
const sampled = generateTokens(lm, promptIds, {
  temperature: 1,
  topP: 0.9,
  seed: 1,
  maxNewTokens: beamTokens,
});
const beamRows: (string | number)[][] = [[
  "greedy",
  chars(greedyOut.ids).join(""),
  logP(greedyOut),
]];
const bestByWidth = new Map<number, Beam>();
for (const beamWidth of [2, 4]) {
  const { sequences } = beamSearch(lm, promptIds, { beamWidth, maxNewTokens: beamTokens });
  bestByWidth.set(beamWidth, sequences[0]);
  sequences.slice(0, 2).forEach((b, r) =>
    beamRows.push([`beam search, B = ${beamWidth}, #${r + 1}`, chars(b.ids).join(""), b.logProb])
  );
}
beamRows.push(["sampled: T = 1, top-p 0.9, seed 1", chars(sampled.ids).join(""), logP(sampled)]);
const greedyLogP = logP(greedyOut);
/** How beam search's best text compares with greedy's (log P within 10⁻³ counts as equal). */
const versusGreedy = (best: Beam) =>
  best.ids.join() === greedyOut.ids.join()
    ? "greedy's own text"
    : best.logProb > greedyLogP + 1e-3
    ? "a text more probable than greedy's"
    : best.logProb < greedyLogP - 1e-3
    ? "a text less probable than greedy's"
    : "a different text, as probable as greedy's";
await show(
  table(beamRows, {
    header: ["method", `${beamTokens} characters after “${prompt}”`, "log P"],
    digits: 2,
  }),
  tex`\log P(y) = \sum_t \log p(y_t \mid \text{prompt}, y_{<t}):\quad \log P(\text{greedy}) = ${greedyLogP}`,
  md(
    `In this run: ${
      [...bestByWidth].map(([B, best]) =>
        `B = ${B} ends with ${versusGreedy(best)} (log P ${best.logProb.toFixed(2)} against ` +
        `${greedyLogP.toFixed(2)})`
      ).join("; ")
    }.${
      [...bestByWidth].slice(1).map(([B, best], i) => {
        const [narrowB, narrow] = [...bestByWidth][i];
        return best.logProb < narrow.logProb - 1e-3
          ? ` B = ${B} ends below B = ${narrowB} (${best.logProb.toFixed(2)} against ` +
            `${narrow.logProb.toFixed(2)}): the wider beam lost the narrower one's text, the ` +
            `failure built by hand below.`
          : "";
      }).join("")
    }`,
  ),
);

// %% [markdown]
// ### A wider beam can lose greedy's text
//
// Whatever happened above, a wider beam is not guaranteed to do at least as well as greedy. A
// language model built by hand over three tokens a, b, c shows it: its next-token
// probabilities are a table (every text the table does not list gets the uniform 1/3), and
// `beamSearch` and `generateTokens` run on it as on the GPT. After the prompt “c”, a is the most
// probable first token; after “ca” the model is unsure, but after “caa” it is sure. b is a close
// second; after “cb” the model splits between a and b, and after those it is unsure. The tables
// show the model, what each method finds, and (in the sentence) why.

// %%
const abc = ["a", "b", "c"];
/** P(next token ∣ text), for the texts that matter; the uniform distribution elsewhere. */
const handMade: Record<string, number[]> = {
  c: [0.4, 0.38, 0.22],
  ca: [0.34, 0.33, 0.33],
  caa: [0.98, 0.01, 0.01],
  cb: [0.51, 0.47, 0.02],
};
const uniform = abc.map(() => 1 / abc.length);
const handMadeModel: LanguageModel = {
  vocabSize: abc.length,
  contextLength: 8,
  nextLogits: (ids) => (handMade[ids.map((i) => abc[i]).join("")] ?? uniform).map(Math.log),
};
const abcText = (ids: number[]) => ids.map((i) => abc[i]).join("");
const handPrompt = [abc.indexOf("c")];
const handGreedy = generateTokens(handMadeModel, handPrompt, { temperature: 0, maxNewTokens: 3 });
const handBeams = [1, 2, 3].map((beamWidth) => ({
  beamWidth,
  best: beamSearch(handMadeModel, handPrompt, { beamWidth, maxNewTokens: 3 }).sequences[0],
}));
const afterTwo = beamSearch(handMadeModel, handPrompt, { beamWidth: 2, maxNewTokens: 2 })
  .sequences;
const handGreedyLogP = logP(handGreedy);
const greedyPrefix = handGreedy.ids.slice(0, 2);
const prefixP = Math.exp(
  handGreedy.steps.slice(0, 2).reduce((sum, s) => sum + Math.log(s.chosenProb), 0),
);
const twoWide = handBeams[1].best;
const prefixKept = afterTwo.some((b) => b.ids.join() === greedyPrefix.join());
await show(
  table(
    Object.entries(handMade).map(([text, q]) => [`“${text}”`, ...q]),
    { header: ["text so far", ...abc.map((t) => `p(${t})`)], digits: 2 },
  ),
  table([
    ["greedy", `c|${abcText(handGreedy.ids)}`, Math.exp(handGreedyLogP), handGreedyLogP],
    ...handBeams.map(({ beamWidth, best }) => [
      `beam search, B = ${beamWidth}`,
      `c|${abcText(best.ids)}`,
      Math.exp(best.logProb),
      best.logProb,
    ]),
  ], { header: ["hand-made model", "text", "P", "log P"], digits: 4 }),
  md(
    twoWide.logProb < handGreedyLogP - 1e-9
      ? `With B = 2 the best text is “c|${abcText(twoWide.ids)}”, P = ${
        Math.exp(twoWide.logProb).toFixed(4)
      }: less probable than greedy's “c|${abcText(handGreedy.ids)}”, P = ${
        Math.exp(handGreedyLogP).toFixed(4)
      }. ` +
        (prefixKept
          ? `Greedy's prefix was still in the beam after two steps, yet lost later.`
          : `After two steps the beam held ${
            afterTwo.map((b) => `“c|${abcText(b.ids)}” (P = ${Math.exp(b.logProb).toFixed(4)})`)
              .join(" and ")
          }; greedy's prefix “c|${abcText(greedyPrefix)}” (P = ${
            prefixP.toFixed(4)
          }) was less probable than both and fell out of the beam, and what was left led to ` +
            `texts the model is unsure of.`)
      : twoWide.logProb > handGreedyLogP + 1e-9
      ? `With B = 2 the best text, “c|${abcText(twoWide.ids)}”, is more probable than ` +
        `greedy's: this table does not show the failure.`
      : `With B = 2 the best text is as probable as greedy's: this table does not show the ` +
        `failure.`,
  ),
);

// %% [markdown]
// ## The KV cache: why generation does not re-read the prompt
//
// Generating one token means running the model on the whole text so far — but the keys and
// values of the earlier positions do not change when a token is appended (the causal mask
// stops them from seeing it). A **KV cache** stores every block's K and V; each step then
// computes Q, K, V for the new token only and attends over the cached ones: the work per token
// no longer grows with the whole forward pass over the text. `gptLanguageModel` does this by
// default (`useCache: false` re-runs the context). Both produce the same logits up to float
// rounding (the tests require < 10⁻⁴), hence the same choices for the same seed. The timing
// below is measured now, on this machine; it is noisy when other programs are running.

// %%
/** Wraps a language model so that every call's duration is recorded. */
const timed = (inner: LanguageModel) => {
  const ms: number[] = [];
  const model: LanguageModel = {
    vocabSize: inner.vocabSize,
    contextLength: inner.contextLength,
    nextLogits(ids) {
      const start = performance.now();
      const out = inner.nextLogits(ids);
      ms.push(performance.now() - start);
      return out;
    },
  };
  return { model, ms };
};
const measure = (useCache: boolean) => {
  const inner = gptLanguageModel({ params, config }, { useCache });
  generateTokens(inner, promptIds, { seed: 5, maxNewTokens: 4 }); // warm-up: compile the kernels
  const t = timed(inner);
  const start = performance.now();
  const out = generateTokens(t.model, promptIds, { seed: 5, maxNewTokens: newTokens });
  const seconds = (performance.now() - start) / 1000;
  inner.dispose();
  return { ids: out.ids, ms: t.ms, tokensPerSecond: newTokens / seconds };
};
const cached = measure(true);
const reforward = measure(false);
const positions = cached.ms.map((_, t) => promptIds.length + t);
await show(
  table([
    ["KV cache", cached.tokensPerSecond, 1000 / cached.tokensPerSecond],
    ["re-run the context", reforward.tokensPerSecond, 1000 / reforward.tokensPerSecond],
  ], {
    header: ["generation", "tokens/s", "ms per token"],
    digits: 1,
    title: `${newTokens} tokens after a ${promptIds.length}-token prompt; speed-up ×${
      (cached.tokensPerSecond / reforward.tokensPerSecond).toFixed(2)
    }; same tokens: ${cached.ids.join() === reforward.ids.join() ? "yes" : "no"}`,
  }),
  lineChart([
    { name: "KV cache", x: positions, y: cached.ms },
    { name: "re-run the context", x: positions, y: reforward.ms },
  ], { title: "time per generated token", xTitle: "tokens read so far", yTitle: "ms" }),
);
lm.dispose();
const speedUp = cached.tokensPerSecond / reforward.tokensPerSecond;
await show(md(
  speedUp > 1.1
    ? `Here the cache generated ${speedUp.toFixed(1)}× as many tokens per second as re-running ` +
      `the context.`
    : `Here the cache was **${speedUp < 0.9 ? "slower" : "no faster"}** (×${
      speedUp.toFixed(2)
    }): at a context of a few dozen characters, one batched pass over the whole text costs ` +
      `about as much as one cached step; the chart shows each step's time.`,
));

// %% [markdown]
// The work of a re-run grows with the length of the text, the cache's stays nearly flat (its
// attention still reads all cached keys, but that is a small part of the work). At our
// context of a few dozen characters the difference is small, and fixed costs per call can
// hide it (the line above says which way it went); at GPT-2's 1,024 tokens or today's
// 100,000s it is the difference between usable and not. The price is memory: 2 × layers ×
// length × d_model numbers per sequence.
//
// ## Things to try
//
// 1. Set the temperature to 0.05 and to 3 in the decoding table above. At 0.05 the text is
//    greedy's; at 3 it is nearly uniform noise over the 1,500 characters.
// 2. Change the seed of the T = 1 rows: each seed is a different poem, and each poem comes
//    back whenever its seed does.
// 3. Combine top-k with a high temperature (`{ temperature: 2, topK: 5 }`): top-k tames the
//    tail that temperature raises.
// 4. Beam search with `beamWidth: 8` and `lengthPenalty: 1` with `stopIds: [vocab.idOf("。")]`:
//    how long are the most probable sentences?
// 5. Train longer (more `steps` in `settings`) and watch greedy's loops shorten — but not
//    vanish.
