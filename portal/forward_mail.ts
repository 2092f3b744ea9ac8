/**
 * The e-mail that forwards a voice message: a short text naming every recording (who, when, how
 * long) and each recording as its own attachment — the message's and every earlier one of its
 * forward/reply chain — as PCM WAV while the mail stays small enough for a relay, else in the
 * original format. Pure.
 * @module
 */
import { parseWav, pcmWavSize, toPcmWav, WavError } from "../engine/audio/mod.ts";
import { audioExtension } from "../engine/files/mod.ts";
import { headerText, type MailAttachment, type OutgoingMail } from "../engine/mail/mod.ts";
import type { MessageSummary, VoiceData, VoiceRef } from "./mailbox_reader.ts";
import {
  downloadType,
  partDownloadName,
  uniqueName,
  voiceLabel,
  voiceOwner,
} from "./message_ref.ts";
import { formatDateTime } from "./dates.ts";

// A PCM attachment is ten times a GSM one; past this sum the rest go in their original format.
const MAX_PCM_BYTES = 10 * 1024 * 1024;

/** One recording to attach: which voice part of the message, and its bytes. */
export interface ForwardVoice {
  ref: VoiceRef;
  data: VoiceData;
}

/**
 * The mail forwarding message `m` of voicemail box `mailbox`, with `voices` (in the message's
 * order: its own parts first, then those of the messages it embeds) attached.
 */
export function forwardMail(
  m: MessageSummary,
  voices: ForwardVoice[],
  opts: { to: string; mailbox: string; timeZone?: string },
): OutgoingMail {
  const zone = opts.timeZone ?? "UTC";
  const when = (iso: string | null) =>
    iso ? formatDateTime(iso, zone) || "date unknown" : "date unknown";
  const caller = headerText(m.sender, 120);
  const received = when(m.date ?? m.internalDate);
  const attachments = attach(m, voices);
  const lines = [
    `Voice message from ${caller}, received ${received}${seconds(m.durationSeconds)}.`,
    ``,
    `Forwarded from voicemail box ${opts.mailbox}.`,
  ];
  if (attachments.length === 1) lines.push(`The recording is attached.`);
  else {
    lines.push(`The ${attachments.length} recordings are attached:`, ``);
    voices.forEach((v, i) => {
      const owner = voiceOwner(m, v.ref.index);
      const who = headerText(owner.sender, 120);
      const earlier = owner === m.tree ? "" : "earlier message, ";
      const what = v.ref.role === "Voice-Message" ? "" : `${voiceLabel(v.ref.role)}, `;
      lines.push(
        `${i + 1}. ${attachments[i].filename}: ${what}${earlier}from ${who}, ${
          when(owner === m.tree ? m.date ?? m.internalDate : owner.date)
        }${seconds(v.ref.seconds)}`,
      );
    });
  }
  lines.push(``);
  return {
    to: opts.to,
    subject: `Voice message from ${caller}, ${received}`,
    text: lines.join("\r\n"),
    attachments,
  };
}

function seconds(s: number | null): string {
  return s === null ? "" : ` (${Math.round(s)} seconds)`;
}

// Recipients' phones and mail programs play PCM WAV; many cannot play GSM 6.10. A recording
// goes in its original format when it cannot be decoded or the mail would grow too large.
function attach(m: MessageSummary, voices: ForwardVoice[]): MailAttachment[] {
  let budget = MAX_PCM_BYTES;
  const used = new Set<string>();
  return voices.map(({ ref, data }) => {
    const base = uniqueName(partDownloadName(m, ref), used);
    try {
      const size = pcmWavSize(parseWav(data.bytes));
      if (size <= budget) {
        budget -= size;
        return { filename: `${base}.wav`, contentType: "audio/wav", content: toPcmWav(data.bytes) };
      }
    } catch (e) {
      if (!(e instanceof WavError)) throw e;
    }
    const ext = audioExtension(data.contentType, data.bytes.subarray(0, 4));
    return {
      filename: `${base}.${ext}`,
      contentType: downloadType(data.contentType),
      content: data.bytes,
    };
  });
}
