// @module admin/ui/schema-shapes
// What the schema form asks of a JSON Schema node: its alternatives, whether it is one plain
// value, whether it is the `${env:NAME}` reference, and how the paths of problems are written.

const envPattern = /^\^\\\$\\\{env:/;

/** The alternatives of an `anyOf`, nested ones flattened. */
export function alternatives(node) {
  return (node.anyOf ?? [node]).flatMap((each) => (each.anyOf ? alternatives(each) : [each]));
}

/** Whether `node` is the `${env:NAME}` reference a scalar option may be given as. */
export function isEnvRef(node) {
  return node.type === "string" && envPattern.test(node.pattern ?? "");
}

/** Whether `node` holds one plain value (a string, number, boolean, constant or null). */
export function isScalar(node) {
  if (node.anyOf) return alternatives(node).every(isScalar);
  if (node.const !== undefined || node.enum) return true;
  const types = [node.type].flat();
  return (
    types.length > 0 && types.every((type) => /^(string|number|integer|boolean|null)$/.test(type))
  );
}

/** A child's path: `match.paths`, `targets[0]`. */
export function childPath(path, key) {
  if (typeof key === "number") return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}
