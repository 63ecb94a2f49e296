/**
 * The layering rules (docs/design/0017-layering.md), checked in CI by `npm run lint:deps`:
 * a violation fails the build. Type-only imports count too (tsPreCompilationDeps).
 */
const RUNTIME = "^src/(app|index)\\.ts$|^src/(auth|catalog|demo-shop|events|experiments|http|identity|mlops|models|ops|openapi|pipeline|profile|recommend|registry|segment|session|trending|fresh)/";

module.exports = {
  forbidden: [
    { name: "no-circular", severity: "error", comment: "Import cycles hide which module owns what.", from: {}, to: { circular: true } },
    {
      name: "contracts-are-the-ground-floor",
      severity: "error",
      comment: "src/contracts holds the types every capability shares; it imports nothing of ours above it.",
      from: { path: "^src/contracts/" },
      to: { path: "^src/", pathNot: "^src/contracts/" },
    },
    {
      name: "features-are-pure",
      severity: "error",
      comment: "Feature definitions run in the worker and in the offline replay alike: no runtime, no platform.",
      from: { path: "^src/features/" },
      to: { path: [RUNTIME, "^cloudflare:", "^hono"], pathNot: "^src/privacy/consent\\.ts$" },
    },
    {
      name: "identity-below-profile",
      severity: "error",
      comment: "Profiles are built on the identity graph, not the other way round.",
      from: { path: "^src/identity/" },
      to: { path: "^src/profile/" },
    },
    {
      name: "edge-never-imports-offline",
      severity: "error",
      comment: "Training, evaluation and export run in Node; the edge bundle must not pull them in.",
      from: { path: "^src/", pathNot: "^src/offline/" },
      to: { path: "^src/offline/" },
    },
    {
      name: "routes-reach-storage-through-interfaces",
      severity: "error",
      comment: "A route talks to a Durable Object stub or a store interface, never to a store's implementation.",
      from: { path: "/route\\.ts$" },
      to: { path: "^src/profile/(upstash-store|do-store|sqlite-kv|kv|profile-do)\\.ts$|^src/session/(session-do|rows|outbox)\\.ts$" },
    },
    {
      name: "dashboard-client-is-browser-code",
      severity: "error",
      comment: "The dashboard's browser code is bundled on its own (npm run dashboard:build): from the server it takes types only, and the one pure status helper.",
      from: { path: "^src/mlops/dashboard/client/" },
      to: { path: "^src/", pathNot: "^src/mlops/dashboard/client/|^src/mlops/drift/status\\.ts$", dependencyTypesNot: ["type-only"] },
    },
    {
      name: "only-the-bundle-reaches-the-worker",
      severity: "error",
      comment: "The worker serves the dashboard's bundle (script.generated.ts), never its sources.",
      from: { path: "^src/", pathNot: "^src/mlops/dashboard/client/" },
      to: { path: "^src/mlops/dashboard/client/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    exclude: { path: "\\.generated\\.ts$" },
  },
};
