/**
 * A folder's recordings as one ZIP download: PCM WAV each (the stored original when it cannot
 * be decoded) and `index.csv` listing every recording — who, when, how long, and why one is not
 * included (private, not kept here). Streamed: built one message per pull.
 * @module
 */
import { Zip, ZipPassThrough } from "fflate";
import { toPcmWav, WavError } from "../engine/audio/mod.ts";
import { audioExtension } from "../engine/files/mod.ts";
import { formatDateTime } from "./dates.ts";
import type { MailboxReader, MessageSummary, VoiceRef } from "./mailbox_reader.ts";
import { partDownloadName, uniqueName, voiceLabel, voiceOwner } from "./message_ref.ts";
import { messageKind, messageStates } from "./subscriber_pages.tsx";

/** Options of {@link archiveStream}. */
export interface ArchiveOptions {
  /** Whether a message's recordings may leave the portal (private ones: by the config). */
  mayDownload: (m: MessageSummary) => boolean;
  timeZone: string;
  /** Messages left out (over the limit), said in the listing. */
  leftOut: number;
  /** Called once the archive is complete or abandoned (closes the reader). */
  done: () => Promise<void>;
  /** Whether the subscriber had heard a message (the listing's "new"); by default `\Seen`. */
  heard?: (m: MessageSummary) => boolean;
}

const LISTING_HEAD = ["file", "received", "caller", "subject", "seconds", "kind", "state", "note"];

/**
 * A ZIP of `items`' recordings read through `reader` — PCM WAV each (the original when it
 * cannot be decoded) — and `index.csv` listing every recording (who, when, how long, and why
 * one is not included). Built one message per pull, so memory holds one message's audio.
 */
export function archiveStream(
  reader: MailboxReader,
  items: MessageSummary[],
  opts: ArchiveOptions,
): ReadableStream<Uint8Array> {
  const used = new Set<string>();
  const rows: string[][] = [LISTING_HEAD];
  let next = 0;
  let finished = false;
  const finish = async () => {
    if (finished) return;
    finished = true;
    await opts.done();
  };
  let sink: ReadableStreamDefaultController<Uint8Array> | null = null;
  let sent = 0;
  const zip = new Zip((err, chunk, final) => {
    if (err) return sink?.error(err);
    sent++;
    sink?.enqueue(chunk);
    if (final) sink?.close();
  });
  const add = (name: string, bytes: Uint8Array, when: string | null) => {
    const entry = new ZipPassThrough(name);
    const t = when ? Date.parse(when) : NaN;
    // ZIP dates run from 1980 to 2099; a message claiming another date gets none.
    if (t >= Date.UTC(1980, 0, 2) && t < Date.UTC(2099, 11, 31)) entry.mtime = t;
    zip.add(entry);
    entry.push(bytes, true);
  };
  const addMessage = async (m: MessageSummary) => {
    const ref = { folder: m.folder, uidValidity: m.uidValidity, uid: m.uid };
    const row = (v: VoiceRef | null, file: string, note: string) =>
      rows.push(listingRow(m, v, { file, note, timeZone: opts.timeZone, heard: opts.heard?.(m) }));
    if (m.voices.length === 0) {
      row(null, "", m.placeholder ? "not kept on this server" : "no recording");
    }
    for (const v of m.voices) {
      if (!opts.mayDownload(m)) {
        row(v, "", "private: not included");
        continue;
      }
      const data = await reader.voice(ref, v.index);
      if (!data) {
        row(v, "", "not found");
        continue;
      }
      let bytes = data.bytes;
      let ext = "wav";
      try {
        bytes = toPcmWav(data.bytes);
      } catch (e) {
        if (!(e instanceof WavError)) throw e;
        ext = audioExtension(data.contentType, data.bytes.subarray(0, 4));
      }
      const name = `${uniqueName(partDownloadName(m, v), used)}.${ext}`;
      add(name, bytes, m.date ?? m.internalDate);
      row(v, name, ext === "wav" ? "" : "original format: it could not be decoded");
    }
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      sink = controller;
      try {
        // A pull that enqueues nothing is not called again: go on until a chunk is out.
        const before = sent;
        while (sent === before && next < items.length) await addMessage(items[next++]);
        if (sent > before) return;
        if (opts.leftOut > 0) {
          rows.push(["", "", "", "", "", "", "", `${opts.leftOut} older messages not included`]);
        }
        add("index.csv", new TextEncoder().encode(toCsv(rows)), null);
        zip.end();
        await finish();
      } catch (e) {
        await finish();
        throw e;
      }
    },
    async cancel() {
      zip.terminate();
      await finish();
    },
  });
}

// One recording of the listing: of the message itself, or of an earlier one of its thread.
function listingRow(
  m: MessageSummary,
  v: VoiceRef | null,
  row: { file: string; note: string; timeZone: string; heard?: boolean },
): string[] {
  const { file, note, timeZone } = row;
  const owner = v ? voiceOwner(m, v.index) : m.tree;
  const own = owner === m.tree;
  const when = own ? m.date ?? m.internalDate : owner.date;
  const role = v && v.role !== "Voice-Message" ? voiceLabel(v.role) : "";
  return [
    file,
    when ? formatDateTime(when, timeZone) : "",
    owner.sender,
    (own ? m.subject : owner.subject) ?? "",
    v?.seconds != null ? String(Math.round(v.seconds)) : "",
    own ? messageKind(m) ?? "" : "earlier message",
    messageStates(m, false, row.heard).map(([, words]) => words.toLowerCase()).join(" "),
    [role, note].filter(Boolean).join("; "),
  ];
}

/**
 * RFC 4180 CSV (CRLF, every cell quoted), with a leading ' before a cell a spreadsheet would
 * run as a formula: a caller's name is the sender's text.
 */
export function toCsv(rows: string[][]): string {
  const cell = (v: string) => {
    const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
    return `"${safe.replace(/"/g, '""')}"`;
  };
  return rows.map((r) => r.map(cell).join(",")).join("\r\n") + "\r\n";
}
