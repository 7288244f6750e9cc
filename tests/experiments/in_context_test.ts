// Chapter 10's few-shot prompts (lib/experiments/in_context.ts): their format, that an invented
// game is consistent and never names its query among the examples, the accuracy's count, and the
// in-context learning score against per-position losses computed independently from the logits.
import { assert, assertEquals, assertThrows } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import fc from "fast-check";
import {
  CLASSIFY_TASK,
  fewShotAccuracy,
  inContextLearningScore,
  TRANSLATE_TASK,
} from "../../lib/experiments/in_context.ts";
import {
  baseModelRecipe,
  pretrainBaseModel,
  webTextCorpus,
} from "../../lib/experiments/base_model.ts";
import { NOUNS, nounsWithRole } from "../../data/webtext_lexicon.ts";
import { GAME_TITLE } from "../../data/webtext.ts";
import { disposeGPT, gptForward } from "../../lib/gpt.ts";
import { initBackend, makeRng } from "../../lib/tensor.ts";

await initBackend();

Deno.test("few-shot prompts: the glossary format, taught examples, a held-out query", () => {
  const rng = makeRng(3);
  const item = TRANSLATE_TASK.draw(rng, 2);
  const m = item.prompt.match(/^生词表：(.+?)：(\w+)；(.+?)：(\w+)；(.+?)：$/);
  assert(m, item.prompt);
  const taught = new Set(nounsWithRole("taught").map((n) => `${n.zh}:${n.en}`));
  assert(taught.has(`${m[1]}:${m[2]}`) && taught.has(`${m[3]}:${m[4]}`), item.prompt);
  const query = nounsWithRole("held-out").find((n) => n.zh === m[5]);
  assertEquals(query?.en, item.answer);
  assertEquals(TRANSLATE_TASK.draw(makeRng(1), 0).prompt.split("；").length, 1);
});

Deno.test("invented labels: one label per kind, the query's label by its kind, never an example (property)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 1, max: 8 }), (seed, k) => {
      const item = CLASSIFY_TASK.draw(makeRng(seed), k);
      assert(item.prompt.startsWith(GAME_TITLE));
      const body = item.prompt.slice(GAME_TITLE.length);
      const examples = body.split("，").slice(0, -1).map((e) => e.split("是"));
      const query = body.split("，").at(-1)!.replace(/是$/, "");
      assertEquals(examples.length, k);
      const kindOf = (w: string) => NOUNS.find((n) => n.zh === w)!.kind;
      const labelOfKind = new Map<string, string>();
      for (const [w, l] of [...examples, [query, item.answer]]) {
        const kind = kindOf(w);
        if (labelOfKind.has(kind)) assertEquals(labelOfKind.get(kind), l, item.prompt);
        labelOfKind.set(kind, l);
      }
      assert(labelOfKind.size <= 2);
      assert(!examples.some(([w]) => w === query), item.prompt);
    }),
    { numRuns: 50 },
  );
});

Deno.test("fewShotAccuracy and the in-context learning score on the quick base model", async () => {
  const recipe = baseModelRecipe("base", true);
  const model = await pretrainBaseModel(recipe);
  const run = fewShotAccuracy(model, CLASSIFY_TASK, 2, { queries: 6, seed: 1 });
  assertEquals(run.items.length, 6);
  assertEquals(run.accuracy, run.items.filter((i) => i.output === i.answer).length / 6);
  assertEquals(fewShotAccuracy(model, CLASSIFY_TASK, 2, { queries: 6, seed: 1 }).items, run.items);
  assertThrows(() => fewShotAccuracy(model, CLASSIFY_TASK, -1, { queries: 1, seed: 1 }), Error);

  // The score against per-position cross-entropy computed here from the logits.
  const { ids } = webTextCorpus(recipe);
  const T = model.config.contextLength;
  const windows = 3;
  const result = inContextLearningScore(model, ids, { early: 2, late: T - 1, windows });
  const stride = Math.floor((ids.length - T - 1) / (windows - 1));
  const expected = tf.tidy(() => {
    const x = tf.tensor2d(
      Array.from({ length: windows }, (_, w) => ids.slice(w * stride, w * stride + T)),
      [windows, T],
      "int32",
    );
    const logp = tf.logSoftmax(gptForward(model.params, model.config, x).logits)
      .arraySync() as number[][][];
    return Array.from(
      { length: T },
      (_, t) => -logp.reduce((s, row, w) => s + row[t][ids[w * stride + t + 1]], 0) / windows,
    );
  });
  result.lossByPosition.forEach((l, t) =>
    assert(Math.abs(l - expected[t]) < 1e-4, `position ${t}`)
  );
  assert(Math.abs(result.score - (expected[T - 1] - expected[2])) < 1e-4);
  assertThrows(() => inContextLearningScore(model, ids, { early: 5, late: 5, windows }), Error);
  assertThrows(() =>
    inContextLearningScore(model, ids.slice(0, 10), { early: 1, late: 2, windows })
  );
  disposeGPT(model.params);
});
