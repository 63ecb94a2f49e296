import { defineConfig } from "vitest/config";

/**
 * The dashboard test in real headless Chromium: runs in Node (not in workerd),
 * starts `wrangler dev` on a free port in 19000–19999 with its own local state,
 * seeds traffic through the public API and drives the page with playwright-core.
 */
export default defineConfig({
  test: {
    include: ["test-browser/**/*.test.ts"],
    environment: "node",
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
