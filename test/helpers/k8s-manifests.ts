/**
 * @module test/helpers/k8s-manifests
 * Checks of a built set of Kubernetes objects (see buildKustomization) that need no
 * cluster: the fields the API server requires, selectors that match their pods, Service
 * ports that exist on those pods, and for each Gatehouse Deployment a config (from its
 * ConfigMap) that validates with the container's environment, probes on the status
 * listener's /ready and /health, container ports equal to the config's, and a grace
 * period that covers preStop plus gateway.shutdownTimeout.
 */
import { configPorts, type Json, loadConfig, secretPlaceholder } from "./deploy-files.ts";

/** The problems of one built kustomization (`where` names it in messages). */
export function k8sProblems(objects: readonly Json[], where: string): string[] {
  const problems: string[] = [];
  const podTemplates: { labels: Json; containers: Json[] }[] = [];
  for (const object of objects) {
    const name = `${where}: ${object.kind ?? "?"} ${object.metadata?.name ?? "?"}`;
    for (const field of ["apiVersion", "kind"]) {
      if (typeof object[field] !== "string") problems.push(`${name}: no ${field}`);
    }
    if (typeof object.metadata?.name !== "string") problems.push(`${name}: no metadata.name`);
    if (object.kind !== "Deployment") continue;
    const labels = object.spec?.template?.metadata?.labels ?? {};
    const selector = object.spec?.selector?.matchLabels ?? {};
    if (Object.keys(selector).length === 0) problems.push(`${name}: no spec.selector.matchLabels`);
    for (const [key, value] of Object.entries(selector)) {
      if (labels[key] !== value) problems.push(`${name}: selector ${key}=${value} not on its pods`);
    }
    const containers: Json[] = object.spec?.template?.spec?.containers ?? [];
    if (containers.length === 0) problems.push(`${name}: no containers`);
    for (const container of containers) {
      if (!container.name || !container.image)
        problems.push(`${name}: a container lacks name or image`);
      if (!container.resources?.requests || !container.resources?.limits) {
        problems.push(`${name}: container ${container.name} has no resource requests and limits`);
      }
    }
    podTemplates.push({ labels, containers });
    const gatehouse = containers.find((container) => (container.args ?? []).includes("--config"));
    if (gatehouse) problems.push(...gatehouseProblems(object, gatehouse, objects, name));
  }
  for (const service of objects.filter((object) => object.kind === "Service")) {
    const name = `${where}: Service ${service.metadata?.name}`;
    const selector: Json = service.spec?.selector ?? {};
    const pods = podTemplates.filter((pod) =>
      Object.entries(selector).every(([key, value]) => pod.labels[key] === value),
    );
    if (pods.length === 0) {
      problems.push(`${name}: its selector matches no pods`);
      continue;
    }
    const ports = pods.flatMap((pod) => pod.containers.flatMap((c) => c.ports ?? []));
    for (const port of service.spec?.ports ?? []) {
      const target = port.targetPort ?? port.port;
      if (!ports.some((p: Json) => p.name === target || p.containerPort === target)) {
        problems.push(`${name}: targetPort ${target} is no container port of its pods`);
      }
    }
  }
  return problems;
}

function gatehouseProblems(
  deployment: Json,
  container: Json,
  objects: readonly Json[],
  name: string,
) {
  const problems: string[] = [];
  const args: string[] = container.args;
  const file: string = args[args.indexOf("--config") + 1] ?? "";
  const mount = (container.volumeMounts ?? []).find((m: Json) =>
    file.startsWith(`${m.mountPath.replace(/\/$/, "")}/`),
  );
  const volume = (deployment.spec.template.spec.volumes ?? []).find(
    (v: Json) => v.name === mount?.name,
  );
  const configMap = objects.find(
    (object) => object.kind === "ConfigMap" && object.metadata?.name === volume?.configMap?.name,
  );
  const text = configMap?.data?.[file.slice(mount?.mountPath.length + 1)];
  if (typeof text !== "string")
    return [`${name}: --config ${file} is no ConfigMap key mounted there`];
  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    env[variable.name] = variable.value ?? secretPlaceholder;
  }
  const where = `${name} (ConfigMap ${configMap!.metadata.name})`;
  const { config, problems: invalid } = loadConfig(text, file, env);
  if (!config) return invalid.map((line) => `${where}: ${line}`);
  const ports = configPorts(config);
  const containerPorts: Json[] = container.ports ?? [];
  const numbers = new Set(containerPorts.map((port) => port.containerPort));
  if ([...ports.all].sort().join() !== [...numbers].sort().join()) {
    problems.push(
      `${where}: container ports ${[...numbers]} are not the config's ${[...ports.all]}`,
    );
  }
  const portOf = (value: unknown) =>
    typeof value === "number"
      ? value
      : containerPorts.find((port) => port.name === value)?.containerPort;
  for (const [probe, path] of [
    ["readinessProbe", "/ready"],
    ["livenessProbe", "/health"],
  ] as const) {
    const get = container[probe]?.httpGet;
    if (get?.path !== path || portOf(get?.port) !== ports.status) {
      problems.push(`${where}: ${probe} is not GET ${path} on the status port ${ports.status}`);
    }
  }
  const preStop: string[] = container.lifecycle?.preStop?.exec?.command ?? [];
  const sleep = preStop[0] === "sleep" ? Number(preStop[1]) : 0;
  const grace = deployment.spec.template.spec.terminationGracePeriodSeconds ?? 30;
  if (grace < sleep + config.gateway.shutdownTimeout / 1000) {
    problems.push(
      `${where}: terminationGracePeriodSeconds ${grace} < preStop ${sleep}s + shutdownTimeout ${config.gateway.shutdownTimeout / 1000}s`,
    );
  }
  return problems;
}
