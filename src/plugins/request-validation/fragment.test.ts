// What the plugin's openapi() hook gives the developer portal: the document's operations
// under the paths clients send, refs across files turned into components, 3.0 in 3.1 form.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { compileErrors, validate as validateOpenApi } from "@readme/openapi-parser";
import { createLogger } from "../../observability/logger.ts";
import type { PluginScope } from "../../pipeline/plugin.ts";
import { silentTelemetry } from "../../pipeline/telemetry.ts";
import { requestValidationPlugin } from "./index.ts";

const fixtures = fileURLToPath(
  new URL("../../../test/fixtures/request-validation/", import.meta.url),
);

function hooksFor(config: Record<string, unknown>) {
  const parsed = requestValidationPlugin.schema.parse(config);
  const scope = {
    level: "route",
    name: "pets",
    baseDir: fixtures,
    telemetry: silentTelemetry,
    log: createLogger({ level: "silent", destination: "stdout" }),
  } as unknown as PluginScope;
  return requestValidationPlugin.create(parsed, scope);
}

/** Every `$ref` string anywhere in `node`. */
function refs(node: unknown, found: string[] = []): string[] {
  if (node === null || typeof node !== "object") return found;
  for (const [key, value] of Object.entries(node)) {
    if (key === "$ref" && typeof value === "string") found.push(value);
    else refs(value, found);
  }
  return found;
}

describe("request-validation openapi()", () => {
  it("publishes the operations under basePath, schemas from every file under components", async () => {
    const fragment = await hooksFor({ spec: "petstore-3.0.yaml", basePath: "/v1" }).openapi!();
    assert.deepEqual(Object.keys(fragment.paths).sort(), [
      "/v1/pets",
      "/v1/pets/mine",
      "/v1/pets/{petId}",
    ]);
    assert.deepEqual(Object.keys(fragment.paths["/v1/pets/{petId}"]!).sort(), ["delete", "get"]);
    const getPet = fragment.paths["/v1/pets/{petId}"]!.get as {
      parameters: { name: string; in: string }[];
    };
    // The path item's parameter is each operation's.
    assert.deepEqual(
      getPet.parameters.map((parameter) => `${parameter.in}:${parameter.name}`),
      ["path:petId", "cookie:session", "query:fields"],
    );
    type Content = { content: Record<string, { schema: unknown }> };
    const create = fragment.paths["/v1/pets"]!.post as {
      operationId: string;
      requestBody: Content & { required: boolean };
      responses: Record<string, Content>;
    };
    assert.equal(create.operationId, "createPet");
    assert.equal(create.requestBody.required, true);
    assert.deepEqual(create.requestBody.content["application/json"]!.schema, {
      $ref: "#/components/schemas/NewPet",
    });
    assert.deepEqual(create.responses["201"]!.content["application/json"]!.schema, {
      $ref: "#/components/schemas/Pet",
    });
    const schemas = fragment.schemas!;
    assert.deepEqual(Object.keys(schemas).sort(), ["NewPet", "Owner", "Pet"]);
    // 3.0's nullable and boolean exclusiveMinimum, in their 3.1 form.
    const newPet = schemas.NewPet as { properties: Record<string, unknown> };
    assert.deepEqual(newPet.properties.tag, { type: ["string", "null"] });
    assert.deepEqual(newPet.properties.age, { type: "number", exclusiveMinimum: 0 });
    assert.deepEqual(newPet.properties.owner, { $ref: "#/components/schemas/Owner" });
    for (const ref of refs(fragment)) {
      assert.ok(ref.startsWith("#/components/schemas/") && ref.slice(21) in schemas, ref);
    }
    // As the portal would publish it: a valid OpenAPI 3.1 document.
    const document = {
      openapi: "3.1.0",
      info: { title: "pets", version: "1" },
      paths: fragment.paths,
      components: { schemas },
    };
    const result = await validateOpenApi(structuredClone(document) as never);
    assert.ok(result.valid, result.valid ? "" : compileErrors(result));
  });

  it("a 3.1 document's paths as written when there is no basePath", async () => {
    const fragment = await hooksFor({ spec: "orders-3.1.yaml" }).openapi!();
    assert.deepEqual(Object.keys(fragment.paths), ["/orders"]);
    assert.deepEqual(Object.keys(fragment.schemas!).sort(), ["Line", "Order"]);
    const order = fragment.schemas!.Order as { properties: { note: unknown } };
    assert.deepEqual(order.properties.note, { type: ["string", "null"] });
  });

  it("files(): the document and every file its refs reach, so an edit to one reloads", () => {
    const config = requestValidationPlugin.schema.parse({ spec: "petstore-3.0.yaml" });
    assert.deepEqual(requestValidationPlugin.files!(config, { baseDir: fixtures }), [
      `${fixtures}petstore-3.0.yaml`,
      `${fixtures}schemas/pet.yaml`,
    ]);
  });
});
