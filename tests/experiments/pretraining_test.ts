// Chapter 06's experiment code: the unigram baseline against hand-worked values, the fixed
// evaluation windows against the stream they come from, the poem-form measures on hand-written
// lines (and a property: the lines put back together are the text), the common-character
// corpus, poem writing (no special tokens, reproducible, the prompt kept), attention at a lag
// on a hand-built trace, and a short pre-training run that lowers the loss without leaking
// tensors.
import * as tf from "@tensorflow/tfjs";
import fc from "fast-check";
import { assert, assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { assertAllClose } from "../../testing/tensor_assert.ts";
import {
  attentionAtLag,
  commonCharacterCorpus,
  evaluationBatches,
  fiveCharLineForm,
  isFiveCharQuatrain,
  parameterBreakdown,
  poemLanguageModel,
  poemLines,
  pretrain,
  pretrainingConfig,
  pretrainingSettings,
  unigramCrossEntropy,
  writePoem,
} from "../../lib/experiments/pretraining.ts";
import {
  countGPTParameters,
  disposeGPT,
  GPT1_CONFIG,
  GPT2_SMALL_CONFIG,
  gptConfig,
  initGPT,
} from "../../lib/gpt.ts";
import { meanLoss } from "../../lib/objectives.ts";
import { charVocabulary, POEM_SEPARATOR } from "../../lib/data.ts";
import { assertNoTensorGrowth, initBackend } from "../../lib/tensor.ts";

await initBackend();

Deno.test("parameterBreakdown: GPT-1 and GPT-2 small part by part, totals as countGPTParameters", () => {
  const gpt1 = Object.fromEntries(parameterBreakdown(GPT1_CONFIG).map((r) => [r.part, r.count]));
  const d = 768;
  // GPT-1: 40,478 × 768 = 31,087,104 token embeddings, 512 × 768 = 393,216 positions.
  assertEquals(gpt1["token embeddings Wₑ"], 31_087_104);
  assertEquals(gpt1["positions Wₚ"], 393_216);
  assertEquals(gpt1["attention, per block (W_q, W_k, W_v, W_o, biases)"], 4 * d * d + 4 * d);
  assertEquals(gpt1["FFN, per block (W₁, b₁, W₂, b₂)"], 2 * d * 3072 + 3072 + d);
  assertEquals(gpt1["one block"], 7_087_872);
  assertEquals(gpt1["final LayerNorm"], 0);
  assertEquals(gpt1.total, 116_534_784);
  const gpt2 = parameterBreakdown(GPT2_SMALL_CONFIG);
  assertEquals(gpt2.find((r) => r.part === "final LayerNorm")?.count, 2 * d);
  assertEquals(gpt2[gpt2.length - 1].count, 124_439_808);
  const untied = gptConfig({ vocabSize: 50, tiedOutput: false, layers: 3 });
  const rows = parameterBreakdown(untied);
  assertEquals(rows.find((r) => r.part === "output layer")?.count, 50 * 128);
  assertEquals(rows[rows.length - 1].count, countGPTParameters(untied));
  // The parts add up: embeddings + positions + blocks + final norm + output = total.
  const [emb, pos, , , , , blocks, final, out, total] = rows.map((r) => r.count);
  assertEquals(emb + pos + blocks + final + out, total);
});

Deno.test("unigramCrossEntropy: hand-worked values, with and without smoothing", () => {
  // Train [0, 0, 1], V = 3, α = 1: P(0) = (2+1)/(3+3) = 1/2, P(1) = 2/6, P(2) = 1/6.
  // Evaluated [0, 1]: H = −(ln ½ + ln ⅓)/2 = (0.693147 + 1.098612)/2 = 0.895880.
  assertAlmostEquals(unigramCrossEntropy([0, 0, 1], [0, 1], 3), 0.89588, 1e-5);
  // An unseen token gets (0 + 1)/6: H = ln 6.
  assertAlmostEquals(unigramCrossEntropy([0, 0, 1], [2], 3), Math.log(6), 1e-12);
  // α = 0 on a stream that uses 4 tokens evenly: every token has P = ¼, H = ln 4.
  assertAlmostEquals(unigramCrossEntropy([0, 1, 2, 3], [3, 2, 1, 0, 0], 8, 0), Math.log(4), 1e-12);
  assertThrows(() => unigramCrossEntropy([0, 5], [0], 3), Error, "training id 5");
  assertThrows(() => unigramCrossEntropy([0], [], 3), Error, "must not be empty");
});

Deno.test("evaluationBatches: evenly spaced windows, targets shifted by one, fixed", () => {
  const ids = Array.from({ length: 101 }, (_, i) => i);
  const settings = { contextLength: 8, batchSize: 4, evalWindows: 10 };
  const batches = evaluationBatches(ids, settings);
  // 10 windows, 4 per batch: 4 + 4 + 2; offsets 0, 10, …, 90 (stride ⌊(100 − 8)/9⌋ = 10).
  assertEquals(batches.map((b) => b.inputs.shape), [[4, 8], [4, 8], [2, 8]]);
  const inputs = batches.flatMap((b) => b.inputs.arraySync() as number[][]);
  const targets = batches.flatMap((b) => b.targets.arraySync() as number[][]);
  inputs.forEach((row, w) => {
    assertEquals(row, ids.slice(10 * w, 10 * w + 8));
    assertEquals(targets[w], ids.slice(10 * w + 1, 10 * w + 9));
  });
  const again = evaluationBatches(ids, settings);
  assertEquals(again[1].inputs.arraySync(), batches[1].inputs.arraySync());
  // A short stream gives the windows it has; too short a stream is an error.
  assertEquals(evaluationBatches(ids.slice(0, 20), settings).length, 1);
  assertThrows(() => evaluationBatches(ids.slice(0, 8), settings), Error, "need 9 tokens");
  tf.dispose([...batches, ...again].flatMap((b) => [b.inputs, b.targets]));
});

Deno.test("poemLines, fiveCharLineForm, isFiveCharQuatrain: hand-written poems", () => {
  assertEquals(poemLines("白日依山尽，黄河入海流。"), ["白日依山尽，", "黄河入海流。"]);
  assertEquals(poemLines("春眠不觉晓，处处闻"), ["春眠不觉晓，", "处处闻"]);
  assertEquals(poemLines(""), []);
  const form = fiveCharLineForm(["白日依山尽，黄河入海流。", "春眠不觉，处处闻啼鸟。夜来"]);
  // Lines: 白日依山尽， 黄河入海流。 春眠不觉， 处处闻啼鸟。 夜来 → 3 of 5 have the form.
  assertEquals(form, { lines: 5, formed: 3, fraction: 0.6 });
  assertEquals(fiveCharLineForm([]).fraction, 0);
  assert(isFiveCharQuatrain("白日依山尽，黄河入海流。欲穷千里目，更上一层楼。"));
  assert(!isFiveCharQuatrain("白日依山尽，黄河入海流。")); // two lines only
  assert(!isFiveCharQuatrain("白日依山尽。黄河入海流，欲穷千里目，更上一层楼。")); // 。 first
  assert(!isFiveCharQuatrain("白日依山尽，黄河入海流。欲穷千里目，更上一层楼。春")); // extra
});

Deno.test("poemLines: the lines joined give back the text", () => {
  const piece = fc.constantFrom("山", "水", "，", "。", "a", " ");
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 30 }), (chars) => {
      const text = chars.join("");
      assertEquals(poemLines(text).join(""), text);
    }),
  );
});

Deno.test("commonCharacterCorpus: keeps the poems written with the common characters", () => {
  const splits = {
    train: ["山山水水，", "山水月，", "山花，"],
    validation: ["水山，", "月月，"],
  };
  // Counts: 山 4, ， 3, 水 3, 月 1, 花 1; the 3 most frequent are 山 ， 水.
  const corpus = commonCharacterCorpus(splits, 3, "冬");
  assertEquals(corpus.train, ["山山水水，"]);
  assertEquals(corpus.validation, ["水山，"]);
  assertEquals(corpus.dropped, 3);
  assert(corpus.vocab.has("冬") && corpus.vocab.has(POEM_SEPARATOR) && !corpus.vocab.has("月"));
  const sep = corpus.vocab.idOf(POEM_SEPARATOR);
  assertEquals(corpus.trainIds, [..."山山水水，"].map((c) => corpus.vocab.idOf(c)).concat(sep));
  assertEquals(corpus.validationIds.length, 4);
  assertThrows(() => commonCharacterCorpus(splits, 1), Error, "no training poem");
  assertThrows(
    () => commonCharacterCorpus({ ...splits, validation: ["月月，"] }, 3),
    Error,
    "no validation poem",
  );
  assertThrows(() => commonCharacterCorpus(splits, 0), Error, "positive integer");
});

Deno.test("poemLanguageModel and writePoem: no specials, the prompt kept, reproducible", async () => {
  const vocab = charVocabulary(["白日依山尽，黄河入海流。"]);
  const config = gptConfig({
    vocabSize: vocab.size,
    contextLength: 12,
    layers: 1,
    heads: 2,
    dModel: 8,
  });
  const model = { params: initGPT(config, 5), config };
  const lm = poemLanguageModel(model, vocab);
  const z = lm.nextLogits([vocab.idOf("白")]);
  for (const s of vocab.specials) assertEquals(z[vocab.idOf(s)], -Infinity);
  assert(z[vocab.idOf(POEM_SEPARATOR)] > -Infinity);
  lm.dispose();
  const noEnd = poemLanguageModel(model, vocab, { endPoem: false });
  assertEquals(noEnd.nextLogits([vocab.idOf("白")])[vocab.idOf(POEM_SEPARATOR)], -Infinity);
  noEnd.dispose();
  const write = (seed: number) =>
    writePoem(model, vocab, "白日", { temperature: 1.5, seed, length: 20 });
  const poems = [0, 1, 2, 3].map(write);
  for (const poem of poems) {
    assert(poem.startsWith("白日"));
    assertEquals([...poem].length, 20);
    assert([...poem].every((c) => vocab.has(c) && !vocab.isSpecial(c) && c !== POEM_SEPARATOR));
  }
  assertEquals(write(2), poems[2]);
  assertThrows(() => writePoem(model, vocab, "冬日"), Error, "no 冬");
  await assertNoTensorGrowth(() => write(7), 3, "writePoem");
  disposeGPT(model.params);
});

Deno.test("attentionAtLag: the mean weight on the position `lag` before", () => {
  // One layer, two heads, T = 3 (rows: queries, columns: keys).
  const a = tf.tensor4d([[
    [[1, 0, 0], [0.25, 0.75, 0], [0.1, 0.6, 0.3]],
    [[1, 0, 0], [1, 0, 0], [0.5, 0.5, 0]],
  ]]);
  // Head 0, lag 1: (0.25 + 0.6)/2; head 1: (1 + 0.5)/2. Lag 2: 0.1 and 0.5.
  const lag1 = attentionAtLag([a], 1);
  assertAllClose(tf.tensor2d(lag1), tf.tensor2d([[0.425, 0.75]]), { atol: 1e-6 });
  assertAllClose(tf.tensor2d(attentionAtLag([a], 2)), tf.tensor2d([[0.1, 0.5]]), { atol: 1e-6 });
  assertThrows(() => attentionAtLag([a], 3), Error, "lag must be an integer in 1 … 2");
  a.dispose();
});

Deno.test("pretrain: a short run lowers the loss on a repeating text, no tensor growth", async () => {
  const vocab = charVocabulary(["白日依山尽，黄河入海流。"]);
  const ids = Array.from({ length: 40 }, () => vocab.encode([..."白日依山尽，黄河入海流。"]))
    .flat();
  const settings = {
    ...pretrainingSettings(true),
    layers: 1,
    dModel: 16,
    contextLength: 12,
    steps: 40,
    warmupSteps: 4,
    evalEvery: 20,
  };
  const config = pretrainingConfig(settings, vocab.size);
  assertEquals([config.layers, config.dModel, config.dFF, config.norm], [1, 16, 64, "pre"]);
  const p = initGPT(config, 1);
  const held = evaluationBatches(ids, settings);
  const before = meanLoss(p, config, held);
  const counts: number[] = [];
  const result = await pretrain(p, config, ids, settings, {
    evaluate: () => meanLoss(p, config, held),
    onStep: () => void counts.push(tf.memory().numTensors),
  });
  assertEquals(result.losses.length, 40);
  assertEquals(result.evals.map((e) => e.step), [20, 40]);
  const after = result.evals[1].value;
  assert(after < before / 2, `validation loss ${before} → ${after}`);
  assertEquals(counts[counts.length - 1], counts[1], "live tensors grew during training");
  await assertRejects(
    () => pretrain(p, { ...config, contextLength: 8 }, ids, settings),
    Error,
    "windows of 12 tokens do not fit the context 8",
  );
  tf.dispose(held.flatMap((b) => [b.inputs, b.targets]));
  disposeGPT(p);
});
