/**
 * Test-only key material (never used outside the test suite): shop A's HS256
 * secret and shop B's ES256 key pair, so tokens can be minted offline.
 */
export const TEST_JWT_SECRETS = { "shop-a": "test-shop-a-jwt-secret-0123456789abcdef", "shop-c": "test-shop-c-jwt-secret-0123456789abcdef" };

/** Shop B's public key, as its JWKS publishes it. */
export const SHOP_B_PUBLIC_JWK = {
  kty: "EC",
  x: "1SLNd2h0b3npQccY-is1vHcyIDMRxwtgtZHw-1XIvAs",
  y: "4NSZpbRebivO32KEXVtLFaKEuPwj3r8yRqUL0HN_JRM",
  crv: "P-256",
  kid: "shop-b-2026",
  alg: "ES256",
  use: "sig",
};

/** Shop B's private key (test only). */
export const SHOP_B_PRIVATE_JWK = {
  kty: "EC",
  x: "1SLNd2h0b3npQccY-is1vHcyIDMRxwtgtZHw-1XIvAs",
  y: "4NSZpbRebivO32KEXVtLFaKEuPwj3r8yRqUL0HN_JRM",
  crv: "P-256",
  d: "SNeAFQ3l56uyL7SaddhN_D4E8yW7LQmXlEk2KM3sJUo",
  kid: "shop-b-2026",
  alg: "ES256",
};
