/**
 * @module plugins/request-validation/operation-router
 * Finds a request's operation by its method and path among the spec's path templates
 * (`/users/{id}`), a radix tree (find-my-way) built once at load, so a literal path wins
 * over a template as OpenAPI asks. The spec's paths are under `basePath` as the client
 * sends them; the path variables come back decoded, by their spec names.
 */
import FindMyWay from "find-my-way";
import type { OperationSpec } from "./operations.ts";

/** What a path template matched: the operations by method and the path variables. */
export type OperationMatch<Operation> =
  | { kind: "operation"; operation: Operation; pathParams: Record<string, string> }
  | { kind: "method-not-allowed"; allowed: string[] }
  | { kind: "not-found" };

interface Template<Operation> {
  names: string[];
  byMethod: Map<string, Operation>;
}

export class OperationRouter<Operation extends { spec: OperationSpec }> {
  readonly #router = FindMyWay<FindMyWay.HTTPVersion.V1>({ caseSensitive: true });
  readonly #basePath: string;

  constructor(operations: readonly Operation[], basePath: string) {
    this.#basePath = basePath.replace(/\/+$/, "");
    const templates = new Map<string, Template<Operation>>();
    for (const operation of operations) {
      const path = operation.spec.path;
      let template = templates.get(path);
      if (!template) {
        const names: string[] = [];
        // Variables are renamed by position: a spec name may hold `-` or `.`, which
        // find-my-way reads as the end of a parameter.
        const key = path.replace(/:/g, "::").replace(/\{([^}]+)\}/g, (_, name: string) => {
          names.push(name);
          return `:p${names.length - 1}`;
        });
        template = { names, byMethod: new Map() };
        templates.set(path, template);
        this.#router.on("GET", key, () => {}, template);
      }
      template.byMethod.set(operation.spec.method, operation);
    }
  }

  match(method: string, requestPath: string): OperationMatch<Operation> {
    let path = requestPath;
    if (this.#basePath !== "") {
      if (!path.startsWith(this.#basePath)) return { kind: "not-found" };
      path = path.slice(this.#basePath.length);
      if (path === "") path = "/";
      else if (path[0] !== "/") return { kind: "not-found" };
    }
    // Every template is under GET: the method is looked up among its operations.
    const found = this.#router.find("GET", path);
    if (!found) return { kind: "not-found" };
    const template = found.store as Template<Operation>;
    const operation =
      template.byMethod.get(method) ??
      (method === "HEAD" ? template.byMethod.get("GET") : undefined);
    if (!operation) return { kind: "method-not-allowed", allowed: [...template.byMethod.keys()] };
    const pathParams: Record<string, string> = {};
    const params = found.params as Record<string, string | undefined>;
    template.names.forEach((name, i) => {
      pathParams[name] = params[`p${i}`] ?? "";
    });
    return { kind: "operation", operation, pathParams };
  }
}
