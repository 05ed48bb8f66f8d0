/**
 * @module bench/machine
 * What the numbers were measured on, for results/latest.json and the printed header.
 */
import { cpus, loadavg, release, totalmem } from "node:os";
import { toolVersions } from "./tools.ts";

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  wrk: string;
  nginx: string;
  loadAverageAtStart: number[];
}

export function machineInfo(): MachineInfo {
  const cpuList = cpus();
  return {
    cpuModel: cpuList[0]?.model.trim() ?? "unknown",
    cores: cpuList.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${process.platform} ${release()}`,
    node: process.version,
    ...toolVersions(),
    loadAverageAtStart: loadavg().map((load) => Math.round(load * 100) / 100),
  };
}
