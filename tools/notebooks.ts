/**
 * Generates `notebooks/NN_slug.ipynb` from each chapter source `notebooks/NN_slug.ts`
 * (percent format, see `lib/show/percent.ts`).
 *
 * ```sh
 * deno task notebooks          # regenerate every notebook
 * deno task notebooks --check  # exit 1, listing the stale ones, when any is out of date
 * ```
 *
 * A generated notebook is nbformat 4.5 with no outputs, deterministic cell ids and
 * Jupyter's own JSON layout (1-space indent, sorted keys, trailing newline), so
 * regenerating an unchanged source is byte-identical.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { parsePercent } from "../lib/show/percent.ts";

/** The tag that makes the notebook checks insist a code cell produced output. */
export const EXPECT_OUTPUT = "expect-output";

/** A chapter source's file name: two digits, an underscore, a slug, `.ts`. */
export const CHAPTER_FILE = /^(\d\d)_([A-Za-z0-9_-]+)\.ts$/;

/** Calls of the display layer that always produce output in a notebook. */
const DISPLAY_CALL = /\b(?:show|setup|progress|live)\(/;

/** The repository's `notebooks/` folder (an absolute path). */
export const NOTEBOOKS_DIR: string = fileURLToPath(new URL("../notebooks", import.meta.url));

/** A JSON value with object keys in the order they should be written. */
type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/**
 * Splits text into Jupyter's `source` list: one string per line, each ending in `\n`
 * except the last (`"a\nb"` → `["a\n", "b"]`; `""` → `[]`).
 */
function sourceLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split("\n");
  return lines.map((line, i) => i < lines.length - 1 ? line + "\n" : line).filter((l) => l !== "");
}

/** Returns a copy of `value` whose object keys are sorted, as Jupyter writes them. */
function sortKeys(value: Json): Json {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const out: { [key: string]: Json } = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeys(value[key]);
    return out;
  }
  return value;
}

/**
 * A cell id for cell `index` of `fileName`: the file's stem restricted to nbformat's id
 * alphabet `[A-Za-z0-9_-]`, then the index, e.g. `("01_text.ts", 3)` → `"01_text-003"`.
 */
function cellId(fileName: string, index: number): string {
  const stem = fileName.replace(/^.*[\\/]/, "").replace(/\.ts$/, "").replace(
    /[^A-Za-z0-9_-]/g,
    "-",
  );
  const suffix = `-${String(index).padStart(3, "0")}`;
  return stem.slice(0, 64 - suffix.length) + suffix;
}

/**
 * Converts a percent-format chapter source into the text of its notebook (nbformat 4.5).
 * Markdown and code cells come from {@link parsePercent}; code cells have no outputs and
 * `execution_count: null`; tags go to `metadata.tags`, and a code cell calling
 * `show(`, `setup(`, `progress(` or `live(` is also tagged {@link EXPECT_OUTPUT}.
 * Pure: the same `(sourceText, fileName)` always gives the same string. Throws, naming the
 * file and line, on a prose line that is not a `//` comment.
 */
export function toNotebook(sourceText: string, fileName: string): string {
  let parsed;
  try {
    parsed = parsePercent(sourceText);
  } catch (e) {
    throw new Error(`${fileName}: ${(e as Error).message}`);
  }
  const cells: Json[] = parsed.map((cell, index) => {
    const tags = [...cell.tags];
    if (cell.kind === "code" && DISPLAY_CALL.test(cell.source) && !tags.includes(EXPECT_OUTPUT)) {
      tags.push(EXPECT_OUTPUT);
    }
    const common = {
      id: cellId(fileName, index),
      metadata: (tags.length ? { tags } : {}) as Json,
      source: sourceLines(cell.source),
    };
    return cell.kind === "markdown"
      ? { cell_type: "markdown", ...common }
      : { cell_type: "code", execution_count: null, outputs: [], ...common };
  });
  const notebook: Json = {
    cells,
    metadata: {
      kernelspec: { name: "deno", display_name: "Deno", language: "typescript" },
      language_info: {
        name: "typescript",
        file_extension: ".ts",
        mimetype: "text/x.typescript",
        pygments_lexer: "typescript",
        codemirror_mode: "typescript",
        nb_converter: "script",
      },
    },
    nbformat: 4,
    nbformat_minor: 5,
  };
  return JSON.stringify(sortKeys(notebook), null, 1) + "\n";
}

/** The entries of a folder; none when it does not exist. */
function listDir(dir: string): Deno.DirEntry[] {
  try {
    return [...Deno.readDirSync(dir)];
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

/**
 * The chapter sources in the folder `dir` (default: the repository's `notebooks/`), as
 * sorted paths (`dir/NN_slug.ts`) of the files named `NN_slug.ts`.
 */
export function chapterSources(dir: string = NOTEBOOKS_DIR): string[] {
  const paths: string[] = [];
  for (const entry of listDir(dir)) {
    if (entry.isFile && CHAPTER_FILE.test(entry.name)) {
      paths.push(`${dir}/${entry.name}`);
    }
  }
  return paths.sort();
}

/** The notebooks in `dir` that no chapter source generates (`X.ipynb` without `X.ts`). */
export function orphanNotebooks(dir: string = NOTEBOOKS_DIR): string[] {
  const sources = new Set(chapterSources(dir));
  const orphans: string[] = [];
  for (const entry of listDir(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".ipynb")) continue;
    const path = `${dir}/${entry.name}`;
    if (!sources.has(path.replace(/\.ipynb$/, ".ts"))) orphans.push(path);
  }
  return orphans.sort();
}

/** The path of the notebook generated from a chapter source path. */
export function notebookPath(sourcePath: string): string {
  return sourcePath.replace(/\.ts$/, ".ipynb");
}

/** Reads a text file, or `undefined` when it does not exist. */
function readIfExists(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

function main(args: string[]): number {
  const unknown = args.filter((a) => a !== "--check");
  if (unknown.length) {
    console.error(
      `usage: deno task notebooks [--check]; unexpected argument(s): ${unknown.join(" ")}`,
    );
    return 2;
  }
  const check = args.includes("--check");
  const sources = chapterSources();
  const stale: string[] = [];
  for (const source of sources) {
    const target = notebookPath(source);
    const name = source.replace(/^.*\//, "");
    const expected = toNotebook(Deno.readTextFileSync(source), name);
    if (readIfExists(target) === expected) continue;
    stale.push(target);
    if (!check) {
      Deno.writeTextFileSync(target, expected);
      console.log(`wrote ${target}`);
    }
  }
  const orphans = orphanNotebooks();
  for (const orphan of orphans) {
    console.error(
      `${orphan} has no chapter source ${orphan.replace(/\.ipynb$/, ".ts")}: delete it`,
    );
  }
  if (check) {
    for (const path of stale) {
      console.error(`${readIfExists(path) === undefined ? "missing" : "stale"}: ${path}`);
    }
    if (stale.length) console.error("run `deno task notebooks` to regenerate");
    if (stale.length || orphans.length) return 1;
    console.log(`${sources.length} notebook(s) up to date`);
    return 0;
  }
  console.log(
    `${sources.length} chapter source(s), ${stale.length} notebook(s) regenerated, ` +
      `${sources.length - stale.length} already up to date`,
  );
  return orphans.length ? 1 : 0;
}

if (import.meta.main) Deno.exit(main(Deno.args));
