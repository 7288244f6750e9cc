/**
 * One GPT training step and one KV-cached generation step of lib/gpt.ts at nanoGPT's CPU
 * "baby GPT" size (4 layers, 4 heads, d_model 128, context 64, vocabulary 100, batch 12), on
 * the backend `initBackend` chooses. A benchmark, not a test: `deno task bench`. The side by
 * side comparison with PyTorch is `deno task bench-compare` (bench/gpt_compare.ts).
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend, makeRng } from "../lib/tensor.ts";
import {
  createKVCache,
  disposeKVCache,
  gptConfig,
  gptForwardCached,
  gptParameters,
  initGPT,
  type KVCache,
} from "../lib/gpt.ts";
import { languageModelingLoss } from "../lib/objectives.ts";
import { createAdamW } from "../lib/train.ts";

const backend = await initBackend();
const config = gptConfig({ vocabSize: 100 });
const p = initGPT(config, 0);
const vars = gptParameters(p);
const optimizer = createAdamW({ learningRate: 1e-3, beta2: 0.99, weightDecay: 0.1 });
const rng = makeRng(1);
const T = config.contextLength;
const ids = Int32Array.from({ length: 12 * (T + 1) }, () => Math.floor(rng() * config.vocabSize));
const rows = (shift: number) =>
  Int32Array.from({ length: 12 * T }, (_, i) => ids[Math.floor(i / T) * (T + 1) + (i % T) + shift]);
const batch = {
  inputs: tf.tensor2d(rows(0), [12, T], "int32"),
  targets: tf.tensor2d(rows(1), [12, T], "int32"),
};

Deno.bench(`GPT training step, batch 12 × 64 (${backend.description})`, () => {
  tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => languageModelingLoss(p, config, batch), vars);
    value.dataSync();
    optimizer.applyGradients(vars, vars.map((v) => grads[v.name]));
  });
});

let cache: KVCache = createKVCache(config);
Deno.bench(`GPT generation, one token with the KV cache (${backend.description})`, () => {
  if (cache.length === T) {
    disposeKVCache(cache);
    cache = createKVCache(config);
  }
  const input = tf.tensor2d([[cache.length % config.vocabSize]], [1, 1], "int32");
  const r = gptForwardCached(p, config, input, cache);
  cache = r.cache;
  r.logits.dataSync();
  tf.dispose([input, r.logits]);
});
