/**
 * The HTML page: the result of this request (a quote, an upstream error, or the breaker's
 * fail-fast notice) beside the live panel that explains the breaker. Rendered with `html`,
 * which escapes everything that comes from the quote API.
 */
import { html, type SafeHtml } from './html.js';
import type { CallView, StateView, TransitionView } from './monitor.js';
import type { Quote } from './upstream.js';

/** What happened to the request this page answers. */
export type PageResult =
  | { readonly kind: 'quote'; readonly quote: Quote }
  | { readonly kind: 'upstream-error'; readonly detail: string; readonly counted: boolean }
  | { readonly kind: 'open'; readonly retryAfterMs: number }
  | { readonly kind: 'limited' };

/** Human duration: 1500 → "1.5 s", 60000 → "60 s". */
export const seconds = (ms: number): string => `${Number((ms / 1000).toFixed(1))} s`;

const clock = (iso: string) => iso.slice(11, 19);

const timeTag = (iso: string) => html`<time datetime="${iso}">${clock(iso)}</time>`;

function resultCard(result: PageResult, view: StateView): SafeHtml {
  const s = view.settings;
  switch (result.kind) {
    case 'quote':
      return html`<section class="card result result-quote" id="result" data-kind="quote">
  <p class="eyebrow"><span class="dot ok"></span>200 · the quote API answered</p>
  <blockquote class="quote">
    <p class="quote-text" id="quote-text">${result.quote.quote}</p>
    <footer class="quote-author">— <cite id="quote-author">${result.quote.author}</cite></footer>
  </blockquote>
  <p class="meta">Served by the API at ${timeTag(result.quote.servedAt)}.</p>
  <a class="button" href="/">Load another quote</a>
</section>`;
    case 'upstream-error':
      return html`<section class="card result result-error" id="result" data-kind="upstream-error">
  <p class="eyebrow"><span class="dot bad"></span>502 · Bad gateway</p>
  <h1>The quote API failed: ${result.detail}</h1>
  ${
    result.counted
      ? html`<p>The breaker counted this failure: <b>${view.consecutiveFailures} of ${s.failureThreshold}</b> in a row. At ${s.failureThreshold} it opens and stops calling the API.</p>`
      : html`<p>This is a client error (4xx): our request was wrong, the API is not unwell, so the breaker does <b>not</b> count it.</p>`
  }
  <a class="button" href="/">Try again</a>
</section>`;
    case 'open': {
      const at = new Date(Date.now() + result.retryAfterMs).toISOString();
      return html`<section class="card result result-open" id="result" data-kind="open">
  <p class="eyebrow"><span class="dot bad"></span>503 · Service unavailable</p>
  <h1>The circuit breaker is open</h1>
  <p>The quote API failed ${s.failureThreshold} times in a row, so the breaker stopped calling it.
    This page answered at once, without waiting for the API, and the API gets time to recover.</p>
  <p class="retry" id="retry">It will try again at <b>${timeTag(at)}</b>
    (<span id="retry-in" data-until="${at}">in ${seconds(result.retryAfterMs)}</span>).</p>
  <p class="when-half-open">The wait is over: the breaker is half-open, and the next request is the probe.</p>
  <p class="when-probing">The breaker is half-open and its probe is on its way to the API now: until it answers,
    other requests are turned away like this one.</p>
  <a class="button" href="/">Try again</a>
</section>`;
    }
    case 'limited':
      return html`<section class="card result result-open result-limited" id="result" data-kind="limited">
  <p class="eyebrow"><span class="dot bad"></span>503 · Service unavailable</p>
  <h1>Too many requests at once</h1>
  <p>The consumer already has <b>${s.maxConcurrent}</b> calls to the quote API in flight, its limit
    (<code>MAX_CONCURRENT</code>), so it turned this request away at once, without calling the API.
    The circuit breaker has not counted this: the API is not known to be unwell, only busy.</p>
  <p class="retry-soon">Try again in a second (<code>Retry-After: 1</code>).</p>
  <a class="button" href="/">Try again</a>
</section>`;
  }
}

/** Half-open with every probe slot taken: the next request is not the probe (it is turned away until the probe answers). */
const probing = (view: StateView): boolean => view.state === 'half-open' && view.retryAfterMs > 0;

const transitionItem = (t: TransitionView) =>
  html`<li><span class="when">${timeTag(t.at)}</span><span class="pill state-${t.from}">${t.from}</span><span class="arrow">→</span><span class="pill state-${t.to}">${t.to}</span><span class="why">${t.reason}</span></li>`;

const callItem = (c: CallView) =>
  html`<li><span class="when">${timeTag(c.at)}</span><span class="outcome outcome-${c.outcome}">${c.outcome}</span><span class="why">${c.detail}</span><span class="ms">${c.durationMs === null ? '' : `${c.durationMs} ms`}</span></li>`;

/** The diagram: three states, the arrows between them, the current one highlighted by CSS. */
function diagram(view: StateView): SafeHtml {
  const s = view.settings;
  const node = (id: string, x: number, y: number, title: string, sub: string) =>
    html`<g class="node" id="node-${id}"><rect x="${x}" y="${y}" width="150" height="58" rx="29"></rect><text x="${x + 75}" y="${y + 26}" class="node-title">${title}</text><text x="${x + 75}" y="${y + 44}" class="node-sub">${sub}</text></g>`;
  return html`<svg class="diagram" viewBox="0 0 600 262" role="img" aria-labelledby="diagram-title">
  <title id="diagram-title">States of the circuit breaker: closed, open, half-open</title>
  <defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z"></path></marker></defs>
  <g class="edge" id="edge-closed-open"><path d="M192 59 H406" marker-end="url(#arrow)"></path><text x="299" y="47">${s.failureThreshold} failures in a row</text></g>
  <g class="edge" id="edge-open-half-open"><path d="M462 90 L360 174" marker-end="url(#arrow)"></path><text x="424" y="160" text-anchor="start">after ${seconds(s.recoveryTimeout)}</text></g>
  <g class="edge" id="edge-half-open-open"><path d="M378 216 C 520 216, 566 160, 520 92" marker-end="url(#arrow)"></path><text x="548" y="232">probe fails</text></g>
  <g class="edge" id="edge-half-open-closed"><path d="M222 216 C 80 216, 34 160, 80 92" marker-end="url(#arrow)"></path><text x="60" y="232">probe succeeds</text></g>
  ${node('closed', 40, 30, 'CLOSED', 'calls go through')}
  ${node('open', 410, 30, 'OPEN', 'fail fast, no calls')}
  ${node('half-open', 225, 176, 'HALF-OPEN', 'one probe call')}
</svg>`;
}

function panel(view: StateView): SafeHtml {
  const s = view.settings;
  const c = view.counts;
  const lastEdge = view.transitions[0] === undefined ? '' : `${view.transitions[0].from}-${view.transitions[0].to}`;
  const count = (id: string, label: string, value: number, hint: string) =>
    html`<div class="count count-${id}"><dt>${label}</dt><dd id="count-${id}">${value}</dd><span class="hint">${hint}</span></div>`;
  return html`<section class="card panel" id="panel" data-last-edge="${lastEdge}" aria-live="polite">
  <div class="panel-head">
    <h2>Circuit breaker <code>${view.name}</code></h2>
    <span class="live" id="live" title="Live updates">live</span>
  </div>
  <p class="state-line">State: <span class="pill big state-${view.state}" id="state-pill">${view.state}</span>
    <span class="countdown" id="countdown" data-until="${view.nextProbeAt ?? ''}">${view.nextProbeAt === null ? '' : `probe in ${seconds(view.retryAfterMs)}`}</span></p>
  ${diagram(view)}
  <div class="explain">
    <p data-for="closed"><b>Closed</b>: every request goes to the quote API. Failures in a row are counted; a success resets the count. At ${s.failureThreshold} the circuit opens.</p>
    <p data-for="open"><b>Open</b>: the breaker answers at once with 503 and does not call the API at all, which gives it time to recover. After ${seconds(s.recoveryTimeout)} it lets one probe through.</p>
    <p data-for="half-open"><b>Half-open</b>: the wait is over. The next request is a probe: if it succeeds the circuit closes; if it fails it opens again for another ${seconds(s.recoveryTimeout)}.</p>
  </div>
  <div class="progress-row">
    <span>Failures in a row</span>
    <progress id="progress" max="${s.failureThreshold}" value="${Math.min(view.consecutiveFailures, s.failureThreshold)}"></progress>
    <b id="consecutive">${view.consecutiveFailures} / ${s.failureThreshold}</b>
  </div>
  <dl class="counts">
    ${count('successes', 'Successes', c.successes, '2xx quotes')}
    ${count('failures', 'Failures', c.failures, '5xx, network')}
    ${count('timeouts', 'Timeouts', c.timeouts, `> ${s.requestTimeout} ms`)}
    ${count('neutral', 'Neutral', c.neutral, '4xx, not counted')}
    ${count('rejected', 'Rejected', c.rejected, 'failed fast')}
    ${count('limited', 'Over cap', c.limited, s.maxConcurrent > 0 ? `> ${s.maxConcurrent} at once` : 'no cap set')}
  </dl>
  <div class="lists">
    <div><h3>Transitions</h3><ol class="log" id="transitions">${view.transitions.map(transitionItem)}</ol><p class="empty" id="transitions-empty">None yet: the circuit starts closed.</p></div>
    <div><h3>Recent calls</h3><ol class="log" id="calls">${view.calls.map(callItem)}</ol><p class="empty" id="calls-empty">None yet.</p></div>
  </div>
</section>`;
}

function tryIt(view: StateView): SafeHtml {
  const fault = `${view.settings.baseUrl}/fault`;
  const curl = (body: string) => `curl -X PUT -H 'x-api-key: demo-key' -d '${body}' ${fault}`;
  return html`<section class="card help">
  <h2>Try it</h2>
  <p>Make the quote API fail, then load this page a few times and watch the panel:</p>
  <pre><code>${curl('{"mode":"error"}')}</code></pre>
  <p>Other modes: <code>slow</code> (answers after the ${view.settings.requestTimeout} ms timeout), <code>flaky</code> (fails half the calls), and <code>none</code> to heal it:</p>
  <pre><code>${curl('{"mode":"none"}')}</code></pre>
  <p class="meta">The key is the demo default; use yours if you set <code>FAULT_API_KEY</code>. The breaker calls <code>${view.settings.baseUrl}/quote</code>.
    Also: <a href="/api/state">/api/state</a> · <a href="/metrics">/metrics</a> · <a href="/healthz">/healthz</a></p>
</section>`;
}

/** The whole page for `GET /`. */
export function renderPage(result: PageResult, view: StateView): string {
  const title =
    result.kind === 'quote'
      ? 'Quote of the moment'
      : result.kind === 'upstream-error'
        ? 'Bad gateway'
        : result.kind === 'limited'
          ? 'Too many requests at once'
          : 'Service unavailable';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · breakwater demo</title>
<link rel="icon" href="/assets/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/app.css">
<script src="/assets/app.js" defer></script>
</head>
<body data-state="${view.state}" data-probe="${probing(view) ? 'running' : ''}">
<header class="top">
  <div class="brand"><span class="logo" aria-hidden="true"></span>breakwater <span class="muted">circuit breaker demo</span></div>
  <p class="tagline">A page that calls a quote API through a circuit breaker. Break the API and watch the page stay fast.</p>
</header>
<main class="layout">
  ${resultCard(result, view)}
  ${panel(view)}
  ${tryIt(view)}
</main>
</body>
</html>
`.value;
}
