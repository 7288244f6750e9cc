// The base model of chapters 09–13 (lib/experiments/base_model.ts), on the quick recipe: the
// corpus and its shared vocabulary, a build that lowers the loss, a checkpoint that gives back
// the same model (and is rebuilt when the recipe changes), greedy answers that stop at "。", and
// no tensor left behind.
import { assert, assertEquals, assertNotEquals } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import {
  type BaseModel,
  baseModelPath,
  baseModelRecipe,
  chanceAccuracy,
  greedyAnswer,
  loadBaseModel,
  normalizedAnswer,
  pretrainBaseModel,
  saveBaseModel,
  testSets,
  webTextCorpus,
  zeroShotExactMatch,
} from "../../lib/experiments/base_model.ts";
import { TASK_KINDS, zeroShotSets } from "../../data/webtext.ts";
import { disposeGPT, gptForward } from "../../lib/gpt.ts";
import { loadCheckpoint } from "../../lib/checkpoint.ts";
import { assertNoTensorGrowth, initBackend } from "../../lib/tensor.ts";

await initBackend();

const quick = baseModelRecipe("base", true);

Deno.test("base model: both variants share one vocabulary; pages begin with <s>", () => {
  const base = webTextCorpus(quick);
  const control = webTextCorpus(baseModelRecipe("no-tasks", true));
  assertEquals(base.tokenizer.vocab.tokens, control.tokenizer.vocab.tokens);
  const bos = base.tokenizer.vocab.idOf("<s>");
  assertEquals(base.ids.filter((id) => id === bos).length, quick.pages);
  assertEquals(base.ids[0], bos);
  assert(TASK_KINDS.every((k) => control.pageCounts[k] === undefined));
  // Every test answer is made of known words (the control included).
  const unk = base.tokenizer.vocab.idOf("<unk>");
  for (const items of Object.values(zeroShotSets(20))) {
    for (const { prompt, answer } of items) {
      assert(!base.tokenizer.encode(prompt + answer).includes(unk), `${prompt}${answer}`);
    }
  }
});

Deno.test("base model: the quick build lowers the loss; a checkpoint gives the same model back", async () => {
  const model = await pretrainBaseModel(quick);
  const first = model.losses.slice(0, 5).reduce((a, b) => a + b) / 5;
  const last = model.losses.slice(-5).reduce((a, b) => a + b) / 5;
  assert(last < first, `loss ${first} → ${last}`);
  const path = await Deno.makeTempFile({ suffix: ".ckpt" });
  try {
    await saveBaseModel(model, path);
    const logits = (m: BaseModel) =>
      tf.tidy(() =>
        Array.from(
          gptForward(m.params, m.config, tf.tensor2d([[1, 2, 3]], [1, 3], "int32"))
            .logits.dataSync(),
        )
      );
    const ckpt = await loadCheckpoint(path);
    assertEquals((ckpt.extra as { recipe: unknown }).recipe, quick);
    const again: BaseModel = { ...model, params: ckpt.params, config: ckpt.config };
    assertEquals(logits(again), logits(model));
    disposeGPT(ckpt.params);
  } finally {
    await Deno.remove(path);
    disposeGPT(model.params);
  }
});

Deno.test("base model: loadBaseModel builds once, then reads; another recipe is rebuilt", async () => {
  const path = baseModelPath(quick);
  await Deno.remove(path).catch(() => {});
  const said: string[] = [];
  const built = await loadBaseModel("base", { quick: true, log: (m) => said.push(m) });
  assert(said.some((m) => m.includes("building")), said.join("; "));
  said.length = 0;
  const read = await loadBaseModel("base", { quick: true, log: (m) => said.push(m) });
  assert(said.some((m) => m.startsWith("read")), said.join("; "));
  assertEquals(read.tokenizer.vocab.tokens, built.tokenizer.vocab.tokens);
  assertEquals(read.losses, built.losses);
  disposeGPT(read.params);
  // A checkpoint of another recipe at the same path is not trusted.
  await saveBaseModel({ ...built, recipe: { ...quick, steps: quick.steps + 1 } }, path);
  said.length = 0;
  const rebuilt = await loadBaseModel("base", { quick: true, log: (m) => said.push(m) });
  assert(said.some((m) => m.includes("another recipe")), said.join("; "));
  assertEquals(rebuilt.recipe, quick);
  disposeGPT(built.params);
  disposeGPT(rebuilt.params);
});

Deno.test("base model: greedy answers stop at 。 and leak nothing; exact match counts them", async () => {
  const model = await pretrainBaseModel(quick);
  const items = zeroShotSets(4).translateWord.slice(0, 4);
  const result = zeroShotExactMatch(model, items);
  assertEquals(result.answers.length, 4);
  assert(result.accuracy >= 0 && result.accuracy <= 1);
  assertEquals(
    result.accuracy,
    result.answers.filter((a) => a.answer === normalizedAnswer(model, a.item.answer)).length / 4,
  );
  for (const a of result.answers) assert(!a.answer.includes("。"), a.answer);
  assertEquals(normalizedAnswer(model, "I am a student."), "I am a student.");
  assertNotEquals(normalizedAnswer(model, "苹果。"), "苹果。");
  await assertNoTensorGrowth(
    () => greedyAnswer(model, items[0].prompt, { maxNewTokens: 3 }),
    3,
    "greedyAnswer",
  );
  disposeGPT(model.params);
});

Deno.test("deno task pretrain: the quick recipe builds, in a child process, and prints its table", async () => {
  const cache = await Deno.makeTempDir();
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../../tools/pretrain.ts", import.meta.url).pathname,
      "tiny",
      "--force",
    ],
    env: { QUICK: "1", NO_COLOR: "1", GPT_MODEL_CACHE: cache },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assertEquals(out.code, 0, text + new TextDecoder().decode(out.stderr));
  assert(/^\[tiny\] /m.test(text), text);
  assert(/^tiny\s+\d+\s+\d+\s+40\s/m.test(text), text);
  assertEquals([...Deno.readDirSync(cache)].map((e) => e.name), ["webtext-tiny-quick.ckpt"]);
  await Deno.remove(cache, { recursive: true });
  const bad = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../../tools/pretrain.ts", import.meta.url).pathname, "huge"],
    env: { QUICK: "1", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(bad.code, 2);
  assert(new TextDecoder().decode(bad.stderr).includes("unknown model huge"));
});

Deno.test("chanceAccuracy: hand-worked guesses per task", () => {
  const item = (prompt: string, answer: string) => ({ prompt, answer });
  assertEquals(chanceAccuracy("translateWord", [item("", "cat")]), 1 / 60);
  assertEquals(chanceAccuracy("sum", [item("", "10"), item("", "3")]), 0.5);
  assertEquals(chanceAccuracy("antonym", [item("", "小")]), 1 / 31);
  assertEquals(chanceAccuracy("summary", [item("", "")]), 1 / 160);
  // The passage mentions 北京 and 苹果: one right guess in two.
  const q = item("小明住在北京。小明喜欢吃苹果。问：小明住在哪里？答：", "北京");
  assertEquals(chanceAccuracy("question", [q]), 0.5);
  assertEquals(chanceAccuracy("question", []), 0);
});

Deno.test("testSets: no drawn item occurs in the recipe's corpus", () => {
  const sets = testSets(quick, 30);
  assertEquals(sets.question.length, 30);
  const text = webTextCorpus(quick).pages.map((p) => p.text).join("\n");
  for (const items of [sets.question, sets.summary]) {
    for (const { prompt, answer } of items) assert(!text.includes(prompt + answer));
  }
});
