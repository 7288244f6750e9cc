/**
 * Chapter 10's library experiments, runnable on their own (the chapter, notebooks/10_*.ts, is
 * assembled from them): induction heads in a 2-layer attention-only GPT against a 1-layer
 * control (Olsson et al. 2022), and GPT-3's alternating dense and banded attention (Brown et al.
 * 2020, §2.1; Child et al. 2019) — counted, timed and trained. From the repository's root:
 *
 *   deno run -A experiments/10_induction_and_sparse.ts        (QUICK=1: seconds)
 *
 * Every sentence printed is computed from the numbers above it.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  disposeGPT,
  gptForward,
  heatmap,
  isQuick,
  lineChart,
  loadDataText,
  md,
  setup,
  show,
  table,
} from "../mod.ts";
import {
  compareAttentionPatterns,
  GPT3_175B_ATTENTION,
  gpt3AttentionCosts,
  inductionSettings,
  logLogSlope,
  phaseChangeStep,
  sparseSettings,
  timeAttention,
  trainInduction,
} from "../lib/experiments/mod.ts";

await setup({ title: "chapter 10 experiments: induction heads and sparse attention" });
const quick = isQuick();
const fmt = (x: number, digits = 2) => x.toFixed(digits);
const pct = (x: number) => `${(100 * x).toFixed(0)}%`;

// ---------------------------------------------------------------------------------------
// 1. Induction heads
// ---------------------------------------------------------------------------------------

const settings = inductionSettings(quick);
const two = await trainInduction(settings, 2);
const one = await trainInduction(settings, 1);
const last = (r: typeof two) => r.history[r.history.length - 1];
await show(
  md(
    `## Induction heads\n\nBoth models are attention-only GPTs (no feed-forward sublayer), ` +
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
          `in ${settings.steps} steps: no phase change yet (it comes later in training).`
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

// ---------------------------------------------------------------------------------------
// 2. Sparse attention: counts, times, trained models
// ---------------------------------------------------------------------------------------

const window = 256;
const g3 = gpt3AttentionCosts(window);
const { T, layers, heads, dHead } = GPT3_175B_ATTENTION;
await show(
  md(
    `## Sparse attention\n\nGPT-3 175B: ${layers} layers, ${heads} heads of ${dHead} dimensions, ` +
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
        ? "no clear difference"
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
