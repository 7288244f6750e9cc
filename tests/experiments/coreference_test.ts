import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertThrows } from "@std/assert";
import { assertAllClose } from "../../testing/tensor_assert.ts";
import {
  attentionLayers,
  chooseHead,
  corefAccuracy,
  corefAnswers,
  corefConfig,
  corefForward,
  corefLoss,
  corefParameters,
  encodeItBatch,
  headAccuracies,
  initCorefModel,
  referentAttention,
  sentenceAttention,
  trainCoref,
} from "../../lib/experiments/coreference.ts";
import { loadItSentences } from "../../lib/data.ts";
import { createOptimizer } from "../../lib/train.ts";
import { assertNoTensorGrowth, initBackend } from "../../lib/tensor.ts";

await initBackend();
const { train, test } = await loadItSentences();
const small = { ...corefConfig(true), dModel: 8, heads: 2, dFF: 16, steps: 2, batchSize: 4 };

Deno.test("corefForward: logits [B, |V|], weights per layer, rows sum to 1, padding unseen", () => {
  const model = initCorefModel(small, train);
  const sentences = [train[0], train[3], train[5]]; // lengths 12, 16, 16 tokens
  const batch = encodeItBatch(model, sentences);
  assertEquals(batch.ids.map((r) => r.length), [16, 16, 16]);
  assertEquals(batch.target, sentences.map((s) => model.vocab.idOf(s.tokens[s.referentIndex])));
  const ids = tf.tensor2d(batch.ids, undefined, "int32");
  const { logits, weights } = corefForward(model, ids, batch.itIndex);
  assertEquals(logits.shape, [3, model.vocab.size]);
  assertEquals(attentionLayers(model), [2, 1]);
  assertEquals(weights.map((w) => w.shape), [[3, 2, 16, 16], [3, 1, 16, 16]]);
  for (const w of weights) {
    assertAllClose(tf.sum(w, -1), tf.ones(w.shape.slice(0, 3)), { atol: 1e-5 });
    // the first sentence is 12 tokens long: its 4 padding keys get no weight
    assert(tf.max(w.slice([0, 0, 0, 12], [1, -1, -1, 4])).dataSync()[0] < 1e-6);
  }
  // each sentence alone gives the same logits as in the padded batch
  const alone = corefForward(
    model,
    tf.tensor2d([batch.ids[0].slice(0, 12)], undefined, "int32"),
    [sentences[0].itIndex],
  );
  assertAllClose(alone.logits, logits.slice([0, 0], [1, -1]), { atol: 1e-4 });
  // the per-sentence helpers read the same numbers
  const row = sentenceAttention(model, sentences[1], { layer: 1, head: 0 });
  assertAllClose(row, weights[1].slice([1, 0], [1, 1]).reshape([16, 16]), { atol: 1e-6 });
  tf.dispose([ids, logits, ...weights, alone.logits, ...alone.weights]);
  tf.dispose(corefParameters(model.params));
});

Deno.test("coreference: errors name what was expected and what was given", () => {
  assertThrows(
    () => initCorefModel({ ...small, dModel: 30, heads: 4 }, train),
    Error,
    "d_model 30 is not divisible by heads 4",
  );
  assertThrows(() => initCorefModel(small, []), Error, "no training sentences");
  const model = initCorefModel(small, train);
  const ids = tf.tensor2d([[2, 3, 4]], undefined, "int32");
  assertThrows(() => corefForward(model, ids, [0, 1]), Error, "1 sentences but 2 positions");
  assertThrows(() => corefForward(model, ids, [3]), Error, 'position of "it" 3 is outside [0, 3)');
  assertThrows(
    () => corefForward(model, tf.tensor2d([[2.5]]) as tf.Tensor2D, [0]),
    Error,
    "corefForward: ids must be int32, got float32",
  );
  assertThrows(
    () => corefForward(model, tf.tensor2d([[2, 999]], undefined, "int32"), [0]),
    Error,
    `token id 999 is outside the vocabulary [0, ${model.vocab.size})`,
  );
  const long = tf.zeros([1, model.maxLen + 1], "int32") as tf.Tensor2D;
  assertThrows(
    () => corefForward(model, long, [0]),
    Error,
    `${model.maxLen + 1} tokens exceed the model's maxLen ${model.maxLen}`,
  );
  assertThrows(
    () => referentAttention(model, test, { layer: 2, head: 0 }),
    Error,
    "layer 2 is outside [0, 2)",
  );
  assertThrows(
    () => referentAttention(model, test, { layer: 1, head: 1 }),
    Error,
    "head 1 is outside [0, 1) in layer 1",
  );
  tf.dispose([ids, long, ...corefParameters(model.params)]);
});

Deno.test("coreference: a training step leaks no tensors", async () => {
  const model = initCorefModel(small, train);
  const vars = corefParameters(model.params);
  const optimizer = createOptimizer({ learningRate: 0.003 });
  const batch = encodeItBatch(model, train.slice(0, 8));
  await assertNoTensorGrowth(
    () => {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => corefLoss(model, batch), vars);
        optimizer.applyGradients(vars, vars.map((v) => grads[v.name]));
      });
    },
    4,
    "coreference training step",
  );
  const before = tf.memory().numTensors;
  await trainCoref(model, train.slice(0, 40));
  assertEquals(tf.memory().numTensors, before, "trainCoref left tensors behind");
  optimizer.dispose();
  tf.dispose(vars);
});

Deno.test("coreference (quick mode): the chosen head finds the referent in ≥ 90% of held-out sentences", async () => {
  const model = initCorefModel(corefConfig(true), train);
  const { losses } = await trainCoref(model, train);
  assert(losses[losses.length - 1] < 0.1 * losses[0], `loss ${losses[0]} → ${losses.at(-1)}`);
  const taskTest = corefAccuracy(model, test);
  assert(taskTest >= 0.9, `held-out task accuracy ${taskTest}`);
  const answers = corefAnswers(model, test);
  const right = answers.filter((word, i) => word === test[i].tokens[test[i].referentIndex]);
  assertEquals(right.length / test.length, taskTest, "corefAnswers agrees with corefAccuracy");
  // choose the head on the training split, report it on the held-out split
  const chosen = chooseHead(model, train);
  const heldOut = referentAttention(model, test, chosen);
  assertEquals(chosen, { layer: 1, head: 0, accuracy: chosen.accuracy }, "the copy head");
  assert(heldOut.accuracy >= 0.9, `held-out attention accuracy ${heldOut.accuracy}`);
  assertEquals(heldOut.referent.length, test.length);
  const wins = heldOut.referent.filter((r, i) => r > heldOut.other[i]).length;
  assertEquals(heldOut.accuracy, wins / test.length);
  // the accuracy table agrees with referentAttention
  assertEquals(headAccuracies(model, test)[1][0], heldOut.accuracy);
  tf.dispose(corefParameters(model.params));
});
