// Developer / testing options, read from the page's query string. They are shown on the page
// when set (never silent), and only change where models come from:
//
//   ?model=./fixtures/llama-gqa/          load the checkpoint folder at this URL on start (a URL
//                                         relative to the page: the app's own static files)
//   ?hubEndpoint=http://127.0.0.1:8080    send Hub requests to this Hub-compatible server instead
//                                         of https://huggingface.co (tools/hub-server.mjs; tests)
//
// The e2e tests (e2e/model.test.ts) use both; nobody needs them to use the lab.

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
