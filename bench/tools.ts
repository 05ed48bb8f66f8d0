/**
 * @module bench/tools
 * Makes sure wrk, nginx and redis-server are on PATH, installing them with apt-get when
 * they are not (each Debian package is named after its command).
 */
import { spawnSync } from "node:child_process";

const required = ["wrk", "nginx", "redis-server"] as const;

/** Installs whichever tool is missing; throws with a clear message if it cannot. */
export function ensureTools(): void {
  const missing = required.filter((tool) => !onPath(tool));
  if (missing.length === 0) return;
  console.log(`bench: ${missing.join(" and ")} not found, installing with apt-get`);
  if (!aptInstall() && !(apt(["update"]) && aptInstall())) {
    throw new Error(
      `could not install ${missing.join(", ")} with \`apt-get install -y ${required.join(" ")}\` (see the apt-get output above). ` +
        `Install them yourself (as root: apt-get update && apt-get install -y ${required.join(" ")}) and run \`npm run bench\` again.`,
    );
  }
  const still = required.filter((tool) => !onPath(tool));
  if (still.length > 0)
    throw new Error(`apt-get succeeded but ${still.join(" and ")} is still not on PATH`);
}

function aptInstall(): boolean {
  return apt(["install", "-y", ...required]);
}

function apt(args: string[]): boolean {
  const result = spawnSync("apt-get", args, {
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    timeout: 300_000,
  });
  return result.status === 0;
}

function onPath(tool: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" }).status === 0;
}

/** `wrk 4.1.0`, `nginx/1.22.1`: the versions that produced a result. */
export function toolVersions(): { wrk: string; nginx: string } {
  const firstLine = (command: string, args: string[]) => {
    const result = spawnSync(command, args, { encoding: "utf8" });
    return `${result.stdout ?? ""}${result.stderr ?? ""}`.trim().split("\n")[0] ?? "";
  };
  return {
    wrk: firstLine("wrk", ["-v"]).split(" [")[0] ?? "",
    nginx: firstLine("nginx", ["-v"]).replace("nginx version: ", ""),
  };
}
