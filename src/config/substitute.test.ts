// `${env:NAME}` references in config text: typed values, defaults, and unset variables
// reported where they are written.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config text holds ${env:...} references
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, formatProblem } from "./load.ts";
import { parseGatewayConfig } from "./validate.ts";

/** Lines of a YAML file; line N of the file is argument N. */
const yaml = (...lines: string[]): string => `${lines.join("\n")}\n`;

const accepted = (text: string, env: Record<string, string>) =>
  parseGatewayConfig(text, "gw.yaml", env);

/** The problems reported for `text`, as printed. */
function problems(text: string, env: Record<string, string> = {}): string[] {
  try {
    accepted(text, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map(formatProblem);
    throw error;
  }
  assert.fail("expected the config to be rejected");
}

const gateway = ["gateway:", "  listen: [{ port: 8080 }]"];

describe("${env:NAME} substitution", () => {
  it("gives a whole-scalar reference the type of its value", () => {
    const config = accepted(yaml("gateway:", "  listen:", "    - port: ${env:PORT}"), {
      PORT: "9000",
    });
    assert.equal(config.gateway.listen[0]!.port, 9000);
    // Quoted works the same, and is what flow collections need.
    const quoted = accepted(yaml("gateway:", '  listen: [{ port: "${env:PORT}" }]'), {
      PORT: "9001",
    });
    assert.equal(quoted.gateway.listen[0]!.port, 9001);
  });

  it("fills a reference inside a longer string", () => {
    const config = accepted(
      yaml(
        ...gateway,
        "services:",
        "  - name: s",
        "    targets: [{ url: 'http://${env:HOST}:9001' }]",
      ),
      { HOST: "10.0.0.5" },
    );
    assert.equal(config.services[0]!.targets![0]!.url, "http://10.0.0.5:9001");
  });

  it("uses the default when the variable is unset or empty", () => {
    const text = yaml(
      "gateway:",
      '  listen: [{ port: "${env:PORT:-8080}" }]',
      "  shutdownTimeout: ${env:GRACE:-7s}",
    );
    const envs: Record<string, string>[] = [{}, { PORT: "", GRACE: "" }];
    for (const env of envs) {
      const config = accepted(text, env);
      assert.equal(config.gateway.listen[0]!.port, 8080);
      assert.equal(config.gateway.shutdownTimeout, 7000);
    }
    assert.equal(accepted(text, { PORT: "1234" }).gateway.listen[0]!.port, 1234);
  });

  it("reports an unset variable at the reference, alongside other problems", () => {
    const text = yaml(
      "gateway:",
      "  listen:",
      "    - port: ${env:PORT}",
      "      host: a-${env:HOST_SUFFIX}",
      "  shutdownTimeout: never",
    );
    assert.deepEqual(problems(text), [
      "gw.yaml:3:13 environment variable PORT is not set (write ${env:PORT:-default} to give a default)",
      "gw.yaml:4:15 environment variable HOST_SUFFIX is not set (write ${env:HOST_SUFFIX:-default} to give a default)",
      "gw.yaml:5:20 gateway.shutdownTimeout: expected a duration like 250ms, 5s or 1m",
    ]);
  });
});
