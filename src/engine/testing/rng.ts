// Tests import the seeded RNG from here; it lives in util/ because production code (LoRA init, sampling) uses it too.
export { Rng } from '../util/rng.ts';
