#!/usr/bin/env python3
"""The machine code NVIDIA's Vulkan driver compiled for a WGSL kernel, cut out of its shader disk cache (a look at
what the compiler made of a loop: unrolled or not, which loads, how many registers). Best effort: the cache format
is the driver's own and undocumented; this reads what driver 580.159.04 wrote on the GPU machine.

On the GPU machine (one kernel per process, so the cache holds little else):
    export __GL_SHADER_DISK_CACHE_PATH=/tmp/gc __GL_SHADER_DISK_CACHE=1 __GL_SHADER_DISK_CACHE_SKIP_CLEANUP=1
    node .bundle/bench.mjs kernels --filter "matmul 2048^3" --versions vec4; cp /tmp/gc/GLCache/*/*/*.bin $OUT/
Then (needs the `zstd` command; here, or on the GPU machine with a zstd binary carried there):
    python3 tools/bench/nv_cache_sass.py <file.bin> <out-dir>      → <out-dir>/kernel-<i>.bin, raw SM 9.0 code
Then on the GPU machine (CUDA 13's nvdisasm): /usr/local/cuda-13.0/bin/nvdisasm -b SM90 <out-dir>/kernel-0.bin > k0.sass
And a summary of a listing (registers, FFMA / LDS / STS / LDG / BAR / BRA counts, instructions):
    python3 tools/bench/nv_cache_sass.py --summary k0.sass

How: a .bin holds zstd frames (magic 28 b5 2f fd), each cut at its exact end by reading its header and block
headers (frame_end; a frame followed by other bytes does not decompress with the zstd command otherwise);
a decompressed frame ("NVuc" container) holds the code of one or more kernels, 16-byte instructions whose last
one is a branch to itself (BRA, low opcode bits 0x7947) followed by NOP padding (0x7918). Each kernel is read
backwards from there while the instructions' control bits look like code.
"""
import os, struct, subprocess, sys, tempfile

MAGIC = b'\x28\xb5\x2f\xfd'
NOP = bytes.fromhex('1879000000000000')


def frame_end(b: bytes, s: int):
    """the end of the zstd frame that starts at s (RFC 8878: header, blocks, optional checksum), or None if its
    header or a block runs past b or a block type is reserved (a magic inside other data, not a frame)"""
    if s + 5 > len(b):
        return None
    fhd = b[s + 4]
    single, checksum, dict_flag, fcs_flag = (fhd >> 5) & 1, (fhd >> 2) & 1, fhd & 3, fhd >> 6
    o = s + 5 + (0 if single else 1) + (0, 1, 2, 4)[dict_flag] + ((1 if single else 0), 2, 4, 8)[fcs_flag]
    while True:
        if o + 3 > len(b):
            return None
        h = b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)
        last, kind, size = h & 1, (h >> 1) & 3, h >> 3
        if kind == 3:
            return None
        o += 3 + (1 if kind == 1 else size)
        if last:
            break
    o += 4 if checksum else 0
    return o if o <= len(b) else None


def frames(b: bytes):
    """every zstd frame of b that the zstd command decompresses (cut at frame_end, else at a later magic or the end)"""
    at = [i for i in range(len(b) - 3) if b[i:i + 4] == MAGIC]
    out = []
    with tempfile.TemporaryDirectory() as d:
        for s in at:
            exact = frame_end(b, s)
            for e in ([exact] if exact else []) + [x for x in at if x > s] + [len(b)]:
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


def summary(text: str) -> str:
    """registers (highest R index + 1) and the count of the instructions a matmul's loop is made of, by opcode
    (IMAD counts IMAD.MOV too, a move the compiler writes as a multiply-add)"""
    import re
    ops = re.findall(r'/\*[0-9a-f]{4,}\*/\s+(?:@!?U?P\w+\s+)?([A-Z][A-Z0-9_]*)', text)
    regs = [int(r) for r in re.findall(r'\bR(\d+)\b', text)]
    count = {k: sum(1 for o in ops if o == k) for k in ('FFMA', 'LDS', 'STS', 'LDG', 'BAR', 'BRA', 'IMAD', 'IADD3', 'LEA', 'MOV')}
    return f'{len(ops)} instructions, {max(regs) + 1 if regs else 0} registers (R0..R{max(regs) if regs else "-"}); ' + \
        ', '.join(f'{k} {v}' for k, v in count.items())


def main():
    if len(sys.argv) == 3 and sys.argv[1] == '--summary':
        print(summary(open(sys.argv[2]).read()))
        return
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
