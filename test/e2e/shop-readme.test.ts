// examples/shop/README.md, run as it is written: each of its shell blocks is one this test
// knows and runs (a block it does not know fails the test, so none goes untested). The
// shop is started by the README's own command lines (only the ports move, to free ones,
// and external mode's three URLs to this test's own PostgreSQL, NATS and etcd); the flow
// and the failure injection run in `sh` with curl and jq, and print what the README says.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { after, describe, it } from "node:test";
import { promisify } from "node:util";
import { type EtcdServer, startEtcdServer } from "../helpers/etcd-server.ts";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { repositoryRoot, type ShopProcess, startShop } from "../helpers/shop-process.ts";

const run = promisify(execFile);
const readme = readFileSync(`${repositoryRoot}examples/shop/README.md`, "utf8");
const mainReadme = readFileSync(`${repositoryRoot}README.md`, "utf8");

/** The fenced `sh` blocks of a Markdown text, in order. */
function shellBlocks(text: string): string[] {
  return [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1]!);
}

const blocks = shellBlocks(readme);
const known = {
  start: blocks.find((block) => block === "npm run shop\n"),
  flow: blocks.find((block) => block.startsWith("BASE=http://127.0.0.1:8080/api/v1\n")),
  declined: blocks.find((block) => block.includes('"payment_method":"declined_card"')),
  chaos: blocks.find((block) =>
    /^PAYMENTS_FAIL_RATE=\S+ PAYMENTS_DELAY=\S+ npm run shop\n$/.test(block),
  ),
  external: blocks.find((block) => block.startsWith("SHOP_MODE=external ")),
};

/** Runs shell text against `shop` (its gateway in place of the README's :8080). */
async function shell(shop: ShopProcess, text: string): Promise<string> {
  const script = text.replaceAll("127.0.0.1:8080", `127.0.0.1:${shop.ports.GATEHOUSE_PORT}`);
  const { stdout } = await run("sh", ["-ec", script], {
    cwd: repositoryRoot,
    env: shop.env,
    timeout: 60_000,
  });
  return stdout;
}

interface Json {
  // biome-ignore lint/suspicious/noExplicitAny: JSON read back from the API
  [key: string]: any;
}

/**
 * The flow's output: the registered user and the order, two JSON texts in a row (curl -s
 * prints no newline), then whatever a block run after it printed.
 */
function flowOutput(stdout: string): { user: Json; order: Json; rest: string } {
  const split = stdout.indexOf("}{");
  const end = stdout.lastIndexOf("}") + 1;
  assert.ok(split > 0 && end > split, `two JSON answers in: ${stdout}`);
  return {
    user: JSON.parse(stdout.slice(0, split + 1)) as Json,
    order: JSON.parse(stdout.slice(split + 1, end)) as Json,
    rest: stdout.slice(end),
  };
}

async function stockOf(shop: ShopProcess, productId: string): Promise<number> {
  const answer = await fetch(`${shop.url}/api/v1/products/${productId}`);
  assert.equal(answer.status, 200);
  return ((await answer.json()) as Json).stock as number;
}

describe("examples/shop/README.md", () => {
  const stops: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  it("has only shell blocks this test runs, and the main README starts the shop the same way", () => {
    const ran = Object.values(known);
    assert.deepEqual(
      blocks.filter((block) => !ran.includes(block)),
      [],
      "a shell block nobody runs",
    );
    for (const [name, block] of Object.entries(known)) assert.ok(block, `the ${name} block`);
    assert.ok(shellBlocks(mainReadme).includes(known.start!), "README.md: `npm run shop`");
    assert.match(mainReadme, /\[`examples\/shop\/README\.md`\]\(examples\/shop\/README\.md\)/);
    const scripts = JSON.parse(readFileSync(`${repositoryRoot}package.json`, "utf8")).scripts;
    assert.equal(scripts.shop, "node examples/shop/start.ts");
  });

  it("shows the same curl flow that test/e2e/shop.test.ts runs (the design documents')", () => {
    const source = readFileSync(`${repositoryRoot}test/e2e/shop.test.ts`, "utf8");
    const literal = /const designFlow = `([\s\S]*?)`;/.exec(source)?.[1];
    assert.ok(literal, "test/e2e/shop.test.ts keeps the flow in `const designFlow`");
    assert.equal(known.flow, literal.replaceAll("\\\\", "\\"));
  });

  it("npm run shop, then the flow (confirmed) and the declined card (payment_failed)", async () => {
    const shop = await startShop(known.start!);
    stops.push(() => shop.stop());
    const { products } = (await (
      await fetch(`${shop.url}/api/v1/products?page=1&page_size=10`)
    ).json()) as Json;
    const first = products[0] as Json;
    const stock = await stockOf(shop, first.id);

    const { user, order, rest } = flowOutput(await shell(shop, known.flow! + known.declined!));
    assert.equal(user.email, "test@example.com");
    assert.equal(user.full_name, "Test User");
    assert.equal(order.status, "confirmed");
    assert.equal(order.user_id, user.id);
    assert.deepEqual(
      order.items.map((item: Json) => [item.product_id, item.quantity]),
      [[first.id, 2]],
    );
    assert.equal(order.total, Math.round(first.price * 2 * 100) / 100);
    // The README says the declined card's order prints `payment_failed`.
    assert.equal(rest, "payment_failed\n");
    assert.match(readme, /It prints `payment_failed`\./);
    // Two ordered and kept; the declined order's one went back.
    assert.equal(await stockOf(shop, first.id), stock - 2);

    const stopped = await shop.stop();
    assert.ok(stopped.clean, `Ctrl-C stops it cleanly:\n${stopped.output.slice(-3_000)}`);
  });

  it("the failure injection line: slow, flaky payments, and orders still confirmed", async () => {
    const [, rate, delay] = /^PAYMENTS_FAIL_RATE=(\S+) PAYMENTS_DELAY=(\d+)ms/.exec(known.chaos!)!;
    assert.equal(rate, "0.3", "the README's numbers are the ones checked below");
    const delayMs = Number(delay);
    const shop = await startShop(known.chaos!);
    stops.push(() => shop.stop());
    const { order } = flowOutput(await shell(shop, known.flow!));

    // More orders from the same user: each waits the delay at least once; with 30% of
    // charges failing, some are retried (another full delay); almost all end confirmed (a
    // charge fails all four tries one time in about 120, the flow's own order too).
    const api = `${shop.url}/api/v1`;
    const login = (await (
      await fetch(`${api}/users/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "test@example.com", password: "password123" }),
      })
    ).json()) as Json;
    const durations: number[] = [];
    const statuses: string[] = [order.status];
    for (let i = 0; i < 20; i++) {
      const started = Date.now();
      const answer = await fetch(`${api}/orders`, {
        method: "POST",
        headers: { authorization: `Bearer ${login.token}`, "content-type": "application/json" },
        body: JSON.stringify({
          items: [{ product_id: order.items[0].product_id, quantity: 1 }],
          payment_method: "credit_card",
        }),
      });
      durations.push(Date.now() - started);
      assert.equal(answer.status, 201);
      statuses.push(((await answer.json()) as Json).status);
    }
    assert.ok(Math.min(...durations) >= delayMs, `every order waits ${delayMs} ms: ${durations}`);
    assert.ok(
      durations.some((ms) => ms >= 2 * delayMs),
      `a failed charge is retried (another ${delayMs} ms): ${durations}`,
    );
    assert.deepEqual(
      statuses.filter((status) => status !== "confirmed" && status !== "payment_failed"),
      [],
    );
    assert.ok(
      statuses.filter((status) => status === "confirmed").length >= 19,
      `orders still end confirmed: ${statuses}`,
    );
    const stopped = await shop.stop();
    assert.ok(stopped.clean, stopped.output.slice(-3_000));
  });

  it("external mode: the README's line with this test's PostgreSQL, NATS and etcd", async () => {
    let database: TestDatabase | undefined;
    let nats: NatsServer | undefined;
    let etcd: EtcdServer | undefined;
    stops.push(async () => {
      await etcd?.remove();
      await nats?.remove();
      await database?.drop();
    });
    [database, nats, etcd] = await Promise.all([
      createTestDatabase(),
      startNatsServer(),
      startEtcdServer(),
    ]);
    const line = known
      .external!.replace(/DATABASE_URL=\S+/, `DATABASE_URL=${database.url}`)
      .replace(/NATS_URL=\S+/, `NATS_URL=${nats.url}`)
      .replace(/ETCD_URL=\S+/, `ETCD_URL=${etcd.url}`);
    assert.notEqual(line, known.external, "the URLs were moved");
    const shop = await startShop(line);
    stops.push(() => shop.stop());
    assert.match(shop.output(), /external mode/);
    const { order } = flowOutput(await shell(shop, known.flow!));
    assert.equal(order.status, "confirmed");
    const stopped = await shop.stop();
    assert.ok(stopped.clean, stopped.output.slice(-3_000));
  });
});
