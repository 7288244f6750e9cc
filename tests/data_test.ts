import { assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { loadDataText } from "../lib/data.ts";

Deno.test("loadDataText reads data/ from any working directory", async () => {
  const text = await loadDataText("intro_zh.txt");
  const lines = text.trim().split("\n");
  assertEquals(lines.length, 600);
  assertStringIncludes(text, "学习编程");
});

Deno.test("loadDataText: a missing file names the available ones", async () => {
  const e = await assertRejects(() => loadDataText("nope.txt"), Error, "no file data/nope.txt");
  assertStringIncludes((e as Error).message, "intro_zh.txt");
  await assertRejects(() => loadDataText("../deno.json"), Error, "inside data/");
});
