// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the URLs hold literal ${env:…} references
// Credentials in URLs: which query parameters count, what is found in user info and
// query, what is left alone (references, ordinary URLs, text that is no URL), and the
// redacted URL keeping everything else exactly as written.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isCredentialParameter, redactUrlCredentials, urlCredentials } from "./url-credentials.ts";

describe("url credentials", () => {
  it("counts a query parameter by the last word of its name", () => {
    for (const name of [
      "api_key",
      "apiKey",
      "apikey",
      "key",
      "access_token",
      "X-Amz-Signature",
      "sig",
      "client_secret",
      "password",
      "auth",
      "subscription-key",
      "accessKey",
    ])
      assert.ok(isCredentialParameter(name), name);
    for (const name of [
      "page",
      "monkey",
      "keyword",
      "token_type",
      "sort",
      "v",
      "bypass",
      "sort_key",
      "partitionKey",
      "skipAuth",
      "use_auth",
    ])
      assert.ok(!isCredentialParameter(name), name);
  });

  it("finds literal credentials in user info and query, and names them", () => {
    assert.deepEqual(urlCredentials("https://auth.example/i?api_key=abc&v=2"), [
      "api_key= in its query",
    ]);
    assert.deepEqual(urlCredentials("redis://app:hunter2@redis:6379/0"), [
      "a password in its user info",
    ]);
    assert.deepEqual(urlCredentials("https://ghp_0123456789@git.example/repo?token=t&x=1"), [
      "a token as its user name",
      "token= in its query",
    ]);
    for (const clean of [
      "https://auth.example/introspect",
      "http://127.0.0.1:9001",
      "https://auth.example/i?page=2&api_key=",
      "https://auth.example/i?api_key=${env:KEY}",
      "redis://app:${env:REDIS_PASSWORD}@redis:6379",
      "redis://:@redis:6379",
      "not a url ?api_key=abc",
      "/relative/path?token=abc",
    ])
      assert.deepEqual(urlCredentials(clean), [], clean);
  });

  it("redacts each credential in place, the rest as written", () => {
    assert.equal(
      redactUrlCredentials("https://auth.example/i?api_key=abc&v=2#top"),
      "https://auth.example/i?api_key=[redacted]&v=2#top",
    );
    assert.equal(
      redactUrlCredentials("redis://app:hunter2@redis:6379/0?password=x"),
      "redis://app:[redacted]@redis:6379/0?password=[redacted]",
    );
    assert.equal(
      redactUrlCredentials("https://ghp_0123@git.example/x"),
      "https://[redacted]@git.example/x",
    );
    const clean = "https://auth.example/i?api_key=${env:KEY}&v=2";
    assert.equal(redactUrlCredentials(clean), clean);
  });
});
