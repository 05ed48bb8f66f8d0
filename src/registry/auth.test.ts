import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { describe, it } from "node:test";
import { isGatehouseError } from "../errors.ts";
import { createRegistryAuth, isLoopbackAddress } from "./auth.ts";

/** The parts of a request the registry's auth reads. */
const from = (remoteAddress: string, headers: Record<string, string> = {}) =>
  ({ socket: { remoteAddress }, headers }) as unknown as IncomingMessage;

describe("registry auth", () => {
  it("with no keys, lets loopback callers in and keeps everyone else out", () => {
    const authenticate = createRegistryAuth([]);
    for (const address of ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
      assert.equal(authenticate(from(address)).actor, "anonymous-loopback", address);
    for (const address of ["10.0.0.7", "::ffff:10.0.0.7", "fd00::1"])
      assert.throws(
        () => authenticate(from(address)),
        (error) => isGatehouseError(error, "GATEHOUSE_ADMIN_UNAUTHORIZED"),
        address,
      );
  });

  it("with keys, takes any of them in any of the three headers, wherever the caller is", () => {
    const authenticate = createRegistryAuth([
      { id: "orders", key: "orders-key-0123456789", readOnly: false },
      { id: "reader", key: "reader-key-0123456789", readOnly: true },
    ]);
    const caller = (headers: Record<string, string>) => authenticate(from("10.0.0.7", headers));
    assert.deepEqual(caller({ authorization: "Bearer orders-key-0123456789" }), {
      actor: "orders",
      readOnly: false,
    });
    assert.equal(caller({ "x-registry-key": "reader-key-0123456789" }).readOnly, true);
    assert.equal(caller({ "x-admin-key": "orders-key-0123456789" }).actor, "orders");
    assert.throws(
      () => caller({}),
      (error) => isGatehouseError(error, "GATEHOUSE_ADMIN_UNAUTHORIZED"),
    );
    assert.throws(
      () => authenticate(from("127.0.0.1")),
      "loopback needs a key too once there are keys",
    );
  });

  it("knows loopback addresses", () => {
    assert.equal(isLoopbackAddress(undefined), false);
    assert.equal(isLoopbackAddress("128.0.0.1"), false);
  });
});
