import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

/** Test-only tenants: two tenants so isolation between them is tested. */
const TEST_TENANTS = {
  pk_test_shop_a_0001: { id: "shop-a", origins: ["https://shop-a.example"] },
  pk_test_shop_b_0001: { id: "shop-b", origins: ["https://shop-b.example"] },
};

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        // Test secrets, so the suite needs no .dev.vars.
        bindings: {
          TENANTS: JSON.stringify(TEST_TENANTS),
          VISITOR_SECRET: "test-visitor-secret-0123456789abcdef0123",
          PII_SECRET: "test-pii-secret-0123456789abcdef0123456789",
          LOG_LEVEL: "error",
          // Test files that score load ORT themselves; the rest stay fast.
          ORT_WARMUP: "false",
          // Re-read tenant configs and catalogs on every request, so tests can change them.
          REGISTRY_REFRESH_SECONDS: "0",
        },
        // Deliver queue batches quickly in round-trip tests.
        queueConsumers: {
          "edgewise-events": { maxBatchTimeout: 0.05 },
          "edgewise-events-dlq": { maxBatchTimeout: 0.05 },
        },
      },
    }),
  ],
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
  },
});
