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
  encoderBlock,
  heatmap,
  initEmbedding,
  initEncoderBlock,
  initLayerNorm,
  inputEmbedding,
  layerNorm,
  lineChart,
  md,
  setup,
  show,
  sinusoidalPositionalEncoding,
  table,
  tex,
  WordTokenizer,
} from "../mod.ts";
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
await show(
  tex`\mathrm{sublayer}_{\text{post-LN}}(x) = \mathrm{LayerNorm}\big(x + \mathrm{Sublayer}(x)\big)`,
  table([
    ["input x = UWₑ + PE", "x", shape(trace.input)],
    ["multi-head self-attention", "MultiHead(x, x, x)", shape(trace.attentionOutput)],
    ["attention weights (per head)", "softmax(QKᵀ/√dₖ)", shape(trace.weights)],
    ["Add & Norm", "LayerNorm(x + MultiHead(x))", shape(trace.afterAttention)],
    ["feed-forward, inner layer", "max(0, xW₁ + b₁)", `[1, 3, ${dFF}]`],
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
// of the vectors flowing between blocks (the *residual stream*), and the size of the gradient
// that reaches each block's weights from a simple loss on the output. Post-LN renormalises
// after every block, so the stream stays at scale 1; pre-LN lets it grow, and the gradients
// reaching the early blocks differ between the two arrangements.

// %%
const N = 12;
const stack = Array.from({ length: N }, (_, l) => initEncoderBlock(dModel, heads, dFF, 100 + l));
const finalNorm = initLayerNorm(dModel);
const probe = tf.randomNormal([1, 3, dModel], 0, 1, "float32", 9);
const measure = (norm: "post" | "pre") => {
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
  return { rms, gradNorms };
};
const post = measure("post");
const pre = measure("pre");
const layers = Array.from({ length: N + 1 }, (_, i) => i);
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
  md(
    `Post-LN keeps the stream at RMS ${
      post.rms[N].toFixed(2)
    } after ${N} blocks; pre-LN lets it grow to ${
      pre.rms[N].toFixed(2)
    } (the final LayerNorm brings it back before the output). The gradients differ in shape: ` +
      `under post-LN the last block receives ${
        (post.gradNorms[N - 1] / post.gradNorms[0]).toFixed(1)
      }× the gradient of the first, so one learning rate is too large for the top or too small ` +
      `for the bottom — Xiong et al. trace post-LN's need for a warm-up to this. Under pre-LN the ` +
      `ratio is ${(pre.gradNorms[N - 1] / pre.gradNorms[0]).toFixed(1)}×.`,
  ),
);
tf.dispose([ids, We, x, output, probe, finalNorm.gamma, finalNorm.beta]);

// %% [markdown]
// ## Things to try
//
// 1. Set `heads` to 3: the block refuses, because d_model = 16 cannot be split into 3 equal
//    heads. What does the error say?
// 2. Raise N to 48 in the last cell. How do the two gradient curves change with depth?
