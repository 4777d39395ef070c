#!/usr/bin/env node
/**
 * npm run harness [-- --port N] : the window in any browser against the real engine, without
 * Electron. It serves the built renderer on 127.0.0.1 and carries the same typed contract over a
 * WebSocket (JSON for requests and events, binary frames for audio), with the engine in a forked
 * Node process exactly as the utility process runs it. Used by the browser tests.
 */
import { fork, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { WebSocketServer, type WebSocket } from "ws";
import { duetDataDir, modelsDir } from "../../engine/paths.js";
import { AppHost } from "../host/appHost.js";
import type { WorkerHandle, WorkerLauncher } from "../host/engineHost.js";
import { batchEvents } from "../ipc/batchEvents.js";
import type { AppEvent, AudioChunk, RequestChannel } from "../ipc/contract.js";
import { toRequestError } from "../ipc/router.js";
import { CONTENT_SECURITY_POLICY } from "../security.js";
import type { FromWorker, ToWorker } from "../worker/protocol.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const root = resolve(here, "../../..");

/** Forks the engine worker under Node (with tsx, from source). */
class ForkLauncher implements WorkerLauncher {
  current: ChildProcess | undefined;
  launch(): WorkerHandle {
    const child = fork(join(root, "src/main/worker/engineWorker.ts"), [], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      serialization: "advanced",
    });
    this.current = child;
    return {
      post: (message: ToWorker) => child.connected && child.send(message),
      onMessage: (listener) => child.on("message", (m) => listener(m as FromWorker)),
      onExit: (listener) => child.on("exit", (code) => listener(code)),
      kill: () => void child.kill(),
    };
  }
}

const TYPES: Record<string, string> = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".css": "text/css",
  ".svg": "image/svg+xml",
  ".json": "application/json",
};

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { port: { type: "string" }, "renderer-dir": { type: "string" } } });
  const rendererDir = resolve(values["renderer-dir"] ?? join(root, "out/renderer"));
  const sockets = new Set<WebSocket>();
  const emit = batchEvents<AppEvent>((events) => {
    const message = JSON.stringify({ kind: "events", events });
    for (const s of sockets) s.send(message);
  });
  const emitAudio = (chunk: AudioChunk) => {
    const samples =
      chunk.samples instanceof Float32Array
        ? chunk.samples
        : Float32Array.from(chunk.samples as unknown as number[]);
    const frame = Buffer.alloc(8 + samples.byteLength);
    frame.writeUInt32LE(chunk.chunkId, 0);
    frame.writeUInt32LE(chunk.sampleRate, 4);
    Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength).copy(frame, 8);
    for (const s of sockets) s.send(frame);
  };
  const launcher = new ForkLauncher();
  const host = new AppHost({
    dataDir: duetDataDir(),
    modelsDir: modelsDir(),
    launcher,
    emit,
    emitAudio,
    restartDelaysMs: [300, 1000, 3000],
  });
  await host.init();

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.pathname === "/harness/worker") {
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ pid: launcher.current?.pid ?? null }));
      return;
    }
    const path = normalize(join(rendererDir, url.pathname === "/" ? "index.html" : url.pathname));
    if (!path.startsWith(rendererDir)) return void res.writeHead(403).end();
    try {
      const body = await readFile(path);
      res.writeHead(200, {
        "content-type": TYPES[extname(path)] ?? "application/octet-stream",
        "content-security-policy": CONTENT_SECURITY_POLICY,
      });
      res.end(body);
    } catch {
      res.writeHead(404).end("not found");
    }
  });
  const wss = new WebSocketServer({ server, path: "/bridge" });
  wss.on("connection", (socket, request) => {
    // Only pages served by this harness may drive it.
    const origin = request.headers.origin;
    const address = server.address() as AddressInfo;
    if (origin !== `http://127.0.0.1:${address.port}` && origin !== `http://localhost:${address.port}`) {
      socket.close(1008, "origin refused");
      return;
    }
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("message", (data, isBinary) => {
      if (isBinary) {
        const buffer = data as Buffer;
        if (buffer.byteLength % 4 !== 0 || buffer.byteLength > 64_000) return;
        const samples = new Float32Array(
          buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength),
        );
        host.audio(samples);
        return;
      }
      let message: { kind?: string; id?: number; channel?: string; args?: unknown };
      try {
        message = JSON.parse(String(data)) as typeof message;
      } catch {
        return;
      }
      if (message.kind !== "request" || typeof message.id !== "number" || typeof message.channel !== "string")
        return;
      const id = message.id;
      host
        .request(message.channel as RequestChannel, message.args)
        .then((result) => socket.send(JSON.stringify({ kind: "reply", id, ok: true, result })))
        .catch((error: unknown) =>
          socket.send(JSON.stringify({ kind: "reply", id, ok: false, error: toRequestError(error) })),
        );
    });
  });
  const port = Number(values.port ?? process.env.DUET_HARNESS_PORT ?? 5174);
  server.listen(port, "127.0.0.1", () => {
    const address = server.address() as AddressInfo;
    process.stdout.write(`Duet harness on http://127.0.0.1:${address.port}/\n`);
  });
  const shutdown = () => {
    host.dispose();
    server.close();
    process.exit(0);
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
}

void main();
