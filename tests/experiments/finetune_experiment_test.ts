import { assert, assertEquals, assertThrows } from "@std/assert";
import { charVocabulary, type FineTuneTasks } from "../../lib/data.ts";
import { disposeGPT, gptConfig, initGPT, namedGPTParameters } from "../../lib/gpt.ts";
import {
  disposeFineTuneBatch,
  disposeFineTuneHead,
  fineTuneBatch,
  predictClasses,
} from "../../lib/finetune.ts";
import {
  accuracy,
  accuracyDifferenceError,
  compareAccuracies,
  differingSpan,
  embeddingCosine,
  embeddingLeaning,
  fineTuneSettings,
  fineTuneTask,
  pretrainingCorpus,
  similarityDifferingWords,
  situationLast,
  TASK_NAMES,
  taskExamples,
  taskText,
  transferBody,
  transferRun,
} from "../../lib/experiments/finetune_experiment.ts";
import { assertNoTensorGrowth, initBackend } from "../../lib/tensor.ts";
import { useNativeBlas } from "../../lib/blas.ts";
import { assertAllClose } from "../../testing/tensor_assert.ts";
import * as tf from "@tensorflow/tfjs";

await initBackend();

const splits = <T>(items: T[]) => ({ train: items, validation: items.slice(0, 2), test: items });
const TASKS: FineTuneTasks = {
  sentiment: splits([
    { text: "春风好", label: 1 },
    { text: "秋雨愁", label: 0 },
    { text: "花月好", label: 1 },
    { text: "夜雨愁", label: 0 },
  ]),
  entailment: splits([
    { premise: "山大", hypothesis: "山不小", label: 0 },
    { premise: "山大", hypothesis: "水大", label: 1 },
    { premise: "山大", hypothesis: "山小", label: 2 },
  ]),
  similarity: splits([
    { a: "春山", b: "春峰", label: 1 },
    { a: "春山", b: "秋山", label: 0 },
  ]),
  multipleChoice: splits([
    { context: "雨夜", endings: ["回家", "看花"], label: 0 },
    { context: "春日", endings: ["看花", "回家", "饮酒"], label: 1 },
  ]),
};
const vocab = charVocabulary([], taskText(TASKS));
const config = gptConfig({
  vocabSize: vocab.size,
  contextLength: 16,
  layers: 2,
  heads: 2,
  dModel: 8,
  dFF: 16,
});
const settings = {
  ...fineTuneSettings(true),
  steps: 3,
  batchSize: 2,
  warmupSteps: 1,
  evalExamples: undefined,
};

const values = (p: ReturnType<typeof initGPT>) =>
  new Map(namedGPTParameters(p).map(([name, v]) => [name, Array.from(v.dataSync())]));

Deno.test("taskText holds every character of every split; taskExamples encodes them", () => {
  for (const c of "春风好秋雨愁山不小水峰雨夜回家看花饮酒日") assert(taskText(TASKS).includes(c));
  const mc = taskExamples(TASKS, "multipleChoice", "train", vocab);
  assertEquals(mc.labels, [0, 1]);
  assertEquals(mc.inputs[1], {
    task: "multipleChoice",
    context: vocab.encode(["春", "日"]),
    answers: [["看", "花"], ["回", "家"], ["饮", "酒"]].map((a) => vocab.encode(a)),
  });
  const sim = taskExamples(TASKS, "similarity", "validation", vocab);
  assertEquals(sim.inputs[0], {
    task: "similarity",
    a: vocab.encode(["春", "山"]),
    b: vocab.encode(["春", "峰"]),
  });
  assertEquals(TASK_NAMES.length, 4);
});

Deno.test("transferBody copies the embeddings and the first k blocks, the rest is fresh", () => {
  const pretrained = initGPT(config, 1);
  const fresh = values(initGPT(config, 2));
  const source = values(pretrained);
  for (const layers of ["none", 0, 1, 2] as const) {
    const body = transferBody(pretrained, config, layers, 2);
    for (const [name, v] of values(body)) {
      const block = /^blocks\.(\d+)\./.exec(name);
      const copied = layers !== "none" &&
        (block
          ? Number(block[1]) < layers
          : name.startsWith("finalNorm.")
          ? layers === config.layers
          : true);
      assertEquals(v, (copied ? source : fresh).get(name), `${name} with layers ${layers}`);
    }
    disposeGPT(body);
  }
  assertThrows(() => transferBody(pretrained, config, 3, 2), Error, `"none" or 0 … 2`);
  disposeGPT(pretrained);
});

Deno.test("fine-tuning a copy leaves the pretrained weights unchanged; a probe leaves the body too", async () => {
  const pretrained = initGPT(config, 1);
  const before = values(pretrained);
  const train = taskExamples(TASKS, "sentiment", "train", vocab);
  const body = transferBody(pretrained, config, 2, 3);
  const bodyBefore = values(body);
  const probe = await fineTuneTask(body, config, vocab, "sentiment", train, settings, {
    regime: "probe",
  });
  assertEquals(probe.losses.length, 3);
  assert(probe.losses.every(Number.isFinite));
  assertEquals(values(body), bodyBefore);
  disposeFineTuneHead(probe.model);
  const full = await fineTuneTask(body, config, vocab, "sentiment", train, settings);
  assert([...values(body)].some(([name, v]) => v.some((x, i) => x !== bodyBefore.get(name)![i])));
  assertEquals(values(pretrained), before);
  disposeFineTuneHead(full.model);
  disposeGPT(body);
  disposeGPT(pretrained);
});

Deno.test("accuracy counts predictClasses against the labels, in any chunking", async () => {
  const pretrained = initGPT(config, 1);
  const train = taskExamples(TASKS, "multipleChoice", "train", vocab);
  const body = transferBody(pretrained, config, 1, 3);
  const { model } = await fineTuneTask(body, config, vocab, "multipleChoice", train, settings);
  const batch = fineTuneBatch(model, train.inputs);
  const predicted = predictClasses(model, batch);
  disposeFineTuneBatch(batch);
  const expected = predicted.filter((p, i) => p === train.labels[i]).length / train.labels.length;
  assertEquals(accuracy(model, train), expected);
  assertEquals(accuracy(model, train, 1), expected);
  disposeFineTuneHead(model);
  disposeGPT(body);
  disposeGPT(pretrained);
});

Deno.test("transferRun measures accuracies in [0, 1] and frees everything", async () => {
  const pretrained = initGPT(config, 1);
  for (const task of TASK_NAMES) {
    const run = await transferRun(pretrained, config, vocab, TASKS, task, settings, {
      layers: "none",
    });
    assert(run.testAccuracy >= 0 && run.testAccuracy <= 1, task);
    assert(run.validationAccuracy >= 0 && run.validationAccuracy <= 1, task);
    assertEquals(run.model, undefined);
    assertEquals(run.trainAccuracy, undefined);
  }
  // measureTraining: the training split's accuracy as well, the same as accuracy() on it
  const measured = await transferRun(pretrained, config, vocab, TASKS, "sentiment", settings, {
    measureTraining: true,
    keep: true,
  });
  assertEquals(
    measured.trainAccuracy,
    accuracy(measured.model!, taskExamples(TASKS, "sentiment", "train", vocab)),
  );
  disposeFineTuneHead(measured.model!);
  disposeGPT(measured.model!.body);
  await assertNoTensorGrowth(
    () => transferRun(pretrained, config, vocab, TASKS, "similarity", settings, { lambda: 0 }),
    3,
    "transferRun",
  );
  const kept = await transferRun(pretrained, config, vocab, TASKS, "sentiment", settings, {
    keep: true,
  });
  assert(kept.model !== undefined);
  disposeFineTuneHead(kept.model);
  disposeGPT(kept.model.body);
  disposeGPT(pretrained);
});

Deno.test("pretrainingCorpus: poems in front of the prose at the asked share, every task character in the vocabulary", () => {
  const poems = {
    train: ["春风吹绿柳，细雨润青苔。", "明月照高楼，清风入我怀。", "白日依山尽，黄河入海流。"],
    validation: ["春风明月照，细雨入高楼。"],
  };
  const prose = ["春天和春日是一个意思。", "秋雨愁人。"];
  const proseChars = 11 + 5;
  const poemSettings = (poemShare: number) => ({
    ...settings,
    poemShare,
    pretraining: { ...settings.pretraining, characters: 100 },
  });
  const corpus = pretrainingCorpus(poems, prose, TASKS, poemSettings(0.4));
  // 0.4 / 0.6 · 16 ≈ 10.7 characters of poems wanted: one poem (12) is enough
  assertEquals(corpus.poems, 1);
  assertEquals(corpus.characters, { poems: 12, prose: proseChars });
  const text = corpus.vocab.decode(corpus.trainIds).join("");
  assertEquals(text, "春风吹绿柳，细雨润青苔。\n春天和春日是一个意思。\n秋雨愁人。\n");
  for (const c of taskText(TASKS)) assert(corpus.vocab.has(c), c);
  assert(!corpus.vocab.has("照"), "a character only of a poem not taken");
  assertEquals(pretrainingCorpus(poems, prose, TASKS, poemSettings(0)).poems, 0);
  assertEquals(pretrainingCorpus(poems, prose, TASKS, poemSettings(0.9)).poems, 3);
  assertThrows(() => pretrainingCorpus(poems, prose, TASKS, poemSettings(1)), Error, "poemShare");
  assertThrows(() => pretrainingCorpus(poems, [], TASKS, poemSettings(0.1)), Error, "no prose");
});

/**
 * A fresh body (initGPT with `seed`) whose embedding rows of the given characters are the
 * given vectors, padded with zeros to d_model; the caller disposes it.
 */
function bodyWithRows(seed: number, rows: Record<string, number[]>) {
  const body = initGPT(config, seed);
  const table = body.tokenEmbedding.arraySync() as number[][];
  for (const [c, v] of Object.entries(rows)) {
    table[vocab.idOf(c)] = [...v, ...Array(config.dModel - v.length).fill(0)];
  }
  tf.tidy(() => body.tokenEmbedding.assign(tf.tensor2d(table)));
  return body;
}

Deno.test("embeddingLeaning: cosine to the positive centroid minus cosine to the negative one", () => {
  const body = bodyWithRows(3, {
    好: [2, 0], // positive group
    愁: [0, 3], // negative group
    春: [1, 1], // halfway: 0
    秋: [5, 0], // along the positive direction: 1
    夜: [0, -1], // away from the negative one: 0 − (−1) = 1
    雨: [-1, 1], // (−1 − 1)/√2 = −√2
  });
  try {
    const leaning = embeddingLeaning(body, vocab, ["春", "秋", "夜", "雨"], ["好"], ["愁"]);
    assertAllClose(leaning, [0, 1, 1, -Math.SQRT2], { atol: 1e-5 });
    assertThrows(() => embeddingLeaning(body, vocab, ["龙"], ["好"], ["愁"]), Error, "龙");
    assertThrows(() => embeddingLeaning(body, vocab, ["春"], [], ["愁"]), Error, "both groups");
  } finally {
    disposeGPT(body);
  }
});

Deno.test("embeddingCosine: the cosine of the words' mean embedding rows", () => {
  const body = bodyWithRows(4, {
    春: [2, 0],
    秋: [0, 2], // 春秋: mean [1, 1]
    山: [3, 3], // parallel to 春秋: 1
    水: [-1, 0], // against 春: −1; at 45° to 春秋: −1/√2
    雨: [0, 5], // orthogonal to 春: 0
  });
  try {
    const cos = (a: string, b: string) => embeddingCosine(body, vocab, [...a], [...b]);
    assertAllClose([cos("春秋", "山"), cos("春", "水"), cos("春秋", "水"), cos("春", "雨")], [
      1,
      -1,
      -Math.SQRT1_2,
      0,
    ], { atol: 1e-5 });
    assertThrows(() => embeddingCosine(body, vocab, ["龙"], ["山"]), Error, "龙");
    assertThrows(() => embeddingCosine(body, vocab, [], ["山"]), Error, "at least one token");
  } finally {
    disposeGPT(body);
  }
});

Deno.test("accuracyDifferenceError: the standard error of a difference of two proportions", () => {
  // p₁ = 0.5, p₂ = 0.5, n = 100: √(0.25/100 + 0.25/100) = √0.005
  assertAllClose([accuracyDifferenceError(0.5, 0.5, 100)], [Math.sqrt(0.005)]);
  // p₁ = 0.9, p₂ = 0.6, n = 240: √((0.09 + 0.24)/240) = √0.001375
  assertAllClose([accuracyDifferenceError(0.9, 0.6, 240)], [Math.sqrt(0.001375)]);
  assertEquals(accuracyDifferenceError(1, 0, 10), 0);
  assertThrows(() => accuracyDifferenceError(1.2, 0.5, 10), Error, "[0, 1]");
  assertThrows(() => accuracyDifferenceError(0.5, 0.5, 0), Error, "positive integer");
  // different counts: √(0.25/100 + 0.25/300)
  assertAllClose([accuracyDifferenceError(0.5, 0.5, 100, 300)], [Math.sqrt(0.0025 + 0.25 / 300)]);
  assertThrows(() => accuracyDifferenceError(0.5, 0.5, 10, 0), Error, "positive integer");
});

Deno.test("compareAccuracies: means over the runs, 2·SE over every run's examples, three verdicts", () => {
  const c = compareAccuracies([0.6, 0.8], [0.5, 0.5, 0.5], 100);
  assertAllClose([c.a, c.b, c.difference], [0.7, 0.5, 0.2]);
  assertAllClose([c.twoSE], [2 * accuracyDifferenceError(0.7, 0.5, 200, 300)]);
  assertEquals(c.verdict, "clearly better");
  assertEquals(compareAccuracies([0.5], [0.7, 0.7], 100).verdict, "clearly worse");
  assertEquals(compareAccuracies([0.52], [0.5], 100).verdict, "no clear difference");
  // the same gap is clear with more seeds
  assertEquals(compareAccuracies([0.55], [0.5], 240).verdict, "no clear difference");
  assertEquals(
    compareAccuracies(Array(10).fill(0.55), Array(10).fill(0.5), 240).verdict,
    "clearly better",
  );
  assertThrows(() => compareAccuracies([], [0.5], 10), Error, "at least one run");
});

Deno.test("differingSpan and the follow-up variants of similarity and multiple choice", () => {
  assertEquals(differingSpan("日暮老翁在江边归来。", "黄昏老翁在江边归来。"), [["日", "暮"], [
    "黄",
    "昏",
  ]]);
  assertEquals(differingSpan("春山好", "春峰好"), [["山"], ["峰"]]);
  assertThrows(() => differingSpan("春山", "春山"), Error, "twice");
  assertThrows(() => differingSpan("春山", "春山好"), Error, "2 and 3 characters");
  const words = similarityDifferingWords(TASKS);
  assertEquals(words.similarity.train, [
    { a: "山", b: "峰", label: 1 },
    { a: "春", b: "秋", label: 0 },
  ]);
  assertEquals(words.sentiment, TASKS.sentiment);
  const stories: FineTuneTasks = {
    ...TASKS,
    multipleChoice: splits([{
      context: "行人湖边，阴雨连绵，四下无人。",
      endings: ["甲", "乙"],
      label: 1,
    }]),
  };
  const last = situationLast(stories).multipleChoice;
  assertEquals(last.test[0], {
    context: "行人湖边，四下无人，阴雨连绵。",
    endings: ["甲", "乙"],
    label: 1,
  });
  assertThrows(() => situationLast(TASKS), Error, "is not");
});

Deno.test("fineTuneSettings: by default three seeds in full mode and one in quick mode, with or without OpenBLAS, a count from a number or an environment text, a clear error otherwise", () => {
  assertEquals(fineTuneSettings(false).seeds, 3);
  const before = useNativeBlas(false);
  try {
    assertEquals(fineTuneSettings(false).seeds, 3);
  } finally {
    useNativeBlas(before);
  }
  assertEquals(fineTuneSettings(true).seeds, 1);
  assertEquals(fineTuneSettings(false, { seeds: 3 }).seeds, 3);
  assertEquals(fineTuneSettings(true, { seeds: "2" }).seeds, 2);
  for (const bad of [0, 11, 1.5, "two", ""]) {
    assertThrows(
      () => fineTuneSettings(false, { seeds: bad }),
      Error,
      "seeds must be a whole number from 1 to 10",
    );
  }
});
