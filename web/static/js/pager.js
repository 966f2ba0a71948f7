// Cursor paging: the API gives next_cursor; going back replays the cursors
// we came through.
import { h } from './dom.js';

export function createPager(onChange) {
  const stack = [];
  let cursor = '';
  let next = '';
  const prevBtn = h('button', { type: 'button', class: 'btn btn-small' }, '← Newer');
  const nextBtn = h('button', { type: 'button', class: 'btn btn-small' }, 'Older →');
  const label = h('span', { class: 'muted small' });
  prevBtn.addEventListener('click', () => { cursor = stack.pop() ?? ''; onChange(); });
  nextBtn.addEventListener('click', () => { stack.push(cursor); cursor = next; onChange(); });
  const el = h('nav', { class: 'pager', 'aria-label': 'Pages' }, prevBtn, label, nextBtn);
  return {
    el,
    get cursor() { return cursor; },
    /** Call with the list response's next_cursor after each load. */
    update(nextCursor, count) {
      next = nextCursor || '';
      prevBtn.disabled = stack.length === 0;
      nextBtn.disabled = !next;
      label.textContent = count ? `Page ${stack.length + 1}` : '';
      el.hidden = stack.length === 0 && !next;
    },
    reset() { stack.length = 0; cursor = ''; },
  };
}
