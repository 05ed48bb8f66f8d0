// The template compiler of the transformer plugins: each source read from a request,
// literals and `$$`, missing values, encoding, and the errors a bad template is refused with.
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { describe, it } from "node:test";
import { RequestContext } from "../../pipeline/context.ts";
import { parsePathPattern } from "../../router/path-pattern.ts";
import { jwtClaimsKey } from "../auth/token-claims.ts";
import { compileTemplate, queryValue, templateProblem } from "./template.ts";

function request(): RequestContext {
  const req = {
    method: "POST",
    headers: { "x-foo": "bar", accept: ["a", "b"] },
    socket: {},
  } as unknown as IncomingMessage;
  const ctx = new RequestContext({
    req,
    requestId: "req-1",
    route: "r",
    service: "s",
    clientAddress: "10.1.2.3",
    path: "/users/j%C3%BCrgen/files/a/b.txt",
    query: "?page=2&q=hello+world&empty&enc=%2Fx",
    pattern: parsePathPattern("/users/:name/files/*"),
  });
  ctx.consumer = { name: "alice", groups: ["admins", "ops"] };
  ctx.set(jwtClaimsKey, { sub: "u-1", org: { id: 7 }, roles: ["a", "b"] });
  return ctx;
}

const render = (text: string) => compileTemplate(text).render(request());

describe("transform templates", () => {
  it("reads every source of the request", () => {
    assert.equal(render("$(path.name)"), "jürgen");
    assert.equal(render("$(path.*)"), "a/b.txt");
    assert.equal(render("$(query.page)"), "2");
    assert.equal(render("$(query.q)"), "hello world");
    assert.equal(render("$(query.empty)"), "");
    assert.equal(render("$(query.enc)"), "/x");
    assert.equal(render("$(header.X-Foo)"), "bar");
    assert.equal(render("$(header.accept)"), "a, b");
    assert.equal(render("$(consumer.name)"), "alice");
    assert.equal(render("$(consumer.groups)"), "admins,ops");
    assert.equal(render("$(claims.sub)"), "u-1");
    assert.equal(render("$(claims.org.id)"), "7");
    assert.equal(render("$(claims.roles)"), "a b");
    assert.equal(render("$(client.ip)"), "10.1.2.3");
    assert.equal(
      render("$(request.id) $(request.method) $(request.path)"),
      "req-1 POST /users/j%C3%BCrgen/files/a/b.txt",
    );
  });

  it("mixes literals and references; $$ and a lone $ are text", () => {
    assert.equal(render("user=$(consumer.name);ip=$( client.ip )"), "user=alice;ip=10.1.2.3");
    assert.equal(render("costs $$(5) or $5"), "costs $(5) or $5");
    const constant = compileTemplate("plain");
    assert.equal(constant.constant, "plain");
    assert.equal(compileTemplate("$(client.ip)").constant, undefined);
  });

  it("renders nothing when a referenced value is missing", () => {
    assert.equal(render("Bearer $(header.x-missing)"), undefined);
    assert.equal(render("$(query.nope)"), undefined);
    assert.equal(render("$(claims.org.missing)"), undefined);
    assert.equal(render("$(path.nope)"), undefined);
    const anonymous = request();
    anonymous.consumer = undefined;
    assert.equal(compileTemplate("$(consumer.name)").render(anonymous), undefined);
  });

  it("encodes values read from the request, never the literal text", () => {
    const encoded = compileTemplate("/v2/$(path.name)?", encodeURIComponent);
    assert.equal(encoded.render(request()), "/v2/j%C3%BCrgen?");
  });

  it("refuses bad templates with a message that says what is wrong", () => {
    assert.match(templateProblem("$(nope.x)")!, /unknown source "nope"; use path, query/);
    assert.match(templateProblem("$(header)")!, /name what of "header"/);
    assert.match(templateProblem("$(header.x")!, /not closed/);
    assert.match(templateProblem("$(consumer.id)")!, /"name" and "groups"/);
    assert.match(templateProblem("$(client.port)")!, /"ip"/);
    assert.match(templateProblem("$(request.body)")!, /"id", "method" and "path"/);
    assert.equal(templateProblem("fine $(query.a) $$"), undefined);
  });

  it("finds the first value of a query argument", () => {
    assert.equal(queryValue("a=1&a=2", "a"), "1");
    assert.equal(queryValue("", "a"), undefined);
    assert.equal(queryValue("b%20c=d", "b c"), "d");
  });
});
