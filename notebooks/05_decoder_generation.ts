// Chapter 05 — 3.1.3 Decoder 如何做生成式输出
// Source of notebooks/05_decoder_generation.ipynb (regenerate with `deno task notebooks`).
// Run in a terminal: `deno task chapter 05` (`QUICK=1` trains for fewer steps).

// %% [markdown]
// # 05 Decoder 如何做生成式输出 — how the decoder generates its output
//
// Chapter 03 built the decoder block; this chapter makes it *produce* something. The decoder is
// called generative because it writes the output one token at a time, each new token chosen
// from a probability distribution that depends on the source sentence and on every token
// written so far. The article's example is a translation pair:
//
// “我是一名学生” (X) → “I am a student” (Y)
//
// Three ideas make this work, and this chapter runs each of them:
//
// 1. a **start token** `<s>` gives the decoder something to read before it has written anything,
//    and **teacher forcing** lets training predict every word of Y in parallel;
// 2. a **causal mask** stops each position from reading the words it has to predict — and the
//    way the article describes the mask (multiply by 0) does not work; adding −∞ does;
// 3. **cross-attention** lets every decoder position consult the encoder's reading of X.
//
// Then we train a small encoder–decoder on 618 sentence pairs, measure it on sentences it has
// never seen, and watch it translate 我是一名学生 (a training pair) and a sentence it never saw,
// word by word.

// %%
import {
  additiveMaskWeights,
  buildSeq2SeqVocab,
  causalMask,
  countParameters,
  encodePairs,
  heatmap,
  isQuick,
  lineChart,
  loadTranslationPairs,
  md,
  multiplicativeMaskWeights,
  type Pair,
  seq2seqParameters,
  setup,
  show,
  table,
  tex,
  trainingMonitor,
} from "../mod.ts";
import {
  exactMatch,
  initTranslator,
  trainTranslator,
  translate,
  type Translation,
  translatorSettings,
} from "../lib/experiments/mod.ts";
import * as tf from "@tensorflow/tfjs";

await setup({ title: "05 Decoder 如何做生成式输出" });

// %% [markdown]
// ## The data: Chinese → English pairs written by a small grammar
//
// `data/translation_zh_en.json` holds sentences of the form subject + verb + number + measure
// word + noun (我 + 是 + 一 + 名 + 学生), each with its English translation. The **test split**
// holds whole sentences that never occur in training, although each of their words does: to
// translate them the model must combine parts it has seen in new ways. The source is read one
// character at a time, the target one word at a time.

// %%
const { train, test } = await loadTranslationPairs();
const vocab = buildSeq2SeqVocab(train);
await show(
  md(
    `**${train.length}** training pairs, **${test.length}** held-out test pairs; ` +
      `${vocab.src.size} source tokens (Chinese characters and 4 specials), ` +
      `${vocab.tgt.size} target tokens (English words and 4 specials).`,
  ),
  table(
    [...train.slice(0, 3), ...test.slice(0, 3)].map((
      p,
      i,
    ) => [i < 3 ? "train" : "test", p.zh, p.en]),
    {
      header: ["split", "中文 (X)", "English (Y)"],
    },
  ),
);

// %% [markdown]
// ## `<s>` and teacher forcing
//
// To predict the first word, “I”, the decoder has no previous word to read, so every target
// sentence is given a start token: the decoder's **input** is `<s> I am a student`. Its
// **target** is the same sentence shifted one place to the left and closed by an end token
// `</s>`, which is how the model learns to stop. At position t the decoder reads `<s>` y₁ … yₜ₋₁
// and must output yₜ.
//
// During training the decoder's input is the *correct* sentence, not the model's own guesses:
// this is **teacher forcing**. All five predictions below are then made in one forward pass —
// provided that position t cannot peek at positions after t. That is the mask's job.

// %%
const example = { zh: "我是一名学生", en: "I am a student" };
const enc = encodePairs([example], vocab);
const srcChars = vocab.src.decode(enc.src[0]);
const tgtIn = vocab.tgt.decode(enc.tgtIn[0]);
const tgtOut = vocab.tgt.decode(enc.tgtOut[0]);
await show(
  table([
    ["encoder input (X)", srcChars.join(" "), enc.src[0].join(" ")],
    ["decoder input", tgtIn.join(" "), enc.tgtIn[0].join(" ")],
    ["decoder target", tgtOut.join(" "), enc.tgtOut[0].join(" ")],
  ], { header: ["", "tokens", "ids"], title: "“我是一名学生” → “I am a student”" }),
  table(tgtIn.map((_, t) => [t, tgtIn.slice(0, t + 1).join(" "), tgtOut[t]]), {
    header: ["position t", "the decoder may read", "and must predict"],
  }),
);

// %% [markdown]
// ## The causal mask
//
// The mask matrix has one row per position that asks (query) and one column per position that
// could answer (key). Row t allows the columns 0 … t and hides the rest: the upper triangle.
// Row 0 sees only `<s>`; row 1 sees `<s>` and “I”; and so on.

// %%
const T = tgtIn.length;
const allowed = tf.tidy(() => tf.cast(tf.equal(causalMask(T), 0), "float32")) as tf.Tensor2D;
await show(heatmap(allowed, {
  x: tgtIn,
  y: tgtIn,
  title: "causal mask: 1 = may attend, 0 = hidden (the future)",
  xTitle: "key position (what may be read)",
  yTitle: "query position (who reads)",
  zmin: 0,
  zmax: 1,
}));

// %% [markdown]
// ## Erratum: multiplying the scores by a 0/1 mask does not hide anything
//
// The article says the score matrix QKᵀ is multiplied **element-wise** by the mask (0 where
// hidden, 1 where visible) and then put through softmax, after which the hidden positions get
// weight 0. The multiplication does set the hidden *scores* to 0, but softmax exponentiates:
// e⁰ = 1, so a hidden position gets as much weight as a visible word whose score happens to
// be 0 — the future leaks in.
//
// What the Transformer actually does is **add** the mask: 0 where visible and −∞ where hidden
// (in code a large negative number, −10⁹). Then e^(s − ∞) = 0 and the hidden positions get
// exactly zero weight. Here are both on the same score matrix S (made-up scores for
// `<s> I am a student`):

// %%
const S = tf.tensor2d([
  [2.0, 1.0, -1.0, 0.5, 3.0],
  [1.5, 2.5, 0.0, -0.5, 1.0],
  [0.5, 1.0, 2.0, 1.5, -2.0],
  [-1.0, 0.5, 1.0, 2.5, 0.5],
  [1.0, 0.0, 0.5, 1.0, 2.0],
]);
const wMul = multiplicativeMaskWeights(S, allowed);
const wAdd = additiveMaskWeights(S, allowed);
const mulRows = wMul.arraySync() as number[][];
const addRows = wAdd.arraySync() as number[][];
const maskedRow0 = tf.tidy(() => tf.mul(S, allowed).arraySync() as number[][])[0];
const futureWeight = (rows: number[][]) =>
  rows.map((r, i) => r.slice(i + 1).reduce((a, b) => a + b, 0));
const leakMul = futureWeight(mulRows), leakAdd = futureWeight(addRows);
const scoreView = { x: tgtIn, y: tgtIn, xTitle: "key", yTitle: "query" };
await show(
  heatmap(S, { ...scoreView, title: "scores S = QKᵀ/√d_k (made up)" }),
  heatmap(wMul, {
    ...scoreView,
    title: "the article: softmax(S ⊙ M) — weight leaks above the diagonal",
    zmin: 0,
    zmax: 1,
  }),
  heatmap(wAdd, {
    ...scoreView,
    title: "the Transformer: softmax(S + M), M = 0 or −∞ — nothing above the diagonal",
    zmin: 0,
    zmax: 1,
  }),
  tex`\text{row 0 (}\langle s\rangle\text{):}\quad \mathrm{softmax}(S \odot M)_0 = \mathrm{softmax}(${maskedRow0}) = ${
    mulRows[0]
  }`,
  tex`\mathrm{softmax}(S + M)_0 = \mathrm{softmax}(\begin{bmatrix}${
    S.arraySync()[0][0]
  } & -\infty & -\infty & -\infty & -\infty\end{bmatrix}) = ${addRows[0]}`,
  table(tgtIn.map((tok, i) => [`${i} ${tok}`, leakMul[i], leakAdd[i]]), {
    header: ["query position", "weight on the future: S ⊙ M", "weight on the future: S + M"],
    digits: 4,
  }),
);

// %% [markdown]
// Row 0 should look only at `<s>`; with the multiplicative mask it gives
// e⁰/(e² + 4e⁰) ≈ 8.8% to each of the four future words, about a third of its attention in
// all. Worse, a negative score that is “masked” by multiplication *rises* to 0 and gains
// weight. The weights are not just a picture: they mix the value vectors, so the output at
// position 0 changes when the last word changes. Replace the value vector of “student” and
// compare each mask's output at position 0:

// %%
const V = tf.randomNormal([T, 4], 0, 1, "float32", 7) as tf.Tensor2D;
const V2 = tf.tidy(() => tf.concat([V.slice([0, 0], [T - 1, 4]), tf.ones([1, 4])])) as tf.Tensor2D;
const changeAt0 = (w: tf.Tensor2D) =>
  tf.tidy(() =>
    tf.max(tf.abs(tf.sub(tf.matMul(w, V), tf.matMul(w, V2)).slice([0, 0], [1, 4]))).dataSync()[0]
  );
await show(
  tex`Z = \mathrm{softmax}(\cdot)\,V:\quad \max_k \big|Z_{0k}(V) - Z_{0k}(V')\big| = ${
    changeAt0(wMul)
  }\ (S \odot M), \quad ${changeAt0(wAdd)}\ (S + M)`,
  md(
    `With the article's mask, what the model computes for \`<s>\` depends on “student”, the word it ` +
      `will have to predict three steps later: in training it could simply read the answer, and at ` +
      `generation time, when “student” does not exist yet, it would fail. The additive mask keeps ` +
      `position 0 exactly unchanged. The library's attention (\`scaledDotProductAttention\`) and the ` +
      `model below use the additive mask.`,
  ),
);
tf.dispose([S, wMul, wAdd, V, V2]);

// %% [markdown]
// ## Training the translator
//
// The model is the Transformer of chapters 02–04, in miniature: one encoder block and one
// decoder block, d_model = 64, 2 heads, post-LN, sinusoidal positions. Training minimises the
// teacher-forced cross-entropy, the average over all target words (and `</s>`) of
//
// −log P(correct word ∣ X, the correct words before it),
//
// with Adam (learning rate warmed up, then decayed) and gradient clipping. The curve shows the
// training loss at every step and the loss on the held-out test pairs every 25 steps. In quick
// mode (`QUICK=1`) the same training runs for fewer steps.

// %%
const settings = translatorSettings(isQuick());
const model = initTranslator(vocab, settings);
await show(table([
  ["d_model, heads, d_ff", `${settings.dModel}, ${settings.heads}, ${settings.dFF}`],
  ["blocks (encoder + decoder)", `${settings.layers} + ${settings.layers}`],
  ["parameters", countParameters(seq2seqParameters(model.params))],
  ["steps × batch", `${settings.steps} × ${settings.batchSize}`],
  ["Adam α (peak), clip norm", `${settings.learningRate}, ${settings.clipNorm}`],
], { header: ["setting", "value"], digits: 0 }));
const monitor = await trainingMonitor(settings.steps, {
  title: "training the translator",
  evalName: "held-out loss",
});
const { losses, evals } = await trainTranslator(model, train, settings, {
  heldOut: test,
  onStep: (s) => monitor.update(s),
});
const em = exactMatch(model, test);
const correct = em.results.filter((r) => r.correct).length;
await monitor.finish({ "held-out exact match": `${correct}/${test.length}` });

// %% [markdown]
// ## How good is it? Loss and exact match on sentences it never saw
//
// On a linear scale the curve above flattens early; on a log scale (below) it keeps falling. The
// loss is an average of −log P over words; e^L (the perplexity) reads as “the model hesitates
// between about this many words”. The stricter measure is **exact match**: greedy-decode every
// held-out sentence and count the translations that are right word for word.

// %%
const lastLoss = losses[losses.length - 1];
const heldOutLoss = evals[evals.length - 1].value;
await show(
  lineChart([
    { name: "training loss", y: losses, x: losses.map((_, i) => i + 1) },
    { name: "held-out loss", x: evals.map((e) => e.step), y: evals.map((e) => e.value) },
  ], { title: "the same losses, log scale", xTitle: "step", yTitle: "loss", logY: true }),
  tex`L = -\frac{1}{N}\sum_{t} \log P(y_t \mid X, y_{<t}) = ${lastLoss}\ \text{(last batch)},\quad ${heldOutLoss}\ \text{(held out)},\quad e^{L_{\text{test}}} = ${
    Math.exp(heldOutLoss)
  }`,
  tex`\text{exact match} = \frac{1}{n}\sum_{i=1}^{n}\big[\hat{Y}^{(i)} = Y^{(i)}\big] = \frac{${correct}}{${test.length}} = ${em.accuracy}`,
);

// %% [markdown]
// ## Generating “I am a student”, one word at a time
//
// At generation time there is no correct sentence to feed in: the decoder reads its own output.
// Greedy decoding starts from `<s>`, picks the most probable word, appends it to the input and
// runs the decoder again, until it picks `</s>`. Each row below is one run of the decoder: what it read, its three most probable next words,
// and the word it chose.

// %%
const word = (id: number) => vocab.tgt.tokenOf(id);
/** One row per greedy step: what the decoder read, its 3 most probable words, its choice. */
const decodingSteps = (r: Translation) =>
  table(
    r.steps.map((s, t) => [
      t + 1,
      s.inputIds.map(word).join(" "),
      s.candidates.map((c) => `${word(c.id)} ${c.prob.toFixed(3)}`).join(" · "),
      word(s.chosen),
    ]),
    { header: ["step", "decoder input so far", "top 3 candidates (probability)", "chosen"] },
  );
/** The translation in bold, and whether it is the reference word for word. */
const against = (pair: Pair, r: Translation) =>
  md(
    `**${pair.zh} → “${r.en}”**: ` +
      (r.en === pair.en
        ? "the reference translation, word for word."
        : `not the reference, “${pair.en}”.`),
  );
const result = translate(model, example.zh, { topK: 3 });
const exampleInTraining = train.some((p) => p.zh === example.zh && p.en === example.en);
await show(
  decodingSteps(result),
  tex`\hat{y}_t = \arg\max_{w} P(w \mid X, \langle s\rangle\, \hat{y}_1 \ldots \hat{y}_{t-1}), \quad P(\text{${
    word(result.steps[0].chosen)
  }} \mid X, \langle s\rangle) = ${result.steps[0].candidates[0].prob}`,
  against(example, result),
  md(
    exampleInTraining
      ? `But the pair ${example.zh} → “${example.en}” is one of the ${train.length} training ` +
        `pairs: the model was trained on this very sentence, so these steps show how generation ` +
        `works, not that the model can translate. For that we need a sentence it never saw.`
      : `The pair ${example.zh} → “${example.en}” is not among the ${train.length} training ` +
        `pairs: the model translated a sentence it never saw.`,
  ),
);

// %% [markdown]
// ## A sentence it never saw, one word at a time
//
// The same greedy decoding on a sentence of the test split, whose Chinese and English occur
// nowhere in training (each of its words does): the first test sentence with the measure word
// 名, like the article's.

// %%
const unseen = test.find((p) => p.zh.includes("一名")) ?? test[0];
const unseenInTraining = train.some((p) => p.zh === unseen.zh || p.en === unseen.en);
const unseenResult = translate(model, unseen.zh, { topK: 3 });
await show(
  md(
    `${unseen.zh} → “${unseen.en}”: ` +
      (unseenInTraining
        ? "this sentence (or its English) also occurs in training."
        : `neither the Chinese nor the English occurs among the ${train.length} training pairs.`),
  ),
  decodingSteps(unseenResult),
  against(unseen, unseenResult),
);

// %% [markdown]
// ## Cross-attention: which characters each word was read from
//
// In cross-attention the queries come from the decoder and the keys and values from the
// encoder's output, so each row of its weights says how much of each source character the
// decoder consulted while choosing a word. Rows are the decoder's steps (labelled with the word
// chosen there), columns the characters of 我是一名学生; one heatmap per head of the last decoder
// block.

// %%
const rowLabels = result.steps.map((s) => `→ ${word(s.chosen)}`);
const perHead = Array.from(
  { length: model.config.heads },
  (_, h) => result.steps.map((s) => s.crossAttention[h]),
);
const averaged = result.steps.map((s) =>
  s.crossAttention[0].map((_, j) =>
    s.crossAttention.reduce((sum, row) => sum + row[j], 0) / s.crossAttention.length
  )
);
/** Source characters with their weights, largest first. */
const ranked = (weights: number[]) =>
  weights.map((w, j) => ({ c: result.srcTokens[j], w })).sort((a, b) => b.w - a.w);
/**
 * Which source characters the step that wrote `target` read: the fewest characters holding
 * more than half of the weight (mean of heads), and each head's most-attended character.
 */
const readFrom = (target: string) => {
  const t = result.steps.findIndex((s) => word(s.chosen) === target);
  if (t < 0) return `The model did not write “${target}” here.`;
  const main: { c: string; w: number }[] = [];
  for (const r of ranked(averaged[t])) {
    main.push(r);
    if (main.reduce((sum, m) => sum + m.w, 0) > 0.5) break;
  }
  const weight = (m: { c: string; w: number }) => `${m.c} (${m.w.toFixed(2)})`;
  const heads = result.steps[t].crossAttention.map((row, h) =>
    `head ${h + 1} on ${weight(ranked(row)[0])}`
  );
  return `“${target}” reads mostly ${weight(main[0])}` +
    (main.length === 1
      ? ", more than half of the weight alone"
      : `, together with ${main.slice(1).map(weight).join(" and ")} (${
        main.reduce((sum, m) => sum + m.w, 0).toFixed(2)
      } in all)`) +
    `; its heads: ${heads.join(", ")}.`;
};
await show(
  ...perHead.map((z, h) =>
    heatmap(z, {
      x: result.srcTokens,
      y: rowLabels,
      title: `cross-attention, head ${h + 1}: decoder step (query) × source character (key)`,
      xTitle: "source character",
      yTitle: "decoder step",
      zmin: 0,
      zmax: 1,
    })
  ),
  table(
    result.steps.map((s, t) => {
      const best = averaged[t].indexOf(Math.max(...averaged[t]));
      return [word(s.chosen), result.srcTokens[best], averaged[t][best]];
    }),
    { header: ["chosen word", "most-attended character (mean of heads)", "weight"], digits: 2 },
  ),
  md(["a", "student"].map(readFrom).join(" ")),
);

// %% [markdown]
// Nothing told the model which character corresponds to which word; whatever alignment the
// heatmaps show, it learned from the pairs alone. The sentences under the table read the two
// steps the article's example invites one to check, “a” (一名: the number and its measure word)
// and “student” (学生, two characters): which characters carry more than half of the weight, and
// where each head looked. The heads need not agree.
//
// ## Held-out sentences
//
// Some translations of test sentences, the wrong ones (if any) first. The test sentences are
// new combinations of seen parts, such as a subject with a verb form it never appeared with in
// training.

// %%
const wrong = em.results.filter((r) => !r.correct);
const shown = [...wrong, ...em.results.filter((r) => r.correct)].slice(
  0,
  Math.max(8, wrong.length),
);
await show(
  table(shown.map((r) => [r.zh, r.en, r.predicted, r.correct ? "✓" : "✗"]), {
    header: ["中文", "reference", "model", ""],
    title: `${wrong.length} of ${test.length} held-out sentences wrong`,
  }),
);

// %% [markdown]
// ## Things to try
//
// 1. Translate a sentence the grammar cannot produce: `translate(model, "她喜欢四只猫")` (四 is not
//    in the vocabulary and becomes `<unk>`) or `translate(model, "我是一只学生")`. Look at the
//    candidates of each step: where does the model become unsure?
// 2. Train with `{ ...settings, steps: 60 }` or with `heads: 4`, and compare the held-out exact
//    match and the cross-attention heatmaps with the ones above.
