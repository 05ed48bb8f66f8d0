// basic-auth over real sockets: scrypt, bcrypt and plain passwords name their consumer,
// verified credentials are remembered (failures are not), unknown users cost what wrong
// passwords cost, several authentication plugins on one route are any-of, and a bad hash
// in config is refused at FILE:LINE:COL.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import {
  type PasswordCheckMessage,
  passwordCheckChannel,
} from "../../src/observability/diagnostics.ts";
import { hashPassword } from "../../src/plugins/basic-auth/password-hash.ts";
import { configProblems } from "../helpers/config-problems.ts";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { type LogFile, type LogLine, tempLogFile } from "../helpers/log-file.ts";
import { echo, startUpstream, type Upstream } from "../helpers/upstream.ts";

type Seen = { url: string; headers: Record<string, string>; error?: { code: string } };
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

/** The password hashes computed while `action` runs (cache hits compute none). */
async function hashesDuring<T>(action: () => Promise<T>): Promise<{ result: T; kinds: string[] }> {
  const kinds: string[] = [];
  const onCheck = (message: unknown) => kinds.push((message as PasswordCheckMessage).kind);
  passwordCheckChannel.subscribe(onCheck);
  try {
    return { result: await action(), kinds };
  } finally {
    passwordCheckChannel.unsubscribe(onCheck);
  }
}

describe("basic-auth", () => {
  let up: Upstream;
  let gw: RunningGateway;
  let log: LogFile;
  let plainWarnings: LogLine[] = [];

  before(async () => {
    up = await startUpstream(echo);
    log = await tempLogFile();
    gw = await startGateway(
      testConfig({
        gateway: { log: { level: "warn", destination: log.path } },
        consumers: [
          {
            name: "alice",
            groups: ["admins"],
            // The default cost: the one whose time the cache and the decoy must hide.
            credentials: {
              basic: [{ username: "alice", password: await hashPassword("wonderland", "scrypt") }],
            },
          },
          {
            name: "bob",
            credentials: {
              basic: [{ username: "bob", password: await hashPassword("builder", "bcrypt", 6) }],
              keys: ["bob-key-12345"],
            },
          },
          { name: "carol", credentials: { basic: [{ username: "carol", password: "plain pw" }] } },
          {
            name: "guest",
            plugins: [{ name: "security-headers", config: { frameOptions: "SAMEORIGIN" } }],
          },
        ],
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [
          {
            name: "basic",
            match: { paths: ["/basic/*"] },
            service: "svc",
            plugins: [{ name: "basic-auth", config: { realm: "staff" } }],
          },
          {
            name: "nocache",
            match: { paths: ["/nocache/*"] },
            service: "svc",
            plugins: [{ name: "basic-auth", config: { cacheTtl: "0s", hideCredentials: false } }],
          },
          {
            name: "either",
            match: { paths: ["/either/*"] },
            service: "svc",
            plugins: [{ name: "key-auth" }, { name: "basic-auth" }],
          },
          {
            name: "public",
            match: { paths: ["/public/*"] },
            service: "svc",
            plugins: [{ name: "basic-auth", config: { anonymous: "guest" } }, { name: "key-auth" }],
          },
        ],
      }),
    );
    plainWarnings = (await log.lines()).filter((line) => line.plugin === "basic-auth");
  });
  after(async () => {
    await gw.stop();
    await up.close();
    await log.remove();
  });

  const call = async (path: string, headers: Record<string, string> = {}) => {
    const res = await request(`${gw.url}${path}`, { headers });
    const body = (await res.body.json()) as Seen;
    return { status: res.statusCode, headers: res.headers, body };
  };

  it("names the consumer from a scrypt password, forwards who it is and drops Authorization", async () => {
    const res = await call("/basic/x", { authorization: basic("alice", "wonderland") });
    assert.equal(res.status, 200);
    assert.equal(res.body.headers["x-consumer-name"], "alice");
    assert.equal(res.body.headers["x-consumer-groups"], "admins");
    assert.equal(res.body.headers.authorization, undefined);
  });

  it("accepts bcrypt and plain-text passwords, the plain one with a warning at load", async () => {
    assert.ok(plainWarnings.length > 0);
    for (const line of plainWarnings) {
      assert.equal(line.level, "warn");
      assert.match(line.msg, /passwords written in plain text/);
      assert.deepEqual(line.consumers, ["carol"]);
      assert.doesNotMatch(JSON.stringify(line), /plain pw/, "the password is never logged");
    }
    const bob = await call("/basic/x", { authorization: basic("bob", "builder") });
    assert.equal(bob.body.headers["x-consumer-name"], "bob");
    const carol = await call("/nocache/x", { authorization: basic("carol", "plain pw") });
    assert.equal(carol.body.headers["x-consumer-name"], "carol");
    assert.equal(
      carol.body.headers.authorization,
      basic("carol", "plain pw"),
      "hideCredentials: false",
    );
  });

  it("answers 401 with a Basic challenge for missing, wrong or malformed credentials", async () => {
    const before = up.requests.length;
    for (const authorization of [
      undefined,
      basic("alice", "wrong"),
      basic("nobody", "x"),
      "Basic bm9jb2xvbg==",
    ]) {
      const res = await call("/basic/x", authorization ? { authorization } : {});
      assert.equal(res.status, 401, authorization);
      assert.equal(res.body.error!.code, "GATEHOUSE_UNAUTHORIZED");
      assert.equal(res.headers["www-authenticate"], 'Basic realm="staff", charset="UTF-8"');
    }
    assert.equal(up.requests.length, before, "the upstream saw none of them");
  });

  it("remembers a verified password so the next request costs no hash, but never a failure", async () => {
    const headers = { authorization: basic("alice", "wonderland") };
    // The `either` route's basic-auth has not seen alice's password before this test.
    const first = await hashesDuring(() => call("/either/y", headers));
    assert.deepEqual(first.kinds, ["scrypt"]);
    assert.equal(first.result.status, 200);
    const repeat = await hashesDuring(async () => {
      for (let i = 0; i < 5; i++) assert.equal((await call("/either/y", headers)).status, 200);
    });
    assert.deepEqual(repeat.kinds, [], "a remembered password is not hashed again");
    const uncached = await hashesDuring(() => call("/nocache/x", headers));
    assert.deepEqual(uncached.kinds, ["scrypt"], "cacheTtl: 0 hashes every time");
    const wrong = { authorization: basic("alice", "wonderland!") };
    const failures = await hashesDuring(async () => {
      assert.equal((await call("/either/y", wrong)).status, 401);
      assert.equal((await call("/either/y", wrong)).status, 401);
    });
    assert.deepEqual(failures.kinds, ["scrypt", "scrypt"], "a failure is never remembered");
  });

  it("does the same work for an unknown user name as for a wrong password", async () => {
    const work = async (user: string) =>
      (await hashesDuring(() => call("/basic/z", { authorization: basic(user, "guess") }))).kinds;
    assert.deepEqual(await work("alice"), ["scrypt"]);
    assert.deepEqual(
      await work("mallory"),
      ["scrypt"],
      "an unknown user is checked against a real hash",
    );
  });

  it("any-of: a route with key-auth and basic-auth accepts either, and neither is a 401 naming both", async () => {
    const byKey = await call("/either/x", { "x-api-key": "bob-key-12345" });
    assert.equal(byKey.status, 200);
    assert.equal(byKey.body.headers["x-consumer-name"], "bob");
    const byPassword = await call("/either/x", { authorization: basic("alice", "wonderland") });
    assert.equal(byPassword.body.headers["x-consumer-name"], "alice");
    const neither = await call("/either/x");
    assert.equal(neither.status, 401);
    assert.equal(neither.body.error!.code, "GATEHOUSE_UNAUTHORIZED");
    assert.equal(
      neither.headers["www-authenticate"],
      'Basic realm="gatehouse", charset="UTF-8", ApiKey header="x-api-key"',
    );
  });

  it("any-of: wrong credentials of one kind are a 401 at once, even when the other kind could follow", async () => {
    const wrongBasic = await call("/either/x", { authorization: basic("alice", "nope") });
    assert.equal(wrongBasic.status, 401);
    assert.equal(
      wrongBasic.headers["www-authenticate"],
      'Basic realm="gatehouse", charset="UTF-8"',
    );
    const wrongKey = await call("/either/x", {
      "x-api-key": "wrong-key-000",
      authorization: basic("alice", "wonderland"),
    });
    assert.equal(wrongKey.status, 401);
    const wrongPasswordGoodKey = await call("/either/x", {
      "x-api-key": "bob-key-12345",
      authorization: basic("alice", "nope"),
    });
    assert.equal(wrongPasswordGoodKey.status, 401, "whichever plugin runs first");
  });

  it("anonymous: no credentials of any kind pass as the anonymous consumer; wrong ones are still a 401", async () => {
    const anon = await call("/public/x");
    assert.equal(anon.status, 200);
    assert.equal(anon.body.headers["x-anonymous-consumer"], "true");
    const byKey = await call("/public/x", { "x-api-key": "bob-key-12345" });
    assert.equal(byKey.body.headers["x-consumer-name"], "bob");
    assert.equal(byKey.body.headers["x-anonymous-consumer"], undefined);
    assert.equal((await call("/public/x", { authorization: basic("bob", "wrong") })).status, 401);
  });

  it("anonymous: the anonymous consumer's own plugins apply once the gate names it", async () => {
    assert.equal((await call("/public/x")).headers["x-frame-options"], "SAMEORIGIN");
    const bob = await call("/public/x", { "x-api-key": "bob-key-12345" });
    assert.equal(bob.headers["x-frame-options"], undefined, "bob has no plugins of his own");
  });

  it("never forwards identity headers the client sent itself", async () => {
    const claimed = {
      "x-consumer-name": "root",
      "x-consumer-groups": "admins",
      "x-anonymous-consumer": "false",
    };
    const bob = await call("/basic/x", { authorization: basic("bob", "builder"), ...claimed });
    assert.equal(bob.body.headers["x-consumer-name"], "bob");
    assert.equal(bob.body.headers["x-consumer-groups"], undefined, "bob is in no group");
    assert.equal(bob.body.headers["x-anonymous-consumer"], undefined);
    const anon = await call("/public/x", claimed);
    assert.equal(anon.body.headers["x-consumer-name"], undefined);
    assert.equal(anon.body.headers["x-consumer-groups"], undefined);
    assert.equal(anon.body.headers["x-anonymous-consumer"], "true");
  });

  it("refuses a malformed password hash at FILE:LINE:COL", () => {
    const text = [
      "gateway: { listen: [{ port: 8080 }] }",
      "consumers:",
      "  - name: c",
      "    credentials:",
      '      basic: [{ username: u, password: "$scrypt$ln=14,r=8$abc" }]',
    ].join("\n");
    assert.ok(
      configProblems(text).some((line) =>
        line.startsWith(
          "gw.yaml:5:40 consumers[0].credentials.basic[0].password: a scrypt hash is",
        ),
      ),
    );
  });
});
