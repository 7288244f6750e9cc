// Prompting: GPT-1's zero-shot score of a candidate continuation (the mean log-probability of
// its tokens) against one forward pass per predicted token, and the zero-shot accuracy that
// picks the best-scored candidate.
import { assert, assertEquals, assertThrows } from "@std/assert";
import { charVocabulary } from "../lib/data.ts";
import { disposeGPT, gptConfig, initGPT } from "../lib/gpt.ts";
import { gptLogProbNext } from "../lib/sampling.ts";
import { continuationLogProbs, zeroShotAccuracy } from "../lib/prompting.ts";
import { assertNoTensorGrowth, initBackend } from "../lib/tensor.ts";
import { assertAllClose } from "../testing/tensor_assert.ts";

await initBackend();

const vocab = charVocabulary([], "雨夜回家看花饮酒春日");
const config = gptConfig({
  vocabSize: vocab.size,
  contextLength: 16,
  layers: 2,
  heads: 2,
  dModel: 8,
  dFF: 16,
});

Deno.test("continuationLogProbs: the mean log P of each candidate's tokens, one context at a time", async () => {
  const p = initGPT(config, 5);
  try {
    // Independently: one forward pass per predicted token (gptLogProbNext), no batch, no padding.
    const logProbNext = gptLogProbNext(p, config);
    const expected = (context: string, candidate: string) => {
      const ids = vocab.encode([...context, ...candidate]);
      const n = [...candidate].length;
      let sum = 0;
      for (let t = ids.length - n; t < ids.length; t++) sum += logProbNext(ids.slice(0, t))[ids[t]];
      return sum / n;
    };
    const candidates = ["回家", "看", "饮酒春", "花"]; // lengths 2, 1, 3, 1: padded to 3
    const scores = continuationLogProbs(p, config, vocab, "雨夜", candidates);
    assertAllClose(scores, candidates.map((c) => expected("雨夜", c)), { atol: 1e-4 });
    // each row is scored alone: reordering the candidates reorders the scores
    const reversed = continuationLogProbs(p, config, vocab, "雨夜", [...candidates].reverse());
    assertAllClose(reversed, [...scores].reverse(), { atol: 1e-5 });
    for (const s of scores) assert(s < 0);

    const questions = [
      { context: "雨夜", candidates, label: scores.indexOf(Math.max(...scores)) },
      { context: "雨夜", candidates, label: scores.indexOf(Math.min(...scores)) },
    ];
    assertEquals(zeroShotAccuracy(p, config, vocab, questions), 0.5);
    assertEquals(zeroShotAccuracy(p, config, vocab, questions.slice(0, 1)), 1);
    await assertNoTensorGrowth(() => continuationLogProbs(p, config, vocab, "春日", candidates));

    assertThrows(() => continuationLogProbs(p, config, vocab, "雨夜", []), Error, "no candidates");
    assertThrows(() => continuationLogProbs(p, config, vocab, "", ["回家"]), Error, "context");
    assertThrows(
      () => continuationLogProbs(p, config, vocab, "雨夜", ["回家", ""]),
      Error,
      "candidate 1",
    );
    assertThrows(() => continuationLogProbs(p, config, vocab, "雨夜", ["龙"]), Error, "龙");
    assertThrows(
      () => continuationLogProbs(p, config, vocab, "春".repeat(15), ["回家"]),
      Error,
      "17 tokens, more than the model's context length 16",
    );
    assertThrows(
      () => zeroShotAccuracy(p, config, vocab, [{ context: "雨夜", candidates, label: 4 }]),
      Error,
      "label 4 is not one of the 4 candidates",
    );
    assertThrows(() => zeroShotAccuracy(p, config, vocab, []), Error, "no questions");
  } finally {
    disposeGPT(p);
  }
});
