/**
 * 文本表示: turning token ids into vectors.
 *
 * - token embedding: row uᵢ of the embedding matrix Wₑ (a one-hot vector times Wₑ);
 * - positional encoding: the sinusoidal table of "Attention Is All You Need", or a learned
 *   table Wₚ as in GPT-1;
 * - their sum, the model's input: h₀ = UWₑ + Wₚ.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor2D, Variable2D } from "./tf_types.ts";
import { assertRank, checkAllocation, tidyRecord } from "./tensor.ts";
import { matMul2d, recordingGradients } from "./kernels.ts";

function checkCount(value: unknown, name: string, fn: string, allowZero = false): number {
  if (
    typeof value !== "number" || !Number.isInteger(value) || value < 0 ||
    (!allowZero && value === 0)
  ) {
    throw new Error(
      `${fn}: ${name} must be a ${allowZero ? "non-negative" : "positive"} integer, got ${
        typeof value === "number" ? value : typeof value
      }`,
    );
  }
  return value;
}

/**
 * A fresh embedding matrix Wₑ ∈ ℝ^{V×d} (or a learned position table Wₚ ∈ ℝ^{n×d}), drawn
 * from N(0, σ²) with σ = 0.02 as in GPT-1/GPT-2, reproducible from `seed`. It is a
 * `Variable`: it is learned jointly with the rest of the model.
 */
export function initEmbedding(
  rows: number,
  dModel: number,
  seed: number,
  stddev = 0.02,
): Variable2D {
  checkCount(rows, "rows", "initEmbedding");
  checkCount(dModel, "dModel", "initEmbedding");
  // tidy frees the random starting tensor; the variable keeps its own copy
  return tf.tidy(() =>
    tf.variable(tf.randomNormal([rows, dModel], 0, stddev, "float32", seed))
  ) as Variable2D;
}

/**
 * Token embedding lookup: for ids u of shape [T] or [B, T], returns UWₑ of shape
 * [T, d] or [B, T, d], where U is the one-hot matrix of the ids. It is computed as that
 * one-hot product (not `tf.gather`) because the wasm backend has no gradient for gather;
 * the numbers are the same as picking row uᵢ of Wₑ. The product goes through `matMul2d`,
 * whose forward and backward stay on the wasm backend's fast 2-D matmul path. When no
 * gradient is recorded (generation) it picks the rows with `tf.gather` instead.
 *
 * Throws on ids of the wrong rank or dtype and on ids outside [0, V).
 */
export function embedTokens(We: Tensor2D, ids: Tensor): Tensor {
  assertRank(We, 2, "embedTokens: embedding matrix Wₑ");
  assertRank(ids, [1, 2], "embedTokens: token ids");
  if (ids.dtype !== "int32") {
    throw new Error(`embedTokens: token ids must be int32, got ${ids.dtype}`);
  }
  const [vocab, d] = We.shape;
  const values = ids.dataSync();
  for (const id of values) {
    if (id < 0 || id >= vocab) {
      throw new Error(`embedTokens: token id ${id} is outside the vocabulary [0, ${vocab})`);
    }
  }
  return tidyRecord(() => {
    const flat = ids.reshape([-1]);
    // without a gradient to record, picking the rows is the same numbers and skips [N, V]
    const rows = recordingGradients()
      ? matMul2d(tf.oneHot(flat, vocab).toFloat() as Tensor2D, We)
      : tf.gather(We, flat);
    return rows.reshape([...ids.shape, d]);
  });
}

/**
 * The angle of the sinusoidal encoding: pos / 10000^(2i/d) for column pair i.
 */
function angle(pos: number, i: number, dModel: number): number {
  return pos / Math.pow(10000, (2 * i) / dModel);
}

/**
 * The sinusoidal positional encoding of Vaswani et al. (2017), as a [length, d] tensor:
 *
 *   PE(pos, 2i)   = sin(pos / 10000^(2i/d))
 *   PE(pos, 2i+1) = cos(pos / 10000^(2i/d))
 *
 * Every value lies in [−1, 1], and PE(pos)·PE(pos+k) = Σᵢ cos(k / 10000^(2i/d)) depends
 * only on the offset k, which lets attention read relative positions. Nothing is learned.
 */
export function sinusoidalPositionalEncoding(length: number, dModel: number): Tensor2D {
  checkCount(length, "length", "sinusoidalPositionalEncoding", true);
  checkCount(dModel, "dModel", "sinusoidalPositionalEncoding");
  checkAllocation("sinusoidalPositionalEncoding", "the table", [length, dModel]);
  const values = new Float32Array(length * dModel);
  for (let pos = 0; pos < length; pos++) {
    for (let j = 0; j < dModel; j++) {
      const i = Math.floor(j / 2);
      const a = angle(pos, i, dModel);
      values[pos * dModel + j] = j % 2 === 0 ? Math.sin(a) : Math.cos(a);
    }
  }
  return tf.tensor2d(values, [length, dModel]);
}

/**
 * Learned positions (GPT-1): rows `start` … `start + length − 1` of the table
 * Wₚ ∈ ℝ^{n_ctx×d} (the first `length` rows by default; a KV cache's new tokens start at
 * the cache's length). Throws when the positions run past the table.
 */
export function learnedPositions(Wp: Tensor2D, length: number, start = 0): Tensor2D {
  assertRank(Wp, 2, "learnedPositions: position table Wₚ");
  checkCount(length, "length", "learnedPositions", true);
  checkCount(start, "start", "learnedPositions", true);
  if (start + length > Wp.shape[0]) {
    const what = start === 0
      ? `sequence length ${length}`
      : `positions ${start} … ${start + length - 1}`;
    throw new Error(`learnedPositions: ${what} exceeds the context length ${Wp.shape[0]}`);
  }
  return tf.slice(Wp, [start, 0], [length, Wp.shape[1]]);
}

/**
 * The model input h₀ = UWₑ + Wₚ: token embeddings of `ids` ([T] or [B, T]) plus the
 * position vectors `positions` ([≥T, d], sinusoidal or learned; the first T rows are
 * used, broadcast over the batch).
 */
export function inputEmbedding(
  We: Tensor2D,
  ids: Tensor,
  positions: Tensor2D,
): Tensor {
  assertRank(positions, 2, "inputEmbedding: positions");
  const T = ids.shape[ids.rank - 1];
  if (positions.shape[1] !== We.shape[1]) {
    throw new Error(
      `inputEmbedding: positions have width ${positions.shape[1]} but Wₑ has width ${We.shape[1]}`,
    );
  }
  if (positions.shape[0] < T) {
    throw new Error(
      `inputEmbedding: ${T} tokens but only ${positions.shape[0]} positions`,
    );
  }
  return tf.tidy(() =>
    tf.add(embedTokens(We, ids), tf.slice(positions, [0, 0], [T, positions.shape[1]]))
  );
}
