import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertGreater, assertLessOrEqual, assertRejects } from "@std/assert";
import { assertAllClose } from "../testing/tensor_assert.ts";
import {
  CHECKPOINT_MAGIC,
  loadCheckpoint,
  loadHuggingFaceGPT,
  readSafetensors,
  saveCheckpoint,
  writeSafetensors,
} from "../lib/checkpoint.ts";
import {
  disposeGPT,
  type GPTConfig,
  gptConfig,
  gptForward,
  type GPTParams,
  initGPT,
} from "../lib/gpt.ts";
import { initBackend } from "../lib/tensor.ts";

await initBackend();

const IDS = [[1, 5, 2, 7, 3, 0], [4, 4, 6, 1, 2, 8]];

/** The model's logits for the fixed token ids `IDS`. */
function logitsOf(p: GPTParams, c: GPTConfig): tf.Tensor {
  return tf.tidy(() => gptForward(p, c, tf.tensor2d(IDS, undefined, "int32")).logits);
}

const small = gptConfig({ vocabSize: 11, layers: 2, heads: 2, dModel: 8, contextLength: 8 });

/** Runs `fn` with a fresh temporary folder, removed afterwards whatever happens. */
async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "gpt_checkpoint_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs `fn` and asserts that it leaves as many tensors as it found. */
async function assertNoLeak(what: string, fn: () => Promise<void>): Promise<void> {
  const before = tf.memory().numTensors;
  await fn();
  assertEquals(tf.memory().numTensors, before, `${what} leaked tensors`);
}

/** The temporary files (`….tmp-…`) in `dir`, sorted. */
const temporaries = (dir: string) =>
  [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.includes(".tmp-")).sort();

Deno.test("checkpoint round trip: same logits, config, step, extra and extra tensors", async () => {
  await withTempDir(async (dir) => {
    for (
      const c of [
        small,
        { ...small, norm: "post" as const, tiedOutput: false, name: "post untied" },
      ]
    ) {
      const p = initGPT(c, 3);
      const m = tf.randomNormal([3, 2], 0, 1, "float32", 2);
      const proto = tf.ones([2]);
      const path = `${dir}/round_${c.norm}.ckpt`;
      try {
        await saveCheckpoint(path, {
          config: c,
          params: p,
          step: 42,
          extra: { chars: "abc", losses: [3.1, 2.5] },
          // "__proto__" as an own key: it must come back as a tensor, not as a prototype
          extraTensors: Object.fromEntries([["adam.m.0", m], ["__proto__", proto]]),
        });
        const back = await loadCheckpoint(path);
        assertEquals(back.config, c);
        assertEquals(back.step, 42);
        assertEquals(back.extra, { chars: "abc", losses: [3.1, 2.5] });
        assertEquals(Object.keys(back.extraTensors!).sort(), ["__proto__", "adam.m.0"]);
        assertAllClose(back.extraTensors!["adam.m.0"], m, { atol: 0 });
        assertAllClose(back.extraTensors!["__proto__"], proto, { atol: 0 });
        const before = logitsOf(p, c), after = logitsOf(back.params, back.config);
        assertAllClose(after, before, { atol: 0, rtol: 0 });
        tf.dispose([before, after, ...Object.values(back.extraTensors!)]);
        disposeGPT(back.params);
      } finally {
        tf.dispose([m, proto]);
        disposeGPT(p);
      }
    }
  });
});

async function savedBytes(dir: string, name: string): Promise<{ path: string; bytes: Uint8Array }> {
  const p = initGPT(small, 1);
  const path = `${dir}/${name}.ckpt`;
  try {
    await saveCheckpoint(path, { config: small, params: p, step: 1 });
  } finally {
    disposeGPT(p);
  }
  return { path, bytes: await Deno.readFile(path) };
}

Deno.test("a corrupt byte (data or header) fails the checksum, naming the file", async () => {
  await withTempDir(async (dir) => {
    const { path, bytes } = await savedBytes(dir, "corrupt");
    for (const at of [bytes.length - 3, 60]) {
      const bad = bytes.slice();
      bad[at] ^= 0x40;
      await Deno.writeFile(path, bad);
      await assertRejects(() => loadCheckpoint(path), Error, "corrupt");
      await assertRejects(() => loadCheckpoint(path), Error, path);
    }
    const flipped = bytes.slice();
    flipped[bytes.length - 3] ^= 0x40;
    await Deno.writeFile(path, flipped);
    await assertRejects(() => loadCheckpoint(path), Error, "SHA-256 checksum mismatch");
  });
});

Deno.test("a truncated file, a wrong magic or version are rejected clearly", async () => {
  await withTempDir(async (dir) => {
    const { path, bytes } = await savedBytes(dir, "truncated");
    for (const keep of [bytes.length - 1, bytes.length / 2, 100, 20]) {
      await Deno.writeFile(path, bytes.slice(0, Math.floor(keep)));
      await assertRejects(() => loadCheckpoint(path), Error, "truncated");
    }
    const magic = bytes.slice();
    magic.set(new TextEncoder().encode("PK\x03\x04"), 0);
    await Deno.writeFile(path, magic);
    await assertRejects(
      () => loadCheckpoint(path),
      Error,
      `not a checkpoint: magic "PK\\u0003\\u0004KPT1", expected "${CHECKPOINT_MAGIC}"`,
    );
    const version = bytes.slice();
    new DataView(version.buffer).setUint32(8, 2, true);
    await Deno.writeFile(path, version);
    await assertRejects(
      () => loadCheckpoint(path),
      Error,
      "format version 2, this library reads version 1",
    );
    await assertRejects(
      () => loadCheckpoint(`${dir}/absent.ckpt`),
      Error,
      `loadCheckpoint: cannot read ${dir}/absent.ckpt`,
    );
  });
});

interface HeaderForTest {
  config: GPTConfig;
  tensors: { name: string; offset: number; bytes: number }[];
}

/** Rewrites a checkpoint's JSON header with `edit` and a fresh, valid checksum. */
async function editHeader(
  path: string,
  bytes: Uint8Array,
  edit: (h: HeaderForTest) => void,
): Promise<void> {
  const view = new DataView(bytes.buffer);
  const n = view.getUint32(12, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(48, 48 + n)));
  edit(header);
  const data = bytes.subarray(48 + n + ((8 - (n % 8)) % 8));
  const json = new TextEncoder().encode(JSON.stringify(header));
  const pad = (8 - (json.length % 8)) % 8;
  const out = new Uint8Array(48 + json.length + pad + data.length);
  out.set(bytes.subarray(0, 12));
  new DataView(out.buffer).setUint32(12, json.length, true);
  out.set(json, 48);
  out.set(data, 48 + json.length + pad);
  out.set(new Uint8Array(await crypto.subtle.digest("SHA-256", out.subarray(48))), 16);
  await Deno.writeFile(path, out);
}

Deno.test("a wrong shape or a missing tensor is reported by name", async () => {
  await withTempDir(async (dir) => {
    const { path, bytes } = await savedBytes(dir, "names");
    await editHeader(path, bytes, (h) => {
      h.config.contextLength = 9;
    });
    await assertRejects(
      () => loadCheckpoint(path),
      Error,
      "tensor positionEmbedding has shape [8,8], expected [9,8]",
    );
    await editHeader(path, bytes, (h) => {
      h.tensors = h.tensors.filter((t) => t.name !== "blocks.1.ffn.b2");
    });
    await assertRejects(() => loadCheckpoint(path), Error, "missing tensor blocks.1.ffn.b2");
    await editHeader(path, bytes, (h) => {
      h.config.layers = 1;
    });
    await assertRejects(() => loadCheckpoint(path), Error, "tensor blocks.1.attention.Wq is not");
    await editHeader(path, bytes, (h) => {
      h.tensors[1].offset = 2;
    });
    await assertRejects(
      () => loadCheckpoint(path),
      Error,
      "tensor positionEmbedding [8,8] needs 256 bytes at a multiple of 4",
    );
    // and saving refuses params that do not fit the config
    const p = initGPT(small, 1);
    try {
      await assertRejects(
        () => saveCheckpoint(`${dir}/never.ckpt`, { config: { ...small, dModel: 4 }, params: p }),
        Error,
        "tensor tokenEmbedding has shape [11,8], the config expects [11,4]",
      );
    } finally {
      disposeGPT(p);
    }
  });
});

Deno.test("a checkpoint holding a tensor name twice is refused, leaking nothing", async () => {
  await withTempDir(async (dir) => {
    const p = initGPT(small, 4);
    const m = tf.ones([2, 2]);
    const path = `${dir}/twice.ckpt`;
    try {
      await saveCheckpoint(path, { config: small, params: p, extraTensors: { m } });
    } finally {
      tf.dispose(m);
      disposeGPT(p);
    }
    const bytes = await Deno.readFile(path);
    for (const name of ["blocks.0.ffn.W1", "extra/m"]) {
      await editHeader(path, bytes, (h) => {
        h.tensors.push({ ...h.tensors.find((t) => t.name === name)! });
      });
      await assertNoLeak(`loading a checkpoint with ${name} twice`, async () => {
        await assertRejects(
          () => loadCheckpoint(path),
          Error,
          `loadCheckpoint: ${path}: duplicate tensor name ${name}`,
        );
      });
    }
  });
});

Deno.test("a save that fails or is killed mid-write leaves the previous checkpoint loadable", async () => {
  await withTempDir(async (dir) => {
    const big = gptConfig({ vocabSize: 50, layers: 4, heads: 4, dModel: 128, contextLength: 64 });
    const path = `${dir}/crash.ckpt`;
    const pA = initGPT(big, 1);
    const logitsA = logitsOf(pA, big);
    try {
      await saveCheckpoint(path, { config: big, params: pA, step: 1 });
      // 1. a save that throws (a disposed tensor) leaves the file as it was, and no temp file
      const broken = initGPT(big, 2);
      broken.blocks[3].ffn.W2.dispose();
      await assertRejects(
        () => saveCheckpoint(path, { config: big, params: broken, step: 2 }),
        Error,
        "tensor blocks.3.ffn.W2 is disposed",
      );
      disposeGPT(broken);
      const still = await loadCheckpoint(path);
      assertEquals(still.step, 1);
      disposeGPT(still.params);
      assertEquals(temporaries(dir), []);
      // 2. a process killed while saving, again and again, at varied moments
      const script = `${dir}/saver.ts`;
      const lib = new URL("../lib/", import.meta.url).href;
      await Deno.writeTextFile(
        script,
        `import { initBackend } from "${lib}tensor.ts";
import { gptConfig, initGPT } from "${lib}gpt.ts";
import { saveCheckpoint } from "${lib}checkpoint.ts";
await initBackend();
const c = gptConfig(${JSON.stringify(big)});
const p = initGPT(c, 7);
console.log("ready");
for (let step = 100; ; step++) await saveCheckpoint(${
          JSON.stringify(path)
        }, { config: c, params: p, step });
`,
      );
      const config = new URL("../deno.json", import.meta.url).pathname;
      const steps = new Set<number>();
      for (const delay of [5, 40, 120]) {
        const child = new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", "--config", config, script],
          stdout: "piped",
          stderr: "null",
        }).spawn();
        const reader = child.stdout.getReader();
        let seen = "";
        while (!seen.includes("ready")) {
          const { value, done } = await reader.read();
          if (done) throw new Error("the saver exited early");
          seen += new TextDecoder().decode(value);
        }
        await new Promise((r) => setTimeout(r, delay));
        child.kill("SIGKILL");
        await child.status;
        reader.releaseLock();
        await child.stdout.cancel();
        const back = await loadCheckpoint(path); // never half a file
        steps.add(back.step!);
        const logits = logitsOf(back.params, big);
        if (back.step === 1) assertAllClose(logits, logitsA, { atol: 0 });
        tf.dispose(logits);
        disposeGPT(back.params);
      }
      console.log(`steps found after the kills: ${[...steps].join(", ")}`);
      console.log(`temporary files the kills left: ${temporaries(dir).length}`);
      // 3. the next save of the same target removes what the killed saves left
      await saveCheckpoint(path, { config: big, params: pA, step: 3 });
      assertEquals(temporaries(dir), []);
    } finally {
      tf.dispose(logitsA);
      disposeGPT(pA);
    }
  });
});

Deno.test("a save removes its own target's stale temporary files, not others', nor live ones", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/model.ckpt`;
    const stale = [`model.ckpt.tmp-4194304-0badc0de`, `model.ckpt.tmp-${Deno.pid}-12345678`];
    const kept = [
      "other.ckpt.tmp-4194304-0badc0de", // another target's
      "model.ckpt.tmp-notes", // not a name saveCheckpoint gives
      "model.ckpt.tmp-4194304-0badc0de.bak",
      "xmodel.ckpt.tmp-4194304-0badc0de",
    ];
    for (const name of [...stale, ...kept]) await Deno.writeTextFile(`${dir}/${name}`, "junk");
    const p = initGPT(small, 5);
    try {
      await saveCheckpoint(path, { config: small, params: p, step: 1 });
      assertEquals(temporaries(dir), kept.sort());
      // A save of the same target that starts while another is writing leaves the other's
      // temporary file alone, so both succeed; repeated until that overlap was seen twice.
      const wide = gptConfig({ vocabSize: 4000, layers: 2, heads: 4, dModel: 256 });
      const pWide = initGPT(wide, 6);
      const widePath = `${dir}/wide.ckpt`;
      let overlaps = 0;
      try {
        for (let attempt = 0; attempt < 8 && overlaps < 2; attempt++) {
          const first = saveCheckpoint(widePath, { config: wide, params: pWide, step: attempt });
          let live: string | undefined;
          let settled = false;
          first.finally(() => (settled = true)).catch(() => {});
          while (!live && !settled) {
            live = temporaries(dir).find((n) => n.startsWith(`wide.ckpt.tmp-${Deno.pid}-`));
            if (!live) await new Promise((r) => setTimeout(r, 0));
          }
          // the second save's cleanup runs before it writes anything (within a millisecond
          // here), while the first one's write and fsync of 12 MB take tens of milliseconds
          if (live && !settled) overlaps++;
          await saveCheckpoint(widePath, { config: small, params: p, step: -1 });
          await first; // rejects if the second save removed its temporary file
        }
      } finally {
        disposeGPT(pWide);
      }
      console.log(`saves that overlapped a live save of the same target: ${overlaps}`);
      assertGreater(overlaps, 0, "no save overlapped another; the case went untested");
      const back = await loadCheckpoint(widePath);
      disposeGPT(back.params);
    } finally {
      disposeGPT(p);
    }
  });
});

Deno.test("a read-only checkpoint is refused, left as it is; a writable one keeps its mode", {
  ignore: Deno.build.os === "windows",
}, async () => {
  await withTempDir(async (dir) => {
    const p = initGPT(small, 6);
    try {
      const path = `${dir}/frozen.ckpt`;
      await saveCheckpoint(path, { config: small, params: p, step: 1 });
      await Deno.chmod(path, 0o444);
      const before = await Deno.readFile(path);
      await assertRejects(
        () => saveCheckpoint(path, { config: small, params: p, step: 2 }),
        Error,
        `saveCheckpoint: ${path} is read-only (mode 444)`,
      );
      assertEquals(await Deno.readFile(path), before);
      assertEquals((await Deno.stat(path)).mode! & 0o777, 0o444);
      assertEquals(temporaries(dir), []);
      const own = `${dir}/private.ckpt`;
      await saveCheckpoint(own, { config: small, params: p, step: 1 });
      await Deno.chmod(own, 0o600);
      await saveCheckpoint(own, { config: small, params: p, step: 2 });
      assertEquals((await Deno.stat(own)).mode! & 0o777, 0o600);
      const back = await loadCheckpoint(own);
      assertEquals(back.step, 2);
      disposeGPT(back.params);
    } finally {
      disposeGPT(p);
    }
  });
});

Deno.test("a write error (missing folder, full disk) names the path; the old file stays", {
  ignore: Deno.build.os === "windows",
}, async () => {
  await withTempDir(async (dir) => {
    const p = initGPT(small, 7);
    const missing = `${dir}/no/such/folder/x.ckpt`;
    try {
      await assertRejects(
        () => saveCheckpoint(missing, { config: small, params: p }),
        Error,
        `saveCheckpoint: cannot write ${missing}`,
      );
    } finally {
      disposeGPT(p);
    }
    // A disk that fills mid-write, imitated by a file-size limit (ulimit -f, in KiB) on a
    // child process that ignores SIGXFSZ: its writes then fail with EFBIG.
    const path = `${dir}/full.ckpt`;
    const wide = gptConfig({ vocabSize: 100, layers: 2, heads: 4, dModel: 64 });
    const pWide = initGPT(wide, 8);
    try {
      await saveCheckpoint(path, { config: wide, params: pWide, step: 1 });
    } finally {
      disposeGPT(pWide);
    }
    const before = await Deno.readFile(path);
    const lib = new URL("../lib/", import.meta.url).href;
    const script = `${dir}/full_saver.ts`;
    await Deno.writeTextFile(
      script,
      `import { initBackend } from "${lib}tensor.ts";
import { gptConfig, initGPT } from "${lib}gpt.ts";
import { saveCheckpoint } from "${lib}checkpoint.ts";
await initBackend();
const c = gptConfig(${JSON.stringify(wide)});
try {
  await saveCheckpoint(${JSON.stringify(path)}, { config: c, params: initGPT(c, 9), step: 2 });
  console.log("saved");
} catch (e) {
  console.log((e as Error).message);
}
`,
    );
    const config = new URL("../deno.json", import.meta.url).pathname;
    const run = `trap '' XFSZ; ulimit -f 64; exec "$0" run -A --config "$1" "$2"`;
    const { stdout } = await new Deno.Command("bash", {
      args: ["-c", run, Deno.execPath(), config, script],
      stderr: "null",
    }).output();
    const message = new TextDecoder().decode(stdout).trim();
    assert(
      message.startsWith(`saveCheckpoint: cannot write ${path} (through the temporary file`),
      message,
    );
    assert(message.includes("File too large"), message);
    assertEquals(await Deno.readFile(path), before);
    assertEquals(temporaries(dir), []);
  });
});

Deno.test("saveCheckpoint refuses NaN and ±Infinity, naming the tensor, and writes nothing", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/finite.ckpt`;
    const p = initGPT(small, 10);
    try {
      await saveCheckpoint(path, { config: small, params: p, step: 1 });
      const before = await Deno.readFile(path);
      const W1 = p.blocks[1].ffn.W1;
      const good = W1.clone();
      const values = W1.dataSync().slice();
      values[5] = NaN;
      const poisoned = tf.tensor2d(values, W1.shape);
      W1.assign(poisoned);
      poisoned.dispose();
      await assertRejects(
        () => saveCheckpoint(path, { config: small, params: p, step: 2 }),
        Error,
        `saveCheckpoint: ${path}: tensor blocks.1.ffn.W1 holds NaN (at flat index 5)`,
      );
      W1.assign(good);
      good.dispose();
      for (const bad of [Infinity, -Infinity]) {
        const v = tf.tensor1d([0, 1, bad]);
        await assertRejects(
          () => saveCheckpoint(path, { config: small, params: p, extraTensors: { "adam.v": v } }),
          Error,
          `tensor extra/adam.v holds ${bad} (at flat index 2)`,
        );
        v.dispose();
      }
      assertEquals(await Deno.readFile(path), before);
      assertEquals(temporaries(dir), []);
    } finally {
      disposeGPT(p);
    }
  });
});

Deno.test("safetensors: the real layout (8-byte header length, JSON header, raw data), round trip", async () => {
  await withTempDir(async (dir) => {
    const a = tf.tensor2d([[1, -2.5, 3], [4, 5, 6e-8]]);
    const b = tf.tensor1d([0.125, -1]);
    const empty = tf.zeros([0, 3]);
    try {
      const path = `${dir}/t.safetensors`;
      await writeSafetensors(path, { "layer.a": a, b, empty }, { format: "pt" });
      const bytes = await Deno.readFile(path);
      const view = new DataView(bytes.buffer);
      const n = Number(view.getBigUint64(0, true));
      assertEquals((8 + n) % 8, 0, "data starts 8-byte aligned");
      const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
      assertEquals(header["layer.a"], { dtype: "F32", shape: [2, 3], data_offsets: [0, 24] });
      assertEquals(header.b, { dtype: "F32", shape: [2], data_offsets: [24, 32] });
      assertEquals(header.empty, { dtype: "F32", shape: [0, 3], data_offsets: [32, 32] });
      assertEquals(header.__metadata__, { format: "pt" });
      assertEquals(bytes.length, 8 + n + 32);
      assertEquals(view.getFloat32(8 + n + 4, true), -2.5);
      assertEquals(view.getFloat32(8 + n + 24, true), 0.125);
      const back = await readSafetensors(path);
      assertEquals(back.metadata, { format: "pt" });
      assertAllClose(back.tensors["layer.a"], a, { atol: 0 });
      assertAllClose(back.tensors.b, b, { atol: 0 });
      assertEquals(back.tensors.empty.shape, [0, 3]);
      tf.dispose(Object.values(back.tensors));
    } finally {
      tf.dispose([a, b, empty]);
    }
  });
});

/** A safetensors file: the header text (or JSON of an object) and `dataBytes` data bytes. */
function safetensorsFile(header: unknown, dataBytes: number, headerLength?: bigint): Uint8Array {
  const hb = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const file = new Uint8Array(8 + hb.length + dataBytes);
  new DataView(file.buffer).setBigUint64(0, headerLength ?? BigInt(hb.length), true);
  file.set(hb, 8);
  return file;
}

Deno.test("safetensors: F16 and BF16 tensors are read as float32", async () => {
  await withTempDir(async (dir) => {
    // F16: 1 = 0x3c00, −2 = 0xc000, 0.5 = 0x3800; BF16: 1 = 0x3f80, −3 = 0xc040
    const file = safetensorsFile({
      h: { dtype: "F16", shape: [3], data_offsets: [0, 6] },
      bf: { dtype: "BF16", shape: [2], data_offsets: [6, 10] },
    }, 10);
    const view = new DataView(file.buffer);
    [0x3c00, 0xc000, 0x3800, 0x3f80, 0xc040].forEach((v, i) =>
      view.setUint16(file.length - 10 + 2 * i, v, true)
    );
    const path = `${dir}/half.safetensors`;
    await Deno.writeFile(path, file);
    const { tensors } = await readSafetensors(path);
    assertAllClose(tensors.h, [1, -2, 0.5], { atol: 0 });
    assertAllClose(tensors.bf, [1, -3], { atol: 0 });
    tf.dispose(Object.values(tensors));
    await Deno.writeFile(path, file.slice(0, file.length - 2));
    await assertRejects(() => readSafetensors(path), Error, "truncated: tensor bf ends at byte");
  });
});

Deno.test("safetensors: every malformed header is refused, naming the file and the tensor", async () => {
  const f32 = (shape: unknown, data_offsets: unknown, dtype: unknown = "F32") => ({
    dtype,
    shape,
    data_offsets,
  });
  const entry = '{"dtype":"F32","shape":[2],"data_offsets":[0,8]}';
  const cases: [string, unknown, number, string][] = [
    ["a negative offset", { a: f32([2], [-8, 0]) }, 8, "tensor a has data_offsets [-8,0], not"],
    ["string offsets", { a: f32([2], ["0", "8"]) }, 8, 'tensor a has data_offsets ["0","8"]'],
    ["one offset", { a: f32([2], [0]) }, 8, "tensor a has data_offsets [0], not a pair"],
    ["fractional offsets", { a: f32([2], [0, 8.5]) }, 8, "tensor a has data_offsets [0,8.5]"],
    ["begin after end", { a: f32([0], [8, 0]) }, 8, "tensor a has data_offsets [8, 0]: begin >"],
    [
      "overlapping ranges",
      { a: f32([2], [0, 8]), b: f32([2], [4, 12]) },
      12,
      "tensor b's data [4, 12] overlaps tensor a's [0, 8]",
    ],
    [
      "a gap",
      { a: f32([2], [0, 8]), b: f32([2], [12, 20]) },
      20,
      "data bytes [8, 12) before tensor b belong to no tensor",
    ],
    ["bytes after the last", { a: f32([2], [0, 8]) }, 12, "data bytes [8, 12) after the last"],
    ["a range past the end", { a: f32([2], [0, 8]) }, 4, "truncated: tensor a ends at byte"],
    ["a wrong byte count", { a: f32([3], [0, 8]) }, 8, "tensor a [3] F32 needs 12 bytes, its"],
    ["a negative size", { a: f32([-2], [0, 8]) }, 8, "tensor a has shape [-2], not a list"],
    ["a fractional size", { a: f32([2.5], [0, 8]) }, 8, "tensor a has shape [2.5], not a list"],
    ["no shape", { a: { dtype: "F32", data_offsets: [0, 8] } }, 8, "tensor a has shape undefined"],
    ["an unknown dtype", { a: f32([1], [0, 8], "I64") }, 8, 'tensor a has dtype "I64"; only F32'],
    [
      "a dtype from Object's prototype",
      { a: f32([2], [0, 8], "constructor") },
      8,
      'dtype "constructor"',
    ],
    ["no dtype", { a: { shape: [2], data_offsets: [0, 8] } }, 8, "tensor a has dtype undefined"],
    ["a null entry", { a: null }, 0, "tensor a: its entry is not an object: null"],
    ["a number entry", { a: 3 }, 0, "tensor a: its entry is not an object: 3"],
    ["a bare number header", "5       ", 0, "the header must be a JSON object"],
    ["an array header", "[]", 0, "the header must be a JSON object"],
    ["a null header", "null", 0, "the header must be a JSON object"],
    ["a header with a leading space", ' {"a":' + entry + "}", 8, 'starting with "{"'],
    ["invalid JSON", '{"a":', 0, "corrupt: the header is not valid JSON"],
    ["a duplicate tensor", `{"a":${entry},"a":${entry}}`, 8, "duplicate tensor name a in the"],
    [
      "a duplicate key in an entry",
      '{"a":{"dtype":"F32","shape":[2],"dtype":"F16","data_offsets":[0,8]}}',
      8,
      'duplicate key "dtype" in the entry of a',
    ],
    ["non-string metadata", { __metadata__: { epoch: 3 } }, 0, "__metadata__ must map strings"],
    ["array metadata", { __metadata__: ["pt"] }, 0, "__metadata__ must map strings to strings"],
    ["null metadata", { __metadata__: null }, 0, "__metadata__ must map strings to strings"],
  ];
  await withTempDir(async (dir) => {
    const path = `${dir}/bad.safetensors`;
    for (const [what, header, dataBytes, message] of cases) {
      await Deno.writeFile(path, safetensorsFile(header, dataBytes));
      await assertNoLeak(what, async () => {
        const e = await assertRejects(() => readSafetensors(path), Error, message, what);
        assert((e as Error).message.startsWith(`readSafetensors: ${path}: `), what);
      });
    }
    const raw: [string, Uint8Array, string][] = [
      ["an insane header length", safetensorsFile("{}", 0, 1n << 40n), "is not sane"],
      ["a header longer than the file", safetensorsFile("{}", 0, 3n), "truncated: the header"],
      ["a file shorter than 8 bytes", new Uint8Array(5), "truncated: 5 bytes"],
      ["a header that is not UTF-8", safetensorsFile("{}", 0).fill(0xff, 8), "not UTF-8"],
    ];
    for (const [what, bytes, message] of raw) {
      await Deno.writeFile(path, bytes);
      await assertRejects(() => readSafetensors(path), Error, message, what);
    }
    // quotes, braces and backslashes in keys do not fool the duplicate-key scan, and
    // "__proto__" is a tensor name like any other
    const tricky = '{"__metadata__":{"k\\"{[":"}],\\\\"},"__proto__":' + entry +
      ',"a\\"b":{"dtype":"F32","shape":[],"data_offsets":[8,12]}}';
    await Deno.writeFile(path, safetensorsFile(tricky, 12));
    const back = await readSafetensors(path);
    assertEquals(back.metadata, { 'k"{[': "}],\\" });
    assertEquals(Object.keys(back.tensors).sort(), ["__proto__", 'a"b']);
    assertEquals(back.tensors["__proto__"].shape, [2]);
    assertEquals(back.tensors['a"b'].shape, []);
    tf.dispose(Object.values(back.tensors));
  });
});

Deno.test("writeSafetensors refuses names the format cannot hold, writing nothing", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/names.safetensors`;
    const t = tf.ones([2]);
    try {
      const cases: [Record<string, tf.Tensor>, string][] = [
        [{ a: t, __metadata__: t }, "a tensor cannot be named __metadata__"],
        [{ "": t }, 'tensor name "" is empty or not well-formed Unicode'],
        [{ ["lone\ud800"]: t }, 'tensor name "lone\\ud800" is empty or not well-formed'],
      ];
      for (const [tensors, message] of cases) {
        await assertRejects(
          () => writeSafetensors(path, tensors),
          Error,
          `writeSafetensors: ${path}: ${message}`,
        );
      }
      await assertRejects(
        () => writeSafetensors(path, { a: t }, { epoch: 3 } as unknown as Record<string, string>),
        Error,
        'metadata must map strings to strings; "epoch" holds a number',
      );
      assertEquals([...Deno.readDirSync(dir)], []);
    } finally {
      t.dispose();
    }
  });
});

/** The model's weights under Hugging Face's names and Conv1D layout. */
function toHuggingFace(
  p: GPTParams,
  family: "gpt2" | "openai-gpt",
  prefix: string,
): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  const put = (name: string, t: tf.Tensor) => (out[prefix + name] = t);
  put(family === "gpt2" ? "wte.weight" : "tokens_embed.weight", p.tokenEmbedding);
  put(family === "gpt2" ? "wpe.weight" : "positions_embed.weight", p.positionEmbedding);
  p.blocks.forEach((b, i) => {
    const h = `h.${i}.`, a = b.selfAttention;
    put(`${h}ln_1.weight`, b.norm1.gamma);
    put(`${h}ln_1.bias`, b.norm1.beta);
    put(`${h}attn.bias`, tf.ones([1, 1, 8, 8])); // HF's causal-mask buffer, to be skipped
    put(`${h}attn.c_attn.weight`, tf.concat([a.Wq, a.Wk, a.Wv], 1));
    put(`${h}attn.c_attn.bias`, tf.concat([a.bq, a.bk, a.bv], 0));
    put(`${h}attn.c_proj.weight`, a.Wo);
    put(`${h}attn.c_proj.bias`, a.bo);
    put(`${h}ln_2.weight`, b.norm2.gamma);
    put(`${h}ln_2.bias`, b.norm2.beta);
    put(`${h}mlp.c_fc.weight`, b.ffn.W1);
    put(`${h}mlp.c_fc.bias`, b.ffn.b1);
    put(`${h}mlp.c_proj.weight`, b.ffn.W2);
    put(`${h}mlp.c_proj.bias`, b.ffn.b2);
  });
  if (p.finalNorm) {
    put("ln_f.weight", p.finalNorm.gamma);
    put("ln_f.bias", p.finalNorm.beta);
  }
  return out;
}

/** Frees the tensors {@link toHuggingFace} made (the others are the model's). */
const disposeMade = (hf: Record<string, tf.Tensor>) =>
  tf.dispose(Object.keys(hf).filter((k) => /attn\.(bias|c_attn)/.test(k)).map((k) => hf[k]));

Deno.test("Hugging Face GPT-2 and openai-gpt safetensors load and give the same logits", async () => {
  const cases = [
    { family: "gpt2" as const, prefix: "", norm: "pre" as const },
    { family: "gpt2" as const, prefix: "transformer.", norm: "pre" as const },
    { family: "openai-gpt" as const, prefix: "", norm: "post" as const },
    { family: "openai-gpt" as const, prefix: "transformer.", norm: "post" as const },
  ];
  await withTempDir(async (dir) => {
    for (const { family, prefix, norm } of cases) {
      // without a config.json: GPT-2's tanh GELU, Hugging Face openai-gpt's exact GELU
      const activation = family === "gpt2" ? "gelu_tanh" as const : "gelu" as const;
      const c = { ...small, norm, activation };
      const p = initGPT(c, 11);
      const hf = toHuggingFace(p, family, prefix);
      try {
        const path = `${dir}/${family}${prefix}.safetensors`;
        await writeSafetensors(path, hf, { format: "pt" });
        const loaded = await loadHuggingFaceGPT(path, { family, heads: 2 });
        const { layers, dModel, vocabSize } = loaded.config;
        assertEquals(
          [layers, dModel, vocabSize, loaded.config.norm, loaded.config.activation],
          [2, 8, 11, norm, activation],
        );
        const want = logitsOf(p, c), got = logitsOf(loaded.params, loaded.config);
        const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(want, got))).dataSync()[0]);
        assert(diff < 1e-5, `${family} ${prefix}: max |diff| ${diff}`);
        tf.dispose([want, got]);
        disposeGPT(loaded.params);
      } finally {
        disposeMade(hf);
        disposeGPT(p);
      }
    }
  });
});

Deno.test("Hugging Face loader: heads from config.json, untied lm_head, errors name the tensor", async () => {
  await withTempDir(async (dir) => {
    const p = initGPT({ ...small, dModel: 8, heads: 4 }, 2);
    const hf = toHuggingFace(p, "gpt2", "");
    const lmHead = tf.randomNormal([11, 8], 0, 1, "float32", 3);
    const wrong = tf.zeros([8, 20]);
    try {
      await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({ n_head: 4, n_layer: 2 }));
      const path = `${dir}/model.safetensors`;
      await writeSafetensors(path, { ...hf, "lm_head.weight": lmHead });
      const loaded = await loadHuggingFaceGPT(path, { family: "gpt2" });
      assertEquals(loaded.config.heads, 4);
      assertEquals(loaded.config.tiedOutput, false);
      const lmHeadT = tf.transpose(lmHead);
      assertAllClose(loaded.params.output!, lmHeadT, { atol: 0 });
      tf.dispose(lmHeadT);
      disposeGPT(loaded.params);

      const { "h.1.mlp.c_fc.bias": _, ...missing } = hf;
      const failures: [Record<string, tf.Tensor>, "gpt2" | "openai-gpt", string][] = [
        [missing, "gpt2", "missing tensor h.1.mlp.c_fc.bias (expected [32])"],
        [
          { ...hf, "h.0.attn.c_attn.weight": wrong },
          "gpt2",
          "tensor h.0.attn.c_attn.weight has shape [8,20], expected [8,24]",
        ],
        [hf, "openai-gpt", "missing tensor tokens_embed.weight"],
      ];
      await Deno.remove(`${dir}/config.json`);
      for (const [tensors, family, message] of failures) {
        await writeSafetensors(path, tensors);
        await assertNoLeak(message, async () => {
          await assertRejects(
            () => loadHuggingFaceGPT(path, { family }),
            Error,
            `loadHuggingFaceGPT: ${path}: ${message}`,
          );
        });
      }
    } finally {
      tf.dispose([lmHead, wrong]);
      disposeMade(hf);
      disposeGPT(p);
    }
  });
});

Deno.test("Hugging Face loader: the activation comes from config.json; a malformed one is refused", async () => {
  await withTempDir(async (dir) => {
    const p = initGPT(small, 12);
    const path = `${dir}/model.safetensors`;
    const cfg = `${dir}/config.json`;
    const gpt2 = toHuggingFace(p, "gpt2", "");
    const gpt1 = toHuggingFace(p, "openai-gpt", "");
    try {
      const loads: [Record<string, tf.Tensor>, "gpt2" | "openai-gpt", string | null, string][] = [
        [gpt2, "gpt2", null, "gelu_tanh"], // no config.json: GPT-2's default "gelu_new"
        [gpt1, "openai-gpt", null, "gelu"], // no config.json: Hugging Face's default "gelu"
        [gpt2, "gpt2", '{"activation_function": "gelu_new", "n_head": 2}', "gelu_tanh"],
        [gpt2, "gpt2", '{"activation_function": "gelu"}', "gelu"],
        [gpt2, "gpt2", '{"activation_function": "relu"}', "relu"],
        [gpt1, "openai-gpt", '{"afn": "gelu_new", "model_type": "openai-gpt"}', "gelu_tanh"],
        [gpt1, "openai-gpt", '{"afn": "relu", "n_embd": 8, "vocab_size": 11}', "relu"],
      ];
      for (const [tensors, family, json, activation] of loads) {
        await writeSafetensors(path, tensors);
        if (json === null) await Deno.remove(cfg).catch(() => {});
        else await Deno.writeTextFile(cfg, json);
        const loaded = await loadHuggingFaceGPT(path, { family, heads: 2 });
        assertEquals(loaded.config.activation, activation, `${family} ${json}`);
        disposeGPT(loaded.params);
      }
      await writeSafetensors(path, gpt2);
      const refusals: [string, string][] = [
        ['{"n_head": 4', "not valid JSON"],
        ["[4]", "not a JSON object"],
        ['"gpt2"', "not a JSON object"],
        ['{"activation_function": "swish"}', 'activation_function "swish" is not one this'],
        ['{"activation_function": 1}', "activation_function 1 is not one this library has"],
        ['{"n_head": "2"}', 'n_head must be a positive integer, got "2"'],
        ['{"n_head": 0}', "n_head must be a positive integer, got 0"],
        ['{"n_embd": 16}', "n_embd is 16, the weights have 8"],
        ['{"n_layer": 3}', "n_layer is 3, the weights have 2"],
        ['{"n_inner": 64}', "n_inner is 64, the weights have 32"],
        ['{"model_type": "openai-gpt"}', 'model_type is "openai-gpt", the family is "gpt2"'],
        ['{"layer_norm_epsilon": 1e-6}', "layer_norm_epsilon is 0.000001; this library's"],
      ];
      for (const [json, message] of refusals) {
        await Deno.writeTextFile(cfg, json);
        await assertNoLeak(json, async () => {
          await assertRejects(
            () => loadHuggingFaceGPT(path, { family: "gpt2" }),
            Error,
            `loadHuggingFaceGPT: ${cfg}: ${message}`,
          );
        });
      }
      await writeSafetensors(path, gpt1);
      await Deno.writeTextFile(cfg, '{"afn": "quick_gelu"}');
      await assertRejects(
        () => loadHuggingFaceGPT(path, { family: "openai-gpt" }),
        Error,
        `loadHuggingFaceGPT: ${cfg}: afn "quick_gelu" is not one this library has`,
      );
    } finally {
      disposeMade(gpt2);
      disposeMade(gpt1);
      disposeGPT(p);
    }
  });
});

Deno.test("a PyTorch GPT-2's logits, reproduced to 1e-5 with the tanh GELU (fixture hf_gpt2)", async () => {
  // tests/fixtures/hf_gpt2/make_fixture.py wrote the weights, the config and the float64
  // logits of a forward pass that follows Hugging Face's GPT2LMHeadModel
  const fixture = new URL("./fixtures/hf_gpt2/", import.meta.url).pathname;
  const expected: { ids: number[]; logits: number[][] } = JSON.parse(
    await Deno.readTextFile(`${fixture}expected_logits.json`),
  );
  const { config, params } = await loadHuggingFaceGPT(`${fixture}model.safetensors`, {
    family: "gpt2",
  });
  try {
    assertEquals(
      [config.layers, config.dModel, config.heads, config.dFF, config.vocabSize],
      [2, 32, 4, 64, 61],
    );
    assertEquals(config.activation, "gelu_tanh");
    const want = expected.logits.flat();
    const scale = Math.max(...want.map(Math.abs));
    const relativeError = (c: GPTConfig) => {
      const got = tf.tidy(() =>
        gptForward(params, c, tf.tensor2d([expected.ids], undefined, "int32")).logits.dataSync()
      );
      return Math.max(...want.map((w, i) => Math.abs(got[i] - w))) / scale;
    };
    const tanh = relativeError(config);
    const exact = relativeError({ ...config, activation: "gelu" });
    console.log(
      `max |Δ| / max |logit|: gelu_tanh ${tanh.toExponential(2)}, ` +
        `gelu ${exact.toExponential(2)}`,
    );
    assertLessOrEqual(tanh, 1e-5);
    assertGreater(exact, 20 * tanh, "the exact GELU should miss Hugging Face's logits");
    assertGreater(exact, 5e-5);
  } finally {
    disposeGPT(params);
  }
});
