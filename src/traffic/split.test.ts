// Unit tests for a compiled split: rules before weights, bucket bounds, sticky cookie and consumer.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { RouteConfig } from "../config/schema/index.ts";
import type { Service } from "../upstream/service.ts";
import { TrafficSplit } from "./split.ts";
import { cookieValue } from "./sticky-cookie.ts";

const services = new Map(
  ["main", "canary", "beta"].map((name) => [name, { name } as unknown as Service]),
);

function split(extra: Partial<RouteConfig>): TrafficSplit {
  return new TrafficSplit({ name: "shop api", service: "main", ...extra } as RouteConfig, services);
}

describe("TrafficSplit", () => {
  const canary = split({
    split: [
      { service: "canary", weight: 12.5 },
      { service: "beta", match: { headers: { "x-beta": "1" }, consumer: ["ann"] } },
    ],
    sticky: "cookie",
  });

  it("gives the weighted entries their buckets, the rest to the route's service", () => {
    assert.equal(canary.serviceOf(0).name, "canary");
    assert.equal(canary.serviceOf(1249).name, "canary");
    assert.equal(canary.serviceOf(1250).name, "main");
  });

  it("checks a rule's headers and consumer together, before the weights", () => {
    const beta = canary.pick({ "x-beta": "1", cookie: "gatehouse_split_shop_api=0" }, "ann");
    assert.equal(beta.service.name, "beta");
    assert.equal(beta.setCookie, undefined);
    const notAnn = canary.pick({ "x-beta": "1", cookie: "gatehouse_split_shop_api=0" }, "bob");
    assert.equal(notAnn.service.name, "canary");
  });

  it("sets a cookie with the bucket only when the client has none", () => {
    const fresh = canary.pick({}, undefined);
    const bucket = Number(/^gatehouse_split_shop_api=(\d+);/.exec(fresh.setCookie!)![1]);
    assert.equal(fresh.service, canary.serviceOf(bucket));
    const kept = canary.pick({ cookie: `gatehouse_split_shop_api=${bucket}` }, undefined);
    assert.equal(kept.setCookie, undefined);
    assert.equal(kept.service, fresh.service);
    assert.ok(canary.pick({ cookie: "gatehouse_split_shop_api=abc" }, undefined).setCookie);
  });

  it("hashes a consumer to the same bucket every time, about the weight's share of them", () => {
    const byConsumer = split({ split: [{ service: "canary", weight: 30 }], sticky: "consumer" });
    let onCanary = 0;
    for (let i = 0; i < 2000; i++) {
      const first = byConsumer.pick({}, `consumer-${i}`);
      assert.equal(byConsumer.pick({}, `consumer-${i}`).service, first.service);
      if (first.service.name === "canary") onCanary++;
    }
    assert.ok(Math.abs(onCanary / 2000 - 0.3) < 0.04, `${onCanary} of 2000`);
  });
});

describe("cookieValue", () => {
  it("finds one cookie among several, quoted or not", () => {
    assert.equal(cookieValue("a=1; b=2", "b"), "2");
    assert.equal(cookieValue('a=1;b="x y"', "b"), "x y");
    assert.equal(cookieValue("ab=1", "b"), undefined);
    assert.equal(cookieValue("", "b"), undefined);
  });
});
