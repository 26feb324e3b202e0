// Entry of .bundle/transformers.mjs (tools/bundle-cli.mjs): `bench -- transformers` where the repository has
// no node_modules (the GPU machine). transformers.js and onnxruntime-node come from .bundle/node_modules,
// unpacked from tools/bench/tjs-kit.sh's .tjskit/tjs.tar.xz; the rest of the harness is in the bundle.
//   node .bundle/transformers.mjs --model <dir> [--device webgpu] [--tokens 32,128] [--new 32] [--reps 10]
import { transformersBench } from './transformers.ts';
import { UsageError } from '../cli/args.ts';

try {
  await transformersBench(process.argv.slice(2));
} catch (e) {
  console.error(e instanceof UsageError ? `usage: ${e.message}` : e);
  process.exit(1);
}
