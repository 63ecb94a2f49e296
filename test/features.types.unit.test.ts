import { describe, expectTypeOf, it } from "vitest";
import type { ConsentValue, IdentityValue } from "../src/contracts/values";
import type { CartValue } from "../src/features/definitions/cart";
import type { FeatureVector } from "../src/features/engine";

// Compile-time pins (checked by `npm run typecheck`): a feature's type comes from its definition.
describe("FeatureVector is typed from the feature definitions", () => {
  it("each field has its definition's value type; unknown names do not exist", () => {
    expectTypeOf<FeatureVector["cart"]>().toEqualTypeOf<CartValue | undefined>();
    expectTypeOf<FeatureVector["consent"]>().toEqualTypeOf<ConsentValue | null | undefined>();
    expectTypeOf<FeatureVector["identity"]>().toEqualTypeOf<IdentityValue | null | undefined>();
    expectTypeOf<FeatureVector["last_viewed_items"]>().toEqualTypeOf<string[] | undefined>();
    expectTypeOf<FeatureVector>().not.toHaveProperty("no_such_feature");
  });
});
