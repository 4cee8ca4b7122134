import { defineConfig } from 'vite'
import asyncify from 'unplugin-asyncify/vite'

export default defineConfig({
  plugins: [asyncify()],
})
