/**
 * @module examples/shop/services/users/signing-keys
 * The RS256 keys the users service signs tokens with, kept in its store so that every
 * instance and every restart signs with the same key. The newest key signs; the JWKS lists
 * it and the one before, so tokens signed before a rotation stay valid until they expire
 * and the gateway's `jwt` plugin picks the new key up by its `kid`, without a restart.
 */
import { randomUUID } from "node:crypto";
import type { Queryable, Store } from "gatehouse-gateway/sdk";
import { type CryptoKey, exportJWK, generateKeyPair, importJWK, type JWK } from "jose";

/** The SQL of the keys table. */
export const signingKeySchema = `create table if not exists shop_users.signing_keys (
  kid text primary key,
  private_jwk jsonb not null,
  public_jwk jsonb not null,
  created_at timestamptz not null default clock_timestamp())`;

/** A key to sign with. */
export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
}

/** Makes a new key the one that signs (the old one stays in the JWKS). */
export async function rotateSigningKey(db: Queryable): Promise<string> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  const kid = randomUUID();
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" };
  await db.query(
    "insert into shop_users.signing_keys (kid, private_jwk, public_jwk) values ($1, $2, $3)",
    [kid, JSON.stringify(await exportJWK(privateKey)), JSON.stringify(publicJwk)],
  );
  return kid;
}

/** Makes the first key when there is none (under a lock: instances starting together make one). */
export async function ensureSigningKey(db: Store): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query("select pg_advisory_xact_lock(hashtext('shop_users_signing_keys'))");
    const { rows } = await tx.query("select 1 from shop_users.signing_keys limit 1");
    if (rows.length === 0) await rotateSigningKey(tx);
  });
}

const imported = new Map<string, CryptoKey>();

/** The key that signs now: the newest. */
export async function currentSigningKey(db: Queryable): Promise<SigningKey> {
  const { rows } = await db.query<{ kid: string; private_jwk: JWK }>(
    "select kid, private_jwk from shop_users.signing_keys order by created_at desc, kid limit 1",
  );
  const row = rows[0];
  if (!row) throw new Error("the users store has no signing key");
  let privateKey = imported.get(row.kid);
  if (!privateKey) {
    privateKey = (await importJWK(row.private_jwk, "RS256")) as CryptoKey;
    imported.set(row.kid, privateKey);
  }
  return { kid: row.kid, privateKey };
}

/** The JWKS: the public halves of the newest key and the one before it. */
export async function jwks(db: Queryable): Promise<{ keys: JWK[] }> {
  const { rows } = await db.query<{ public_jwk: JWK }>(
    "select public_jwk from shop_users.signing_keys order by created_at desc, kid limit 2",
  );
  return { keys: rows.map((row) => row.public_jwk) };
}
