import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface Route {
  body: Buffer;
  /** Called per request with the request count so far (1-based); return how to answer. */
  behave?: (count: number, req: IncomingMessage) => "normal" | "drop-half" | "stall" | "404" | "500" | "slow";
  etag?: string;
}

export interface TestServer {
  url: string;
  requests: Array<{ path: string; range?: string }>;
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

/** A file server on 127.0.0.1 with Range support and scripted faults. */
export async function startFileServer(routes: Record<string, Route>): Promise<TestServer> {
  const requests: TestServer["requests"] = [];
  const counts = new Map<string, number>();
  const sockets = new Set<Socket>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? "/";
    requests.push({ path, ...(req.headers.range ? { range: req.headers.range } : {}) });
    const route = routes[path];
    const count = (counts.get(path) ?? 0) + 1;
    counts.set(path, count);
    if (!route) {
      res.writeHead(404).end("not found");
      return;
    }
    const behaviour = route.behave?.(count, req) ?? "normal";
    if (behaviour === "404") return void res.writeHead(404).end();
    if (behaviour === "500") return void res.writeHead(500).end("oops");
    let start = 0;
    const range = req.headers.range?.match(/^bytes=(\d+)-$/);
    const etag = route.etag ?? `"${sha256(route.body).slice(0, 16)}"`;
    const ifRange = req.headers["if-range"];
    if (range && (!ifRange || ifRange === etag)) start = Number(range[1]);
    if (start >= route.body.length && range) {
      res.writeHead(416, { "content-range": `bytes */${route.body.length}` }).end();
      return;
    }
    const body = route.body.subarray(start);
    res.writeHead(start > 0 ? 206 : 200, {
      "content-length": String(body.length),
      etag,
      "accept-ranges": "bytes",
      ...(start > 0
        ? { "content-range": `bytes ${start}-${route.body.length - 1}/${route.body.length}` }
        : {}),
    });
    if (behaviour === "drop-half") {
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket?.destroy());
      return;
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
