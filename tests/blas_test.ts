import * as tf from "@tensorflow/tfjs";
import fc from "fast-check";
import { assert, assertEquals, assertThrows } from "@std/assert";
import { assertAllClose } from "../testing/tensor_assert.ts";
import {
  cpuCoreType,
  nativeBlas,
  nativeGemm,
  setNativeBlasThreads,
  useNativeBlas,
} from "../lib/blas.ts";
import { columnSums } from "../lib/kernels.ts";
import { assertNoTensorGrowth, initBackend } from "../lib/tensor.ts";

const info = await initBackend();
/** Tests of the native products run where OpenBLAS loaded and are reported as ignored elsewhere. */
const ignore = info.blas === undefined;

const rand = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, "float32", seed);

Deno.test({
  name: "nativeGemm: a hand-worked product, each operand transposed or not",
  ignore,
  fn: () => {
    // A = [[1, 2, 3], [4, 5, 6]], B = [[1, 0], [0, 1], [2, 3]]: A·B = [[7, 11], [16, 23]]
    const a = tf.tensor2d([[1, 2, 3], [4, 5, 6]]), b = tf.tensor2d([[1, 0], [0, 1], [2, 3]]);
    const at = tf.transpose(a), bt = tf.transpose(b);
    const expected = [[7, 11], [16, 23]];
    for (
      const [x, y, ta, tb] of [[a, b, false, false], [at, b, true, false], [a, bt, false, true], [
        at,
        bt,
        true,
        true,
      ]] as const
    ) {
      const c = nativeGemm(x, y, ta, tb);
      assertEquals(c.shape, [2, 2]);
      assertAllClose(c, expected, { atol: 1e-6, msg: `transposeA ${ta}, transposeB ${tb}` });
      c.dispose();
    }
    // with a bias b = [10, 20] on every row: [[17, 31], [26, 43]]
    const bias = tf.tensor1d([10, 20]);
    const withBias = nativeGemm(a, b, false, false, bias);
    assertAllClose(withBias, [[17, 31], [26, 43]], { atol: 1e-6 });
    // an empty inner dimension leaves only the bias
    const onlyBias = tf.tidy(() =>
      nativeGemm(tf.zeros([2, 0]), tf.zeros([0, 2]), false, false, bias)
    );
    assertAllClose(onlyBias, [[10, 20], [10, 20]]);
    assertThrows(
      () => tf.tidy(() => nativeGemm(a, b, false, false, tf.zeros([3]))),
      Error,
      "bias [3] (float32) is not a float32 vector [2]",
    );
    tf.dispose([a, b, at, bt, bias, withBias, onlyBias]);
  },
});

Deno.test({
  name: "nativeGemm: equals tf.matMul for ranks 2, 3 and 4, any transposes (property over shapes)",
  ignore,
  fn: () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 9 }),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 0, max: 2 }),
        (G, M, K, N, ta, tb, leadingAxes) => {
          tf.tidy(() => {
            const lead = [G, 3].slice(0, leadingAxes);
            const a = rand([...lead, ...(ta ? [K, M] : [M, K])], M * 31 + K);
            const b = rand([...lead, ...(tb ? [N, K] : [K, N])], N * 17 + K);
            const bias = rand([N], N);
            const c = nativeGemm(a, b, ta, tb, bias);
            assertEquals(c.shape, [...lead, M, N]);
            assertAllClose(c, tf.add(tf.matMul(a, b, ta, tb), bias), {
              atol: 1e-5,
              rtol: 1e-5,
              msg: `leading [${lead}] M ${M} K ${K} N ${N} ta ${ta} tb ${tb}`,
            });
          });
        },
      ),
      { numRuns: 60 },
    );
  },
});

Deno.test({
  name: "nativeGemm: empty operands, and clear errors for misfits, dtypes and a switched-off path",
  ignore,
  fn: () => {
    tf.tidy(() => {
      assertAllClose(nativeGemm(tf.zeros([2, 0]), tf.zeros([0, 3])), [[0, 0, 0], [0, 0, 0]]);
      assertEquals(nativeGemm(tf.zeros([0, 4]), tf.zeros([4, 3])).shape, [0, 3]);
      assertThrows(
        () => nativeGemm(tf.zeros([2, 3]), tf.zeros([4, 5])),
        Error,
        "A [2, 3] and B [4, 5] do not fit",
      );
      assertThrows(
        () => nativeGemm(tf.zeros([2, 3, 4]), tf.zeros([3, 4, 5])),
        Error,
        "A [2, 3, 4] and B [3, 4, 5] do not fit",
      );
      assertThrows(
        () => nativeGemm(tf.zeros([2, 3], "int32"), tf.zeros([3, 2])),
        Error,
        "float32 only, got int32",
      );
      const before = useNativeBlas(false);
      try {
        assertEquals(nativeBlas(), undefined);
        assertThrows(() => nativeGemm(tf.zeros([1, 1]), tf.zeros([1, 1])), Error, "not loaded");
      } finally {
        useNativeBlas(before);
      }
    });
  },
});

Deno.test({
  name: "setNativeBlasThreads: two threads give the same product; bad counts are refused",
  ignore,
  fn: () => {
    tf.tidy(() => {
      const a = rand([64, 96], 4), b = rand([96, 80], 5);
      const one = nativeGemm(a, b);
      const before = setNativeBlasThreads(2);
      try {
        assertEquals(nativeBlas()?.threads, 2);
        assert(nativeBlas()?.description.includes("2 threads"));
        assertAllClose(nativeGemm(a, b), one, { atol: 1e-5 });
      } finally {
        setNativeBlasThreads(before);
      }
      assertEquals(nativeBlas()?.threads, before);
      assertThrows(() => setNativeBlasThreads(0), Error, "positive integer, got 0");
    });
  },
});

Deno.test("columnSums: the sum of the rows, on either path, against plain JS", () => {
  const x = rand([7, 5], 3) as tf.Tensor2D;
  const rows = x.arraySync();
  const expected = rows[0].map((_, j) => rows.reduce((s, r) => s + r[j], 0));
  for (const native of [true, false]) {
    const before = useNativeBlas(native);
    try {
      const s = columnSums(x);
      assertAllClose(s, expected, { atol: 1e-5, msg: `native ${native}` });
      s.dispose();
    } finally {
      useNativeBlas(before);
    }
  }
  x.dispose();
});

Deno.test({
  name: "nativeGemm: no tensor growth across repeated products",
  ignore,
  fn: async () => {
    const a = rand([3, 8, 5], 1), b = rand([3, 6, 5], 2);
    await assertNoTensorGrowth(() => {
      tf.tidy(() => nativeGemm(a, b, false, true).sum().dataSync());
    }, 4);
    tf.dispose([a, b]);
  },
});

Deno.test("initBackend says where the products run, and why not OpenBLAS when not", () => {
  if (info.blas) {
    assert(info.description.includes(`matrix products on ${info.blas.description}`));
    assert(info.blas.threads >= 1 && info.blas.core.length > 0, JSON.stringify(info.blas));
  } else if (info.name === "wasm") {
    assert(info.blasReason, "a wasm backend without OpenBLAS says why");
    assert(info.description.includes("matrix products on XNNPACK"));
  }
  const core = cpuCoreType();
  assert(core === undefined || core === "SkylakeX" || core === "Haswell", String(core));
});

/**
 * initBackend in a fresh process with the given environment and permissions (`-A` unless
 * `permissions` names others), from a script in a temporary folder.
 */
async function backendWith(
  env: Record<string, string>,
  permissions = ["-A"],
): Promise<Record<string, unknown>> {
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/backend.ts`;
    await Deno.writeTextFile(
      script,
      `import { initBackend } from ${
        JSON.stringify(new URL("../lib/tensor.ts", import.meta.url).href)
      };\nconsole.log(JSON.stringify(await initBackend()));\n`,
    );
    const root = new URL("..", import.meta.url);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--config", new URL("deno.json", root).pathname, ...permissions, script],
      env,
      cwd: root,
    }).output();
    assert(out.success, new TextDecoder().decode(out.stderr));
    return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name:
    "GPT_BLAS=off, a missing library, a bad thread count and no FFI permission keep the products on XNNPACK",
  ignore: info.name !== "wasm",
  fn: async () => {
    const off = await backendWith({ GPT_BLAS: "off" });
    assertEquals(off.blasReason, "GPT_BLAS=off");
    assertEquals(off.blas, undefined);
    assert(String(off.description).endsWith("matrix products on XNNPACK (GPT_BLAS=off)"));
    const missing = await backendWith({ GPT_BLAS: "/nonexistent/libopenblas.so.0" });
    assert(String(missing.blasReason).includes("/nonexistent/libopenblas.so.0"));
    const threads = await backendWith({ GPT_BLAS_THREADS: "0" });
    assert(String(threads.blasReason).includes("GPT_BLAS_THREADS must be a positive integer"));
    const noFfi = await backendWith({}, ["--allow-read", "--allow-env"]);
    assertEquals(noFfi.blasReason, "no FFI permission: run with --allow-ffi or -A");
  },
});
