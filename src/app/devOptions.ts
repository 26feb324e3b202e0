// Developer / testing options, read from the page's query string. They are shown on the page
// when set (never silent), and only change where models come from:
//
//   ?model=./fixtures/llama-gqa/          load the checkpoint folder at this URL on start (a URL
//                                         relative to the page: the app's own static files)
//   ?hubEndpoint=http://127.0.0.1:8080    send Hub requests to this Hub-compatible server instead
//                                         of https://huggingface.co (tools/hub-server.mjs; tests)
//
// The e2e tests (e2e/model.test.ts) use both; nobody needs them to use the lab.
//
// A link can carry ?hubEndpoint=, so an access token typed in the page goes only to the Hugging Face
// Hub (HF_HUB_ORIGIN) unless the user confirms, in the Model panel, that it may go to the other host
// (the model slice enforces it: tokenForEndpoint).

export interface DevOptions {
  /** absolute URL of a checkpoint folder to load on start */
  model?: string;
  /** origin (and path prefix) of a Hub-compatible server */
  hubEndpoint?: string;
}

export function readDevOptions(href: string = globalThis.location?.href ?? 'http://localhost/'): DevOptions {
  const url = new URL(href);
  const out: DevOptions = {};
  const model = url.searchParams.get('model');
  if (model) out.model = new URL(model.endsWith('/') ? model : `${model}/`, url).href;
  const hub = url.searchParams.get('hubEndpoint');
  if (hub && /^https?:\/\//.test(hub)) out.hubEndpoint = hub.replace(/\/+$/, '');
  return out;
}

/** The last folder name of a URL ("http://x/fixtures/llama-gqa/" → "llama-gqa"). */
export function urlFolderName(url: string): string {
  return new URL(url).pathname.replace(/\/+$/, '').split('/').pop() || url;
}

/** The Hugging Face Hub: the one place an access token goes without the user's confirmation. */
export const HF_HUB_ORIGIN = 'https://huggingface.co';

/** Is `endpoint` (a ?hubEndpoint= value; undefined = the default) the Hugging Face Hub itself? */
export function isHuggingFaceHub(endpoint: string | undefined): boolean {
  if (endpoint === undefined) return true;
  try {
    const u = new URL(endpoint);
    return u.origin === HF_HUB_ORIGIN && !u.username && !u.password;
  } catch {
    return false;
  }
}

/** The host (and port) of an endpoint, as the page names it ("127.0.0.1:8080"); the text itself if not a URL. */
export function endpointHost(endpoint: string): string {
  try {
    return new URL(endpoint).host || endpoint;
  } catch {
    return endpoint;
  }
}

/**
 * The token a Hub load may send to `endpoint`: the token for the Hugging Face Hub; for another host only
 * when the user confirmed exactly that endpoint (`confirmed`), else none.
 */
export function tokenForEndpoint(token: string | undefined, endpoint: string | undefined, confirmed: string | undefined): string | undefined {
  if (!token) return undefined;
  return isHuggingFaceHub(endpoint) || (endpoint !== undefined && confirmed === endpoint) ? token : undefined;
}
