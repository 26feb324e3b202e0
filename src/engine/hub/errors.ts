// One error class for everything that can go wrong while fetching or caching Hub files. Each
// message says what happened and what to do; `code` lets the UI pick a reaction (ask for a token,
// offer "resume", ...) without parsing text.

/** Bytes received so far, enough for a later downloadFile call to continue with a Range request. */
export interface ResumeState {
  /** the file's first bytes, in order (their concatenation is the prefix received so far) */
  bytes: Uint8Array[];
  /** the ETag of the response those bytes came from; a resume refuses to mix two versions */
  etag?: string | null;
  /** the full file size when it was known */
  total?: number | null;
}

export type HubErrorCode =
  | 'auth' //        401 / 403: the repo is gated or private; needs a (valid) access token
  | 'not-found' //   404: no such repo, revision or file
  | 'network' //     no connection, connection dropped too often, server errors after retries
  | 'cancelled' //   the AbortSignal fired; `partial` holds what was received
  | 'http' //        any other unexpected HTTP status
  | 'checksum' //    downloaded or cached bytes do not match their SHA-256
  | 'too-large' //   planDownload: the model does not fit this GPU / memory budget
  | 'storage' //     IndexedDB missing, blocked or full
  | 'invalid'; //    bad argument (repo name, path)

export class HubError extends Error {
  readonly code: HubErrorCode;
  readonly status: number | null;
  /** for 'cancelled' and 'network': the bytes received, to pass as `resumeFrom` next time */
  readonly partial: ResumeState | null;
  constructor(code: HubErrorCode, message: string, opts: { status?: number; partial?: ResumeState | null; cause?: unknown } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = code === 'cancelled' ? 'HubCancelledError' : 'HubError';
    this.code = code;
    this.status = opts.status ?? null;
    this.partial = opts.partial ?? null;
  }
}

/** Parts of a Hub file URL `{endpoint}/{repo}/resolve/{revision}/{file}`, or null for other URLs. */
export function describeHubUrl(url: string): { repo: string; revision: string; file: string } | null {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return null;
  }
  const i = path.indexOf('/resolve/');
  if (i <= 0) return null;
  const rest = path.slice(i + '/resolve/'.length).split('/');
  if (rest.length < 2) return null;
  const dec = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  return { repo: dec(path.slice(1, i)), revision: dec(rest[0]), file: rest.slice(1).map(dec).join('/') };
}

/** The error for a non-OK HTTP status, worded for a person. */
export function statusError(status: number, url: string, opts: { hadToken: boolean; partial?: ResumeState | null }): HubError {
  const h = describeHubUrl(url);
  const where = h ? `${h.repo}@${h.revision}` : new URL(url).host;
  const file = h ? h.file : url;
  if (status === 401 || status === 403) {
    const msg = opts.hadToken
      ? `${file}: the Hub refused your access token for ${where} (HTTP ${status}); check that the token is valid, has read access, and that you accepted the model's license on its Hub page`
      : `${file}: this repo needs an access token (${where} is gated or private, HTTP ${status}); create a read token at https://huggingface.co/settings/tokens, accept the model's license on its Hub page, and enter the token`;
    return new HubError('auth', msg, { status, partial: opts.partial });
  }
  if (status === 404) {
    return new HubError('not-found', `file not found in ${where}: ${file} (HTTP 404); check the repo name, the revision and the file name`, { status });
  }
  return new HubError('http', `${file}: the server answered HTTP ${status} for ${where}; try again later`, { status, partial: opts.partial });
}

/** Network failure (fetch threw, or the body broke off), after retries. */
export function networkError(url: string, cause: unknown, partial: ResumeState | null): HubError {
  const h = describeHubUrl(url);
  const file = h ? `${h.repo}@${h.revision}/${h.file}` : url;
  const kept = partial && partial.bytes.length ? ` (${partial.bytes.reduce((a, b) => a + b.byteLength, 0)} bytes kept; the next attempt resumes)` : '';
  const why = (cause as Error)?.message ? `: ${(cause as Error).message}` : '';
  return new HubError('network', `download of ${file} failed, check your connection${kept}${why}`, { partial, cause });
}

/** The AbortSignal fired. */
export function cancelledError(url: string, partial: ResumeState | null): HubError {
  const h = describeHubUrl(url);
  const file = h ? h.file : url;
  const n = partial ? partial.bytes.reduce((a, b) => a + b.byteLength, 0) : 0;
  return new HubError('cancelled', `download of ${file} cancelled${n ? ` after ${n} bytes; call again to resume` : ''}`, { partial });
}
