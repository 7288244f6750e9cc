import { assertEquals } from "@std/assert";
import { expectations, type PageCounts, pageFailures } from "../tools/browser_check.ts";

const executed = JSON.stringify({
  cells: [
    { cell_type: "markdown", source: "# t" },
    {
      cell_type: "code",
      outputs: [
        { output_type: "display_data", data: { "text/latex": "$$x$$", "text/html": "" } },
        { output_type: "display_data", data: { "application/vnd.plotly.v1+json": {} } },
        { output_type: "display_data", data: { "application/vnd.plotly.v1+json": {} } },
        { output_type: "stream", text: "hi" },
      ],
    },
  ],
});

const page = (over: Partial<PageCounts>): PageCounts => ({
  mathml: 0,
  mathjax: 0,
  plotly: 0,
  svgImages: 0,
  pageErrors: [],
  consoleErrors: [],
  blocked: [],
  ...over,
});

Deno.test("expectations count the formula and figure outputs of an executed notebook", () => {
  assertEquals(expectations(executed), { formulas: 1, plots: 2 });
});

Deno.test("pageFailures: every formula typeset and every plot drawn, nothing else loaded", () => {
  const expected = { formulas: 1, plots: 2 };
  assertEquals(pageFailures(page({ mathml: 1, plotly: 2 }), expected), []);
  assertEquals(pageFailures(page({ mathjax: 1, plotly: 2 }), expected), []);
  assertEquals(pageFailures(page({ mathml: 1, plotly: 1 }), expected), [
    "2 plot output(s), 1 drawn by Plotly",
  ]);
  assertEquals(
    pageFailures(
      page({ plotly: 2, pageErrors: ["x"], blocked: ["https://cdn.example/a.js"] }),
      expected,
    ),
    ["1 page error(s)", "1 blocked request(s)", "1 formula output(s), 0 typeset in the page"],
  );
});
