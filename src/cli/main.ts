#!/usr/bin/env node
/**
 * @module cli/main
 * The `gatehouse` command: start, validate, schema, token, hash-password, secret, config. A running
 * gateway reports through its process log (`gateway.log`, JSON lines); the other commands
 * print plain text for the person who ran them.
 */
import type { AddressInfo } from "node:net";
import { createInterface } from "node:readline";
import { Command } from "commander";
import { configOriginOf } from "../config/document.ts";
import { configJsonSchema } from "../config/json-schema.ts";
import { ConfigError, formatProblem, type OverlayOption } from "../config/load.ts";
import { checkEnvironmentName, overlayPath, selectedEnvironment } from "../config/overlay.ts";
import {
  encryptSecret,
  generateSecretKey,
  SecretError,
  secretKeyFromEnv,
} from "../config/secrets.ts";
import { Gateway } from "../gateway.ts";
import type { PluginRegistry } from "../pipeline/registry.ts";
import {
  defaultBcryptCost,
  defaultScryptLogN,
  hashPassword,
} from "../plugins/basic-auth/password-hash.ts";
import { createPluginRegistry } from "../plugins/index.ts";
import { EtcdProvider } from "../providers/etcd.ts";
import { FileProvider } from "../providers/file.ts";
import { validateConfigFile } from "../runtime/validate.ts";
import { busyListener, configuredListeners } from "../server/busy-port.ts";
import { logClientConnectionCap } from "../server/open-file-limit.ts";
import { gatehouseVersion } from "../version.ts";
import { registerConfigCommands } from "./config-commands.ts";
import { registerTokenCommand } from "./token-command.ts";

const envHelp =
  "environment: merge FILE's overlay for it (gatehouse.NAME.yaml) over FILE; default GATEHOUSE_ENV";

const program = new Command()
  .name("gatehouse")
  .description("An API gateway and microservice edge")
  .version(gatehouseVersion, "-v, --version", "print the version")
  .showHelpAfterError();

program
  .command("start")
  .description("run the gateway")
  .requiredOption("-c, --config <file>", "config file (YAML or JSON)")
  .option("--env <name>", envHelp)
  .action(async (options: { config: string; env?: string }) => {
    const overlay = overlayOrExit(options.config, options.env);
    const plugins = createPluginRegistry();
    const config = await loadOrExit(options.config, overlay, plugins);
    let gateway: Gateway;
    try {
      gateway = new Gateway(config, { plugins });
    } catch (error) {
      // No process log yet (it may be what failed, e.g. a log file that cannot be opened).
      console.error(`gatehouse: cannot start: ${(error as Error).message}`);
      process.exit(1);
    }
    const log = gateway.log;
    const { version, hash } = gateway.revision;
    log.info(
      {
        version: gatehouseVersion,
        config: options.config,
        ...(overlay && { overlay: overlay.file, environment: overlay.environment }),
        configVersion: version,
        configHash: hash,
      },
      "starting",
    );
    // etcd mode: serve etcd's config (the file only seeds an empty prefix) from the start.
    const etcd =
      config.gateway.configStore.etcd &&
      (await EtcdProvider.start(gateway, config).catch((error: Error) => {
        log.fatal({ error: error.message }, `cannot start: ${error.message}`);
        process.exit(1);
      }));
    try {
      await gateway.start();
    } catch (error) {
      // One line, no stack trace; a port in use names its listener and the setting to change.
      const message = (error as Error).message;
      const busy = busyListener(error, configuredListeners(config.gateway));
      const reason = busy
        ? `port ${busy.port} (${busy.name} listener, ${busy.setting}) is in use`
        : message;
      log.fatal({ error: message }, `cannot start: ${reason}`);
      process.exit(1);
    }
    const { proxy, status, admin, registry } = gateway.addresses();
    const listening = (listener: string, bound: AddressInfo) => {
      const address = hostPort(bound);
      log.info({ listener, address }, `${listener} listening on ${address}`);
    };
    for (const address of proxy) listening("proxy", address);
    if (status) listening("status", status);
    if (admin) listening("admin", admin);
    if (registry && registry !== admin) listening("registry", registry);
    const cap = gateway.clientConnectionCap;
    if (cap) logClientConnectionCap(log, config.gateway.limits.maxClientConnections, cap);
    const provider = new FileProvider({
      file: options.config,
      overlay,
      control: gateway.control,
      startup: config,
      plugins,
    });
    let signals = 0;
    const stop = (signal: string) => {
      if (++signals > 1) process.exit(1);
      log.info({ signal }, `${signal} received, draining`);
      provider.close();
      if (etcd) etcd.close();
      gateway.stop().then(
        () => {
          log.info("stopped");
          process.exit(0);
        },
        (error: unknown) => {
          log.error({ err: error }, "stop failed");
          process.exit(1);
        },
      );
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
    // The file provider applies the dynamic part (services, routes, consumers, plugins) when
    // the file changes, and on SIGHUP; a bad file is reported and the running config keeps
    // serving.
    provider.watch();
    process.on("SIGHUP", () => void provider.reload("SIGHUP"));
  });

program
  .command("validate")
  .description("check a config file; prints FILE:LINE:COL for every problem")
  .requiredOption("-c, --config <file>", "config file (YAML or JSON)")
  .option("--env <name>", envHelp)
  .action(async (options: { config: string; env?: string }) => {
    const overlay = overlayOrExit(options.config, options.env);
    const config = await loadOrExit(options.config, overlay);
    for (const { file, line, col, message } of configOriginOf(config)?.warnings ?? [])
      console.error(`${file}:${line}:${col} warning: ${message}`);
    console.log(`${options.config}${overlay ? ` + ${overlay.file}` : ""}: valid`);
  });

program
  .command("schema")
  .description("print the JSON Schema of the config file")
  .action(() => {
    console.log(JSON.stringify(configJsonSchema(), null, 2));
  });

// `gatehouse token`: a JWT for trying the jwt plugin (see docs/plugins.md, jwt).
registerTokenCommand(program);

program
  .command("hash-password")
  .description(
    "print a password hash for a consumer's credentials.basic; reads the password from stdin",
  )
  .option(
    "--password <password>",
    "take the password from here instead of stdin (for scripts: it lands in shell history)",
  )
  .option("--scheme <scheme>", "scrypt or bcrypt", "scrypt")
  .option(
    "--cost <n>",
    `log2 N for scrypt (default ${defaultScryptLogN}), rounds for bcrypt (default ${defaultBcryptCost})`,
  )
  .action(async (options: { password?: string; scheme: string; cost?: string }) => {
    if (options.scheme !== "scrypt" && options.scheme !== "bcrypt") {
      console.error(`gatehouse: --scheme must be scrypt or bcrypt, not "${options.scheme}"`);
      process.exit(1);
    }
    const cost = options.cost === undefined ? undefined : Number(options.cost);
    const [low, high] = options.scheme === "scrypt" ? [10, 20] : [4, 31];
    if (cost !== undefined && !(Number.isInteger(cost) && cost >= low && cost <= high)) {
      console.error(
        `gatehouse: --cost for ${options.scheme} must be a whole number ${low}–${high}`,
      );
      process.exit(1);
    }
    const password = options.password ?? (await firstLine(process.stdin));
    if (!password) {
      console.error("gatehouse: no password given (on stdin, or --password)");
      process.exit(1);
    }
    console.log(await hashPassword(password, options.scheme, cost));
  });

// `gatehouse secret ...`: values for `${enc:...}` references (see docs/control-plane.md, Secrets).
const secret = program
  .command("secret")
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the help shows the literal syntax
  .description("make encrypted config values for ${enc:...} references");

secret
  .command("generate-key")
  .description("print a new random key (32 bytes, base64) for GATEHOUSE_SECRET_KEY or a key file")
  .action(() => {
    console.log(generateSecretKey());
  });

secret
  .command("encrypt")
  .description(
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the help shows the literal syntax
    "encrypt a value read from stdin with GATEHOUSE_SECRET_KEY (or GATEHOUSE_SECRET_KEY_FILE); prints the ${enc:...} reference",
  )
  .option(
    "--value <plaintext>",
    "take the value from here instead of stdin (for scripts: it lands in shell history)",
  )
  .action(async (options: { value?: string }) => {
    let key: Buffer;
    try {
      key = secretKeyFromEnv(process.env);
    } catch (error) {
      if (!(error instanceof SecretError)) throw error;
      console.error(`gatehouse: ${error.message}`);
      process.exit(1);
    }
    // All of stdin, so a multi-line value (a PEM key) survives; the final newline is the shell's.
    const plaintext = options.value ?? (await allOf(process.stdin)).replace(/\r?\n$/, "");
    if (plaintext === "") {
      console.error("gatehouse: no value to encrypt (on stdin, or --value)");
      process.exit(1);
    }
    console.log(`\${enc:${encryptSecret(plaintext, key)}}`);
  });

/** Everything a stream holds, as UTF-8. */
async function allOf(input: NodeJS.ReadableStream): Promise<string> {
  let text = "";
  input.setEncoding("utf8");
  for await (const chunk of input) text += chunk;
  return text;
}

/** The first line of a stream, without its line ending; undefined if the stream is empty. */
async function firstLine(input: NodeJS.ReadableStream): Promise<string | undefined> {
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    lines.close();
    return line;
  }
  return undefined;
}

/** `127.0.0.1:8080`, or `[::1]:8080` for IPv6, so the port can be split off unambiguously. */
function hostPort({ address, family, port }: AddressInfo): string {
  return family === "IPv6" ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The overlay `--env` (or `GATEHOUSE_ENV`) selects; exits on a name that cannot name a file. */
function overlayOrExit(file: string, flag: string | undefined): OverlayOption | undefined {
  const environment = selectedEnvironment(flag, process.env);
  if (environment === undefined) return undefined;
  const problem = checkEnvironmentName(environment);
  if (problem) {
    console.error(`gatehouse: ${problem}`);
    process.exit(1);
  }
  return { file: overlayPath(file, environment), environment };
}

async function loadOrExit(file: string, overlay?: OverlayOption, plugins?: PluginRegistry) {
  try {
    return await validateConfigFile(file, undefined, overlay, plugins, { staticFiles: true });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) console.error(formatProblem(problem));
    process.exit(1);
  }
}

// `gatehouse config diff|versions|rollback` (see docs/control-plane.md, Comparing configs).
registerConfigCommands(program);

await program.parseAsync();
