// fleetflow's local dashboard: one ES module, no framework. Every piece of data reaches the DOM
// through textContent or an attribute set with setAttribute (never innerHTML), so nothing a job,
// an audit event or a provider returns can become markup.

const POLL_MS = 2000;
const FLEET_MS = 15000;
const SVG = 'http://www.w3.org/2000/svg';

const state = { status: '', kind: '', selectedJob: undefined, auditScope: undefined };

/** Creates an element; string and number children become text nodes. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === 'onclick') node.addEventListener('click', v);
    else node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

const $ = (id) => document.getElementById(id);
const badge = (value) =>
  el('span', { class: `badge s-${String(value).replace(/[^A-Za-z-]/g, '')}`, 'data-status': value }, value);
const time = (iso) =>
  iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' }) : '';

async function getJson(path) {
  const response = await fetch(path, { headers: { accept: 'application/json' } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(body?.error?.message ?? `${response.status}`);
    error.status = response.status;
    throw error;
  }
  return body;
}

function fillSelect(select, values, current) {
  const wanted = ['', ...values];
  const have = [...select.options].map((o) => o.value);
  if (wanted.join('\n') === have.join('\n')) return;
  select.replaceChildren(
    ...wanted.map((v) => el('option', { value: v, selected: v === current }, v || 'all')),
  );
}

// ---- jobs -----------------------------------------------------------------------------------------

async function refreshJobs() {
  const query = new URLSearchParams();
  if (state.status) query.set('status', state.status);
  if (state.kind) query.set('kind', state.kind);
  const data = await getJson(`/api/dashboard/jobs?${query}`);
  fillSelect($('filter-status'), data.statuses, state.status);
  fillSelect(
    $('filter-kind'),
    [...new Set([...data.kinds, ...(state.kind ? [state.kind] : [])])],
    state.kind,
  );
  $('jobs-body').replaceChildren(
    ...data.items.map((j) =>
      el(
        'tr',
        {
          'data-job': j.jobId,
          'data-status': j.status,
          class: j.jobId === state.selectedJob ? 'selected' : undefined,
          onclick: () => selectJob(j.jobId),
        },
        el('td', { class: 'mono' }, j.jobId),
        el('td', {}, j.kind),
        el('td', {}, badge(j.status)),
        el('td', {}, j.trigger),
        el('td', {}, time(j.createdAt)),
        el('td', {}, time(j.endedAt)),
      ),
    ),
  );
  $('jobs-empty').hidden = data.items.length > 0;
  if (!state.selectedJob && data.items[0] && !state.auditScope) await selectJob(data.items[0].jobId);
}

async function selectJob(jobId) {
  state.selectedJob = jobId;
  state.auditScope = { job: jobId };
  for (const row of $('jobs-body').children) row.classList.toggle('selected', row.dataset.job === jobId);
  await refreshJob();
}

async function refreshJob() {
  const jobId = state.selectedJob;
  if (!jobId) return;
  const { job, audit, verification, machine } = await getJson(
    `/api/dashboard/jobs/${encodeURIComponent(jobId)}`,
  );
  if (state.selectedJob !== jobId) return; // another job was picked meanwhile
  $('job-panel').hidden = false;
  $('job-title').textContent = `Job ${job.jobId}`;
  $('job-status').replaceChildren(badge(job.status));
  const facts = [
    ['kind', job.kind],
    [
      'trigger',
      `${job.trigger.type}:${job.trigger.actor}${job.trigger.source ? ` (${job.trigger.source})` : ''}`,
    ],
    ['created', time(job.createdAt)],
    ['ended', time(job.endedAt) || '—'],
    ...(job.error ? [['error', `${job.error.code}: ${job.error.message}`]] : []),
  ];
  $('job-facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
  renderResults(job);
  renderTimeline(job.steps);
  renderMachine(machine);
  if (state.auditScope?.job === job.jobId) renderAudit({ job: job.jobId }, audit, verification);
}

// A job's results come a page at a time: the first with the job, the next ones on "more".
const results = { jobId: undefined, rows: [], cursor: undefined };

function resultRow(target, r) {
  const detail = r.error ? `${r.error.code}: ${r.error.message}` : r.detail ? JSON.stringify(r.detail) : '';
  return el(
    'tr',
    { 'data-target': target, 'data-status': r.status },
    el('td', { class: 'mono' }, target),
    el('td', {}, badge(r.status)),
    el('td', {}, r.provider ?? ''),
    el('td', {}, time(r.at)),
    el('td', { class: 'wrap' }, detail),
  );
}

function renderResults(job) {
  // A later page already shown stays shown while the job refreshes.
  if (results.jobId !== job.jobId || results.rows.length <= Object.keys(job.results).length) {
    results.jobId = job.jobId;
    results.rows = Object.entries(job.results);
    results.cursor = job.resultsCursor;
  }
  const c = job.counts;
  $('results-counts').textContent = c
    ? `${c.total}: ${c.succeeded} succeeded, ${c.failed} failed, ${c.skipped} skipped${c.pending ? `, ${c.pending} unverified` : ''}`
    : `${results.rows.length}${results.cursor ? '+' : ''} so far`;
  $('results-body').replaceChildren(...results.rows.map(([target, r]) => resultRow(target, r)));
  $('results-more').hidden = !results.cursor;
  $('job-results').hidden = results.rows.length === 0;
}

async function moreResults() {
  const { jobId, cursor } = results;
  if (!jobId || !cursor) return;
  const page = await getJson(
    `/api/dashboard/jobs/${encodeURIComponent(jobId)}/results?cursor=${encodeURIComponent(cursor)}`,
  );
  if (results.jobId !== jobId) return;
  results.rows.push(...page.items.map(({ target, ...r }) => [target, r]));
  results.cursor = page.cursor;
  $('results-body').append(...page.items.map(({ target, ...r }) => resultRow(target, r)));
  $('results-more').hidden = !results.cursor;
}

function renderTimeline(steps) {
  $('timeline').replaceChildren(
    ...(steps.length === 0
      ? [el('li', { class: 'muted' }, 'no steps yet')]
      : steps.map((s) =>
          el(
            'li',
            { class: `s-${s.status}`, 'data-step': s.name, 'data-status': s.status },
            el('span', { class: 'step' }, s.name),
            ' ',
            badge(s.status),
            el('div', { class: 'when' }, time(s.endedAt ?? s.startedAt)),
            s.detail === undefined
              ? undefined
              : el('div', { class: 'detail mono' }, JSON.stringify(s.detail)),
          ),
        )),
  );
}

function renderMachine(machine) {
  const box = $('machine');
  if (!machine) {
    $('machine-name').textContent = '';
    box.replaceChildren(el('p', { class: 'muted' }, 'no state machine for this job'));
    return;
  }
  $('machine-name').textContent =
    `${machine.stateMachine}${machine.execution?.note ? ` — ${machine.execution.note}` : ''}`;
  const W = 150;
  const H = 26;
  const GX = 18;
  const GY = 22;
  const width = Math.max(...machine.nodes.map((n) => n.column + 1)) * (W + GX) + GX;
  const height = Math.max(...machine.nodes.map((n) => n.layer + 1)) * (H + GY) + GY;
  const pos = new Map(
    machine.nodes.map((n) => [n.name, { x: GX + n.column * (W + GX), y: GY + n.layer * (H + GY) }]),
  );
  const root = svg('svg', {
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-label': `state machine ${machine.stateMachine}`,
  });
  for (const e of machine.edges) {
    const a = pos.get(e.from);
    const b = pos.get(e.to);
    if (!a || !b) continue;
    const x1 = a.x + W / 2;
    const y1 = a.y + H;
    const x2 = b.x + W / 2;
    const y2 = b.y;
    const d =
      b.y > a.y
        ? `M${x1},${y1} C${x1},${y1 + GY / 2} ${x2},${y2 - GY / 2} ${x2},${y2}`
        : `M${a.x + W},${a.y + H / 2} C${a.x + W + 30},${a.y} ${b.x + W + 30},${b.y + H} ${b.x + W},${b.y + H / 2}`;
    root.append(svg('path', { d, class: e.kind }));
  }
  for (const n of machine.nodes) {
    const p = pos.get(n.name);
    const classes = ['node', n.visited && 'visited', n.current && 'current', n.failed && 'failed']
      .filter(Boolean)
      .join(' ');
    const g = svg('g', {
      class: classes,
      'data-state': n.name,
      'data-visited': n.visited,
      transform: `translate(${p.x},${p.y})`,
    });
    g.append(svg('title', {}, `${n.name} (${n.type})`));
    g.append(svg('rect', { width: W, height: H, rx: 5 }));
    const label = n.name.length > 22 ? `${n.name.slice(0, 21)}…` : n.name;
    g.append(svg('text', { x: 8, y: H / 2 + 4 }, label));
    root.append(g);
  }
  box.replaceChildren(root);
}

// ---- audit ----------------------------------------------------------------------------------------

async function showInstanceAudit(instanceId) {
  state.auditScope = { instance: instanceId };
  const data = await getJson(`/api/dashboard/audit?instance=${encodeURIComponent(instanceId)}`);
  renderAudit(data.scope, data.events, data.verification);
  $('audit-panel').scrollIntoView({ behavior: 'smooth', block: 'start' });
}

function renderAudit(scope, events, verification) {
  $('audit-panel').hidden = false;
  $('audit-title').textContent = scope.job
    ? `Audit trail — job ${scope.job}`
    : `Audit trail — instance ${scope.instance}`;
  const v = verification;
  const text = v.ok
    ? `verified: ${v.checked} event(s) in ${v.chains} chain(s), every link intact${v.pendingIntents.length ? ` — ${v.pendingIntents.length} intent(s) without outcome` : ''}`
    : `BROKEN: chain ${v.firstBroken.chain} at seq ${v.firstBroken.seq} (${v.firstBroken.reason}): ${v.firstBroken.detail}`;
  $('audit-verified').replaceChildren(
    el('span', { class: `badge s-${v.ok ? 'ok' : 'broken'}`, 'data-ok': v.ok }, text),
  );
  $('audit-body').replaceChildren(
    ...(events.length === 0
      ? [
          el(
            'tr',
            {},
            el('td', { colspan: 9, class: 'muted' }, 'no audit events (nothing was changed at a provider)'),
          ),
        ]
      : events.map((e) =>
          el(
            'tr',
            { 'data-seq': e.seq },
            el('td', {}, time(e.at)),
            el('td', { class: 'mono' }, e.jobId),
            el('td', {}, e.seq),
            el('td', {}, e.kind === 'outcome' ? `outcome of ${e.intentSeq}` : e.kind),
            el('td', {}, e.action),
            el('td', {}, `${e.trigger.type}:${e.trigger.actor}`),
            el('td', {}, [e.provider, e.account, e.location].filter(Boolean).join('/')),
            el(
              'td',
              { class: 'mono' },
              e.instanceId
                ? el('a', { class: 'instance', onclick: () => showInstanceAudit(e.instanceId) }, e.instanceId)
                : '',
            ),
            el('td', { class: 'wrap mono' }, e.result === undefined ? '' : JSON.stringify(e.result)),
          ),
        )),
  );
}

// ---- fleet ----------------------------------------------------------------------------------------

async function refreshFleet() {
  const data = await getJson('/api/dashboard/fleet');
  $('fleet-body').replaceChildren(
    ...data.providers.map((p) =>
      el(
        'div',
        { 'data-provider': p.provider, 'data-count': p.instances?.length ?? 0 },
        el(
          'h3',
          {},
          p.provider,
          ' ',
          el(
            'span',
            { class: 'muted' },
            `${p.account} · ${p.location}${p.instances ? ` · ${p.instances.length} instance(s)` : ''}`,
          ),
        ),
        p.error
          ? el('p', { class: 'error' }, p.error)
          : el(
              'table',
              { class: 'grid' },
              el(
                'thead',
                {},
                el(
                  'tr',
                  {},
                  ['name', 'state', 'type', 'labels'].map((h) => el('th', {}, h)),
                ),
              ),
              el(
                'tbody',
                {},
                p.instances.map((i) =>
                  el(
                    'tr',
                    { 'data-instance': i.id },
                    el(
                      'td',
                      {},
                      el(
                        'a',
                        { class: 'instance', title: i.id, onclick: () => showInstanceAudit(i.id) },
                        i.name || i.id,
                      ),
                    ),
                    el('td', {}, badge(i.state)),
                    el('td', {}, i.type),
                    el(
                      'td',
                      { class: 'wrap' },
                      Object.entries(i.labels).map(([k, v]) => el('span', { class: 'label' }, `${k}=${v}`)),
                    ),
                  ),
                ),
              ),
            ),
      ),
    ),
  );
}

// ---- schedule plan ------------------------------------------------------------------------------------

async function refreshPlan() {
  const body = $('plan-body');
  let plan;
  try {
    plan = await getJson('/schedules/plan?days=7');
  } catch (error) {
    const none = error.status === 404;
    body.replaceChildren(
      el(
        'p',
        { 'data-testid': 'no-schedules' },
        none ? 'no schedules configured' : `schedule plan unavailable: ${error.message}`,
      ),
      none
        ? el(
            'p',
            { class: 'muted' },
            `${error.message} — add schedules to fleetflow.config.yaml and start with it`,
          )
        : undefined,
    );
    return;
  }
  const instances = plan.instances ?? [];
  if (instances.length === 0) {
    body.replaceChildren(
      el('p', { 'data-testid': 'no-schedules' }, 'no schedules configured (or no instance selected by one)'),
    );
    return;
  }
  const money = (v) => (v === undefined ? '' : `${v} ${plan.currency ?? ''}`.trim());
  const schedules = [...new Set(instances.map((i) => i.schedule))];
  body.replaceChildren(
    el(
      'p',
      {},
      `${plan.totals.instances} instance(s) · ${plan.totals.hoursSaved} instance-hours saved`,
      plan.totals.saved === undefined ? '' : ` · ${money(plan.totals.saved)} expected savings`,
    ),
    ...schedules.map((name) =>
      el(
        'div',
        { 'data-schedule': name },
        el('h3', {}, name),
        el(
          'table',
          { class: 'grid' },
          el(
            'thead',
            {},
            el(
              'tr',
              {},
              ['instance', 'provider', 'state', 'next 7 days', 'hours saved', 'saved'].map((h) =>
                el('th', {}, h),
              ),
            ),
          ),
          el(
            'tbody',
            {},
            instances
              .filter((i) => i.schedule === name)
              .map((i) =>
                el(
                  'tr',
                  { 'data-instance': i.instanceId },
                  el('td', { title: i.instanceId }, i.name),
                  el('td', {}, `${i.provider}/${i.location}`),
                  el('td', {}, badge(i.state)),
                  el(
                    'td',
                    { class: 'wrap' },
                    i.excluded
                      ? el('span', { class: 'muted' }, `excluded: ${i.excluded}`)
                      : (i.events ?? []).map((e) =>
                          el(
                            'span',
                            { class: `label${e.skipped ? ' muted' : ''}`, title: e.skipped ?? '' },
                            `${e.action} ${time(e.at)}${e.skipped ? ' (skipped)' : ''}`,
                          ),
                        ),
                  ),
                  el('td', {}, i.hoursSaved),
                  el('td', {}, money(i.saved)),
                ),
              ),
          ),
        ),
      ),
    ),
  );
}

// ---- wiring -----------------------------------------------------------------------------------------

let ticking = false;
async function tick() {
  if (ticking) return; // a slow answer: skip a beat rather than pile requests up
  ticking = true;
  try {
    await refreshJobs();
    if (state.selectedJob) await refreshJob();
    $('refreshed').textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    $('refreshed').textContent = `cannot reach fleetflow (${error.message}); retrying`;
  } finally {
    ticking = false;
  }
}

$('filter-status').addEventListener('change', (e) => {
  state.status = e.target.value;
  tick();
});
$('filter-kind').addEventListener('change', (e) => {
  state.kind = e.target.value;
  tick();
});
$('fleet-refresh').addEventListener('click', () => refreshFleet().catch(() => undefined));
$('results-more').addEventListener('click', () => moreResults().catch(() => undefined));

tick();
setInterval(tick, POLL_MS);
refreshFleet().catch((error) => {
  $('fleet-body').replaceChildren(el('p', { class: 'error' }, `fleet unavailable: ${error.message}`));
});
setInterval(() => refreshFleet().catch(() => undefined), FLEET_MS);
refreshPlan();
