// Chapter 03 — 3.1.1 Decoder
// Source of notebooks/03_decoder.ipynb (regenerate with `deno task notebooks`).
// Run in a terminal: `deno task chapter 03`.

// %% [markdown]
// # 03 Decoder — masked self-attention, cross-attention, Linear, softmax
//
// The decoder produces the output sequence one token at a time. Its block has the encoder's
// parts plus one, in this order:
//
// 1. **masked self-attention** — each position may look only at the positions before it
//    (the mask hides the future, which the decoder must predict, not read);
// 2. **cross-attention** — the queries come from the decoder, the keys and values from the
//    encoder's output: this is where the source sentence enters;
// 3. **feed-forward**, each with Add & Norm as in chapter 02.
//
// After the last block, a **Linear** layer maps each vector to one score (logit) per word
// of the vocabulary, and **softmax** turns the scores into probabilities.

// %%
import {
  barChart,
  causalMask,
  decoderBlock,
  encoderBlock,
  heatmap,
  initDecoderBlock,
  initEmbedding,
  initEncoderBlock,
  inputEmbedding,
  linear,
  md,
  setup,
  show,
  sinusoidalPositionalEncoding,
  table,
  tex,
  WordTokenizer,
} from "../mod.ts";
import * as tf from "@tensorflow/tfjs";

await setup({ title: "03 Decoder" });

// %% [markdown]
// ## The last step first: Linear, then softmax
//
// The article's example: a vocabulary of three words, “apple”, “banana”, “cherry”. The Linear
// layer has produced the logits [2.5, 1.0, −0.5]. Softmax exponentiates each and divides by
// the sum, so the results are positive and add up to 1:

// %%
const vocab = ["apple", "banana", "cherry"];
const logits = [2.5, 1.0, -0.5];
const probs = tf.tidy(() => Array.from(tf.softmax(tf.tensor1d(logits)).dataSync()));
const exps = logits.map(Math.exp);
const Z = exps.reduce((s, e) => s + e, 0);
await show(
  tex`\mathrm{softmax}(z)_i = \frac{e^{z_i}}{\sum_j e^{z_j}}: \quad \frac{e^{2.5}}{e^{2.5} + e^{1.0} + e^{-0.5}} = \frac{${
    exps[0]
  }}{${Z}} = ${probs[0]}`,
  table(
    vocab.map((w, i) => [w, logits[i], exps[i], probs[i], [0.8, 0.18, 0.02][i]]),
    {
      header: ["word", "logit zᵢ", "e^zᵢ", "softmax (computed)", "the article says"],
      digits: 4,
    },
  ),
);

// %% [markdown]
// ### Erratum: the article's probabilities are not the softmax of its logits
//
// The article writes [0.8, 0.18, 0.02] for the logits [2.5, 1.0, −0.5]. Since softmax only
// depends on differences of logits, we can also ask which logits *would* produce the article's
// numbers: the gap between two logits is the log of the ratio of their probabilities,
// z_i − z_j = log(p_i/p_j).

// %%
const articleProbs = [0.8, 0.18, 0.02];
const implied = articleProbs.map((p) => Math.log(p) - Math.log(articleProbs[0]) + 2.5);
await show(
  barChart(vocab, [
    { name: "softmax([2.5, 1.0, −0.5])", values: probs },
    { name: "the article", values: articleProbs },
  ], { title: "Next-word probabilities", yTitle: "probability" }),
  md(
    `The exact softmax is [${probs.map((p) => p.toFixed(3)).join(", ")}]: “cherry” gets ${
      (probs[2] / articleProbs[2]).toFixed(1)
    }× the probability the article gives it. Logits that give exactly the article's numbers ` +
      `(fixing apple at 2.5) are [${implied.map((v) => v.toFixed(2)).join(", ")}]: gaps of ${
        (implied[0] - implied[1]).toFixed(2)
      } and ${(implied[1] - implied[2]).toFixed(2)}, where the article's logits have ${
        (logits[0] - logits[1]).toFixed(2)
      } and ${
        (logits[1] - logits[2]).toFixed(2)
      }. The decoder then outputs the most probable word, “${
        vocab[probs.indexOf(Math.max(...probs))]
      }” (“选取概率最高的词”) — chapter 07 shows why that greedy choice is only one option.`,
  ),
);

// %% [markdown]
// ## The causal mask
//
// During training the decoder sees the whole target sentence at once, shifted right by
// `<s>`. Without a mask, position 2 could simply read the word it is supposed to predict from
// position 3. The mask adds −∞ (here −10⁹) to every score above the diagonal, so after
// softmax those weights are exactly 0: position i attends to positions 0 … i only.

// %%
const T = 5;
const mask = causalMask(T);
await show(heatmap(mask.clipByValue(-1, 0) as tf.Tensor2D, {
  x: ["0", "1", "2", "3", "4"],
  y: ["0", "1", "2", "3", "4"],
  title: "Causal mask M (0 = may attend, −∞ = hidden; drawn as −1)",
  xTitle: "key position",
  yTitle: "query position",
  zmin: -1,
  zmax: 0,
}));

// %% [markdown]
// ## One decoder block on “Hello, world” → “Bonjour, monde”
//
// The encoder (one block, as in chapter 02) turns the source into its *memory*, one vector
// per source token. The decoder reads `<s> Bonjour , monde` under the causal mask, and its
// cross-attention reads the memory. With random weights the numbers mean nothing yet, but
// the shapes and the patterns of what can see what are exactly those of a trained model.

// %%
const words = WordTokenizer.fromText("Hello, world Bonjour, monde", {
  specials: ["<pad>", "<s>", "</s>"],
});
const dModel = 16, heads = 2, dFF = 64;
const We = initEmbedding(words.vocabSize, dModel, 1);
const srcTokens = words.tokenize("Hello, world");
const tgtTokens = ["<s>", ...words.tokenize("Bonjour, monde")];
const src = tf.tensor2d([words.vocab.encode(srcTokens)], undefined, "int32");
const tgt = tf.tensor2d([words.vocab.encode(tgtTokens)], undefined, "int32");
const pe = sinusoidalPositionalEncoding(8, dModel);
const memory = encoderBlock(initEncoderBlock(dModel, heads, dFF, 2), inputEmbedding(We, src, pe), {
  norm: "post",
}).output;
const dec = initDecoderBlock(dModel, heads, dFF, 3);
const { output, trace } = decoderBlock(dec, inputEmbedding(We, tgt, pe), memory, {
  norm: "post",
  selfMask: causalMask(tgtTokens.length),
});
const headWeights = (w: tf.Tensor, h: number) =>
  w.slice([0, h], [1, 1]).reshape([w.shape[2]!, w.shape[3]!]) as tf.Tensor2D;
await show(
  heatmap(headWeights(trace.selfWeights, 0), {
    x: tgtTokens,
    y: tgtTokens,
    title: "masked self-attention (head 1): nothing above the diagonal",
    zmin: 0,
    zmax: 1,
  }),
  heatmap(headWeights(trace.crossWeights, 0), {
    x: srcTokens,
    y: tgtTokens,
    title: "cross-attention (head 1): every target position reads the source",
    xTitle: "source token (keys, values from the encoder)",
    yTitle: "target position (queries)",
    zmin: 0,
    zmax: 1,
  }),
);

// %% [markdown]
// ## Linear to the vocabulary, softmax, choose
//
// The decoder's output has one d_model vector per target position. The final Linear layer
// W_out ∈ ℝ^{d×|V|} maps each to |V| logits; softmax turns each row into a distribution over
// the vocabulary; position i's row is the model's guess for token i + 1.

// %%
const Wout = tf.randomNormal([dModel, words.vocabSize], 0, 0.5, "float32", 4) as tf.Tensor2D;
const outLogits = linear(output, Wout);
const outProbs = tf.softmax(outLogits).squeeze([0]) as tf.Tensor2D;
const rows = outProbs.arraySync() as number[][];
await show(
  tex`P(y_{i+1} \mid y_{\le i}, x) = \mathrm{softmax}(h_i W_{out}), \quad h \in \mathbb{R}^{${tgtTokens.length}\times ${dModel}},\; W_{out} \in \mathbb{R}^{${dModel}\times ${words.vocabSize}}`,
  heatmap(outProbs, {
    x: words.vocab.tokens as string[],
    y: tgtTokens.map((t, i) => `after ${t} (pos ${i})`),
    title: "softmax(h W_out): one distribution per position (untrained: nearly arbitrary)",
    zmin: 0,
    zmax: 1,
  }),
  table(
    tgtTokens.map((t, i) => {
      const best = rows[i].indexOf(Math.max(...rows[i]));
      return [String(i), t, words.vocab.tokenOf(best), rows[i][best]];
    }),
    { header: ["position", "input token", "most probable next token", "probability"], digits: 3 },
  ),
);
tf.dispose([mask, We, src, tgt, pe, memory, output, Wout, outLogits, outProbs]);

// %% [markdown]
// Untrained, the guesses are arbitrary. Chapter 05 trains an encoder–decoder so that these
// rows put their probability on the right words, and decodes a sentence with them.
//
// ## Things to try
//
// 1. Change the logits to [25, 10, −5] (ten times larger). What happens to the
//    probabilities? This is the effect chapter 04's √d_k scaling guards against.
// 2. Remove `selfMask` from the decoder block. How does the self-attention heatmap change?
