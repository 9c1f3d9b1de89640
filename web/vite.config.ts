// Builds the web UI into dist/ui, which `weft server` serves at `/` (src/api/ui.ts).
// The model and the verifier are imported from ../src: they are browser-safe by design (a test
// guards it), so the browser validates and verifies with the engine's own code.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  base: './',
  // The SDK's watch() uses the `ws` package; the UI has its own browser WebSocket (src/live.ts).
  resolve: { alias: { ws: here('src/shims/ws.ts') } },
  build: {
    outDir: here('../dist/ui'),
    emptyOutDir: true,
    chunkSizeWarningLimit: 4000,
    sourcemap: true,
  },
  server: {
    // `npm run ui:dev` next to `weft server` on :8080.
    proxy: { '/api': { target: 'http://127.0.0.1:8080', ws: true }, '/healthz': 'http://127.0.0.1:8080' },
  },
});
