/**
 * The e-mail that forwards a voice message: a short text and the recording as an attachment
 * (PCM WAV when it can be decoded and is not too large, else the original recording). Pure.
 * @module
 */
import { parseWav, pcmWavSize, toPcmWav, WavError } from "../engine/audio/mod.ts";
import { audioExtension } from "../engine/files/mod.ts";
import { headerText, type MailAttachment, type OutgoingMail } from "../engine/mail/mod.ts";
import type { MessageSummary, VoiceData } from "./mailbox_reader.ts";
import { downloadName, downloadType } from "./message_ref.ts";
import { formatDateTime } from "./dates.ts";

// A PCM attachment is ten times a GSM one; past this the original recording goes instead.
const MAX_PCM_ATTACHMENT = 10 * 1024 * 1024;

/** The mail forwarding message `m` of voicemail box `mailbox`, its recording `voice` attached. */
export function forwardMail(
  m: MessageSummary,
  voice: VoiceData,
  opts: { to: string; mailbox: string; timeZone?: string },
): OutgoingMail {
  const iso = m.date ?? m.internalDate;
  const when = iso ? formatDateTime(iso, opts.timeZone ?? "UTC") : "date unknown";
  const caller = headerText(m.sender, 120);
  const seconds = m.durationSeconds !== null ? ` (${Math.round(m.durationSeconds)} seconds)` : "";
  return {
    to: opts.to,
    subject: `Voice message from ${caller}, ${when}`,
    text: [
      `Voice message from ${caller}, received ${when}${seconds}.`,
      ``,
      `Forwarded from voicemail box ${opts.mailbox}. The recording is attached.`,
      ``,
    ].join("\r\n"),
    attachments: [forwardAttachment(voice.bytes, voice.contentType, downloadName(m))],
  };
}

// Recipients' phones and mail programs play PCM WAV; many cannot play GSM 6.10. The original
// goes when it cannot be decoded or the PCM copy would be too large for a relay.
function forwardAttachment(bytes: Uint8Array, contentType: string, name: string): MailAttachment {
  try {
    const info = parseWav(bytes);
    if (pcmWavSize(info) <= MAX_PCM_ATTACHMENT) {
      return { filename: `${name}.wav`, contentType: "audio/wav", content: toPcmWav(bytes) };
    }
  } catch (e) {
    if (!(e instanceof WavError)) throw e;
  }
  const ext = audioExtension(contentType, bytes.subarray(0, 4));
  return { filename: `${name}.${ext}`, contentType: downloadType(contentType), content: bytes };
}
