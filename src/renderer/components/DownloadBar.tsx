import { useDuet, type DownloadState } from "../store/store.js";
import { useController } from "./context.js";
import { formatBytes, formatDuration } from "./format.js";

/** What a download is doing, in words, when it is not moving bytes; null while bytes flow. */
export function downloadWords(d: DownloadState): string | null {
  switch (d.phase) {
    case "connecting":
      return "Connecting…";
    case "waiting":
      return d.message ?? "Waiting to try again…";
    case "verifying":
      return "Checking the file against its published checksum…";
    case "installing":
      return "Installing…";
    default:
      return null;
  }
}

/** A download's progress (or its failure, with Try again), with Cancel. */
export function DownloadBar({ id, label }: { id: string; label?: string }) {
  const d = useDuet((s) => s.downloads[id]);
  const controller = useController();
  if (!d || d.done) return null;
  const name = label ?? id;
  if (d.error)
    return (
      <div className="download-error" role="alert">
        <span>
          Download of {name} failed: {d.error}
        </span>
        <button onClick={() => void controller.download(id)}>Try again</button>
      </div>
    );
  const pct = d.totalBytes ? Math.round((d.receivedBytes / d.totalBytes) * 100) : null;
  const status = downloadWords(d);
  return (
    <div className="download" data-phase={d.phase}>
      <progress value={d.receivedBytes} max={d.totalBytes ?? undefined} aria-label={`Downloading ${name}`} />
      {status ? (
        <span role="status">{status}</span>
      ) : (
        <span>
          {pct !== null ? `${pct}% · ` : ""}
          {formatBytes(d.receivedBytes)}
          {d.totalBytes ? ` of ${formatBytes(d.totalBytes)}` : ""} · {formatBytes(d.bytesPerSecond)}/s
          {d.etaSeconds !== null ? ` · ${formatDuration(d.etaSeconds)} left` : ""}
        </span>
      )}
      <button onClick={() => void controller.cancelDownload(id)} aria-label={`Cancel downloading ${name}`}>
        Cancel
      </button>
    </div>
  );
}
