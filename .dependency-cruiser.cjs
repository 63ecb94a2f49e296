/**
 * The layering rules (docs/design/0017-layering.md), checked in CI by `npm run lint:deps`.
 * Type-only imports count too (tsPreCompilationDeps): a type is a dependency.
 */
module.exports = {
  forbidden: [
    { name: "no-circular", severity: "error", comment: "Import cycles hide which module owns what.", from: {}, to: { circular: true } },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    exclude: { path: "\\.generated\\.ts$" },
  },
};
