/**
 * Loaders for the datasets in `data/` (written by this project, see data/README.md).
 *
 * Paths are resolved from this file, not from the working directory, so a chapter reads the
 * same file whether it runs in Jupyter (whose kernel starts in `notebooks/`) or as a script
 * started from anywhere.
 *
 * @module
 */

const DATA_DIR = new URL("../data/", import.meta.url);

/**
 * The text of `data/<name>`, e.g. `await loadDataText("intro_zh.txt")`. Throws an error
 * naming the file and listing the available ones when it does not exist.
 */
export async function loadDataText(name: string): Promise<string> {
  if (typeof name !== "string" || name.length === 0 || name.includes("..")) {
    throw new Error(`loadDataText: expected a file name inside data/, got ${JSON.stringify(name)}`);
  }
  try {
    return await Deno.readTextFile(new URL(name, DATA_DIR));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    const available: string[] = [];
    for await (const entry of Deno.readDir(DATA_DIR)) {
      if (entry.isFile && !entry.name.endsWith(".ts") && entry.name !== "README.md") {
        available.push(entry.name);
      }
    }
    throw new Error(
      `loadDataText: no file data/${name}; available: ${available.sort().join(", ")}`,
    );
  }
}
