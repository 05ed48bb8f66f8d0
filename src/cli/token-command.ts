/**
 * @module cli/token-command
 * `gatehouse token`: prints a signed JWT, alone on stdout, for trying a route that has the
 * jwt plugin (`curl -H "Authorization: Bearer $(gatehouse token ...)"`).
 */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { jwsAlgorithms } from "../plugins/jwt/algorithms.ts";
import { type SigningMaterial, signToken, TokenError } from "./token.ts";

interface TokenOptions {
  secret?: string;
  secretFile?: string;
  key?: string;
  alg?: string;
  sub?: string;
  iss?: string;
  aud?: string[];
  claim?: string[];
  expires: string | false;
  kid?: string;
}

const repeat = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/** Adds `gatehouse token` to the program. */
export function registerTokenCommand(program: Command): void {
  program
    .command("token")
    .description("print a signed JWT for trying the jwt plugin")
    .option("--secret <secret>", "HMAC secret, as the plugin's `secret` (lands in shell history)")
    .option("--secret-file <file>", "read the HMAC secret from a file (its final newline dropped)")
    .option("--key <file>", "private key: PEM (PKCS#8, PKCS#1 or SEC1) or a JWK in JSON")
    .option(
      "--alg <alg>",
      `${jwsAlgorithms.join(", ")}; default HS256 with a secret, else the key's (RS256, ES256, EdDSA...)`,
    )
    .option("--sub <subject>", "the sub claim (a consumer's name, for consumerClaim: sub)")
    .option("--iss <issuer>", "the iss claim")
    .option("--aud <audience>", "the aud claim; repeat for several", repeat)
    .option(
      "--claim <name=value>",
      "any claim; a JSON value (5, true, [...]) is kept as JSON; repeat for several",
      repeat,
    )
    .option("--expires <duration>", "lifetime until exp, e.g. 30m, 1h, 7d", "1h")
    .option("--no-expires", "no exp claim")
    .option("--kid <kid>", "the kid header (default: a JWK's own kid)")
    .action(async (options: TokenOptions) => {
      try {
        const token = await signToken({
          material: material(options),
          ...(options.alg !== undefined && { alg: options.alg }),
          ...(options.sub !== undefined && { sub: options.sub }),
          ...(options.iss !== undefined && { iss: options.iss }),
          ...(options.kid !== undefined && { kid: options.kid }),
          aud: options.aud ?? [],
          claims: options.claim ?? [],
          expires: options.expires,
        });
        console.log(token);
      } catch (error) {
        if (!(error instanceof TokenError)) throw error;
        console.error(`gatehouse: ${error.message}`);
        process.exit(1);
      }
    });
}

function material(options: TokenOptions): SigningMaterial {
  const given = [options.secret, options.secretFile, options.key].filter((v) => v !== undefined);
  if (given.length !== 1)
    throw new TokenError("give exactly one of --secret, --secret-file and --key");
  if (options.secret !== undefined) return { secret: options.secret };
  const file = (options.secretFile ?? options.key)!;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new TokenError(`cannot read ${file}: ${code === "ENOENT" ? "file not found" : code}`);
  }
  // As `${file:...}` reads a secret in the config: without the final line ending.
  if (options.secretFile !== undefined) return { secret: text.replace(/\r?\n$/, "") };
  return { keyText: text, keyFile: file };
}
