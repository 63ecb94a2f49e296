// The SDK's script-tag build defines the global `Edgewise` (used inside page.evaluate).
declare namespace Edgewise {
  type Edgewise = import("../sdk/src/index").Edgewise;
  const init: typeof import("../sdk/src/index").init;
}
