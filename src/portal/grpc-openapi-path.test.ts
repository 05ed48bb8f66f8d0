import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { protoFolder } from "../../test/helpers/library-protos.ts";
import { compileHttpRules } from "../grpc/http-rule.ts";
import { loadProtos } from "../grpc/proto-loader.ts";
import { openApiPath } from "./grpc-openapi-path.ts";

/** The OpenAPI path and parameter names of each rule, by the order they are written. */
function pathsOf(rules: string[]): { path: string; names: string[] }[] {
  const methods = rules
    .map((rule, i) => `  rpc M${i}(R) returns (R) { option (google.api.http) = { ${rule} }; }`)
    .join("\n");
  const dir = protoFolder({
    "t.proto": `syntax = "proto3";
package t;
import "google/api/annotations.proto";
message Inner { string name = 1; }
message R { string name = 1; string parent = 2; int64 id = 3; Inner inner = 4; }
service S {
${methods}
}
`,
  });
  const loaded = loadProtos({ protos: ["t.proto"], baseDir: dir });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  const compiled = compileHttpRules(loaded.protos.methods);
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.problems));
  return compiled.rules.bindings.map((binding) => {
    const { path, parameters } = openApiPath(binding);
    return { path, names: parameters.map((parameter) => parameter.name) };
  });
}

describe("openApiPath", () => {
  it("keeps one-segment variables, nested field paths and verbs as written", () => {
    assert.deepEqual(
      pathsOf([
        'get: "/v1/things/{id}"',
        'get: "/v1/inner/{inner.name}:peek"',
        'get: "/v1/files/{name=**}"',
      ]),
      [
        { path: "/v1/things/{id}", names: ["id"] },
        { path: "/v1/inner/{inner.name}:peek", names: ["inner.name"] },
        { path: "/v1/files/{name}", names: ["name"] },
      ],
    );
  });

  it("writes multi-segment variables out, one parameter per wildcard, with unique names", () => {
    assert.deepEqual(
      pathsOf([
        'get: "/v1/{parent=orgs/*/projects/*}/tasks/{id}"',
        'get: "/v2/{name=*/books/*}"',
        'get: "/v3/{name=name/*}/{parent=name/*}"',
        'get: "/v4/{name=docs/**}"',
      ]),
      [
        {
          path: "/v1/orgs/{orgs}/projects/{projects}/tasks/{id}",
          names: ["orgs", "projects", "id"],
        },
        { path: "/v2/{name0}/books/{books}", names: ["name0", "books"] },
        { path: "/v3/name/{name2}/name/{name3}", names: ["name2", "name3"] },
        { path: "/v4/docs/{docs}", names: ["docs"] },
      ],
    );
  });

  it("gives a wildcard outside any variable a parameter of its own", () => {
    assert.deepEqual(pathsOf(['get: "/v1/*/things/{id}"']), [
      { path: "/v1/{segment}/things/{id}", names: ["segment", "id"] },
    ]);
  });
});
