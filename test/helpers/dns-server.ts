/**
 * @module test/helpers/dns-server
 * A tiny authoritative DNS server over UDP for discovery tests: it answers A, AAAA and
 * SRV questions from a table the test changes while it runs. The wire format (RFC 1035,
 * RFC 2782 for SRV) is written by hand: one question in, its answers out.
 */
import { createSocket } from "node:dgram";
import type { AddressInfo } from "node:net";

export interface SrvRecord {
  priority: number;
  weight: number;
  port: number;
  target: string;
}

/** The records of one name; `ttl` (seconds, default 60) applies to all of them. */
export interface DnsRecords {
  A?: string[];
  AAAA?: string[];
  SRV?: SrvRecord[];
  ttl?: number;
}

export interface DnsServer {
  /** `127.0.0.1:PORT`, as `Resolver.setServers` takes it. */
  address: string;
  /** Records by lower-case name without the trailing dot; change it at will. */
  records: Map<string, DnsRecords>;
  /** `answer` from the table, answer every question with `servfail`, or `drop` it unanswered. */
  mode: "answer" | "servfail" | "drop";
  /** Every question received, as `NAME TYPE`. */
  queries: string[];
  /** Resolves once `count` questions in all have been received. */
  received(count: number): Promise<void>;
  close(): Promise<void>;
}

const types: Record<number, keyof Omit<DnsRecords, "ttl">> = { 1: "A", 28: "AAAA", 33: "SRV" };
const NOERROR = 0;
const SERVFAIL = 2;
const NXDOMAIN = 3;

/** Starts a DNS server on 127.0.0.1 with a free UDP port. */
export async function startDnsServer(records: Record<string, DnsRecords> = {}): Promise<DnsServer> {
  const socket = createSocket("udp4");
  const waiters: { count: number; resolve: () => void }[] = [];
  const server: DnsServer = {
    address: "",
    records: new Map(Object.entries(records)),
    mode: "answer",
    queries: [],
    received: (count) =>
      new Promise((resolve) => {
        if (server.queries.length >= count) resolve();
        else waiters.push({ count, resolve });
      }),
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
  socket.on("message", (query, peer) => {
    const reply = answer(server, query);
    if (reply) socket.send(reply, peer.port, peer.address);
    for (const waiter of waiters.filter((w) => server.queries.length >= w.count)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  server.address = `127.0.0.1:${(socket.address() as AddressInfo).port}`;
  return server;
}

function answer(server: DnsServer, query: Buffer): Buffer | undefined {
  // The question: labels up to a zero byte, then QTYPE and QCLASS.
  let offset = 12;
  const labels: string[] = [];
  while (query[offset]! > 0) {
    const length = query[offset]!;
    labels.push(query.toString("latin1", offset + 1, offset + 1 + length));
    offset += 1 + length;
  }
  const questionEnd = offset + 5;
  const name = labels.join(".").toLowerCase();
  const type = types[query.readUInt16BE(offset + 1)];
  server.queries.push(`${name} ${type ?? query.readUInt16BE(offset + 1)}`);
  if (server.mode === "drop") return undefined;

  const entry = server.records.get(name);
  const rcode = server.mode === "servfail" ? SERVFAIL : entry ? NOERROR : NXDOMAIN;
  const rdatas = rcode === NOERROR && entry && type ? (entry[type] ?? []).map(rdata(type)) : [];
  const ttl = entry?.ttl ?? 60;

  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0); // id
  // QR (a response), AA (authoritative), RD copied from the query, the response code.
  header.writeUInt16BE(0x8000 | 0x0400 | (query.readUInt16BE(2) & 0x0100) | rcode, 2);
  header.writeUInt16BE(1, 4); // QDCOUNT
  header.writeUInt16BE(rdatas.length, 6); // ANCOUNT
  const answers = rdatas.map((data) => {
    const head = Buffer.alloc(12);
    head.writeUInt16BE(0xc00c, 0); // NAME: a pointer to the question's name
    head.writeUInt16BE(query.readUInt16BE(offset + 1), 2); // TYPE
    head.writeUInt16BE(1, 4); // CLASS IN
    head.writeUInt32BE(ttl, 6);
    head.writeUInt16BE(data.length, 10);
    return Buffer.concat([head, data]);
  });
  return Buffer.concat([header, query.subarray(12, questionEnd), ...answers]);
}

function rdata(type: "A" | "AAAA" | "SRV") {
  return (record: string | SrvRecord): Buffer => {
    if (type === "A") return Buffer.from((record as string).split(".").map(Number));
    if (type === "AAAA") return ipv6Bytes(record as string);
    const srv = record as SrvRecord;
    const fixed = Buffer.alloc(6);
    fixed.writeUInt16BE(srv.priority, 0);
    fixed.writeUInt16BE(srv.weight, 2);
    fixed.writeUInt16BE(srv.port, 4);
    return Buffer.concat([fixed, encodeName(srv.target)]);
  };
}

/** `a.example` → 1 a 7 example 0. */
function encodeName(name: string): Buffer {
  const labels = name.replace(/\.$/, "").split(".").filter(Boolean);
  return Buffer.concat([
    ...labels.map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label)])),
    Buffer.from([0]),
  ]);
}

/** `fd00::1` → its 16 bytes (no embedded IPv4 form). */
function ipv6Bytes(address: string): Buffer {
  const [head = "", tail] = address.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const zeros = tail === undefined ? [] : Array(8 - left.length - right.length).fill("0");
  const bytes = Buffer.alloc(16);
  [...left, ...zeros, ...right].forEach((group, i) => {
    bytes.writeUInt16BE(Number.parseInt(group, 16), i * 2);
  });
  return bytes;
}
