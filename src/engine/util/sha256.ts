// SHA-256 as lowercase hex through WebCrypto (crypto.subtle): the same in a browser worker and in
// Node >= 20, so engine code needs no node:crypto. Data hashes go into checkpoints, governance.json
// and the tokenized-rows cache key.

const enc = new TextEncoder();

export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  const bytes = typeof data === 'string' ? enc.encode(data) : data;
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}
