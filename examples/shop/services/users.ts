/**
 * @module examples/shop/services/users
 * The users service: accounts (register), logins that issue RS256 JWTs, the caller's own
 * profile, and the JWKS the gateway verifies tokens with (plain HTTP on USERS_JWKS_PORT,
 * `/.well-known/jwks.json`). It also keeps each user's count of confirmed orders from the
 * `orders.confirmed` events: a consumer off the order's path, applied once per event
 * (the inbox), shown as `order_count`.
 */
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type Queryable, traceHandler } from "gatehouse-gateway/sdk";
import { SignJWT } from "jose";
import { callerId } from "./shared/caller.ts";
import { alreadyExists, notFound, unauthenticated, Violations } from "./shared/errors.ts";
import {
  advertisedAddressOf,
  defaultJwksPort,
  listenHostOf,
  portFrom,
  type ShopEnv,
} from "./shared/service-env.ts";
import { openService, type RunningService, serveService } from "./shared/service-runtime.ts";
import { decoyHash, hashPassword, verifyPassword } from "./users/passwords.ts";
import {
  currentSigningKey,
  ensureSigningKey,
  jwks,
  rotateSigningKey,
  signingKeySchema,
} from "./users/signing-keys.ts";

/** The `iss` of every token. */
export const tokenIssuer = "shop-users";
/** How long a token is valid. */
export const tokenTtlSeconds = 3600;

interface UserRow {
  id: string;
  email: string;
  username: string;
  full_name: string;
  phone: string;
  password_hash: string;
  order_count: number;
  created_at: Date;
}

interface RegisterRequest {
  email: string;
  username: string;
  password: string;
  full_name: string;
  phone: string;
}

const schema = [
  "create schema if not exists shop_users",
  `create table if not exists shop_users.users (
     id text primary key,
     email text not null unique,
     username text not null unique,
     full_name text not null,
     phone text not null default '',
     password_hash text not null,
     order_count integer not null default 0,
     created_at timestamptz not null default now())`,
  signingKeySchema,
];

const maxPasswordLength = 128;
const emailPattern = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const usernamePattern = /^[A-Za-z0-9_.-]{3,32}$/;
const phonePattern = /^\+?[0-9 ().-]{6,20}$/;

function view(row: UserRow) {
  return {
    id: row.id,
    email: row.email,
    username: row.username,
    full_name: row.full_name,
    phone: row.phone,
    created_at: row.created_at.toISOString(),
    order_count: row.order_count,
  };
}

function checkRegistration(request: RegisterRequest): void {
  const bad = new Violations();
  if (!emailPattern.test(request.email) || request.email.length > 254)
    bad.add("email", "must be an email address");
  if (!usernamePattern.test(request.username))
    bad.add("username", "must be 3-32 letters, digits, '.', '_' or '-'");
  if (request.password.length < 8 || request.password.length > maxPasswordLength)
    bad.add("password", `must be 8-${maxPasswordLength} characters`);
  if (request.full_name.trim() === "" || request.full_name.length > 100)
    bad.add("full_name", "must be 1-100 characters");
  if (request.phone !== "" && !phonePattern.test(request.phone))
    bad.add("phone", "must be a phone number (digits, spaces, + ( ) . -)");
  bad.throwIfAny();
}

async function userBy(db: Queryable, column: "id" | "email", value: string) {
  const { rows } = await db.query<UserRow>(`select * from shop_users.users where ${column} = $1`, [
    value,
  ]);
  return rows[0];
}

/** Starts the users service and its JWKS server. */
export async function startUsers(env: ShopEnv): Promise<RunningService> {
  const parts = await openService("users", env, schema);
  const { db, bus } = parts;
  await ensureSigningKey(db);

  const jwksServer = createServer(
    traceHandler(async (req, res) => {
      if (req.method !== "GET" || req.url?.split("?")[0] !== "/.well-known/jwks.json") {
        res.writeHead(404, { "content-type": "application/json" });
        res.end('{"error":"not found"}');
        return;
      }
      const body = JSON.stringify(await jwks(db));
      res.writeHead(200, { "content-type": "application/json", "cache-control": "max-age=60" });
      res.end(body);
    }),
  );
  await new Promise<void>((resolve, reject) => {
    jwksServer.once("error", reject);
    jwksServer.listen(
      portFrom(env, "USERS_JWKS_PORT", defaultJwksPort),
      listenHostOf(env),
      resolve,
    );
  });
  const jwksPort = (jwksServer.address() as AddressInfo).port;
  parts.onClose(() => new Promise((resolve) => jwksServer.close(resolve).closeAllConnections()));

  // Off the order's path: a confirmed order counts once, however often the event arrives.
  const counting = bus.subscribe(
    { durable: "users-order-count", subject: "orders.confirmed", db },
    async (event, tx) => {
      const { user_id } = event.data as { user_id: string };
      await tx!.query("update shop_users.users set order_count = order_count + 1 where id = $1", [
        user_id,
      ]);
    },
  );
  parts.onClose(() => counting.close());

  const methods = {
    async Register(request: RegisterRequest) {
      const email = request.email.trim().toLowerCase();
      checkRegistration({ ...request, email });
      const passwordHash = await hashPassword(request.password);
      const { rows } = await db.query<UserRow>(
        `insert into shop_users.users (id, email, username, full_name, phone, password_hash)
         values ($1, $2, $3, $4, $5, $6) on conflict do nothing returning *`,
        [
          randomUUID(),
          email,
          request.username,
          request.full_name.trim(),
          request.phone,
          passwordHash,
        ],
      );
      if (rows[0]) return view(rows[0]);
      if (await userBy(db, "email", email)) throw alreadyExists("email is already registered");
      throw alreadyExists("username is taken");
    },

    async Login(request: { email: string; password: string }) {
      // No password is longer (Register says so): refused before hashing megabytes.
      if (request.password.length > maxPasswordLength)
        throw unauthenticated("wrong email or password");
      const user = await userBy(db, "email", request.email.trim().toLowerCase());
      const matches = await verifyPassword(request.password, user?.password_hash ?? decoyHash);
      if (!user || !matches) throw unauthenticated("wrong email or password");
      const key = await currentSigningKey(db);
      const issuedAt = Math.floor(Date.now() / 1000);
      const expiresAt = issuedAt + tokenTtlSeconds;
      const token = await new SignJWT({ user_id: user.id })
        .setProtectedHeader({ alg: "RS256", kid: key.kid, typ: "JWT" })
        .setSubject(user.id)
        .setIssuer(tokenIssuer)
        .setIssuedAt(issuedAt)
        .setExpirationTime(expiresAt)
        .sign(key.privateKey);
      return {
        token,
        user_id: user.id,
        expires_at: new Date(expiresAt * 1000).toISOString(),
      };
    },

    async GetMe(_request: unknown, call: Parameters<typeof callerId>[0]) {
      const id = callerId(call);
      const user = await userBy(db, "id", id);
      if (!user) throw notFound(`user ${id} not found`);
      return view(user);
    },
  };
  return serveService(parts, methods, {
    jwksUrl: `http://${advertisedAddressOf(env) ?? "127.0.0.1"}:${jwksPort}/.well-known/jwks.json`,
    rotateSigningKey: () => rotateSigningKey(db),
  });
}
