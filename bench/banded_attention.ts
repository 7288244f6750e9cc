/**
 * Banded against dense attention, time and memory, for T = 256 … 4,096 on this machine:
 * `deno run -A bench/banded_attention.ts`. A measurement, not a test (see bench/README.md).
 *
 * One head, q, k, v [1, T, 64], forward only: `scaledDotProductAttention` under the causal mask
 * (T² scores) against `bandedAttention` with a window of 128 (T·(2·128 − 1) scores), via
 * lib/experiments/sparse_attention.ts's `timeAttention`. Prints each length's median time and
 * the peak bytes each call holds (tf.profile), then the log–log slopes: time and memory ∝ Tᵖ with
 * p ≈ 2 for dense and p ≈ 1 for banded (Child et al. 2019, §4; Brown et al. 2020, §2.1).
 *
 * Options: `--window=N` (128), `--repeats=N` (3), `--dense-max=N` (4096: the longest T dense
 * attention runs at; its scores and weights grow as T², a quarter of a GiB at 4,096).
 *
 * @module
 */
import { initBackend } from "../lib/tensor.ts";
import { logLogSlope, timeAttention } from "../lib/experiments/sparse_attention.ts";

const arg = (name: string, fallback: number) => {
  const a = Deno.args.find((x) => x.startsWith(`--${name}=`));
  const v = a ? Number(a.split("=")[1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
  return v;
};
const backend = await initBackend();
const window = arg("window", 128), repeats = arg("repeats", 3), denseMax = arg("dense-max", 4096);
const lengths = [256, 512, 1024, 2048, 4096];
console.log(`backend: ${backend.description}; one head, d = 64, window ${window}, forward`);
const rows = await timeAttention(lengths, { window, repeats, denseMax });
const mb = (b?: number) => b === undefined ? "—" : (b / 2 ** 20).toFixed(1);
const ms = (t?: number) => t === undefined ? "—" : t.toFixed(2);
console.log("T\tdense ms\tbanded ms\tdense MiB\tbanded MiB");
for (const r of rows) {
  console.log(
    `${r.T}\t${ms(r.denseMs)}\t${ms(r.bandedMs)}\t${mb(r.denseBytes)}\t${mb(r.bandedBytes)}`,
  );
}
const dense = rows.filter((r) => r.denseMs !== undefined);
const slope = (pick: (r: (typeof rows)[number]) => number | undefined, of: typeof rows) =>
  logLogSlope(of.map((r) => r.T), of.map((r) => pick(r)!)).toFixed(2);
if (dense.length >= 2) {
  console.log(
    `log–log slopes, dense: time ${slope((r) => r.denseMs, dense)}, memory ${
      slope((r) => r.denseBytes, dense)
    } (T ≤ ${dense[dense.length - 1].T})`,
  );
}
console.log(
  `log–log slopes, banded: time ${slope((r) => r.bandedMs, rows)}, memory ${
    slope((r) => r.bandedBytes, rows)
  }`,
);
