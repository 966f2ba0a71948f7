// Sign-in page, shown outside the app shell.
import { api } from './api.js';
import { h, notice, set } from './dom.js';
import { field, onSubmit } from './forms.js';

export function renderLogin(root, ctx, { expired, onLogin }) {
  const summary = h('div', { class: 'form-summary' });
  const email = h('input', { type: 'email', name: 'email', required: true, autocomplete: 'username', autofocus: true });
  const password = h('input', { type: 'password', name: 'password', required: true, autocomplete: 'current-password' });
  const form = h('form', { class: 'stack', novalidate: false },
    summary,
    field({ label: 'Email', name: 'email', control: email }),
    field({ label: 'Password', name: 'password', control: password }),
    h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, 'Sign in'));

  onSubmit(form, summary,
    (v) => api.post('/login', { email: v.email, password: password.value }, ctx.signal),
    (user) => onLogin(user));

  set(root, h('main', { id: 'main', class: 'login', tabindex: '-1' },
    h('div', { class: 'login-card card' },
      h('div', { class: 'brand brand-large' }, h('img', { src: '/favicon.svg', alt: '', width: 32, height: 32 }), h('span', null, 'Pressluft')),
      h('h1', null, 'Sign in'),
      expired ? notice('info', 'Your session has ended. Please sign in again.') : null,
      form)));
  email.focus();
}
