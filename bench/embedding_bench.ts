/**
 * Speed of the embedding lookup: the one-hot matmul the library uses (because wasm has no
 * gradient for gather) against tf.gather, forward and forward+backward. A benchmark, not a
 * test: `deno task bench`.
 */
import * as tf from "@tensorflow/tfjs";
import { embedTokens, initEmbedding, sinusoidalPositionalEncoding } from "../lib/embedding.ts";
import { initBackend } from "../lib/tensor.ts";

const backend = await initBackend();
const V = 100, d = 128, B = 12, T = 64;
const We = initEmbedding(V, d, 1);
const ids = tf.randomUniform([B, T], 0, V, "int32", 2) as tf.Tensor2D;

Deno.bench(`embedTokens one-hot matmul, forward [${B}×${T}] (${backend.name})`, () => {
  tf.tidy(() => embedTokens(We, ids).dataSync());
});

Deno.bench(`tf.gather, forward [${B}×${T}] (${backend.name})`, () => {
  tf.tidy(() => tf.gather(We, ids).dataSync());
});

Deno.bench(`embedTokens forward + backward (${backend.name})`, () => {
  tf.tidy(() =>
    tf.grad((w: tf.Tensor) => tf.sum(embedTokens(w as tf.Tensor2D, ids)))(We).dataSync()
  );
});

Deno.bench("sinusoidalPositionalEncoding(512, 768)", () => {
  sinusoidalPositionalEncoding(512, 768).dispose();
});
