#!/usr/bin/env python3
"""The machine code NVIDIA's Vulkan driver compiled for a WGSL kernel, cut out of its shader disk cache (a look at
what the compiler made of a loop: unrolled or not, which loads, how many registers). Best effort: the cache format
is the driver's own and undocumented; this reads what driver 580.159.04 wrote on the GPU machine.

On the GPU machine (one kernel per process, so the cache holds little else):
    export __GL_SHADER_DISK_CACHE_PATH=/tmp/gc __GL_SHADER_DISK_CACHE=1 __GL_SHADER_DISK_CACHE_SKIP_CLEANUP=1
    node .bundle/bench.mjs kernels --filter "matmul 2048^3" --versions vec4; cp /tmp/gc/GLCache/*/*/*.bin $OUT/
Here (needs the `zstd` command):
    python3 tools/bench/nv_cache_sass.py <file.bin> <out-dir>      → <out-dir>/kernel-<i>.bin, raw SM 9.0 code
Then on the GPU machine (CUDA 13's nvdisasm): /usr/local/cuda-13.0/bin/nvdisasm -b SM90 <out-dir>/kernel-0.bin

How: a .bin holds zstd frames (magic 28 b5 2f fd; some do not decompress with the zstd command, reason unknown);
a decompressed frame ("NVuc" container) holds the code of one or more kernels, 16-byte instructions whose last
one is a branch to itself (BRA, low opcode bits 0x7947) followed by NOP padding (0x7918). Each kernel is read
backwards from there while the instructions' control bits look like code.
"""
import os, struct, subprocess, sys, tempfile

MAGIC = b'\x28\xb5\x2f\xfd'
NOP = bytes.fromhex('1879000000000000')


def frames(b: bytes):
    """every zstd frame of b that the zstd command decompresses (from a magic to a later magic or the end)"""
    at = [i for i in range(len(b) - 3) if b[i:i + 4] == MAGIC]
    out = []
    with tempfile.TemporaryDirectory() as d:
        for s in at:
            for e in [x for x in at if x > s] + [len(b)]:
                src, dst = os.path.join(d, 'f.zst'), os.path.join(d, 'f.out')
                open(src, 'wb').write(b[s:e])
                if subprocess.run(['zstd', '-q', '-d', '-f', src, '-o', dst], capture_output=True).returncode == 0:
                    out.append((s, open(dst, 'rb').read()))
                    break
    return out


def kernels(blob: bytes):
    """(start, end) of each kernel's code in a decompressed frame"""
    found = []
    for e in range(16, len(blob) - 8, 8):
        if blob[e:e + 8] != NOP or (struct.unpack_from('<Q', blob, e - 16)[0] & 0xffff) != 0x7947:
            continue
        o, start, bad = e - 16, e - 16, 0
        while o >= 0:
            lo, hi = struct.unpack_from('<QQ', blob, o)
            if (hi >> 56) < 0x40 and (hi & 0xffff000000000000) != 0:
                start, bad = o, 0
            else:
                bad += 1
                if bad > 2:
                    break
            o -= 16
        found.append((start, e))
    return found


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    b = open(sys.argv[1], 'rb').read()
    os.makedirs(sys.argv[2], exist_ok=True)
    n = 0
    for at, blob in frames(b):
        for s, e in kernels(blob):
            path = os.path.join(sys.argv[2], f'kernel-{n}.bin')
            open(path, 'wb').write(blob[s:e + 32])
            print(f'{path}: frame at byte {at}, {(e - s) // 16} instructions')
            n += 1
    if n == 0:
        sys.exit(f'{sys.argv[1]}: no kernel code found (no frame decompressed, or none holds a BRA-to-self + NOP end)')


if __name__ == '__main__':
    main()
