// Chapter 02 — 3.1.1 Encoder
// Source of notebooks/02_encoder.ipynb (regenerate with `deno task notebooks`).
// Run in a terminal: `deno task chapter 02`.

// %% [markdown]
// # 02 Encoder — attention, Add & Norm, feed-forward, N×
//
// The encoder's job is to turn the input vectors x (chapter 01) into better vectors of the
// same shape, in which every token has looked at every other one. One encoder block is four
// steps, and the article names them in order:
//
// 1. **Attention** — each token gathers information from the others (chapter 04 opens it up);
// 2. **Add** — the residual connection: the block adds what attention produced to its input;
// 3. **Norm** — layer normalisation keeps every vector's numbers on a stable scale;
// 4. **Feed-forward** — a small two-layer network applied to each position separately,
//    followed by another Add & Norm.
//
// Then the block is stacked N times (N = 6 in “Attention Is All You Need”). This chapter
// runs one block on a real sentence and prints the shape after every step.

// %%
import {
  CharTokenizer,
  createOptimizer,
  disposeGPT,
  encoderBlock,
  fit,
  gptConfig,
  gptParameters,
  heatmap,
  initEmbedding,
  initEncoderBlock,
  initGPT,
  initLayerNorm,
  inputEmbedding,
  isQuick,
  languageModelingLoss,
  layerNorm,
  lineChart,
  lmBatches,
  loadDataText,
  md,
  type NormPlacement,
  setup,
  show,
  sinusoidalPositionalEncoding,
  table,
  tex,
  WordTokenizer,
} from "../mod.ts";
import { unigramCrossEntropy } from "../lib/experiments/mod.ts";
import * as tf from "@tensorflow/tfjs";

await setup({ title: "02 Encoder" });

// %% [markdown]
// ## The encoder's input and the decoder's input
//
// In supervised training (translation, say) the encoder and the decoder each get their own
// input. For the pair “Hello, world” → “Bonjour, monde”, the encoder reads the English
// sentence; the decoder reads the French one shifted right by a start token `<s>`, and is
// trained to predict the French one, token by token (chapter 05 does this for real). Both
// go through the same text representation as in chapter 01.

// %%
const source = "Hello, world";
const target = "Bonjour, monde";
const words = WordTokenizer.fromText(`${source} ${target}`, { specials: ["<pad>", "<s>", "</s>"] });
const srcTokens = words.tokenize(source);
const tgtTokens = words.tokenize(target);
await show(table([
  ["encoder input", srcTokens.join(" "), words.encode(source).join(" ")],
  [
    "decoder input",
    ["<s>", ...tgtTokens].join(" "),
    words.vocab.encode(["<s>", ...tgtTokens]).join(" "),
  ],
  [
    "decoder target",
    [...tgtTokens, "</s>"].join(" "),
    words.vocab.encode([...tgtTokens, "</s>"]).join(" "),
  ],
], { header: ["", "tokens", "ids"], title: "“Hello, world” → “Bonjour, monde”" }));

// %% [markdown]
// ## One encoder block, step by step
//
// We embed “Hello, world” (3 tokens: `Hello`, `,`, `world`) into d_model = 16 dimensions,
// add sinusoidal positions, and run one block with h = 2 attention heads and a feed-forward
// width of 4·d_model = 64. The block's weights are random: shapes and the flow of data are
// the same before and after training. The original Transformer arranges each sub-layer as
// **post-LN**:

// %%
const dModel = 16;
const heads = 2;
const dFF = 4 * dModel;
const ids = tf.tensor2d([words.encode(source)], undefined, "int32");
const We = initEmbedding(words.vocabSize, dModel, 1);
const x = inputEmbedding(We, ids, sinusoidalPositionalEncoding(ids.shape[1], dModel));
const block = initEncoderBlock(dModel, heads, dFF, 2);
const { output, trace } = encoderBlock(block, x, { norm: "post", activation: "relu" });
const shape = (t: tf.Tensor) => `[${t.shape.join(", ")}]`;
// The FFN reads the attention sublayer's output h [B, T, d_model]; its inner layer hW₁ has
// h's shape with the last axis replaced by W₁'s columns, d_ff.
const ffnInner = `[${
  [...trace.afterAttention.shape.slice(0, -1), block.ffn.W1.shape[1]].join(", ")
}]`;
await show(
  tex`\mathrm{sublayer}_{\text{post-LN}}(x) = \mathrm{LayerNorm}\big(x + \mathrm{Sublayer}(x)\big)`,
  table([
    ["input x = UWₑ + PE", "x", shape(trace.input)],
    ["multi-head self-attention", "MultiHead(x, x, x)", shape(trace.attentionOutput)],
    ["attention weights (per head)", "softmax(QKᵀ/√dₖ)", shape(trace.weights)],
    ["Add & Norm", "LayerNorm(x + MultiHead(x))", shape(trace.afterAttention)],
    ["feed-forward, inner layer", "max(0, xW₁ + b₁)", ffnInner],
    ["feed-forward, output", "(…)W₂ + b₂", shape(trace.ffnOutput)],
    ["Add & Norm = block output", "LayerNorm(h + FFN(h))", shape(trace.output)],
  ], { header: ["step", "formula", "shape [batch, tokens, width]"] }),
);

// %% [markdown]
// Every step keeps the shape [batch, tokens, d_model] except inside the feed-forward network,
// which widens each vector to 4·d_model and projects it back. That is why blocks can be
// stacked: the output of one is a valid input of the next. Here is what went in and what
// came out, and what each of the two heads looked at:

// %%
const srcLabels = srcTokens;
await show(
  heatmap(x.squeeze([0]) as tf.Tensor2D, {
    y: srcLabels,
    title: "x: the block's input",
    xTitle: "dimension",
    colorscale: "diverging",
  }),
  heatmap(trace.weights.slice([0, 0], [1, 1]).reshape([3, 3]) as tf.Tensor2D, {
    x: srcLabels,
    y: srcLabels,
    title: "head 1: attention weights (row = query, column = key)",
    zmin: 0,
    zmax: 1,
  }),
  heatmap(trace.weights.slice([0, 1], [1, 1]).reshape([3, 3]) as tf.Tensor2D, {
    x: srcLabels,
    y: srcLabels,
    title: "head 2: attention weights",
    zmin: 0,
    zmax: 1,
  }),
  heatmap(output.squeeze([0]) as tf.Tensor2D, {
    y: srcLabels,
    title: "the block's output: same shape, every row normalised",
    xTitle: "dimension",
    colorscale: "diverging",
  }),
);

// %% [markdown]
// ## Norm: what layer normalisation does
//
// LayerNorm rescales each token's vector to mean 0 and variance 1 over its d_model numbers,
// then applies a learned scale γ and shift β (initialised to 1 and 0):

// %%
const rowStats = (t: tf.Tensor) =>
  tf.tidy(() => {
    const { mean, variance } = tf.moments(t, -1);
    return { mean: Array.from(mean.dataSync()), std: Array.from(tf.sqrt(variance).dataSync()) };
  });
const before = rowStats(tf.add(trace.input, trace.attentionOutput));
const after = rowStats(trace.afterAttention);
await show(
  tex`\mathrm{LayerNorm}(x) = \gamma \odot \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta, \quad \mu = \frac{1}{d}\sum_j x_j, \; \sigma^2 = \frac{1}{d}\sum_j (x_j - \mu)^2`,
  table(
    srcLabels.map((t, i) => [t, before.mean[i], before.std[i], after.mean[i], after.std[i]]),
    {
      header: ["token", "mean before", "std before", "mean after", "std after"],
      title: "x + MultiHead(x), before and after LayerNorm",
      digits: 3,
    },
  ),
);

// %% [markdown]
// ## Erratum: the feed-forward network widens, then projects back
//
// The article says the feed-forward network maps the data “back to its original dimension”
// so blocks can be stacked. True of its output, but the point of the network is the middle:
// it first **expands** each vector to d_ff = 4·d_model (2048 for d_model = 512 in the paper),
// applies a ReLU (GELU in GPT), and then projects back to d_model. Most of a Transformer's
// parameters live here:

// %%
const count = (vars: tf.Tensor[]) => vars.reduce((s, v) => s + v.size, 0);
const ffnParams = count([block.ffn.W1, block.ffn.b1, block.ffn.W2, block.ffn.b2]);
const attnParams = count([
  block.selfAttention.Wq,
  block.selfAttention.Wk,
  block.selfAttention.Wv,
  block.selfAttention.Wo,
  block.selfAttention.bq,
  block.selfAttention.bk,
  block.selfAttention.bv,
  block.selfAttention.bo,
]);
const paper = { d: 512, dff: 2048 };
const paperFfn = 2 * paper.d * paper.dff + paper.dff + paper.d;
const paperAttn = 4 * (paper.d * paper.d + paper.d);
await show(
  tex`\mathrm{FFN}(x) = \max(0,\, xW_1 + b_1)\,W_2 + b_2, \quad W_1 \in \mathbb{R}^{${dModel}\times ${dFF}},\; W_2 \in \mathbb{R}^{${dFF}\times ${dModel}}`,
  table([
    [
      "this block (d = 16)",
      attnParams,
      ffnParams,
      (ffnParams / (ffnParams + attnParams) * 100).toFixed(0) + "%",
    ],
    [
      "the paper's base model (d = 512, d_ff = 2048)",
      paperAttn,
      paperFfn,
      (paperFfn / (paperFfn + paperAttn) * 100).toFixed(0) + "%",
    ],
  ], { header: ["", "attention parameters", "FFN parameters", "FFN share"] }),
);

// %% [markdown]
// ## N×: stacking, and post-LN vs pre-LN
//
// The original Transformer and GPT-1 put the normalisation *after* the residual sum
// (post-LN). GPT-2 moved it *before* the sub-layer (pre-LN) and added one final LayerNorm;
// almost every model since does the same, because deep pre-LN stacks train without the
// careful learning-rate warm-up post-LN needs (Xiong et al., 2020).

// %%
await show(
  tex`\text{post-LN: } x_{l+1} = \mathrm{LN}\big(x_l + F(x_l)\big) \qquad \text{pre-LN: } x_{l+1} = x_l + F\big(\mathrm{LN}(x_l)\big)`,
);

// %% [markdown]
// We stack N = 12 random blocks both ways and measure two things at initialisation: the size
// of the vectors flowing between blocks (the *residual stream*), and, for every block, the
// size of the gradient that reaches two of its weight matrices — W₁ of the feed-forward
// network and W_q of attention — from a simple loss on the output (its dot product with a
// fixed random vector): ‖∂loss/∂(W₁, W_q)‖, the square root of the sum of both gradients'
// squared entries. The ratio of the last block's gradient to the first block's says which end
// of the stack one learning rate would move more.

// %%
const N = 12;
const stack = Array.from({ length: N }, (_, l) => initEncoderBlock(dModel, heads, dFF, 100 + l));
const finalNorm = initLayerNorm(dModel);
const probe = tf.randomNormal([1, 3, dModel], 0, 1, "float32", 9);
const measure = (norm: NormPlacement) => {
  const rms: number[] = [];
  const gradNorms: number[] = [];
  const vars = stack.map((b) => [b.ffn.W1, b.selfAttention.Wq] as tf.Variable[]);
  const { grads, value } = tf.variableGrads(() => {
    let h: tf.Tensor = x;
    rms.push(tf.tidy(() => tf.sqrt(tf.mean(tf.square(h))).dataSync()[0]));
    for (const b of stack) {
      h = encoderBlock(b, h, { norm, activation: "relu" }).output;
      const r = tf.tidy(() => tf.sqrt(tf.mean(tf.square(h))).dataSync()[0]);
      rms.push(r);
    }
    if (norm === "pre") h = layerNorm(finalNorm, h);
    return tf.sum(tf.mul(h, probe)) as tf.Scalar;
  }, vars.flat());
  for (const pair of vars) {
    gradNorms.push(
      Math.sqrt(
        pair.reduce((s, v) => s + tf.tidy(() => tf.sum(tf.square(grads[v.name])).dataSync()[0]), 0),
      ),
    );
  }
  tf.dispose([value, ...Object.values(grads)]);
  return { rms, gradNorms, ratio: gradNorms[N - 1] / gradNorms[0] };
};
const post = measure("post");
const pre = measure("pre");
const layers = Array.from({ length: N + 1 }, (_, i) => i);
/** Which end of the stack gets the larger gradient, for a ratio last block / first block. */
const gradientEnd = (ratio: number) =>
  ratio > 1.5
    ? "the blocks near the output get the larger gradients"
    : ratio < 1 / 1.5
    ? "the blocks near the input get the larger gradients"
    : "both ends get gradients of about the same size";
await show(
  lineChart([
    { name: "post-LN", x: layers, y: post.rms },
    { name: "pre-LN", x: layers, y: pre.rms },
  ], { title: "Residual stream size (RMS) after each block", xTitle: "block", yTitle: "RMS of x" }),
  lineChart([
    { name: "post-LN", x: layers.slice(1), y: post.gradNorms },
    { name: "pre-LN", x: layers.slice(1), y: pre.gradNorms },
  ], {
    title: "Gradient norm reaching each block's weights (W₁, W_q)",
    xTitle: "block",
    yTitle: "‖∂loss/∂W‖",
    logY: true,
  }),
  table([
    ["post-LN", post.gradNorms[0], post.gradNorms[N - 1], post.ratio],
    ["pre-LN", pre.gradNorms[0], pre.gradNorms[N - 1], pre.ratio],
  ], {
    header: ["arrangement", "‖∇‖ at block 1", `‖∇‖ at block ${N}`, `ratio block ${N} / block 1`],
    digits: 2,
  }),
  md(
    `Post-LN keeps the stream at RMS ${
      post.rms[N].toFixed(2)
    } after ${N} blocks; pre-LN lets it grow to ${
      pre.rms[N].toFixed(2)
    } (the final LayerNorm brings it back before the output). Under post-LN the last block ` +
      `receives ${post.ratio.toFixed(2)}× the gradient of the first: ${
        gradientEnd(post.ratio)
      }. Under pre-LN the ratio is ${pre.ratio.toFixed(2)}×: ${gradientEnd(pre.ratio)}.`,
  ),
);
tf.dispose([ids, We, x, output, probe, finalNorm.gamma, finalNorm.beta]);

// %% [markdown]
// Why the two arrangements differ (Xiong et al., 2020, “On Layer Normalization in the
// Transformer Architecture”, §3). Under post-LN, the gradient that reaches block l from the
// output has gone back through the LayerNorm of every block above it, and each of them divides
// by the standard deviation of its input x + F(x) — above 1 when two vectors of similar size
// are added. So the gradient shrinks block after block on its way down, and the blocks near the
// output receive the largest. Their Theorem 1 states it at initialisation: the gradient of the
// last layer's feed-forward weights is of order d·√(ln d) under post-LN whatever the depth L,
// and of order d·√(ln d / L) under pre-LN. Large gradients at the top plus a large learning
// rate make the first updates too large there, and training goes astray; a **warm-up**, a
// learning rate that starts near 0 and rises over the first steps (4,000 of them in
// “Attention Is All You Need”, §5.3), is what lets post-LN through that start. Under pre-LN
// the residual path xₗ₊₁ = xₗ + F(LN(xₗ)) passes the gradient down unchanged, every block's
// branch adds its share on the way, and the final LayerNorm divides all of it by the size of
// the grown stream: no block starts with outsized gradients, and no warm-up is needed.
//
// ## The consequence: training without warm-up
//
// What matters is whether the model trains. We train the same small model twice, once post-LN
// and once pre-LN, with everything else equal: a GPT (chapter 06 — these encoder blocks with a
// causal mask, so that each position predicts the next character) of 6 blocks, d_model = 32
// and 2 heads, on the 600 sentences of `data/intro_zh.txt` (chapter 00's corpus), one
// character per token; the same seed, the same batches, and Adam at a constant learning rate
// of 0.01 — no warm-up. For reference, a flat line marks the cross-entropy of a model that
// knows only how often each character occurs (a unigram model, chapter 06).

// %%
const corpusText = await loadDataText("intro_zh.txt");
const chars = CharTokenizer.fromText(corpusText);
const corpusIds = chars.encode(corpusText);
const lnSettings = { steps: isQuick() ? 60 : 200, learningRate: 0.01, lastSteps: 10 };
const lnBatches = lmBatches(corpusIds, { batchSize: 16, contextLength: 16, seed: 2 });
/**
 * Trains a 6-block GPT with the given LayerNorm placement at a constant learning rate (no
 * warm-up) and returns its training losses, and the step at which it diverged (the loss or
 * the gradient stopped being finite, which makes `fit` stop) if it did.
 */
const trainWithoutWarmup = async (norm: NormPlacement) => {
  const config = gptConfig({
    name: `${norm}-LN`,
    vocabSize: chars.vocabSize,
    contextLength: 16,
    layers: 6,
    heads: 2,
    dModel: 32,
    norm,
  });
  const params = initGPT(config, 2);
  const optimizer = createOptimizer({ learningRate: lnSettings.learningRate });
  const losses: number[] = [];
  let divergedAt: number | undefined;
  try {
    await fit({
      variables: gptParameters(params),
      steps: lnSettings.steps,
      optimizer,
      loss: (step) => languageModelingLoss(params, config, lnBatches(step)),
      onStep: (s) => void losses.push(s.loss),
    });
  } catch (error) {
    const nonFinite = String(error).match(/^Error: fit: .* at step (\d+) of/);
    if (!nonFinite) throw error;
    divergedAt = Number(nonFinite[1]);
  } finally {
    optimizer.dispose();
    disposeGPT(params);
  }
  const last = losses.slice(-lnSettings.lastSteps);
  const mean = last.reduce((a, b) => a + b, 0) / last.length;
  const sd = Math.sqrt(last.reduce((a, b) => a + (b - mean) ** 2, 0) / (last.length - 1));
  return { losses, divergedAt, mean, se: sd / Math.sqrt(last.length) };
};
const runPost = await trainWithoutWarmup("post");
const runPre = await trainWithoutWarmup("pre");
const unigramLevel = unigramCrossEntropy(corpusIds, corpusIds, chars.vocabSize);
const steps = Array.from({ length: lnSettings.steps }, (_, i) => i + 1);
const gap = runPost.mean - runPre.mean;
const noise = 2 * Math.hypot(runPost.se, runPre.se);
const finalLoss = (r: typeof runPost) => `${r.mean.toFixed(3)} ± ${r.se.toFixed(3)}`;
const diverged = ([["post-LN", runPost], ["pre-LN", runPre]] as const)
  .filter(([, r]) => r.divergedAt !== undefined);
const verdict = diverged.length > 0
  ? diverged.map(([name, r]) =>
    `**${name} diverged**: its loss or gradient stopped being finite at step ${r.divergedAt}`
  ).join("; ") + "."
  : gap > noise
  ? `**Pre-LN ends lower**, by ${gap.toFixed(3)} nats per character (more than twice the ` +
    `standard error of the difference, ${noise.toFixed(3)}).`
  : gap < -noise
  ? `**Post-LN ends lower**, by ${(-gap).toFixed(3)} nats per character (more than twice ` +
    `the standard error of the difference, ${noise.toFixed(3)}): at this learning rate and ` +
    `depth post-LN trained without warm-up.`
  : `**No clear difference**: the gap, ${gap.toFixed(3)} nats per character, is within twice ` +
    `the standard error of the difference (${noise.toFixed(3)}).`;
await show(
  lineChart([
    { name: "post-LN, no warm-up", x: steps.slice(0, runPost.losses.length), y: runPost.losses },
    { name: "pre-LN, no warm-up", x: steps.slice(0, runPre.losses.length), y: runPre.losses },
    { name: "unigram level", x: [1, lnSettings.steps], y: [unigramLevel, unigramLevel] },
  ], {
    title: `Training loss, Adam at α = ${lnSettings.learningRate} from step 1`,
    xTitle: "step",
    yTitle: "cross-entropy (nats per character)",
  }),
  table([
    ["post-LN", finalLoss(runPost)],
    ["pre-LN", finalLoss(runPre)],
    ["unigram level", unigramLevel.toFixed(3)],
  ], { header: ["model", `mean loss of the last ${lnSettings.lastSteps} steps ± SE`] }),
  md(
    `${verdict} ` +
      (runPost.divergedAt === undefined && runPost.mean > unigramLevel - 0.1
        ? `Post-LN ends at (or above) the unigram level (${unigramLevel.toFixed(3)}): after ` +
          `${lnSettings.steps} steps it predicts characters by their frequency and has learned ` +
          `nothing about which follows which.`
        : `Post-LN got below the unigram level (${unigramLevel.toFixed(3)}): it learned ` +
          `something about which character follows which.`),
  ),
);

// %% [markdown]
// ## Things to try
//
// 1. Set `heads` to 3: the block refuses, because d_model = 16 cannot be split into 3 equal
//    heads. What does the error say?
// 2. Raise N to 48 in the gradient cell. How do the two gradient curves change with depth?
// 3. Give the post-LN run a warm-up: pass `createOptimizer` the learning rate
//    `(step) => 0.01 * Math.min(1, step / 50)` (or `warmupCosine` from lib/train.ts) and
//    train for 200 steps. Does post-LN now get below the unigram level? And at a constant
//    α = 0.003?
