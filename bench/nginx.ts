/**
 * @module bench/nginx
 * Runs nginx as one foreground process (no daemon, no workers) from its own prefix
 * directory under the bench temp dir, either as the JSON upstream or as a reverse proxy.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Child, startChild } from "./processes.ts";

/** The body every upstream response carries; targets are checked against it. */
export const upstreamBody = '{"ok":true}';

/**
 * The upstream's larger answer, for the rows that measure work on a body (compression): about
 * 10 KB of JSON, at every path ending in `/report` (the measured route takes `/svc7/items/report`).
 */
export const reportBody = JSON.stringify({
  items: Array.from({ length: 110 }, (_, i) => ({
    id: i,
    name: `item-${i}`,
    owner: `owner${i % 13}@example.com`,
    price: (i * 7.31).toFixed(2),
    tags: ["blue", "large", "sale"].slice(0, i % 4),
  })),
});

export type NginxRole = { kind: "upstream" } | { kind: "proxy"; upstreamPort: number };

/** Writes the config for `role` into `dir` and starts nginx on `port`. */
export function startNginx(name: string, dir: string, port: number, role: NginxRole): Child {
  mkdirSync(join(dir, "logs"), { recursive: true });
  const config = join(dir, "nginx.conf");
  writeFileSync(config, nginxConfig(dir, port, role));
  // Too long for an nginx string: served as a file (with its length, ETag and Last-Modified).
  if (role.kind === "upstream") writeFileSync(join(dir, "report.json"), reportBody);
  return startChild(name, "nginx", ["-p", dir, "-e", join(dir, "logs/error.log"), "-c", config]);
}

function nginxConfig(dir: string, port: number, role: NginxRole): string {
  const location =
    role.kind === "upstream"
      ? `default_type application/json;
      return 200 '${upstreamBody}';
    }
    location ~ /report$ {
      default_type application/json;
      root ${dir};
      try_files /report.json =404;`
      : `proxy_pass http://upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";`;
  const upstreamBlock =
    role.kind === "proxy"
      ? `upstream upstream {
    server 127.0.0.1:${role.upstreamPort};
    keepalive 64;
    keepalive_requests 1000000;
  }`
      : "";
  // master_process off: a single process, like the Node targets, and nothing left behind
  // when it is killed. Every path nginx might write to stays inside `dir`.
  return `${nginxHead(dir, 4096)}
  ${upstreamBlock}
  server {
    listen 127.0.0.1:${port};
    location / {
      ${location}
    }
  }
}
`;
}

/**
 * The start of every bench nginx config, up to inside `http { }`: one process in the
 * foreground, every file it may write under `dir`, no access log, keep-alive that never
 * closes a connection during a run. `nofile` raises the process's own open-file limit.
 */
export function nginxHead(dir: string, workerConnections: number, nofile?: number): string {
  return `daemon off;
master_process off;
${nofile === undefined ? "" : `worker_rlimit_nofile ${nofile};\n`}pid ${join(dir, "nginx.pid")};
error_log ${join(dir, "logs/error.log")} warn;
events {
  worker_connections ${workerConnections};
}
http {
  access_log off;
  client_body_temp_path ${join(dir, "client_body")};
  proxy_temp_path ${join(dir, "proxy")};
  fastcgi_temp_path ${join(dir, "fastcgi")};
  uwsgi_temp_path ${join(dir, "uwsgi")};
  scgi_temp_path ${join(dir, "scgi")};
  keepalive_timeout 65s;
  keepalive_requests 1000000;`;
}
