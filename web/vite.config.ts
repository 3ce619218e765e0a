// Multi-page build: one HTML entry per app under src/apps/<app>/index.html, so the output is
// dist/customer/index.html, dist/agent/index.html, dist/console/index.html and dist/assets/.
// The FastAPI server serves /chat/, /agent/ and /console/ from those files and /assets from dist/assets.
import { fileURLToPath, URL } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

const appsRoot = fileURLToPath(new URL('./src/apps', import.meta.url))
const backend = process.env.LINGXI_API ?? 'http://127.0.0.1:8000'

export default defineConfig({
  root: appsRoot,
  base: '/',
  publicDir: false,
  plugins: [vue()],
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  define: {
    __VUE_I18N_FULL_INSTALL__: true,
    __VUE_I18N_LEGACY_API__: false,
    __INTLIFY_PROD_DEVTOOLS__: false,
    __VUE_PROD_DEVTOOLS__: false,
  },
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    chunkSizeWarningLimit: 1200,
    rolldownOptions: {
      input: {
        customer: `${appsRoot}/customer/index.html`,
        agent: `${appsRoot}/agent/index.html`,
        console: `${appsRoot}/console/index.html`,
      },
      output: {
        codeSplitting: {
          groups: [
            // The framework every page loads, under a name a person recognises.
            { name: 'vue', test: /node_modules[\\/](@vue|vue|vue-router|vue-i18n|@intlify)[\\/]/ },
          ],
        },
      },
    },
  },
  server: {
    // `npm run dev` then open http://localhost:5173/customer/ (the API runs on `lingxi run`).
    proxy: {
      '/api': { target: backend, ws: true, changeOrigin: true },
    },
  },
})
