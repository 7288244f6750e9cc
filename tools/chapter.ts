/**
 * Runs one chapter in the terminal: `deno task chapter 01` (also `1`, `0`, `00` or a
 * slug such as `text_representation`) runs the matching `notebooks/NN_slug.ts` with
 * `deno run -A` in the chapter's folder (where Jupyter runs its kernel too), passing the
 * environment through (e.g. `QUICK=1`) and exiting with the chapter's exit code.
 *
 * @module
 */
import { CHAPTER_FILE, chapterSources } from "./notebooks.ts";
import { runAttached } from "./jupyter_exec.ts";

/**
 * The chapter sources among `sources` that `query` names: a number matches the chapter
 * with that number (`"1"`, `"01"`); anything else matches a slug exactly, or a file name
 * with or without `.ts` (`"01_text"`, `"01_text.ts"`).
 */
export function matchChapter(query: string, sources: string[]): string[] {
  return sources.filter((path) => {
    const name = path.replace(/^.*\//, "");
    const [, number, slug] = CHAPTER_FILE.exec(name) ?? [];
    if (number === undefined) return false;
    if (/^\d+$/.test(query)) return Number(query) === Number(number);
    return query === slug || query === name || `${query}.ts` === name;
  });
}

/**
 * The folder a chapter runs in: its own (`notebooks/`), as Jupyter runs a notebook's
 * kernel in the notebook's folder, so a relative path such as `../data/x.txt` means the
 * same file in the terminal and in Jupyter.
 */
export function chapterDir(sourcePath: string): string {
  return sourcePath.replace(/\/[^/]*$/, "") || "/";
}

async function main(args: string[]): Promise<number> {
  const sources = chapterSources();
  const available = sources.length
    ? sources.map((p) => "  " + p.replace(/^.*\//, "")).join("\n")
    : "  (none: notebooks/ has no NN_slug.ts file)";
  if (args.length < 1) {
    console.error(`usage: deno task chapter <number or slug> [args...]\nchapters:\n${available}`);
    return 2;
  }
  const [query, ...rest] = args;
  const matches = matchChapter(query, sources);
  if (matches.length !== 1) {
    const why = matches.length ? `${matches.length} chapters match` : "no chapter matches";
    console.error(`${why} ${JSON.stringify(query)}; available chapters:\n${available}`);
    return 2;
  }
  return await runAttached(
    Deno.execPath(),
    ["run", "-A", matches[0], ...rest],
    chapterDir(matches[0]),
  );
}

if (import.meta.main) Deno.exit(await main(Deno.args));
