// Tests import the comparison helper from here; it lives in util/ because the in-page self-check uses it too.
export * from '../util/allclose.ts';
