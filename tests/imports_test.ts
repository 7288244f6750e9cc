// The shape of the imports: no module of lib/ imports itself through others (an import cycle
// makes the order in which modules initialise depend on which one a reader imports first), the
// maths never imports the display layer, and the public API (mod.ts) leaves the chapters'
// experiments to their own entry module.
import { assert, assertEquals } from "@std/assert";
import { fileURLToPath } from "node:url";

const ROOT = new URL("..", import.meta.url);

/** The import graph of the lib/ modules reachable from `entries`, as paths relative to the root. */
async function libGraph(entries: string[]): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>();
  for (const entry of entries) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", entry],
      cwd: fileURLToPath(ROOT),
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(out.success, new TextDecoder().decode(out.stderr));
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      modules: {
        specifier: string;
        dependencies?: { code?: { specifier: string }; type?: { specifier: string } }[];
      }[];
    };
    const lib = new URL("lib/", ROOT).href;
    const rel = (s: string) => s.slice(ROOT.href.length);
    for (const m of info.modules) {
      if (!m.specifier.startsWith(lib)) continue;
      const deps = (m.dependencies ?? [])
        .flatMap((d) => [d.code?.specifier, d.type?.specifier])
        .filter((s): s is string => s !== undefined && s.startsWith(lib));
      graph.set(rel(m.specifier), [...new Set(deps.map(rel))]);
    }
  }
  return graph;
}

/** The import cycles of `graph`: its strongly connected components of more than one module. */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || graph.get(v)!.includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

const graph = await libGraph(["mod.ts", "lib/experiments/mod.ts"]);

Deno.test("lib/ has no import cycles", () => {
  assert(graph.size > 20, `only ${graph.size} modules found`);
  assertEquals(cycles(graph), []);
});

Deno.test("cycles() finds a cycle when there is one", () => {
  const g = new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["a"]]]);
  assertEquals(cycles(g), [["a", "b", "c"]]);
  assertEquals(cycles(new Map([["a", ["b"]], ["b", []]])), []);
});

Deno.test("the maths never imports the display layer, and mod.ts leaves out the experiments", () => {
  for (const [module, deps] of graph) {
    if (module.startsWith("lib/show/")) continue;
    const shown = deps.filter((d) => d.startsWith("lib/show/"));
    assertEquals(shown, [], `${module} imports the display layer`);
  }
  const exported = Deno.readTextFileSync(new URL("mod.ts", ROOT)).split("\n")
    .filter((line) => line.startsWith("export") && line.includes("experiments"));
  assertEquals(exported, [], "mod.ts re-exports lib/experiments/");
});
