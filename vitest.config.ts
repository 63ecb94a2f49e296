import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

import { SHOP_B_PUBLIC_JWK, TEST_JWT_SECRETS } from "./test/keys";

/**
 * Test-only tenants: shops A and B (implied consent, "opt-out") so isolation between
 * tenants is tested; shop C keeps the default "opt-in" consent mode. Shop A and C sign
 * its JWTs with HS256 (secret in JWT_SECRETS), shop B with ES256 (public JWKS inline).
 */
const TEST_TENANTS = {
  pk_test_shop_a_0001: {
    id: "shop-a",
    origins: ["https://shop-a.example"],
    consent: "opt-out",
    auth: { issuer: "https://shop-a.example", audience: "edgewise", algorithms: ["HS256"] },
  },
  pk_test_shop_b_0001: {
    id: "shop-b",
    origins: ["https://shop-b.example"],
    consent: "opt-out",
    auth: { issuer: "https://shop-b.example", audience: "edgewise", algorithms: ["ES256"], jwks: { keys: [SHOP_B_PUBLIC_JWK] } },
  },
  // The privacy default: nothing is stored or used until the visitor consents.
  pk_test_shop_c_0001: {
    id: "shop-c",
    origins: ["https://shop-c.example"],
    auth: { issuer: "https://shop-c.example", audience: "edgewise", algorithms: ["HS256"] },
  },
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
          JWT_SECRETS: JSON.stringify(TEST_JWT_SECRETS),
          SEGMENT_WRITE_KEYS: JSON.stringify({ "shop-a": "test-segment-write-key-shop-a-0123456789" }),
          LOG_LEVEL: "error",
          // Test files that score load ORT themselves; the rest stay fast.
          ORT_WARMUP: "false",
          // Re-read tenant configs and catalogs on every request, so tests can change them.
          REGISTRY_REFRESH_SECONDS: "0",
          // Erasure tests check the event-log purge without waiting a minute.
          ERASURE_PURGE_DELAY_SECONDS: "0",
        },
        // The fuzz and reliability tests send thousands of requests as one visitor within seconds:
        // the per-visitor limit is lifted for the suite. The per-address limit is lowered so the
        // rate-limit test reaches it within one 10 s window (it counts only requests with
        // CF-Connecting-IP, which only that test and one log test send).
        ratelimits: {
          VISITOR_RATE_LIMIT: { simple: { limit: 1_000_000, period: 10 } },
          IP_RATE_LIMIT: { simple: { limit: 40, period: 10 } },
        },
        // Deliver queue batches quickly in round-trip tests.
        queueConsumers: {
          "edgewise-events": { maxBatchTimeout: 0.05 },
          "edgewise-events-dlq": { maxBatchTimeout: 0.05 },
          "edgewise-retrain": { maxBatchTimeout: 0.05 },
        },
      },
    }),
  ],
  test: {
    include: ["test/**/*.test.ts"],
    // The local Upstash-compatible server in front of real Redis (tests inject its URL).
    globalSetup: ["./test/setup/upstash.global.ts"],
    // A file's first ONNX session compiles ORT's wasm: 12–15 s on an idle 2-core machine, over
    // 30 s when the machine is shared (seen once). A safety net, not a performance bound.
    testTimeout: 60_000,
  },
});
