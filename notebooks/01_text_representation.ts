// Chapter 01 — 3.1.1 文本表示
// Source of notebooks/01_text_representation.ipynb (regenerate with `deno task notebooks`).
// Run in a terminal: `deno task chapter 01`.

// %% [markdown]
// # 01 文本表示 — from “AI+编程 扬帆起航” to vectors
//
// A Transformer never sees characters. Before the first layer, text goes through three
// steps, and this chapter runs each of them on the article's example sentence:
//
// 1. **tokenisation** — cut the text into tokens and give each an integer id;
// 2. **embedding** (词嵌入) — look up a learned vector for each id;
// 3. **positions** (位置嵌入) — add a vector that says where each token stands, because
//    attention by itself cannot tell order apart.
//
// The result, x = token vector + position vector, is what every later chapter feeds to
// attention.

// %%
import {
  ByteBPE,
  CharTokenizer,
  embedTokens,
  formula,
  heatmap,
  initEmbedding,
  inputEmbedding,
  learnedPositions,
  loadDataText,
  md,
  segmentWords,
  setup,
  show,
  sinusoidalPositionalEncoding,
  table,
  tex,
  WordTokenizer,
} from "../mod.ts";
import * as tf from "@tensorflow/tfjs";

await setup({ title: "01 文本表示" });
const sentence = "AI+编程 扬帆起航";

// %% [markdown]
// ## Tokenisation: three ways to cut the same sentence
//
// - **characters**: every Unicode code point is a token. Tiny vocabulary, long sequences.
// - **words**: split at spaces and punctuation. Chinese has no spaces between words, so our
//   `WordTokenizer` gives up on Chinese and cuts it into single characters, keeping runs of
//   Latin letters (“AI”) together. Real Chinese word segmentation needs a dictionary; the
//   table after this one shows one at work.
// - **byte-level BPE** (GPT-2, GPT-3): start from the bytes of the UTF-8 encoding and
//   repeatedly merge the most frequent neighbouring pair into a new token. Frequent words
//   become one token; rare ones fall apart into pieces, but nothing is ever unknown.

// %%
const corpus = await loadDataText("intro_zh.txt");
const chars = CharTokenizer.fromText(corpus + sentence);
const words = WordTokenizer.fromText(corpus + " " + sentence);
const bpe = ByteBPE.train(corpus + "\n" + sentence, 200);
const gpt2 = await ByteBPE.gpt2();
const row = (name: string, tokens: string[], ids: number[]) => [
  name,
  tokens.map((t) => `「${t}」`).join(" "),
  ids.join(" "),
  tokens.length,
];
await show(table([
  row("characters", chars.tokenize(sentence), chars.encode(sentence)),
  row("words", words.tokenize(sentence), words.encode(sentence)),
  row(
    "BPE, 200 merges learned here",
    bpe.tokenPieces(sentence).map((p) => p.text),
    bpe.encode(sentence),
  ),
  row(
    "GPT-2's BPE (50,257 tokens)",
    gpt2.tokenPieces(sentence).map((p) => p.text),
    gpt2.encode(sentence),
  ),
], { header: ["tokenizer", "tokens", "ids", "count"], title: `Tokenising “${sentence}”` }));

// %% [markdown]
// ### Chinese words, with a dictionary
//
// JavaScript ships a word segmenter: `Intl.Segmenter("zh", { granularity: "word" })` looks
// runs of Chinese characters up in the dictionary of ICU (the Unicode library every browser
// and Deno carry). `segmentWords` wraps it, dropping spaces as our word tokenizer does. Here
// are its words on the article's example sentences, and how many tokens each way of cutting
// makes: characters, our `WordTokenizer` (words), the dictionary (dict.) and our BPE.

// %%
const examples = [sentence, "我是一名学生", "在一个寒冷的冬日，"];
await show(table(
  examples.map((text) => [
    text,
    segmentWords(text).join(" / "),
    chars.tokenize(text).length,
    words.tokenize(text).length,
    segmentWords(text).length,
    bpe.encode(text).length,
  ]),
  {
    header: ["sentence", "dictionary words", "chars", "words", "dict.", "BPE"],
    title: "Dictionary words, and the number of tokens each tokenizer makes",
  },
));

// %%
const dictionary = new Map(examples.map((text) => [text, segmentWords(text)]));
const multiCharacter = [...dictionary.values()].flat().filter((w) => [...w].length > 1);
await show(md(
  `The dictionary finds ${multiCharacter.length} words of more than one character in these ` +
    `sentences (${multiCharacter.map((w) => `“${w}”`).join(", ")}), where our word tokenizer ` +
    `has one token per Chinese character. ${
      dictionary.get(sentence)!.includes("编程")
        ? "“编程” is one word to it."
        : `It does not know “编程” (programming): it cuts it into ${
          dictionary.get(sentence)!.filter((w) => "编程".includes(w)).map((w) => `“${w}”`).join(
            " and ",
          )
        } — a dictionary is only as good as its word list, one reason GPT learns its pieces ` +
          "from data instead."
    }`,
));

// %% [markdown]
// GPT-2's vocabulary was learned mostly on English web pages, so a Chinese character, three
// bytes in UTF-8, is often split into byte pieces (shown as `\xe7…`) that only make sense
// together. Our own BPE, trained on our small Chinese corpus, learns Chinese merges first:

// %%
await show(table(
  bpe.merges.slice(0, 12).map((m, i) => [
    i + 1,
    `${ByteBPE.readable(m[0])} + ${ByteBPE.readable(m[1])}`,
    ByteBPE.readable(m[0] + m[1]),
  ]),
  { header: ["merge", "pair", "new token"], title: "The first merges our BPE learned" },
));

// %% [markdown]
// Every tokenizer must give the text back: decode(encode(sentence)) should be the sentence.

// %%
const roundTrips = [
  ["characters", chars.decode(chars.encode(sentence))],
  ["words", words.decode(words.encode(sentence))],
  ["our BPE", bpe.decode(bpe.encode(sentence))],
  ["GPT-2's BPE", gpt2.decode(gpt2.encode(sentence))],
];
const lossy = roundTrips.filter(([, text]) => text !== sentence).map(([name]) => name);
await show(
  table(roundTrips, { header: ["tokenizer", "decode(encode(sentence))"] }),
  md(
    lossy.length === 0
      ? "All four give the sentence back exactly."
      : `${lossy.join(", ")} ${lossy.length === 1 ? "does" : "do"} not give it back (the word ` +
        "tokenizer keeps tokens only, so the space is lost); the others do. Byte-level BPE " +
        "can always give the text back, since every byte is in its vocabulary: one reason GPT-2 " +
        "and GPT-3 use it.",
  ),
);

// %% [markdown]
// ## 词嵌入: looking up a vector per token
//
// The embedding matrix Wₑ has one row per token id and d columns. “Embedding” a token is
// taking its row — the same as multiplying the one-hot vector of the id by Wₑ. With U the
// one-hot matrix of the sequence:

// %%
const d = 16;
const ids = chars.encode(sentence);
const We = initEmbedding(chars.vocabSize, d, 42);
const idTensor = tf.tensor1d(ids, "int32");
const tokenVectors = embedTokens(We, idTensor);
await show(
  tex`U W_e \in \mathbb{R}^{${ids.length} \times ${d}}, \quad W_e \in \mathbb{R}^{${chars.vocabSize} \times ${d}}`,
  heatmap(tokenVectors, {
    y: chars.tokenize(sentence).map((t) => (t === " " ? "␣" : t)),
    xTitle: "embedding dimension",
    yTitle: "token",
    title: "Token embeddings UWₑ (random at initialisation)",
    colorscale: "diverging",
  }),
);

// %% [markdown]
// ### Erratum: embeddings are learned with the model
//
// The article says the vectors usually come from a pre-trained word-embedding model such as
// Word2Vec or GloVe. That was common for the RNN models before 2017; a Transformer (and every
// GPT) instead starts Wₑ from random numbers and **learns it jointly** with all the other
// weights, by the same gradient descent. Here is the proof in one step: Wₑ is a variable, a
// loss computed from the sentence sends a gradient into it, and exactly the rows of the
// tokens that occur get one.

// %%
const target = tf.randomNormal([ids.length, d], 0, 1, "float32", 7);
const grad = tf.grad((w: tf.Tensor) =>
  tf.sum(tf.square(tf.sub(embedTokens(w as tf.Tensor2D, idTensor), target)))
)(We);
const rowNorms = Array.from(tf.norm(grad, "euclidean", 1).dataSync());
const touched = rowNorms.map((n, id) => ({ n, id })).filter((r) => r.n > 0);
await show(
  md(
    `Wₑ is a \`tf.Variable\` (trainable: ${We.trainable}). The gradient of a loss on the sentence is non-zero in ${touched.length} of its ${chars.vocabSize} rows, the rows of: ${
      touched.map((r) => `「${chars.vocab.tokenOf(r.id)}」`).join(" ")
    } — the sentence's ${
      new Set(ids).size
    } distinct tokens. An optimiser step moves exactly these vectors.`,
  ),
);
tf.dispose([target, grad]);

// %% [markdown]
// ## 位置嵌入: sinusoidal positional encoding
//
// “Attention Is All You Need” adds to the token at position pos a fixed vector whose even
// columns are sines and odd columns cosines, at wavelengths growing geometrically from 2π to
// 10000·2π:

// %%
const pe = sinusoidalPositionalEncoding(64, 32);
const peValues = pe.arraySync();
await show(
  formula(
    String
      .raw`PE_{(pos,2i)} = \sin\!\left(\frac{pos}{10000^{2i/d}}\right), \qquad PE_{(pos,2i+1)} = \cos\!\left(\frac{pos}{10000^{2i/d}}\right)`,
    { plain: "PE(pos,2i) = sin(pos/10000^(2i/d)),  PE(pos,2i+1) = cos(pos/10000^(2i/d))" },
  ),
  tex`PE_{(3,2)} = \sin\!\left(\frac{3}{10000^{2/32}}\right) = \sin(${
    3 / Math.pow(10000, 2 / 32)
  }) = ${peValues[3][2]}`,
  heatmap(pe, {
    xTitle: "dimension j",
    yTitle: "position pos",
    title: "The sinusoidal positional encoding table, 64 positions × 32 dimensions",
    colorscale: "diverging",
    zmin: -1,
    zmax: 1,
  }),
);

// %% [markdown]
// Read the heatmap column by column: the first columns oscillate fast (every few positions),
// the last ones barely move. Each position gets a unique pattern of values in [−1, 1]. And
// because sin and cos of a sum expand into products, PE(pos)·PE(pos+k) = Σᵢ cos(k/10000^(2i/d))
// depends only on the offset k, not on pos: the matrix of dot products below is constant
// along every diagonal. That is what lets attention read *relative* positions.

// %%
const dots = tf.tidy(() =>
  tf.matMul(pe.slice([0, 0], [24, 32]), pe.slice([0, 0], [24, 32]), false, true)
);
const dotValues = dots.arraySync() as number[][];
await show(
  tex`PE(5)\cdot PE(8) = ${dotValues[5][8]}, \quad PE(12)\cdot PE(15) = ${
    dotValues[12][15]
  }, \quad PE(0)\cdot PE(3) = ${dotValues[0][3]}`,
  heatmap(dots, {
    xTitle: "position pos′",
    yTitle: "position pos",
    title: "PE(pos) · PE(pos′): constant along diagonals (only pos′ − pos matters)",
    colorscale: "sequential",
  }),
);
dots.dispose();

// %% [markdown]
// ## Learned positions, and the sum x = UWₑ + Wₚ
//
// GPT-1 does not use the sinusoids: it learns a second table Wₚ, one row per position up to
// its context length of 512, exactly like Wₑ. Either way the model input is the sum
// h₀ = UWₑ + Wₚ — same width, added element by element.

// %%
const Wp = initEmbedding(32, d, 43);
const WpRows = learnedPositions(Wp, ids.length);
const h0Learned = inputEmbedding(We, idTensor, Wp);
const h0Sinusoid = inputEmbedding(We, idTensor, sinusoidalPositionalEncoding(32, d));
const tokenLabels = chars.tokenize(sentence).map((t) => (t === " " ? "␣" : t));
const [u, w, h] = [tokenVectors, WpRows, h0Learned].map((t) => t.arraySync() as number[][]);
const at = 3; // the row of “编”
await show(
  tex`h_0 = U W_e + W_p \in \mathbb{R}^{${ids.length} \times ${d}}: \quad h_0[${at}, 0] = (UW_e)[${at}, 0] + W_p[${at}, 0] = ${
    u[at][0]
  } + ${w[at][0]} = ${h[at][0]}`,
  heatmap(WpRows, {
    y: tokenLabels.map((_, i) => `pos ${i}`),
    title: "Learned positions Wₚ (first rows; random before training)",
    colorscale: "diverging",
  }),
  heatmap(h0Learned, {
    y: tokenLabels,
    xTitle: "dimension",
    title: "h₀ = UWₑ + Wₚ: token embedding + learned position (GPT-1's input)",
    colorscale: "diverging",
  }),
  heatmap(h0Sinusoid, {
    y: tokenLabels,
    xTitle: "dimension",
    title: "x = token embedding + sinusoidal position (the original Transformer's input)",
    colorscale: "diverging",
  }),
);

// %% [markdown]
// Look at the scale of the two parts of each sum. Before training, GPT draws both tables Wₑ and
// Wₚ from a normal distribution with σ = 0.02, while the sinusoids take values in [−1, 1]:

// %%
/** Root mean square of a tensor's entries, √(mean(x²)). */
const rms = (t: tf.Tensor) => tf.tidy(() => Math.sqrt(tf.mean(tf.square(t)).dataSync()[0]));
const sinusoidRows = sinusoidalPositionalEncoding(ids.length, d);
const scale = { token: rms(tokenVectors), learned: rms(WpRows), sinusoid: rms(sinusoidRows) };
sinusoidRows.dispose();
const ratio = scale.sinusoid / scale.token;
await show(
  table([
    ["token vectors UWₑ", scale.token],
    ["learned positions Wₚ", scale.learned],
    ["sinusoidal positions PE", scale.sinusoid],
  ], { header: ["part of the input", "RMS of its entries"], digits: 4 }),
  md(
    ratio > 10
      ? `The sinusoids are ${
        ratio.toFixed(0)
      } times larger than the token vectors here, so at initialisation ` +
        "x = UWₑ + PE is almost all position. Training grows the token vectors; the original " +
        "Transformer also multiplies them by √d_model before the sum (Vaswani et al., 2017, " +
        "§3.4, which says only that it does so). That factor is commonly explained as keeping " +
        "the token vectors from being drowned by the positions."
      : `The sinusoids are ${
        ratio.toFixed(1)
      } times the size of the token vectors here, so neither part drowns the ` +
        "other. The original Transformer multiplies the token vectors by √d_model before the " +
        "sum (Vaswani et al., 2017, §3.4, which gives no reason); it is commonly explained as " +
        "keeping them from being drowned by the positions.",
  ),
);

// %% [markdown]
// ## Why positions are needed: “编AI+程 航帆扬起”
//
// The article warns that without positions “AI+编程 扬帆起航” could be read as “编AI+程，航帆扬起”.
// Here is the precise statement. Self-attention (chapter 04) computes
// softmax(QKᵀ/√d)V, where every row of Q, K, V comes from one token's vector alone. Shuffle
// the tokens and the outputs are the same vectors, shuffled the same way: the layer is
// **permutation-equivariant**, so nothing inside it can know the order. (The article writes
// a comma in the shuffled sentence; we keep the space so that it is an exact permutation.)

// %%
const shuffled = "编AI+程 航帆扬起";
const Wq = tf.randomNormal([d, d], 0, 0.3, "float32", 1);
const Wk = tf.randomNormal([d, d], 0, 0.3, "float32", 2);
const Wv = tf.randomNormal([d, d], 0, 0.3, "float32", 3);
/** One self-attention head, softmax(XWq (XWk)ᵀ / √d) XWv — a preview of chapter 04. */
const selfAttention = (x: tf.Tensor2D) =>
  tf.tidy(() => {
    const q = tf.matMul(x, Wq), k = tf.matMul(x, Wk), v = tf.matMul(x, Wv);
    return tf.matMul(tf.softmax(tf.div(tf.matMul(q, k, false, true), Math.sqrt(d))), v);
  });
const outputsByToken = (text: string, withPositions: boolean) => {
  const z = tf.tidy(() => {
    const t = tf.tensor1d(chars.encode(text), "int32");
    const x = withPositions
      ? inputEmbedding(We, t, sinusoidalPositionalEncoding(16, d))
      : embedTokens(We, t);
    return selfAttention(x as tf.Tensor2D);
  });
  const rows = z.arraySync() as number[][];
  z.dispose();
  return new Map(CharTokenizer.codePoints(text).map((c, i) => [c, rows[i]]));
};
const maxDiff = (a: Map<string, number[]>, b: Map<string, number[]>) =>
  Math.max(
    ...[...a.keys()].map((c) => Math.max(...a.get(c)!.map((v, j) => Math.abs(v - b.get(c)![j])))),
  );
const noPos = maxDiff(outputsByToken(sentence, false), outputsByToken(shuffled, false));
const withPos = maxDiff(outputsByToken(sentence, true), outputsByToken(shuffled, true));
await show(table([
  [
    "token embeddings only",
    noPos.toExponential(1),
    "same vector for every token: order is invisible",
  ],
  [
    "embeddings + positions",
    withPos.toFixed(3),
    "each token's output now depends on where it stands",
  ],
], {
  header: ["attention input", "max |z(token) − z′(token)|", "meaning"],
  title: `Self-attention outputs, “${sentence}” vs “${shuffled}”, matched token by token`,
}));
tf.dispose([Wq, Wk, Wv, idTensor, tokenVectors, pe, Wp, WpRows, We, h0Learned, h0Sinusoid]);

// %% [markdown]
// ## Things to try
//
// 1. Tokenise your own name, or an emoji such as “👨‍👩‍👧”, with GPT-2's BPE: how many tokens,
//    and which byte pieces?
// 2. Change the number of BPE merges from 200 to 30 or 1000. Which Chinese words become single
//    tokens, and what happens to the length of the sentence in tokens?
// 3. Replace the sinusoidal table by the learned `Wp` in the last cell: is the attention
//    output still order-sensitive?
