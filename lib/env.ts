/**
 * The settings a learner passes through the environment: `QUICK=1` for short runs, and the
 * backend's and OpenBLAS's switches (`GPT_BACKEND`, `GPT_BLAS`, `GPT_BLAS_THREADS`), read by
 * the modules they concern.
 *
 * @module
 */

/** Reads an environment variable, or `undefined` when unset or not permitted. */
export function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/**
 * Quick mode shrinks every training run so a chapter finishes in seconds (tests use it).
 * On when the environment variable `QUICK` is `1` or `true`.
 */
export function isQuick(): boolean {
  const v = readEnv("QUICK");
  return v === "1" || v === "true";
}
