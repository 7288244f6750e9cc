/**
 * Gradient checking for the tests: a function's gradient from tfjs (custom or derived)
 * against central finite differences.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { makeRng } from "../lib/tensor.ts";

/**
 * Compares the gradient of L(x₁, …, xₙ) = Σ f(x₁, …, xₙ) ⊙ R (R a fixed random tensor, so
 * every output element matters with its own weight) with central differences
 * (L(x + h·eⱼ) − L(x − h·eⱼ)) / 2h, summing L in float64 to keep round-off small. Returns,
 * for each input, the relative error ‖g − g_fd‖ / max(‖g‖, ‖g_fd‖).
 *
 * Use small inputs: each element of each input costs two evaluations of f.
 */
export function gradCheck(
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  xs: tf.Tensor[],
  { h = 1e-2, seed = 7 }: { h?: number; seed?: number } = {},
): number[] {
  const rng = makeRng(seed);
  const shape = tf.tidy(() => f(...xs).shape);
  const size = shape.reduce((a, b) => a * b, 1);
  const R = Float64Array.from({ length: size }, () => rng() * 2 - 1);
  const loss = (inputs: tf.Tensor[]): number => {
    const out = tf.tidy(() => f(...inputs));
    const v = out.dataSync();
    out.dispose();
    let s = 0;
    for (let i = 0; i < size; i++) s += v[i] * R[i];
    return s;
  };
  const analytic = tf.tidy(() => {
    const Rt = tf.tensor(Float32Array.from(R), shape);
    return tf.grads((...inputs: tf.Tensor[]) => tf.sum(tf.mul(f(...inputs), Rt)))(xs);
  });
  const errors = xs.map((x, i) => {
    const base = Float32Array.from(x.dataSync());
    const numeric = new Float64Array(base.length);
    for (let j = 0; j < base.length; j++) {
      // the step actually taken in float32, not the h asked for
      const plus = Math.fround(base[j] + h), minus = Math.fround(base[j] - h);
      const at = (value: number): number => {
        const values = base.slice();
        values[j] = value;
        const xj = tf.tensor(values, x.shape);
        const l = loss(xs.map((other, k) => (k === i ? xj : other)));
        xj.dispose();
        return l;
      };
      numeric[j] = (at(plus) - at(minus)) / (plus - minus);
    }
    const g = analytic[i].dataSync();
    let diff = 0, na = 0, nn = 0;
    for (let j = 0; j < base.length; j++) {
      diff += (g[j] - numeric[j]) ** 2;
      na += g[j] ** 2;
      nn += numeric[j] ** 2;
    }
    return Math.sqrt(diff) / Math.max(Math.sqrt(na), Math.sqrt(nn), 1e-12);
  });
  tf.dispose(analytic);
  return errors;
}
