// A service's `protocol` and its gRPC health check as a user writes them: defaults, and
// mistakes reported at FILE:LINE:COL.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseGatewayConfig } from "../../runtime/validate.ts";
import { ConfigError, formatProblem } from "../load.ts";

const yaml = (...lines: string[]): string => `${lines.join("\n")}\n`;
const head = ["gateway:", "  listen: [{ port: 8080 }]", "services:", "  - name: books"];
const accepted = (...lines: string[]) => parseGatewayConfig(yaml(...head, ...lines), "gw.yaml", {});

function problems(...lines: string[]): string[] {
  try {
    accepted(...lines);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.problems.map(formatProblem);
  }
  assert.fail("expected the config to be rejected");
}

describe("service protocol", () => {
  it("is http unless the service says grpc", () => {
    const plain = accepted("    targets: [{ url: http://127.0.0.1:50051 }]");
    assert.equal(plain.services[0]!.protocol, "http");
    const grpc = accepted("    protocol: grpc", "    targets: [{ url: http://127.0.0.1:50051 }]");
    assert.equal(grpc.services[0]!.protocol, "grpc");
  });

  it("refuses any other protocol at its line", () => {
    const [problem, ...rest] = problems(
      "    protocol: h3",
      "    targets: [{ url: http://127.0.0.1:50051 }]",
    );
    assert.deepEqual(rest, []);
    assert.match(problem!, /^gw\.yaml:5:15 .*"http".*"grpc"/);
  });
});

describe("grpc health check", () => {
  it("takes the grpc.health.v1 service name, absent for the server as a whole", () => {
    const named = accepted(
      "    protocol: grpc",
      "    targets: [{ url: http://127.0.0.1:50051 }]",
      "    healthCheck: { active: { type: grpc, service: library.v1.Library, interval: 5s } }",
    );
    const active = named.services[0]!.healthCheck.active!;
    assert.equal(active.type, "grpc");
    assert.equal(active.service, "library.v1.Library");
    assert.equal(active.interval, 5000);
    const whole = accepted(
      "    targets: [{ url: http://127.0.0.1:50051 }]",
      "    healthCheck: { active: { type: grpc } }",
    );
    assert.equal(whole.services[0]!.healthCheck.active!.service, undefined);
  });

  it("refuses a service name on a check that is not grpc", () => {
    assert.deepEqual(
      problems(
        "    targets: [{ url: http://127.0.0.1:50051 }]",
        "    healthCheck:",
        "      active:",
        "        type: http",
        "        service: library.v1.Library",
      ),
      ["gw.yaml:9:18 services[0].healthCheck.active.service: only used by type: grpc"],
    );
  });

  it("refuses a body pattern on a grpc check", () => {
    assert.deepEqual(
      problems(
        "    targets: [{ url: http://127.0.0.1:50051 }]",
        "    healthCheck:",
        "      active:",
        "        type: grpc",
        "        body: up",
      ),
      [
        "gw.yaml:9:15 services[0].healthCheck.active.body: a grpc check reads a serving status, not a body: drop body",
      ],
    );
  });
});
