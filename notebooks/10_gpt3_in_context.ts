// Chapter 10 — 3.3.3 GPT 3 in-context learning
// Source of notebooks/10_gpt3_in_context.ipynb (regenerate with `deno task notebooks`).
// Run in a terminal: `deno task chapter 10` (`QUICK=1` uses tiny models and short runs).

// %% [markdown]
// # 10 GPT-3 in-context learning — examples in the prompt, and sparse attention
//
// GPT-2 (chapter 09) answered tasks stated in words. GPT-3 (Brown et al. 2020, "Language Models
// are Few-Shot Learners") asked what happens when the prompt also holds a few solved examples:
// zero-shot (a task description), one-shot (one example) and few-shot (K examples, as many as fit
// the context), with **no update of the weights** — what the paper calls *in-context learning*
// (§1, Figure 1.1). The article describes it as giving the model a description of the situation.
// This chapter
//
// 1. runs zero-, one- and few-shot prompts on chapter 09's base model, for a task it knows from
//    pre-training and for one invented afresh in every prompt, with K ∈ {0, 1, 2, 4, 8} over three
//    draws of the examples (GPT-3's Figure 1.2 in miniature), and measures Olsson et al.'s
//    in-context learning score;
// 2. trains the smallest models in which copying from the context can appear — attention-only
//    Transformers of two layers and of one — and looks for *induction heads* (Olsson et al. 2022);
// 3. builds GPT-3's sparse attention: the Sparse Transformer's patterns (Child et al. 2019) as
//    masks, a banded attention that computes only the band, its cost against dense attention on
//    this machine and for GPT-3's 2,048-token context, and a small GPT with alternating dense and
//    banded layers trained beside a dense one.
//
// **Errata.** (1) The article says GPT-3 "引入了sparse transformer": GPT-3 uses "alternating dense
// and locally banded sparse attention patterns in the layers of the transformer, similar to the
// Sparse Transformer" (Brown et al. 2020, §2.1) — half its layers are dense, and the model is not a
// Sparse Transformer. (2) In-context learning changes no weight: the examples are part of the
// input (§1: "we use the term 'in-context learning' to describe the inner loop of this process,
// which occurs within the forward-pass upon each sequence"). (3) The article's "1750亿个参数" here
// is right (175 billion); its introduction's "1.75亿" is not (chapter 00). (4) The section is
// numbered 3.3.3 in the article, inside ChatGPT's section; it continues 3.2's GPT series (chapter 09).

// %%
import * as tf from "@tensorflow/tfjs";
import {
  causalMask,
  countGPTParameters,
  disposeGPT,
  GPT3_175B_CONFIG,
  gptForward,
  heatmap,
  isQuick,
  lineChart,
  loadDataText,
  md,
  monitorOnDemand,
  setup,
  show,
  sparseAttentionMask,
  table,
  tex,
} from "../mod.ts";
import {
  type BaseModel,
  type BaseVariant,
  CLASSIFY_TASK,
  compareAttentionPatterns,
  fewShotAccuracy,
  type FewShotTask,
  findInductionHeads,
  GPT3_175B_ATTENTION,
  gpt3AttentionCosts,
  inContextLearningScore,
  inductionSettings,
  loadBaseModel,
  logLogSlope,
  phaseChangeStep,
  sparseSettings,
  timeAttention,
  trainInduction,
  TRANSLATE_TASK,
} from "../lib/experiments/mod.ts";
import { generateWebText, TASK_KINDS } from "../data/webtext.ts";

await setup({ title: "10 GPT-3 in-context learning" });
const quick = isQuick();
const fmt = (x: number, digits = 2) => x.toFixed(digits);
const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
const gpt3Count = countGPTParameters(GPT3_175B_CONFIG);
await show(md(
  `GPT-3 175B counted from its configuration (${GPT3_175B_CONFIG.layers} blocks of width ${
    GPT3_175B_CONFIG.dModel.toLocaleString("en")
  }): ${gpt3Count.toLocaleString("en")} parameters, ${
    (gpt3Count / 1e8).toFixed(0)
  }亿 — the paper's 175.0B, written 1750亿 in this section of the article: here it is right.`,
));

// %% [markdown]
// ## Zero-, one- and few-shot on the base model
//
// GPT-3's format (Figure 2.1): a task description, K solved examples, then the query. Two tasks:
//
// - **translate a held-out word**, in the glossary format of the web text
//   (生词表：猫：cat；狗：dog；老虎：) — the examples are taught words, the query a held-out one,
//   whose English the corpus states in glossaries: a task the model can know from pre-training;
// - **invented labels**: a classification game whose two label words are given to two kinds of
//   noun at random *in this prompt* (分类游戏：苹果是左，猫是右，梨是), the query a noun no
//   example names. No page of the corpus says which label this prompt gives to which kind; only the
//   examples can.
//
// Each K is run with three draws of examples and queries; the line is the mean, the band the
// lowest and highest draw. The base model is chapter 09's (built by `deno task pretrain`, or here
// when missing).

// %%
/** A base model from the cache, or built here with a progress bar and its loss curve. */
const model = (variant: BaseVariant) =>
  loadBaseModel(variant, { quick, log: (m) => console.log(m), progress: monitorOnDemand });
const base = await model("base");
const KS = [0, 1, 2, 4, 8];
const SEEDS = [1, 2, 3];
const queries = quick ? 20 : 200;
const tasks: FewShotTask[] = [TRANSLATE_TASK, CLASSIFY_TASK];
const curves = tasks.map((task) =>
  KS.map((k) => SEEDS.map((seed) => fewShotAccuracy(base, task, k, { queries, seed })))
);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const acc = curves.map((byK) => byK.map((runs) => runs.map((r) => r.accuracy)));
await show(
  table(
    tasks.flatMap((task, t) =>
      KS.map((k, i) => [
        task.name,
        String(k),
        mean(acc[t][i]),
        Math.min(...acc[t][i]),
        Math.max(...acc[t][i]),
      ])
    ),
    {
      header: ["task", "K", "accuracy (mean of 3 draws)", "lowest draw", "highest draw"],
      title: `Few-shot accuracy, ${queries} queries per draw`,
      digits: 3,
    },
  ),
  lineChart(
    tasks.flatMap((task, t) => [
      { name: `${task.name} (mean)`, x: KS, y: acc[t].map(mean) },
      { name: `${task.name} (lowest)`, x: KS, y: acc[t].map((a) => Math.min(...a)) },
      { name: `${task.name} (highest)`, x: KS, y: acc[t].map((a) => Math.max(...a)) },
    ]),
    {
      title: "Accuracy against the number of examples in the prompt",
      xTitle: "K",
      yTitle: "accuracy",
    },
  ),
);

// %%
const fewShotExample = curves[1][KS.indexOf(4)][0].items[0];
const invented = acc[1];
const gain = mean(invented[KS.length - 1]) - mean(invented[0]);
// Among the prompts with K ≥ 2, the answer is one of the two labels the examples used whenever
// both kinds appear; the model's rate of answering *one of the prompt's labels* against that of
// answering the right one tells whether it learned the label space or the mapping.
const withLabels = curves[1][KS.length - 1].flatMap((r) => r.items);
const labelOf = (item: { prompt: string }) =>
  new Set([...item.prompt.matchAll(/是(.)，/g)].map((m) => m[1]));
const inLabelSpace = withLabels.filter((i) => labelOf(i).has(i.output)).length / withLabels.length;
const right = withLabels.filter((i) => i.right).length / withLabels.length;
await show(
  md(
    `An invented-labels prompt with K = 4 and the model's answer: **${fewShotExample.prompt}** → **${
      fewShotExample.output || "(nothing)"
    }** (expected ${fewShotExample.answer}).`,
  ),
  md(
    [
      `- Translation: ${pct(mean(acc[0][0]))} with no example, ${
        pct(mean(acc[0][KS.length - 1]))
      } with 8 — ${
        Math.abs(mean(acc[0][KS.length - 1]) - mean(acc[0][0])) < 0.05
          ? mean(acc[0][0]) >= 0.5
            ? "the model knows these words from the glossaries it read, and examples add little, " +
              "as GPT-3 found for tasks that look like its training text"
            : "the model neither knows the words nor learns them from the examples"
          : mean(acc[0][KS.length - 1]) > mean(acc[0][0])
          ? "the examples help with a task it partly knows"
          : "the examples hurt"
      }.`,
      `- Invented labels: ${pct(mean(invented[0]))} with no example, ${
        pct(mean(invented[KS.length - 1]))
      } with 8 — ${
        gain >= 0.2
          ? `a gain of ${(100 * gain).toFixed(0)} points, from the prompt alone`
          : `a gain of ${(100 * gain).toFixed(0)} points, short of the 20 this chapter looks for`
      }.`,
      `- What was learned: with K = 8, ${pct(inLabelSpace)} of the answers are one of the labels ` +
      `the prompt uses, and ${pct(right)} are the right one. ${
        inLabelSpace > 0.8 && right < 0.65
          ? "The model has learned from the examples *which* labels are in play, but not *which " +
            "kind gets which*: among the prompt's two labels it is close to a coin toss. Min et " +
            "al. (2022, “Rethinking the Role of Demonstrations”) found the same in large models: " +
            "demonstrations teach the label space and the format more than the mapping."
          : right >= 0.65
          ? "It has learned the mapping from kind to label, not only the labels in play."
          : "It has not reliably learned even which labels are in play."
      }`,
    ].join("\n"),
  ),
);

// %% [markdown]
// ### The in-context learning score
//
// Olsson et al. (2022) measure in-context learning without any task: the loss of a token late in
// the context minus the loss of a token early in it (they take the 500th and the 50th). A model
// that uses what its context has said predicts late tokens better, and the score is negative.
// The base model's context is far shorter, so the positions are scaled down; the text is held-out
// web text, for the base model, its smaller siblings and the control of chapter 09 (on plain pages
// only, the kind it read).

// %%
const held = generateWebText({ pages: quick ? 400 : 3000, seed: 7 });
const plain = held.filter((p) => !TASK_KINDS.includes(p.kind));
const others = [await model("small"), await model("tiny"), await model("no-tasks")];
const nCtx = base.config.contextLength;
const early = 8, late = nCtx - 6;
const scoreOf = (m: BaseModel, pages: typeof held) => {
  const bos = m.tokenizer.vocab.idOf("<s>");
  const ids = pages.flatMap((p) => [bos, ...m.tokenizer.encode(p.text)]);
  const windows = Math.min(quick ? 16 : 200, Math.floor(ids.length / (nCtx + 1)));
  return inContextLearningScore(m, ids, { early, late, windows });
};
await show(md(
  `The context is ${nCtx} tokens: position ${late} against position ${early}.`,
));
const icl = [base, ...others].map((m) => ({
  m,
  s: scoreOf(m, m.recipe.variant === "no-tasks" ? plain : held),
}));
await show(
  table(
    icl.map(({ m, s }) => [
      m.recipe.variant,
      countGPTParameters(m.config).toLocaleString("en"),
      m.recipe.variant === "no-tasks" ? "plain pages" : "all pages",
      s.early,
      s.late,
      s.score,
    ]),
    {
      header: ["model", "parameters", "text", `loss at ${early}`, `loss at ${late}`, "score"],
      title: "In-context learning score (nats; negative = later tokens predicted better)",
      digits: 3,
    },
  ),
  lineChart(
    icl.map(({ m, s }) => ({ name: m.recipe.variant, y: s.lossByPosition })),
    { title: "Loss by position in the context", xTitle: "position", yTitle: "nats" },
  ),
);
const negative = icl.filter(({ s }) => s.score < 0).map(({ m }) => m.recipe.variant);
await show(md(
  negative.length === icl.length
    ? "Every model predicts late tokens better than early ones: each uses its context."
    : negative.length > 0
    ? `The score is negative for ${negative.join(", ")}: those predict late tokens better than ` +
      "early ones."
    : "No model predicts late tokens better than early ones here.",
));

// %% [markdown]
// ## Induction heads: how a Transformer copies from its context
//
// Olsson et al. (2022) trace much of in-context learning to *induction heads*: a head that, at a
// token A, attends to the token that followed an earlier A and copies it ([A][B] … [A] → [B]). It
// needs two layers: a head in the first writes "the previous token was A" into each position, and
// the induction head in the second finds the position whose previous token matches the current
// one. Their signature is a phase change: early in training the loss on repeated text drops
// suddenly, as induction heads form. The cleanest place to see it is a tiny attention-only model
// (no feed-forward layers: `feedForward: false` in the GPT's config) on random tokens that repeat —
// random, so that only the repeat can predict the second copy.

// %%
const settings = inductionSettings(quick);
const two = await trainInduction(settings, 2);
const one = await trainInduction(settings, 1);
const last = (r: typeof two) => r.history[r.history.length - 1];
await show(
  md(
    `Both models are attention-only GPTs (no feed-forward sublayer), ` +
      `d_model ${settings.dModel}, ${settings.heads} heads per layer, trained for ${settings.steps} ` +
      `steps of ${settings.batchSize} sequences of ${settings.total} tokens: a random segment of ` +
      `${settings.minLength}–${settings.maxLength} tokens (vocabulary ${settings.vocabSize - 1}) ` +
      `that repeats until the sequence ends, after a random prefix. Measured on ` +
      `${settings.evalCount} held-out sequences.`,
  ),
  lineChart(
    [two, one].flatMap((r) => [
      {
        name: `${r.config.layers} layer${r.config.layers > 1 ? "s" : ""}: repeated tokens`,
        x: r.history.map((p) => p.step),
        y: r.history.map((p) => p.losses.repeatedHalf),
      },
      {
        name: `${r.config.layers} layer${r.config.layers > 1 ? "s" : ""}: first copy`,
        x: r.history.map((p) => p.step),
        y: r.history.map((p) => p.losses.firstHalf),
      },
    ]),
    { title: "loss per token against training steps", xTitle: "step", yTitle: "nats" },
  ),
  lineChart(
    [two, one].map((r) => ({
      name: `${r.config.layers} layer${r.config.layers > 1 ? "s" : ""}`,
      x: r.history.map((p) => p.step),
      y: r.history.map((p) => p.inductionScore),
    })),
    { title: "highest induction score of any head", xTitle: "step", yTitle: "score" },
  ),
  table(
    [two, one].map((r) => [
      r.config.name,
      r.history[0].losses.repeatedHalf,
      last(r).losses.firstHalf,
      last(r).losses.repeatedHalf,
      last(r).inductionScore,
    ]),
    {
      header: [
        "model",
        "repeated, step 0",
        "first copy, end",
        "repeated, end",
        "best induction score",
      ],
      title: "loss (nats per token) and induction score",
      digits: 3,
    },
  ),
  table(
    [...two.heads, ...one.heads.map((h) => ({ ...h, model: 1 }))].map((h) => [
      "model" in h ? "1 layer" : "2 layers",
      `${h.layer}.${h.head}`,
      h.induction,
      h.previousToken,
    ]),
    {
      header: ["model", "layer.head", "induction score", "previous-token score"],
      title: "every head's scores at the end of training",
      digits: 3,
    },
  ),
);
const drop = (r: typeof two) => r.history[0].losses.repeatedHalf - last(r).losses.repeatedHalf;
const d2 = drop(two), d1 = drop(one);
const phase = phaseChangeStep(two.history, one.history);
await show(
  md(
    `The 2-layer model lowered its loss on repeated tokens by ${fmt(d2)} nats, the 1-layer ` +
      `control by ${fmt(d1)}. ` +
      (phase === undefined
        ? `The 2-layer model never got half a nat below the lowest loss the control reached ` +
          `in ${settings.steps} steps: no phase change within this run.`
        : `From step ${phase} on, the 2-layer model's loss on repeated tokens is more than half ` +
          `a nat below the lowest the control ever reached: the phase change, after which ` +
          `copying from the context beats anything one layer can do.`),
  ),
);

// the induction stripe: the best head's attention on one held-out sequence
const best = two.heads[0];
const sample = two.evalSequences[0];
const period = sample.repeats[0].second - sample.repeats[0].first;
const stripe = tf.tidy(() => {
  const ids = tf.tensor2d([sample.tokens], undefined, "int32");
  const { attention } = gptForward(two.params, two.config, ids, { trace: true });
  return attention![best.layer].slice([0, best.head], [1, 1]).reshape([
    sample.tokens.length,
    sample.tokens.length,
  ]).arraySync() as number[][];
});
const labels = sample.tokens.map((t, i) => `${i}:${t}`);
await show(
  heatmap(stripe, {
    x: labels,
    y: labels,
    title: `head ${best.layer}.${best.head} (induction score ${
      fmt(best.induction)
    }) on a sequence whose segment starts at ${sample.repeats[0].first} with length ${period}`,
    xTitle: "key (position:token)",
    yTitle: "query",
    colorscale: "sequential",
  }),
  md(
    `An induction head's stripe runs parallel to the diagonal, ${period - 1} positions below ` +
      `it: the query at q looks at q − ${period} + 1, the token after the previous occurrence of ` +
      `its own token. ` +
      (best.induction >= 0.5
        ? `Head ${best.layer}.${best.head} puts ${pct(best.induction)} of its attention there on ` +
          `average: an induction head.`
        : `No head puts half its attention there (the best, ${best.layer}.${best.head}, ` +
          `${pct(best.induction)}): whatever this model learned to copy with, its attention is ` +
          `spread over several positions rather than one clean induction stripe.`),
  ),
);
disposeGPT(two.params);
disposeGPT(one.params);

// %% [markdown]
// Does the base model have induction heads? Random token sequences that repeat, over its own
// vocabulary, and every head's induction score:

// %%
const specials = new Set(base.tokenizer.vocab.specials);
const ordinary = base.tokenizer.vocab.tokens.flatMap((t, i) => (specials.has(t) ? [] : [i]));
const baseHeads = findInductionHeads(base.params, base.config, {
  tokens: ordinary,
  bos: base.tokenizer.vocab.idOf("<s>"),
  count: quick ? 8 : 32,
  total: Math.min(nCtx, 81),
  seed: 1,
});
const topHead = baseHeads.heads[0];
await show(
  table(
    baseHeads.heads.slice(0, 4).map((h) => [`${h.layer}.${h.head}`, h.induction, h.previousToken]),
    {
      header: ["layer.head", "induction score", "previous-token score"],
      title: "The base model's heads with the highest induction scores",
      digits: 3,
    },
  ),
  md(
    `On the second copy of a random segment the base model's loss is ${
      fmt(baseHeads.losses.repeatedHalf)
    } nats per token, against ${fmt(baseHeads.losses.firstHalf)} on the first copy. ${
      baseHeads.losses.repeatedHalf < baseHeads.losses.firstHalf - 0.5
        ? "It copies random text it has seen once in its context"
        : "It does not copy random text from its context: its web text never repeated a random " +
          "sequence, and the copying it does (a name from a passage into an answer) rides on " +
          "what the words mean"
    }; its best head (${topHead.layer}.${topHead.head}) puts ${
      pct(topHead.induction)
    } of its attention where an induction head would.`,
  ),
);

// %% [markdown]
// ## GPT-3's sparse attention
//
// Dense attention compares every token with every earlier one: T² scores per head and layer. The
// Sparse Transformer (Child et al. 2019, §4.2) lets each token see only a pattern of earlier
// positions. Three patterns, drawn as the masks this library adds to the scores (dark = may look):
// *local* (the last w positions), *strided* (the last l and every l-th before them) and *fixed*
// (the query's own block of l and the last c positions of every block).

// %%
const maskT = 16;
const patterns = [
  { name: "dense (causal)", mask: causalMask(maskT) },
  { name: "local, window 4", mask: sparseAttentionMask(maskT, { kind: "local", window: 4 }) },
  { name: "strided, stride 4", mask: sparseAttentionMask(maskT, { kind: "strided", stride: 4 }) },
  {
    name: "fixed, stride 4, c 1",
    mask: sparseAttentionMask(maskT, { kind: "fixed", stride: 4, c: 1 }),
  },
];
for (const p of patterns) {
  const allowed = (p.mask.arraySync() as number[][]).map((r) => r.map((x) => (x === 0 ? 1 : 0)));
  const seen = allowed.flat().reduce((a: number, b) => a + b, 0);
  await show(heatmap(allowed, {
    title: `${p.name}: ${seen} of ${maskT * maskT} scores (${
      pct(seen / (maskT * (maskT + 1) / 2))
    } of the causal ones)`,
    xTitle: "key j",
    yTitle: "query i",
    colorscale: "sequential",
    showValues: false,
  }));
  p.mask.dispose();
}

// %% [markdown]
// A mask only hides scores that were computed anyway. `bandedAttention` (lib/attention.ts)
// computes only the band: the queries are cut into blocks, and each block is multiplied only with
// the keys it may see — the blocked layout of Child et al. (§5.5). It equals dense attention under
// the local mask (the tests check it to 10⁻⁵). The cost of the scores, for T tokens, a window w and
// d dimensions per head:

// %%
await show(
  tex`\text{dense: } T^2 d \text{ multiply-adds, } T^2 \text{ scores} \qquad \text{banded: } \approx T\,w\,d \text{ multiply-adds, } \approx T\,w \text{ scores}`,
);

// %%

const window = 256;
const g3 = gpt3AttentionCosts(window);
const { T, layers, heads, dHead } = GPT3_175B_ATTENTION;
await show(
  md(
    `GPT-3 175B: ${layers} layers, ${heads} heads of ${dHead} dimensions, ` +
      `${T}-token context (Brown et al. 2020, Table 2.1). The paper does not give the band's ` +
      `width; here it is ${window} (a parameter). Scores in fp16, one sequence, forward.`,
  ),
  table(
    [
      ["one dense layer", g3.perLayer.dense.flops / 1e9, g3.perLayer.dense.scoreBytes / 2 ** 20],
      [
        `one banded layer (window ${window})`,
        g3.perLayer.banded.flops / 1e9,
        g3.perLayer.banded.scoreBytes / 2 ** 20,
      ],
      ["all 96 layers dense", g3.dense.flops / 1e9, g3.dense.scoreBytes / 2 ** 20],
      [
        "alternating dense / banded",
        g3.alternating.flops / 1e9,
        g3.alternating.scoreBytes / 2 ** 20,
      ],
    ],
    { header: ["", "attention-score GFLOPs", "score memory (MiB)"], digits: 1 },
  ),
  md(
    `Alternating cuts the attention scores' FLOPs and memory to ${
      pct(g3.alternating.flops / g3.dense.flops)
    } of all-dense; a banded layer alone needs ${
      pct(g3.perLayer.banded.scoresComputed / g3.perLayer.dense.scoresComputed)
    } of a dense layer's scores.`,
  ),
);

// %%
const lengths = quick ? [256, 512, 1024] : [256, 512, 1024, 2048, 4096];
const timeWindow = 128;
const timings = await timeAttention(lengths, { window: timeWindow, repeats: quick ? 1 : 3 });
const denseRows = timings.filter((r) => r.denseMs !== undefined);
const slopes = {
  denseTime: logLogSlope(denseRows.map((r) => r.T), denseRows.map((r) => r.denseMs!)),
  bandedTime: logLogSlope(timings.map((r) => r.T), timings.map((r) => r.bandedMs)),
  denseMemory: logLogSlope(denseRows.map((r) => r.T), denseRows.map((r) => r.denseBytes!)),
  bandedMemory: logLogSlope(timings.map((r) => r.T), timings.map((r) => r.bandedBytes)),
};
await show(
  table(
    timings.map((r) => [
      String(r.T),
      r.denseMs ?? "—",
      r.bandedMs,
      r.denseBytes === undefined ? "—" : r.denseBytes / 2 ** 20,
      r.bandedBytes / 2 ** 20,
    ]),
    {
      header: ["T", "dense ms", "banded ms", "dense MiB", "banded MiB"],
      title: `one head, d = 64, window ${timeWindow}, forward (this machine)`,
      digits: 2,
    },
  ),
  lineChart(
    [
      { name: "dense", x: denseRows.map((r) => r.T), y: denseRows.map((r) => r.denseMs!) },
      { name: "banded", x: timings.map((r) => r.T), y: timings.map((r) => r.bandedMs) },
    ],
    { title: "attention time against T", xTitle: "T", yTitle: "ms", logY: true },
  ),
  md(
    `Log–log slopes: dense time ${fmt(slopes.denseTime)}, memory ${fmt(slopes.denseMemory)}; ` +
      `banded time ${fmt(slopes.bandedTime)}, memory ${fmt(slopes.bandedMemory)} ` +
      `(2 means ∝ T², 1 means ∝ T). ` +
      (slopes.bandedTime < slopes.denseTime - 0.3
        ? "Banded attention's time grows clearly more slowly than dense attention's."
        : "At these lengths the times do not yet separate clearly (fixed costs dominate)."),
  ),
);

// %% [markdown]
// Finally, what a band cannot do. Three small GPTs with the same size, data and steps: all layers
// dense, dense and banded layers alternating (GPT-3's arrangement), and all layers banded. They
// are trained on chapter 00's sentences (validation loss) and on a recall task in which the answer
// lies further back than a banded layer's window.

// %%
const sparse = sparseSettings(quick);
const lines = (await loadDataText("intro_zh.txt")).split("\n").filter((l) => l.length > 0);
const comparison = await compareAttentionPatterns(sparse, lines);
await show(
  table(
    comparison.variants.map((v) => [
      v.name,
      v.attention.map((a) => a === "dense" ? "dense" : `local ${a.window}`).join(", "),
      Number.isFinite(v.receptiveField) ? String(v.receptiveField) : "whole context",
      v.textValidationLoss,
      v.recallAccuracy,
    ]),
    {
      header: ["model", "layers", "sees back", "text val. loss", "recall accuracy"],
      title: `${sparse.layers}-layer GPTs, same seed, data and steps (text: ${sparse.textSteps}, ` +
        `recall: ${sparse.recallSteps}); unigram val. loss ${
          fmt(comparison.textUnigramLoss, 3)
        }, recall chance ${fmt(comparison.recallChance, 3)}`,
      digits: 3,
    },
  ),
);
const [dense, alternating, banded] = comparison.variants;
const lossGap = alternating.textValidationLoss - dense.textValidationLoss;
await show(
  md(
    `On text, the alternating model's validation loss is ${fmt(Math.abs(lossGap), 3)} nats ` +
      `${lossGap >= 0 ? "above" : "below"} the dense model's (` +
      (Math.abs(lossGap) < 0.05
        ? "one seed; below 0.05 nats this chapter calls it no clear difference"
        : lossGap > 0
        ? "dense is better"
        : "alternating is better") +
      `). On recall, where the answer lies at least ${sparse.recallMinDistance} positions back and ` +
      `the banded-only model sees ${banded.receptiveField}, accuracy is ${
        pct(dense.recallAccuracy)
      } ` +
      `(dense), ${pct(alternating.recallAccuracy)} (alternating) and ${
        pct(banded.recallAccuracy)
      } ` +
      `(banded only; chance ${pct(comparison.recallChance)}).`,
  ),
);
const example = comparison.recallEval[0];
await show(
  table(
    comparison.variants.map((v) => [
      v.name,
      v.recallAnswers[0],
      v.recallAnswers[0] === example.answer ? "right" : "wrong",
    ]),
    {
      header: ["model", "answer", ""],
      title: `a case: ⟨key⟩ at position ${example.position - 1}, answer ${example.answer} at ` +
        `${example.position}, ⟨query⟩ at ${example.tokens.length - 1}: ${example.tokens.join(" ")}`,
    },
  ),
);

// %% [markdown]
// ## Things to try
//
// 1. Write your own few-shot prompt: `greedyAnswer(base, "分类游戏：猫是上，苹果是下，狗是上，梨是")`.
//    Swap which kind gets which label: does the answer follow?
// 2. Raise K beyond 8: how long can a prompt be before the 96-token context cuts its beginning?
// 3. Train the induction models longer (`{ ...inductionSettings(false), steps: 8000 }`) or with
//    segments of one fixed length: does a clean stripe appear, or a positional shortcut?
// 4. Change the band in `timeAttention([256, 1024, 4096], { window: 32 })`: how do the slopes move?
// 5. Make the recall distance shorter than the band (`sparseSettings`) and watch the banded-only
//    model catch up.
