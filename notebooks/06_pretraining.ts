// Chapter 06 — 3.2.1 GPT-1 关键点1：无监督预训练
// Source of notebooks/06_pretraining.ipynb (regenerate with `deno task notebooks`).
// Run in a terminal: `deno task chapter 06` (`QUICK=1` trains a smaller model for fewer steps).

// %% [markdown]
// # 06 GPT-1 无监督预训练 — unsupervised pre-training
//
// GPT-1 (Radford et al., 2018) is trained in two stages. The first, the subject of this
// chapter, needs no labels at all: a stack of Transformer decoder blocks reads ordinary text
// and learns to predict each token from the ones before it. The article states it as one
// objective, L₁, and three equations for the model. This chapter runs all of them:
//
// 1. L₁ on a short window, term by term, with real probabilities;
// 2. GPT-1's size — ~117 million parameters — derived from its configuration, and GPT-2
//    small's 124 million, and how small a share of it the article's W_q, W_k, W_v are;
// 3. a small GPT pre-trained here on Tang poems (唐诗), with the loss on held-out poems
//    compared with a model that only knows how often each character occurs;
// 4. what the trained model writes: a continuation of “在一个寒冷的冬日，” and five-character
//    quatrains, with the fraction of lines that have the corpus's form measured;
// 5. where its attention looks inside a poem, and its weights saved to disk and read back.

// %%
import {
  barChart,
  countGPTParameters,
  disposeGPT,
  GPT1_CONFIG,
  GPT2_SMALL_CONFIG,
  type GPTConfig,
  gptForward,
  gptLogProbNext,
  gptParameterTable,
  heatmap,
  initGPT,
  isQuick,
  l1Terms,
  loadCheckpoint,
  loadTangPoems,
  md,
  meanLoss,
  outputPath,
  perplexity,
  POEM_SEPARATOR,
  saveCheckpoint,
  setup,
  show,
  table,
  tex,
  trainingMonitor,
} from "../mod.ts";
import {
  attentionAtLag,
  commonCharacterCorpus,
  evaluationBatches,
  fiveCharLineForm,
  isFiveCharQuatrain,
  parameterBreakdown,
  poemLines,
  pretrain,
  pretrainingConfig,
  pretrainingSettings,
  unigramCrossEntropy,
  writePoem,
} from "../lib/experiments/mod.ts";
import * as tf from "@tensorflow/tfjs";

await setup({ title: "06 GPT-1 无监督预训练" });

// %% [markdown]
// ## The objective L₁
//
// Given an unlabelled corpus of tokens 𝒰 = {u₁, …, uₙ}, GPT-1 maximises the likelihood
//
// L₁(𝒰) = Σᵢ log P(uᵢ ∣ uᵢ₋ₖ, …, uᵢ₋₁; Θ)
//
// where k is the size of the context window and Θ are the network's parameters. Each term asks:
// having read the k tokens before position i, how much probability did the model give to the
// token that actually came next? A perfect predictor would give 1 (log 1 = 0); every term is
// ≤ 0 and L₁ rises towards 0 as the model gets better. Training minimises the mean of the
// negated terms, −L₁/N: the cross-entropy of next-token prediction, in nats per token. Its
// exponential, the **perplexity**, reads as “the model hesitates between about this many
// tokens”. Nobody labels anything: the text is its own supervision.

// %%
await show(
  tex`L_1(\mathcal{U}) = \sum_i \log P(u_i \mid u_{i-k}, \ldots, u_{i-1}; \Theta), \qquad \text{loss} = -\frac{L_1}{N}, \qquad \text{perplexity} = e^{\text{loss}}`,
);

// %% [markdown]
// ## The model: three equations
//
// GPT-1 computes P with a stack of n Transformer decoder blocks — the blocks of chapters 02–05
// with the causal mask and without cross-attention, since there is no encoder:
//
// - U = (u₋ₖ, …, u₋₁) is the context as one-hot rows, Wₑ the token embedding matrix (V × d),
//   Wₚ the learned position embeddings (one row per position, n_ctx × d);
// - each block reads the previous block's output;
// - the output layer is Wₑ again, transposed: the logits of a position are its final hidden
//   vector's dot products with every token's embedding (**tied** embeddings: no separate
//   d × V matrix).

// %%
await show(
  tex`h_0 = U W_e + W_p`,
  tex`h_l = \mathrm{transformer\_block}(h_{l-1}) \quad \forall\, l \in [1, n]`,
  tex`P(u) = \mathrm{softmax}(h_n W_e^{T})`,
);

// %% [markdown]
// ## GPT-1's size, from its configuration
//
// GPT-1: 12 blocks, d_model = 768, 12 heads, d_ff = 3072, a 512-token context, a BPE
// vocabulary of 40,478 tokens. Every parameter sits in one of a few matrices whose shapes
// follow from these numbers; the table counts the tensors the library builds for each config
// (`gptParameterShapes`) and checks the total against the closed formula
// (`countGPTParameters`). GPT-2 small differs in its vocabulary (50,257), context (1,024) and
// one extra LayerNorm at the end (pre-LN).

// %%
const sizes = [GPT1_CONFIG, GPT2_SMALL_CONFIG].map(parameterBreakdown);
const count = (n: number) => n.toLocaleString("en-US");
const millions = (n: number) => (n / 1e6).toFixed(1);
const percent = (x: number) => `${(100 * x).toFixed(x < 0.01 ? 2 : 1)}%`;
/** GPT-1's count for the row of the breakdown whose label starts with `part`. */
const gpt1Part = (part: string) => sizes[0].find((row) => row.part.startsWith(part))!.count;
await show(
  table(
    sizes[0].map((row, i) => [row.part, row.formula, count(row.count), count(sizes[1][i].count)]),
    { header: ["parameters", "formula (d = d_model)", "GPT-1", "GPT-2 small"] },
  ),
  tex`\text{GPT-1: } ${
    count(sizes[0].at(-1)!.count)
  } \approx 117\text{M} \quad (= \mathtt{countGPTParameters}: ${
    count(countGPTParameters(GPT1_CONFIG))
  }), \qquad \text{GPT-2 small: } ${count(sizes[1].at(-1)!.count)} \approx 124\text{M}`,
  md(
    `Each block holds ${millions(gpt1Part("one block"))} million parameters, ` +
      `${percent(gpt1Part("FFN") / gpt1Part("one block"))} of them in the FFN ` +
      `(2·${GPT1_CONFIG.dModel}·${GPT1_CONFIG.dFF} weights and the biases); the ` +
      `${GPT1_CONFIG.layers} blocks make ${millions(gpt1Part("all blocks"))} million, and the ` +
      `token embeddings another ${millions(gpt1Part("token embeddings"))} million — ` +
      `${percent(gpt1Part("token embeddings") / gpt1Part("total"))} of the model, used twice ` +
      `thanks to the tied output layer. The GPT-2 paper's Table 2 lists its smallest model as ` +
      `117M; its released weights have ${count(sizes[1].at(-1)!.count)} parameters, the number ` +
      `above.`,
  ),
);

// %% [markdown]
// ## Erratum: pre-training learns every parameter, not only W_q, W_k, W_v
//
// The article says the goal of pre-training is “一套初始参数（这个初始参数也就是Transformer中的
// Wq,Wk,Wv）”: a set of initial parameters, namely W_q, W_k and W_v. Pre-training learns every
// parameter of the model — the token and position embeddings, every block's attention
// (W_q, W_k, W_v, the output projection W_o and the biases), feed-forward network and
// LayerNorms — by the same gradient descent on L₁; fine-tuning (chapter 08) then starts from
// all of them. Here is how GPT-1's parameters divide, from the library's parameter table
// (`gptParameterTable`) for GPT-1's configuration. (GPT-1's released code keeps W_q, W_k, W_v
// side by side in one fused 768 × 2304 matrix; the library stores them as three 768 × 768
// matrices, so each is counted on its own and the share is the same.)

// %%
/** The parts of a GPT, each matching the checkpoint names of its parameters; first match wins. */
const PARTS: [string, RegExp][] = [
  ["W_q, W_k, W_v", /^blocks\.\d+\.attention\.W[qkv]$/],
  ["b_q, b_k, b_v", /^blocks\.\d+\.attention\.b[qkv]$/],
  ["W_o, b_o", /^blocks\.\d+\.attention\.[Wb]o$/],
  ["FFN W₁, b₁, W₂, b₂", /^blocks\.\d+\.ffn\./],
  ["LayerNorms γ, β", /norm/i],
  ["token embeddings Wₑ", /^tokenEmbedding$/],
  ["positions Wₚ", /^positionEmbedding$/],
  ["output layer (untied)", /^output$/],
];
/** How many of a config's parameters fall in each of {@link PARTS}, from `gptParameterTable`. */
const partCounts = (cfg: GPTConfig) => {
  const counts = PARTS.map(() => 0);
  for (const spec of gptParameterTable(cfg)) {
    const part = PARTS.findIndex(([, pattern]) => pattern.test(spec.name));
    if (part < 0) throw new Error(`no part of the table matches the parameter ${spec.name}`);
    counts[part] += spec.shape.reduce((a, b) => a * b, 1);
  }
  return PARTS.map(([name], i) => ({ name, count: counts[i] })).filter((p) => p.count > 0);
};
const gpt1Parts = partCounts(GPT1_CONFIG);
const gpt1Total = countGPTParameters(GPT1_CONFIG);
const share = (n: number) => n / gpt1Total;
const qkv = gpt1Parts.find((p) => p.name === "W_q, W_k, W_v")!;
const rest = gpt1Parts.filter((p) => p !== qkv).sort((a, b) => b.count - a.count);
await show(
  table(
    [
      ...gpt1Parts.map((p) => [p.name, count(p.count), percent(share(p.count))]),
      ["total", count(gpt1Parts.reduce((n, p) => n + p.count, 0)), percent(1)],
    ],
    { header: ["GPT-1's parameters", "count", "share"] },
  ),
  barChart(gpt1Parts.map((p) => p.name), gpt1Parts.map((p) => share(p.count)), {
    title: "GPT-1: share of each part in its parameters",
    yTitle: "share",
    highlight: [gpt1Parts.indexOf(qkv)],
  }),
  md(
    `W_q, W_k and W_v are **${percent(share(qkv.count))}** of GPT-1's ${count(gpt1Total)} ` +
      `parameters (${GPT1_CONFIG.layers} blocks × 3 × ${GPT1_CONFIG.dModel}² = ` +
      `${count(qkv.count)}). Pre-training learns all ${count(gpt1Total)}, W_q, W_k and W_v ` +
      `among them; the largest part is ${rest[0].name} (${percent(share(rest[0].count))}), ` +
      `then ${rest[1].name} (${percent(share(rest[1].count))}).`,
  ),
);

// %% [markdown]
// ## The corpus: Tang poems
//
// We pre-train on the 全唐诗 (the npm package `chinese-poetry`, read at run time, converted to
// simplified characters): the poems made of five-character lines, “xxxxx，xxxxx。…”, one
// character per token, poems separated by a line break. A character vocabulary of Tang poetry
// has about 7,000 entries, and the output layer's cost grows with V, so we keep the poems
// written only with the 2,500 most frequent characters. The prompt's characters are added to
// the vocabulary so that it can be encoded; a few of them (个, 的) are rare in Tang poetry.

// %%
const settings = pretrainingSettings(isQuick());
const PROMPT = "在一个寒冷的冬日，";
const poems = await loadTangPoems();
const corpus = commonCharacterCorpus(poems, settings.characters, PROMPT);
const { vocab } = corpus;
await show(
  table([
    [
      "five-character poems loaded (train / validation)",
      `${poems.train.length} / ${poems.validation.length}`,
    ],
    [
      "kept: written with the 2,500 most frequent characters",
      `${corpus.train.length} / ${corpus.validation.length}`,
    ],
    ["vocabulary V (specials, line break, characters)", vocab.size],
    [
      "characters in the training / validation stream",
      `${corpus.trainIds.length} / ${corpus.validationIds.length}`,
    ],
  ], { header: ["corpus", ""], digits: 0 }),
  table(corpus.train.slice(0, 4).map((poem) => [poem]), { header: ["training poems"] }),
);

// %% [markdown]
// ## The small GPT, and L₁ before training
//
// Our model has GPT-1's shape at toy scale (the sizes below; `QUICK=1` makes it smaller). It
// puts LayerNorm before each sublayer, as GPT-2 does — chapter 02 compared the two: pre-LN
// trains without post-LN's careful warm-up. The first two equations stay as they are; the
// third gains a step, because pre-LN adds one final LayerNorm after the last block, so the
// output layer reads LN(hₙ) instead of hₙ (the row “final LayerNorm” below). Its parameters,
// counted the same way as GPT-1's:

// %%
const config = pretrainingConfig(settings, vocab.size);
const params = initGPT(config, settings.seed);
const ours = parameterBreakdown(config);
await show(
  config.norm === "pre"
    ? tex`P(u) = \mathrm{softmax}\big(\mathrm{LN}_f(h_n)\, W_e^{T}\big) \quad \text{(pre-LN: a final LayerNorm } \mathrm{LN}_f \text{ before the output layer)}`
    : tex`P(u) = \mathrm{softmax}(h_n W_e^{T}) \quad \text{(post-LN: no final LayerNorm)}`,
  table([
    [
      "blocks n, d_model, heads, d_ff",
      `${config.layers}, ${config.dModel}, ${config.heads}, ${config.dFF}`,
    ],
    ["context n_ctx, vocabulary V", `${config.contextLength}, ${config.vocabSize}`],
    ...ours.filter((r) => r.count > 0).map((r) => [r.part, count(r.count)]),
  ], { header: [config.name, ""] }),
);

// %% [markdown]
// Now L₁ with live numbers. The stream is the first two lines of a **validation** poem, one
// the model will never train on, and the window is k = 4 characters: u₀ is only context, the
// first terms see the shorter windows they have, and from i = 4 on each term reads exactly the
// four characters before it. Untrained, the model gives every character roughly 1/V, so each
// term is near −ln V.

// %%
const K = 4;
const line = poemLines(corpus.validation[0]).slice(0, 2).join("");
const lineIds = vocab.encode([...line]);
const l1View = (when: string) => {
  const terms = l1Terms(gptLogProbNext(params, config), lineIds, K);
  const L1 = terms.reduce((s, t) => s + t.logProb, 0);
  return {
    L1,
    items: [
      table(
        terms.map((t) => [
          t.position,
          vocab.decode(t.context).join(""),
          vocab.tokenOf(t.target),
          Math.exp(t.logProb),
          t.logProb,
        ]),
        {
          header: ["i", "context uᵢ₋ₖ … uᵢ₋₁", "uᵢ", "P(uᵢ ∣ context)", "log P"],
          title: `L₁ term by term on “${line}”, k = ${K}, ${when}`,
        },
      ),
      tex`L_1 = \sum_{i=1}^{${terms.length}} \log P(u_i \mid u_{i-${K}}, \ldots, u_{i-1}; \Theta) = ${L1}, \qquad -\frac{L_1}{${terms.length}} = ${
        -L1 / terms.length
      }\ \text{nats per character} \quad (\ln V = ${Math.log(vocab.size)})`,
    ],
  };
};
const l1Before = l1View("before training");
await show(...l1Before.items);

// %% [markdown]
// ## Pre-training
//
// Training draws random windows of n_ctx characters from the training stream, `batchSize`
// windows per step, and minimises the mean cross-entropy over every position of every window —
// −L₁/N with the window k = n_ctx (position t of a window reads t + 1 characters). The
// optimiser is AdamW (Adam with decoupled weight decay), the learning rate rises linearly over
// the first steps and then follows a cosine down to a tenth of its peak, and the gradients are
// clipped to norm 1. GPT-1's schedule has the same shape but ends at 0 (Radford et al., 2018,
// §4.1: “increased linearly from zero over the first 2000 updates and annealed to 0 using a
// cosine schedule”). This chapter differs on purpose: it stops at a tenth of the peak, the floor
// Chinchilla used (Hoffmann et al., 2022, §3.1: the learning rate decays “by a factor of 10×”)
// and nanoGPT copies, so that the last steps of a run of a few hundred steps still move the
// weights instead of taking steps of almost 0.
//
// Two reference points. A **uniform** guess costs ln V nats per character. A **unigram**
// model knows how often each character occurs in the training poems but nothing about order:
// P(w) = (c(w) + 1)/(N + V). A language model that beats the unigram has learned something
// about which characters follow which. Both are measured on the same validation windows as the
// model (and a poem is written with the untrained model, for comparison later).

// %%
const held = evaluationBatches(corpus.validationIds, settings);
const heldTargets = held.flatMap((b) => Array.from(b.targets.dataSync()));
const unigram = unigramCrossEntropy(corpus.trainIds, heldTargets, vocab.size);
const lossBefore = meanLoss(params, config, held);
const STARTS = [..."春秋月山江风夜白花云天日"];
const SAMPLING = { temperature: 0.8, topK: 20 };
const write = (prompt: string, seed: number, length?: number) =>
  writePoem({ params, config }, vocab, prompt, { ...SAMPLING, seed, length });
const untrainedPoems = STARTS.map((c, i) => write(c, i));
await show(table([
  [
    "steps × windows × characters",
    `${settings.steps} × ${settings.batchSize} × ${settings.contextLength}`,
  ],
  [
    "AdamW peak learning rate, warmup steps, weight decay",
    `${settings.peakLearningRate}, ${settings.warmupSteps}, ${settings.weightDecay}`,
  ],
  [
    "validation windows (characters)",
    `${held.length ? heldTargets.length / settings.contextLength : 0} (${heldTargets.length})`,
  ],
], { header: ["training", ""] }));

const monitor = await trainingMonitor(settings.steps, {
  title: "pre-training the Tang-poem GPT",
  evalName: "validation loss",
});
const started = performance.now();
const { losses, evals } = await pretrain(params, config, corpus.trainIds, settings, {
  evaluate: () => meanLoss(params, config, held),
  onStep: (s) => monitor.update(s),
});
const trainSeconds = (performance.now() - started) / 1000;
const validationLoss = evals[evals.length - 1].value;
await monitor.finish({ "validation loss": validationLoss, seconds: trainSeconds });

// %% [markdown]
// ## How good is it?
//
// The same validation windows, four ways. Cross-entropy is in nats per character; the
// perplexity e^loss is the number of characters the model is, in effect, choosing among.

// %%
const rows: [string, number][] = [
  ["uniform over the vocabulary (ln V)", Math.log(vocab.size)],
  ["the GPT before training", lossBefore],
  ["unigram: character frequencies of the training poems", unigram],
  [`the GPT after ${settings.steps} steps`, validationLoss],
];
await show(
  table(rows.map(([name, loss]) => [name, loss.toFixed(3), perplexity(loss).toFixed(0)]), {
    header: ["model", "validation cross-entropy", "perplexity"],
  }),
  md(
    validationLoss < unigram
      ? `The pre-trained GPT is **${
        (unigram - validationLoss).toFixed(3)
      } nats per character below ` +
        `the unigram model**: its perplexity is ${
          perplexity(validationLoss).toFixed(0)
        } instead of ` +
        `${
          perplexity(unigram).toFixed(0)
        }. What it gained over the unigram is knowledge of order: ` +
        `where ， and 。 go, which characters start a line, which follow which.`
      : `The GPT (${validationLoss.toFixed(3)}) has **not** beaten the unigram model ` +
        `(${unigram.toFixed(3)}) yet — ${settings.steps} steps are too few for it` +
        (isQuick() ? " (quick mode); run without `QUICK=1` to train longer." : "."),
  ),
  md(
    `Training took ${
      trainSeconds.toFixed(0)
    } s (${losses.length} steps); the last batch's loss was ${
      losses[losses.length - 1].toFixed(3)
    }.`,
  ),
);

// %% [markdown]
// And L₁ on the same held-out lines as before training: the terms that rose most are the
// predictable ones — the punctuation after five characters, common pairs of characters.

// %%
const l1After = l1View(`after ${settings.steps} steps`);
await show(
  ...l1After.items,
  tex`L_1:\ ${l1Before.L1}\ \text{(before)} \;\to\; ${l1After.L1}\ \text{(after)}`,
);

// %% [markdown]
// ## “在一个寒冷的冬日，”
//
// **Erratum.** The article says GPT-1 “阅读了上千万篇文章” (read tens of millions of articles) and
// then shows two Chinese continuations of this prompt (“玛丽决定待在家里，烤一些曲奇…”,
// “孩子们激动地跑到户外，开始制作一个大雪人…”). They are illustrations, not GPT-1's output: GPT-1
// was pre-trained on BooksCorpus, about 7,000 unpublished English books (Radford et al., 2018,
// §4.1), with a byte-pair vocabulary of 40,000 merges learned from that English text. It read no
// Chinese and could not have written these sentences. What a model writes is bounded by what it
// read, as the continuations below show.
//
// The article's prompt is modern prose, and our model has read nothing but Tang poems: 个 and
// 的 are rare there, so their embeddings were barely trained. Whatever it writes after the
// comma, it writes in the only style it knows. Each continuation starts a new poem with the
// prompt and samples the next characters from softmax(z/T) with temperature T = 0.8 among the
// 20 most probable (top-k; chapter 07 explains both), with a fixed seed per line.

// %%
const continuations = [1, 2, 3].map((seed) => write(PROMPT, seed, PROMPT.length + 24));
await show(table(continuations.map((text, i) => [i + 1, text]), {
  header: ["seed", `continuations of “${PROMPT}”`],
}));

// %% [markdown]
// ## Five-character quatrains (五言绝句)
//
// A quatrain is four lines of five characters: “xxxxx，xxxxx。xxxxx，xxxxx。”. We give the
// model a first character and let it write until the poem has 24 characters, then count the lines that have the form: five characters and a ， or 。. Before training, the same
// prompts and seeds gave the poems in the last column.

// %%
const trainedPoems = STARTS.map((c, i) => write(c, i));
const formAfter = fiveCharLineForm(trainedPoems);
const formBefore = fiveCharLineForm(untrainedPoems);
const quatrains = trainedPoems.filter(isFiveCharQuatrain).length;
await show(
  table(
    trainedPoems.map((poem, i) => [
      STARTS[i],
      poem,
      isFiveCharQuatrain(poem) ? "✓" : "",
      untrainedPoems[i],
    ]),
    { header: ["first character", "poem (trained)", "quatrain form", "before training"] },
  ),
  tex`\text{lines of five characters} + \text{，/。}:\quad \frac{${formAfter.formed}}{${formAfter.lines}} = ${formAfter.fraction}\ \text{(trained)}, \qquad \frac{${formBefore.formed}}{${formBefore.lines}} = ${formBefore.fraction}\ \text{(before training)}`,
  md(
    `**${(100 * formAfter.fraction).toFixed(0)}%** of the generated lines have the form of the ` +
      `corpus (before training: ${(100 * formBefore.fraction).toFixed(0)}%); ` +
      `${quatrains} of ${trainedPoems.length} poems are complete quatrains.`,
  ),
);

// %% [markdown]
// A first line can be given too. These are first lines of validation poems, so the model has
// not seen the poems they come from; it writes the other three lines.

// %%
const firstLines = corpus.validation.slice(1, 4).map((poem) => poemLines(poem)[0]);
const answered = firstLines.map((first, i) => write(first, 100 + i));
await show(table(
  answered.map((poem, i) => [
    firstLines[i],
    poem,
    poemLines(corpus.validation[1 + i]).slice(0, 4).join(""),
  ]),
  {
    header: ["first line", "the model's poem", "the original poem (first four lines)"],
  },
));

// %% [markdown]
// ## Where the trained model looks
//
// The attention weights of every block and head on one validation poem (its first four lines,
// after the line break that starts a poem, shown as ↵). Two simple measures per head: the mean
// weight a character gives to the one just before it (lag 1), and to the character six places
// back — the same place in the previous line, which is what parallel couplets (对仗) and the
// punctuation's rhythm would use (lag 6). The heatmap shows the head with the most weight at
// lag 6: rows are the characters reading (queries), columns the characters read (keys).

// %%
const poem = poemLines(corpus.validation[0]).slice(0, 4).join("");
const poemIds = [vocab.idOf(POEM_SEPARATOR), ...vocab.encode([...poem])];
const labels = vocab.decode(poemIds).map((c) => (c === POEM_SEPARATOR ? "↵" : c));
const inputs = tf.tensor2d([poemIds], [1, poemIds.length], "int32");
const traced = gptForward(params, config, inputs, { trace: true });
const attention = traced.attention!;
const lag1 = attentionAtLag(attention, 1);
const lag6 = attentionAtLag(attention, 6);
const heads = lag6.flatMap((row, layer) => row.map((w, head) => ({ layer, head, w })));
const best = heads.reduce((a, b) => (b.w > a.w ? b : a));
const weights = tf.tidy(() =>
  attention[best.layer].slice([0, best.head, 0, 0], [1, 1, poemIds.length, poemIds.length])
    .reshape([poemIds.length, poemIds.length]).arraySync() as number[][]
);
await show(
  table(
    heads.map(({ layer, head }) => [
      `${layer + 1}`,
      `${head + 1}`,
      lag1[layer][head],
      lag6[layer][head],
    ]),
    {
      header: ["block", "head", "mean weight at lag 1", "mean weight at lag 6"],
      digits: 3,
    },
  ),
  heatmap(weights, {
    x: labels,
    y: labels,
    title: `block ${best.layer + 1}, head ${best.head + 1}: attention on “${poem}”`,
    xTitle: "key (character read)",
    yTitle: "query (character reading)",
    zmin: 0,
    zmax: 1,
    showValues: false,
  }),
);

// %% [markdown]
// ## Saving and reloading the weights
//
// A checkpoint keeps the config, every parameter under its name, the training step and
// whatever else is needed to use the model again — here the vocabulary. It is written to a
// temporary file and renamed, so a crash mid-save never leaves half a file, and it carries a
// SHA-256 checksum that loading verifies. We save, load into a fresh set of parameters, and
// compare the two models' logits on the poem above.

// %%
const CHECKPOINT_FILE = "checkpoints/06_tang.gptc";
const CHECKPOINT = outputPath(CHECKPOINT_FILE); // <repository>/.out/checkpoints/06_tang.gptc
await saveCheckpoint(CHECKPOINT, {
  config,
  params,
  step: settings.steps,
  extra: { vocabulary: vocab.tokens, validationLoss },
});
const loaded = await loadCheckpoint(CHECKPOINT);
const reloadedVocab = (loaded.extra?.vocabulary ?? []) as string[];
const maxDiff = tf.tidy(() => {
  const again = gptForward(loaded.params, loaded.config, inputs).logits;
  return tf.max(tf.abs(tf.sub(traced.logits, again))).dataSync()[0];
});
const samePoem = writePoem(loaded, vocab, STARTS[0], { ...SAMPLING, seed: 0 }) === trainedPoems[0];
await show(table([
  ["file", `.out/${CHECKPOINT_FILE} (${((await Deno.stat(CHECKPOINT)).size / 1e6).toFixed(2)} MB)`],
  ["config, step", `${loaded.config.name}, ${loaded.step}`],
  [
    "vocabulary restored",
    reloadedVocab.length === vocab.size && reloadedVocab.every((t, i) => t === vocab.tokens[i])
      ? "yes"
      : "no",
  ],
  ["max |logits(saved) − logits(reloaded)|", maxDiff],
  [`the reloaded model writes the same poem from “${STARTS[0]}”`, samePoem ? "yes" : "no"],
], { header: ["checkpoint", ""] }));
tf.dispose([inputs, traced.logits, ...attention, ...held.flatMap((b) => [b.inputs, b.targets])]);
disposeGPT(loaded.params);

// %% [markdown]
// ## Things to try
//
// 1. Train longer: `pretrain(params, config, corpus.trainIds, { ...settings, steps: 2000 }, …)`
//    and watch whether the validation loss keeps falling or starts to rise above the training
//    loss (over-fitting on ~330 thousand characters).
// 2. Change the sampling: `writePoem({ params, config }, vocab, "春", { temperature: 0.3, topK: 5,
//    seed: 0 })`, or temperature 1.3 and topK 200. How does the fraction of well-formed lines
//    (`fiveCharLineForm`) change?
// 3. Compute L₁ with a longer window (`K = 8`, or the whole context): which terms change, and
//    why do the first terms not?
// 4. Keep 1,500 characters instead of 2,500 (`commonCharacterCorpus(poems, 1500, PROMPT)`):
//    fewer poems, a smaller V. Compare the unigram baseline and the model's loss.
// 5. Train GPT-1's post-LN arrangement: `{ ...config, norm: "post" }`. Does it still train
//    with the same learning rate?
// 6. Load the checkpoint in a new notebook with
//    `loadCheckpoint(outputPath("checkpoints", "06_tang.gptc"))` and rebuild the vocabulary
//    from `extra.vocabulary` (`new Vocabulary(tokens, specials)`).
