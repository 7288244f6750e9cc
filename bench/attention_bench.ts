/**
 * Speed of attention's fast path (lib/kernels.ts) against plain tfjs ops, forward and
 * backward, at nanoGPT's CPU "baby GPT" size: B = 12, h = 4, T = 64, d_k = 32 (one layer's
 * attention), plus one linear layer of its MLP. A benchmark, not a test: `deno task bench`.
 */
import * as tf from "@tensorflow/tfjs";
import { causalMask, scaledDotProductAttention } from "../lib/attention.ts";
import { linear } from "../lib/kernels.ts";
import { initBackend } from "../lib/tensor.ts";

const backend = await initBackend();
const B = 12, H = 4, T = 64, dk = 32, d = H * dk;
const q = tf.randomNormal([B, H, T, dk], 0, 1, "float32", 1);
const k = tf.randomNormal([B, H, T, dk], 0, 1, "float32", 2);
const v = tf.randomNormal([B, H, T, dk], 0, 1, "float32", 3);
const mask = causalMask(T);
const dOut = tf.randomNormal([B, H, T, dk], 0, 1, "float32", 4);

/** The textbook composition of tfjs ops; tfjs derives its gradient. */
function plainAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor): tf.Tensor {
  const scores = tf.add(tf.div(tf.matMul(q, k, false, true), Math.sqrt(dk)), mask);
  return tf.matMul(tf.softmax(scores), v);
}

function fastAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor): tf.Tensor {
  return scaledDotProductAttention(q, k, v, { mask }).output;
}

/** Forward and backward of Σ attention(q, k, v) ⊙ dOut, reading every gradient back. */
function forwardBackward(attention: typeof plainAttention): void {
  const grads = tf.tidy(() =>
    tf.grads((q, k, v) => tf.sum(tf.mul(attention(q, k, v), dOut)))([q, k, v])
  );
  for (const g of grads) g.dataSync();
  tf.dispose(grads);
}

const group = `attention B=${B} h=${H} T=${T} d_k=${dk}, forward+backward (${backend.name})`;
Deno.bench("plain tf.matMul + tf.softmax", { group, baseline: true }, () => {
  forwardBackward(plainAttention);
});
Deno.bench("scaledDotProductAttention (batchedMatMul as depthwiseConv2d)", { group }, () => {
  forwardBackward(fastAttention);
});

const x = tf.randomNormal([B * T, d], 0, 1, "float32", 5);
const W = tf.randomNormal([d, 4 * d], 0, 0.05, "float32", 6) as tf.Tensor2D;
const dY = tf.randomNormal([B * T, 4 * d], 0, 1, "float32", 7);
const linearGroup = `linear [${B * T}, ${d}]·[${d}, ${4 * d}], forward+backward (${backend.name})`;
function linearForwardBackward(f: (x: tf.Tensor, W: tf.Tensor) => tf.Tensor): void {
  const grads = tf.tidy(() => tf.grads((x, W) => tf.sum(tf.mul(f(x, W), dY)))([x, W]));
  for (const g of grads) g.dataSync();
  tf.dispose(grads);
}
Deno.bench("plain tf.matMul", { group: linearGroup, baseline: true }, () => {
  linearForwardBackward((x, W) => tf.matMul(x, W));
});
Deno.bench("linear (matMul2d, explicit transposes)", { group: linearGroup }, () => {
  linearForwardBackward((x, W) => linear(x, W as tf.Tensor2D));
});
