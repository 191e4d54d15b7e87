// The share of uniform random strings with no repeated n-gram: where copying by n-gram lookup
// can be right everywhere (docs/REPRODUCTION.md, claim 2). A Monte Carlo estimate, seeded.
// Usage: node scripts/repeated-ngrams.mjs [LETTERS=26] [STRINGS=2000]
const letters = Number(process.argv[2] ?? 26);
const strings = Number(process.argv[3] ?? 2000);
const lengths = [100, 150, 200, 300, 500, 750, 1000];
const ngrams = [3, 4, 5, 8];

// mulberry32, seeded, so that reruns print the same table.
let state = 1;
function uniform() {
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const letter = () => Math.floor(uniform() * letters);

function hasRepeat(text, n) {
  const seen = new Set();
  for (let i = 0; i + n <= text.length; ++i) {
    const gram = text.slice(i, i + n).join(',');
    if (seen.has(gram)) return true;
    seen.add(gram);
  }
  return false;
}

console.log(['length', ...ngrams.map((n) => `n=${n}`)].join('\t'));
for (const length of lengths) {
  const clean = ngrams.map(() => 0);
  for (let s = 0; s < strings; ++s) {
    const text = Array.from({length}, letter);
    ngrams.forEach((n, i) => { if (!hasRepeat(text, n)) clean[i] += 1; });
  }
  console.log([length, ...clean.map((c) => (c / strings).toFixed(3))].join('\t'));
}
