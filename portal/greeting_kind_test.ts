import assert from "node:assert/strict";
import {
  type GreetingFacts,
  greetingKind,
  greetingLabel,
  greetingSourceNote,
  normalizeWords,
  typeOfWords,
} from "./greeting_kind.ts";

function facts(p: Partial<GreetingFacts> & { headers?: Record<string, string> } = {}) {
  const headers = Object.fromEntries(
    Object.entries(p.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
  );
  return {
    header: (name: string) => headers[name.toLowerCase()] ?? null,
    subject: p.subject ?? null,
    filenames: p.filenames ?? [],
  };
}

Deno.test("greetingKind() reads the type header first, in any case", () => {
  assert.deepEqual(
    greetingKind(facts({ headers: { "x-greeting-type": "busy" }, subject: "No answer" })),
    { type: "busy", source: "header" },
  );
  assert.deepEqual(greetingKind(facts({ headers: { "X-Greeting-Type": "NoAnswer" } })), {
    type: "no-answer",
    source: "header",
  });
  assert.deepEqual(greetingKind(facts({ headers: { "X-Greeting-Type": "extended_absence" } })), {
    type: "extended-absence",
    source: "header",
  });
});

Deno.test("greetingKind() keeps a header's words it does not know, and says so", () => {
  const k = greetingKind(facts({ headers: { "X-Greeting-Type": "7\u0007" }, subject: "Busy" }));
  assert.deepEqual(k, { type: null, words: "7", source: "header" });
  assert.equal(greetingLabel(k), "Greeting (“7”)");
});

Deno.test("greetingKind() reads the subject's words, then the file name", () => {
  assert.deepEqual(greetingKind(facts({ subject: "Extended absence greeting" })), {
    type: "extended-absence",
    source: "subject",
  });
  assert.deepEqual(greetingKind(facts({ subject: "Greeting: no answer" })), {
    type: "no-answer",
    source: "subject",
  });
  assert.deepEqual(
    greetingKind(facts({ subject: "Greeting", filenames: [null, "greeting-busy.wav"] })),
    { type: "busy", source: "file name" },
  );
  assert.deepEqual(greetingKind(facts({ subject: "After hours" })), {
    type: "out-of-hours",
    source: "subject",
  });
});

Deno.test("greetingKind() is null when the store says nothing, and the label is honest", () => {
  for (
    const f of [
      facts(),
      facts({ subject: "Greeting", filenames: ["greeting.wav", "message.wav"] }),
      facts({ subject: "Voice message from Alice Anderson" }),
      facts({ headers: { "X-Greeting-Type": "   " } }),
    ]
  ) {
    assert.equal(greetingKind(f), null);
  }
  assert.equal(greetingLabel(null), "Greeting (unknown type)");
  assert.equal(greetingLabel(undefined), "Greeting (unknown type)");
  assert.match(greetingSourceNote(null), /does not say/);
});

Deno.test("greetingKind() reads the header names it is given", () => {
  const f = facts({ headers: { "X-Avaya-Greeting": "standard", "X-Greeting-Type": "busy" } });
  assert.deepEqual(greetingKind(f, { headers: ["X-Avaya-Greeting"] }), {
    type: "standard",
    source: "header",
  });
});

Deno.test("typeOfWords() matches whole words, the specific before the general", () => {
  assert.equal(normalizeWords("Greeting-NoAnswer.WAV"), "greeting no answer wav");
  assert.equal(typeOfWords("Extended Absence"), "extended-absence");
  assert.equal(typeOfWords("Primary"), "standard");
  assert.equal(typeOfWords("internal callers"), "internal");
  assert.equal(typeOfWords("busybody"), null);
  assert.equal(typeOfWords("Greeting"), null);
});

Deno.test("greetingLabel() names every type; the note says where it was read", () => {
  assert.equal(greetingLabel({ type: "busy", source: "header" }), "Busy greeting");
  assert.equal(
    greetingLabel({ type: "extended-absence", source: "subject" }),
    "Extended absence greeting",
  );
  assert.equal(greetingLabel({ type: "no-answer", source: "file name" }), "No-answer greeting");
  assert.match(greetingSourceNote({ type: "busy", source: "header" }), /header/);
  assert.match(greetingSourceNote({ type: "busy", source: "subject" }), /subject/);
  assert.match(greetingSourceNote({ type: "busy", source: "file name" }), /file name/);
});
