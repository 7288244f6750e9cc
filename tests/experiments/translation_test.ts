// Chapter 05's translator (lib/translation.ts): trained here in quick mode, it must translate
// ≥ 95% of the held-out sentences exactly and 我是一名学生 as "I am a student", without leaking
// tensors; the greedy-decoding trace must be consistent with itself.
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import { assertNoTensorGrowth, initBackend } from "../../lib/tensor.ts";
import { buildSeq2SeqVocab, loadTranslationPairs } from "../../lib/data.ts";
import {
  disposeTranslator,
  exactMatch,
  initTranslator,
  trainTranslator,
  translate,
  translationLoss,
  translatorLearningRate,
  translatorSettings,
} from "../../lib/experiments/translation.ts";

Deno.test("translatorLearningRate: linear warm-up, then cosine decay to α/10", () => {
  const s = { ...translatorSettings(false), learningRate: 0.004, warmupSteps: 20, steps: 220 };
  assertAlmostEquals(translatorLearningRate(s, 1), 0.004 / 20, 1e-12);
  assertAlmostEquals(translatorLearningRate(s, 10), 0.002, 1e-12);
  assertAlmostEquals(translatorLearningRate(s, 20), 0.004, 1e-12);
  // halfway through the decay: α·(0.1 + 0.9·½(1 + cos(π/2))) = 0.55·α
  assertAlmostEquals(translatorLearningRate(s, 120), 0.0022, 1e-12);
  assertAlmostEquals(translatorLearningRate(s, 220), 0.0004, 1e-12);
  for (let t = 21; t <= 220; t++) {
    assert(translatorLearningRate(s, t) < translatorLearningRate(s, t - 1), `step ${t}`);
  }
});

Deno.test("translator trained in quick mode", async (t) => {
  await initBackend();
  const { train, test } = await loadTranslationPairs();
  const settings = translatorSettings(true);
  const baseline = tf.memory().numTensors;
  const model = initTranslator(buildSeq2SeqVocab(train), settings);
  const paramTensors = tf.memory().numTensors - baseline;

  await t.step("an untrained model's loss is about log |V| (uniform guessing)", () => {
    const loss = translationLoss(model, test);
    const logV = Math.log(model.vocab.tgt.size);
    assert(Math.abs(loss - logV) < 1.5, `loss ${loss}, log |V| = ${logV}`);
  });

  const counts: number[] = [];
  const { losses, evals } = await trainTranslator(model, train, settings, {
    heldOut: test,
    evalEvery: 50,
    onStep: () => {
      counts.push(tf.memory().numTensors);
    },
  });

  await t.step("live tensors are flat across training steps and freed afterwards", () => {
    assertEquals(counts.length, settings.steps);
    // step 1 creates Adam's moments (two per parameter); nothing grows after that
    assertEquals(new Set(counts.slice(1)).size, 1, `counts vary: ${[...new Set(counts)]}`);
    assertEquals(counts[0], counts[counts.length - 1]);
    assertEquals(tf.memory().numTensors - baseline, paramTensors);
  });

  await t.step("the losses fall and are reported with the held-out evaluations", () => {
    assertEquals(losses.length, settings.steps);
    assert(losses[losses.length - 1] < 0.05 * losses[0], `losses ${losses[0]} → ${losses.at(-1)}`);
    assertEquals(evals.map((e) => e.step), [50, 100, 150, 200]);
    assertAlmostEquals(evals[evals.length - 1].value, translationLoss(model, test), 1e-5);
  });

  await t.step("≥ 95% exact match on the held-out test split", () => {
    const { accuracy, results } = exactMatch(model, test);
    assertEquals(results.length, test.length);
    assertEquals(accuracy, results.filter((r) => r.predicted === r.en).length / test.length);
    const wrong = results.filter((r) => !r.correct).map((r) => `${r.zh} → ${r.predicted}`);
    assert(accuracy >= 0.95, `accuracy ${accuracy}; wrong: ${wrong.join("; ")}`);
  });

  await t.step("greedy decoding of 我是一名学生 gives “I am a student”", () => {
    assertEquals(translate(model, "我是一名学生").en, "I am a student");
  });

  await t.step("the decoding trace: inputs so far, sorted candidates, cross-attention rows", () => {
    const { en, srcTokens, steps } = translate(model, "我是一名学生", { topK: 3 });
    const words = en.split(" ");
    assertEquals(srcTokens, ["我", "是", "一", "名", "学", "生"]);
    assertEquals(steps.length, words.length + 1); // the words, then </s>
    steps.forEach((step, i) => {
      assertEquals(step.inputIds, [model.bosId, ...steps.slice(0, i).map((s) => s.chosen)]);
      assertEquals(step.candidates.length, 3);
      assertEquals(step.chosen, step.candidates[0].id);
      for (let k = 1; k < 3; k++) {
        assert(step.candidates[k].prob <= step.candidates[k - 1].prob);
      }
      assertEquals(step.crossAttention.length, model.config.heads);
      for (const row of step.crossAttention) {
        assertEquals(row.length, srcTokens.length);
        assertAlmostEquals(row.reduce((a, b) => a + b, 0), 1, 1e-4);
      }
    });
    assertEquals(model.vocab.tgt.decode(steps.map((s) => s.chosen)), [...words, "</s>"]);
  });

  await t.step("translate frees its tensors; bad input is refused with a clear error", async () => {
    await assertNoTensorGrowth(() => translate(model, "他们没看见三只鸟"), 3, "translate");
    assertThrows(() => translate(model, ""), Error, "empty");
    assertThrows(
      () => translate(model, "我是一名学生。我是一名学生。"),
      Error,
      "has 14 characters, the model takes at most 12",
    );
  });

  disposeTranslator(model);
  assertEquals(tf.memory().numTensors, baseline);
});
