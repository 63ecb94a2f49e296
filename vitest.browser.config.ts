import { defineConfig } from "vitest/config";

/**
 * The tests that need a real `wrangler dev` (Node, not workerd): the dashboard and
 * storefront in headless Chromium (playwright-core), and `npm run retrain` end to end
 * (test-browser/retrain.e2e.test.ts, `npm run test:retrain`). Each starts the worker on
 * free ports with its own local state.
 */
export default defineConfig({
  test: {
    include: ["test-browser/**/*.test.ts"],
    environment: "node",
    // The retrain test trains two model versions on 2 shared cores.
    testTimeout: 300_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
