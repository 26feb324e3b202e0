// The report page as the Analyze page shows it: in an iframe of srcdoc. A srcdoc document inherits
// the lab's Content-Security-Policy (tools/csp.ts: style-src 'self', base-uri 'self'), which blocks
// the report's inline <style>, its style="" attributes and a <base>; and its fragment links (#heads)
// would resolve against the lab's URL, loading the lab into the frame. So, for display only (the
// downloads are renderReport's bytes unchanged):
//   - the <style> element's CSS is taken out and given to the frame as a constructed stylesheet
//     (CSSOM, which CSP does not govern), and style="" becomes data-lab-style="", set through
//     element.style after load;
//   - href="#x" becomes href="about:srcdoc#x": a fragment navigation within the frame.
// The frame is sandboxed with allow-same-origin only (so the page can do the above; no script runs
// in it: no allow-scripts, and the report has none); its own CSP meta stays.

export interface FrameDoc {
  srcdoc: string;
  css: string;
}

/** renderReport's page → the srcdoc to show and the CSS to adopt after load. */
export function frameDoc(html: string): FrameDoc {
  let css = '';
  const srcdoc = html
    // every text of the report is escaped (esc: " < > & '), so these patterns match markup only
    .replace(/<style>([\s\S]*?)<\/style>/gi, (_, c: string) => ((css += c), ''))
    .replace(/ style="([^"]*)"/g, ' data-lab-style="$1"')
    .replace(/ href="#/g, ' href="about:srcdoc#');
  return { srcdoc, css };
}

/** Gives the loaded frame its styles (the CSS as an adopted sheet, the moved style attributes). */
export function styleFrame(frame: HTMLIFrameElement, css: string): boolean {
  const doc = frame.contentDocument;
  const win = doc?.defaultView as (Window & typeof globalThis) | null | undefined;
  if (!doc || !win) return false;
  // a sheet of the frame's own realm: adoptedStyleSheets takes no sheet of another document
  const sheet = new win.CSSStyleSheet();
  sheet.replaceSync(css);
  doc.adoptedStyleSheets = [sheet];
  for (const el of doc.querySelectorAll<HTMLElement | SVGElement>('[data-lab-style]')) el.style.cssText = el.dataset.labStyle ?? '';
  return true;
}
