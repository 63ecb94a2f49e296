/**
 * Values that cross capabilities: what a visitor declared (consent) and who they
 * identified as (pseudonymised). The feature definitions compute them; sessions,
 * identity, privacy and recommendations read them.
 */

/** Consent as last declared by the visitor. */
export interface ConsentValue {
  analytics: boolean;
  personalization: boolean;
  updated_at: number;
}

/** Whether the visitor identified, and as whom (pseudonymised). */
export interface IdentityValue {
  /** `null` after an email-only identify (guest checkout). */
  customer_hash: string | null;
  email_hash: string | null;
  identified_at: number;
}
