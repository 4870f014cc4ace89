// fleetflow's local dashboard: one ES module, no framework. Every piece of data reaches the DOM
// through textContent or an attribute set with setAttribute (never innerHTML), so nothing a job,
// an audit event or a provider returns can become markup.

const POLL_MS = 2000;
const FLEET_MS = 15000;
const SVG = 'http://www.w3.org/2000/svg';

const state = { status: '', kind: '', selectedJob: undefined, auditScope: undefined };
/** Keys of the <details> a person opened: kept open across the refreshes. */
const expanded = new Set();

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

/** JSON on one line; when long, the start of it, expandable to the whole, pretty-printed. */
function collapsible(key, value, limit = 64) {
  if (value === undefined) return '';
  const text = JSON.stringify(value);
  if (text.length <= limit) return el('span', { class: 'mono' }, text);
  const details = el(
    'details',
    { class: 'json', 'data-key': key, open: expanded.has(key) },
    el('summary', { class: 'mono' }, `${text.slice(0, limit - 1)}…`),
    el('pre', { class: 'mono' }, JSON.stringify(value, null, 2)),
  );
  details.addEventListener('toggle', () => {
    if (details.open) expanded.add(key);
    else expanded.delete(key);
  });
  return details;
}

/** Why a target was skipped (or what failed): the reason the workflow recorded with the result. */
function resultNote(result) {
  if (result.error) return `${result.error.code}: ${result.error.message}`;
  const detail = result.detail;
  if (!detail || typeof detail !== 'object') return '';
  if (detail.dryRun) return `dry run: would ${detail.would}`;
  if (detail.reason) return detail.policy ? `${detail.policy}: ${detail.reason}` : detail.reason;
  return '';
}

// The local API token, written into this page by the server that sent it (pages of other sites cannot
// read it); sent with every request as the CLI sends it.
const API_TOKEN = document.querySelector('meta[name="fleetflow-api-token"]')?.getAttribute('content') ?? '';
const AUTH = API_TOKEN ? { authorization: `Bearer ${API_TOKEN}` } : {};

async function getJson(path) {
  const response = await fetch(path, { headers: { accept: 'application/json', ...AUTH } });
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
  renderTimeline(job.jobId, job.steps);
  await renderMachine(machine);
  if (state.auditScope?.job === job.jobId) renderAudit({ job: job.jobId }, audit, verification);
}

// A job's results come a page at a time: the first with the job, the next ones on "more results".
const results = { jobId: undefined, rows: [], cursor: undefined };

function resultRow([target, r]) {
  return el(
    'tr',
    { 'data-target': target, 'data-status': r.status },
    el(
      'td',
      { class: 'mono' },
      r.instanceId && r.instanceId !== target ? `${target} → ${r.instanceId}` : target,
    ),
    el('td', {}, badge(r.status)),
    el('td', {}, r.provider ?? ''),
    el('td', { class: 'wrap note' }, resultNote(r)),
  );
}

function renderResults(job) {
  // Pages read with "more results" stay shown while the job refreshes.
  if (results.jobId !== job.jobId || results.rows.length <= Object.keys(job.results).length) {
    results.jobId = job.jobId;
    results.rows = Object.entries(job.results);
    results.cursor = job.resultsCursor;
  }
  if (results.rows.length === 0) {
    $('results').replaceChildren();
    return;
  }
  const c = job.counts;
  const heading = c
    ? `Results (${c.total}: ${c.succeeded} succeeded, ${c.failed} failed, ${c.skipped} skipped${c.pending ? `, ${c.pending} never verified` : ''})`
    : `Results (${results.rows.length}${results.cursor ? '+' : ''})`;
  $('results').replaceChildren(
    el('h3', {}, heading),
    el(
      'table',
      { class: 'grid results' },
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          ['target', 'status', 'provider', 'reason'].map((h) => el('th', {}, h)),
        ),
      ),
      el('tbody', { id: 'results-body' }, results.rows.map(resultRow)),
    ),
    results.cursor
      ? el(
          'button',
          {
            type: 'button',
            'data-testid': 'results-more',
            onclick: () => moreResults().catch(() => undefined),
          },
          'more results',
        )
      : undefined,
  );
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
  $('results-body').append(...page.items.map(({ target, ...r }) => resultRow([target, r])));
  if (!results.cursor) $('results').querySelector('[data-testid="results-more"]')?.remove();
}

function renderTimeline(jobId, steps) {
  $('timeline').replaceChildren(
    ...(steps.length === 0
      ? [el('li', { class: 'muted' }, 'no steps yet')]
      : steps.map((s, i) =>
          el(
            'li',
            { class: `s-${s.status}`, 'data-step': s.name, 'data-status': s.status },
            el('span', { class: 'step' }, s.name),
            ' ',
            badge(s.status),
            el('div', { class: 'when' }, time(s.endedAt ?? s.startedAt)),
            s.status === 'SKIPPED' && typeof s.detail?.reason === 'string'
              ? el('div', { class: 'note' }, s.detail.reason)
              : el('div', { class: 'detail' }, collapsible(`step:${jobId}:${i}`, s.detail, 48)),
          ),
        )),
  );
}

// ---- the state machine, laid out by ELK (layered, top down) --------------------------------------

const NODE_HEIGHT = 30;
const LINE_HEIGHT = 14;
const NODE_FONT = '12px system-ui, sans-serif';
const LABEL_FONT = '11px system-ui, sans-serif';
const LABEL_MAX = 34;
const CONTAINERS = new Set(['Map', 'Parallel']);
/** Layouts by state machine: a definition does not change while fleetflow runs. */
const layouts = new Map();
let measure;

function textWidth(text, font) {
  measure ??= document.createElement('canvas').getContext('2d');
  measure.font = font;
  return Math.ceil(measure.measureText(text).width);
}

/** `Scale while stopped: poll` on two lines (`Scale while stopped:` / `poll`), so boxes stay narrow. */
const nameLines = (name) => name.split(/(?<=:) (?=\S)/);

const shortLabel = (text) => (text.length > LABEL_MAX ? `${text.slice(0, LABEL_MAX - 1)}…` : text);

/**
 * The order the machine runs its states in: depth first from StartAt along the normal flow,
 * reversed postorder (so every transition that is not a loop's way back points forward), then the
 * states only an error reaches. ELK keeps this order and breaks loops at their way back.
 */
function runOrder(machine) {
  const visited = new Set();
  const post = [];
  const visit = (name) => {
    if (visited.has(name)) return;
    visited.add(name);
    for (const e of machine.edges) if (e.from === name && e.kind !== 'catch') visit(e.to);
    post.push(name);
  };
  for (const n of machine.nodes) if (n.start && !n.parent) visit(n.name);
  for (const n of machine.nodes) if (n.start) visit(n.name);
  const main = post.splice(0).reverse();
  for (const name of main)
    for (const e of machine.edges) if (e.from === name && e.kind === 'catch') visit(e.to);
  const order = [...main, ...post.reverse()];
  for (const n of machine.nodes) if (!visited.has(n.name)) order.push(n.name);
  return order;
}

/**
 * Positions of every state box and of the normal flow's edges and labels, in the drawing's own
 * coordinates. Catch edges are left out of the layout (a dozen states catching into one
 * compensation would spread the graph across the page) and drawn afterwards along the gaps
 * between the rows; one layout-only edge per catch target keeps that target below its sources.
 */
async function layoutMachine(machine) {
  const cached = layouts.get(machine.stateMachine);
  if (cached) return cached;
  const parents = new Map(machine.nodes.map((n) => [n.name, n.parent]));
  const elkNodes = new Map();
  for (const n of machine.nodes) {
    elkNodes.set(
      n.name,
      CONTAINERS.has(n.type)
        ? {
            id: n.name,
            children: [],
            edges: [],
            layoutOptions: {
              'elk.padding': '[top=36,left=18,bottom=22,right=26]',
              'elk.nodeSize.constraints': 'MINIMUM_SIZE',
              'elk.nodeSize.minimum': `(${textWidth(`${n.name} (${n.type})`, NODE_FONT) + 32}, 60)`,
            },
          }
        : {
            id: n.name,
            width: Math.max(...nameLines(n.name).map((l) => textWidth(l, NODE_FONT))) + 24,
            height: NODE_HEIGHT + (nameLines(n.name).length - 1) * LINE_HEIGHT,
          },
    );
  }
  const root = {
    id: '(root)',
    children: [],
    edges: [],
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.edgeRouting': 'ORTHOGONAL',
      'elk.layered.cycleBreaking.strategy': 'MODEL_ORDER',
      'elk.layered.spacing.nodeNodeBetweenLayers': '34',
      'elk.spacing.nodeNode': '26',
      'elk.spacing.edgeNode': '14',
      'elk.spacing.edgeEdge': '8',
      'elk.spacing.edgeLabel': '4',
      'elk.layered.spacing.edgeNodeBetweenLayers': '14',
      'elk.json.shapeCoords': 'ROOT',
      'elk.json.edgeCoords': 'ROOT',
      'elk.padding': '[top=22,left=8,bottom=22,right=8]',
    },
  };
  const order = runOrder(machine);
  for (const name of order) {
    const parent = parents.get(name);
    (parent ? elkNodes.get(parent) : root).children.push(elkNodes.get(name));
  }
  const scopeOf = (name) => (parents.get(name) ? elkNodes.get(parents.get(name)) : root);
  const lastCatcher = new Map();
  for (const e of machine.edges) {
    if (e.kind !== 'catch') continue;
    const previous = lastCatcher.get(e.to);
    if (!previous || order.indexOf(e.from) > order.indexOf(previous)) lastCatcher.set(e.to, e.from);
  }
  machine.edges.forEach((e, i) => {
    if (e.kind === 'catch') return;
    const label = e.label ? shortLabel(e.label) : undefined;
    // Both ends of a transition are in the same Map or Parallel (ASL allows no other).
    scopeOf(e.from).edges.push({
      id: `e${i}`,
      sources: [e.from],
      targets: [e.to],
      ...(label && {
        labels: [{ id: `l${i}`, text: label, width: textWidth(label, LABEL_FONT) + 6, height: 14 }],
      }),
    });
  });
  for (const [target, source] of lastCatcher)
    scopeOf(source).edges.push({ id: `layout:${target}`, sources: [source], targets: [target] });

  const laid = await new globalThis.ELK().layout(root);
  const boxes = new Map();
  const edges = new Map();
  const collect = (node) => {
    for (const c of node.children ?? []) {
      boxes.set(c.id, { x: c.x, y: c.y, width: c.width, height: c.height });
      collect(c);
    }
    for (const e of node.edges ?? []) edges.set(e.id, e);
  };
  collect(laid);
  const layout = { width: laid.width, height: laid.height, boxes, edges, catches: new Map() };
  routeCatches(machine, layout);
  layouts.set(machine.stateMachine, layout);
  return layout;
}

/**
 * Catch edges, drawn after the layout: out of the source's right side, down into the gap below
 * its row, along that gap to a lane at the right of the Map (or of the graph), along the lane to
 * the gap above the target's row, and down into the target. Gaps and lanes hold no state box, so
 * an error path never runs through a state; catches into one state share their lane.
 */
function routeCatches(machine, layout) {
  const scopes = new Map();
  for (const n of machine.nodes) {
    const key = n.parent ?? '';
    if (!scopes.has(key)) scopes.set(key, []);
    scopes.get(key).push(n.name);
  }
  let right = layout.width;
  for (const [scope, members] of scopes) {
    const catches = machine.edges.filter((e) => e.kind === 'catch' && members.includes(e.from));
    if (catches.length === 0) continue;
    // Rows: sibling boxes whose vertical extents overlap.
    const rows = [];
    for (const b of members.map((m) => layout.boxes.get(m)).sort((a, c) => a.y - c.y)) {
      const last = rows.at(-1);
      if (last && b.y < last.bottom) last.bottom = Math.max(last.bottom, b.y + b.height);
      else rows.push({ top: b.y, bottom: b.y + b.height });
    }
    const rowOf = (box) => rows.findIndex((r) => box.y >= r.top && box.y < r.bottom);
    const below = (i) => (i + 1 < rows.length ? (rows[i].bottom + rows[i + 1].top) / 2 : rows[i].bottom + 11);
    const above = (i) => (i > 0 ? (rows[i - 1].bottom + rows[i].top) / 2 : rows[i].top - 11);
    const container = scope ? layout.boxes.get(scope) : undefined;
    const targets = [...new Set(catches.map((e) => e.to))];
    const lane = (t) => {
      const k = targets.indexOf(t);
      if (container) return container.x + container.width - 8 - k * 6;
      const outer = Math.max(...members.map((m) => layout.boxes.get(m).x + layout.boxes.get(m).width));
      return outer + 14 + k * 8;
    };
    for (const e of catches) {
      const from = layout.boxes.get(e.from);
      const to = layout.boxes.get(e.to);
      const k = targets.indexOf(e.to);
      const x = lane(e.to);
      const y1 = below(rowOf(from)) + k * 3;
      const y2 = above(rowOf(to)) - k * 3;
      const entry = to.x + to.width - 10 - k * 4;
      const sx = from.x + from.width;
      const sy = from.y + from.height / 2;
      layout.catches.set(
        `${e.from}\n${e.to}`,
        `M${sx},${sy} H${sx + 7} V${y1} H${x} V${y2} H${entry} V${to.y}`,
      );
      right = Math.max(right, x + 10);
    }
  }
  layout.width = right;
}

function nodeText(name, b) {
  const lines = nameLines(name);
  const text = svg('text', { 'text-anchor': 'middle' });
  const top = b.y + b.height / 2 - ((lines.length - 1) * LINE_HEIGHT) / 2 + 4;
  lines.forEach((line, i) => {
    text.append(svg('tspan', { x: b.x + b.width / 2, y: top + i * LINE_HEIGHT }, line));
  });
  return text;
}

function edgePath(section) {
  const points = [section.startPoint, ...(section.bendPoints ?? []), section.endPoint];
  return points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x},${p.y}`).join(' ');
}

async function renderMachine(machine) {
  const box = $('machine');
  if (!machine) {
    $('machine-name').textContent = '';
    box.replaceChildren(el('p', { class: 'muted' }, 'no state machine for this job'));
    return;
  }
  $('machine-name').textContent =
    `${machine.stateMachine}${machine.execution?.note ? ` — ${machine.execution.note}` : ''}`;
  if (!globalThis.ELK) {
    box.replaceChildren(el('p', { class: 'error' }, 'the graph layout library did not load'));
    return;
  }
  const layout = await layoutMachine(machine);
  const root = svg('svg', {
    viewBox: `0 0 ${layout.width} ${layout.height}`,
    width: layout.width,
    height: layout.height,
    role: 'img',
    'aria-label': `state machine ${machine.stateMachine}`,
  });
  const defs = svg('defs');
  for (const kind of ['plain', 'taken', 'catch']) {
    const marker = svg('marker', {
      id: `arrow-${kind}`,
      class: `arrow-${kind}`,
      viewBox: '0 0 10 10',
      refX: 9,
      refY: 5,
      markerWidth: 7,
      markerHeight: 7,
      orient: 'auto-start-reverse',
    });
    marker.append(svg('path', { d: 'M0,0 L10,5 L0,10 z' }));
    defs.append(marker);
  }
  root.append(defs);

  const drawNode = (n) => {
    const b = layout.boxes.get(n.name);
    if (!b) return;
    const container = CONTAINERS.has(n.type);
    const classes = [
      'node',
      `type-${n.type.toLowerCase()}`,
      container && 'container',
      n.start && 'start',
      n.visited && 'visited',
      n.current && 'current',
      n.failed && 'failed',
    ]
      .filter(Boolean)
      .join(' ');
    const g = svg('g', {
      class: classes,
      'data-state': n.name,
      'data-type': n.type,
      'data-parent': n.parent ?? '',
      'data-visited': n.visited,
      'data-current': n.current,
    });
    g.append(svg('title', {}, `${n.name} (${n.type})`));
    const pill = n.type === 'Succeed' || n.type === 'Fail';
    g.append(
      svg('rect', {
        class: 'box',
        x: b.x,
        y: b.y,
        width: b.width,
        height: b.height,
        rx: pill ? Math.min(b.height / 2, 15) : container ? 8 : 5,
      }),
    );
    g.append(
      container
        ? svg('text', { class: 'container-label', x: b.x + 12, y: b.y + 21 }, `${n.name} (${n.type})`)
        : nodeText(n.name, b),
    );
    root.append(g);
  };
  const drawEdge = (e, d, labels = []) => {
    const arrow = e.taken ? 'taken' : e.kind === 'catch' ? 'catch' : 'plain';
    const g = svg('g', {
      class: `edge ${e.kind}${e.taken ? ' taken' : ''}`,
      'data-from': e.from,
      'data-to': e.to,
      'data-taken': e.taken,
    });
    if (e.label) g.append(svg('title', {}, `${e.from} → ${e.to}: ${e.label}`));
    g.append(svg('path', { d, 'marker-end': `url(#arrow-${arrow})` }));
    for (const l of labels) {
      g.append(svg('rect', { class: 'label-bg', x: l.x, y: l.y, width: l.width, height: l.height, rx: 3 }));
      g.append(svg('text', { class: 'edge-label', x: l.x + 3, y: l.y + l.height - 3 }, l.text));
    }
    root.append(g);
  };

  // Containers first, then the edges over them (error paths under the normal flow), then the states.
  for (const n of machine.nodes) if (CONTAINERS.has(n.type)) drawNode(n);
  for (const e of machine.edges) {
    const d = e.kind === 'catch' ? layout.catches.get(`${e.from}\n${e.to}`) : undefined;
    if (d) drawEdge(e, d);
  }
  machine.edges.forEach((e, i) => {
    const laid = layout.edges.get(`e${i}`);
    const section = laid?.sections?.[0];
    if (e.kind !== 'catch' && section) drawEdge(e, edgePath(section), laid.labels ?? []);
  });
  for (const n of machine.nodes) if (!CONTAINERS.has(n.type)) drawNode(n);
  box.replaceChildren(root);
}

// ---- audit ----------------------------------------------------------------------------------------

async function showInstanceAudit(instanceId) {
  state.auditScope = { instance: instanceId };
  const data = await getJson(`/api/dashboard/audit?instance=${encodeURIComponent(instanceId)}`);
  renderAudit(data.scope, data.events, data.verification);
  $('audit-panel').scrollIntoView({ behavior: 'smooth', block: 'start' });
}

const shortId = (id) => (id.length > 14 ? `${id.slice(0, 8)}…` : id);

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
  // A job's trail is one chain: its job column would repeat one id on every row.
  const columns = [
    'at',
    ...(scope.job ? [] : ['job']),
    'seq',
    'event',
    'action',
    'by',
    'provider',
    'instance',
    'request / result',
  ];
  $('audit-head').replaceChildren(
    el(
      'tr',
      {},
      columns.map((c) => el('th', {}, c)),
    ),
  );
  $('audit-body').replaceChildren(
    ...(events.length === 0
      ? [
          el(
            'tr',
            {},
            el(
              'td',
              { colspan: columns.length, class: 'muted' },
              'no audit events (nothing was changed at a provider)',
            ),
          ),
        ]
      : events.map((e) =>
          el(
            'tr',
            { 'data-seq': e.seq, 'data-chain': e.chain },
            el('td', {}, time(e.at)),
            scope.job ? undefined : el('td', { class: 'mono', title: e.jobId }, e.jobId),
            el('td', {}, e.seq),
            el('td', {}, e.kind === 'outcome' ? `outcome of ${e.intentSeq}` : e.kind),
            el('td', {}, e.action),
            el('td', {}, `${e.trigger.type}:${e.trigger.actor}`),
            el('td', {}, [e.provider, e.account, e.location].filter(Boolean).join('/')),
            el(
              'td',
              { class: 'mono' },
              e.instanceId
                ? el(
                    'a',
                    {
                      class: 'instance',
                      title: e.instanceId,
                      onclick: () => showInstanceAudit(e.instanceId),
                    },
                    shortId(e.instanceId),
                  )
                : '',
            ),
            el(
              'td',
              { class: 'payload' },
              collapsible(`audit:${e.chain}:${e.seq}`, e.kind === 'outcome' ? e.result : e.parameters),
            ),
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
    plan = await getJson('/api/dashboard/plan?days=7');
  } catch (error) {
    body.replaceChildren(el('p', { class: 'error' }, `schedule plan unavailable: ${error.message}`));
    return;
  }
  if (!plan.configured) {
    body.replaceChildren(
      el('p', { 'data-testid': 'no-schedules' }, 'no schedules configured'),
      el(
        'p',
        { class: 'muted' },
        `${plan.reason} — put schedules in fleetflow.config.yaml and start fleetflow in its folder`,
      ),
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
  const warnings = plan.warnings ?? [];
  body.replaceChildren(
    el(
      'p',
      {},
      `${plan.totals.instances} instance(s) · ${plan.totals.hoursSaved} instance-hours saved`,
      plan.totals.saved === undefined ? '' : ` · ${money(plan.totals.saved)} expected savings`,
    ),
    // Upcoming warnings: when the owners get their notice (with snooze links) before a stop.
    ...(warnings.length === 0
      ? []
      : [
          el(
            'p',
            { 'data-testid': 'warnings' },
            'upcoming warnings: ',
            ...warnings.slice(0, 8).map((w) =>
              el(
                'span',
                {
                  class: 'label',
                  title: `notice to the owners of ${w.instances} instance(s) before the stop at ${time(w.stopAt)}`,
                },
                `${w.schedule} ${time(w.warnAt)} (stop ${time(w.stopAt)}, ${w.instances})`,
              ),
            ),
          ),
        ]),
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
                            `${e.action} ${time(e.at)}${e.skipped ? ' (skipped)' : ''}${e.warnAt ? ` · warned ${time(e.warnAt)}` : ''}`,
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

tick();
setInterval(tick, POLL_MS);
refreshFleet().catch((error) => {
  $('fleet-body').replaceChildren(el('p', { class: 'error' }, `fleet unavailable: ${error.message}`));
});
setInterval(() => refreshFleet().catch(() => undefined), FLEET_MS);
refreshPlan();
