// Entry of .bundle/transformers.mjs (tools/bundle-cli.mjs): `bench -- transformers` where the repository has
// no node_modules (the GPU machine). transformers.js and onnxruntime-node come from .bundle/node_modules,
// unpacked from tools/bench/tjs-kit.sh's .tjskit/tjs.tar.xz; the rest of the harness is in the bundle.
//   node .bundle/transformers.mjs --model <dir> [--device webgpu] [--tokens 32,128] [--new 32] [--reps 10]
import { transformersBench } from './transformers.ts';
import { UsageError } from '../cli/args.ts';

// errors as bench/main.ts reports them: one line, exit 2 for a usage error, else 1
transformersBench(process.argv.slice(2)).then(
  () => process.exit(0),
  (e: Error) => {
    process.stderr.write(`bench transformers: ${e.message}\n`);
    process.exit(e instanceof UsageError ? 2 : 1);
  },
);
