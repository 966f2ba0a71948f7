// A message carried across one navigation, e.g. "deleting site…" shown on
// the list the user lands on. Stored as a function so it can use the new
// view's context (for job polling that stops with that view).
let pending = null;

export function setFlash(fn) {
  pending = fn;
}

export function takeFlash(ctx) {
  const fn = pending;
  pending = null;
  return fn ? fn(ctx) : null;
}
