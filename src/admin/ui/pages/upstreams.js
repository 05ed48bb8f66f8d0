// @module admin/ui/pages/upstreams
// The Upstreams page: every service's targets as the gateway sees them now (GET /runtime:
// health, ejection, breaker, requests in flight, latency), and the service registry's
// instances with their metadata and lease (GET /registry/services on the admin listener,
// when it serves the registry); `#/upstreams/<service>` shows one service's targets.
// Asked again every second while the page is shown, and updated in place: a target
// that goes down turns red where it stands.
import { api } from "../api.js";
import { badge, formatCount, formatDecimal, formatTime, h, replace } from "../dom.js";
import { availability, liveAlert } from "../live-status.js";
import { liveTable, setText } from "../live-table.js";

// Once a second: a target the gateway marks down shows red about as soon as a short health
// check interval would notice (each refresh is one small GET /runtime).
const pollMs = 1_000;

const healthBadges = {
  healthy: { badge: "ok", text: "healthy" },
  unhealthy: { badge: "bad", text: "unhealthy" },
  unknown: { badge: "off", text: "unknown" },
};
const breakerBadges = {
  closed: { badge: "ok", text: "closed" },
  open: { badge: "bad", text: "open" },
  "half-open": { badge: "warn", text: "half-open" },
  none: { badge: "off", text: "none" },
};

/** A duration in ms as the page shows it: `850 ms`, `12.5 s`, `3.2 min`. */
export function formatAge(ms) {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 120_000) return `${formatDecimal(ms / 1000)} s`;
  return `${formatDecimal(ms / 60_000)} min`;
}

function targetRow(target) {
  return {
    key: target.url,
    cells: [
      target.url,
      healthBadges[target.health] ?? { badge: "off", text: target.health },
      target.ejected
        ? { badge: "warn", text: `ejected, ${formatAge(target.ejectedForMs)} left` }
        : { badge: "off", text: "no" },
      breakerBadges[target.breaker] ?? { badge: "off", text: target.breaker },
      formatCount(target.inFlight),
      `${formatDecimal(target.latencyMs)} ms`,
      formatCount(target.weight),
      [target.zone, target.version, ...(target.tags ?? [])].filter(Boolean).join(" · "),
    ],
  };
}

function instanceRow(instance, now) {
  return {
    key: instance.id,
    cells: [
      instance.id,
      instance.url,
      instance.state === "up" ? { badge: "ok", text: "up" } : { badge: "bad", text: "down" },
      instance.version ?? "",
      instance.zone ?? "",
      instance.tags.join(", "),
      Object.entries(instance.metadata)
        .map(([key, value]) => `${key}=${value}`)
        .join(", "),
      formatAge(now - Date.parse(instance.lastHeartbeat)),
      formatAge(Date.parse(instance.expiresAt) - now),
      formatTime(instance.registeredAt),
    ],
  };
}

const targetColumns = [
  { label: "Target" },
  { label: "Health" },
  { label: "Ejected" },
  { label: "Breaker" },
  { label: "In flight", number: true },
  { label: "Latency", number: true },
  { label: "Weight", number: true },
  { label: "Zone, version, tags" },
];
const instanceColumns = [
  { label: "Instance" },
  { label: "URL" },
  { label: "State" },
  { label: "Version" },
  { label: "Zone" },
  { label: "Tags" },
  { label: "Metadata" },
  { label: "Lease age", number: true },
  { label: "Expires in", number: true },
  { label: "Registered" },
];

/**
 * One titled group of rows (a service's targets, a registry service's instances), kept by
 * name so that each tick updates it in place; `label` names its table.
 */
function group(name, label, columns, empty) {
  const summary = h("span", { className: "group-summary" });
  const table = liveTable({ label, columns, empty });
  const element = h(
    "section",
    { className: "upstream-group", "data-name": name },
    h("h3", {}, h("span", {}, name), summary),
    table.element,
  );
  return { element, summary, table };
}

/** Keeps `box`'s groups in step with `names`, in that order; returns them by name. */
function syncGroups(box, groups, names, make) {
  for (const [name, one] of groups)
    if (!names.includes(name)) {
      one.element.remove();
      groups.delete(name);
    }
  let before = box.firstElementChild;
  for (const name of names) {
    let one = groups.get(name);
    if (!one) {
      one = make(name);
      groups.set(name, one);
    }
    if (one.element !== before) box.insertBefore(one.element, before);
    else before = before.nextElementSibling;
  }
  return groups;
}

export default {
  id: "upstreams",
  title: "Upstreams",
  async render(view, ctx) {
    // `#/upstreams/<service>` shows that service alone (GET /runtime/services/<service>).
    const only = ctx.path[0];
    const searchId = "search-upstreams";
    const search = h("input", { id: searchId, type: "search", autocomplete: "off" });
    const servicesNote = h("p", { className: "muted" });
    const servicesBox = h("div", { className: "upstream-groups" });
    const registryNote = h("p", { className: "muted" });
    const registryBox = h("div", { className: "upstream-groups" });
    const problem = h("div");
    const updated = h("span", { className: "muted updated", "aria-live": "off" }, "");
    replace(
      view,
      h(
        "div",
        { className: "page-head" },
        h("h1", {}, only ? `Upstreams: ${only}` : "Upstreams"),
        only ? h("a", { href: "#/upstreams" }, "All services") : null,
        updated,
      ),
      h(
        "div",
        { className: "table-search" },
        h("label", { for: searchId }, "Search services, targets and instances"),
        search,
      ),
      problem,
      // Refreshed every second: not announced each time (see the overview).
      h(
        "div",
        { "aria-live": "off" },
        h("h2", {}, "Services"),
        servicesNote,
        servicesBox,
        h("h2", {}, "Registry instances"),
        registryNote,
        registryBox,
      ),
    );
    /** @type {Map<string, ReturnType<typeof group>>} */
    const services = new Map();
    /** @type {Map<string, ReturnType<typeof group>>} */
    const registry = new Map();

    const applySearch = () => {
      const text = search.value.trim().toLowerCase();
      for (const [name, one] of [...services, ...registry]) {
        const byName = text === "" || name.toLowerCase().includes(text);
        const shown = one.table.filter(byName ? "" : text);
        one.element.hidden = !byName && shown === 0;
      }
    };
    search.addEventListener("input", applySearch);

    const showServices = (body) => {
      const list = [...body.services].sort((a, b) => a.name.localeCompare(b.name));
      syncGroups(
        servicesBox,
        services,
        list.map((service) => service.name),
        (name) =>
          group(
            name,
            `${name} targets`,
            targetColumns,
            "No targets: discovery has found none yet.",
          ),
      );
      setText(servicesNote, list.length === 0 ? "No service is configured." : "");
      for (const service of list) {
        const one = services.get(service.name);
        const state = availability({ available: service.available, total: service.targets.length });
        replace(one.summary, badge(state.badge, state.text), ` ${service.algorithm}`);
        one.table.set(service.targets.map(targetRow));
      }
    };

    const showRegistry = async () => {
      let listed;
      try {
        listed = (await api("/registry/services", { signal: ctx.signal })).body.services;
      } catch (error) {
        if (error.status !== 404) throw error;
        setText(
          registryNote,
          "This admin listener serves no registry: gateway.registry is off, or the registry has a listener of its own.",
        );
        syncGroups(registryBox, registry, [], () => undefined);
        return;
      }
      setText(registryNote, listed.length === 0 ? "No instance has registered." : "");
      const names = listed.map((service) => service.name).sort();
      const snapshots = await Promise.all(
        names.map((name) =>
          api(`/registry/services/${encodeURIComponent(name)}`, { signal: ctx.signal }).then(
            (answer) => answer.body,
            (error) =>
              error.status === 404 ? { service: name, instances: [] } : Promise.reject(error),
          ),
        ),
      );
      syncGroups(registryBox, registry, names, (name) =>
        group(name, `${name} instances`, instanceColumns, "No instance now."),
      );
      const now = Date.now();
      for (const [i, snapshot] of snapshots.entries()) {
        const one = registry.get(names[i]);
        const up = snapshot.instances.filter((instance) => instance.state === "up").length;
        setText(one.summary, ` ${up} up, ${snapshot.instances.length - up} down`);
        one.table.set(snapshot.instances.map((instance) => instanceRow(instance, now)));
      }
    };

    const tick = async () => {
      try {
        const [runtime] = await Promise.all([
          api(only ? `/runtime/services/${encodeURIComponent(only)}` : "/runtime", {
            signal: ctx.signal,
          }),
          showRegistry(),
        ]);
        showServices(only ? { services: [runtime.body] } : runtime.body);
        applySearch();
        replace(problem);
        setText(updated, `updated ${new Date().toLocaleTimeString()}`);
      } catch (error) {
        if (!ctx.signal.aborted) replace(problem, liveAlert(error));
      }
    };

    await tick();
    while (!ctx.signal.aborted) {
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        ctx.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve(undefined);
        });
      });
      if (!ctx.signal.aborted) await tick();
    }
  },
};
