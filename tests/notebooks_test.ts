// The generated notebooks: (a) notebooks/*.ipynb are exactly what `deno task notebooks`
// writes from notebooks/*.ts; (b) where Jupyter is installed, every notebook executes with
// the Deno kernel, without error outputs, and every cell tagged expect-output has output.
import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { fileURLToPath } from "node:url";
import {
  chapterSources,
  EXPECT_OUTPUT,
  notebookPath,
  orphanNotebooks,
  toNotebook,
} from "../tools/notebooks.ts";
import { parsePercent } from "../lib/show/percent.ts";
import {
  ensureDenoKernel,
  executeNotebook,
  type ExecuteResult,
  inspectExecuted,
  which,
} from "../tools/jupyter_exec.ts";

const OUT = fileURLToPath(new URL("../.out/notebooks", import.meta.url));
const FIXTURE = fileURLToPath(new URL("./fixtures/chapters/00_fixture.ts", import.meta.url));

// ── (a) generation ──────────────────────────────────────────────────────────

Deno.test("notebooks/*.ipynb are up to date with their sources (deno task notebooks)", () => {
  const stale = chapterSources().filter((source) => {
    let current: string | undefined;
    try {
      current = Deno.readTextFileSync(notebookPath(source));
    } catch {
      current = undefined;
    }
    return current !== toNotebook(Deno.readTextFileSync(source), source.replace(/^.*\//, ""));
  });
  assertEquals(stale, [], `stale or missing notebooks; run \`deno task notebooks\``);
  assertEquals(orphanNotebooks(), [], "notebooks without a chapter source; delete them");
});

Deno.test("chapter code cells do not use import.meta (the Deno kernel rejects it)", () => {
  // In Jupyter a cell is not a module: "SyntaxError: Cannot use 'import.meta' outside a
  // module". The kernel runs in notebooks/, so use a relative path ("../data/x.txt") or a
  // lib/ helper that resolves paths from its own import.meta.url.
  const uses: string[] = [];
  for (const source of chapterSources()) {
    const text = Deno.readTextFileSync(source);
    const cells = parsePercent(text);
    text.split("\n").forEach((line, i) => {
      const cell = cells.findLast((c) => c.line <= i + 1);
      if (cell?.kind === "code" && /\bimport\.meta\b/.test(line.replace(/\/\/.*$/, ""))) {
        uses.push(`${source.replace(/^.*\//, "")}:${i + 1}: ${line.trim()}`);
      }
    });
  }
  assertEquals(uses, [], `import.meta in notebook cells:\n${uses.join("\n")}`);
});

const SAMPLE = `// header, ignored

// %% [markdown]
// # Title
//
// Prose.

// %%
const x = 1;

console.log(x);

// %% tags=["slow"]
await show(x);

// %% tags=["expect-output"]
live(x); progress(x);

// %%
// none of display calls: display_show(x)
setup_(x);
`;

Deno.test("toNotebook: nbformat 4.5 cells, ids, tags, expect-output, no outputs", () => {
  const text = toNotebook(SAMPLE, "07_sample.ts");
  const nb = JSON.parse(text);
  assertEquals(nb.nbformat, 4);
  assertEquals(nb.nbformat_minor, 5);
  assertEquals(nb.metadata.kernelspec, {
    display_name: "Deno",
    language: "typescript",
    name: "deno",
  });
  assertEquals(nb.metadata.language_info.name, "typescript");
  assertEquals(nb.metadata.language_info.file_extension, ".ts");
  assertEquals(nb.cells, [
    {
      cell_type: "markdown",
      id: "07_sample-000",
      metadata: {},
      source: ["# Title\n", "\n", "Prose."],
    },
    {
      cell_type: "code",
      execution_count: null,
      id: "07_sample-001",
      metadata: {},
      outputs: [],
      source: ["const x = 1;\n", "\n", "console.log(x);"],
    },
    {
      cell_type: "code",
      execution_count: null,
      id: "07_sample-002",
      metadata: { tags: ["slow", EXPECT_OUTPUT] },
      outputs: [],
      source: ["await show(x);"],
    },
    {
      cell_type: "code",
      execution_count: null,
      id: "07_sample-003",
      metadata: { tags: [EXPECT_OUTPUT] },
      outputs: [],
      source: ["live(x); progress(x);"],
    },
    {
      cell_type: "code",
      execution_count: null,
      id: "07_sample-004",
      metadata: {},
      outputs: [],
      source: ["// none of display calls: display_show(x)\n", "setup_(x);"],
    },
  ]);
});

Deno.test("toNotebook: Jupyter's JSON layout (sorted keys, 1-space indent, newline at end)", () => {
  const text = toNotebook("// %%\nconst π = 1;\n", "a.b.ts");
  assertEquals(text, toNotebook("// %%\nconst π = 1;\n", "a.b.ts"), "deterministic");
  assert(text.endsWith("}\n"));
  assertStringIncludes(text, '\n "cells": [\n  {\n   "cell_type": "code",\n');
  assertStringIncludes(text, '"id": "a-b-000"');
  assertStringIncludes(text, '"const π = 1;"', "non-ASCII written as is, like Jupyter");
  const keys = Object.keys(JSON.parse(text));
  assertEquals(keys, ["cells", "metadata", "nbformat", "nbformat_minor"]);
});

Deno.test("toNotebook names the file and line of a malformed prose cell", () => {
  const error = assertThrows(() =>
    toNotebook("// %% [markdown]\n// ok\nnot a comment\n", "03_x.ts")
  );
  assertStringIncludes((error as Error).message, "03_x.ts: line 3");
});

Deno.test("inspectExecuted finds error outputs and empty expect-output cells", () => {
  const executed = JSON.stringify({
    cells: [
      { cell_type: "markdown", metadata: { tags: [EXPECT_OUTPUT] }, source: [] },
      { cell_type: "code", metadata: { tags: [EXPECT_OUTPUT] }, outputs: [] },
      {
        cell_type: "code",
        metadata: {},
        outputs: [{ output_type: "error", ename: "TypeError", evalue: "x is undefined" }],
      },
      {
        cell_type: "code",
        metadata: { tags: [EXPECT_OUTPUT] },
        outputs: [{ output_type: "stream", name: "stdout", text: ["1\n"] }],
      },
    ],
  });
  assertEquals(inspectExecuted(executed), {
    errors: ["cell 2: TypeError: x is undefined"],
    emptyExpectOutput: [1],
  });
});

// ── (b) execution through Jupyter ───────────────────────────────────────────

const jupyter = which("jupyter");
let kernelReady: Promise<void> | undefined;

/** Executes a notebook with QUICK=1 and fails with nbconvert's log tail on any problem. */
async function assertExecutes(notebook: string): Promise<ExecuteResult> {
  kernelReady ??= ensureDenoKernel();
  await kernelReady;
  const result = await executeNotebook(notebook, OUT, { env: { QUICK: "1" } });
  const name = notebook.replace(/^.*\//, "");
  console.log(`  ${name}: ${result.seconds.toFixed(1)} s, ${result.attempts} run(s)`);
  assert(result.ok, `${name} did not execute cleanly:\n${result.problems.join("\n")}`);
  return result;
}

if (!jupyter) {
  Deno.test({ name: "notebooks in Jupyter (skipped: jupyter not found)", ignore: true, fn() {} });
} else {
  for (const source of chapterSources()) {
    const notebook = notebookPath(source);
    Deno.test(`jupyter: ${notebook.replace(/^.*\//, "")} executes with the Deno kernel`, async () => {
      await assertExecutes(notebook);
    });
  }

  Deno.test("jupyter: the fixture resolves relative imports and deno.json's imports", async () => {
    // The kernel runs in the notebook's folder, so the notebook must sit beside its source.
    const notebook = FIXTURE.replace(/00_fixture\.ts$/, `_tmp_${crypto.randomUUID()}.ipynb`);
    await Deno.writeTextFile(
      notebook,
      toNotebook(await Deno.readTextFile(FIXTURE), "00_fixture.ts"),
    );
    const executed = `${OUT}/${notebook.replace(/^.*\//, "")}`;
    try {
      const result = await assertExecutes(notebook);
      const cells = JSON.parse(await Deno.readTextFile(result.output)).cells;
      const text = (i: number) =>
        cells[i].outputs.map((o: { text: string[] }) => o.text.join("")).join("");
      assert(/^backend: (wasm|cpu)/.test(text(1)), text(1));
      assertEquals(text(2), "sum: 6, QUICK=1\n");
    } finally {
      await Deno.remove(notebook);
      await Deno.remove(executed).catch(() => {});
    }
  });
}
