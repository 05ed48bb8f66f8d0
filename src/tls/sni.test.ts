import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SecureContext } from "node:tls";
import type { LoadedCertificate } from "./certificates.ts";
import { CertificateTable } from "./sni.ts";

/** A stand-in certificate: the table reads only names and the context. */
const certificate = (label: string, names: string[]) =>
  ({ names, context: { label } as unknown as SecureContext }) as LoadedCertificate;
const labelOf = (context: SecureContext) => (context as unknown as { label: string }).label;

describe("CertificateTable", () => {
  const table = new CertificateTable([
    certificate("first", ["api.test"]),
    certificate("wild", ["*.shop.test", "shop.test"]),
    certificate("exact", ["cart.shop.test", "api.test"]),
  ]);
  const pick = (name?: string) => labelOf(table.select(name));

  it("prefers an exact name to a wildcard, and the earlier certificate for a name both have", () => {
    assert.equal(pick("cart.shop.test"), "exact");
    assert.equal(pick("api.test"), "first");
  });

  it("matches a wildcard for one label only, ignoring case and a trailing dot", () => {
    assert.equal(pick("Pay.Shop.Test."), "wild");
    assert.equal(pick("shop.test"), "wild");
    assert.equal(pick("a.b.shop.test"), "first");
  });

  it("serves the first certificate for no name or an unknown one", () => {
    assert.equal(pick(undefined), "first");
    assert.equal(pick("unknown.test"), "first");
  });
});
