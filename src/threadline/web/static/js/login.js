// The sign-in page: POST /api/auth/login through the shared fetch wrapper (CSRF header), then go
// back to the page that asked for it (same-origin paths only).

import { api } from './api.js';

function applyCachedTheme() {
  let theme = 'system';
  try { theme = JSON.parse(localStorage.getItem('threadline.theme')) || 'system'; } catch { /* private mode */ }
  if (theme === 'light' || theme === 'dark') document.documentElement.dataset.theme = theme;
}

function nextPath() {
  const next = new URLSearchParams(window.location.search).get('next') || '/';
  // Only a path on this server: no scheme, no host, no protocol-relative "//" or "/\".
  return /^\/(?![/\\])/.test(next) ? next : '/';
}

function initDialog() {
  const dialog = document.getElementById('login-dialog');
  dialog.removeAttribute('open');
  dialog.showModal();
  dialog.addEventListener('cancel', (e) => e.preventDefault()); // Escape must not close the only form
}

function initForm() {
  const form = document.getElementById('login-form');
  const input = document.getElementById('login-password');
  const error = document.getElementById('login-error');
  const submit = document.getElementById('login-submit');
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    submit.disabled = true;
    try {
      await api('/api/auth/login', { body: { password: input.value } });
      window.location.replace(nextPath());
    } catch (err) {
      error.textContent = err.status === 429
        ? 'Too many attempts. Wait a minute, then try again.'
        : err.status === 401 ? 'That password is not right.' : err.message;
      input.select();
    } finally {
      submit.disabled = false;
    }
  });
}

applyCachedTheme();
initDialog();
initForm();
