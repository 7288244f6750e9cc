/**
 * The chapter source format: a TypeScript file in "percent" format, as Jupytext and
 * The Annotated Transformer use it.
 *
 * ```ts
 * // %% [markdown]
 * // # 文本表示
 * // Prose, one `// ` comment line at a time.
 *
 * // %%
 * const x = 1;
 * ```
 *
 * A line `// %%` starts a code cell, `// %% [markdown]` a prose cell. Anything after the
 * marker of the form `tags=["a", "b"]` becomes the cell's tags. Text before the first
 * marker is ignored (a file header).
 *
 * @module
 */

/** One cell of a chapter source. */
export interface Cell {
  /** `"markdown"` for prose, `"code"` for TypeScript. */
  kind: "markdown" | "code";
  /** The cell's text: markdown without the `// ` prefixes, or code as written. */
  source: string;
  /** Tags given on the marker line, e.g. `// %% tags=["expect-output"]`. */
  tags: string[];
  /** 1-based line number of the marker line in the source file. */
  line: number;
}

const MARKER = /^\/\/ %%(.*)$/;

/**
 * Splits a percent-format chapter source into cells. Throws on a markdown line that is
 * not a `//` comment, naming the line, so prose can never be silently dropped.
 */
export function parsePercent(text: string): Cell[] {
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  const cells: Cell[] = [];
  let current: { cell: Cell; body: string[] } | undefined;
  const finish = () => {
    if (!current) return;
    const body = [...current.body];
    while (body.length && body[body.length - 1].trim() === "") body.pop();
    while (body.length && body[0].trim() === "") body.shift();
    current.cell.source = body.join("\n");
    cells.push(current.cell);
  };
  lines.forEach((raw, i) => {
    const m = MARKER.exec(raw);
    if (m) {
      finish();
      const rest = m[1];
      const kind = /\[markdown\]/.test(rest) ? "markdown" : "code";
      const tagMatch = /tags=(\[[^\]]*\])/.exec(rest);
      const tags = tagMatch ? (JSON.parse(tagMatch[1]) as string[]) : [];
      current = { cell: { kind, source: "", tags, line: i + 1 }, body: [] };
      return;
    }
    if (!current) return;
    if (current.cell.kind === "markdown") {
      if (raw.trim() === "") current.body.push("");
      else if (raw === "//") current.body.push("");
      else if (raw.startsWith("// ")) current.body.push(raw.slice(3));
      else {
        throw new Error(
          `line ${i + 1}: a markdown cell line must start with "// ", got ${JSON.stringify(raw)}`,
        );
      }
    } else {
      current.body.push(raw);
    }
  });
  finish();
  return cells;
}
