import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertRejects } from "@std/assert";
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

const dir = await Deno.makeTempDir({ prefix: "gpt_checkpoint_test_" });
const ids = tf.tensor2d([[1, 5, 2, 7, 3, 0], [4, 4, 6, 1, 2, 8]], undefined, "int32");

function logitsOf(p: GPTParams, c: GPTConfig): tf.Tensor {
  return gptForward(p, c, ids).logits;
}

const small = gptConfig({ vocabSize: 11, layers: 2, heads: 2, dModel: 8, contextLength: 8 });

Deno.test("checkpoint round trip: same logits, config, step, extra and extra tensors", async () => {
  for (
    const c of [
      small,
      { ...small, norm: "post" as const, tiedOutput: false, name: "post untied" },
    ]
  ) {
    const p = initGPT(c, 3);
    const m = tf.randomNormal([3, 2], 0, 1, "float32", 2);
    const path = `${dir}/round_${c.norm}.ckpt`;
    await saveCheckpoint(path, {
      config: c,
      params: p,
      step: 42,
      extra: { chars: "abc", losses: [3.1, 2.5] },
      extraTensors: { "adam.m.0": m },
    });
    const back = await loadCheckpoint(path);
    assertEquals(back.config, c);
    assertEquals(back.step, 42);
    assertEquals(back.extra, { chars: "abc", losses: [3.1, 2.5] });
    assertAllClose(back.extraTensors!["adam.m.0"], m, { atol: 0 });
    const before = logitsOf(p, c), after = logitsOf(back.params, back.config);
    assertAllClose(after, before, { atol: 0, rtol: 0 });
    tf.dispose([m, before, after, ...Object.values(back.extraTensors!)]);
    disposeGPT(p);
    disposeGPT(back.params);
  }
});

async function savedBytes(name: string): Promise<{ path: string; bytes: Uint8Array }> {
  const p = initGPT(small, 1);
  const path = `${dir}/${name}.ckpt`;
  await saveCheckpoint(path, { config: small, params: p, step: 1 });
  disposeGPT(p);
  return { path, bytes: await Deno.readFile(path) };
}

Deno.test("a corrupt byte (data or header) fails the checksum, naming the file", async () => {
  const { path, bytes } = await savedBytes("corrupt");
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

Deno.test("a truncated file, a wrong magic or version are rejected clearly", async () => {
  const { path, bytes } = await savedBytes("truncated");
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
});

/** Rewrites a checkpoint's JSON header with `edit` and a fresh, valid checksum. */
async function editHeader(
  path: string,
  bytes: Uint8Array,
  edit: (h: { config: GPTConfig; tensors: { name: string }[] }) => void,
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
  const { path, bytes } = await savedBytes("names");
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
  // and saving refuses params that do not fit the config
  const p = initGPT(small, 1);
  await assertRejects(
    () => saveCheckpoint(`${dir}/never.ckpt`, { config: { ...small, dModel: 4 }, params: p }),
    Error,
    "tensor tokenEmbedding has shape [11,8], the config expects [11,4]",
  );
  disposeGPT(p);
});

Deno.test("a save that fails or is killed mid-write leaves the previous checkpoint loadable", async () => {
  const big = gptConfig({ vocabSize: 50, layers: 4, heads: 4, dModel: 128, contextLength: 64 });
  const path = `${dir}/crash.ckpt`;
  const pA = initGPT(big, 1);
  await saveCheckpoint(path, { config: big, params: pA, step: 1 });
  const logitsA = logitsOf(pA, big);
  // 1. a save that throws (a disposed tensor) leaves the file as it was, and no temp file
  const broken = initGPT(big, 2);
  broken.blocks[3].ffn.W2.dispose();
  await assertRejects(() => saveCheckpoint(path, { config: big, params: broken, step: 2 }));
  disposeGPT(broken);
  const still = await loadCheckpoint(path);
  assertEquals(still.step, 1);
  disposeGPT(still.params);
  assertEquals([...Deno.readDirSync(dir)].filter((e) => e.name.includes(".tmp-")), []);
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
  for (const entry of Deno.readDirSync(dir)) {
    if (entry.name.includes(".tmp-")) Deno.removeSync(`${dir}/${entry.name}`);
  }
  tf.dispose(logitsA);
  disposeGPT(pA);
});

Deno.test("safetensors: the real layout (8-byte header length, JSON header, raw data), round trip", async () => {
  const a = tf.tensor2d([[1, -2.5, 3], [4, 5, 6e-8]]);
  const b = tf.tensor1d([0.125, -1]);
  const path = `${dir}/t.safetensors`;
  await writeSafetensors(path, { "layer.a": a, b }, { format: "pt" });
  const bytes = await Deno.readFile(path);
  const view = new DataView(bytes.buffer);
  const n = Number(view.getBigUint64(0, true));
  assertEquals((8 + n) % 8, 0, "data starts 8-byte aligned");
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  assertEquals(header["layer.a"], { dtype: "F32", shape: [2, 3], data_offsets: [0, 24] });
  assertEquals(header.b, { dtype: "F32", shape: [2], data_offsets: [24, 32] });
  assertEquals(header.__metadata__, { format: "pt" });
  assertEquals(bytes.length, 8 + n + 32);
  assertEquals(view.getFloat32(8 + n + 4, true), -2.5);
  assertEquals(view.getFloat32(8 + n + 24, true), 0.125);
  const back = await readSafetensors(path);
  assertEquals(back.metadata, { format: "pt" });
  assertAllClose(back.tensors["layer.a"], a, { atol: 0 });
  assertAllClose(back.tensors.b, b, { atol: 0 });
  tf.dispose([a, b, ...Object.values(back.tensors)]);
});

Deno.test("safetensors: F16 and BF16 tensors are read as float32", async () => {
  // F16: 1 = 0x3c00, −2 = 0xc000, 0.5 = 0x3800; BF16: 1 = 0x3f80, −3 = 0xc040
  const header = JSON.stringify({
    h: { dtype: "F16", shape: [3], data_offsets: [0, 6] },
    bf: { dtype: "BF16", shape: [2], data_offsets: [6, 10] },
  });
  const hb = new TextEncoder().encode(header);
  const file = new Uint8Array(8 + hb.length + 10);
  const view = new DataView(file.buffer);
  view.setBigUint64(0, BigInt(hb.length), true);
  file.set(hb, 8);
  [0x3c00, 0xc000, 0x3800, 0x3f80, 0xc040].forEach((v, i) =>
    view.setUint16(8 + hb.length + 2 * i, v, true)
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

Deno.test("Hugging Face GPT-2 and openai-gpt safetensors load and give the same logits", async () => {
  const cases = [
    { family: "gpt2" as const, prefix: "", norm: "pre" as const },
    { family: "gpt2" as const, prefix: "transformer.", norm: "pre" as const },
    { family: "openai-gpt" as const, prefix: "", norm: "post" as const },
    { family: "openai-gpt" as const, prefix: "transformer.", norm: "post" as const },
  ];
  for (const { family, prefix, norm } of cases) {
    const c = { ...small, norm };
    const p = initGPT(c, 11);
    const hf = toHuggingFace(p, family, prefix);
    const path = `${dir}/${family}${prefix}.safetensors`;
    await writeSafetensors(path, hf, { format: "pt" });
    const loaded = await loadHuggingFaceGPT(path, { family, heads: 2 });
    assertEquals(
      [loaded.config.layers, loaded.config.dModel, loaded.config.vocabSize, loaded.config.norm],
      [2, 8, 11, norm],
    );
    const want = logitsOf(p, c), got = logitsOf(loaded.params, loaded.config);
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(want, got))).dataSync()[0]);
    assert(diff < 1e-5, `${family} ${prefix}: max |diff| ${diff}`);
    tf.dispose([want, got]);
    tf.dispose(Object.keys(hf).filter((k) => /attn\.(bias|c_attn)/.test(k)).map((k) => hf[k]));
    disposeGPT(loaded.params);
    disposeGPT(p);
  }
});

Deno.test("Hugging Face loader: heads from config.json, untied lm_head, errors name the tensor", async () => {
  const p = initGPT({ ...small, dModel: 8, heads: 4 }, 2);
  const sub = `${dir}/hf_model`;
  await Deno.mkdir(sub, { recursive: true });
  await Deno.writeTextFile(`${sub}/config.json`, JSON.stringify({ n_head: 4, n_layer: 2 }));
  const hf = toHuggingFace(p, "gpt2", "");
  const lmHead = tf.randomNormal([11, 8], 0, 1, "float32", 3);
  const path = `${sub}/model.safetensors`;
  await writeSafetensors(path, { ...hf, "lm_head.weight": lmHead });
  const loaded = await loadHuggingFaceGPT(path, { family: "gpt2" });
  assertEquals(loaded.config.heads, 4);
  assertEquals(loaded.config.tiedOutput, false);
  assertAllClose(loaded.params.output!, tf.transpose(lmHead), { atol: 0 });
  disposeGPT(loaded.params);

  const { "h.1.mlp.c_fc.bias": _, ...missing } = hf;
  await writeSafetensors(path, missing);
  await assertRejects(
    () => loadHuggingFaceGPT(path, { family: "gpt2" }),
    Error,
    "missing tensor h.1.mlp.c_fc.bias (expected [32])",
  );
  const wrong = tf.zeros([8, 20]);
  await writeSafetensors(path, { ...hf, "h.0.attn.c_attn.weight": wrong });
  await assertRejects(
    () => loadHuggingFaceGPT(path, { family: "gpt2" }),
    Error,
    "tensor h.0.attn.c_attn.weight has shape [8,20], expected [8,24]",
  );
  await writeSafetensors(path, hf);
  await assertRejects(
    () => loadHuggingFaceGPT(path, { family: "openai-gpt" }),
    Error,
    "missing tensor tokens_embed.weight",
  );
  tf.dispose([lmHead, wrong]);
  tf.dispose(Object.keys(hf).filter((k) => /attn\.(bias|c_attn)/.test(k)).map((k) => hf[k]));
  disposeGPT(p);
});

Deno.test({
  name: "cleanup",
  fn: async () => {
    ids.dispose();
    await Deno.remove(dir, { recursive: true });
  },
});
