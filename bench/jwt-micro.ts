/**
 * @module bench/jwt-micro
 * What the jwt plugin costs per request, in process: jose's jwtVerify alone with an
 * imported key, then the plugin's access hook with and without its verified-token cache,
 * for each kind of key. `node bench/jwt-micro.ts` prints the table.
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { jwtVerify, SignJWT } from "jose";
import type { ConsumerConfig } from "../src/config/schema/index.ts";
import type { PluginCase } from "./plugin-cases.ts";
import { formatPluginTable, measurePluginCost } from "./plugin-micro.ts";

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
const ed = generateKeyPairSync("ed25519");
const secret = "s".repeat(32);
const pem = (key: KeyObject) => key.export({ type: "spki", format: "pem" }).toString();

const alice: ConsumerConfig = {
  name: "alice",
  groups: ["admins"],
  metadata: {},
  credentials: { keys: [], basic: [], certificates: [] },
  plugins: [],
};

const sign = (key: KeyObject | Uint8Array, alg: string) =>
  new SignJWT({ sub: "alice", scope: "orders:read" })
    .setProtectedHeader({ alg })
    .setIssuer("https://issuer.example.com")
    .setAudience("orders-api")
    .setIssuedAt()
    .setExpirationTime("1d")
    .sign(key);

const jwtCase = async (
  label: string,
  key: KeyObject | Uint8Array,
  alg: string,
  keyConfig: Record<string, unknown>,
  tokenCache: number,
): Promise<PluginCase> => ({
  label,
  plugin: "jwt",
  config: {
    ...keyConfig,
    algorithms: [alg],
    issuer: "https://issuer.example.com",
    audience: "orders-api",
    consumerClaim: "sub",
    tokenCache,
  },
  headers: { authorization: `Bearer ${await sign(key, alg)}` },
  consumers: [alice],
  async: true,
});

/** jose's jwtVerify alone, RS256 with a CryptoKey imported once: the floor of the plugin's cost. */
async function joseAlone(): Promise<string> {
  const token = await sign(rsa.privateKey, "RS256");
  const key = rsa.publicKey.toCryptoKey({ name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, [
    "verify",
  ]);
  const options = { algorithms: ["RS256"], issuer: "https://issuer.example.com" };
  for (let i = 0; i < 2_000; i++) await jwtVerify(token, key, options);
  const n = 10_000;
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await jwtVerify(token, key, options);
  const us = Number(process.hrtime.bigint() - started) / 1_000 / n;
  return `jose jwtVerify RS256 (imported CryptoKey), sequential: ${us.toFixed(2)} µs/token`;
}

const cases = [
  await jwtCase(
    "jwt RS256, tokenCache 0 (verify every request)",
    rsa.privateKey,
    "RS256",
    { publicKey: pem(rsa.publicKey) },
    0,
  ),
  await jwtCase(
    "jwt RS256, tokenCache 1000 (remembered)",
    rsa.privateKey,
    "RS256",
    { publicKey: pem(rsa.publicKey) },
    1000,
  ),
  await jwtCase(
    "jwt PS256, tokenCache 0",
    rsa.privateKey,
    "PS256",
    { publicKey: pem(rsa.publicKey) },
    0,
  ),
  await jwtCase(
    "jwt ES256, tokenCache 0",
    ec.privateKey,
    "ES256",
    { publicKey: pem(ec.publicKey) },
    0,
  ),
  await jwtCase(
    "jwt EdDSA, tokenCache 0",
    ed.privateKey,
    "EdDSA",
    { publicKey: pem(ed.publicKey) },
    0,
  ),
  await jwtCase("jwt HS256, tokenCache 0", Buffer.from(secret), "HS256", { secret }, 0),
  await jwtCase("jwt HS256, tokenCache 1000", Buffer.from(secret), "HS256", { secret }, 1000),
];

console.log(await joseAlone());
console.log(formatPluginTable(await measurePluginCost(cases)));
