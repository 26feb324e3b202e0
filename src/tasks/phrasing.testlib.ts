// Textual distance between story phrasings, shared by the arithmetic tests (a test library: no
// production code imports it). Words: lower-cased, punctuation removed ("$", "'s", "-"), every {slot}
// replaced by one placeholder "_" (so "{N} buys {a} {x}" and "{M} buys {c} {y}" match); two
// phrasings are close when they share a run of NGRAM consecutive words.
export const NGRAM = 5;
export const phraseWords = (q: string): string[] =>
  q.toLowerCase().replace(/\{\w+\}/g, ' _ ').replace(/[^a-z0-9_\s]/g, ' ').trim().split(/\s+/);
export const ngrams = (q: string): string[] => {
  const w = phraseWords(q);
  return Array.from({ length: Math.max(0, w.length - NGRAM + 1) }, (_, i) => w.slice(i, i + NGRAM).join(' '));
};
