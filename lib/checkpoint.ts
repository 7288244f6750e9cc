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
 * Every file is written to a temporary file `<target>.tmp-<pid>-<8 hex digits>` next to the
 * target, flushed to disk and renamed over the target, so a crash mid-save (even SIGKILL)
 * leaves the previous file whole; the stray temporary file it leaves is removed by the next
 * save of the same target. A read-only target is refused, not replaced. Loading checks
 * magic, version, length and checksum before reading a number, and reports a wrong shape,
 * a missing or a duplicate tensor by name.
 *
 * Safetensors (Hugging Face): 8 bytes little-endian header length, a JSON header
 * `{ name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": { … } }`, then the
 * raw little-endian data, which the tensors' ranges tile exactly. Hugging Face's GPT-2 keeps
 * its linear layers as `Conv1D` with weights laid out [in, out] — the layout of this
 * library's W in y = xW + b — and fuses W_q, W_k, W_v into one `c_attn` [d, 3d], split here.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor } from "./tf_types.ts";
import type { Activation } from "./kernels.ts";
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

/** Throws an error whose message names the function, the file and the problem. */
type Fail = (what: string) => never;

const failIn = (fn: string, path: string): Fail => (what) => {
  throw new Error(`${fn}: ${path}: ${what}`);
};

const pad8 = (n: number) => (8 - (n % 8)) % 8;

const isRecord = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x);

/** A size or an offset: a non-negative integer that a double holds exactly. */
const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;

const isShape = (x: unknown): x is number[] => Array.isArray(x) && x.every(isCount);

/** The number of values of a tensor of this shape, or NaN when it exceeds 2⁵³. */
function sizeOf(shape: number[]): number {
  const n = shape.reduce((a, b) => a * b, 1);
  return Number.isSafeInteger(n) ? n : NaN;
}

/**
 * A tensor's values as float32, read once; throws through `fail` naming the tensor when
 * it is disposed.
 */
function float32Values(t: Tensor, name: string, fail: Fail): Float32Array {
  if (t.isDisposed) fail(`tensor ${name} is disposed`);
  return t.dtype === "float32" ? t.dataSync() as Float32Array : Float32Array.from(t.dataSync());
}

const bytesOf = (v: Float32Array) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);

/** The file's bytes; a read error becomes a message naming the function and the file. */
async function readBytes(fn: string, path: string): Promise<Uint8Array<ArrayBuffer>> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    throw new Error(`${fn}: cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

// ---------------------------------------------------------------------------------------
// Atomic writes
// ---------------------------------------------------------------------------------------

/** The temporary files of the saves in flight in this process. */
const liveTemporaries = new Set<string>();

/** Whether `name` (a file name in the target's folder) is a temporary file of `base`. */
const isTemporaryOf = (name: string, base: string) =>
  name.startsWith(`${base}.tmp-`) && /^\d+-[0-9a-f]{8}$/.test(name.slice(base.length + 5));

/**
 * Removes the temporary files that earlier saves of `path` left behind (a process killed
 * mid-save leaves its `<path>.tmp-<pid>-<hex>`), except those of this process's saves still
 * in flight. Other files are left alone, those of other targets included. Best effort: a
 * file that cannot be listed or removed stays, and the save goes on.
 */
async function removeStaleTemporaries(path: string): Promise<void> {
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "." : path.slice(0, slash) || "/";
  const base = path.slice(slash + 1);
  try {
    for await (const entry of Deno.readDir(dir)) {
      const stale = path + entry.name.slice(base.length);
      if (isTemporaryOf(entry.name, base) && !liveTemporaries.has(stale)) {
        await Deno.remove(stale).catch(() => {});
      }
    }
  } catch {
    // an unreadable folder: the write below reports it, naming the path
  }
}

/**
 * Writes `bytes` to `path` atomically: into `<path>.tmp-<pid>-<hex>` in the same folder,
 * flushed to disk, then renamed over `path` (rename replaces a file in one step). An
 * existing `path` keeps its permission bits; one without write permission (mode & 0o200 =
 * 0) is refused rather than replaced. Stale temporary files of `path` are removed first. On
 * failure the temporary file is removed, `path` keeps its previous contents, and the error
 * names `fn` and `path`.
 */
async function writeFileAtomic(fn: string, path: string, bytes: Uint8Array): Promise<void> {
  let mode: number | null = null;
  try {
    mode = (await Deno.stat(path)).mode;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new Error(`${fn}: cannot write ${path}: ${(e as Error).message}`, { cause: e });
    }
  }
  if (mode !== null && (mode & 0o200) === 0) {
    throw new Error(
      `${fn}: ${path} is read-only (mode ${(mode & 0o777).toString(8)}); refusing to replace ` +
        "it — make it writable or save elsewhere",
    );
  }
  await removeStaleTemporaries(path);
  const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  liveTemporaries.add(tmp);
  try {
    const file = await Deno.open(tmp, { write: true, createNew: true });
    try {
      for (let done = 0; done < bytes.length;) done += await file.write(bytes.subarray(done));
      if (mode !== null) await Deno.chmod(tmp, mode & 0o7777);
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw new Error(
      `${fn}: cannot write ${path} (through the temporary file ${tmp}): ${(e as Error).message}`,
      { cause: e },
    );
  } finally {
    liveTemporaries.delete(tmp);
  }
}

// ---------------------------------------------------------------------------------------
// Checkpoints
// ---------------------------------------------------------------------------------------

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/**
 * Checks a checkpoint's tensor table against `dataBytes`: each entry an object with a
 * name seen once, dtype "float32", a shape of non-negative integers, and 4·size(shape)
 * bytes at a 4-aligned offset inside the data. Throws through `fail`, naming the tensor.
 */
function checkTensorTable(tensors: unknown, dataBytes: number, fail: Fail): TensorEntry[] {
  if (!Array.isArray(tensors)) fail("corrupt: the header's tensors is not a list");
  const seen = new Set<string>();
  for (const e of tensors as unknown[]) {
    if (!isRecord(e) || typeof e.name !== "string") {
      fail(`corrupt: a tensor entry without a name: ${JSON.stringify(e)}`);
    }
    const { name, dtype, shape, offset, bytes } = e as Record<string, unknown>;
    if (seen.has(name as string)) fail(`duplicate tensor name ${name}`);
    seen.add(name as string);
    if (dtype !== "float32") {
      fail(`tensor ${name} has dtype ${JSON.stringify(dtype)}, expected "float32"`);
    }
    if (!isShape(shape)) {
      fail(`tensor ${name} has shape ${JSON.stringify(shape)}, not a list of sizes`);
    }
    const wanted = 4 * sizeOf(shape as number[]);
    if (
      !isCount(offset) || offset % 4 !== 0 || bytes !== wanted || offset + wanted > dataBytes
    ) {
      fail(
        `tensor ${name} [${shape}] needs ${wanted} bytes at a multiple of 4 within the ` +
          `${dataBytes} data bytes; its entry says ${JSON.stringify(bytes)} at ${
            JSON.stringify(offset)
          }`,
      );
    }
  }
  return tensors as TensorEntry[];
}

/**
 * Saves a model to `path` in the checkpoint format above: config, step, `extra`, every
 * parameter under its {@link namedGPTParameters} name, `extraTensors` under `extra/…`, and
 * a SHA-256 checksum; atomically (temporary file + rename, see the module comment), so a
 * save killed at any moment leaves the previous checkpoint whole, and the next save of
 * `path` removes the temporary file the killed one left.
 *
 * Throws before writing, naming the tensor, when a parameter's shape does not match the
 * config, a tensor is disposed, or a tensor holds NaN or ±Infinity: a checkpoint saved by
 * this function only ever holds finite weights, so a training loop can call it "good".
 * Throws naming `path` when `path` is read-only (it is left as it is) or the write fails
 * (a full disk, a missing folder); `path` then keeps its previous contents.
 */
export async function saveCheckpoint(path: string, checkpoint: Checkpoint): Promise<void> {
  const { config, params, step, extra, extraTensors = {} } = checkpoint;
  const fail: Fail = failIn("saveCheckpoint", path);
  checkGPTConfig(config);
  const named = namedGPTParameters(params);
  const expected = new Map(gptParameterShapes(config));
  for (const [name, v] of named) {
    const shape = expected.get(name);
    if (!shape) fail(`tensor ${name} is not a parameter of ${config.name}`);
    if (shape.join() !== v.shape.join()) {
      fail(`tensor ${name} has shape [${v.shape}], the config expects [${shape}]`);
    }
  }
  if (named.length !== expected.size) {
    fail(`the params hold ${named.length} tensors, ${config.name} has ${expected.size}`);
  }
  const all: [string, Tensor][] = [
    ...named,
    ...Object.entries(extraTensors).map(([n, t]): [string, Tensor] => [`extra/${n}`, t]),
  ];
  const chunks: Uint8Array[] = [];
  const tensors: TensorEntry[] = [];
  let offset = 0;
  for (const [name, t] of all) {
    const values = float32Values(t, name, fail);
    const bad = values.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) {
      fail(
        `tensor ${name} holds ${values[bad]} (at flat index ${bad}); refusing to save ` +
          "non-finite weights",
      );
    }
    tensors.push({ name, dtype: "float32", shape: t.shape, offset, bytes: values.byteLength });
    chunks.push(bytesOf(values));
    offset += values.byteLength;
  }
  checkTensorTable(tensors, offset, fail); // what is written is what loadCheckpoint accepts
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
  await writeFileAtomic("saveCheckpoint", path, file);
}

/**
 * Loads a checkpoint written by {@link saveCheckpoint}. Throws a message naming the file
 * and the problem when it is not a checkpoint (magic), has another format version, is
 * truncated, fails its checksum (corrupt), or misses a tensor, holds one twice or holds
 * one of the wrong shape (named). No tensor outlives a failed load.
 */
export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  const file = await readBytes("loadCheckpoint", path);
  const fail: Fail = failIn("loadCheckpoint", path);
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
  if (!isRecord(header) || !isCount(header.dataBytes)) {
    fail("corrupt: the header is not an object with a byte count dataBytes");
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
  const entries = checkTensorTable(header.tensors, header.dataBytes, fail);
  const data = file.slice(dataStart); // a copy, aligned for Float32Array
  const created: [string, Tensor][] = [];
  let params: GPTParams;
  try {
    for (const e of entries) {
      const values = new Float32Array(data.buffer, e.offset, e.bytes / 4);
      created.push([e.name, tf.tensor(values, e.shape, "float32")]);
    }
    // Object.fromEntries makes own properties of every name ("__proto__" included)
    params = gptFromTensors(
      header.config,
      Object.fromEntries(created.filter(([n]) => !n.startsWith("extra/"))),
    );
  } catch (e) {
    tf.dispose(created.map(([, t]) => t));
    return fail((e as Error).message);
  }
  const extras = created.filter(([n]) => n.startsWith("extra/"));
  tf.dispose(created.filter(([n]) => !n.startsWith("extra/")).map(([, t]) => t));
  const out: Checkpoint = { config: header.config, params };
  if (header.step !== undefined) out.step = header.step;
  if (header.extra !== undefined) out.extra = header.extra;
  if (extras.length > 0) {
    out.extraTensors = Object.fromEntries(extras.map(([n, t]) => [n.slice(6), t]));
  }
  return out;
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

/** The key of a safetensors header that holds the metadata, not a tensor. */
const METADATA = "__metadata__";

/**
 * Writes `tensors` as a safetensors file: an 8-byte little-endian header length, the JSON
 * header `{ "__metadata__": metadata, name: { dtype: "F32", shape, data_offsets: [begin,
 * end] } }` (padded with spaces to a multiple of 8), then each tensor's float32 values,
 * little-endian, in the given order. Written atomically (temporary file + rename, as
 * {@link saveCheckpoint}). Throws naming the file and the tensor for a name the format
 * cannot hold — `"__metadata__"` (the metadata's key), the empty name, a name with a lone
 * UTF-16 surrogate (not UTF-8) — a disposed tensor or metadata that is not string → string;
 * and naming the file when the write fails.
 */
export async function writeSafetensors(
  path: string,
  tensors: Record<string, Tensor>,
  metadata: Record<string, string> = {},
): Promise<void> {
  const fail: Fail = failIn("writeSafetensors", path);
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== "string") {
      fail(`metadata must map strings to strings; ${JSON.stringify(key)} holds a ${typeof value}`);
    }
  }
  const entries: [string, unknown][] = [[METADATA, metadata]];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (name === METADATA) {
      fail(`a tensor cannot be named ${METADATA}: the format keeps that key for the metadata`);
    }
    if (name === "" || !name.isWellFormed()) {
      fail(`tensor name ${JSON.stringify(name)} is empty or not well-formed Unicode`);
    }
    const bytes = bytesOf(float32Values(t, name, fail));
    entries.push([name, {
      dtype: "F32",
      shape: t.shape,
      data_offsets: [offset, offset + bytes.length],
    }]);
    chunks.push(bytes);
    offset += bytes.length;
  }
  // Object.fromEntries makes own properties of every name ("__proto__" included)
  let json = JSON.stringify(Object.fromEntries(entries));
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
  await writeFileAtomic("writeSafetensors", path, file);
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

/** The safetensors dtypes read here, with their widths in bytes. */
const DTYPE_BYTES = new Map([["F32", 4], ["F16", 2], ["BF16", 2]]);

/** Decodes `count` little-endian values of a dtype of {@link DTYPE_BYTES} into float32. */
function decodeValues(bytes: Uint8Array, dtype: string, count: number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  if (dtype === "F32") {
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
  } else if (dtype === "F16") {
    for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
  } else {
    const scratch = new DataView(new ArrayBuffer(4));
    for (let i = 0; i < count; i++) {
      scratch.setUint32(0, view.getUint16(2 * i, true) << 16);
      out[i] = scratch.getFloat32(0);
    }
  }
  return out;
}

/**
 * The first key that appears twice in one object of `text` (valid JSON), and the
 * top-level key it lies under when it is nested: JSON.parse keeps the last value of a
 * repeated key without a word.
 */
function duplicateKey(text: string): { key: string; under?: string } | undefined {
  const open: (Set<string> | null)[] = []; // the keys of each open object; null for an array
  let expectKey = false, under: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "{") {
      open.push(new Set());
      expectKey = true;
    } else if (c === "[") open.push(null);
    else if (c === "}" || c === "]") open.pop();
    else if (c === ",") expectKey = open.at(-1) != null;
    else if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const keys = open.at(-1);
      if (expectKey && keys) {
        const key: string = JSON.parse(text.slice(i, j + 1));
        if (keys.has(key)) return open.length === 1 ? { key } : { key, under };
        keys.add(key);
        if (open.length === 1) under = key;
        expectKey = false;
      }
      i = j;
    }
  }
  return undefined;
}

/** The largest header {@link readSafetensors} accepts, in bytes. */
const MAX_HEADER_BYTES = 100_000_000;

interface SafetensorsEntry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Parses and checks a safetensors file's header as the format specifies: a sane length
 * inside the file, UTF-8 JSON text starting with "{" whose keys are unique in every
 * object, each tensor an object with a dtype of {@link DTYPE_BYTES}, a shape of
 * non-negative integers and `data_offsets` [begin, end] with begin ≤ end inside the data
 * section and end − begin = size(shape) · width(dtype), the ranges — sorted by offset —
 * tiling the data section exactly (no gap, no overlap, nothing after the last), and
 * `__metadata__` a string → string map. Throws through `fail`, naming the tensor.
 */
function parseSafetensorsHeader(file: Uint8Array, fail: Fail): {
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
  dataStart: number;
} {
  if (file.length < 8) fail(`truncated: ${file.length} bytes, shorter than the header length`);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    fail(`the header length ${n} is not sane (more than ${MAX_HEADER_BYTES} bytes)`);
  }
  const dataStart = 8 + Number(n);
  if (dataStart > file.length) {
    fail(`truncated: the header needs ${n} bytes, the file has ${file.length} in all`);
  }
  let text: string, header: unknown;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(file.subarray(8, dataStart));
  } catch {
    return fail("corrupt: the header is not UTF-8 text");
  }
  try {
    header = JSON.parse(text);
  } catch (e) {
    return fail(`corrupt: the header is not valid JSON (${(e as Error).message})`);
  }
  if (!text.startsWith("{") || !isRecord(header)) {
    fail(`the header must be a JSON object starting with "{", got ${text.slice(0, 40)}`);
  }
  const twice = duplicateKey(text);
  if (twice) {
    fail(
      twice.under === undefined
        ? `duplicate tensor name ${twice.key} in the header`
        : `duplicate key ${JSON.stringify(twice.key)} in the entry of ${twice.under}`,
    );
  }
  const dataBytes = file.length - dataStart;
  const metadata = Object.hasOwn(header, METADATA) ? header[METADATA] : {};
  if (!isRecord(metadata) || Object.values(metadata).some((v) => typeof v !== "string")) {
    fail(`${METADATA} must map strings to strings, got ${JSON.stringify(metadata)}`);
  }
  const entries: SafetensorsEntry[] = [];
  for (const [name, e] of Object.entries(header)) {
    if (name === METADATA) continue;
    if (!isRecord(e)) fail(`tensor ${name}: its entry is not an object: ${JSON.stringify(e)}`);
    const { dtype, shape, data_offsets: range } = e;
    const width = DTYPE_BYTES.get(dtype as string);
    if (typeof dtype !== "string" || width === undefined) {
      fail(
        `tensor ${name} has dtype ${JSON.stringify(dtype)}; only ${
          [...DTYPE_BYTES.keys()].join(", ")
        } are read`,
      );
    }
    if (!isShape(shape)) {
      fail(`tensor ${name} has shape ${JSON.stringify(shape)}, not a list of sizes`);
    }
    if (!Array.isArray(range) || range.length !== 2 || !range.every(isCount)) {
      fail(
        `tensor ${name} has data_offsets ${
          JSON.stringify(range)
        }, not a pair of non-negative integers`,
      );
    }
    const [begin, end] = range as [number, number];
    if (begin > end) fail(`tensor ${name} has data_offsets [${begin}, ${end}]: begin > end`);
    const bytes = sizeOf(shape as number[]) * width!;
    if (end - begin !== bytes) {
      fail(
        `tensor ${name} [${shape}] ${dtype} needs ${bytes} bytes, its range holds ${end - begin}`,
      );
    }
    if (end > dataBytes) {
      fail(
        `truncated: tensor ${name} ends at byte ${dataStart + end}, the file has ${file.length}`,
      );
    }
    entries.push({ name, dtype: dtype as string, shape: shape as number[], begin, end });
  }
  const sorted = entries.toSorted((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0, previous: SafetensorsEntry | undefined;
  for (const e of sorted) {
    if (e.begin < covered) {
      fail(
        `tensor ${e.name}'s data [${e.begin}, ${e.end}] overlaps tensor ${previous!.name}'s ` +
          `[${previous!.begin}, ${previous!.end}]`,
      );
    }
    if (e.begin > covered) {
      fail(`data bytes [${covered}, ${e.begin}) before tensor ${e.name} belong to no tensor`);
    }
    covered = e.end;
    previous = e;
  }
  if (covered !== dataBytes) {
    fail(`data bytes [${covered}, ${dataBytes}) after the last tensor belong to no tensor`);
  }
  return { entries, metadata: metadata as Record<string, string>, dataStart };
}

/**
 * Reads a safetensors file (F32, F16 or BF16 tensors, returned as float32). The header is
 * checked as the format specifies before any tensor is made (see the module comment: a
 * sane header length, a JSON object with unique names, each entry's dtype, shape and
 * `data_offsets` consistent, the ranges tiling the data section exactly, `__metadata__`
 * string → string). Throws naming the file and the tensor when any of this fails; no
 * tensor outlives a failed read.
 */
export async function readSafetensors(path: string): Promise<Safetensors> {
  const file = await readBytes("readSafetensors", path);
  const fail: Fail = failIn("readSafetensors", path);
  const { entries, metadata, dataStart } = parseSafetensorsHeader(file, fail);
  const tensors: [string, Tensor][] = [];
  try {
    for (const { name, dtype, shape, begin, end } of entries) {
      const values = decodeValues(
        file.subarray(dataStart + begin, dataStart + end),
        dtype,
        sizeOf(shape),
      );
      tensors.push([name, tf.tensor(values, shape, "float32")]);
    }
  } catch (e) {
    tf.dispose(tensors.map(([, t]) => t));
    return fail(`tensor ${entries[tensors.length].name}: ${(e as Error).message}`);
  }
  // Object.fromEntries makes own properties of every name ("__proto__" included)
  return { tensors: Object.fromEntries(tensors), metadata };
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

/**
 * Hugging Face's activation names (config.json's `activation_function` for GPT-2, `afn`
 * for openai-gpt) → this library's: "gelu_new" and "gelu_pytorch_tanh" are both the tanh
 * approximation, "gelu" is the exact erf form.
 */
const HF_ACTIVATIONS = new Map<string, Activation>([
  ["gelu_new", "gelu_tanh"],
  ["gelu_pytorch_tanh", "gelu_tanh"],
  ["gelu", "gelu"],
  ["relu", "relu"],
]);

/** The ε of this library's layer norms (lib/transformer.ts, lib/gpt.ts), GPT-2's too. */
const LAYER_NORM_EPSILON = 1e-5;

/**
 * The `config.json` beside `path` as an object, or undefined when there is none. Throws
 * naming config.json when it cannot be read, is not JSON or not a JSON object.
 */
async function readConfigJson(
  path: string,
): Promise<{ file: string; json: Record<string, unknown> } | undefined> {
  const file = `${path.includes("/") ? path.slice(0, path.lastIndexOf("/") + 1) : "./"}config.json`;
  let text: string, json: unknown;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`loadHuggingFaceGPT: cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`loadHuggingFaceGPT: ${file}: not valid JSON (${(e as Error).message})`);
  }
  if (!isRecord(json)) throw new Error(`loadHuggingFaceGPT: ${file}: not a JSON object`);
  return { file, json };
}

/**
 * What a Hugging Face config.json sets for this loader — `n_head` and the activation (the
 * family's default when absent) — after checking that its sizes, when given, match the
 * weights' (`sizes`, by config.json key), its `model_type` the family and its
 * `layer_norm_epsilon` this library's. Throws naming config.json and the key.
 */
function configJsonSettings(
  cfg: { file: string; json: Record<string, unknown> } | undefined,
  family: HuggingFaceOptions["family"],
  sizes: Record<string, number>,
): { heads?: number; activation: Activation } {
  const key = family === "gpt2" ? "activation_function" : "afn";
  const json = cfg?.json ?? {};
  const fail: Fail = failIn("loadHuggingFaceGPT", cfg?.file ?? "config.json");
  if (json.model_type !== undefined && json.model_type !== family) {
    fail(`model_type is ${JSON.stringify(json.model_type)}, the family is "${family}"`);
  }
  for (const [k, v] of Object.entries(sizes)) {
    if (json[k] != null && json[k] !== v) {
      fail(`${k} is ${JSON.stringify(json[k])}, the weights have ${v}`);
    }
  }
  const eps = json.layer_norm_epsilon;
  if (eps !== undefined && eps !== LAYER_NORM_EPSILON) {
    fail(`layer_norm_epsilon is ${JSON.stringify(eps)}; this library's layer norm uses 1e-5`);
  }
  const heads = json.n_head;
  if (heads !== undefined && !(isCount(heads) && heads > 0)) {
    fail(`n_head must be a positive integer, got ${JSON.stringify(heads)}`);
  }
  const name = json[key] ?? (family === "gpt2" ? "gelu_new" : "gelu");
  const activation = HF_ACTIVATIONS.get(name as string);
  if (typeof name !== "string" || activation === undefined) {
    fail(
      `${key} ${JSON.stringify(name)} is not one this library has (known: ${
        [...HF_ACTIVATIONS.keys()].join(", ")
      })`,
    );
  }
  return { heads: heads as number | undefined, activation: activation! };
}

/**
 * Loads Hugging Face GPT-2 (`family: "gpt2"`) or GPT-1 (`"openai-gpt"`) weights from a
 * local `.safetensors` file, with or without the `transformer.` name prefix, and the
 * settings of a `config.json` beside it (optional: without one, the family's defaults
 * apply). Mapping, for block i (Conv1D weights are [in, out], as this library's W):
 *
 *   wte / tokens_embed → Wₑ,  wpe / positions_embed → Wₚ
 *   h.i.attn.c_attn.weight [d, 3d] → [W_q | W_k | W_v] (columns split in three), bias alike
 *   h.i.attn.c_proj → W_o, b_o;  h.i.mlp.c_fc → W₁, b₁;  h.i.mlp.c_proj → W₂, b₂
 *   h.i.ln_1 → norm1 (before attention in GPT-2, after it in GPT-1), h.i.ln_2 → norm2
 *   ln_f → the final layer norm (GPT-2 only)
 *
 * The causal-mask buffers (`attn.bias`, `attn.masked_bias`) are skipped; `lm_head.weight`
 * is skipped when equal to Wₑ (tied) and becomes W_out = lm_headᵀ otherwise.
 *
 * The FFN's GELU is the one Hugging Face runs for the family, so the logits are Hugging
 * Face's up to float32 rounding (tests/fixtures/hf_gpt2: a PyTorch GPT-2's logits within
 * 1e-5 relative; the exact GELU instead is off by about 1e-4):
 * - `"gpt2"`: config.json's `activation_function`, default "gelu_new" — the tanh
 *   approximation ½x(1 + tanh(√(2/π)(x + 0.044715x³))) that GPT-2 was trained with —
 *   becomes this library's `"gelu_tanh"`.
 * - `"openai-gpt"`: config.json's `afn`, default "gelu", which Hugging Face's activation
 *   table maps to the exact erf GELU x·Φ(x), so `"gelu"`; the original GPT-1 TensorFlow
 *   code used the tanh form, which differs from it by at most ~4.7e-4 per activation.
 *
 * Either key maps "gelu_new" and "gelu_pytorch_tanh" → `"gelu_tanh"`, "gelu" → `"gelu"`,
 * "relu" → `"relu"`.
 *
 * Throws naming the file and the tensor when one is missing or has the wrong shape, and
 * naming config.json when it is malformed (not a JSON object, an unknown activation, an
 * `n_head` that is not a positive integer, a size that contradicts the weights, a
 * `model_type` of another family, a `layer_norm_epsilon` other than 1e-5). No tensor
 * outlives a failed load.
 */
export async function loadHuggingFaceGPT(
  path: string,
  opts: HuggingFaceOptions,
): Promise<{ config: GPTConfig; params: GPTParams }> {
  const { family } = opts;
  if (family !== "gpt2" && family !== "openai-gpt") {
    throw new Error(`loadHuggingFaceGPT: family must be "gpt2" or "openai-gpt", got ${family}`);
  }
  const configJson = await readConfigJson(path);
  const { tensors: raw } = await readSafetensors(path);
  try {
    return huggingFaceToGPT(path, family, raw, opts.heads, configJson);
  } finally {
    tf.dispose(Object.values(raw)); // gptFromTensors copied what it needs
  }
}

/** {@link loadHuggingFaceGPT}'s work once the file is read; `raw` stays the caller's. */
function huggingFaceToGPT(
  path: string,
  family: HuggingFaceOptions["family"],
  raw: Record<string, Tensor>,
  heads: number | undefined,
  configJson: { file: string; json: Record<string, unknown> } | undefined,
): { config: GPTConfig; params: GPTParams } {
  const hf: Record<string, Tensor> = Object.fromEntries(
    Object.entries(raw).map((
      [name, t],
    ) => [name.startsWith("transformer.") ? name.slice("transformer.".length) : name, t]),
  );
  const fail: Fail = failIn("loadHuggingFaceGPT", path);
  const gpt2 = family === "gpt2";
  const wteName = gpt2 ? "wte.weight" : "tokens_embed.weight";
  const wpeName = gpt2 ? "wpe.weight" : "positions_embed.weight";
  for (const name of [wteName, wpeName, "h.0.mlp.c_fc.weight"]) {
    if (!Object.hasOwn(hf, name)) fail(`missing tensor ${name}`);
    if (hf[name].rank !== 2) {
      fail(`tensor ${name} has shape [${hf[name].shape}], expected a matrix`);
    }
  }
  const [V, d] = hf[wteName].shape;
  const contextLength = hf[wpeName].shape[0];
  const dFF = hf["h.0.mlp.c_fc.weight"].shape[1]!;
  const layers = 1 + Math.max(
    ...Object.keys(hf).map((n) => /^h\.(\d+)\./.exec(n)).map((m) => (m ? Number(m[1]) : -1)),
  );
  const settings = configJsonSettings(configJson, family, {
    vocab_size: V,
    n_positions: contextLength,
    n_embd: d,
    n_layer: layers,
    ...(gpt2 ? { n_inner: dFF } : {}),
  });
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
    if (!Object.hasOwn(hf, name)) fail(`missing tensor ${name} (expected [${shape}])`);
    if (hf[name].shape.join() !== shape.join()) {
      fail(`tensor ${name} has shape [${hf[name].shape}], expected [${shape}]`);
    }
  }
  const lmHead = Object.hasOwn(hf, "lm_head.weight") ? hf["lm_head.weight"] : undefined;
  const tied = !lmHead ||
    (lmHead.shape.join() === hf[wteName].shape.join() &&
      tf.tidy(() => tf.all(tf.equal(lmHead, hf[wteName])).dataSync()[0]) === 1);
  const config: GPTConfig = {
    name: gpt2 ? "GPT-2 (Hugging Face)" : "GPT-1 (Hugging Face openai-gpt)",
    vocabSize: V,
    contextLength,
    layers,
    heads: heads ?? settings.heads ?? d / 64,
    dModel: d,
    dFF,
    activation: settings.activation,
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
    if (!tied) out.output = tf.transpose(lmHead!);
    return out;
  });
  try {
    return { config, params: gptFromTensors(config, ours) };
  } finally {
    tf.dispose(Object.values(ours)); // with `raw`'s tensors among them, the caller's to free
  }
}
