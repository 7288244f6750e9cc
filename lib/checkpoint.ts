/**
 * Weights in and out: this library's checkpoints, the safetensors format, and Hugging
 * Face's GPT-2 / openai-gpt weights.
 *
 * A checkpoint file (format version 1) is
 *
 *   offset 0   8 bytes   magic "GPTCKPT1"
 *          8   4 bytes   format version, uint32 little-endian
 *         12   4 bytes   N, the header's length in bytes, uint32 little-endian
 *         16  32 bytes   SHA-256 of everything after these 48 bytes (header, padding, data)
 *         48   N bytes   header, UTF-8 JSON: { config, step, extra, tensors: [{ name, dtype:
 *                        "float32", shape, offset, bytes }], dataBytes }
 *              padding   zero bytes up to a multiple of 8
 *              data      the tensors' float32 values, little-endian, at their offsets
 *
 * It is written to a temporary file next to the target, flushed to disk and renamed over
 * the target, so a crash mid-save leaves the previous checkpoint whole (a stray `.tmp-…`
 * file at worst). Loading checks magic, version, length and checksum before reading a
 * number, and reports a wrong shape or a missing tensor by name.
 *
 * Safetensors (Hugging Face): 8 bytes little-endian header length, a JSON header
 * `{ name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": { … } }`, then the
 * raw little-endian data. Hugging Face's GPT-2 keeps its linear layers as `Conv1D` with
 * weights laid out [in, out] — the layout of this library's W in y = xW + b — and fuses
 * W_q, W_k, W_v into one `c_attn` [d, 3d], split here.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor } from "./tf_types.ts";
import {
  checkGPTConfig,
  type GPTConfig,
  gptFromTensors,
  gptParameterShapes,
  type GPTParams,
  namedGPTParameters,
} from "./gpt.ts";

/** The 8 bytes every checkpoint starts with. */
export const CHECKPOINT_MAGIC = "GPTCKPT1";
/** The checkpoint format version this library writes and reads. */
export const CHECKPOINT_VERSION = 1;
const PRELUDE = 48;

/** What a checkpoint holds. */
export interface Checkpoint {
  /** The model's config. */
  config: GPTConfig;
  /** The model's parameters. */
  params: GPTParams;
  /** The training step it was saved at. */
  step?: number;
  /** Anything else JSON can hold (a tokenizer's vocabulary, losses so far). */
  extra?: Record<string, unknown>;
  /** More tensors to keep by name (an optimiser's moments), restored as plain tensors. */
  extraTensors?: Record<string, Tensor>;
}

interface TensorEntry {
  name: string;
  dtype: "float32";
  shape: number[];
  offset: number;
  bytes: number;
}

interface CheckpointHeader {
  config: GPTConfig;
  step?: number;
  extra?: Record<string, unknown>;
  tensors: TensorEntry[];
  dataBytes: number;
}

const pad8 = (n: number) => (8 - (n % 8)) % 8;

/** Copies a tensor's values as float32 little-endian bytes. */
function float32Bytes(t: Tensor): Uint8Array {
  const values = t.dtype === "float32"
    ? t.dataSync() as Float32Array
    : Float32Array.from(t.dataSync());
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/**
 * Writes `bytes` to `path` atomically: into a temporary file in the same folder, flushed
 * to disk, then renamed over `path` (rename replaces a file in one step). On failure the
 * temporary file is removed and `path` keeps its previous contents.
 */
async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  try {
    const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
    try {
      for (let done = 0; done < bytes.length;) done += await file.write(bytes.subarray(done));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/**
 * Saves a model to `path` in the checkpoint format above: config, step, `extra`, every
 * parameter under its {@link namedGPTParameters} name, `extraTensors` under `extra/…`, and
 * a SHA-256 checksum; atomically (temporary file + rename). Throws before writing when a
 * parameter's shape does not match the config, naming the tensor.
 */
export async function saveCheckpoint(path: string, checkpoint: Checkpoint): Promise<void> {
  const { config, params, step, extra, extraTensors = {} } = checkpoint;
  checkGPTConfig(config);
  const named = namedGPTParameters(params);
  const expected = new Map(gptParameterShapes(config));
  for (const [name, v] of named) {
    const shape = expected.get(name);
    if (!shape) {
      throw new Error(`saveCheckpoint: tensor ${name} is not a parameter of ${config.name}`);
    }
    if (shape.join() !== v.shape.join()) {
      throw new Error(
        `saveCheckpoint: tensor ${name} has shape [${v.shape}], the config expects [${shape}]`,
      );
    }
  }
  if (named.length !== expected.size) {
    throw new Error(
      `saveCheckpoint: the params hold ${named.length} tensors, ${config.name} has ${expected.size}`,
    );
  }
  const all: [string, Tensor][] = [
    ...named,
    ...Object.entries(extraTensors).map(([n, t]): [string, Tensor] => [`extra/${n}`, t]),
  ];
  const chunks: Uint8Array[] = [];
  const tensors: TensorEntry[] = [];
  let offset = 0;
  for (const [name, t] of all) {
    const bytes = float32Bytes(t);
    tensors.push({ name, dtype: "float32", shape: t.shape, offset, bytes: bytes.length });
    chunks.push(bytes);
    offset += bytes.length;
  }
  const header: CheckpointHeader = { config, step, extra, tensors, dataBytes: offset };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const dataStart = PRELUDE + headerBytes.length + pad8(headerBytes.length);
  const file = new Uint8Array(dataStart + offset);
  file.set(new TextEncoder().encode(CHECKPOINT_MAGIC), 0);
  const view = new DataView(file.buffer);
  view.setUint32(8, CHECKPOINT_VERSION, true);
  view.setUint32(12, headerBytes.length, true);
  file.set(headerBytes, PRELUDE);
  let at = dataStart;
  for (const c of chunks) {
    file.set(c, at);
    at += c.length;
  }
  file.set(await sha256(file.subarray(PRELUDE)), 16);
  await writeFileAtomic(path, file);
}

/**
 * Loads a checkpoint written by {@link saveCheckpoint}. Throws a message naming the file
 * and the problem when it is not a checkpoint (magic), has another format version, is
 * truncated, fails its checksum (corrupt), or misses a tensor or holds one of the wrong
 * shape (named).
 */
export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  const file = await Deno.readFile(path);
  const fail = (what: string): never => {
    throw new Error(`loadCheckpoint: ${path}: ${what}`);
  };
  if (file.length < PRELUDE) {
    fail(`truncated: ${file.length} bytes, shorter than the ${PRELUDE}-byte prelude`);
  }
  const magic = new TextDecoder().decode(file.subarray(0, 8));
  if (magic !== CHECKPOINT_MAGIC) {
    fail(`not a checkpoint: magic ${JSON.stringify(magic)}, expected "${CHECKPOINT_MAGIC}"`);
  }
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const version = view.getUint32(8, true);
  if (version !== CHECKPOINT_VERSION) {
    fail(`format version ${version}, this library reads version ${CHECKPOINT_VERSION}`);
  }
  const headerLength = view.getUint32(12, true);
  if (PRELUDE + headerLength > file.length) {
    fail(`truncated: the header needs ${headerLength} bytes, the file has ${file.length} in all`);
  }
  let header: CheckpointHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(file.subarray(PRELUDE, PRELUDE + headerLength)));
  } catch {
    return fail("corrupt: the header is not valid JSON");
  }
  const dataStart = PRELUDE + headerLength + pad8(headerLength);
  const size = dataStart + header.dataBytes;
  if (file.length < size) {
    fail(`truncated: ${file.length} bytes, the header describes ${size}`);
  }
  if (file.length > size) fail(`corrupt: ${file.length} bytes, the header describes ${size}`);
  const stored = hex(file.subarray(16, PRELUDE));
  const actual = hex(await sha256(file.subarray(PRELUDE)));
  if (stored !== actual) {
    fail(
      `corrupt: SHA-256 checksum mismatch (stored ${stored.slice(0, 12)}…, computed ${
        actual.slice(0, 12)
      }…)`,
    );
  }
  const data = file.slice(dataStart); // a copy, aligned for Float32Array
  const tensors: Record<string, Tensor> = {};
  const extraTensors: Record<string, Tensor> = {};
  try {
    for (const e of header.tensors) {
      const values = new Float32Array(data.buffer, e.offset, e.bytes / 4);
      const t = tf.tensor(values, e.shape, "float32");
      if (e.name.startsWith("extra/")) extraTensors[e.name.slice(6)] = t;
      else tensors[e.name] = t;
    }
    const params = gptFromTensors(header.config, tensors);
    const out: Checkpoint = { config: header.config, params };
    if (header.step !== undefined) out.step = header.step;
    if (header.extra !== undefined) out.extra = header.extra;
    if (Object.keys(extraTensors).length > 0) out.extraTensors = extraTensors;
    return out;
  } catch (e) {
    tf.dispose(Object.values(extraTensors));
    return fail((e as Error).message);
  } finally {
    tf.dispose(Object.values(tensors));
  }
}

// ---------------------------------------------------------------------------------------
// Safetensors
// ---------------------------------------------------------------------------------------

/** The contents of a safetensors file. */
export interface Safetensors {
  /** Every tensor by name, as float32. */
  tensors: Record<string, Tensor>;
  /** The `__metadata__` strings (empty when absent). */
  metadata: Record<string, string>;
}

/**
 * Writes `tensors` as a safetensors file: an 8-byte little-endian header length, the JSON
 * header `{ name: { dtype: "F32", shape, data_offsets: [begin, end] }, "__metadata__" }`
 * (padded with spaces to a multiple of 8), then each tensor's float32 values,
 * little-endian, in the given order. Written atomically (temporary file + rename).
 */
export async function writeSafetensors(
  path: string,
  tensors: Record<string, Tensor>,
  metadata: Record<string, string> = {},
): Promise<void> {
  const header: Record<string, unknown> = { __metadata__: metadata };
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const bytes = float32Bytes(t);
    header[name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += " ".repeat(pad8(8 + new TextEncoder().encode(json).length));
  const headerBytes = new TextEncoder().encode(json);
  const file = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(file.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  file.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const c of chunks) {
    file.set(c, at);
    at += c.length;
  }
  await writeFileAtomic(path, file);
}

/** IEEE half precision → number. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** Decodes `count` little-endian values of a safetensors dtype into float32. */
function decodeValues(bytes: Uint8Array, dtype: string, count: number, name: string): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  if (dtype === "F32") {
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
  } else if (dtype === "F16") {
    for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
  } else if (dtype === "BF16") {
    const scratch = new DataView(new ArrayBuffer(4));
    for (let i = 0; i < count; i++) {
      scratch.setUint32(0, view.getUint16(2 * i, true) << 16);
      out[i] = scratch.getFloat32(0);
    }
  } else {
    throw new Error(`tensor ${name} has dtype ${dtype}; only F32, F16 and BF16 are read`);
  }
  return out;
}

const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2 };

/**
 * Reads a safetensors file (F32, F16 or BF16 tensors, returned as float32). Throws naming
 * the file and the tensor when the header is malformed, a tensor's byte range does not
 * match its shape and dtype, or the file is shorter than the header says.
 */
export async function readSafetensors(path: string): Promise<Safetensors> {
  const file = await Deno.readFile(path);
  const fail = (what: string): never => {
    throw new Error(`readSafetensors: ${path}: ${what}`);
  };
  if (file.length < 8) fail(`truncated: ${file.length} bytes`);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (8 + n > file.length) {
    fail(`truncated: the header needs ${n} bytes, the file has ${file.length}`);
  }
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n)));
  } catch {
    return fail("corrupt: the header is not valid JSON");
  }
  const { __metadata__: metadata = {}, ...entries } = header as Record<string, unknown>;
  const tensors: Record<string, Tensor> = {};
  try {
    for (const [name, e] of Object.entries(entries as typeof header)) {
      const count = e.shape.reduce((a, b) => a * b, 1);
      const width = DTYPE_BYTES[e.dtype];
      if (!width) fail(`tensor ${name} has dtype ${e.dtype}; only F32, F16 and BF16 are read`);
      const [begin, end] = e.data_offsets;
      if (end - begin !== count * width) {
        fail(
          `tensor ${name} [${e.shape}] ${e.dtype} needs ${count * width} bytes, its range holds ${
            end - begin
          }`,
        );
      }
      if (8 + n + end > file.length) {
        fail(`truncated: tensor ${name} ends at byte ${8 + n + end}, the file has ${file.length}`);
      }
      const bytes = file.subarray(8 + n + begin, 8 + n + end);
      tensors[name] = tf.tensor(decodeValues(bytes, e.dtype, count, name), e.shape, "float32");
    }
  } catch (e) {
    tf.dispose(Object.values(tensors));
    throw e;
  }
  return { tensors, metadata: metadata as Record<string, string> };
}

// ---------------------------------------------------------------------------------------
// Hugging Face GPT-2 and openai-gpt
// ---------------------------------------------------------------------------------------

/** Options of {@link loadHuggingFaceGPT}. */
export interface HuggingFaceOptions {
  /** `"gpt2"` (pre-LN, `wte`/`wpe`/`ln_f`) or `"openai-gpt"` (post-LN, `tokens_embed`/`positions_embed`). */
  family: "gpt2" | "openai-gpt";
  /**
   * Attention heads (weights do not say): default `n_head` from a `config.json` next to
   * the file, else d_model/64 (every GPT-2 size and GPT-1 use 64-wide heads).
   */
  heads?: number;
}

/** Reads `n_head` from the Hugging Face `config.json` beside `path`, if there is one. */
async function headsFromConfigJson(path: string): Promise<number | undefined> {
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/") + 1) : "./";
  try {
    const cfg = JSON.parse(await Deno.readTextFile(`${dir}config.json`));
    return typeof cfg.n_head === "number" ? cfg.n_head : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Loads Hugging Face GPT-2 (`family: "gpt2"`) or GPT-1 (`"openai-gpt"`) weights from a
 * local `.safetensors` file, with or without the `transformer.` name prefix. Mapping, for
 * block i (Conv1D weights are [in, out], as this library's W):
 *
 *   wte / tokens_embed → Wₑ,  wpe / positions_embed → Wₚ
 *   h.i.attn.c_attn.weight [d, 3d] → [W_q | W_k | W_v] (columns split in three), bias alike
 *   h.i.attn.c_proj → W_o, b_o;  h.i.mlp.c_fc → W₁, b₁;  h.i.mlp.c_proj → W₂, b₂
 *   h.i.ln_1 → norm1 (before attention in GPT-2, after it in GPT-1), h.i.ln_2 → norm2
 *   ln_f → the final layer norm (GPT-2 only)
 *
 * The causal-mask buffers (`attn.bias`, `attn.masked_bias`) are skipped; `lm_head.weight`
 * is skipped when equal to Wₑ (tied) and becomes W_out = lm_headᵀ otherwise. GPT-2 on
 * Hugging Face uses the tanh GELU ("gelu_new"); this library's exact GELU makes its logits
 * differ slightly (the top tokens agree). Throws naming the tensor when one is missing or
 * has the wrong shape.
 */
export async function loadHuggingFaceGPT(
  path: string,
  opts: HuggingFaceOptions,
): Promise<{ config: GPTConfig; params: GPTParams }> {
  const { family } = opts;
  if (family !== "gpt2" && family !== "openai-gpt") {
    throw new Error(`loadHuggingFaceGPT: family must be "gpt2" or "openai-gpt", got ${family}`);
  }
  const { tensors: raw } = await readSafetensors(path);
  const hf: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(raw)) {
    hf[name.startsWith("transformer.") ? name.slice("transformer.".length) : name] = t;
  }
  const fail = (what: string): never => {
    tf.dispose(Object.values(raw));
    throw new Error(`loadHuggingFaceGPT: ${path}: ${what}`);
  };
  const gpt2 = family === "gpt2";
  const wteName = gpt2 ? "wte.weight" : "tokens_embed.weight";
  const wpeName = gpt2 ? "wpe.weight" : "positions_embed.weight";
  for (const name of [wteName, wpeName, "h.0.mlp.c_fc.weight"]) {
    if (!hf[name] || hf[name].rank !== 2) {
      fail(
        hf[name]
          ? `tensor ${name} has shape [${hf[name].shape}], expected a matrix`
          : `missing tensor ${name}`,
      );
    }
  }
  const [V, d] = hf[wteName].shape;
  const contextLength = hf[wpeName].shape[0];
  const dFF = hf["h.0.mlp.c_fc.weight"].shape[1]!;
  const layers = 1 + Math.max(
    ...Object.keys(hf).map((n) => /^h\.(\d+)\./.exec(n)).map((m) => (m ? Number(m[1]) : -1)),
  );
  const heads = opts.heads ?? (await headsFromConfigJson(path)) ?? d / 64;
  const expected: [string, number[]][] = [[wteName, [V, d]], [wpeName, [contextLength, d]]];
  for (let i = 0; i < layers; i++) {
    const h = `h.${i}.`;
    expected.push(
      [`${h}ln_1.weight`, [d]],
      [`${h}ln_1.bias`, [d]],
      [`${h}attn.c_attn.weight`, [d, 3 * d]],
      [`${h}attn.c_attn.bias`, [3 * d]],
      [`${h}attn.c_proj.weight`, [d, d]],
      [`${h}attn.c_proj.bias`, [d]],
      [`${h}ln_2.weight`, [d]],
      [`${h}ln_2.bias`, [d]],
      [`${h}mlp.c_fc.weight`, [d, dFF]],
      [`${h}mlp.c_fc.bias`, [dFF]],
      [`${h}mlp.c_proj.weight`, [dFF, d]],
      [`${h}mlp.c_proj.bias`, [d]],
    );
  }
  if (gpt2) expected.push(["ln_f.weight", [d]], ["ln_f.bias", [d]]);
  for (const [name, shape] of expected) {
    const t = hf[name];
    if (!t) fail(`missing tensor ${name} (expected [${shape}])`);
    if (t.shape.join() !== shape.join()) {
      fail(`tensor ${name} has shape [${t.shape}], expected [${shape}]`);
    }
  }
  const lmHead = hf["lm_head.weight"];
  const tied = !lmHead ||
    (lmHead.shape.join() === hf[wteName].shape.join() &&
      tf.tidy(() => tf.all(tf.equal(lmHead, hf[wteName])).dataSync()[0]) === 1);
  const config: GPTConfig = {
    name: gpt2 ? "GPT-2 (Hugging Face)" : "GPT-1 (Hugging Face openai-gpt)",
    vocabSize: V,
    contextLength,
    layers,
    heads,
    dModel: d,
    dFF,
    activation: "gelu",
    dropout: 0,
    norm: gpt2 ? "pre" : "post",
    tiedOutput: tied,
  };
  try {
    checkGPTConfig(config);
  } catch (e) {
    fail((e as Error).message);
  }
  const ours: Record<string, Tensor> = tf.tidy(() => {
    const out: Record<string, Tensor> = {
      tokenEmbedding: hf[wteName],
      positionEmbedding: hf[wpeName],
    };
    for (let i = 0; i < layers; i++) {
      const h = `h.${i}.`, b = `blocks.${i}.`;
      const [Wq, Wk, Wv] = tf.split(hf[`${h}attn.c_attn.weight`], 3, 1);
      const [bq, bk, bv] = tf.split(hf[`${h}attn.c_attn.bias`], 3, 0);
      Object.assign(out, {
        [`${b}attention.Wq`]: Wq,
        [`${b}attention.Wk`]: Wk,
        [`${b}attention.Wv`]: Wv,
        [`${b}attention.bq`]: bq,
        [`${b}attention.bk`]: bk,
        [`${b}attention.bv`]: bv,
        [`${b}attention.Wo`]: hf[`${h}attn.c_proj.weight`],
        [`${b}attention.bo`]: hf[`${h}attn.c_proj.bias`],
        [`${b}norm1.gamma`]: hf[`${h}ln_1.weight`],
        [`${b}norm1.beta`]: hf[`${h}ln_1.bias`],
        [`${b}ffn.W1`]: hf[`${h}mlp.c_fc.weight`],
        [`${b}ffn.b1`]: hf[`${h}mlp.c_fc.bias`],
        [`${b}ffn.W2`]: hf[`${h}mlp.c_proj.weight`],
        [`${b}ffn.b2`]: hf[`${h}mlp.c_proj.bias`],
        [`${b}norm2.gamma`]: hf[`${h}ln_2.weight`],
        [`${b}norm2.beta`]: hf[`${h}ln_2.bias`],
      });
    }
    if (gpt2) {
      Object.assign(out, {
        "finalNorm.gamma": hf["ln_f.weight"],
        "finalNorm.beta": hf["ln_f.bias"],
      });
    }
    if (!tied) out.output = tf.transpose(lmHead);
    return out;
  });
  try {
    const params = gptFromTensors(config, ours);
    return { config, params };
  } finally {
    tf.dispose([...Object.values(ours), ...Object.values(raw)]);
  }
}
