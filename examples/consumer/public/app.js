// The live panel: follows /api/events (server-sent events) and redraws the state, the counts
// and the lists without a reload. Everything from the server is set as text, never as markup.
(() => {
  const $ = (id) => document.getElementById(id);
  const clock = (iso) => new Date(iso).toLocaleTimeString([], { hour12: false });
  const secs = (ms) => `${Math.max(0, ms / 1000).toFixed(1)} s`;

  const el = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const timeTag = (iso) => {
    const t = el('time', '', clock(iso));
    t.dateTime = iso;
    return t;
  };
  const when = (iso) => {
    const span = el('span', 'when');
    span.append(timeTag(iso));
    return span;
  };
  const li = (...children) => {
    const item = el('li');
    item.append(...children);
    return item;
  };

  const transitionItem = (t) =>
    li(
      when(t.at),
      el('span', `pill state-${t.from}`, t.from),
      el('span', 'arrow', '→'),
      el('span', `pill state-${t.to}`, t.to),
      el('span', 'why', t.reason),
    );
  const callItem = (c) =>
    li(
      when(c.at),
      el('span', `outcome outcome-${c.outcome}`, c.outcome),
      el('span', 'why', c.detail),
      el('span', 'ms', c.durationMs === null ? '' : `${c.durationMs} ms`),
    );

  function render(view) {
    document.body.dataset.state = view.state;
    // Half-open with the probe slot taken: the next request is turned away too, so the retry time stays shown.
    document.body.dataset.probe = view.state === 'half-open' && view.retryAfterMs > 0 ? 'running' : '';
    const pill = $('state-pill');
    pill.textContent = view.state;
    pill.className = `pill big state-${view.state}`;
    const last = view.transitions[0];
    $('panel').dataset.lastEdge = last ? `${last.from}-${last.to}` : '';
    for (const [name, value] of Object.entries(view.counts)) {
      const dd = $(`count-${name}`);
      if (dd && dd.textContent !== String(value)) {
        dd.textContent = String(value);
        dd.classList.remove('bump');
        void dd.offsetWidth; // restart the highlight animation
        dd.classList.add('bump');
      }
    }
    const threshold = view.settings.failureThreshold;
    $('progress').value = Math.min(view.consecutiveFailures, threshold);
    $('consecutive').textContent = `${view.consecutiveFailures} / ${threshold}`;
    $('countdown').dataset.until = view.state === 'open' ? new Date(Date.now() + view.retryAfterMs).toISOString() : '';
    $('transitions').replaceChildren(...view.transitions.map(transitionItem));
    $('calls').replaceChildren(...view.calls.map(callItem));
    tick();
  }

  // Countdowns to the next probe: the panel's, and the open notice's.
  function tick() {
    const countdown = $('countdown');
    const until = countdown.dataset.until;
    countdown.textContent = until ? `probe in ${secs(Date.parse(until) - Date.now())}` : '';
    const retryIn = $('retry-in');
    if (retryIn) {
      const left = Date.parse(retryIn.dataset.until) - Date.now();
      retryIn.textContent = left > 0 ? `in ${secs(left)}` : 'now';
    }
  }

  for (const t of document.querySelectorAll('time[datetime]')) t.textContent = clock(t.dateTime);
  setInterval(tick, 200);
  tick();

  const live = $('live');
  const events = new EventSource('/api/events');
  events.addEventListener('state', (event) => render(JSON.parse(event.data)));
  events.addEventListener('open', () => live.classList.add('on'));
  events.addEventListener('error', () => live.classList.remove('on'));
})();
