/**
 * `assertAllClose`: compare a tensor (or nested array) with expected values elementwise,
 * like NumPy's `assert_allclose`, with a readable report of where they differ.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { AssertionError } from "@std/assert";

/** Nested arrays of numbers of any depth. */
export type NestedNumbers = number | NestedNumbers[];

/** Tolerances: passes where |actual − expected| ≤ atol + rtol·|expected|. */
export interface CloseOptions {
  /** Relative tolerance (default 1e-5). */
  rtol?: number;
  /** Absolute tolerance (default 1e-6). */
  atol?: number;
  /** Prefix for the failure message. */
  msg?: string;
}

function shapeOf(x: NestedNumbers): number[] {
  const shape: number[] = [];
  let cur: NestedNumbers = x;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0];
  }
  return shape;
}

function toFlat(x: tf.Tensor | NestedNumbers): { values: number[]; shape: number[] } {
  if (x instanceof tf.Tensor) return { values: Array.from(x.dataSync()), shape: x.shape };
  const shape = shapeOf(x);
  const values = Array.isArray(x) ? ((x as unknown[]).flat(Infinity) as number[]) : [x];
  return { values, shape };
}

function indexOf(flat: number, shape: number[]): string {
  const idx: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    idx.unshift(flat % shape[d]);
    flat = Math.floor(flat / shape[d]);
  }
  return `[${idx.join(", ")}]`;
}

/**
 * Asserts `actual` ≈ `expected` elementwise: |a − e| ≤ atol + rtol·|e| everywhere, with the
 * same shape. NaN never matches anything. On failure the message gives the number of
 * mismatches, the largest absolute and relative differences, and the first few offending
 * positions with both values.
 */
export function assertAllClose(
  actual: tf.Tensor | NestedNumbers,
  expected: tf.Tensor | NestedNumbers,
  { rtol = 1e-5, atol = 1e-6, msg }: CloseOptions = {},
): void {
  const a = toFlat(actual);
  const e = toFlat(expected);
  const head = msg ? `${msg}: ` : "";
  if (a.shape.join(",") !== e.shape.join(",")) {
    throw new AssertionError(
      `${head}shapes differ: actual [${a.shape.join(", ")}], expected [${e.shape.join(", ")}]`,
    );
  }
  const bad: string[] = [];
  let count = 0;
  let maxAbs = 0;
  let maxRel = 0;
  for (let i = 0; i < e.values.length; i++) {
    const av = a.values[i];
    const ev = e.values[i];
    const diff = Math.abs(av - ev);
    const ok = diff <= atol + rtol * Math.abs(ev);
    if (Number.isFinite(diff)) {
      maxAbs = Math.max(maxAbs, diff);
      if (ev !== 0) maxRel = Math.max(maxRel, diff / Math.abs(ev));
    }
    if (!ok) {
      count++;
      if (bad.length < 8) {
        bad.push(`  at ${indexOf(i, e.shape)}: actual ${av}, expected ${ev}, |diff| ${diff}`);
      }
    }
  }
  if (count > 0) {
    throw new AssertionError(
      `${head}${count} of ${e.values.length} elements differ (rtol ${rtol}, atol ${atol}); ` +
        `max |diff| ${maxAbs.toExponential(3)}, max rel ${maxRel.toExponential(3)}\n` +
        bad.join("\n") + (count > bad.length ? `\n  … and ${count - bad.length} more` : ""),
    );
  }
}
