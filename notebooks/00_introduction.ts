// Chapter 00 — 一、介绍 · 二、大语言模型的发展脉络
// Source of notebooks/00_introduction.ipynb (regenerate with `deno task notebooks`).
// Run in a terminal: `deno task chapter 00` (QUICK=1 for a shorter training run).

// %% [markdown]
// # 00 导读 — 一、介绍 · 二、大语言模型的发展脉络
//
// This course runs GPT instead of describing it. Every chapter follows one section of the
// article *“ChatGPT 原理详解”*: a few sentences of explanation, the formula, the code that
// computes it on real tensors, a picture of the result, and a check of what the article
// claims.
//
// The one idea to take from this first chapter: **GPT is an autoregressive model.** It reads
// the text so far and predicts a probability for every possible next token; one token is
// chosen, appended, and the loop starts again. Everything else in the course — attention,
// pre-training, fine-tuning, prompting, RLHF — is about making that one prediction better.

// %%
import {
  barChart,
  bigramProbabilities,
  CharTokenizer,
  countGPTParameters,
  countNeuralNgramParameters,
  createAdamW,
  disposeGPT,
  fit,
  fitBigram,
  generate,
  GPT1_CONFIG,
  GPT2_XL_CONFIG,
  GPT3_175B_CONFIG,
  gptConfig,
  gptLogProbNext,
  gptParameters,
  heatmap,
  initGPT,
  initNeuralNgram,
  isQuick,
  type L1Term,
  l1Terms,
  languageModelingLoss,
  lineChart,
  live,
  lmBatches,
  loadDataText,
  makeRng,
  md,
  neuralNgramLoss,
  neuralNgramProbabilities,
  progress,
  setup,
  show,
  table,
  tex,
  trainingMonitor,
  trainNeuralNgram,
  warmupCosine,
} from "../mod.ts";

await setup({ title: "00 导读" });
const quick = isQuick(); // QUICK=1 shortens the training run below

// %% [markdown]
// ## 自回归: predicting the next token
//
// A language model gives a probability to a whole sequence u₁ … uₙ by the chain rule of
// probability: the probability of the first token, times the probability of the second given
// the first, and so on. Nothing is lost by writing it this way — it is an identity — and it
// turns “write a text” into “predict the next token”, repeated.

// %%
await show(tex`P(u_1, \ldots, u_n) = \prod_{i=1}^{n} P(u_i \mid u_1, \ldots, u_{i-1})`);

// %% [markdown]
// ## The errata of this section, computed
//
// The article opens with GPT-3 “拥有超过1.75亿参数和每秒运行成本达到100万美元”. Both numbers
// are off, and the next cell computes by how much:
//
// - GPT-3 — the 175B model of the paper (Brown et al., 2020, Table 2.1: 96 layers, d_model
//   12,288, 96 heads; OpenAI's model index for researchers lists it as “davinci” in the API)
//   — has **175 billion** parameters (1750亿), not 1.75亿 (175 million). We count them from
//   that configuration with the same function that counts our own models' parameters,
//   `countGPTParameters`.
// - “1 million US dollars per second” has no source: neither the GPT-3 paper nor OpenAI
//   published a running cost. What the paper gives is the training compute (Table D.1), from
//   which a cost can be estimated and set against the article's rate.
// - “预训练的规模超过了Bert的500倍”: compare 175 B with BERT-large's 340 M parameters.
//
// One more slip, in the article's numbering: its sections on GPT-3 and GPT-4 are numbered
// 3.3.3 and 3.3.4, but they belong to 3.2 GPT系列模型 (after 3.2.1 GPT-1 and 3.2.2 GPT-2; 3.3
// is ChatGPT's training). This course keeps the article's titles, numbers included, so that
// its chapters can be found in the article.

// %%
// GPT-2 1.5B and GPT-3 175B as lib/gpt.ts defines them from the papers (Radford et al. 2019,
// Table 2; Brown et al. 2020, Table 2.1 and §2.1).
const params = {
  "GPT-1 (2018)": countGPTParameters(GPT1_CONFIG),
  "BERT-large (2018)": 340e6, // Devlin et al., 2019, §3: 24 layers, width 1,024, 340M
  "GPT-2 (2019)": countGPTParameters(GPT2_XL_CONFIG),
  "GPT-3 (2020)": countGPTParameters(GPT3_175B_CONFIG),
};
const gpt3 = params["GPT-3 (2020)"];
const paper = 175e9; // Table 2.1's n_params, 175.0B
const article = 1.75e8; // 1.75亿 as written in the article
// Training compute ≈ 6·N·D FLOP: 2N per token forward and 4N backward (Kaplan et al., 2020,
// §2.1), over D = 300 billion tokens (Brown et al., 2020, §2.2 and Table 2.2).
const tokens = 300e9;
const trainingFlop = 6 * gpt3 * tokens;
const paperFlop = 3.14e23; // Brown et al., 2020, Table D.1
// Lambda Labs' estimate (C. Li, “OpenAI's GPT-3 Language Model: A Technical Overview”, 2020,
// lambdalabs.com/blog/demystifying-gpt-3): a V100 sustains 28 TFLOP/s, rented at $1.50 an
// hour (their cheapest cloud V100), so one training run takes 355 GPU-years and costs $4.6M.
const v100 = 28e12;
const dollarsPerGPUHour = 1.5;
const gpuHours = trainingFlop / v100 / 3600;
const trainingCost = gpuHours * dollarsPerGPUHour;
const articleRate = 1e6; // 每秒运行成本达到100万美元: dollars per second
const secondsOfArticleRate = trainingCost / articleRate;
const gpusAtArticleRate = articleRate * 3600 / dollarsPerGPUHour;
await show(
  table([
    ["GPT-3 175B parameters, countGPTParameters", gpt3.toExponential(4), "96 × 12,288, 96 heads"],
    ["GPT-3 175B parameters, the paper", paper.toExponential(2), "1750亿 (Table 2.1)"],
    ["the article's figure", article.toExponential(2), "1.75亿"],
    ["ratio paper / article", (paper / article).toFixed(0), "×"],
    ["GPT-3 / BERT-large", (paper / params["BERT-large (2018)"]).toFixed(1), "the article: 500×"],
    ["training compute 6·N·D", trainingFlop.toExponential(3), "FLOP, D = 300B tokens"],
    ["training compute, the paper", paperFlop.toExponential(3), "FLOP (Table D.1)"],
    ["…on one V100 at 28 TFLOP/s", (gpuHours / (365.25 * 24)).toFixed(0), "GPU-years"],
    ["…at $1.50 per V100-hour", (trainingCost / 1e6).toFixed(2), "million US$"],
    ["the article's $1M/s spends that in", secondsOfArticleRate.toFixed(1), "seconds"],
    ["$1M/s rents, at $1.50 an hour", gpusAtArticleRate.toExponential(2), "V100s at once"],
  ], { header: ["quantity", "value", "note"], title: "Checking the article's numbers" }),
  barChart(
    Object.keys(params),
    Object.values(params).map((p) => Math.log10(p)),
    {
      title: "Parameters, log₁₀ scale (each step is 10×)",
      yTitle: "log₁₀(parameters)",
      highlight: [3],
    },
  ),
  md(
    `Counted from its configuration, GPT-3 175B has ${
      (gpt3 / 1e9).toFixed(1)
    } billion parameters, ${
      Math.abs(gpt3 / paper - 1) < 0.01 ? "the paper's 175B to within 1%" : "not the paper's 175B"
    }, and 6·N·D gives ${trainingFlop.toExponential(2)} FLOP of training, ${
      Math.abs(trainingFlop / paperFlop - 1) < 0.01
        ? "Table D.1's figure to within 1%"
        : `${(trainingFlop / paperFlop).toFixed(2)}× Table D.1's figure`
    }. The article's 1.75亿 is ${(paper / article).toFixed(0)} times too small, and GPT-3 has ${
      (paper / params["BERT-large (2018)"]).toFixed(0)
    } times BERT-large's parameters${
      Math.abs(paper / params["BERT-large (2018)"] / 500 - 1) < 0.1
        ? ": “500倍” is fair"
        : ", not “500倍”"
    }. Priced with Lambda Labs' assumptions, a whole training run of GPT-3 costs about $${
      (trainingCost / 1e6).toFixed(1)
    } million; at the article's 100万美元 per second that money would be gone in ${
      secondsOfArticleRate.toFixed(1)
    } seconds${
      secondsOfArticleRate < 3600
        ? ", and the rate would pay for " + gpusAtArticleRate.toExponential(1) +
          " V100 GPUs running at once. The article gives no source for the figure."
        : ": a running cost of that size would at least be in the same range as training."
    }`,
  ),
);

// %% [markdown]
// ## A corpus and its tokens
//
// To see next-token prediction at work we need text. `data/intro_zh.txt` holds 600 short
// sentences that this project generated from a small grammar (`data/make_intro_corpus.ts`),
// such as “他今天去学校学习编程。”. We split it by lines into a training part and a held-out
// part, and cut it into **characters**: each distinct character becomes one token id.
// (Chapter 01 looks at tokenisation properly.)

// %%
const text = await loadDataText("intro_zh.txt");
const lines = text.trim().split("\n");
const trainText = lines.slice(0, 500).join("\n");
const heldOutText = lines.slice(500).join("\n");
const tokenizer = CharTokenizer.fromText(text);
const trainIds = tokenizer.encode(trainText);
const heldOutIds = tokenizer.encode(heldOutText);
const V = tokenizer.vocabSize;
await show(
  `${lines.length} sentences, ${V} distinct tokens (characters plus special tokens); ` +
    `${trainIds.length} training tokens, ${heldOutIds.length} held out. First line: “${
      lines[0]
    }” → ids ${JSON.stringify(tokenizer.encode(lines[0]))}`,
);

// %% [markdown]
// ## Model 1: counting pairs (the bigram model)
//
// The simplest next-token predictor looks at one previous token only and counts. How often
// was “学” followed by “校”? By “习”? Divide by how often “学” occurred at all, and you have a
// probability. A small α is added to every count so that pairs never seen still get some
// probability (otherwise one unseen pair in new text would make its probability zero).

// %%
const bigram = fitBigram(trainIds, V, 0.1);
const xue = tokenizer.encode("学")[0];
const pXue = bigramProbabilities(bigram, xue);
const top = pXue.map((p, id) => ({ p, id })).sort((a, b) => b.p - a.p).slice(0, 6);
const cXue = bigram.counts[xue];
const cTotal = cXue.reduce((s, c) => s + c, 0);
const xiao = tokenizer.encode("校")[0];
await show(
  tex`P(\text{校} \mid \text{学}) = \frac{c(\text{学校}) + \alpha}{c(\text{学}) + \alpha V} = \frac{${
    cXue[xiao]
  } + 0.1}{${cTotal} + 0.1 \cdot ${V}} = ${pXue[xiao]}`,
  barChart(top.map((t) => tokenizer.decode([t.id])), top.map((t) => t.p), {
    title: "Bigram: P(next ∣ 学)",
    yTitle: "probability",
  }),
);

// %% [markdown]
// The whole model is a V × V table of counts. Here is the part of it for the most frequent
// characters: row = previous character, column = next character, colour = log(1 + count).

// %%
const freq = new Map<number, number>();
for (const id of trainIds) freq.set(id, (freq.get(id) ?? 0) + 1);
const frequent = [...freq.entries()].sort((a, b) => b[1] - a[1]).slice(0, 14).map(([id]) => id);
const labels = frequent.map((id) => JSON.stringify(tokenizer.decode([id])).slice(1, -1));
await show(heatmap(
  frequent.map((a) => frequent.map((b) => Math.log1p(bigram.counts[a][b]))),
  {
    x: labels,
    y: labels,
    xTitle: "next character",
    yTitle: "previous character",
    title: "Bigram counts, log(1 + c)",
    colorscale: "sequential",
  },
));

// %% [markdown]
// The bigram model cannot tell “去学校” from “学习”: after “学” it always predicts the same
// mixture, whatever came before. That is the limit of a context of one token.
//
// ## Model 2: a small neural next-token model
//
// A neural model reads a *window* of the k previous tokens, looks up a learned vector for
// each, and maps them through a hidden layer to a score for every token of the vocabulary
// (Bengio et al., 2003 — the ancestor of GPT's design). Training adjusts all the numbers to
// make the log-probability of the true next token as large as possible: the same objective
// GPT-1 calls L₁ (chapter 06).

// %%
await show(
  tex`P(u_i \mid u_{i-k}, \ldots, u_{i-1}) = \mathrm{softmax}\big(\tanh([e(u_{i-k}); \ldots; e(u_{i-1})]\,W_1 + b_1)\,W_2 + b_2\big)`,
  tex`L_1(U) = \sum_i \log P(u_i \mid u_{i-k}, \ldots, u_{i-1}; \Theta)`,
);

// %%
const steps = quick ? 200 : 600;
const model = initNeuralNgram({ vocabSize: V, context: 4, dEmbed: 16, hidden: 64, seed: 1 });
const bos = tokenizer.vocab.idOf("<s>");
const trainCurve: number[] = [];
const heldOutCurve: { x: number[]; y: number[] } = { x: [], y: [] };
const lossChart = () =>
  lineChart([
    { name: "training batch", y: trainCurve },
    { name: "held-out text", ...heldOutCurve },
  ], { title: "Neural model: loss while training", xTitle: "step", yTitle: "nats per token" });
const bar = await progress(steps, "training the neural model");
const plot = await live(lossChart());
await trainNeuralNgram(model, trainIds, {
  steps,
  batchSize: 128,
  learningRate: 0.01,
  seed: 2,
  padId: bos,
  onStep: async (step, loss) => {
    trainCurve.push(loss);
    await bar.tick(step, { loss: loss.toFixed(3) });
    if (step % 25 === 0 || step === steps) {
      heldOutCurve.x.push(step - 1);
      heldOutCurve.y.push(neuralNgramLoss(model, heldOutIds, bos));
      await plot.update(lossChart());
    }
  },
});
await bar.finish({ parameters: countNeuralNgramParameters(model) });

// %% [markdown]
// ## Model 3: a tiny GPT
//
// The model this course is about, at toy size: **one** Transformer block (chapters 02–06 build
// it piece by piece). Each character gets a token vector plus a position vector; in the block,
// every position *attends* to all the characters before it — up to 32 of them, so the whole
// sentence so far, not a fixed window of four — and a small feed-forward network follows. The
// output layer gives the next character's probabilities, and training minimises the same
// −L₁ as before, on random windows of the training text (`lmBatches`), with AdamW.

// %%
const gptSteps = quick ? 200 : 600;
const gptSize = gptConfig({
  name: "tiny GPT",
  vocabSize: V,
  contextLength: 32,
  layers: 1,
  heads: 4,
  dModel: quick ? 32 : 48,
});
const gpt = initGPT(gptSize, 3);
const windows = lmBatches(trainIds, {
  batchSize: 16,
  contextLength: gptSize.contextLength,
  seed: 4,
});
const adamW = createAdamW({
  learningRate: warmupCosine({ peak: 1e-2, warmupSteps: 10, totalSteps: gptSteps, floor: 1e-3 }),
  weightDecay: 0.01,
});
const gptMonitor = await trainingMonitor(gptSteps, { title: "training the tiny GPT" });
await fit({
  variables: gptParameters(gpt),
  steps: gptSteps,
  optimizer: adamW,
  clipNorm: 1,
  loss: (step) => languageModelingLoss(gpt, gptSize, windows(step)),
  onStep: (s) => gptMonitor.update(s),
});
adamW.dispose();
await gptMonitor.finish({ parameters: countGPTParameters(gptSize) });

// %% [markdown]
// ## Which model predicts held-out text better?
//
// We score the three models on the 100 sentences none of them saw, token by token with the
// same function, `l1Terms`: each held-out token's log-probability given the tokens before it,
// as much of them as the model reads (1 for the bigram, 4 for the neural model, 32 for the
// GPT). The average negative log-probability is the held-out loss (lower is better), and its
// exponential, the *perplexity*, is roughly how many tokens the model is still hesitating
// between. (The neural model's held-out curve above is the same measurement taken during
// training: if it turns up while the training loss keeps falling, the model has started to
// memorise its training text.)

// %%
/** The held-out L₁ terms of a model that gives P(next ∣ context), with a window of k tokens. */
const heldOutTerms = (probabilities: (context: number[]) => readonly number[], k: number) =>
  l1Terms((context) => probabilities(context).map(Math.log), heldOutIds, k);
const gptLogProb = gptLogProbNext(gpt, gptSize);
const termsByModel = {
  bigram: heldOutTerms((context) => bigramProbabilities(bigram, context[context.length - 1]), 1),
  neural: heldOutTerms((context) => neuralNgramProbabilities(model, context, bos), model.context),
  GPT: l1Terms(gptLogProb, heldOutIds, gptSize.contextLength),
};
const meanLossOf = (terms: L1Term[]) => -terms.reduce((s, t) => s + t.logProb, 0) / terms.length;
const lossBigram = meanLossOf(termsByModel.bigram);
const lossNeural = meanLossOf(termsByModel.neural);
const lossGPT = meanLossOf(termsByModel.GPT);
/**
 * The GPT's loss minus another model's, token by token on the same held-out tokens: the mean
 * difference d̄ and twice its standard error 2·s/√n (treating tokens as independent, which
 * they are not quite: a rough yardstick).
 */
const againstGPT = (other: L1Term[]) => {
  const d = termsByModel.GPT.map((t, i) => other[i].logProb - t.logProb);
  const mean = d.reduce((a, b) => a + b, 0) / d.length;
  const variance = d.reduce((a, b) => a + (b - mean) ** 2, 0) / (d.length - 1);
  return { mean, twoSE: 2 * Math.sqrt(variance / d.length), n: d.length };
};
const verdict = (name: string, other: L1Term[]) => {
  const { mean, twoSE, n } = againstGPT(other);
  const outcome = mean < -twoSE
    ? "the GPT is clearly better"
    : mean > twoSE
    ? `the GPT is clearly worse than the ${name} model`
    : "no clear difference";
  return `**GPT vs ${name}**: the GPT's held-out loss minus the ${name} model's is ${
    mean.toFixed(4)
  } nats/token (2·SE = ${twoSE.toFixed(4)}, ${n} tokens) — ${outcome}.`;
};
await show(
  table([
    ["bigram (counts, 1 token of context)", lossBigram, Math.exp(lossBigram)],
    ["neural (4 tokens of context)", lossNeural, Math.exp(lossNeural)],
    [`tiny GPT (${gptSize.contextLength} tokens of context)`, lossGPT, Math.exp(lossGPT)],
  ], { header: ["model", "held-out loss (nats/token)", "perplexity"], digits: 3 }),
  tex`\text{perplexity} = \exp\Big(-\frac{1}{N}\sum_i \log P(u_i \mid \ldots)\Big): \quad ${
    Math.exp(lossBigram)
  } \text{ (bigram)}, \ ${Math.exp(lossNeural)} \text{ (neural)}, \ ${
    Math.exp(lossGPT)
  } \text{ (GPT)}`,
  md(`${verdict("bigram", termsByModel.bigram)}\n\n${verdict("neural", termsByModel.neural)}`),
);

// %% [markdown]
// Context is what the neural model and the GPT add: after “他去学” and after “在学校学” the
// bigram model sees only “学”. What follows these contexts in the training text, and how sure
// is each model of it?

// %%
const candidates = ["校", "习", "生"];
const idOf = (c: string) => tokenizer.encode(c)[0];
const neuralAfter = (prefix: string) =>
  neuralNgramProbabilities(model, tokenizer.encode(prefix), bos);
const gptAfter = (prefix: string) => gptLogProb(tokenizer.encode(prefix)).map(Math.exp);
const pick = (p: readonly number[]) => candidates.map((c) => p[idOf(c)]);
await show(barChart(candidates, [
  { name: "bigram: P(· ∣ 学)", values: pick(pXue) },
  { name: "neural: P(· ∣ 他去学)", values: pick(neuralAfter("他去学")) },
  { name: "neural: P(· ∣ 在学校学)", values: pick(neuralAfter("在学校学")) },
  { name: "GPT: P(· ∣ 他去学)", values: pick(gptAfter("他去学")) },
  { name: "GPT: P(· ∣ 在学校学)", values: pick(gptAfter("在学校学")) },
], { title: "The next character after 学, with and without context", yTitle: "probability" }));

// %%
/** How often `next` follows `prefix` in the training text, out of the occurrences of `prefix`. */
const followCount = (prefix: string, next: string) => {
  const all = trainText.split(prefix).length - 1;
  return { followed: trainText.split(prefix + next).length - 1, all };
};
/** “P(next ∣ context) = p”, and what it says about the model's certainty. */
const sureness = (name: string, context: string, next: string, p: number) =>
  `the ${name} model gives P(${next} ∣ ${context}) = ${p.toFixed(4)}: ${
    p >= 0.9
      ? "it is nearly sure"
      : p >= 0.5
      ? "most of its probability, but it is not sure"
      : "it has not learned this"
  }`;
const quXue = followCount("去学", "校");
const zaiXue = followCount("在学校学", "习");
await show(md(
  `In the training text “去学” is followed by “校” ${quXue.followed} times out of ${quXue.all}, ` +
    `and “在学校学” by “习” ${zaiXue.followed} times out of ${zaiXue.all}. After “他去学”, ${
      sureness("neural", "他去学", "校", neuralAfter("他去学")[idOf("校")])
    }; ${sureness("GPT", "他去学", "校", gptAfter("他去学")[idOf("校")])}. After “在学校学”, ${
      sureness("neural", "在学校学", "习", neuralAfter("在学校学")[idOf("习")])
    }; ${sureness("GPT", "在学校学", "习", gptAfter("在学校学")[idOf("习")])}. The bigram model ` +
    `gives P(校 ∣ 学) = ${pXue[idOf("校")].toFixed(4)} whatever came before “学”.`,
));

// %% [markdown]
// ## The “predict the next word” loop
//
// Generation is the loop from the formula at the top: compute P(next ∣ text so far), choose,
// append, repeat. Choosing the most probable token each time is *greedy* decoding; drawing
// at random in proportion to the probabilities is *sampling* (chapter 07 compares them). We
// start the three models from “小明” at the beginning of a line, and stop at the end of the
// line.

// %%
const prompt = tokenizer.encode("\n小明");
const newline = tokenizer.encode("\n")[0];
const nextByModel: Record<string, (h: readonly number[]) => number[]> = {
  bigram: (h) => bigramProbabilities(bigram, h[h.length - 1]),
  neural: (h) => neuralNgramProbabilities(model, h, bos),
  GPT: (h) => gptLogProb([...h]).map(Math.exp),
};
const write = (next: (h: readonly number[]) => number[], seed?: number) =>
  "小明" + tokenizer.decode(
    generate(next, prompt, 30, {
      rng: seed === undefined ? undefined : makeRng(seed),
      stopId: newline,
    }).filter((id) => id !== newline),
  );
const corpusLines = new Set(lines);
const written = Object.entries(nextByModel).flatMap(([name, next]) =>
  ([["greedy", undefined], ["sampled (seed 1)", 1], ["sampled (seed 2)", 2]] as const).map((
    [choice, seed],
  ) => {
    const line = write(next, seed);
    return [name, choice, line, corpusLines.has(line) ? "yes" : "no"];
  })
);
const inCorpus = (name: string) => written.filter((r) => r[0] === name && r[3] === "yes").length;
await show(
  table(written, {
    header: ["model", "choice", "text", "a line of the corpus?"],
    title: "Continuing “小明”",
  }),
  md(
    Object.keys(nextByModel).map((name) =>
      `${name}: ${inCorpus(name)} of ${written.filter((r) => r[0] === name).length}`
    ).join(", ") +
      ` of the lines written are lines of the corpus (its ${lines.length} sentences); the ` +
      "others are not: new sentences of its grammar, or slips — read them.",
  ),
);
disposeGPT(gpt);

// %% [markdown]
// Read the bigram's lines closely: every neighbouring pair is plausible, but a sentence can
// wander or repeat itself, because nothing beyond one character is remembered. The neural
// model remembers four characters and the GPT the whole line. A real GPT is the same loop with
// a far larger predictor, trained on far more text. The next chapters build it piece by
// piece.
//
// The article's point that GPT “基于统计学习和推理，而非像人类那样进行逻辑推理” is visible
// here in miniature: all three models only reproduce the statistics of their training text.
//
// ## Things to try
//
// 1. Change `context: 4` to `1` in the neural model. It becomes a learned bigram: does its
//    held-out loss fall to the counting model's?
// 2. Change the smoothing α from 0.1 to 1 or 0.001 and watch the bigram's held-out
//    perplexity. Why does too much smoothing hurt?
// 3. Give the tiny GPT `contextLength: 4`: it then reads no more than the neural model. Which
//    of the two wins now?
