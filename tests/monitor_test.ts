// The training monitor in a terminal without a TTY: progress lines with the loss, the
// evaluation and steps per second, a final line with the extra values, then the loss curve.
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Runs a script importing the monitor in a child process whose stdout is a pipe. */
async function runMonitorScript(
  body: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/monitor_fixture.ts`;
  const monitor = new URL("../lib/show/monitor.ts", import.meta.url).href;
  await Deno.writeTextFile(
    path,
    `import { monitorOnDemand, trainingMonitor } from "${monitor}";\n${body}`,
  );
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--config", `${ROOT}deno.json`, path],
      cwd: ROOT,
      env: { NO_COLOR: "1", FORCE_COLOR: "" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("trainingMonitor: without a TTY, progress lines, final values and the curve", async () => {
  const run = await runMonitorScript(`
const m = await trainingMonitor(50, { title: "toy run", evalName: "held-out" });
for (let step = 1; step <= 50; step++) {
  await m.update({ step, loss: 3 - step / 25, evalLoss: step % 10 === 0 ? 2.5 - step / 50 : undefined });
}
await m.finish({ accuracy: 0.97 });
`);
  assertEquals(run.code, 0, run.stderr);
  assert(!run.stdout.includes("\r"), "no carriage returns when not a TTY");
  const lines = run.stdout.split("\n");
  const bars = lines.filter((l) => l.startsWith("toy run █") || l.startsWith("toy run ░"));
  // One line per tenth (5, 10, … 45 of 50) and one at finish.
  assertEquals(bars.length, 10, run.stdout);
  assertMatch(bars[0], /^toy run ██░{18} 5\/50 loss 2\.8 steps\/s [\d.e]+ · \d+\.\d s$/);
  // Step 10 carries the first evaluation: 2.5 − 10/50 = 2.3.
  assertMatch(bars[1], /^toy run ████░{16} 10\/50 loss 2\.6 held-out 2\.3 steps\/s /);
  assertMatch(
    bars[9],
    /^toy run █{20} 50\/50 loss 1 held-out 1\.5 steps\/s [\d.e]+ accuracy 0\.97 · /,
  );
  // The final curve: its title, both series with their last values, the step axis.
  const curve = run.stdout.slice(run.stdout.indexOf(bars[9]) + bars[9].length);
  assertStringIncludes(curve, "toy run");
  assertStringIncludes(curve, "── training loss  last 1  min 1  max 2.96");
  assertStringIncludes(curve, "── held-out  last 1.5  min 1.5  max 2.3");
  assertStringIncludes(curve, "x: step · y: loss");
});

Deno.test("trainingMonitor: plugs into fit's onStep", async () => {
  const train = new URL("../lib/train.ts", import.meta.url).href;
  const tensor = new URL("../lib/tensor.ts", import.meta.url).href;
  const run = await runMonitorScript(`
import * as tf from "@tensorflow/tfjs";
import { createOptimizer, fit } from "${train}";
import { initBackend } from "${tensor}";
await initBackend();
const w = tf.variable(tf.scalar(3));
const m = await trainingMonitor(20, { title: "fit" });
await fit({
  variables: [w],
  steps: 20,
  loss: () => tf.square(w),
  optimizer: createOptimizer({ learningRate: 0.1 }),
  onStep: (s) => m.update(s),
});
await m.finish();
`);
  assertEquals(run.code, 0, run.stderr);
  assertMatch(run.stdout, /fit █{20} 20\/20 loss [\d.]+ steps\/s /);
  assertStringIncludes(run.stdout, "── training loss  last ");
});

Deno.test("monitorOnDemand: nothing without a step; a bar and the curve once training starts", async () => {
  const idle = await runMonitorScript(`
const m = monitorOnDemand(10, { title: "cached model" });
await m.finish({ seconds: 1 });
console.log("done");
`);
  assertEquals(idle.code, 0, idle.stderr);
  assertEquals(idle.stdout.trim(), "done");
  const run = await runMonitorScript(`
const m = monitorOnDemand(10, { title: "built model" });
for (let step = 1; step <= 10; step++) await m.onStep({ step, loss: 2 - step / 10 });
await m.finish({ seconds: 1 });
`);
  assertEquals(run.code, 0, run.stderr);
  assertStringIncludes(run.stdout, "built model");
  assertStringIncludes(run.stdout, "training loss");
});
