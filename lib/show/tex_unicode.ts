/**
 * TeX → Unicode: a formula as plain text for terminals and `text/plain`, e.g.
 * `\mathrm{softmax}\left(\frac{QK^T}{\sqrt{d_k}}\right)V` → `softmax(QKᵀ/√dₖ)V`
 * ({@link texToUnicode}), and the Unicode mathematical alphabets (ℝ, ℒ, 𝐖) that the MathML of
 * katex.ts uses too. No dependency: it reads the TeX itself.
 *
 * @module
 */

// ───────────────────────────── styled letters (ℝ, ℒ, 𝐖) ─────────────────────────────

/** First code point of each Unicode mathematical alphabet: [capitals, small letters, digits]. */
const ALPHABETS: Record<string, [number, number, number | null]> = {
  "bold": [0x1d400, 0x1d41a, 0x1d7ce],
  "italic": [0x1d434, 0x1d44e, null],
  "bold-italic": [0x1d468, 0x1d482, null],
  "script": [0x1d49c, 0x1d4b6, null],
  "fraktur": [0x1d504, 0x1d51e, null],
  "double-struck": [0x1d538, 0x1d552, 0x1d7d8],
};

/** Letters that live in the Letterlike Symbols block instead of the alphabet's slot. */
const LETTERLIKE: Record<string, Record<string, string>> = {
  "italic": { h: "ℎ" },
  "script": {
    B: "ℬ",
    E: "ℰ",
    F: "ℱ",
    H: "ℋ",
    I: "ℐ",
    L: "ℒ",
    M: "ℳ",
    R: "ℛ",
    e: "ℯ",
    g: "ℊ",
    o: "ℴ",
  },
  "fraktur": { C: "ℭ", H: "ℌ", I: "ℑ", R: "ℜ", Z: "ℨ" },
  "double-struck": { C: "ℂ", H: "ℍ", N: "ℕ", P: "ℙ", Q: "ℚ", R: "ℝ", Z: "ℤ" },
};

/** Whether `variant` (a MathML `mathvariant` such as `"double-struck"`) has a Unicode alphabet. */
export function isMathAlphabet(variant: string): boolean {
  return variant in ALPHABETS;
}

/** `ch` in a mathematical alphabet (`"double-struck"`, `"R"` → `"ℝ"`); unchanged when there is no such glyph. */
export function styledChar(ch: string, variant: string): string {
  const alphabet = ALPHABETS[variant];
  if (!alphabet) return ch;
  const special = LETTERLIKE[variant]?.[ch];
  if (special) return special;
  const [upper, lower, digit] = alphabet;
  if (ch >= "A" && ch <= "Z") return String.fromCodePoint(upper + ch.charCodeAt(0) - 65);
  if (ch >= "a" && ch <= "z") return String.fromCodePoint(lower + ch.charCodeAt(0) - 97);
  if (ch >= "0" && ch <= "9" && digit !== null) {
    return String.fromCodePoint(digit + ch.charCodeAt(0) - 48);
  }
  return ch;
}

// ───────────────────────────── TeX → Unicode ─────────────────────────────

/** A lookup table from two strings of equal length: `keys[i]` → `values[i]` (by code point). */
function zip(keys: string, values: string): Record<string, string> {
  const k = [...keys];
  const v = [...values];
  if (k.length !== v.length) throw new Error(`zip: ${k.length} keys but ${v.length} values`);
  return Object.fromEntries(k.map((c, i) => [c, v[i]]));
}

/** A lookup table from `"name glyph name glyph …"`. */
function pairs(list: string): Record<string, string> {
  const w = list.trim().split(/\s+/);
  return Object.fromEntries(w.flatMap((name, i) => (i % 2 ? [] : [[name, w[i + 1]]])));
}

const SUPERSCRIPT = zip(
  "0123456789+-−=()abcdefghijklmnoprstuvwxyzABDEGHIJKLMNOPRTUVW⊤βγδθφχ′",
  "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂᵀᵝᵞᵟᶿᵠᵡ′",
);

const SUBSCRIPT = zip(
  "0123456789+-−=()aehijklmnoprstuvxβγρφχ",
  "₀₁₂₃₄₅₆₇₈₉₊₋₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵪ",
);

/** Marker for `\quad`: two spaces that survive the collapsing of runs of spaces. */
const QUAD = "\uE002";

/** Letters and symbols: `\alpha` → `α`. */
const SYMBOLS: Record<string, string> = {
  ...pairs(`
    alpha α  beta β  gamma γ  delta δ  epsilon ϵ  varepsilon ε  zeta ζ  eta η  theta θ
    vartheta ϑ  iota ι  kappa κ  lambda λ  mu μ  nu ν  xi ξ  pi π  rho ρ  sigma σ  tau τ
    upsilon υ  phi ϕ  varphi φ  chi χ  psi ψ  omega ω  Gamma Γ  Delta Δ  Theta Θ  Lambda Λ
    Xi Ξ  Pi Π  Sigma Σ  Upsilon Υ  Phi Φ  Psi Ψ  Omega Ω  ell ℓ  nabla ∇  partial ∂
    infty ∞  sum Σ  prod ∏  int ∫  ldots …  dots …  cdots ⋯  vdots ⋮  ddots ⋱  circ ∘  hookleftarrow ↵
    top ⊤  bot ⊥  prime ′  forall ∀  exists ∃  neg ¬  lnot ¬  emptyset ∅  langle ⟨  rangle ⟩
    lfloor ⌊  rfloor ⌋  lceil ⌈  rceil ⌉  lvert |  rvert |  vert |  lVert ‖  rVert ‖  Vert ‖
    lbrace {  rbrace }  backslash \\  dagger †  checkmark ✓`),
  quad: QUAD,
  qquad: QUAD + QUAD,
};

/** Binary operators, relations and arrows: written with a space on each side. */
const RELATIONS = pairs(`
  cdot ·  times ×  div ÷  pm ±  mp ∓  odot ⊙  otimes ⊗  oplus ⊕  ast ∗  star ⋆  setminus ∖
  mid ∣  approx ≈  neq ≠  ne ≠  leq ≤  le ≤  geq ≥  ge ≥  ll ≪  gg ≫  to →  rightarrow →
  leftarrow ←  gets ←  Rightarrow ⇒  Leftarrow ⇐  iff ⇔  Leftrightarrow ⇔  leftrightarrow ↔
  implies ⟹  mapsto ↦  in ∈  notin ∉  ni ∋  subset ⊂  subseteq ⊆  supset ⊃  cup ∪  cap ∩
  sim ∼  simeq ≃  propto ∝  equiv ≡  coloneqq ≔  triangleq ≜  land ∧  wedge ∧  lor ∨  vee ∨`);

/** Function names written upright, separated by a space from a following letter: `\log P` → `log P`. */
const FUNCTIONS = new Set(
  `log ln lg exp sin cos tan sinh cosh tanh arcsin arccos arctan max min arg sup inf lim limsup
   liminf det dim ker deg gcd Pr hom`.split(/\s+/),
);

/** Combining marks for accents: `\hat{x}` → `x̂`. */
const ACCENTS = pairs(`
  hat \u0302  widehat \u0302  tilde \u0303  widetilde \u0303  bar \u0304  overline \u0305
  vec \u20d7  dot \u0307  ddot \u0308`);

/** Commands whose argument is shown as is. */
const PLAIN_STYLES = new Set(
  `mathrm text textrm textit textbf textsf texttt mathit mathsf mathtt mathbf boldsymbol bm mbox
   mathnormal emph underline underbrace overbrace`.split(/\s+/),
);

/** Commands that change sizes or spacing only: dropped (`\left(` keeps its delimiter). */
const DROPPED = new Set(
  `left right middle big Big bigg Bigg bigl bigr Bigl Bigr biggl biggr Biggl Biggr limits
   nolimits displaystyle textstyle scriptstyle ! nonumber notag`.split(/\s+/),
);

/** Marker: becomes a space only between two word-like characters (`Σᵢ log P`, but `sin(`). */
const SOFT = "\uE000";
/** Marker: becomes a space unless next to a space or the edge (`uᵢ ∣ uⱼ`). */
const PAD = "\uE001";

type Tok = { kind: "cmd" | "ch" | "space"; v: string };

function tokenize(src: string): Tok[] {
  const toks: Tok[] = [];
  const cs = [...src];
  for (let i = 0; i < cs.length; i++) {
    const c = cs[i];
    if (c === "\\") {
      let j = i + 1;
      if (j < cs.length && /[a-zA-Z]/.test(cs[j])) {
        while (j < cs.length && /[a-zA-Z]/.test(cs[j])) j++;
        if (cs[j] === "*") j++;
        toks.push({ kind: "cmd", v: cs.slice(i + 1, j).join("").replace(/\*$/, "") });
        const end = j;
        while (j < cs.length && /\s/.test(cs[j])) j++; // TeX: spaces after a control word are ignored
        // …but in plain text the space before a written relation stays: `\lambda = 1` → `λ = 1`.
        if (j > end && /[=<>+\-]/.test(cs[j] ?? "")) toks.push({ kind: "space", v: " " });
        i = j - 1;
      } else {
        toks.push({ kind: "cmd", v: cs[j] ?? "" });
        i = j;
      }
    } else if (/\s/.test(c)) {
      while (i + 1 < cs.length && /\s/.test(cs[i + 1])) i++;
      toks.push({ kind: "space", v: " " });
    } else if (c === "%") {
      while (i + 1 < cs.length && cs[i + 1] !== "\n") i++;
    } else {
      toks.push({ kind: "ch", v: c });
    }
  }
  return toks;
}

/** True when `s` needs no parentheses as a fraction's numerator or denominator. */
function isAtomic(s: string): boolean {
  let depth = 0;
  for (const c of s) {
    if ("([{⟨".includes(c)) depth++;
    else if (")]}⟩".includes(c)) depth--;
    else if (depth === 0 && /[\s+\-−=<>,;·×÷±/∣≈≤≥→⇒∈\uE000\uE001]/.test(c)) return false;
  }
  return true;
}

/** `s` as a superscript or subscript: glyphs when every character has one, else `^(…)` / `_(…)`. */
function script(s: string, table: Record<string, string>, mark: string): string {
  const plain = s.replace(/[\s\uE000\uE001]/g, "");
  const chars = [...plain];
  if (chars.length === 0) return "";
  if (chars.every((c) => c in table)) return chars.map((c) => table[c]).join("");
  if (chars.length === 1 || /^\(.*\)$/.test(plain)) return mark + plain;
  return mark + "(" + plain + ")";
}

const MATRIX_DELIMS: Record<string, [string, string]> = {
  matrix: ["", ""],
  smallmatrix: ["", ""],
  array: ["", ""],
  bmatrix: ["[", "]"],
  pmatrix: ["(", ")"],
  vmatrix: ["|", "|"],
  Vmatrix: ["‖", "‖"],
  Bmatrix: ["{", "}"],
};

class TexParser {
  private i = 0;
  constructor(private toks: Tok[]) {}

  /** Converts tokens until the end, a closing `}`, or a token `stop` accepts (left unconsumed). */
  sequence(stop?: (t: Tok) => boolean): string {
    let out = "";
    while (this.i < this.toks.length) {
      const t = this.toks[this.i];
      if (t.kind === "ch" && t.v === "}") break;
      if (stop && stop(t)) break;
      this.i++;
      out += this.item(t);
    }
    return out;
  }

  /** Converts every token, skipping unmatched closing braces. */
  all(): string {
    let out = "";
    while (this.i < this.toks.length) {
      out += this.sequence();
      this.i++;
    }
    return out;
  }

  /** A group `{…}` or a single token, for a command's argument or a script. */
  argument(): string {
    while (this.toks[this.i]?.kind === "space") this.i++;
    const t = this.toks[this.i++];
    if (!t) return "";
    if (t.kind === "ch" && t.v === "{") return this.group();
    return this.item(t);
  }

  /** The raw letters of a `{name}` argument, for `\begin{…}`. */
  private name(): string {
    let s = "";
    if (this.toks[this.i]?.v !== "{") return s;
    this.i++;
    while (this.i < this.toks.length && this.toks[this.i].v !== "}") s += this.toks[this.i++].v;
    this.i++;
    return s;
  }

  /** The rest of a group whose `{` was consumed, up to and including its `}`. */
  private group(): string {
    const s = this.sequence();
    if (this.toks[this.i]?.v === "}") this.i++;
    return s;
  }

  /** An optional `[…]` argument (for `\sqrt[n]`). */
  private optional(): string | undefined {
    if (this.toks[this.i]?.v !== "[") return undefined;
    this.i++;
    const s = this.sequence((t) => t.kind === "ch" && t.v === "]");
    this.i++;
    return s;
  }

  private item(t: Tok): string {
    if (t.kind === "space") return " ";
    if (t.kind === "ch") {
      switch (t.v) {
        case "{":
          return this.group();
        case "^":
          return script(this.argument(), SUPERSCRIPT, "^");
        case "_":
          return script(this.argument(), SUBSCRIPT, "_");
        case "~":
          return " ";
        case "'":
          return "′";
        case "&":
          return " ";
        default:
          return t.v;
      }
    }
    return this.command(t.v);
  }

  private command(c: string): string {
    if (c in SYMBOLS) return SYMBOLS[c];
    if (c in RELATIONS) return PAD + RELATIONS[c] + PAD;
    if (FUNCTIONS.has(c)) return SOFT + c + SOFT;
    if (DROPPED.has(c)) {
      if (c === "left" || c === "right" || c === "middle") {
        while (this.toks[this.i]?.kind === "space") this.i++;
        const d = this.toks[this.i++];
        if (!d || d.v === ".") return "";
        return this.item(d);
      }
      return "";
    }
    if (c in ACCENTS) {
      const a = this.argument();
      return a + ACCENTS[c];
    }
    if (PLAIN_STYLES.has(c)) return this.argument();
    switch (c) {
      case "frac":
      case "dfrac":
      case "tfrac": {
        const a = this.argument();
        const b = this.argument();
        const wrapIf = (s: string) => (isAtomic(s) ? s : `(${s})`);
        return `${wrapIf(a)}/${wrapIf(b)}`;
      }
      case "binom":
        return `C(${this.argument()}, ${this.argument()})`;
      case "sqrt": {
        const n = this.optional();
        const a = this.argument();
        return (n ? script(n, SUPERSCRIPT, "^") : "") + "√" + (isAtomic(a) ? a : `(${a})`);
      }
      case "operatorname":
        return SOFT + this.argument() + SOFT;
      case "mathbb":
      case "mathcal":
      case "mathscr":
      case "mathfrak": {
        const variant = c === "mathbb" ? "double-struck" : c === "mathfrak" ? "fraktur" : "script";
        return [...this.argument()].map((ch) => styledChar(ch, variant)).join("");
      }
      case "begin":
        return this.environment(this.name());
      case ",":
      case ":":
      case ";":
      case ">":
      case " ":
        return " ";
      case "|":
        return "‖";
      case "\\":
        return "\n";
      default:
        return c;
    }
  }

  /** `\begin{name}` … `\end{name}`: matrices as `[a, b; c, d]`, aligned rows on separate lines. */
  private environment(name: string): string {
    if (name === "array") this.name();
    const rows: string[][] = [];
    let row: string[] = [];
    const isBreak = (t: Tok) =>
      (t.kind === "ch" && t.v === "&") || (t.kind === "cmd" && (t.v === "\\" || t.v === "end"));
    while (this.i < this.toks.length) {
      row.push(this.sequence(isBreak).trim());
      const t = this.toks[this.i++];
      if (!t || t.v === "}") break;
      if (t.v === "&") continue;
      rows.push(row);
      row = [];
      if (t.v === "end") {
        this.name();
        break;
      }
    }
    if (row.length && row.some((c) => c !== "")) rows.push(row);
    const kept = rows.filter((r) => r.some((c) => c !== ""));
    if (name in MATRIX_DELIMS) {
      const [l, r] = MATRIX_DELIMS[name];
      return l + kept.map((r) => r.join(", ")).join("; ") + r;
    }
    if (name === "cases") return "{ " + kept.map((r) => r.join(" ")).join("; ") + " }";
    return kept.map((r) => r.join("")).join("\n");
  }
}

const WORDISH = /[\p{L}\p{N})\]′]/u;

/** Turns the spacing markers into spaces where they belong, and tidies spaces. */
function resolveSpacing(s: string): string {
  const cs = [...s];
  let out = "";
  for (let i = 0; i < cs.length; i++) {
    const c = cs[i];
    if (c !== SOFT && c !== PAD) {
      out += c;
      continue;
    }
    const prev = [...out].pop() ?? "";
    let j = i + 1;
    while (j < cs.length && (cs[j] === SOFT || cs[j] === PAD)) j++;
    const next = cs[j] ?? "";
    if (c === SOFT && WORDISH.test(prev) && WORDISH.test(next)) out += " ";
    if (c === PAD && prev !== "" && next !== "" && !/\s/.test(prev) && !/\s/.test(next)) {
      out += " ";
    }
  }
  return out.split("\n")
    .map((l) =>
      l.replace(/ {2,}/g, " ").replace(/ ?(\uE002+) ?/g, (_, q) => "  ".repeat(q.length)).trim()
    )
    .join("\n");
}

/**
 * A Unicode rendering of a LaTeX formula, for terminals and `text/plain`:
 * `\mathrm{softmax}\left(\frac{QK^T}{\sqrt{d_k}}\right)V` → `softmax(QKᵀ/√dₖ)V`. Fractions become
 * `a/b` (with parentheses around non-atomic parts), scripts use sub/superscript glyphs when every
 * character has one (else `^(…)`, `_(…)`), Greek letters and operators their symbols, matrices
 * `[a, b; c, d]`; sizing commands are dropped.
 */
export function texToUnicode(latex: string): string {
  return resolveSpacing(new TexParser(tokenize(latex)).all());
}
