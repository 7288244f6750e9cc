import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertNotEquals, assertRejects, assertThrows } from "@std/assert";
import { assertAllClose } from "../testing/tensor_assert.ts";
import {
  assertNoTensorGrowth,
  assertRank,
  assertShape,
  initBackend,
  makeRng,
} from "../lib/tensor.ts";

Deno.test("initBackend reports the backend it chose", async () => {
  const info = await initBackend();
  assertEquals(tf.getBackend(), info.name);
  assert(info.name === "wasm" || info.name === "cpu");
  assert(info.description.startsWith(info.name));
  if (info.name === "cpu") assert(info.fallbackReason, "a cpu fallback says why");
  // asking again changes nothing
  assertEquals(await initBackend(), info);
});

Deno.test("makeRng: same seed, same stream; different seeds differ; values in [0, 1)", () => {
  const a = makeRng(7), b = makeRng(7), c = makeRng(8);
  const xs = Array.from({ length: 1000 }, a);
  assertEquals(xs, Array.from({ length: 1000 }, b));
  assertNotEquals(xs.slice(0, 5), Array.from({ length: 5 }, c));
  assert(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert(Math.abs(mean - 0.5) < 0.05, `mean ${mean} should be near 0.5`);
  assertThrows(() => makeRng(1.5), Error, "seed must be an integer");
});

Deno.test("assertShape and assertRank name the expected and the actual shape", () => {
  const x = tf.zeros([2, 3, 4]);
  assertShape(x, [2, null, 4]);
  assertThrows(
    () => assertShape(x, [2, 5, 4], "q"),
    Error,
    "q: expected shape [2, 5, 4], got [2, 3, 4]",
  );
  assertThrows(
    () => assertShape(x, [null, 3], "k"),
    Error,
    "k: expected shape [*, 3], got [2, 3, 4]",
  );
  assertRank(x, [3, 4]);
  assertThrows(
    () => assertRank(x, 2, "ids"),
    Error,
    "ids: expected rank 2, got rank 3 (shape [2, 3, 4])",
  );
  x.dispose();
});

Deno.test("assertNoTensorGrowth passes a clean step and catches a leaking one", async () => {
  const kept: tf.Tensor[] = [];
  await assertNoTensorGrowth(() => tf.tidy(() => tf.ones([3]).add(1).sum()).dispose());
  await assertRejects(
    () => assertNoTensorGrowth(() => kept.push(tf.ones([2])), 3, "leaky"),
    Error,
    "leaky leaks tensors",
  );
  tf.dispose(kept);
});

Deno.test("assertAllClose reports where and by how much values differ", () => {
  assertAllClose([[1, 2], [3, 4]], [[1, 2], [3, 4 + 1e-7]]);
  const e = assertThrows(() => assertAllClose([[1, 2], [3, 5]], [[1, 2], [3, 4]]));
  const msg = (e as Error).message;
  assert(msg.includes("1 of 4 elements differ"), msg);
  assert(msg.includes("at [1, 1]: actual 5, expected 4"), msg);
  assertThrows(
    () => assertAllClose([1, 2, 3], [1, 2]),
    Error,
    "shapes differ: actual [3], expected [2]",
  );
  assertThrows(() => assertAllClose([NaN], [NaN]));
});

Deno.test("GPT_BACKEND=cpu falls back to the cpu backend and says why", async () => {
  const script = `import { initBackend } from ${
    JSON.stringify(new URL("../lib/tensor.ts", import.meta.url).href)
  };
const info = await initBackend();
console.log(JSON.stringify(info));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script],
    env: { GPT_BACKEND: "cpu" },
    cwd: new URL("..", import.meta.url),
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(stdout.trim().split("\n").at(-1)!);
  assertEquals(info.name, "cpu");
  assertEquals(info.fallbackReason, "GPT_BACKEND=cpu");
  assert(info.description.startsWith("cpu (pure JavaScript"));
});
