// Subject rules shared by both transports: what matches a filter, which stream stores a
// subject, and what is refused.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  checkDurable,
  checkFilter,
  checkSubject,
  filterCovers,
  streamFor,
  subjectMatches,
} from "./subjects.ts";

describe("event subjects", () => {
  it("matches `*` to one token and a final `>` to one or more", () => {
    assert.ok(subjectMatches("orders.*", "orders.created"));
    assert.ok(!subjectMatches("orders.*", "orders.created.eu"));
    assert.ok(!subjectMatches("orders.*", "orders"));
    assert.ok(subjectMatches("orders.>", "orders.created.eu"));
    assert.ok(!subjectMatches("orders.>", "orders"));
    assert.ok(subjectMatches("*.created", "payments.created"));
    assert.ok(!subjectMatches("orders.created", "orders.paid"));
  });

  it("knows when one filter takes in everything another does", () => {
    assert.ok(filterCovers("orders.>", "orders.*"));
    assert.ok(filterCovers("orders.*", "orders.created"));
    assert.ok(!filterCovers("orders.*", "orders.>"));
    assert.ok(!filterCovers("orders.created", "orders.*"));
  });

  it("stores a subject in its declared stream, else in the stream of its first token", () => {
    const declared = [{ name: "commerce", subjects: ["orders.>", "payments.>"] }];
    assert.equal(streamFor("payments.made", declared).name, "commerce");
    assert.equal(streamFor("orders.*", declared).name, "commerce");
    assert.deepEqual(streamFor("stock.reserved", declared), {
      name: "stock",
      subjects: ["stock", "stock.>"],
    });
    assert.throws(() => streamFor("*.created", []), { code: "GATEHOUSE_EVENTS_INVALID" });
  });

  it("refuses wildcards or empty tokens in a subject, bad filters and bad durable names", () => {
    assert.throws(() => checkSubject("orders.*"), { code: "GATEHOUSE_EVENTS_INVALID" });
    assert.throws(() => checkSubject("orders..x"), { code: "GATEHOUSE_EVENTS_INVALID" });
    assert.throws(() => checkSubject("orders x"), { code: "GATEHOUSE_EVENTS_INVALID" });
    checkSubject("orders.created");
    assert.throws(() => checkFilter("orders.>.x"), { code: "GATEHOUSE_EVENTS_INVALID" });
    checkFilter("orders.*.eu");
    assert.throws(() => checkDurable("inventory.orders"), { code: "GATEHOUSE_EVENTS_INVALID" });
    checkDurable("inventory-orders_2");
  });
});
