/**
 * Nodes of the identity graph. Every value is already pseudonymous: visitor ids
 * are random, device, customer and email values are keyed HMACs (src/privacy).
 */
export type IdentifierKind = "visitor" | "device" | "customer" | "email";
export type NodeId = `${"v" | "d" | "c" | "e"}:${string}`;

const PREFIX: Record<IdentifierKind, "v" | "d" | "c" | "e"> = { visitor: "v", device: "d", customer: "c", email: "e" };
const KIND: Record<string, IdentifierKind> = { v: "visitor", d: "device", c: "customer", e: "email" };

/** The graph node of an identifier. */
export function node(kind: IdentifierKind, value: string): NodeId {
  return `${PREFIX[kind]}:${value}`;
}

/** The kind of a node. */
export function kindOf(id: NodeId): IdentifierKind {
  return KIND[id[0]!]!;
}

/**
 * The canonical person id of a customer: derived from the customer node alone,
 * so every edge location, store and replay computes the same id for the same
 * person whatever order the merges happened in.
 */
export function personIdOf(customerHash: string): string {
  return `p_${customerHash.slice(0, 32)}`;
}

/** Valid node ids: a kind prefix and a pseudonymous value (used to refuse junk at the API). */
export const NODE_PATTERN = /^[vdce]:[A-Za-z0-9_-]{8,128}$/;
