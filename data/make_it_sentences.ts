/**
 * Writes data/it_sentences.json: variants of the article's "The animal didn't cross the street
 * because it was too tired / narrow", each labelled with what "it" refers to. Chapter 04 trains
 * a small attention model on them. Regenerate with `deno run -A data/make_it_sentences.ts`
 * (deterministic: seed 2026; an argument names another output file).
 *
 * A sentence is [opening] the [modifier] ANIMAL NEGATION VERB the PLACE CONJUNCTION it was too
 * ADJECTIVE. The adjective alone decides the referent: "tired" describes animals, "narrow"
 * places, and no adjective is used for both. Openings, modifiers, negations and verbs of
 * different lengths move the nouns and "it" to different positions, so a model cannot find
 * the referent by position.
 *
 * The test split holds out pairings of adjective and referent noun: for each adjective, one
 * or two of the nouns it could describe never appear with it in training (training has "the horse
 * … too tired" and "the dog … too lazy" but no "the dog … too tired"). Every word of the test
 * split occurs in training.
 *
 * @module
 */
import { makeRng } from "../lib/tensor.ts";
import { WordTokenizer } from "../lib/tokenizer.ts";

/** Where to write: the first argument (the tests write to a temporary file), else data/. */
const OUT = Deno.args[0] ?? new URL("./it_sentences.json", import.meta.url);

const animals = ["animal", "dog", "cat", "horse", "cow", "fox", "rabbit", "goat", "sheep", "deer"];
const landPlaces = ["street", "road", "bridge", "path", "lane"];
const waterPlaces = ["river", "stream", "canal"];
const animalAdjectives = [
  "tired",
  "scared",
  "lazy",
  "sleepy",
  "weak",
  "hungry",
  "slow",
  "nervous",
  "sick",
];
const landAdjectives = ["narrow", "wide", "busy", "crowded", "muddy", "dangerous", "icy"];
const waterAdjectives = ["wide", "deep", "dangerous", "rough", "icy", "fast"];
const openings = ["", "", "", "Yesterday", "This morning", "In the end"];
const modifiers = ["", "", "", "little", "young", "old", "brown"];
const negations = ["didn't", "didn't", "did not", "would not"];
const landVerbs = ["cross", "cross", "walk across", "run across"];
const waterVerbs = ["cross", "cross", "swim across", "jump over"];
const conjunctions = ["because", "because", "since", "as"];

const SEED = 2026;
/** How many sentences to write, half of each referent. */
const TOTAL = 720;

interface Labelled {
  text: string;
  referent: "animal" | "place";
  itIndex: number;
  referentIndex: number;
  otherIndex: number;
  /** The held-out key: adjective and referent noun. */
  pairing: string;
}

const rng = makeRng(SEED);
const pick = <T>(xs: readonly T[]) => xs[Math.floor(rng() * xs.length)];

/** The words that fill the template of one sentence. */
interface Parts {
  opening: string;
  modifier: string;
  animal: string;
  negation: string;
  verb: string;
  place: string;
  conjunction: string;
  adjective: string;
}

/** One sentence with its labels, found by position in the tokens (checked, not assumed). */
function sentence(p: Parts, referent: "animal" | "place"): Labelled {
  const words = [
    p.opening,
    p.opening ? "the" : "The",
    p.modifier,
    p.animal,
    p.negation,
    p.verb,
    "the",
    p.place,
    p.conjunction,
    "it was too",
    p.adjective,
  ].filter((w) => w !== "");
  const text = words.join(" ") + ".";
  const tokens = WordTokenizer.split(text);
  const animalIndex = tokens.indexOf(p.animal);
  const placeIndex = tokens.lastIndexOf(p.place);
  const itIndex = tokens.indexOf("it");
  if (animalIndex < 0 || placeIndex <= animalIndex || itIndex <= placeIndex) {
    throw new Error(`make_it_sentences: cannot label ${JSON.stringify(text)}`);
  }
  const referentIndex = referent === "animal" ? animalIndex : placeIndex;
  return {
    text,
    referent,
    itIndex,
    referentIndex,
    otherIndex: referent === "animal" ? placeIndex : animalIndex,
    pairing: `${p.adjective} ${tokens[referentIndex]}`,
  };
}

/** A random sentence whose adjective describes the `referent`. */
function randomSentence(referent: "animal" | "place"): Labelled {
  const place = pick([...landPlaces, ...waterPlaces]);
  const water = waterPlaces.includes(place);
  const adjectives = referent === "animal"
    ? animalAdjectives
    : water
    ? waterAdjectives
    : landAdjectives;
  return sentence({
    opening: pick(openings),
    modifier: pick(modifiers),
    animal: pick(animals),
    negation: pick(negations),
    verb: pick(water ? waterVerbs : landVerbs),
    place,
    conjunction: pick(conjunctions),
    adjective: pick(adjectives),
  }, referent);
}

/**
 * The held-out pairings: for each adjective, `heldPerAdjective` of the nouns it can describe,
 * the ones after those of the previous adjective (cyclically), starting after the first noun
 * ("animal", "street": the article's sentences stay in training), so every noun keeps most
 * of its adjectives in training.
 */
function heldOut(adjectives: string[], nouns: string[], heldPerAdjective: number): Set<string> {
  const out = new Set<string>();
  adjectives.forEach((adjective, k) => {
    for (let j = 0; j < heldPerAdjective; j++) {
      out.add(`${adjective} ${nouns[(k * heldPerAdjective + j + 1) % nouns.length]}`);
    }
  });
  return out;
}

const held = new Set([
  ...heldOut(animalAdjectives, animals, 2),
  ...heldOut(landAdjectives, landPlaces, 1),
  ...heldOut(waterAdjectives, waterPlaces, 1),
]);

// The article's two sentences come first, and are always in training.
const article: Parts = {
  opening: "",
  modifier: "",
  animal: "animal",
  negation: "didn't",
  verb: "cross",
  place: "street",
  conjunction: "because",
  adjective: "tired",
};
const labelled = [
  sentence(article, "animal"),
  sentence({ ...article, adjective: "narrow" }, "place"),
];
const seen = new Set(labelled.map((s) => s.text));
while (labelled.length < TOTAL) {
  const s = randomSentence(labelled.length % 2 === 0 ? "animal" : "place");
  if (seen.has(s.text)) continue;
  seen.add(s.text);
  labelled.push(s);
}

const train = labelled.filter((s) => !held.has(s.pairing));
const test = labelled.filter((s) => held.has(s.pairing));
const trainWords = new Set(train.flatMap((s) => WordTokenizer.split(s.text)));
for (const s of test) {
  for (const w of WordTokenizer.split(s.text)) {
    if (!trainWords.has(w)) {
      throw new Error(`make_it_sentences: "${w}" occurs only in the test split`);
    }
  }
}

const row = ({ text, referent, itIndex, referentIndex, otherIndex }: Labelled) => ({
  text,
  referent,
  itIndex,
  referentIndex,
  otherIndex,
});
const data = {
  about:
    '"it" sentences from the grammar in data/make_it_sentences.ts (seed 2026). Indices count the tokens of WordTokenizer.split(text). Test sentences pair an adjective with a referent noun that training never pairs it with.',
  train: train.map(row),
  test: test.map(row),
};
await Deno.writeTextFile(
  OUT,
  JSON.stringify(data, null, 2) + "\n",
);
console.log(`wrote ${train.length} training and ${test.length} test sentences`);
