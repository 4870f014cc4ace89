import type { HttpApiResult } from '../webhooks/http-event.ts';

/**
 * The small HTML pages a snooze link answers with: what the link would do (GET: one button that
 * POSTs the same token, so a link prefetcher or a mail scanner opening the URL changes nothing),
 * what was done (POST), or why nothing was (expired, altered, unknown). No script, no outside
 * resource, nothing cached, the token never sent on as a Referer.
 */

const HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
};

export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

function page(status: number, title: string, body: string): HttpApiResult {
  return {
    statusCode: status,
    headers: HEADERS,
    body: `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${escapeHtml(title)} · fleetflow</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#1d2330}
h1{font-size:1.3rem}ul{padding-left:1.2rem}button{font:inherit;padding:.6rem 1.2rem;border:0;border-radius:.4rem;background:#2456d3;color:#fff;cursor:pointer}
.muted{color:#5b6477;font-size:.9rem}</style></head>
<body><h1>${escapeHtml(title)}</h1>
${body}
<p class="muted">fleetflow</p></body></html>
`,
  };
}

function list(items: readonly string[]): string {
  const shown = items.slice(0, 50).map((i) => `<li>${escapeHtml(i)}</li>`);
  if (items.length > 50) shown.push(`<li>and ${items.length - 50} more</li>`);
  return `<ul>${shown.join('')}</ul>`;
}

/** GET: what pressing the button will do. */
export function confirmPage(args: {
  action: string;
  token: string;
  label: string;
  what: string;
  instances: readonly string[];
  after: string;
  expires: string;
}): HttpApiResult {
  return page(
    200,
    args.label,
    `<p>${escapeHtml(args.what)}</p>${list(args.instances)}
<p>${escapeHtml(args.after)}</p>
<form method="post" action="${escapeHtml(args.action)}"><input type="hidden" name="t" value="${escapeHtml(args.token)}">
<button type="submit">${escapeHtml(args.label)}</button></form>
<p class="muted">This link works until ${escapeHtml(args.expires)}. Nothing changes until you press the button.</p>`,
  );
}

/** POST: what was done (or had been done before). */
export function donePage(args: {
  applied: boolean;
  label: string;
  instances: readonly string[];
  after: string;
}): HttpApiResult {
  return page(
    200,
    args.applied ? 'Done' : 'Already done',
    `<p>${escapeHtml(args.applied ? `${args.label}: done for` : `${args.label} was already done for`)}</p>${list(args.instances)}
<p>${escapeHtml(args.after)}</p>`,
  );
}

/** Why a link did nothing; nothing was changed. */
export function refusalPage(status: number, title: string, detail: string): HttpApiResult {
  return page(status, title, `<p>${escapeHtml(detail)}</p><p>Nothing was changed.</p>`);
}
