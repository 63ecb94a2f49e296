/** wrangler (and the vitest pool) turn `.wasm` imports into compiled modules. */
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
