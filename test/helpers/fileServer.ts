import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** A scripted answer: any status with headers and a body (a 429 with Retry-After, a 302, a 416...). */
export interface ScriptedAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export type Behaviour =
  /** The file, honouring Range (and If-Range against the route's ETag). */
  | "normal"
  /** Half of what was asked for, then the connection is cut. */
  | "drop-half"
  /** 1000 bytes, then nothing. */
  | "stall"
  /** The headers, then nothing. */
  | "headers-only"
  /** Accepts the request and never answers. */
  | "hang"
  | "404"
  | "500"
  /** 4 KB every 5 ms. */
  | "slow"
  /** 200 with the whole file, whatever Range asked for. */
  | "ignore-range"
  /** 206 with the whole file from byte 0 (`bytes 0-N/T`), whatever Range asked for. */
  | "from-zero"
  /** 206 starting 10 bytes after the asked offset. */
  | "wrong-start"
  /** The file without Content-Length (chunked). */
  | "chunked"
  | ScriptedAnswer;

export interface Route {
  body: Buffer;
  /** Called per request with the request count so far (1-based); returns how to answer. */
  behave?: (count: number, req: IncomingMessage) => Behaviour;
  /** The ETag sent (default: a strong one from the body's hash; null: none). */
  etag?: string | null;
  /** Headers sent with every answer of this route (e.g. X-Linked-Etag). */
  headers?: Record<string, string>;
}

export interface RecordedRequest {
  path: string;
  range?: string;
  ifRange?: string;
  userAgent?: string;
}

export interface TestServer {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
export const sha1 = (b: Buffer) => createHash("sha1").update(b).digest("hex");

/** Deterministic bytes of a given size. */
export function bytes(size: number, seed = 1): Buffer {
  const b = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** An address on 127.0.0.1 where nothing listens (a port that was just free). */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** A file server on 127.0.0.1 with Range support and scripted faults. */
export async function startFileServer(routes: Record<string, Route>): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const counts = new Map<string, number>();
  const sockets = new Set<Socket>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? "/";
    const ifRange = req.headers["if-range"];
    requests.push({
      path,
      ...(req.headers.range ? { range: req.headers.range } : {}),
      ...(typeof ifRange === "string" ? { ifRange } : {}),
      ...(req.headers["user-agent"] ? { userAgent: req.headers["user-agent"] } : {}),
    });
    const route = routes[path];
    const count = (counts.get(path) ?? 0) + 1;
    counts.set(path, count);
    if (!route) {
      res.writeHead(404).end("not found");
      return;
    }
    const behaviour = route.behave?.(count, req) ?? "normal";
    if (typeof behaviour === "object") {
      res.writeHead(behaviour.status, { ...route.headers, ...behaviour.headers }).end(behaviour.body ?? "");
      return;
    }
    if (behaviour === "404") return void res.writeHead(404).end();
    if (behaviour === "500") return void res.writeHead(500).end("oops");
    if (behaviour === "hang") return;
    const total = route.body.length;
    const etag = route.etag === undefined ? `"${sha256(route.body).slice(0, 16)}"` : route.etag;
    const range = req.headers.range?.match(/^bytes=(\d+)-$/);
    const asked = range ? Number(range[1]) : 0;
    let start = range && (!ifRange || ifRange === etag) ? asked : 0;
    if (behaviour === "ignore-range" || behaviour === "from-zero") start = 0;
    if (behaviour === "wrong-start") start = asked + 10;
    if (start >= total && range) {
      res.writeHead(416, { "content-range": `bytes */${total}` }).end();
      return;
    }
    const partial = start > 0 || behaviour === "from-zero";
    const body = route.body.subarray(start);
    res.writeHead(partial ? 206 : 200, {
      ...(behaviour === "chunked" ? {} : { "content-length": String(body.length) }),
      ...(etag ? { etag } : {}),
      "accept-ranges": "bytes",
      ...(partial ? { "content-range": `bytes ${start}-${total - 1}/${total}` } : {}),
      ...route.headers,
    });
    if (behaviour === "drop-half") {
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket?.destroy());
      return;
    }
    if (behaviour === "headers-only") {
      res.flushHeaders();
      return; // never sends the body
    }
    if (behaviour === "stall") {
      res.write(body.subarray(0, Math.min(1000, body.length)));
      return; // never ends
    }
    if (behaviour === "slow") {
      let offset = 0;
      const timer = setInterval(() => {
        if (res.destroyed) return clearInterval(timer);
        const next = body.subarray(offset, offset + 4096);
        offset += next.length;
        if (next.length === 0) {
          clearInterval(timer);
          res.end();
        } else res.write(next);
      }, 5);
      res.on("close", () => clearInterval(timer));
      return;
    }
    res.end(body);
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
