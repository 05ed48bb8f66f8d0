#!/usr/bin/env node
/**
 * @module cli/main
 * The `gatehouse` command: start, validate, schema.
 */
import { Command } from "commander";
import { configJsonSchema } from "../config/json-schema.ts";
import { ConfigError, formatProblem } from "../config/load.ts";
import { loadGatewayConfig } from "../config/validate.ts";
import { Gateway } from "../gateway.ts";

const program = new Command()
  .name("gatehouse")
  .description("An API gateway and microservice edge")
  .showHelpAfterError();

program
  .command("start")
  .description("run the gateway")
  .requiredOption("-c, --config <file>", "config file (YAML or JSON)")
  .action(async (options: { config: string }) => {
    const config = await loadOrExit(options.config);
    const gateway = new Gateway(config);
    await gateway.start();
    const { proxy, status } = gateway.addresses();
    for (const address of proxy)
      console.log(`gatehouse: proxy listening on ${address.address}:${address.port}`);
    if (status) console.log(`gatehouse: status listening on ${status.address}:${status.port}`);
    let signals = 0;
    const stop = (signal: string) => {
      if (++signals > 1) process.exit(1);
      console.log(`gatehouse: ${signal} received, draining`);
      gateway.stop().then(
        () => process.exit(0),
        (error: unknown) => {
          console.error(error);
          process.exit(1);
        },
      );
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
  });

program
  .command("validate")
  .description("check a config file; prints FILE:LINE:COL for every problem")
  .requiredOption("-c, --config <file>", "config file (YAML or JSON)")
  .action(async (options: { config: string }) => {
    await loadOrExit(options.config);
    console.log(`${options.config}: valid`);
  });

program
  .command("schema")
  .description("print the JSON Schema of the config file")
  .action(() => {
    console.log(JSON.stringify(configJsonSchema(), null, 2));
  });

async function loadOrExit(file: string) {
  try {
    return await loadGatewayConfig(file);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) console.error(formatProblem(problem));
    process.exit(1);
  }
}

await program.parseAsync();
