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
// characters. Chapter 06 trains on everything and explains the model; here it is a tool.
//
// The model: 2 pre-LN blocks, d_model 64, 4 heads, a 32-character context, trained with
// AdamW on random windows of the poem stream (`QUICK=1` trains it for fewer steps).

// %%
const quick = isQuick();
const settings = quick
  ? { layers: 2, dModel: 64, contextLength: 32, batchSize: 16, steps: 60, peak: 1e-2 }
  : { layers: 2, dModel: 64, contextLength: 32, batchSize: 16, steps: 450, peak: 1e-2 };
const poems = await loadTangPoems({ maxPoems: 20_000 });
const counts = new Map<string, number>();
for (const poem of poems.train) for (const c of poem) counts.set(c, (counts.get(c) ?? 0) + 1);
const common = new Set(
  [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 1500).map(([c]) => c),
);
const writtenWithCommon = (poem: string) => [...poem].every((c) => common.has(c));
const train = poems.train.filter(writtenWithCommon);
const validation = poems.validation.filter(writtenWithCommon);
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
await show(table([
  ["poems (train / validation)", `${train.length} / ${validation.length}`],
  ["characters in the training stream", trainIds.length],
  ["vocabulary V", vocab.size],
  [
    "blocks, d_model, heads, context",
    `${config.layers}, ${config.dModel}, 4, ${config.contextLength}`,
  ],
  ["parameters", countGPTParameters(config)],
  ["steps × batch", `${settings.steps} × ${settings.batchSize}`],
], { header: ["", ""], digits: 0 }));

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
// Dividing the logits by T before softmax keeps their order and changes their spread:
//
// p_i(T) = e^{z_i/T} / Σⱼ e^{z_j/T}
//
// T < 1 stretches the gaps, so the likely characters become likelier; T > 1 squeezes them,
// so the unlikely ones gain; T → 0 puts all the mass on the largest logit — greedy decoding is
// sampling at temperature 0. The code subtracts max z before exponentiating (it changes
// nothing, since the factor cancels), so that a low temperature such as 0.05, which multiplies
// the logits by 20, cannot overflow.

// %%
const temperatures = [0.5, 1, 1.5];
const byT = temperatures.map((T) => softmaxWithTemperature(z, T));
const entropy = (q: number[]) => -q.reduce((s, x) => (x > 0 ? s + x * Math.log(x) : s), 0);
await show(
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
);

// %% [markdown]
// e^H, the exponential of the entropy, reads as “how many characters the draw is really
// choosing among”: a handful at T = 0.5, many more at T = 1.5.
//
// ## Top-k and top-p
//
// Even at T = 1 thousands of characters keep a sliver of probability each, and together the
// slivers are a large share of the mass: one draw in several picks something from the long
// tail, and a poem that draws 20 characters will hit the tail a few times. **Top-k** keeps only
// the k most probable characters and renormalises:
//
// p′ᵢ = pᵢ / Σ_{j ∈ top k} pⱼ for the k most probable i, 0 for the rest.
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
// After “，” a new line begins and the model is unsure: the nucleus is large, and top-k with
// k = 5 would throw away most of the plausible characters. One character earlier, after
// “北风吹白雪” (the prompt without its comma), a line of five characters is complete, and a
// model that has learned the form expects ， or 。 there. Where the model is sure, the same p
// keeps only a few characters — the highlighted bars — while a fixed k = 5 would keep junk.

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
// wider beam can only find texts at least as probable as greedy's, and often finds more
// probable ones — which for a poem is not the same as better: the most probable texts tend to
// be the dullest and most repetitive. Beam search shines where one answer is right
// (translation, chapter 05), not in open-ended writing.

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
for (const beamWidth of [2, 4]) {
  const { sequences } = beamSearch(lm, promptIds, { beamWidth, maxNewTokens: beamTokens });
  sequences.slice(0, 2).forEach((b, r) =>
    beamRows.push([`beam search, B = ${beamWidth}, #${r + 1}`, chars(b.ids).join(""), b.logProb])
  );
}
beamRows.push(["sampled: T = 1, top-p 0.9, seed 1", chars(sampled.ids).join(""), logP(sampled)]);
await show(table(beamRows, {
  header: ["method", `${beamTokens} characters after “${prompt}”`, "log P"],
  digits: 2,
}));

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
