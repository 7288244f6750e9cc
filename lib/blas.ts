/**
 * Native matrix products: the system's OpenBLAS `cblas_sgemm`, called through Deno's FFI
 * directly on the wasm backend's memory (no copies), as a tfjs kernel named `NativeGemm`
 * ({@link nativeGemm} runs it).
 *
 * Why: WebAssembly has only 128-bit SIMD, so XNNPACK's products reach ~20–30 GFLOP/s on
 * one core, while OpenBLAS's AVX-512 kernels reach ~140 (bench/README.md). tfjs-node
 * would give tfjs the same native speed but cannot install here (it downloads a binary);
 * OpenBLAS comes from the system's packages (Debian: `libopenblas0`).
 *
 * {@link loadNativeBlas} is called by `initBackend`: when the library loads, the fast
 * kernels of kernels.ts (matMul2d, batchedMatMul, columnSums) and generation's products
 * (gpt.ts) run here, one thread by default; otherwise they stay on XNNPACK. `GPT_BLAS=off` keeps them on XNNPACK,
 * `GPT_BLAS=/path/to/libopenblas.so` picks the library, `GPT_BLAS_THREADS=n` sets
 * OpenBLAS's threads.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import type { Tensor } from "./tf_types.ts";
import { readEnv } from "./env.ts";

/** The name of the tfjs kernel (wasm backend) that runs a product with `cblas_sgemm`. */
const NATIVE_GEMM = "NativeGemm";

/** The OpenBLAS library {@link loadNativeBlas} loaded. */
export interface BlasInfo {
  /** The file that was loaded, e.g. `libopenblas.so.0`. */
  library: string;
  /** OpenBLAS's configuration string (version, build, kernel family). */
  config: string;
  /** The CPU kernel family OpenBLAS uses, e.g. `SkylakeX`. */
  core: string;
  /** Threads OpenBLAS may use. */
  threads: number;
  /**
   * One line for a learner, e.g. `"OpenBLAS 0.3.21 (SkylakeX kernels, 1 thread)"`, read from
   * the fields above (so it follows {@link setNativeBlasThreads}).
   */
  readonly description: string;
}

const SYMBOLS = {
  cblas_sgemm: {
    parameters: [
      "i32", // layout (101 = row-major)
      "i32", // transA (111 = no, 112 = yes)
      "i32", // transB
      "i32", // M
      "i32", // N
      "i32", // K
      "f32", // α
      "pointer", // A
      "i32", // lda
      "pointer", // B
      "i32", // ldb
      "f32", // β
      "pointer", // C
      "i32", // ldc
    ],
    result: "void",
  },
  openblas_set_num_threads: { parameters: ["i32"], result: "void" },
  openblas_get_config: { parameters: [], result: "pointer" },
  openblas_get_corename: { parameters: [], result: "pointer" },
} as const;

type BlasLibrary = Deno.DynamicLibrary<typeof SYMBOLS>;

let library: BlasLibrary | undefined;
let loaded: BlasInfo | undefined;
let failure: string | undefined;
let enabled = true;

/** Where Debian, Ubuntu and Homebrew put OpenBLAS; a bare name lets the loader search. */
const CANDIDATES = [
  "libopenblas.so.0",
  "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
  "/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0",
  "/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0",
  "/usr/lib/aarch64-linux-gnu/openblas-openmp/libopenblas.so.0",
  "/opt/homebrew/opt/openblas/lib/libopenblas.dylib",
  "/usr/local/opt/openblas/lib/libopenblas.dylib",
];

/**
 * The OpenBLAS kernel family this CPU supports, from /proc/cpuinfo's flags: `SkylakeX`
 * (AVX-512), `Haswell` (AVX2 + FMA), or `undefined` (not Linux, or neither). OpenBLAS
 * 0.3.21 does not recognise recent Xeons and falls back to its SSE3 kernels (~25 GFLOP/s
 * instead of ~140); setting `OPENBLAS_CORETYPE` to this family avoids that.
 */
export function cpuCoreType(): string | undefined {
  try {
    const flags = Deno.readTextFileSync("/proc/cpuinfo").match(/^flags\s*:(.*)$/m)?.[1] ?? "";
    const has = (f: string) => flags.split(/\s+/).includes(f);
    if (has("avx512f") && has("avx512bw") && has("avx512vl")) return "SkylakeX";
    if (has("avx2") && has("fma")) return "Haswell";
  } catch {
    // not Linux: leave OpenBLAS's own choice
  }
  return undefined;
}

function cString(p: Deno.PointerValue): string {
  return p ? Deno.UnsafePointerView.getCString(p) : "";
}

/** Opens the first candidate that loads, with OPENBLAS_CORETYPE set for this CPU. */
function openLibrary(candidates: readonly string[]): { lib: BlasLibrary; path: string } {
  const core = readEnv("OPENBLAS_CORETYPE") === undefined ? cpuCoreType() : undefined;
  // OpenBLAS reads OPENBLAS_CORETYPE once, when it loads; the variable is removed again
  // afterwards so that programs this process starts choose for themselves
  if (core) Deno.env.set("OPENBLAS_CORETYPE", core);
  const errors: string[] = [];
  try {
    for (const path of candidates) {
      try {
        return { lib: Deno.dlopen(path, SYMBOLS), path };
      } catch (e) {
        if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
          throw new Error("no FFI permission: run with --allow-ffi or -A");
        }
        errors.push(`${path}: ${(e as Error).message.split("\n")[0]}`);
      }
    }
  } finally {
    if (core) Deno.env.delete("OPENBLAS_CORETYPE");
  }
  throw new Error(`no OpenBLAS library loaded (${errors.join("; ")})`);
}

/**
 * Loads OpenBLAS and registers the `NativeGemm` kernel on the wasm backend (call it after the
 * wasm backend is active). Returns what was loaded, or a reason string when nothing was:
 * `GPT_BLAS=off`, no FFI permission, no library found, or a backend other than wasm. Safe
 * to call many times; the first call decides.
 */
export function loadNativeBlas(): BlasInfo | string {
  if (loaded) return loaded;
  if (failure) return failure;
  const setting = readEnv("GPT_BLAS");
  if (setting === "off") return failure = "GPT_BLAS=off";
  if (tf.getBackend() !== "wasm") return failure = "native products need the wasm backend";
  const threadSetting = Number(readEnv("GPT_BLAS_THREADS") ?? "1");
  if (!Number.isInteger(threadSetting) || threadSetting < 1) {
    return failure = `GPT_BLAS_THREADS must be a positive integer, got ${
      readEnv("GPT_BLAS_THREADS")
    }`;
  }
  try {
    const { lib, path } = openLibrary(setting ? [setting] : CANDIDATES);
    const config = cString(lib.symbols.openblas_get_config()).trim();
    library = lib;
    tf.registerKernel({ kernelName: NATIVE_GEMM, backendName: "wasm", kernelFunc: gemmKernel });
    loaded = {
      library: path,
      config,
      core: cString(lib.symbols.openblas_get_corename()),
      threads: 0,
      get description() {
        const version = this.config.match(/OpenBLAS\s+(\S+)/)?.[1];
        return `OpenBLAS${version ? " " + version : ""} (${this.core} kernels, ${this.threads} ${
          this.threads === 1 ? "thread" : "threads"
        })`;
      },
    };
    setNativeBlasThreads(threadSetting);
    return loaded;
  } catch (e) {
    return failure = (e as Error).message;
  }
}

/**
 * What {@link loadNativeBlas} loaded, or `undefined` when the products run on XNNPACK (not
 * loaded, switched off with {@link useNativeBlas}, or another backend active).
 */
export function nativeBlas(): BlasInfo | undefined {
  return loaded && enabled && tf.getBackend() === "wasm" ? loaded : undefined;
}

/**
 * Sets the threads OpenBLAS may use for each product (after {@link loadNativeBlas});
 * returns the previous count. Throws unless `n` is a positive integer or when OpenBLAS is
 * not loaded.
 */
export function setNativeBlasThreads(n: number): number {
  if (!loaded || !library) throw new Error("setNativeBlasThreads: OpenBLAS is not loaded");
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`setNativeBlasThreads: threads must be a positive integer, got ${n}`);
  }
  const before = loaded.threads;
  library.symbols.openblas_set_num_threads(n);
  loaded.threads = n;
  return before;
}

/**
 * Switches the native products on or off after loading (for comparing the two paths in
 * one process, as the tests and the benchmark do); returns the previous setting.
 */
export function useNativeBlas(on: boolean): boolean {
  const before = enabled;
  enabled = on;
  return before;
}

const ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112;

/**
 * The kernel: C[g] = op(A[g])·op(B[g]) (+ b on every row, when a `bias` input is given) for
 * A, B of rank 2 (one group) or more (a group per index of the leading axes), op(X) = Xᵀ
 * when the attribute `transposeA` / `transposeB` is set. Each group's matrices are
 * contiguous row-major blocks of the wasm heap, handed to `cblas_sgemm` as pointers with
 * leading dimensions; C is written straight into a fresh heap tensor (first filled with the
 * bias rows, then C = op(A)·op(B) + 1·C).
 */
function gemmKernel(
  { inputs, backend, attrs }: {
    inputs: tf.NamedTensorInfoMap;
    backend: unknown;
    attrs?: tf.NamedAttrMap;
  },
): tf.TensorInfo {
  const wasm = backend as BackendWasm;
  const { a, b, bias } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo; bias?: tf.TensorInfo };
  const transposeA = Boolean(attrs?.transposeA), transposeB = Boolean(attrs?.transposeB);
  const lead = a.shape.slice(0, -2);
  const groups = lead.reduce((x, y) => x * y, 1);
  const [aRows, aCols] = a.shape.slice(-2);
  const [bRows, bCols] = b.shape.slice(-2);
  const M = transposeA ? aCols : aRows, K = transposeA ? aRows : aCols;
  const N = transposeB ? bRows : bCols;
  const out = wasm.makeOutput([...lead, M, N], "float32");
  if (M * N * groups === 0) return out;
  const c = wasm.typedArrayFromHeap(out) as Float32Array;
  if (bias) {
    const row = wasm.typedArrayFromHeap(bias) as Float32Array;
    for (let i = 0; i < groups * M; i++) c.set(row, i * N);
  } else if (K === 0) {
    c.fill(0);
  }
  if (K === 0) return out;
  const pa = Deno.UnsafePointer.of(wasm.typedArrayFromHeap(a) as Float32Array);
  const pb = Deno.UnsafePointer.of(wasm.typedArrayFromHeap(b) as Float32Array);
  const pc = Deno.UnsafePointer.of(c);
  const sgemm = library!.symbols.cblas_sgemm;
  const ta = transposeA ? TRANS : NO_TRANS, tb = transposeB ? TRANS : NO_TRANS;
  for (let g = 0; g < groups; g++) {
    sgemm(
      ROW_MAJOR,
      ta,
      tb,
      M,
      N,
      K,
      1,
      Deno.UnsafePointer.offset(pa!, g * M * K * 4),
      aCols,
      Deno.UnsafePointer.offset(pb!, g * K * N * 4),
      bCols,
      bias ? 1 : 0,
      Deno.UnsafePointer.offset(pc!, g * M * N * 4),
      N,
    );
  }
  return out;
}

/**
 * C = op(A)·op(B) with `cblas_sgemm` (requires {@link nativeBlas}): A and B of rank 2
 * ([M, K]·[K, N] → [M, N]) or of equal higher rank with the same leading axes, one product
 * per index of those axes ([G, H, M, K]·[G, H, K, N] → [G, H, M, N]); op transposes the last
 * two axes when its flag is set. With a `bias` b [N], C = op(A)·op(B) + b on every row (a
 * linear layer in one call). float32 only. It has no gradient of its own: kernels.ts wraps
 * it in custom gradients made of more such products.
 */
export function nativeGemm(
  a: Tensor,
  b: Tensor,
  transposeA = false,
  transposeB = false,
  bias?: Tensor,
): Tensor {
  if (!nativeBlas()) throw new Error("nativeGemm: OpenBLAS is not loaded (see loadNativeBlas)");
  if (a.dtype !== "float32" || b.dtype !== "float32") {
    throw new Error(`nativeGemm: float32 only, got ${a.dtype} and ${b.dtype}`);
  }
  const r = a.rank;
  const kA = a.shape[transposeA ? r - 2 : r - 1], kB = b.shape[transposeB ? r - 1 : r - 2];
  const sameLead = a.shape.slice(0, -2).every((n, i) => n === b.shape[i]);
  if (r < 2 || b.rank !== r || !sameLead || kA !== kB) {
    throw new Error(
      `nativeGemm: A [${a.shape.join(", ")}]${transposeA ? "ᵀ" : ""} and B [${b.shape.join(", ")}]${
        transposeB ? "ᵀ" : ""
      } do not fit (equal ranks ≥ 2, equal leading axes)`,
    );
  }
  const N = b.shape[transposeB ? r - 2 : r - 1];
  if (bias && (bias.rank !== 1 || bias.shape[0] !== N || bias.dtype !== "float32")) {
    throw new Error(
      `nativeGemm: bias [${bias.shape.join(", ")}] (${bias.dtype}) is not a float32 vector [${N}]`,
    );
  }
  const inputs: tf.NamedTensorMap = bias ? { a, b, bias } : { a, b };
  return tf.engine().runKernel(NATIVE_GEMM, inputs, { transposeA, transposeB }) as Tensor;
}
