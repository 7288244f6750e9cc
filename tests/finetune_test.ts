import * as tf from "@tensorflow/tfjs";
import fc from "fast-check";
import { assert, assertEquals, assertThrows } from "@std/assert";
import { assertAllClose } from "../testing/tensor_assert.ts";
import { disposeGPT, type GPTConfig, gptConfig, gptForward, initGPT } from "../lib/gpt.ts";
import { crossEntropy, languageModelingLoss } from "../lib/objectives.ts";
import { createOptimizer } from "../lib/train.ts";
import { Vocabulary } from "../lib/tokenizer.ts";
import { charVocabulary } from "../lib/data.ts";
import {
  disposeFineTuneBatch,
  disposeFineTuneHead,
  encodeChars,
  extendVocabulary,
  fineTuneBatch,
  fineTuneForward,
  fineTuneLoss,
  type FineTuneModel,
  type FineTuneRegime,
  fineTuneVariables,
  initFineTune,
  lmTargets,
  type TaskInput,
  type TaskKind,
  tokenTable,
  transformInput,
} from "../lib/finetune.ts";
import { assertNoTensorGrowth, initBackend } from "../lib/tensor.ts";

await initBackend();

// The library's vocabularies: <s> 0, <pad> 1, <unk> 2, <start> 3, <delim> 4, <extract> 5, "\n" 6, …
const vocab = charVocabulary(["春风花月夜山水好"]);
const IDS = { start: 3, delim: 4, extract: 5, pad: 1 };

function model(task: TaskKind, classes: number, norm: "pre" | "post" = "pre", seed = 1) {
  const config: GPTConfig = gptConfig({
    vocabSize: vocab.size,
    contextLength: 12,
    layers: 2,
    heads: 2,
    dModel: 8,
    norm,
  });
  const body = initGPT(config, seed);
  return { body, config, m: initFineTune(body, config, vocab, { task, classes, seed: seed + 7 }) };
}

function free(m: FineTuneModel): void {
  disposeFineTuneHead(m);
  disposeGPT(m.body);
}

Deno.test("extendVocabulary keeps reserved ids and appends missing task tokens", () => {
  assertEquals(extendVocabulary(vocab).ids, IDS);
  assertEquals(extendVocabulary(vocab).vocab, vocab);
  const plain = new Vocabulary(["<pad>", "a", "b"], ["<pad>"]);
  const { vocab: v, ids } = extendVocabulary(plain);
  assertEquals(v.tokens, ["<pad>", "a", "b", "<start>", "<delim>", "<extract>"]);
  assertEquals(ids, { start: 3, delim: 4, extract: 5, pad: 0 });
  assert(v.isSpecial("<extract>"));
});

Deno.test("the four transforms produce exactly the expected ids", () => {
  assertEquals(transformInput({ task: "classification", text: [10, 11, 12] }, IDS, 12), [
    [3, 10, 11, 12, 5],
  ]);
  assertEquals(
    transformInput({ task: "entailment", premise: [10, 11], hypothesis: [12] }, IDS, 12),
    [[3, 10, 11, 4, 12, 5]],
  );
  assertEquals(transformInput({ task: "similarity", a: [10, 11], b: [12] }, IDS, 12), [
    [3, 10, 11, 4, 12, 5],
    [3, 12, 4, 10, 11, 5],
  ]);
  assertEquals(
    transformInput({ task: "multipleChoice", context: [10], answers: [[11], [12, 13]] }, IDS, 12),
    [[3, 10, 4, 11, 5], [3, 10, 4, 12, 13, 5]],
  );
  // characters → ids
  assertEquals(encodeChars(vocab, "春风"), [vocab.idOf("春"), vocab.idOf("风")]);
});

Deno.test("truncation drops tokens from the left and keeps the special tokens", () => {
  const text = [10, 11, 12, 13, 14, 15];
  assertEquals(transformInput({ task: "classification", text }, IDS, 5), [[3, 13, 14, 15, 5]]);
  // the premise loses its start first
  assertEquals(
    transformInput({ task: "entailment", premise: text, hypothesis: [20, 21] }, IDS, 7),
    [[3, 14, 15, 4, 20, 21, 5]],
  );
  // a hypothesis that alone does not fit keeps its end, the premise one token
  assertEquals(
    transformInput({ task: "entailment", premise: [9], hypothesis: text }, IDS, 6),
    [[3, 9, 4, 14, 15, 5]],
  );
  // similarity shortens the longer text, both when equally long
  assertEquals(transformInput({ task: "similarity", a: text, b: [20, 21] }, IDS, 7)[0], [
    3,
    14,
    15,
    4,
    20,
    21,
    5,
  ]);
  assertEquals(transformInput({ task: "similarity", a: [1, 2, 3], b: [7, 8, 9] }, IDS, 8)[0], [
    3,
    2,
    3,
    4,
    8,
    9,
    5,
  ]);
  for (const s of transformInput({ task: "classification", text }, IDS, 4)) {
    assertEquals(s.length, 4);
  }
});

Deno.test("similarity truncation keeps the same tokens in both orders", () => {
  const ids = fc.array(fc.integer({ min: 10, max: 30 }), { minLength: 1, maxLength: 12 });
  fc.assert(fc.property(ids, ids, fc.integer({ min: 5, max: 16 }), (a, b, n) => {
    const [ab, ba] = transformInput({ task: "similarity", a, b }, IDS, n);
    const [ba2, ab2] = transformInput({ task: "similarity", a: b, b: a }, IDS, n);
    assertEquals(ab, ab2);
    assertEquals(ba, ba2);
    assert(ab.length <= n);
  }));
});

Deno.test("clear errors: empty text, label outside the classes, task/format mismatch", () => {
  const { m } = model("entailment", 3);
  assertThrows(
    () => transformInput({ task: "classification", text: [] }, IDS, 12),
    Error,
    "classification: text is empty",
  );
  assertThrows(() => encodeChars(vocab, ""), Error, "text is empty");
  assertThrows(
    () => transformInput({ task: "entailment", premise: [10], hypothesis: [] }, IDS, 12),
    Error,
    "hypothesis is empty",
  );
  assertThrows(
    () => transformInput({ task: "multipleChoice", context: [10], answers: [[11]] }, IDS, 12),
    Error,
    "at least 2 candidate answers",
  );
  const ex: TaskInput = { task: "entailment", premise: [10], hypothesis: [11] };
  assertThrows(() => fineTuneBatch(m, [ex], [3]), Error, "label 3 of example 0 is outside");
  assertThrows(() => fineTuneBatch(m, [ex], [-1]), Error, "outside the classes 0 … 2");
  assertThrows(
    () => fineTuneBatch(m, [{ task: "classification", text: [10] }], [0]),
    Error,
    "example 0 is a classification input, the model's head is for entailment",
  );
  assertThrows(() => fineTuneBatch(m, [ex], [0, 1]), Error, "1 examples but 2 labels");
  // a text holding the <extract> id itself would make the reading position ambiguous
  assertThrows(
    () => fineTuneBatch(m, [{ task: "entailment", premise: [5], hypothesis: [11] }], [0]),
    Error,
    "row 0 must hold <extract> exactly once",
  );
  free(m);
  const mc = model("multipleChoice", 3).m;
  const q: TaskInput = { task: "multipleChoice", context: [10], answers: [[11], [12]] };
  assertThrows(() => fineTuneBatch(mc, [q], [2]), Error, "outside the classes 0 … 1");
  free(mc);
  const body = initGPT(gptConfig({ vocabSize: vocab.size, layers: 1, tiedOutput: false }), 1);
  assertThrows(
    () =>
      initFineTune(body, gptConfig({ vocabSize: vocab.size, tiedOutput: false }), vocab, {
        task: "classification",
        classes: 2,
        seed: 1,
      }),
    Error,
    "tied output",
  );
  disposeGPT(body);
});

Deno.test("initFineTune leaves the pretrained rows bit-identical; new rows for appended tokens", async () => {
  const plain = new Vocabulary(["<pad>", "a", "b", "c"], ["<pad>"]);
  const config = gptConfig({ vocabSize: 4, contextLength: 8, layers: 1, heads: 2, dModel: 8 });
  const body = initGPT(config, 3);
  const before = await body.tokenEmbedding.data();
  const m = initFineTune(body, config, plain, { task: "classification", classes: 2, seed: 5 });
  assertEquals(m.config.vocabSize, 7);
  const E = tokenTable(m);
  assertEquals(E.shape, [7, 8]);
  const table = await E.data();
  assertEquals(table.slice(0, 32), before);
  assertEquals(table.slice(32), await m.taskEmbedding.data());
  E.dispose();
  free(m);
});

Deno.test("the body forward is gptForward's, and the head reads <extract>, not the last non-pad", () => {
  for (const norm of ["pre", "post"] as const) {
    const { m, body, config } = model("classification", 2, norm);
    // LM logits equal gptForward's with the extended token table
    const text = encodeChars(vocab, "春风花月");
    const batch = fineTuneBatch(m, [{ task: "classification", text }]);
    const out = fineTuneForward(m, batch);
    const table = tokenTable(m);
    const ref = gptForward({ ...body, tokenEmbedding: table as never }, m.config, batch.ids).logits;
    assertAllClose(out.lmLogits, ref, { atol: 1e-5 });
    assertEquals(config.vocabSize, m.config.vocabSize);
    // padding after <extract> (and even a longer row in the batch) changes nothing
    const long = { task: "classification" as const, text: encodeChars(vocab, "山水好春风花月夜") };
    const padded = fineTuneBatch(m, [{ task: "classification", text }, long]);
    assertEquals(padded.ids.shape, [2, 10]);
    assertEquals(padded.extractPositions, [5, 9]);
    assertEquals(Array.from(padded.ids.dataSync()).slice(6, 10), [1, 1, 1, 1]);
    const outPadded = fineTuneForward(m, padded);
    assertAllClose(outPadded.logits.slice([0, 0], [1, 2]), out.logits, { atol: 1e-5 });
    // a real token (not padding) after <extract> must not change the reading either: the head
    // reads the <extract> position, not the last token of the row
    const tail = Array.from(padded.ids.dataSync());
    tail[6] = vocab.idOf("山");
    const manual = { ...padded, ids: tf.tensor2d(tail, [2, 10], "int32") };
    const outTail = fineTuneForward(m, manual);
    assertAllClose(outTail.logits, outPadded.logits, { atol: 1e-6 });
    const lastRead = tf.tidy(() =>
      fineTuneForward(m, { ...manual, extractPositions: [6, 9] }).logits.slice([0, 0], [1, 2])
    );
    assert(Math.abs(lastRead.dataSync()[0] - out.logits.dataSync()[0]) > 1e-6);
    tf.dispose([manual.ids, outTail.logits, outTail.lmLogits, lastRead]);
    tf.dispose([out.logits, out.lmLogits, outPadded.logits, outPadded.lmLogits, ref]);
    tf.dispose([table]);
    disposeFineTuneBatch(batch);
    disposeFineTuneBatch(padded);
    free(m);
  }
});

Deno.test("L3 = L2 + λ·L1, each computed separately", () => {
  const { m } = model("entailment", 3, "post");
  const inputs: TaskInput[] = [
    {
      task: "entailment",
      premise: encodeChars(vocab, "春风"),
      hypothesis: encodeChars(vocab, "花"),
    },
    {
      task: "entailment",
      premise: encodeChars(vocab, "山水好"),
      hypothesis: encodeChars(vocab, "月夜"),
    },
  ];
  const batch = fineTuneBatch(m, inputs, [2, 0]);
  for (const lambda of [0.5, 0, 2]) {
    const { loss, l2, l1 } = fineTuneLoss(m, batch, { lambda });
    // L2 separately: hand-made logits h_extract·W_y, cross-entropy with the labels
    const l2Ref = tf.tidy(() => {
      const { logits } = fineTuneForward(m, batch);
      const p = tf.softmax(logits);
      const picked = tf.stack([p.slice([0, 2], [1, 1]), p.slice([1, 0], [1, 1])]);
      return tf.neg(tf.mean(tf.log(picked)));
    });
    // L1 separately: gptForward's LM loss on a GPT whose token table is the extended one
    const l1Ref = tf.tidy(() =>
      languageModelingLoss(
        { ...m.body, tokenEmbedding: tokenTable(m) as never },
        m.config,
        { inputs: batch.ids, targets: lmTargets(batch) },
        { ignoreIndex: -1 },
      )
    );
    const [L, L2, L1, R2, R1] = [loss, l2, l1, l2Ref, l1Ref].map((t) => t.dataSync()[0]);
    assert(Math.abs(L2 - R2) < 1e-5, `${L2} vs ${R2}`);
    assert(Math.abs(L1 - R1) < 1e-5, `${L1} vs ${R1}`);
    assert(Math.abs(L - (R2 + lambda * R1)) < 1e-5, `${L} vs ${R2} + ${lambda}·${R1}`);
    tf.dispose([loss, l2, l1, l2Ref, l1Ref]);
  }
  // L1 targets: the next token up to <extract>, ignored after it
  const t = lmTargets(batch);
  assertEquals(Array.from(t.dataSync()).slice(0, 6), [
    vocab.idOf("春"),
    vocab.idOf("风"),
    4,
    vocab.idOf("花"),
    5,
    -1,
  ]);
  t.dispose();
  disposeFineTuneBatch(batch);
  free(m);
});

function trainSteps(m: FineTuneModel, regime: FineTuneRegime) {
  const batch = fineTuneBatch(m, [
    { task: "classification", text: encodeChars(vocab, "春风好") },
    { task: "classification", text: encodeChars(vocab, "山月夜") },
  ], [1, 0]);
  const vars = fineTuneVariables(m, regime);
  const opt = createOptimizer({ learningRate: 0.01 });
  const step = () => {
    const { grads, value } = tf.variableGrads(() => fineTuneLoss(m, batch).loss, vars);
    opt.applyGradients(vars, vars.map((v) => grads[v.name]));
    tf.dispose([value, ...Object.values(grads)]);
  };
  return { step, done: () => (opt.dispose(), disposeFineTuneBatch(batch)) };
}

Deno.test("a probe trains W_y alone, prompt tuning the task tokens too; both leave the body bit-identical", async () => {
  for (const regime of ["probe", "prompt", "full"] as const) {
    const { m, body } = model("classification", 2);
    const bodyVars = fineTuneVariables(m, "full").slice(0, -2);
    assertEquals(bodyVars.length, fineTuneVariables(m, "full").length - 2);
    const size = (vs: { size: number }[]) => vs.reduce((n, v) => n + v.size, 0);
    const trained = fineTuneVariables(m, regime);
    const expected = { probe: [m.Wy], prompt: [m.taskEmbedding, m.Wy], full: trained }[regime];
    assertEquals(trained, expected);
    if (regime === "probe") assertEquals(size(trained), m.config.dModel * 2);
    if (regime === "prompt") assertEquals(size(trained), m.config.dModel * (2 + 3));
    const before = bodyVars.map((v) => v.dataSync().slice());
    const headBefore = [m.Wy.dataSync().slice(), m.taskEmbedding.dataSync().slice()];
    const t = trainSteps(m, regime);
    const counts = await assertNoTensorGrowth(t.step, 3, `${regime} step`);
    assert(counts.length === 3);
    const changed = bodyVars.filter((v, i) => !before[i].every((x, j) => x === v.dataSync()[j]));
    if (regime === "full") assert(changed.length > 0);
    else assertEquals(changed.length, 0);
    assert(!headBefore[0].every((x, j) => x === m.Wy.dataSync()[j]));
    const tokensMoved = !headBefore[1].every((x, j) => x === m.taskEmbedding.dataSync()[j]);
    assertEquals(tokensMoved, regime !== "probe", `${regime}: the task tokens' rows`);
    assert(body.tokenEmbedding === m.body.tokenEmbedding);
    t.done();
    free(m);
  }
  const { m } = model("classification", 2);
  assertThrows(() => fineTuneVariables(m, "head" as never), Error, `"full", "prompt" or "probe"`);
  free(m);
});

Deno.test("similarity is symmetric in its two inputs", () => {
  const { m } = model("similarity", 2);
  const a = encodeChars(vocab, "春风花");
  const b = encodeChars(vocab, "山水");
  const ab = fineTuneBatch(m, [{ task: "similarity", a, b }]);
  const ba = fineTuneBatch(m, [{ task: "similarity", a: b, b: a }]);
  const x = fineTuneForward(m, ab).logits;
  const y = fineTuneForward(m, ba).logits;
  assertAllClose(x, y, { atol: 1e-6 });
  assertEquals(x.shape, [1, 2]);
  tf.dispose([x, y]);
  disposeFineTuneBatch(ab);
  disposeFineTuneBatch(ba);
  free(m);
});

Deno.test("multiple choice is invariant to the order of candidates, up to permuting the output", () => {
  const { m } = model("multipleChoice", 4);
  const context = encodeChars(vocab, "春夜山");
  const answers = ["风好", "月", "花水好", "夜"].map((s) => encodeChars(vocab, s));
  const perm = [2, 0, 3, 1];
  const batch = fineTuneBatch(m, [
    { task: "multipleChoice", context, answers },
    { task: "multipleChoice", context, answers: perm.map((i) => answers[i]) },
    { task: "multipleChoice", context, answers: answers.slice(0, 2) },
  ], [0, 1, 1]);
  const { logits, lmLogits } = fineTuneForward(m, batch);
  const rows = logits.arraySync() as number[][];
  perm.forEach((i, j) => assert(Math.abs(rows[1][j] - rows[0][i]) < 1e-5));
  // fewer candidates: the missing ones get no probability
  const p = tf.softmax(logits).arraySync() as number[][];
  assertEquals(p[2].slice(2), [0, 0]);
  assert(Math.abs(rows[2][0] - rows[0][0]) < 1e-5);
  const { loss, l1, l2 } = fineTuneLoss(m, batch);
  assert(Number.isFinite(loss.dataSync()[0]));
  tf.dispose([logits, lmLogits, loss, l1, l2]);
  disposeFineTuneBatch(batch);
  free(m);
});

Deno.test("crossEntropy of the head equals −mean log softmax (sanity of the class logits)", () => {
  const { m } = model("classification", 3);
  const batch = fineTuneBatch(m, [{ task: "classification", text: [7, 8] }], [2]);
  const { logits, lmLogits } = fineTuneForward(m, batch);
  const ce = crossEntropy(logits, batch.labels!);
  const ref = -Math.log((tf.softmax(logits).arraySync() as number[][])[0][2]);
  assert(Math.abs(ce.dataSync()[0] - ref) < 1e-5);
  tf.dispose([logits, lmLogits, ce]);
  disposeFineTuneBatch(batch);
  free(m);
});
