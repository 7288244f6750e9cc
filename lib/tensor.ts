/**
 * Tensor plumbing shared by every chapter: which backend runs the maths, seeded
 * randomness, shape checks with readable errors, and a guard against leaked tensors.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor } from "./tf_types.ts";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { createRequire } from "node:module";
import { type BlasInfo, loadNativeBlas } from "./blas.ts";
import { readEnv } from "./env.ts";

/** What {@link initBackend} chose, and why. */
export interface BackendInfo {
  /** The tfjs backend now active: `"wasm"` or `"cpu"`. */
  name: string;
  /** Whether the wasm backend runs its SIMD build (false on cpu). */
  simd: boolean;
  /** One line for a learner, e.g. `"wasm (SIMD, 1 thread)"`. */
  description: string;
  /** Why wasm was not used, when it was not. */
  fallbackReason?: string;
  /** The native library that runs the matrix products on wasm (blas.ts), when one loaded. */
  blas?: BlasInfo;
  /** Why the products run on XNNPACK instead, when OpenBLAS did not load. */
  blasReason?: string;
}

let chosen: BackendInfo | undefined;

/** The folder (as a file URL ending in `/`) holding the wasm backend's `.wasm` files. */
function wasmDistUrl(): string {
  const require = createRequire(import.meta.url);
  const entry = require.resolve("@tensorflow/tfjs-backend-wasm");
  return "file://" + entry.replace(/[^/]*$/, "");
}

/**
 * Chooses the fastest backend that loads: tfjs's WebAssembly backend (XNNPACK, with SIMD
 * when the runtime supports it), otherwise the pure-JavaScript `cpu` backend. On wasm, the
 * matrix products run on the system's OpenBLAS when it loads (blas.ts; `GPT_BLAS=off`
 * keeps them on XNNPACK). Safe to call many times; the first call decides. Set
 * `GPT_BACKEND=cpu` to force the cpu backend.
 */
export async function initBackend(): Promise<BackendInfo> {
  if (chosen) return chosen;
  let fallbackReason: string | undefined;
  const forced = readEnv("GPT_BACKEND");
  if (forced === "cpu") {
    fallbackReason = "GPT_BACKEND=cpu";
  } else {
    try {
      setWasmPaths(wasmDistUrl());
      if (await tf.setBackend("wasm")) {
        await tf.ready();
        const simd = tf.env().getBool("WASM_HAS_SIMD_SUPPORT");
        const blas = loadNativeBlas();
        const products = typeof blas === "string" ? `XNNPACK (${blas})` : blas.description;
        chosen = {
          name: "wasm",
          simd,
          description: `wasm (${
            simd ? "SIMD" : "no SIMD"
          }, 1 thread); matrix products on ${products}`,
          ...(typeof blas === "string" ? { blasReason: blas } : { blas }),
        };
        return chosen;
      }
      fallbackReason = "the wasm backend did not initialise";
    } catch (e) {
      fallbackReason = `wasm failed to load: ${(e as Error).message}`;
    }
  }
  await tf.setBackend("cpu");
  await tf.ready();
  chosen = {
    name: "cpu",
    simd: false,
    description: `cpu (pure JavaScript; ${fallbackReason})`,
    fallbackReason,
  };
  return chosen;
}

/**
 * A seeded pseudo-random source (mulberry32): the same seed gives the same stream of
 * numbers in [0, 1) on every machine. Use it for every random choice in a chapter.
 */
export function makeRng(seed: number): () => number {
  if (!Number.isInteger(seed)) {
    throw new Error(`makeRng: seed must be an integer, got ${seed}`);
  }
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A dimension in an expected shape: a size, or `null` for "any size". */
export type Dim = number | null;

/**
 * A shape as a learner reads it in an error message: `[2, 3, 4]`, with `*` for a free
 * dimension. Takes a tensor or a shape.
 */
export function shapeText(x: Tensor | readonly Dim[]): string {
  const shape = Array.isArray(x) ? x as readonly Dim[] : (x as Tensor).shape;
  return `[${shape.map((d) => (d === null ? "*" : String(d))).join(", ")}]`;
}

/**
 * `tf.tidy` for functions returning records that hold tensors (nested in objects and
 * arrays): tfjs keeps every tensor of the returned value, but its types only accept
 * records with index signatures. Nested inside another tidy while no gradient is recorded,
 * it runs `fn` in the enclosing scope, which frees the same intermediates when it ends.
 */
export function tidyRecord<T>(fn: () => T): T {
  // Inside an enclosing tidy and with no gradient being recorded (generation, evaluation),
  // the enclosing scope frees the intermediates all the same: a nested scope would only
  // add its fixed cost to every layer of every generated token.
  const engine = tf.engine();
  if (engine.state.activeScope != null && !engine.isTapeOn()) return fn();
  return tf.tidy(fn as () => tf.TensorContainer) as T;
}

/**
 * Runs `body`; an error it throws comes out with `fn: ` in front of its message (unless the
 * message already starts with it), so a learner sees which of the functions they called
 * refused, whichever inner function found the problem.
 */
export function named<T>(fn: string, body: () => T): T {
  try {
    return body();
  } catch (e) {
    if (!(e instanceof Error) || e.message.startsWith(`${fn}:`)) throw e;
    throw new Error(`${fn}: ${e.message}`, { cause: e });
  }
}

/** Throws unless a tensor of `shape` stays under 2²⁸ numbers (1 GiB of float32), naming it. */
export function checkAllocation(fn: string, what: string, shape: readonly number[]): void {
  const size = shape.reduce((a, b) => a * b, 1);
  if (size > 2 ** 28) {
    throw new Error(`${fn}: ${what} ${shapeText(shape)} would hold ${size} numbers (over 2²⁸)`);
  }
}

/**
 * Throws unless `ids` is a batch of token ids [B, T]: rank 2, int32, B ≥ 1 and T ≥ 1
 * (and T ≤ `maxLength` when given), with every id in [0, `vocabSize`) when given.
 * `fn` names the caller in the message.
 */
export function checkIds(
  ids: Tensor,
  fn: string,
  opts: { vocabSize?: number; maxLength?: number; lengthName?: string } = {},
): void {
  assertRank(ids, 2, `${fn}: ids`);
  if (ids.dtype !== "int32") throw new Error(`${fn}: ids must be int32, got ${ids.dtype}`);
  const [B, T] = ids.shape;
  if (B === 0 || T === 0) {
    throw new Error(`${fn}: ids ${shapeText(ids)} hold no tokens (an empty batch or sequence)`);
  }
  if (opts.maxLength !== undefined && T > opts.maxLength) {
    throw new Error(
      `${fn}: ${T} tokens exceed the ${opts.lengthName ?? "context length"} ${opts.maxLength}`,
    );
  }
  if (opts.vocabSize !== undefined) {
    const V = opts.vocabSize;
    for (const id of ids.dataSync()) {
      if (id < 0 || id >= V) {
        throw new Error(`${fn}: token id ${id} is outside the vocabulary [0, ${V})`);
      }
    }
  }
}

/**
 * Throws unless `x` has exactly the expected shape (`null` matches any size). The error
 * names the tensor, the expected shape and the actual one:
 * `"embedding ids: expected shape [*, 8], got [2, 3, 4]"`.
 */
export function assertShape(x: Tensor, expected: readonly Dim[], name = "tensor"): void {
  const ok = x.rank === expected.length &&
    expected.every((d, i) => d === null || d === x.shape[i]);
  if (!ok) {
    throw new Error(`${name}: expected shape ${shapeText(expected)}, got ${shapeText(x.shape)}`);
  }
}

/**
 * Throws unless every size `names` of a model config is a positive integer and d_model is
 * divisible by the number of heads h (each head gets d_model/h dimensions); `kind` names the
 * config in the message: `"GPTConfig: d_model 100 is not divisible by heads 3"`.
 */
export function assertModelSizes<K extends string>(
  kind: string,
  config: Readonly<Record<K | "dModel" | "heads", number>>,
  names: readonly K[],
): void {
  for (const name of names) {
    const v = config[name];
    if (!Number.isInteger(v) || v <= 0) {
      throw new Error(`${kind}: ${name} must be a positive integer, got ${v}`);
    }
  }
  if (config.dModel % config.heads !== 0) {
    throw new Error(`${kind}: d_model ${config.dModel} is not divisible by heads ${config.heads}`);
  }
}

/** Throws unless `x` has one of the given ranks, naming both. */
export function assertRank(x: Tensor, ranks: number | readonly number[], name = "tensor"): void {
  const allowed = typeof ranks === "number" ? [ranks] : ranks;
  if (!allowed.includes(x.rank)) {
    throw new Error(
      `${name}: expected rank ${allowed.join(" or ")}, got rank ${x.rank} (shape ${
        shapeText(x.shape)
      })`,
    );
  }
}

/**
 * Runs `step` `repeats` times and throws if the number of live tensors grows between
 * the first and the last repetition (the first run may allocate lasting state, such as an
 * optimiser's moments). Returns the tensor counts after each repetition.
 */
export async function assertNoTensorGrowth(
  step: () => unknown | Promise<unknown>,
  repeats = 3,
  name = "step",
): Promise<number[]> {
  const counts: number[] = [];
  for (let i = 0; i < repeats; i++) {
    await step();
    counts.push(tf.memory().numTensors);
  }
  if (counts[counts.length - 1] > counts[0]) {
    throw new Error(
      `${name} leaks tensors: live tensor count went ${counts.join(" → ")} over ${repeats} runs`,
    );
  }
  return counts;
}
