// Every chapter runs as a script: `deno run -A notebooks/NN_slug.ts` with QUICK=1 exits 0
// and prints something. Also checks how `deno task chapter` picks a chapter.
import { assert, assertEquals } from "@std/assert";
import { fileURLToPath } from "node:url";
import { chapterSources } from "../tools/notebooks.ts";
import { chapterDir, matchChapter } from "../tools/chapter.ts";
import { tail } from "../tools/jupyter_exec.ts";

const FIXTURES = fileURLToPath(new URL("./fixtures/chapters", import.meta.url));

/** Runs a chapter source as `deno task chapter` does (in its folder), with QUICK=1, no colour. */
async function runChapter(path: string) {
  const started = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", path],
    cwd: chapterDir(path),
    env: { QUICK: "1", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
    seconds: (performance.now() - started) / 1000,
  };
}

/** Asserts a chapter run exited 0 with output, showing the end of its output otherwise. */
function assertChapterRan(name: string, run: Awaited<ReturnType<typeof runChapter>>) {
  const context = `\n--- stdout (tail) ---\n${tail(run.stdout, 40)}\n--- stderr (tail) ---\n${
    tail(run.stderr, 40)
  }`;
  assertEquals(run.code, 0, `${name} exited with code ${run.code}${context}`);
  assert(run.stdout.trim().length > 0, `${name} printed nothing to stdout${context}`);
}

const chapters = chapterSources();
for (const path of chapters) {
  const name = path.replace(/^.*\//, "");
  Deno.test(`chapter ${name} runs with QUICK=1`, async () => {
    const run = await runChapter(path);
    console.log(`  ${name}: ${run.seconds.toFixed(1)} s, ${run.stdout.split("\n").length} lines`);
    assertChapterRan(name, run);
  });
}
if (chapters.length === 0) {
  Deno.test({ name: "chapters (skipped: no notebooks/NN_slug.ts yet)", ignore: true, fn() {} });
}

Deno.test("the fixture chapter runs and sees QUICK=1", async () => {
  const run = await runChapter(`${FIXTURES}/00_fixture.ts`);
  assertChapterRan("00_fixture.ts", run);
  assert(/^backend: (wasm|cpu)/m.test(run.stdout), run.stdout);
  assert(run.stdout.includes("sum: 6, QUICK=1"), run.stdout);
});

Deno.test("matchChapter picks a chapter by number, file name or slug", () => {
  const sources = ["/r/notebooks/00_introduction.ts", "/r/notebooks/01_text_representation.ts"];
  const [intro, text] = sources;
  for (const query of ["0", "00", "introduction", "00_introduction", "00_introduction.ts"]) {
    assertEquals(matchChapter(query, sources), [intro], query);
  }
  for (const query of ["1", "01", "001", "text_representation", "01_text_representation"]) {
    assertEquals(matchChapter(query, sources), [text], query);
  }
  for (const query of ["2", "text", "intro", ""]) {
    assertEquals(matchChapter(query, sources), [], query);
  }
});

Deno.test("chapterDir is the chapter's folder", () => {
  assertEquals(chapterDir("/r/notebooks/01_text.ts"), "/r/notebooks");
  assertEquals(chapterDir("/01_text.ts"), "/");
});

Deno.test("chapterSources lists only NN_slug.ts files, sorted", () => {
  const names = chapterSources(FIXTURES).map((p) => p.replace(/^.*\//, ""));
  assertEquals(names, ["00_fixture.ts"]);
});
