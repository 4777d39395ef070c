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
import { environmentOverrides } from "../../engine/settings/overrides.js";
import type { AppEvent, AudioChunk } from "../../shared/ipc/contract.js";
import type { SocketFromHarness } from "../../shared/ipc/wire.js";
import { AppHost } from "../host/appHost.js";
import type { ProcessHandle, ProcessLauncher } from "../host/processes.js";
import { batchEvents } from "../ipc/batchEvents.js";
import { replyTo } from "../ipc/requests.js";
import { CONTENT_SECURITY_POLICY } from "../security.js";
import type { ProbeReply } from "../worker/probeProtocol.js";
import type { FromWorker, ToWorker } from "../worker/protocol.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const root = resolve(here, "../../..");

/** Forks an entry (the engine, the hardware probe) under Node, with tsx, from source. */
class ForkLauncher<In, Out> implements ProcessLauncher<In, Out> {
  current: ChildProcess | undefined;
  constructor(private readonly entry: string) {}
  launch(): ProcessHandle<In, Out> {
    const child = fork(join(root, this.entry), [], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      serialization: "advanced",
    });
    this.current = child;
    return {
      post: (message: In) => void (child.connected && child.send(message as object)),
      onMessage: (listener) => child.on("message", (m) => listener(m as Out)),
      onExit: (listener) => child.once("exit", (code) => listener(code)),
      kill: () => void child.kill(),
    };
  }
}

/** The most a text frame may hold (a settings change is a few kB); bigger frames close the socket. */
const MAX_FRAME_BYTES = 1 << 20;

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
  const launcher = new ForkLauncher<ToWorker, FromWorker>("src/main/worker/engineWorker.ts");
  const host = new AppHost({
    dataDir: duetDataDir(),
    modelsDir: modelsDir(),
    launcher,
    probeLauncher: new ForkLauncher<never, ProbeReply>(
      process.env.DUET_HARNESS_PROBE_ENTRY ?? "src/main/worker/hardwareProbeWorker.ts",
    ),
    overrides: environmentOverrides(),
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
  // Oversized frames are refused by ws itself (close 1009), invalid UTF-8 too (close 1007).
  const wss = new WebSocketServer({ server, path: "/bridge", maxPayload: MAX_FRAME_BYTES });
  wss.on("error", (error) => process.stderr.write(`harness: ${error.message}\n`));
  wss.on("connection", (socket, request) => {
    // A socket error (a bad frame) closes that socket; it never ends the harness. ws has already
    // queued a close frame that says why (1007, 1009): terminating at once could drop it before it
    // leaves (the client then sees 1006), so the socket is cut only if it is still there a moment later.
    socket.on("error", () => setTimeout(() => socket.terminate(), 1000).unref());
    // Only pages served by this harness may drive it.
    const origin = request.headers.origin;
    const address = server.address() as AddressInfo;
    if (origin !== `http://127.0.0.1:${address.port}` && origin !== `http://localhost:${address.port}`) {
      socket.close(1008, "origin refused");
      return;
    }
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    const reply = (message: SocketFromHarness) => {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
    };
    const refuse = (id: number | null, message: string) =>
      reply({ kind: "reply", id, ok: false, error: { code: "invalid-argument", message } });
    socket.on("message", (data, isBinary) => {
      const buffer = Buffer.isBuffer(data)
        ? data
        : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]);
      if (isBinary) {
        // Microphone frames: float32 samples, at most one second.
        if (buffer.byteLength === 0 || buffer.byteLength % 4 !== 0 || buffer.byteLength > 64_000) {
          socket.close(1003, "an audio frame must hold 1 to 16000 float32 samples");
          return;
        }
        host.audio(
          new Float32Array(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength)),
        );
        return;
      }
      let message: unknown;
      try {
        message = JSON.parse(buffer.toString("utf8"));
      } catch {
        refuse(null, "The message is not JSON.");
        return;
      }
      if (typeof message !== "object" || message === null || Array.isArray(message)) {
        refuse(null, "A message must be a JSON object.");
        return;
      }
      const { kind, id, channel, args } = message as Record<string, unknown>;
      const requestId = typeof id === "number" && Number.isSafeInteger(id) ? id : null;
      if (kind !== "request" || requestId === null) {
        refuse(requestId, 'A message must be { kind: "request", id: <integer>, channel, args }.');
        return;
      }
      void replyTo(host.handlers, channel, args).then((outcome) =>
        reply({ kind: "reply", id: requestId, ...outcome }),
      );
    });
  });
  const port = Number(values.port ?? process.env.DUET_HARNESS_PORT ?? 5174);
  server.listen(port, "127.0.0.1", () => {
    const address = server.address() as AddressInfo;
    process.stdout.write(`Duet harness on http://127.0.0.1:${address.port}/\n`);
  });
  // What is not saved yet (a turn under way) is saved before the harness ends.
  const shutdown = () => {
    void host.flush().finally(() => {
      host.dispose();
      server.close();
      process.exit(0);
    });
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
}

void main();
