// The dashboard: a single-page app generated to static files, which the Go
// binary embeds (web/dist) and serves with a strict Content-Security-Policy.
export default defineNuxtConfig({
  compatibilityDate: '2026-05-01',
  ssr: false,
  devtools: { enabled: false },
  telemetry: false,
  // A fixed id keeps the hashed chunk names stable from build to build.
  buildId: 'pressluft',
  // No build manifest to poll and no loading template: fewer files, no inline styles.
  experimental: { appManifest: false, payloadExtraction: false },
  spaLoadingTemplate: false,
  typescript: { strict: true, typeCheck: false, shim: false },
  css: ['~/assets/app.css'],
  app: {
    head: {
      htmlAttrs: { lang: 'en' },
      title: 'Pressluft',
      meta: [
        { name: 'viewport', content: 'width=device-width, initial-scale=1' },
        { name: 'color-scheme', content: 'light dark' },
        { name: 'referrer', content: 'same-origin' },
      ],
      link: [{ rel: 'icon', href: '/favicon.svg', type: 'image/svg+xml' }],
    },
  },
  nitro: { preset: 'static' },
  hooks: {
    // Page chunks load when their route is visited, not prefetched with the first page.
    'build:manifest'(manifest) {
      for (const file of Object.values(manifest)) file.prefetch = false
    },
  },
  vite: { build: { sourcemap: false } },
})
