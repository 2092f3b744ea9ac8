import assert from "node:assert/strict";
import {
  audioExtension,
  containerSegment,
  isReservedDeviceName,
  MAX_CONTAINER_SEGMENT,
  MAX_SEGMENT,
  messageDirName,
  portableName,
  senderLabel,
  voiceFileNames,
  withSuffix,
} from "./layout.ts";

const utf8 = new TextEncoder();

// What every segment the store writes must satisfy, on Windows and on Linux.
function assertPortable(name: string, maxLength = MAX_SEGMENT): void {
  assert.ok(name.length > 0, "empty name");
  assert.ok(name.length <= maxLength, `too long (${name.length}): ${name}`);
  assert.ok(utf8.encode(name).length <= 255, `too many bytes: ${name}`);
  assert.doesNotMatch(name, /[<>:"/\\|?*\p{Cc}]/u, `forbidden character in ${name}`);
  assert.doesNotMatch(name, /[\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/, "bidi control");
  assert.doesNotMatch(
    name,
    /^[.\s]|[.\s]$/,
    `leading or trailing dot/space: ${JSON.stringify(name)}`,
  );
  assert.ok(!isReservedDeviceName(name), `reserved: ${name}`);
  assert.ok(name !== "." && name !== "..");
  assert.ok(name === name.normalize("NFC"));
  assert.doesNotMatch(
    name,
    /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/,
  );
}

Deno.test("portableName() keeps plain names as they are", () => {
  for (const n of ["INBOX", "Greetings", "4001", "Ann Lee", "Saved-2024", "Ünïcødé ✓", "a.b"]) {
    assert.equal(portableName(n), n);
  }
});

Deno.test("portableName() replaces what Windows forbids and never yields a path", () => {
  assert.equal(portableName('a<b>c:d"e/f\\g|h?i*j'), "a_b_c_d_e_f_g_h_i_j");
  assert.equal(portableName("../../etc/passwd"), "_.._etc_passwd");
  assert.equal(portableName(".."), "_");
  assert.equal(portableName("."), "_");
  assert.equal(portableName(""), "_");
  assert.equal(portableName("   "), "_");
  assert.equal(portableName("", { fallback: "unknown" }), "unknown");
  assert.equal(portableName("C:\\Windows\\System32"), "C__Windows_System32");
  assert.equal(portableName("\\\\server\\share"), "__server_share");
});

Deno.test("portableName() removes controls, NUL bytes and bidi overrides", () => {
  assert.equal(portableName("evil\u0000name"), "evil name");
  assert.equal(portableName("line1\r\nline2\tx"), "line1 line2 x");
  assert.equal(portableName("\u202egnp.exe"), "gnp.exe");
  assert.equal(portableName("a\u200bb\ufeffc\u2066d"), "abcd");
  assert.equal(portableName("x\u007fy\u0085z"), "x y z");
  assert.equal(portableName("lone\ud800surrogate"), "lone_surrogate");
});

Deno.test("portableName() drops leading dots and trailing dots and spaces", () => {
  assert.equal(portableName(".hidden"), "hidden");
  assert.equal(portableName("name. . ."), "name");
  assert.equal(portableName("  padded  "), "padded");
  assert.equal(portableName("...dots...x..."), "dots...x");
});

Deno.test("portableName() prefixes Windows device names, with extensions too", () => {
  const reserved = [
    "CON",
    "con",
    "PRN",
    "AUX",
    "NUL",
    "nul.txt",
    "NUL.tar.gz",
    "COM1",
    "com9.wav",
    "LPT1",
    "lpt9.eml",
    "COM0",
    "LPT\u00b9",
    "CONIN$",
    "conout$",
    "CON .txt",
  ];
  for (const r of reserved) {
    const out = portableName(r);
    assert.equal(out, `_${r}`, r);
    assertPortable(out);
  }
  // A trailing dot or space is dropped first: "CON." is CON on Windows.
  assert.equal(portableName("CON."), "_CON");
  assert.equal(portableName("aux "), "_aux");
  for (const ok of ["CONSOLE", "COM10", "LPT", "nulls", "xcon", "com1x"]) {
    assert.equal(portableName(ok), ok);
  }
});

Deno.test("portableName() limits length by UTF-16 units and UTF-8 bytes, whole graphemes", () => {
  assert.equal(portableName("x".repeat(500)).length, MAX_SEGMENT);
  assert.equal(portableName("x".repeat(500), { maxLength: 20 }).length, 20);
  // The option cannot raise the limit.
  assert.equal(portableName("x".repeat(500), { maxLength: 1000 }).length, MAX_SEGMENT);
  const cjk = portableName("語".repeat(100));
  assert.ok(utf8.encode(cjk).length <= 200);
  const emoji = portableName("👍🏽".repeat(60), { maxLength: 21 });
  assert.equal(emoji, "👍🏽".repeat(5)); // 4 units each; the sixth would not fit
  const accents = portableName("e\u0301".repeat(60), { maxLength: 11 });
  assert.equal(accents, "é".repeat(11)); // NFC first: one unit each
  const combining = portableName("a\u0300\u0316".repeat(40), { maxLength: 10 });
  const grapheme = "a\u0300\u0316".normalize("NFC");
  assert.equal(
    combining,
    grapheme.repeat(combining.length / grapheme.length),
    "a grapheme was split",
  );
  // Truncation that ends on a dot or space still yields a valid name.
  assertPortable(portableName(`${"a".repeat(99)}. b`));
});

Deno.test("portableName() yields a portable name for any input", () => {
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const alphabet = [
    ...'abcXYZ019 ._-~<>:"/\\|?*\u0000\u0001\u001f\u007f\u0085\u00a0',
    "\u202e",
    "\u200f",
    "\ud83d\ude00",
    "\ud800",
    "\udc00",
    "é",
    "e\u0301",
    "CON",
    "nul",
    "..",
    "語",
  ];
  for (let i = 0; i < 3000; i++) {
    let s = "";
    const len = Math.floor(rnd() * 150);
    for (let j = 0; j < len; j++) s += alphabet[Math.floor(rnd() * alphabet.length)];
    const out = portableName(s);
    assertPortable(out);
    assert.equal(portableName(out), out, `not idempotent for ${JSON.stringify(s)}`);
  }
});

Deno.test("containerSegment() gives distinct candidates and avoids the store's own names", () => {
  assert.equal(containerSegment("INBOX", 1), "INBOX");
  assert.equal(containerSegment("INBOX", 2), "INBOX~2");
  assert.equal(containerSegment("Archive/2024", 1, { folder: true }), "Archive_2024");
  assert.equal(containerSegment("deleted", 1, { folder: true }), "deleted~2");
  assert.equal(containerSegment("Deleted", 2, { folder: true }), "Deleted~3");
  assert.equal(containerSegment("recorded-name.wav", 1, { folder: true }), "recorded-name.wav~2");
  assert.equal(containerSegment("deleted", 1), "deleted"); // a mailbox may be called that
  const long = containerSegment("F".repeat(300), 123);
  assert.equal(long.length, MAX_CONTAINER_SEGMENT);
  assert.ok(long.endsWith("~123"));
  for (const hostile of ["..", "../../etc", "CON", "a\u0000b", "\u202eexe.", "x".repeat(999)]) {
    for (let n = 1; n < 4; n++) assertPortable(containerSegment(hostile, n, { folder: true }));
  }
});

Deno.test("withSuffix() keeps the name within the limit", () => {
  assert.equal(withSuffix("name", 1), "name");
  assert.equal(withSuffix("name", 7), "name~7");
  assert.equal(withSuffix("x".repeat(100), 12).length, 100);
});

Deno.test("messageDirName() is date, time, sender and UID", () => {
  const date = new Date("2024-05-01T14:03:22.750Z");
  assert.equal(
    messageDirName({ date, sender: "Ann Lee 4021", uid: 12 }, { utc: true }),
    "2024-05-01_14-03-22_Ann Lee 4021_12",
  );
  assert.equal(
    messageDirName({ date: new Date("x"), sender: "", uid: 1 }, { utc: true }),
    "0000-00-00_00-00-00_unknown_1",
  );
});

Deno.test("messageDirName() is safe and bounded for hostile senders", () => {
  const date = new Date("2024-05-01T14:03:22Z");
  const hostile = [
    "../../etc",
    "/etc/passwd",
    "a\u0000b",
    "\u202eevil",
    "CON",
    "x".repeat(1000),
    "語".repeat(500),
    "...",
    'a<b>c:"|?*',
  ];
  const names = new Set<string>();
  for (const [i, sender] of hostile.entries()) {
    const name = messageDirName({ date, sender, uid: 4_000_000_000 + i }, { utc: true });
    assertPortable(name);
    assert.ok(name.length <= 75, name);
    assert.match(name, /^2024-05-01_14-03-22_.+_\d+$/);
    names.add(name);
  }
  assert.equal(names.size, hostile.length, "the UID keeps names unique");
});

Deno.test("senderLabel() reads like a person would write it", () => {
  assert.equal(senderLabel({ name: "Ann Lee", address: "4021@mss.lab" }), "Ann Lee 4021");
  assert.equal(senderLabel({ name: "Ann Lee (4021)", address: "4021@mss.lab" }), "Ann Lee (4021)");
  assert.equal(senderLabel({ name: "Bob", address: "bob@example.com" }), "Bob");
  assert.equal(senderLabel({ name: "+1 555 0177", address: "15550177@mss.lab" }), "+1 555 0177");
  assert.equal(senderLabel({ name: "", address: "4021@mss.lab" }), "4021");
  assert.equal(senderLabel({ name: "", address: "4021" }), "4021");
  assert.equal(senderLabel({ name: "", address: "bob@example.com" }), "bob@example.com");
  assert.equal(senderLabel({ name: "", address: "" }), "unknown");
  assert.equal(senderLabel(null), "unknown");
});

Deno.test("voiceFileNames() gives unique names: plain for the first of a role", () => {
  const names = voiceFileNames([
    { role: "Originator-Spoken-Name", partPath: "1", ext: "wav", topLevel: true },
    { role: "Voice-Message", partPath: "2", ext: "wav", topLevel: true },
    { role: "Voice-Message", partPath: "3", ext: "wav", topLevel: true },
    { role: "Voice-Message", partPath: "4.2", ext: "wav", topLevel: false },
    { role: "Spoken-Subject", partPath: "5", ext: "gsm", topLevel: true },
    { role: "Voice-Message", partPath: "4.2", ext: "wav", topLevel: false },
    { role: "Voice-Message", partPath: "../x", ext: "../../sh", topLevel: false },
  ]);
  assert.deepEqual(names, [
    "spoken-name.wav",
    "voice.wav",
    "voice-3.wav",
    "voice-4.2.wav",
    "spoken-subject.gsm",
    "voice-4.2~2.wav",
    "voice-0.bin",
  ]);
  for (const n of names) assertPortable(n);
});

Deno.test("audioExtension() trusts the bytes, then the content type", () => {
  const riff = new TextEncoder().encode("RIFF");
  assert.equal(audioExtension("audio/gsm", riff), "wav");
  assert.equal(audioExtension("audio/basic", new TextEncoder().encode(".snd")), "au");
  assert.equal(audioExtension("audio/x-wav", new Uint8Array(4)), "wav");
  assert.equal(audioExtension("audio/gsm", new Uint8Array(4)), "gsm");
  assert.equal(audioExtension("audio/basic", new Uint8Array(0)), "au");
  assert.equal(audioExtension("audio/ogg", new Uint8Array(4)), "bin");
});
