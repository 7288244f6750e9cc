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
  bigramLoss,
  bigramProbabilities,
  CharTokenizer,
  countNeuralNgramParameters,
  fitBigram,
  generate,
  heatmap,
  initNeuralNgram,
  isQuick,
  lineChart,
  live,
  loadDataText,
  makeRng,
  neuralNgramLoss,
  neuralNgramProbabilities,
  progress,
  setup,
  show,
  table,
  tex,
  trainNeuralNgram,
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
// are off:
//
// - GPT-3 has **175 billion** parameters (1750亿), not 1.75亿 (175 million): the article is
//   wrong by a factor of 1,000. Its largest sibling in the paper (Brown et al., 2020, Table
//   2.1) is 96 layers of width 12,288.
// - “1 million US dollars per second” has no source: neither the GPT-3 paper nor OpenAI
//   published a running cost. What the paper does give is the training compute, 3.14 × 10²³
//   floating-point operations (Table D.1), from which a cost can be estimated.
// - “预训练的规模超过了Bert的500倍”: 175 B / 340 M (BERT-large) ≈ 515, so “about 500 times”
//   is fair for parameters.
//
// The next cell checks the arithmetic.

// %%
const params = {
  "GPT-1 (2018)": 117e6,
  "BERT-large (2018)": 340e6,
  "GPT-2 (2019)": 1.5e9,
  "GPT-3 (2020)": 175e9,
};
const article = 1.75e8; // 1.75亿 as written in the article
const gpt3 = params["GPT-3 (2020)"];
const trainingFlop = 3.14e23; // GPT-3 paper, Table D.1
const v100 = 28e12; // FLOP/s a V100 sustains in practice (Lambda Labs' estimate)
const gpuYears = trainingFlop / v100 / (365.25 * 24 * 3600);
await show(
  table([
    ["GPT-3 parameters (paper)", gpt3.toExponential(2), "1750亿"],
    ["the article's figure", article.toExponential(2), "1.75亿"],
    ["ratio paper / article", (gpt3 / article).toFixed(0), "×"],
    ["GPT-3 / BERT-large", (gpt3 / params["BERT-large (2018)"]).toFixed(1), "≈ 500 ✓"],
    ["GPT-3 training compute", trainingFlop.toExponential(2), "FLOP"],
    ["…on one V100 at 28 TFLOP/s", gpuYears.toFixed(0), "GPU-years"],
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
);

// %% [markdown]
// A training run of ~355 GPU-years was estimated at a few million dollars of cloud time: a
// large sum, but nowhere near a million dollars *per second*. Treat that figure as folklore.
//
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
// ## Which model predicts held-out text better?
//
// We score both on the 100 sentences neither model saw: the average negative
// log-probability of each true next token (lower is better), and its exponential, the
// *perplexity* — roughly, how many tokens the model is still hesitating between. (The
// held-out curve above is the same measurement taken during training: if it turns up while
// the training loss keeps falling, the model has started to memorise its training text.)

// %%
const lossBigram = bigramLoss(bigram, heldOutIds);
const lossNeural = neuralNgramLoss(model, heldOutIds, bos);
await show(
  table([
    ["bigram (counts, 1 token of context)", lossBigram, Math.exp(lossBigram)],
    ["neural (4 tokens of context)", lossNeural, Math.exp(lossNeural)],
  ], { header: ["model", "held-out loss (nats/token)", "perplexity"], digits: 3 }),
  tex`\text{perplexity} = \exp\Big(-\frac{1}{N}\sum_i \log P(u_i \mid \ldots)\Big): \quad ${
    Math.exp(lossBigram)
  } \text{ (bigram) vs } ${Math.exp(lossNeural)} \text{ (neural)}`,
);

// %% [markdown]
// Context is what the neural model adds. After “去学” it can be sure the next character is
// “校”, while after “在学校学” it expects “习”; the bigram model sees only “学” both times.

// %%
const candidates = ["校", "习", "生"];
const neuralAfter = (prefix: string) => {
  const p = neuralNgramProbabilities(model, tokenizer.encode(prefix), bos);
  return candidates.map((c) => p[tokenizer.encode(c)[0]]);
};
await show(barChart(candidates, [
  { name: "bigram: P(· ∣ 学)", values: candidates.map((c) => pXue[tokenizer.encode(c)[0]]) },
  { name: "neural: P(· ∣ 他去学)", values: neuralAfter("他去学") },
  { name: "neural: P(· ∣ 在学校学)", values: neuralAfter("在学校学") },
  { name: "neural: P(· ∣ 和学)", values: neuralAfter("和学") },
], { title: "The next character after 学, with and without context", yTitle: "probability" }));

// %% [markdown]
// ## The “predict the next word” loop
//
// Generation is the loop from the formula at the top: compute P(next ∣ text so far), choose,
// append, repeat. Choosing the most probable token each time is *greedy* decoding; drawing
// at random in proportion to the probabilities is *sampling* (chapter 07 compares them). We
// start both models from “小明” at the beginning of a line, and stop at the end of the line.

// %%
const prompt = tokenizer.encode("\n小明");
const newline = tokenizer.encode("\n")[0];
const bigramNext = (h: readonly number[]) => bigramProbabilities(bigram, h[h.length - 1]);
const neuralNext = (h: readonly number[]) => neuralNgramProbabilities(model, h, bos);
const write = (next: (h: readonly number[]) => number[], seed?: number) =>
  "小明" + tokenizer.decode(
    generate(next, prompt, 30, {
      rng: seed === undefined ? undefined : makeRng(seed),
      stopId: newline,
    }).filter((id) => id !== newline),
  );
await show(table([
  ["bigram", "greedy", write(bigramNext)],
  ["bigram", "sampled (seed 1)", write(bigramNext, 1)],
  ["bigram", "sampled (seed 2)", write(bigramNext, 2)],
  ["neural", "greedy", write(neuralNext)],
  ["neural", "sampled (seed 1)", write(neuralNext, 1)],
  ["neural", "sampled (seed 2)", write(neuralNext, 2)],
], { header: ["model", "choice", "text"], title: "Continuing “小明”" }));

// %% [markdown]
// Read the bigram's lines closely: every neighbouring pair is plausible, but a sentence can
// wander or repeat itself, because nothing beyond one character is remembered. The neural
// model, with four characters of context, mostly writes sentences of the grammar (trained
// longer, outside quick mode, it makes fewer slips). A GPT is
// the same loop with a far better predictor: a Transformer whose context is the whole text
// so far. The next chapters build it piece by piece.
//
// The article's point that GPT “基于统计学习和推理，而非像人类那样进行逻辑推理” is visible
// here in miniature: both models only reproduce the statistics of their training text.
//
// ## Things to try
//
// 1. Change `context: 4` to `1` in the neural model. It becomes a learned bigram: does its
//    held-out loss fall to the counting model's?
// 2. Change the smoothing α from 0.1 to 1 or 0.001 and watch the bigram's held-out
//    perplexity. Why does too much smoothing hurt?
