import * as tf from "@tensorflow/tfjs";
import fc from "fast-check";
import { assert, assertEquals, assertThrows } from "@std/assert";
import { assertAllClose } from "../testing/tensor_assert.ts";
import { initEncoderBlock } from "../lib/transformer.ts";
import { deriveSeeds, dropout } from "../lib/kernels.ts";
import { initEmbedding } from "../lib/embedding.ts";
import { createOptimizer } from "../lib/train.ts";
import {
  type AttentionOnlyConfig,
  checkGPTConfig,
  countGPTParameters,
  createKVCache,
  disposeGPT,
  disposeKVCache,
  GPT1_CONFIG,
  GPT2_LARGE_CONFIG,
  GPT2_MEDIUM_CONFIG,
  GPT2_SMALL_CONFIG,
  GPT2_XL_CONFIG,
  GPT3_175B_CONFIG,
  type GPTConfig,
  gptConfig,
  gptForward,
  gptForwardCached,
  gptFromTensors,
  gptParameters,
  gptParameterShapes,
  type GPTParams,
  initGPT,
  type KVCache,
  namedGPTParameters,
  selectKVCacheRows,
} from "../lib/gpt.ts";
import { assertNoTensorGrowth, initBackend, makeRng } from "../lib/tensor.ts";
import { gradCheck } from "../testing/gradcheck.ts";
import type { BlockParams } from "../lib/transformer.ts";

await initBackend();

const ids2d = (rows: number[][]) => tf.tensor2d(rows, undefined, "int32");
const randomIds = (B: number, T: number, V: number, seed: number) => {
  const rng = makeRng(seed);
  return Array.from({ length: B }, () => Array.from({ length: T }, () => Math.floor(rng() * V)));
};
const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) =>
  tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

/**
 * The count written out per Hugging Face tensor (wte, wpe, then each block's ln_1, c_attn
 * [d, 3d] + bias, c_proj, ln_2, c_fc, mlp c_proj, then ln_f), independently of lib/gpt.ts.
 */
function hfStyleCount(c: GPTConfig): number {
  const d = c.dModel;
  const wte = c.vocabSize * d, wpe = c.contextLength * d;
  const ln = 2 * d;
  const cAttn = d * 3 * d + 3 * d, cProj = d * d + d;
  const cFc = d * c.dFF + c.dFF, mlpProj = c.dFF * d + d;
  const block = ln + cAttn + cProj + ln + cFc + mlpProj;
  const lnF = c.norm === "pre" ? ln : 0;
  const lmHead = c.tiedOutput ? 0 : d * c.vocabSize;
  return wte + wpe + c.layers * block + lnF + lmHead;
}

Deno.test("countGPTParameters: GPT-1 ≈ 117M, GPT-2 small = 124,439,808 exactly", () => {
  const gpt1 = countGPTParameters(GPT1_CONFIG);
  const gpt2 = countGPTParameters(GPT2_SMALL_CONFIG);
  console.log(`GPT-1: ${gpt1.toLocaleString("en")} parameters`);
  console.log(`GPT-2 small: ${gpt2.toLocaleString("en")} parameters`);
  assertEquals(gpt1, 116_534_784);
  assert(gpt1 > 116.5e6 && gpt1 < 117e6);
  assertEquals(gpt2, 124_439_808); // Hugging Face's count for `gpt2` (tied wte)
  assertEquals(gpt1, hfStyleCount(GPT1_CONFIG));
  assertEquals(gpt2, hfStyleCount(GPT2_SMALL_CONFIG));
  const sizes = (c: GPTConfig) =>
    gptParameterShapes(c).reduce((n, [, s]) => n + s.reduce((a, b) => a * b, 1), 0);
  assertEquals(sizes(GPT1_CONFIG), gpt1);
  assertEquals(sizes(GPT2_SMALL_CONFIG), gpt2);
});

Deno.test("countGPTParameters: the larger GPT-2 models and GPT-3 175B", () => {
  // Hugging Face's counts for gpt2-medium, gpt2-large and gpt2-xl (tied wte).
  assertEquals(countGPTParameters(GPT2_MEDIUM_CONFIG), 354_823_168);
  assertEquals(countGPTParameters(GPT2_LARGE_CONFIG), 774_030_080);
  assertEquals(countGPTParameters(GPT2_XL_CONFIG), 1_557_611_200);
  for (const c of [GPT2_MEDIUM_CONFIG, GPT2_LARGE_CONFIG, GPT2_XL_CONFIG, GPT3_175B_CONFIG]) {
    assertEquals(countGPTParameters(c), hfStyleCount(c), c.name);
  }
  // GPT-3: 12·n·d² (attention and FFN weights) dominates; the paper's Table 2.1 says 175.0B.
  const gpt3 = countGPTParameters(GPT3_175B_CONFIG);
  assert(Math.abs(gpt3 - 175.0e9) / 175.0e9 < 0.003, `${gpt3}`);
});

Deno.test("countGPTParameters: equals the sizes of the variables initGPT makes", () => {
  const configs = [
    gptConfig({ vocabSize: 100 }),
    gptConfig({ vocabSize: 37, layers: 2, heads: 2, dModel: 24, norm: "post", contextLength: 9 }),
    gptConfig({ vocabSize: 11, layers: 3, heads: 3, dModel: 12, dFF: 20, tiedOutput: false }),
  ];
  for (const c of configs) {
    const p = initGPT(c, 3);
    const vars = gptParameters(p);
    assertEquals(new Set(vars).size, vars.length, "each variable once");
    assertEquals(vars.reduce((n, v) => n + v.size, 0), countGPTParameters(c));
    assertEquals(countGPTParameters(c), hfStyleCount(c));
    disposeGPT(p);
  }
  // nanoGPT's baby GPT with a 100-character vocabulary: ~0.8M parameters
  assertEquals(countGPTParameters(gptConfig({ vocabSize: 100 })), 814_336);
});

Deno.test("config and shape errors name both values", () => {
  assertThrows(
    () => gptConfig({ vocabSize: 10, dModel: 30, heads: 4 }),
    Error,
    "d_model 30 is not divisible by heads 4",
  );
  assertThrows(() => gptConfig({ vocabSize: 0 }), Error, "vocabSize must be a positive integer");
  assertThrows(() => gptConfig({ vocabSize: 5, dropout: 1 }), Error, "dropout must be in [0, 1)");
  const c = gptConfig({ vocabSize: 10, layers: 1, dModel: 8, heads: 2, contextLength: 4 });
  const p = initGPT(c, 1);
  const long = ids2d([[1, 2, 3, 4, 5]]);
  assertThrows(() => gptForward(p, c, long), Error, "5 tokens exceed the context length 4");
  const floats = tf.tensor2d([[1, 2]]);
  assertThrows(() => gptForward(p, c, floats), Error, "ids must be int32");
  const bad = ids2d([[1, 10]]);
  assertThrows(() => gptForward(p, c, bad), Error, "token id 10 is outside the vocabulary [0, 10)");
  let cache = createKVCache(c);
  const three = ids2d([[1, 2, 3]]), two = ids2d([[1, 2]]);
  cache = gptForwardCached(p, c, three, cache).cache;
  assertThrows(
    () => gptForwardCached(p, c, two, cache),
    Error,
    "3 cached + 2 new tokens = 5 exceed the context length 4",
  );
  assertThrows(
    () => gptForwardCached(p, c, ids2d([[1], [2]]), cache),
    Error,
    "ids have batch 2 but the cache holds 1",
  );
  disposeKVCache(cache);
  tf.dispose([long, floats, bad, three, two]);
  disposeGPT(p);
});

Deno.test("initGPT from the parameter table starts exactly as embeddings + initEncoderBlock", () => {
  // the composition initGPT had before the table: seeds [Wₑ, Wₚ, W_out, block 0, …]
  const c = gptConfig({ vocabSize: 11, layers: 2, heads: 2, dModel: 8, tiedOutput: false });
  const p = initGPT(c, 42);
  const s = deriveSeeds(42, 3 + c.layers);
  const We = initEmbedding(c.vocabSize, c.dModel, s[0]),
    Wp = initEmbedding(c.contextLength, c.dModel, s[1]);
  const Wout = tf.randomNormal([c.dModel, c.vocabSize], 0, 0.02, "float32", s[2]);
  const blocks = [0, 1].map((i) => initEncoderBlock(c.dModel, c.heads, c.dFF, s[3 + i]));
  assertAllClose(p.tokenEmbedding, We, { atol: 0 });
  assertAllClose(p.positionEmbedding, Wp, { atol: 0 });
  assertAllClose(p.output!, Wout, { atol: 0 });
  blocks.forEach((b, i) => {
    const q = p.blocks[i];
    for (
      const [x, y] of [
        [q.selfAttention.Wq, b.selfAttention.Wq],
        [q.selfAttention.Wo, b.selfAttention.Wo],
        [q.selfAttention.bv, b.selfAttention.bv],
        [q.ffn.W1, b.ffn.W1],
        [q.ffn.W2, b.ffn.W2],
        [q.norm2.gamma, b.norm2.gamma],
      ]
    ) assertAllClose(x, y, { atol: 0 });
    assertEquals(q.selfAttention.heads, b.selfAttention.heads);
  });
  tf.dispose(
    [We, Wp, Wout, ...blocks.flatMap((b) => Object.values(b).flatMap((v) => Object.values(v)))]
      .filter((t): t is tf.Tensor => t instanceof tf.Tensor),
  );
  disposeGPT(p);
});

Deno.test("bad state and shapes: mismatched config, empty batch, a consumed KV cache", () => {
  const c = gptConfig({ vocabSize: 10, layers: 2, dModel: 8, heads: 2, contextLength: 6 });
  const p = initGPT(c, 1);
  const ids = ids2d([[1, 2]]);
  assertThrows(
    () => gptForward(p, { ...c, layers: 5 }, ids),
    Error,
    "gptForward: the parameters do not match the config GPT tiny: they have 2 blocks, the config 5 layers",
  );
  assertThrows(
    () => gptForward(p, { ...c, norm: "post" }, ids),
    Error,
    "final layer norm is present",
  );
  assertThrows(() => gptForward(p, { ...c, dModel: 16, dFF: 64 }, ids), Error, "Wₑ is [10, 8]");
  const empty = tf.zeros([0, 3], "int32") as tf.Tensor2D;
  assertThrows(() => gptForward(p, c, empty), Error, "gptForward: ids [0, 3] hold no tokens");
  const first = createKVCache(c);
  const { logits, cache } = gptForwardCached(p, c, ids, first);
  const again = gptForwardCached(p, c, ids2d([[3]]), cache);
  assertThrows(
    () => gptForwardCached(p, c, ids2d([[3]]), cache),
    Error,
    "gptForwardCached: this cache was already consumed by an earlier call",
  );
  assertThrows(() => gptForwardCached(p, c, empty, again.cache), Error, "hold no tokens");
  disposeKVCache(again.cache);
  tf.dispose([ids, empty, logits, again.logits]);
  disposeGPT(p);
});

/**
 * The same model written out with plain tfjs ops and nothing from lib/ (an independent
 * computation): one-hot embedding, per-head softmax(QKᵀ/√d_k + causal)·V, LayerNorm from
 * tf.moments, the FFN with the exact or tanh GELU, post- or pre-LN, tied or untied output.
 */
function referenceLogits(
  p: GPTParams<BlockParams>,
  c: GPTConfig,
  ids: number[][],
  allowed: (layer: number, i: number, j: number) => boolean = (_l, i, j) => j <= i,
): tf.Tensor {
  return tf.tidy(() => {
    const [B, T, d, h] = [ids.length, ids[0].length, c.dModel, c.heads];
    const ln = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const { mean, variance } = tf.moments(x, -1, true);
      return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b);
    };
    const aff = (x: tf.Tensor, W: tf.Tensor, b: tf.Tensor) =>
      tf.add(tf.matMul(x.reshape([-1, W.shape[0]!]), W), b).reshape([B, T, -1]);
    const act = (x: tf.Tensor) =>
      c.activation === "relu"
        ? tf.relu(x)
        : c.activation === "gelu"
        ? tf.mul(x, tf.mul(0.5, tf.add(1, tf.erf(tf.div(x, Math.SQRT2)))))
        : tf.mul(
          tf.mul(0.5, x),
          tf.add(
            1,
            tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))))),
          ),
        );
    const heads = (x: tf.Tensor) => tf.transpose(x.reshape([B, T, h, d / h]), [0, 2, 1, 3]);
    const attend = (x: tf.Tensor, a: GPTParams["blocks"][number]["selfAttention"], l: number) => {
      const mask = Array.from(
        { length: T },
        (_, i) => Array.from({ length: T }, (_, j) => (allowed(l, i, j) ? 0 : -1e9)),
      );
      const [q, k, v] = [aff(x, a.Wq, a.bq), aff(x, a.Wk, a.bk), aff(x, a.Wv, a.bv)].map(heads);
      const w = tf.softmax(tf.add(tf.div(tf.matMul(q, k, false, true), Math.sqrt(d / h)), mask));
      return aff(tf.transpose(tf.matMul(w, v), [0, 2, 1, 3]).reshape([B, T, d]), a.Wo, a.bo);
    };
    const onehot = tf.oneHot(tf.tensor2d(ids, undefined, "int32"), c.vocabSize);
    let x = tf.add(
      tf.matMul(onehot.reshape([-1, c.vocabSize]), p.tokenEmbedding).reshape([B, T, d]),
      tf.slice(p.positionEmbedding, [0, 0], [T, d]),
    );
    p.blocks.forEach((b, l) => {
      // Attention-only blocks (feedForward: false) have no FFN and no second layer norm.
      const ffn = b.ffn && b.norm2 ? { ...b.ffn, norm: b.norm2 } : undefined;
      const mlp = (y: tf.Tensor) => aff(act(aff(y, ffn!.W1, ffn!.b1)), ffn!.W2, ffn!.b2);
      if (c.norm === "pre") {
        x = tf.add(x, attend(ln(x, b.norm1.gamma, b.norm1.beta), b.selfAttention, l));
        if (ffn) x = tf.add(x, mlp(ln(x, ffn.norm.gamma, ffn.norm.beta)));
      } else {
        x = ln(tf.add(x, attend(x, b.selfAttention, l)), b.norm1.gamma, b.norm1.beta);
        if (ffn) x = ln(tf.add(x, mlp(x)), ffn.norm.gamma, ffn.norm.beta);
      }
    });
    if (p.finalNorm) x = ln(x, p.finalNorm.gamma, p.finalNorm.beta);
    const out = p.output ?? tf.transpose(p.tokenEmbedding);
    return tf.matMul(x.reshape([-1, d]), out).reshape([B, T, c.vocabSize]);
  });
}

Deno.test("gptForward = h₀ = UWₑ + Wₚ, encoder blocks with the causal mask, softmax(hₙWₑᵀ)", () => {
  for (
    const c of [
      gptConfig({ vocabSize: 13, layers: 2, heads: 2, dModel: 16, contextLength: 8 }),
      gptConfig({ vocabSize: 13, layers: 2, heads: 4, dModel: 16, norm: "post", contextLength: 8 }),
      gptConfig({ vocabSize: 13, layers: 1, heads: 2, dModel: 8, tiedOutput: false }),
      gptConfig({ vocabSize: 13, layers: 2, heads: 2, dModel: 8, activation: "gelu_tanh" }),
      gptConfig({
        vocabSize: 13,
        layers: 1,
        heads: 1,
        dModel: 8,
        activation: "relu",
        norm: "post",
      }),
    ]
  ) {
    const p = initGPT(c, 5);
    const ids = randomIds(2, 7, c.vocabSize, 9);
    const input = ids2d(ids);
    const expected = referenceLogits(p, c, ids);
    // without a gradient recorded (plain ops) and inside one (the custom-gradient kernels)
    const { logits } = gptForward(p, c, input);
    const recorded = tf.grad((x: tf.Tensor) => {
      const { logits } = gptForward(p, c, input);
      assertAllClose(logits, expected, { atol: 1e-5, msg: `${c.norm}-LN, recorded` });
      return tf.sum(tf.mul(x, tf.sum(logits)));
    })(tf.scalar(1));
    assertEquals(logits.shape, [2, 7, c.vocabSize]);
    assertAllClose(logits, expected, { atol: 1e-5, msg: `${c.norm}-LN, ${c.activation}` });
    tf.dispose([input, logits, expected, recorded]);
    disposeGPT(p);
  }
});

Deno.test("gptForward is causal: changing token j never changes the logits before j (property)", () => {
  const c = gptConfig({ vocabSize: 9, layers: 2, heads: 2, dModel: 8, contextLength: 10 });
  const p = initGPT(c, 2);
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 8 }), { minLength: 2, maxLength: 10 }),
      fc.nat(),
      fc.integer({ min: 0, max: 8 }),
      (seq, jRaw, newId) => {
        const j = jRaw % seq.length;
        const changed = seq.slice();
        changed[j] = newId;
        tf.tidy(() => {
          const a = gptForward(p, c, ids2d([seq])).logits;
          const b = gptForward(p, c, ids2d([changed])).logits;
          if (j > 0) {
            assertAllClose(tf.slice(b, [0, 0, 0], [1, j, -1]), tf.slice(a, [0, 0, 0], [1, j, -1]), {
              atol: 1e-6,
            });
          }
        });
      },
    ),
    { numRuns: 25 },
  );
  disposeGPT(p);
});

Deno.test("trace: per-layer attention [B, h, T, T], rows sum to 1, zero above the diagonal", () => {
  const c = gptConfig({ vocabSize: 20, layers: 3, heads: 2, dModel: 16, contextLength: 12 });
  const p = initGPT(c, 4);
  const input = ids2d(randomIds(2, 6, 20, 1));
  const { logits, attention } = gptForward(p, c, input, { trace: true });
  assertEquals(attention!.length, 3);
  for (const w of attention!) {
    assertEquals(w.shape, [2, 2, 6, 6]);
    assertAllClose(tf.sum(w, -1), tf.ones([2, 2, 6]), { atol: 1e-5 });
    const rows = w.arraySync() as number[][][][];
    for (const head of rows.flat()) {
      head.forEach((row, i) => row.forEach((v, j) => j > i && assertEquals(v, 0)));
    }
  }
  const plain = gptForward(p, c, input);
  assertEquals(plain.attention, undefined);
  tf.dispose([input, logits, plain.logits, ...attention!]);
  disposeGPT(p);
});

/** Feeds `ids` through the cache in chunks of the given sizes and returns all logits. */
function cachedLogits(p: GPTParams, c: GPTConfig, ids: number[][], chunks: number[]): tf.Tensor {
  let cache: KVCache = createKVCache(c, ids.length);
  const parts: tf.Tensor[] = [];
  let at = 0;
  for (const n of chunks) {
    const chunk = ids2d(ids.map((row) => row.slice(at, at + n)));
    const r = gptForwardCached(p, c, chunk, cache);
    chunk.dispose();
    parts.push(r.logits);
    cache = r.cache;
    at += n;
  }
  assertEquals(cache.length, at);
  disposeKVCache(cache);
  const all = tf.concat(parts, 1);
  tf.dispose(parts);
  return all;
}

Deno.test("KV cache: incremental logits equal the full re-forward's, any chunking (property)", () => {
  const configs = [
    gptConfig({ vocabSize: 17, layers: 2, heads: 2, dModel: 16, contextLength: 12 }),
    gptConfig({ vocabSize: 17, layers: 2, heads: 4, dModel: 16, contextLength: 12, norm: "post" }),
  ];
  const models = configs.map((c, i) => initGPT(c, 10 + i));
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 1 }),
      fc.integer({ min: 1, max: 2 }),
      fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 6 }),
      fc.nat(),
      (which, B, rawChunks, seed) => {
        const c = configs[which], p = models[which];
        const chunks: number[] = [];
        let total = 0;
        for (const n of rawChunks) {
          if (total + n > c.contextLength) break;
          chunks.push(n);
          total += n;
        }
        if (chunks.length === 0) return;
        const ids = randomIds(B, total, c.vocabSize, seed);
        const input = ids2d(ids);
        const full = gptForward(p, c, input).logits;
        const inc = cachedLogits(p, c, ids, chunks);
        const diff = maxAbsDiff(full, inc);
        tf.dispose([input, full, inc]);
        assert(diff < 1e-4, `max |full − cached| = ${diff} for chunks ${chunks}`);
      },
    ),
    { numRuns: 30 },
  );
  models.forEach(disposeGPT);
});

Deno.test("KV cache: token-by-token decoding to the full context, then selectKVCacheRows", () => {
  const c = gptConfig({ vocabSize: 30, layers: 2, heads: 2, dModel: 16, contextLength: 16 });
  const p = initGPT(c, 8);
  const ids = randomIds(3, 16, 30, 4);
  const input = ids2d(ids);
  const full = gptForward(p, c, input).logits;
  const inc = cachedLogits(p, c, ids, Array(16).fill(1));
  assert(maxAbsDiff(full, inc) < 1e-4);
  // reorder the batch mid-sequence (beam search): rows [2, 0, 0]
  let cache = createKVCache(c, 3);
  const first = ids2d(ids.map((r) => r.slice(0, 10)));
  const r1 = gptForwardCached(p, c, first, cache);
  cache = selectKVCacheRows(r1.cache, [2, 0, 0]);
  const rest = ids2d([2, 0, 0].map((i) => ids[i].slice(10)));
  const r2 = gptForwardCached(p, c, rest, cache);
  const reordered = ids2d([2, 0, 0].map((i) => ids[i]));
  const fullReordered = gptForward(p, c, reordered).logits;
  const tail = tf.slice(fullReordered, [0, 10, 0], [3, 6, -1]);
  assert(maxAbsDiff(tail, r2.logits) < 1e-4);
  assertThrows(() => selectKVCacheRows(r2.cache, [3]), Error, "row 3 is outside the batch [0, 3)");
  disposeKVCache(r2.cache);
  tf.dispose([input, full, inc, first, r1.logits, rest, r2.logits, reordered, fullReordered, tail]);
  disposeGPT(p);
});

Deno.test("dropout: keeps 1 − p of the values, scaled by 1/(1 − p); same seed, same mask", () => {
  tf.tidy(() => {
    const x = tf.randomNormal([100, 100], 0, 1, "float32", 1);
    const y = dropout(x, 0.3, 7);
    const kept = tf.notEqual(y, 0);
    const fraction = tf.mean(kept.toFloat()).dataSync()[0];
    assert(Math.abs(fraction - 0.7) < 0.02, `kept ${fraction}`);
    assertAllClose(tf.where(kept, y, 0), tf.where(kept, tf.div(x, 0.7), 0), { atol: 1e-6 });
    assertAllClose(dropout(x, 0.3, 7), y, { atol: 0 });
    assert(maxAbsDiff(dropout(x, 0.3, 8), y) > 0.1);
    assertAllClose(dropout(x, 0, 7), x, { atol: 0 });
  });
  const ones = tf.ones([2]);
  assertThrows(() => dropout(ones, 1, 0), Error, "rate must be in [0, 1), got 1");
  ones.dispose();
});

Deno.test("gptForward's dropout: identity without a seed; seeded and reproducible with one", () => {
  const c = gptConfig({ vocabSize: 12, layers: 2, heads: 2, dModel: 16, dropout: 0.3 });
  const p = initGPT(c, 6);
  const input = ids2d(randomIds(2, 8, 12, 3));
  tf.tidy(() => {
    const noDrop = gptForward(p, { ...c, dropout: 0 }, input).logits;
    assertAllClose(gptForward(p, c, input).logits, noDrop, { atol: 0 });
    assertAllClose(gptForward(p, { ...c, dropout: 0 }, input, { dropoutSeed: 1 }).logits, noDrop, {
      atol: 0,
    });
    const a = gptForward(p, c, input, { dropoutSeed: 1 }).logits;
    const b = gptForward(p, c, input, { dropoutSeed: 1 }).logits;
    const other = gptForward(p, c, input, { dropoutSeed: 2 }).logits;
    assertAllClose(a, b, { atol: 0 });
    assert(maxAbsDiff(a, noDrop) > 1e-3, "dropout changes the logits");
    assert(maxAbsDiff(a, other) > 1e-3, "another seed, other masks");
  });
  tf.dispose(input);
  disposeGPT(p);
});

/** Plain cross-entropy of next-token logits [B, T, V] against targets [B, T]. */
function crossEntropy(logits: tf.Tensor, targets: tf.Tensor, V: number): tf.Scalar {
  return tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(targets, V)), -1)));
}

Deno.test("a tiny GPT overfits a 40-character text to near-zero loss", () => {
  const text = "the quick brown fox jumps over the lazy ";
  assertEquals(text.length, 40);
  const chars = [...new Set(text)].sort();
  const ids = [...text].map((ch) => chars.indexOf(ch));
  const c = gptConfig({
    vocabSize: chars.length,
    layers: 2,
    heads: 2,
    dModel: 32,
    contextLength: 40,
  });
  const p = initGPT(c, 1);
  const inputs = ids2d([ids.slice(0, 39)]);
  const targets = ids2d([ids.slice(1)]);
  const vars = gptParameters(p);
  const opt = createOptimizer({ learningRate: 3e-3 });
  const lossFn = () => crossEntropy(gptForward(p, c, inputs).logits, targets, c.vocabSize);
  let loss = Infinity;
  const first = tf.tidy(() => lossFn().dataSync()[0]);
  for (let step = 0; step < 300 && loss > 0.02; step++) {
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(lossFn, vars);
      opt.applyGradients(vars, vars.map((v) => grads[v.name]));
      loss = value.dataSync()[0];
    });
  }
  console.log(`overfit: loss ${first.toFixed(3)} → ${loss.toFixed(4)}`);
  assert(first > 2.5, `starts near ln ${chars.length} = ${Math.log(chars.length).toFixed(2)}`);
  assert(loss < 0.05, `loss ${loss} after training`);
  // greedy continuation from the first character reproduces the text
  const out = [ids[0]];
  let cache = createKVCache(c);
  for (let t = 0; t < 39; t++) {
    const x = ids2d([[out[t]]]);
    const r = gptForwardCached(p, c, x, cache);
    out.push(tf.tidy(() => tf.argMax(r.logits.reshape([-1])).dataSync()[0]));
    tf.dispose([x, r.logits]);
    cache = r.cache;
  }
  disposeKVCache(cache);
  assertEquals(out.map((i) => chars[i]).join(""), text);
  opt.dispose();
  tf.dispose([inputs, targets]);
  disposeGPT(p);
});

Deno.test("no tensor growth across training steps (with dropout) and cached generation", async () => {
  const c = gptConfig({ vocabSize: 16, layers: 2, heads: 2, dModel: 16, dropout: 0.1 });
  const p = initGPT(c, 2);
  const vars = gptParameters(p);
  const opt = createOptimizer({ learningRate: 1e-3 });
  const inputs = ids2d(randomIds(2, 10, 16, 1));
  const targets = ids2d(randomIds(2, 10, 16, 2));
  let step = 0;
  await assertNoTensorGrowth(
    () =>
      tf.tidy(() => {
        const { grads } = tf.variableGrads(
          () =>
            crossEntropy(
              gptForward(p, c, inputs, { dropoutSeed: step++ }).logits,
              targets,
              c.vocabSize,
            ),
          vars,
        );
        opt.applyGradients(vars, vars.map((v) => grads[v.name]));
      }),
    4,
    "training step",
  );
  let cache = createKVCache(c);
  let next = 3;
  await assertNoTensorGrowth(
    () => {
      const x = ids2d([[next]]);
      const r = gptForwardCached(p, c, x, cache);
      next = tf.tidy(() => tf.argMax(r.logits.reshape([-1])).dataSync()[0]);
      tf.dispose([x, r.logits]);
      cache = r.cache;
    },
    6,
    "cached generation step",
  );
  disposeKVCache(cache);
  opt.dispose();
  tf.dispose([inputs, targets]);
  disposeGPT(p);
});

// ---------------------------------------------------------------------------------------
// Attention-only blocks and per-layer attention patterns
// ---------------------------------------------------------------------------------------

const causal = (_l: number, i: number, j: number) => j <= i;

Deno.test("attention-only GPT: parameter count by hand, no ffn tensors, forward = plain tfjs", () => {
  const c: AttentionOnlyConfig = {
    ...gptConfig({ vocabSize: 10, layers: 2, heads: 2, dModel: 8, contextLength: 6 }),
    feedForward: false,
  };
  // Wₑ 10·8 + Wₚ 6·8 + 2 blocks × (4·8² + 4·8 attention, 2·8 norm1) + final LN 2·8
  const byHand = 80 + 48 + 2 * (256 + 32 + 16) + 16;
  assertEquals(countGPTParameters(c), byHand);
  assertEquals(countGPTParameters(c), 752);
  const names = gptParameterShapes(c).map(([n]) => n);
  assert(names.every((n) => !n.includes("ffn") && !n.includes("norm2")), names.join());
  // the full model of the same sizes has 2·(2·8·32 + 32 + 8 + 16) = 1,136 more
  const full = gptConfig({ vocabSize: 10, layers: 2, heads: 2, dModel: 8, contextLength: 6 });
  assertEquals(countGPTParameters(full) - byHand, 2 * (2 * 8 * 32 + 32 + 8 + 16));
  const one: AttentionOnlyConfig = { ...c, layers: 1 };
  const p = initGPT(one, 3);
  assertEquals(gptParameters(p).reduce((n, v) => n + v.size, 0), countGPTParameters(one));
  assertEquals(p.blocks[0].ffn, undefined);
  const ids = randomIds(2, 6, 10, 4);
  tf.tidy(() => {
    const expected = referenceLogits(p, one, ids, causal);
    assertAllClose(gptForward(p, one, ids2d(ids)).logits, expected, { atol: 1e-5 });
  });
  // a checkpoint's named tensors rebuild the same model
  const named = Object.fromEntries(namedGPTParameters(p));
  const q = gptFromTensors(one, named);
  tf.tidy(() =>
    assertAllClose(gptForward(q, one, ids2d(ids)).logits, gptForward(p, one, ids2d(ids)).logits)
  );
  // a full model's tensors are not an attention-only model's, and params must match the config
  const fp = initGPT({ ...full, layers: 1 }, 3);
  assertThrows(
    () => gptFromTensors(one, Object.fromEntries(namedGPTParameters(fp))),
    Error,
    "ffn.W1 is not a parameter",
  );
  assertThrows(
    () => tf.tidy(() => gptForward(fp, one, ids2d(ids)).logits),
    Error,
    "feedForward is false but block 0 has a feed-forward network",
  );
  disposeGPT(p);
  disposeGPT(q);
  disposeGPT(fp);
});

Deno.test("attention patterns: all dense = the default; local layers = dense attention under the local mask", () => {
  const base = gptConfig({ vocabSize: 11, layers: 3, heads: 2, dModel: 8, contextLength: 12 });
  const p = initGPT(base, 7);
  const ids = randomIds(2, 11, 11, 8);
  const allDense = { ...base, attention: ["dense", "dense", "dense"] as const };
  const windows = [3, undefined, 5];
  const mixed: GPTConfig = {
    ...base,
    attention: windows.map((w) => w === undefined ? "dense" : { kind: "local", window: w }),
  };
  tf.tidy(() => {
    const input = ids2d(ids);
    const plain = gptForward(p, base, input).logits;
    assertEquals(maxAbsDiff(gptForward(p, allDense, input).logits, plain), 0);
    const expected = referenceLogits(
      p,
      mixed,
      ids,
      (l, i, j) => j <= i && (windows[l] === undefined || i - j < windows[l]!),
    );
    // the banded path (no trace) and the masked path (trace) both equal the reference
    assertAllClose(gptForward(p, mixed, input).logits, expected, { atol: 1e-5, msg: "banded" });
    const traced = gptForward(p, mixed, input, { trace: true });
    assertAllClose(traced.logits, expected, { atol: 1e-5, msg: "masked" });
    // the traced local layer's weights are zero outside the band: a local mask's heatmap
    const w = traced.attention![0].arraySync() as number[][][][];
    for (let i = 0; i < 11; i++) {
      for (let j = 0; j < 11; j++) {
        if (j > i || i - j >= 3) assertEquals(w[1][1][i][j], 0, `weight ${i}, ${j}`);
      }
    }
    // the local layer with window ≥ T is the dense layer
    const wide: GPTConfig = { ...base, attention: Array(3).fill({ kind: "local", window: 11 }) };
    assertAllClose(gptForward(p, wide, input).logits, plain, { atol: 1e-5 });
  });
  disposeGPT(p);
});

Deno.test("attention patterns: cached generation equals the re-forward in a mixed model, any chunking (property)", () => {
  const c: GPTConfig = {
    ...gptConfig({ vocabSize: 9, layers: 3, heads: 2, dModel: 8, contextLength: 12 }),
    attention: [{ kind: "local", window: 3 }, "dense", { kind: "local", window: 2 }],
  };
  const attnOnly: AttentionOnlyConfig = { ...c, feedForward: false };
  for (const config of [c, attnOnly]) {
    const p = initGPT(config, 4);
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 8 }), { minLength: 2, maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 12 }),
        (seq, chunks) => {
          tf.tidy(() => {
            const full = gptForward(p, config, ids2d([seq])).logits;
            let cache: KVCache = createKVCache(config);
            let at = 0;
            for (let n = 0; at < seq.length; n++) {
              const size = Math.min(chunks[n % chunks.length], seq.length - at);
              const r = gptForwardCached(p, config, ids2d([seq.slice(at, at + size)]), cache);
              cache = r.cache;
              const expected = tf.slice(full, [0, at, 0], [1, size, -1]);
              assertAllClose(r.logits, expected, { atol: 1e-5, msg: `tokens ${at}…` });
              at += size;
            }
            disposeKVCache(cache);
          });
        },
      ),
      { numRuns: 15 },
    );
    disposeGPT(p);
  }
});

Deno.test("attention patterns: gradients through banded and attention-only layers match finite differences", () => {
  const c: AttentionOnlyConfig = {
    ...gptConfig({ vocabSize: 5, layers: 2, heads: 1, dModel: 4, contextLength: 6 }),
    feedForward: false,
    attention: [{ kind: "local", window: 2 }, "dense"],
  };
  const p = initGPT(c, 6);
  const ids = ids2d([[1, 3, 0, 4, 2, 1]]);
  const b0 = p.blocks[0].selfAttention;
  const originals = [b0.Wq, b0.Wk, b0.Wv];
  // the logits as a function of block 0's W_q, W_k, W_v (the banded layer)
  const logits = (...ws: tf.Tensor[]) => {
    const swapped = {
      ...p,
      blocks: [
        { ...p.blocks[0], selfAttention: { ...b0, Wq: ws[0], Wk: ws[1], Wv: ws[2] } },
        p.blocks[1],
      ],
    } as unknown as GPTParams<BlockParams>;
    return gptForward(swapped, c, ids).logits;
  };
  for (const [i, e] of gradCheck(logits, originals, { h: 3e-3 }).entries()) {
    assert(e < 2e-3, `W${"qkv"[i]}: relative error ${e}`);
  }
  // and equal to the gradients of the masked path (traced: dense attention under the mask)
  tf.tidy(() => {
    const R = tf.randomNormal([1, 6, 5], 0, 1, "float32", 3);
    const loss = (trace: boolean) => () =>
      tf.sum(tf.mul(gptForward(p, c, ids, { trace }).logits, R)) as tf.Scalar;
    const banded = tf.variableGrads(loss(false)).grads;
    const masked = tf.variableGrads(loss(true)).grads;
    for (const name of Object.keys(masked)) {
      assertAllClose(banded[name], masked[name], { atol: 1e-5, rtol: 1e-4, msg: name });
    }
  });
  ids.dispose();
  disposeGPT(p);
});

Deno.test("attention patterns and feedForward: config errors are clear", () => {
  const base = gptConfig({ vocabSize: 5, layers: 2, heads: 1, dModel: 4 });
  const bad = (extra: Record<string, unknown>) => () =>
    checkGPTConfig({ ...base, ...extra } as GPTConfig);
  assertThrows(bad({ attention: ["dense"] }), Error, "one pattern per layer (2), got 1 patterns");
  assertThrows(bad({ attention: "dense" }), Error, "one pattern per layer");
  assertThrows(
    bad({ attention: ["dense", { kind: "local", window: 0 }] }),
    Error,
    "attention[1].window must be an integer ≥ 1, got 0",
  );
  assertThrows(
    bad({ attention: [{ kind: "local", window: 2.5 }, "dense"] }),
    Error,
    "attention[0].window must be an integer ≥ 1",
  );
  assertThrows(
    bad({ attention: [{ kind: "strided", stride: 2 }, "dense"] }),
    Error,
    `attention[0] must be "dense" or { kind: "local", window }`,
  );
  assertThrows(bad({ feedForward: "no" }), Error, "feedForward must be true or false");
});

Deno.test("no tensor growth: training steps and cached generation of a mixed attention-only model", async () => {
  const c: AttentionOnlyConfig = {
    ...gptConfig({ vocabSize: 7, layers: 2, heads: 2, dModel: 8, contextLength: 8, dropout: 0.1 }),
    feedForward: false,
    attention: [{ kind: "local", window: 2 }, "dense"],
  };
  const p = initGPT(c, 1);
  const opt = createOptimizer({ learningRate: 0.01 });
  const vars = gptParameters(p);
  const inputs = ids2d([[1, 2, 3, 4, 5, 6, 0, 1]]);
  let step = 0;
  await assertNoTensorGrowth(
    () => {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(
          () => tf.mean(gptForward(p, c, inputs, { dropoutSeed: step++ }).logits) as tf.Scalar,
          vars,
        );
        opt.applyGradients(vars, vars.map((v) => grads[v.name]));
      });
      let cache = createKVCache(c);
      for (let t = 0; t < 5; t++) {
        const id = ids2d([[t]]);
        const r = gptForwardCached(p, c, id, cache);
        tf.dispose([id, r.logits]);
        cache = r.cache;
      }
      disposeKVCache(cache);
    },
    3,
    "attention-only, mixed patterns",
  );
  opt.dispose();
  inputs.dispose();
  disposeGPT(p);
});
