// Berth status page. Plain browser script, no dependencies: signs in with an API token kept in sessionStorage (this
// tab only), reads GET /reports/fleet and GET /hosts/:id/history with it as a bearer token, and draws the fleet
// table and a host's history as inline SVG. Data is only ever inserted as text (textContent), never as markup.
'use strict';

(function statusPage() {
  const TOKEN_KEY = 'berth.apiToken';
  const REFRESH_MS = 60_000;
  const HISTORY_RUNS = 50;
  const SVG_NS = 'http://www.w3.org/2000/svg';

  const state = { report: null, selected: null, timer: null, historyRequest: 0 };

  const $ = (id) => document.getElementById(id);

  function el(tag, attributes, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value !== null && value !== undefined) node.setAttribute(name, String(value));
    }
    for (const child of children || []) node.append(child);
    return node;
  }

  function svg(tag, attributes, children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, String(value));
    for (const child of children || []) node.append(child);
    return node;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Formatting: ages and durations in human units, sizes in binary units.

  function formatAge(seconds) {
    if (seconds < 60) return 'just now';
    return `${formatSpan(seconds)} ago`;
  }

  /** 45 s, 12 min, 5 h 12 min, 3 d 4 h: the two largest units. */
  function formatSpan(seconds) {
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return `${s} s`;
    const minutes = Math.floor(s / 60);
    if (minutes < 60) return s % 60 === 0 || minutes >= 10 ? `${minutes} min` : `${minutes} min ${s % 60} s`;
    const hours = Math.floor(minutes / 60);
    if (hours < 24) return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
    const days = Math.floor(hours / 24);
    return hours % 24 === 0 ? `${days} d` : `${days} d ${hours % 24} h`;
  }

  function formatDuration(ms) {
    if (ms === null || ms === undefined) return '—';
    if (ms < 1000) return `${ms} ms`;
    return formatSpan(ms / 1000);
  }

  function formatBytes(bytes) {
    if (bytes === null || bytes === undefined) return '—';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return unit === 0 ? `${value} B` : `${value < 10 ? Number(value.toFixed(1)) : Math.round(value)} ${units[unit]}`;
  }

  function formatCount(count) {
    return new Intl.NumberFormat('en').format(count);
  }

  function formatTime(iso) {
    const date = new Date(iso);
    return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  }

  function secondsSince(iso, now) {
    return (now - Date.parse(iso)) / 1000;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Backup status of a host: the worst of failed last run, never backed up, objective breached, ok.

  function hostVerdict(host) {
    const lastRunFailed = host.lastRun !== null && (host.lastRun.status === 'failed' || host.lastRun.status === 'canceled');
    if (host.lastSnapshot === null) return { key: 'never', tone: 'bad', label: 'Never backed up', rank: 0 };
    if (lastRunFailed) return { key: 'failed', tone: 'bad', label: host.breachesRpo ? 'Failed, RPO breached' : 'Last run failed', rank: 1 };
    if (host.breachesRpo) return { key: 'breaching', tone: 'warn', label: 'RPO breached', rank: 2 };
    return { key: 'ok', tone: 'ok', label: 'OK', rank: 3 };
  }

  const RUN_TONES = { succeeded: 'ok', partial: 'warn', failed: 'bad', canceled: 'bad', running: 'info', queued: 'idle' };
  const AGENT_TONES = { online: 'ok', offline: 'bad', pending: 'idle' };

  function pill(text, tone) {
    return el('span', { class: `pill ${tone}` }, [text]);
  }

  // ---------------------------------------------------------------------------------------------------------
  // API access.

  class SignedOut extends Error {}

  async function api(path) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token === null) throw new SignedOut('Not signed in');
    const response = await fetch(path, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' }, cache: 'no-store' });
    if (response.status === 401) throw new SignedOut('The controller did not accept this token (unknown, revoked or expired).');
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const message = body && typeof body.message === 'string' ? body.message : `HTTP ${response.status}`;
      throw new Error(response.status === 403 ? `This token may not read the report: ${message}` : message);
    }
    return body;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Fleet: totals and the host table.

  function renderTotals(report) {
    const t = report.totals;
    const items = [
      [formatCount(t.hosts), 'hosts', 'idle'],
      [formatCount(t.protected), `within RPO (${report.rpoHours} h)`, 'ok'],
      [formatCount(t.breaching), 'breaching RPO', t.breaching > 0 ? 'warn' : 'ok'],
      [formatCount(t.neverBackedUp), 'never backed up', t.neverBackedUp > 0 ? 'bad' : 'ok'],
      [formatCount(t.lastRunFailed), 'last run failed', t.lastRunFailed > 0 ? 'bad' : 'ok'],
      [formatCount(t.snapshots), 'snapshots', 'idle'],
      [formatBytes(t.bytesProtected), 'protected (newest snapshots)', 'idle'],
      [formatBytes(t.bytesStored), 'stored in the repository', 'idle'],
    ];
    $('totals').replaceChildren(
      ...items.map(([value, label, tone]) => el('div', { class: `total ${tone}` }, [el('div', { class: 'value' }, [value]), el('div', { class: 'label' }, [label])])),
    );
  }

  function hostRow(host, now) {
    const verdict = hostVerdict(host);
    const snapshot = host.lastSnapshot;
    const lastRun = host.lastRun;
    const good = host.lastSuccessfulRun;

    const snapshotCell = snapshot === null ? [el('span', { class: 'muted' }, ['none'])] : [formatAge(snapshot.ageSeconds), el('span', { class: 'sub' }, [formatTime(snapshot.publishedAt)])];
    const runCell = [];
    if (lastRun === null) runCell.push(el('span', { class: 'muted' }, ['never run']));
    else {
      runCell.push(pill(lastRun.status, RUN_TONES[lastRun.status] || 'idle'), ' ', formatAge(secondsSince(lastRun.finishedAt || lastRun.createdAt, now)));
      if (lastRun.error) runCell.push(el('span', { class: 'sub error' }, [lastRun.error]));
    }
    const seen = host.lastSeenAt === null ? 'never seen' : `seen ${formatAge(secondsSince(host.lastSeenAt, now))}`;

    const row = el('tr', { 'data-host': host.hostName, 'data-host-id': host.hostId, 'data-status': verdict.key, class: `row-${verdict.tone}`, tabindex: 0 }, [
      el('td', {}, [el('span', { class: 'host-name' }, [host.hostName])]),
      el('td', { 'data-cell': 'status' }, [pill(verdict.label, verdict.tone), el('span', { class: 'sub' }, [`objective ${host.rpoHours} h`])]),
      el('td', {}, [pill(host.hostStatus, AGENT_TONES[host.hostStatus] || 'idle'), el('span', { class: 'sub' }, [seen])]),
      el('td', {}, snapshotCell),
      el('td', {}, runCell),
      el('td', { class: 'num' }, [good === null ? '—' : formatDuration(good.durationMs)]),
      el('td', { class: 'num' }, [good === null ? '—' : formatBytes(good.bytes)]),
      el('td', { class: 'num' }, [formatCount(host.snapshots)]),
      el('td', { class: 'num' }, [formatBytes(host.bytesStoredTotal)]),
    ]);
    if (state.selected === host.hostId) row.classList.add('selected');
    row.addEventListener('click', () => selectHost(host));
    row.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') selectHost(host);
    });
    return row;
  }

  function renderFleet(report) {
    const now = Date.parse(report.generatedAt);
    renderTotals(report);
    // Worst first, then by name (the report is sorted by name): failures are what an administrator looks for.
    const hosts = [...report.hosts].sort((a, b) => hostVerdict(a).rank - hostVerdict(b).rank || (a.hostName < b.hostName ? -1 : 1));
    $('hosts').tBodies[0].replaceChildren(...hosts.map((host) => hostRow(host, now)));
    $('no-hosts').hidden = hosts.length > 0;
    $('generated').textContent = `as of ${formatTime(report.generatedAt)}`;
    $('generated').setAttribute('data-generated-at', report.generatedAt);
  }

  // ---------------------------------------------------------------------------------------------------------
  // History of one host: size and duration per run, oldest left, as SVG line charts with a point per run.

  function selectHost(host) {
    state.selected = host.hostId;
    for (const row of $('hosts').tBodies[0].rows) row.classList.toggle('selected', row.getAttribute('data-host-id') === host.hostId);
    void loadHistory(host);
  }

  async function loadHistory(host) {
    const request = ++state.historyRequest;
    try {
      const history = await api(`/hosts/${encodeURIComponent(host.hostId)}/history?limit=${HISTORY_RUNS}`);
      if (request !== state.historyRequest) return;
      renderHistory(history);
    } catch (error) {
      handleError(error);
    }
  }

  function renderHistory(history) {
    const runs = [...history.runs].reverse();
    $('history').hidden = false;
    $('history').setAttribute('data-host', history.hostName);
    $('history-host').textContent = history.hostName;
    const ended = runs.filter((run) => run.finishedAt !== null);
    const failed = ended.filter((run) => run.status === 'failed' || run.status === 'canceled').length;
    $('history-summary').textContent =
      runs.length === 0 ? 'No backup runs yet.' : `${runs.length} most recent runs, ${failed} failed or canceled; oldest ${formatTime(runs[0].createdAt)}.`;
    const withSnapshot = (run) => run.status === 'succeeded' || run.status === 'partial';
    $('chart-size').replaceChildren(lineChart(runs, (run) => (withSnapshot(run) ? run.bytes : run.finishedAt !== null ? 0 : null), formatBytes, byteUnit, 'size'));
    $('chart-duration').replaceChildren(lineChart(runs, (run) => run.durationMs, formatDuration, durationUnit, 'duration'));
  }

  const TICKS = 4;
  const STEPS = [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10];

  /** A round y-axis step in the unit the values are shown in (MiB, s, min...), so that TICKS steps cover the largest value. */
  function tickStep(largest, unitOf) {
    const unit = unitOf(largest);
    const raw = largest / unit / TICKS;
    const magnitude = 10 ** Math.floor(Math.log10(raw));
    // Whole numbers of the unit only, so that every label is exact (no 1.5 s shown as "2 s").
    const step = STEPS.find((candidate) => Number.isInteger(candidate * magnitude) && candidate * magnitude >= raw) ?? 10;
    return step * magnitude * unit;
  }

  function byteUnit(bytes) {
    let unit = 1;
    while (bytes >= unit * 1024) unit *= 1024;
    return unit;
  }

  function durationUnit(ms) {
    if (ms >= 3_600_000) return 3_600_000;
    if (ms >= 60_000) return 60_000;
    return ms >= 1000 ? 1000 : 1;
  }

  /** A line through the runs that have a value, a point per such run coloured by its outcome, a labelled y axis. */
  function lineChart(runs, valueOf, format, unitOf, name) {
    const width = 560;
    const height = 220;
    const pad = { left: 64, right: 16, top: 14, bottom: 30 };
    const plotW = width - pad.left - pad.right;
    const plotH = height - pad.top - pad.bottom;
    const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `${name} per run`, 'data-chart': name });
    const points = runs.map((run, index) => ({ run, index, value: valueOf(run) })).filter((point) => point.value !== null && point.value !== undefined);
    if (points.length === 0) {
      chart.append(svg('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle', class: 'tick' }, ['no finished runs']));
      return chart;
    }
    const step = tickStep(Math.max(1, ...points.map((point) => point.value)), unitOf);
    const max = step * TICKS;
    const x = (index) => pad.left + (runs.length === 1 ? plotW / 2 : (index / (runs.length - 1)) * plotW);
    const y = (value) => pad.top + plotH - (value / max) * plotH;

    for (let tick = 0; tick <= TICKS; tick += 1) {
      const value = step * tick;
      chart.append(svg('line', { x1: pad.left, x2: width - pad.right, y1: y(value), y2: y(value), class: 'grid' }));
      chart.append(svg('text', { x: pad.left - 6, y: y(value) + 3, 'text-anchor': 'end', class: 'tick' }, [format(value)]));
    }
    chart.append(svg('line', { x1: pad.left, x2: pad.left, y1: pad.top, y2: pad.top + plotH, class: 'axis' }));
    chart.append(svg('line', { x1: pad.left, x2: width - pad.right, y1: pad.top + plotH, y2: pad.top + plotH, class: 'axis' }));
    const first = runs[0];
    const last = runs[runs.length - 1];
    chart.append(svg('text', { x: pad.left, y: height - 8, 'text-anchor': 'start', class: 'tick' }, [formatTime(first.createdAt)]));
    if (runs.length > 1) chart.append(svg('text', { x: width - pad.right, y: height - 8, 'text-anchor': 'end', class: 'tick' }, [formatTime(last.createdAt)]));

    chart.append(svg('polyline', { class: 'series', points: points.map((point) => `${x(point.index).toFixed(1)},${y(point.value).toFixed(1)}`).join(' ') }));
    for (const point of points) {
      const tone = RUN_TONES[point.run.status] || 'idle';
      chart.append(
        svg('circle', { cx: x(point.index).toFixed(1), cy: y(point.value).toFixed(1), r: 4, class: `point ${tone}`, 'data-run': point.run.runId }, [
          svg('title', {}, [`${formatTime(point.run.createdAt)}: ${point.run.status}, ${format(point.value)}`]),
        ]),
      );
    }
    return chart;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Session and refresh.

  function showSignIn(message) {
    stopRefresh();
    $('fleet').hidden = true;
    $('session').hidden = true;
    $('sign-in').hidden = false;
    $('sign-in-error').hidden = message === undefined;
    $('sign-in-error').textContent = message || '';
    $('token').focus();
  }

  function handleError(error) {
    if (error instanceof SignedOut) {
      sessionStorage.removeItem(TOKEN_KEY);
      showSignIn(error.message === 'Not signed in' ? undefined : error.message);
      return;
    }
    $('load-error').hidden = false;
    $('load-error').textContent = `Could not load the report: ${error instanceof Error ? error.message : String(error)}`;
  }

  async function refresh() {
    try {
      const report = await api('/reports/fleet');
      state.report = report;
      $('sign-in').hidden = true;
      $('fleet').hidden = false;
      $('session').hidden = false;
      $('load-error').hidden = true;
      renderFleet(report);
      const selected = report.hosts.find((host) => host.hostId === state.selected);
      if (selected !== undefined) void loadHistory(selected);
      scheduleRefresh();
    } catch (error) {
      handleError(error);
    }
  }

  function scheduleRefresh() {
    stopRefresh();
    state.timer = setTimeout(() => {
      if (document.visibilityState === 'visible') void refresh();
      else scheduleRefresh();
    }, REFRESH_MS);
  }

  function stopRefresh() {
    if (state.timer !== null) clearTimeout(state.timer);
    state.timer = null;
  }

  function start() {
    $('sign-in-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const token = $('token').value.trim();
      if (token === '') return;
      sessionStorage.setItem(TOKEN_KEY, token);
      $('token').value = '';
      void refresh();
    });
    $('sign-out').addEventListener('click', () => {
      sessionStorage.removeItem(TOKEN_KEY);
      state.report = null;
      state.selected = null;
      $('history').hidden = true;
      showSignIn();
    });
    $('refresh').addEventListener('click', () => void refresh());
    if (sessionStorage.getItem(TOKEN_KEY) === null) showSignIn();
    else void refresh();
  }

  start();
})();
