// Job detail with live progress over Server-Sent Events.
import { api, seg, TERMINAL_JOB } from './api.js';
import { h, badge, timeEl, facts, pageHeader, section, notice, duration, dash, set } from './dom.js';
import { errorNotice } from './forms.js';
import { confirmDialog } from './dialog.js';
import { jobLabel } from './jobs-ui.js';

function eventTime(iso) {
  const d = iso ? new Date(iso) : null;
  if (!d || Number.isNaN(d.getTime())) return h('span', { class: 'muted' }, '');
  return h('time', { datetime: d.toISOString(), title: d.toLocaleString() }, d.toLocaleTimeString());
}

function eventItem(ev) {
  return h('li', { class: `event event-${ev.level || 'info'}` },
    eventTime(ev.time),
    badge(ev.level || 'info'),
    h('span', { class: 'event-step' }, ev.step || ''),
    h('span', { class: 'event-message' }, ev.message || ''));
}

export async function jobView(root, ctx) {
  const id = ctx.params.id;
  let job = await api.get('/jobs/' + seg(id), null, ctx.signal);

  const notices = h('div', { class: 'notices' });
  const head = h('div');
  const live = h('p', { class: 'live muted small', 'aria-live': 'polite' });
  const errorBox = h('div');
  const info = h('div');
  const eventsList = h('ol', { class: 'events', role: 'log', 'aria-label': 'Progress events' });
  const eventsEmpty = h('p', { class: 'empty' }, 'No progress recorded yet.');
  const output = h('pre', { class: 'output', tabindex: '0', 'aria-label': 'Output tail' });
  const outputEmpty = h('p', { class: 'empty' }, 'No output captured yet.');
  const resultBox = h('div');
  const events = new Map();
  const names = { site: '', node: '' };
  let lastSeq = -Infinity;

  function addEvent(ev) {
    if (!ev || ev.seq == null || events.has(ev.seq)) return;
    events.set(ev.seq, ev);
    eventsEmpty.hidden = true;
    if (ev.seq > lastSeq) {
      eventsList.append(eventItem(ev));
      lastSeq = ev.seq;
    } else {
      // Out of order (a replay after reconnect): redraw in seq order.
      set(eventsList, ...[...events.values()].sort((a, b) => a.seq - b.seq).map(eventItem));
    }
  }

  const cancelBtn = h('button', { type: 'button', class: 'btn btn-danger' }, 'Cancel job');
  cancelBtn.addEventListener('click', async () => {
    const running = job.status === 'running';
    const ok = await confirmDialog({
      title: 'Cancel this job?',
      message: h('p', null, running
        ? 'The remote process is stopped. The site or node may be left failed; reset it after checking.'
        : 'The job is removed from the queue before it starts.'),
      confirmLabel: 'Cancel job', danger: true,
    });
    if (!ok) return;
    cancelBtn.disabled = true;
    try {
      const r = await api.post(`/jobs/${seg(id)}/cancel`, {}, ctx.signal);
      notices.prepend(notice('success', running ? 'Cancellation requested.' : 'Job cancelled.'));
      if (r && r.id === job.id) merge(r);
      else await refetch();
    } catch (err) {
      if (err.name === 'AbortError') return;
      notices.prepend(errorNotice(err));
      cancelBtn.disabled = false;
      refetch();
    }
  });

  function draw() {
    const j = job;
    const cancellable = (j.status === 'queued' || j.status === 'running') && !j.cancel_requested;
    set(head, pageHeader([jobLabel(j.type), ' ', badge(j.status),
      j.cancel_requested && !TERMINAL_JOB.has(j.status) ? h('span', { class: 'badge badge-warn' }, 'cancelling') : null],
    cancellable ? cancelBtn : null));
    set(errorBox, j.error_code || j.error_message
      ? h('div', { class: 'notice notice-error', role: 'alert' },
        h('strong', null, 'Error'), j.error_code ? [' ', h('code', null, j.error_code)] : null,
        j.error_message ? h('p', null, j.error_message) : null)
      : '');
    const envLink = j.environment_id
      ? (j.site_id ? h('a', { href: '#/sites/' + seg(j.site_id), class: 'mono', title: j.environment_id }, j.environment_id) : h('span', { class: 'mono' }, j.environment_id))
      : null;
    set(info, section('Details', facts([
      ['Type', h('span', { class: 'mono' }, j.type)],
      ['Attempt', `${j.attempt ?? 0} of ${j.max_attempts ?? 1}`],
      j.site_id ? ['Site', names.site ? h('a', { href: '#/sites/' + seg(j.site_id) }, names.site) : h('a', { href: '#/sites/' + seg(j.site_id), class: 'mono' }, j.site_id)] : null,
      envLink ? ['Environment', envLink] : null,
      j.node_id ? ['Node', names.node ? h('a', { href: '#/nodes/' + seg(j.node_id) }, names.node) : h('a', { href: '#/nodes/' + seg(j.node_id), class: 'mono' }, j.node_id)] : null,
      ['Created', timeEl(j.created_at, { relative: false })],
      j.status === 'queued' && j.run_after ? ['Runs after', timeEl(j.run_after, { relative: false })] : null,
      ['Started', j.started_at ? timeEl(j.started_at, { relative: false }) : dash()],
      ['Finished', j.finished_at ? timeEl(j.finished_at, { relative: false }) : dash()],
      ['Duration', j.started_at ? duration(j.started_at, j.finished_at) : dash()],
      ['ID', h('span', { class: 'mono' }, j.id)],
    ])));
    const atBottom = output.scrollHeight - output.scrollTop - output.clientHeight < 24;
    output.textContent = j.output_tail || '';
    output.hidden = !j.output_tail;
    outputEmpty.hidden = !!j.output_tail;
    if (atBottom) output.scrollTop = output.scrollHeight;
    set(resultBox, j.result != null && !(typeof j.result === 'object' && !Object.keys(j.result).length)
      ? section('Result', h('pre', { class: 'output' }, typeof j.result === 'string' ? j.result : JSON.stringify(j.result, null, 2)))
      : '');
  }

  function merge(j) {
    if (!j || typeof j !== 'object') return;
    job = { ...job, ...j };
    if (Array.isArray(j.events)) j.events.forEach(addEvent);
    draw();
  }

  async function refetch() {
    try {
      merge(await api.get('/jobs/' + seg(id), null, ctx.signal));
    } catch (err) {
      if (err.name !== 'AbortError') set(notices, errorNotice(err));
    }
  }

  function poll() {
    // Fallback when the event stream cannot be used.
    live.textContent = 'Refreshing every few seconds.';
    ctx.every(3000, async () => {
      if (TERMINAL_JOB.has(job.status) || document.hidden) return;
      await refetch();
      if (TERMINAL_JOB.has(job.status)) live.textContent = '';
    });
  }

  function follow() {
    if (typeof EventSource !== 'function') { poll(); return; }
    const es = new EventSource(`/api/jobs/${seg(id)}/events`);
    let done = false;
    const finish = () => { done = true; es.close(); live.textContent = ''; };
    ctx.onCleanup(() => es.close());
    // The stream carries events and status; the output tail comes with the job itself.
    ctx.every(4000, () => { if (!done && !document.hidden) refetch(); });
    es.addEventListener('open', () => { if (!done) live.textContent = 'Live: following progress.'; });
    es.addEventListener('progress', (e) => {
      try { addEvent(JSON.parse(e.data)); } catch { /* ignore a malformed frame */ }
    });
    es.addEventListener('job', (e) => {
      let j;
      try { j = JSON.parse(e.data); } catch { return; }
      merge(j);
      if (TERMINAL_JOB.has(job.status)) { finish(); refetch(); }
    });
    es.addEventListener('error', async () => {
      if (done) return;
      if (es.readyState === EventSource.CLOSED) { finish(); poll(); return; }
      // The server ends the stream once the job is terminal; the browser would reconnect.
      live.textContent = 'Connection interrupted, reconnecting…';
      await refetch();
      if (TERMINAL_JOB.has(job.status)) finish();
    });
  }

  (job.events || []).forEach(addEvent);
  draw();
  // Names are a nicety: the ids stay as link text if these fail.
  if (job.site_id) api.get('/sites/' + seg(job.site_id), null, ctx.signal).then((s) => { names.site = s.name; draw(); }).catch(() => {});
  if (job.node_id) api.get('/nodes/' + seg(job.node_id), null, ctx.signal).then((n) => { names.node = n.name; draw(); }).catch(() => {});
  set(root,
    h('p', { class: 'crumbs' }, h('a', { href: '#/jobs' }, '← Jobs')),
    head, live, notices, errorBox,
    h('div', { class: 'layout-split wide-main' },
      h('div', { class: 'stack' },
        section('Progress', eventsList, eventsEmpty),
        section('Output', output, outputEmpty)),
      h('aside', { class: 'stack' }, info, resultBox)));
  if (!TERMINAL_JOB.has(job.status)) follow();
}
