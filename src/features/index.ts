/** Feature definitions and the engine: pure code shared by the worker and offline tools. */
export * from "./definition";
export * from "./engine";
export * from "./registry";
