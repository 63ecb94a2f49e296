/** A model version ready to score, of whichever family its manifest names (./families). */
export type { LoadedModel } from "./families/index";
export type { SessionTopKModel } from "./families/session-topk";
