import assert from "node:assert/strict";
import { sectionFields, SETTINGS_SECTIONS, settingsView } from "../engine/settings/mod.ts";
import { renderPage, type Viewer } from "./layout.tsx";
import { fieldId, SettingsOverview, SettingsSectionPage } from "./settings_pages.tsx";

const viewer: Viewer = { label: "Administrator admin", csrf: "csrf-token-1" };
const SECRETS = ["src-secret-1", "tgt-secret-2", "ldap-secret-3", "smtp-secret-4"];
const stored = {
  source: {
    host: "10.0.0.5",
    port: 993,
    tls: "tls",
    trustedUser: "vm",
    trustedPassword: SECRETS[0],
  },
  target: { type: "imap", host: "10.0.0.6", trustedUser: "vm", trustedPassword: SECRETS[1] },
  ldap: {
    source: {
      url: "ldap://10.0.0.5:389",
      bindDn: "cn=vm",
      baseDn: "o=mss",
      bindPassword: SECRETS[2],
    },
  },
  smtp: { host: "relay", from: "vm@example.org", user: "vm", password: SECRETS[3] },
  rules: { broadcast: [{ header: "X-Broadcast", pattern: "yes" }] },
};
const view = settingsView({ fileRaw: {}, stored, file: null });

function page(section: string, more: Record<string, unknown> = {}): string {
  return renderPage(
    <SettingsSectionPage
      section={section}
      view={view}
      viewer={viewer}
      csrf="csrf-token-1"
      timeZone="Europe/Berlin"
      {...more}
    />,
  );
}

/** The opening tag of the control with this id. */
function control(html: string, id: string): string {
  const m = new RegExp(`<(input|select|textarea)\\b[^>]*\\bid="${id}"[^>]*>`).exec(html);
  assert.ok(m, `no control with id ${id}`);
  return m[0];
}

Deno.test("each section page labels every field and links help to it", () => {
  for (const s of SETTINGS_SECTIONS) {
    const html = page(s.id);
    assert.match(html, new RegExp(`<form method="post" action="/admin/settings/${s.id}"`));
    assert.match(html, /<input type="hidden" name="_csrf" value="csrf-token-1"\/>/);
    for (const f of sectionFields(s)) {
      if (f.kind === "rules") continue;
      const id = fieldId(f.path);
      assert.ok(html.includes(`<label for="${id}">${f.label}</label>`), `${s.id}: ${f.path}`);
      assert.match(control(html, id), new RegExp(`aria-describedby="[^"]*h-${id}`), f.path);
      assert.ok(html.includes(`id="h-${id}"`), f.path);
    }
    assert.ok(html.includes(">Save</button>"));
    // The CSP forbids inline scripts and styles.
    assert.doesNotMatch(html, /<script|\sstyle=|\son[a-z]+=/i);
  }
});

Deno.test("section pages never contain a secret, not even one typed into a failed form", () => {
  const draft = {
    "source.host": "10.0.0.5",
    "source.trustedPassword": "typed-secret-9",
    "smtp.password": "typed-secret-9",
  };
  for (const s of SETTINGS_SECTIONS) {
    const html = page(s.id, { draft, errors: [{ path: "source.port", message: "bad" }] });
    for (const secret of [...SECRETS, "typed-secret-9"]) assert.ok(!html.includes(secret), s.id);
  }
  const html = page("source", { draft });
  assert.match(html, /Currently: <strong>set<\/strong>/);
  assert.match(html, /the password you typed was not saved/);
  assert.match(control(html, "f-source-trustedPassword"), /type="password"/);
  assert.doesNotMatch(control(html, "f-source-trustedPassword"), /value="/);
  assert.match(control(html, "f-source-trustedPassword"), /autocomplete="new-password"/);
  // An optional secret can be removed; a required one cannot.
  assert.match(page("smtp"), /name="__clear:smtp.password"/);
  assert.doesNotMatch(html, /__clear:/);
  const none = renderPage(
    <SettingsSectionPage
      section="smtp"
      view={settingsView({ fileRaw: {}, stored: {}, file: null })}
      viewer={viewer}
      csrf="c"
      timeZone="UTC"
    />,
  );
  assert.match(none, /Currently: <strong>not set<\/strong>/);
});

Deno.test("fields the file sets are read-only, with a note", () => {
  const fileRaw = {
    source: { host: "mss1", trustedPasswordFile: "/etc/pw", folders: ["INBOX"] },
    schedule: { idle: false },
  };
  const fixedView = settingsView({ fileRaw, stored, file: "/etc/vmirror.jsonc" });
  const html = renderPage(
    <SettingsSectionPage
      section="source"
      view={fixedView}
      viewer={viewer}
      csrf="c"
      timeZone="UTC"
      draft={{ "source.host": "typed-over" }}
    />,
  );
  for (const path of ["source.host", "source.trustedPassword", "source.folders"]) {
    const tag = control(html, fieldId(path));
    assert.match(tag, /\sdisabled/, path);
    assert.doesNotMatch(tag, /\sname=/, path);
    assert.match(tag, new RegExp(`aria-describedby="[^"]*x-${fieldId(path)}`), path);
    assert.ok(
      html.includes(`<p class="fixed" id="x-${fieldId(path)}">set in the configuration file</p>`),
    );
  }
  assert.match(control(html, "f-source-host"), /value="mss1"/);
  assert.doesNotMatch(control(html, "f-source-port"), /disabled/);
  assert.ok(html.includes("<code>/etc/vmirror.jsonc</code>"));
  const schedule = renderPage(
    <SettingsSectionPage
      section="schedule"
      view={fixedView}
      viewer={viewer}
      csrf="c"
      timeZone="UTC"
    />,
  );
  assert.match(control(schedule, "f-schedule-idle"), /disabled/);
  assert.doesNotMatch(schedule, /__bool:schedule.idle/);
  assert.match(schedule, /name="__bool:schedule.syncSeconds"|name="schedule.syncSeconds"/);
});

Deno.test("errors are listed at the top and shown beside their fields", () => {
  const html = page("source", {
    draft: { "source.port": "nine", "source.host": "" },
    errors: [
      { path: "source.port", message: "expected a number" },
      { path: "source.folders.1", message: "must not be empty" },
      { path: "smtp.host", message: "required" },
      { path: "", message: "something else" },
    ],
  });
  assert.match(html, /<div class="error error-summary" role="alert"/);
  assert.match(html, /<a href="#f-source-port">Port: expected a number<\/a>/);
  assert.match(html, /<a href="#f-source-folders">Folders to mirror: must not be empty<\/a>/);
  assert.match(
    html,
    /<a href="\/admin\/settings\/smtp#f-smtp-host">Mail relay, Host: required<\/a>/,
  );
  assert.match(html, /<li>something else<\/li>/);
  const port = control(html, "f-source-port");
  assert.match(port, /aria-invalid="true"/);
  assert.match(port, /value="nine"/);
  assert.match(port, /aria-describedby="h-f-source-port e-f-source-port"/);
  assert.match(html, /<p class="field-error" id="e-f-source-port">.*Port: expected a number<\/p>/);
  assert.doesNotMatch(control(html, "f-source-tls"), /aria-invalid/);
});

Deno.test("errors name the group of a repeated label, and lead a whole part to its first field", () => {
  const html = page("ldap", {
    errors: [
      { path: "ldap.target.url", message: "required" },
      { path: "ldap.target", message: "The backup directory is not set: fill it in first" },
    ],
  });
  assert.match(html, /<a href="#f-ldap-target-url">Backup directory: URL: required<\/a>/);
  assert.match(
    html,
    /<a href="#f-ldap-target-url">The backup directory is not set: fill it in first<\/a>/,
  );
});

Deno.test("test buttons submit the same form to the test routes", () => {
  const buttons = (html: string) =>
    [...html.matchAll(/<button type="submit" class="quiet" formaction="([^"]+)">/g)].map((m) =>
      m[1].replaceAll("&amp;", "&")
    );
  assert.deepEqual(buttons(page("source")), ["/admin/settings/source/test"]);
  assert.deepEqual(buttons(page("target")), ["/admin/settings/target/test"]);
  assert.deepEqual(buttons(page("ldap")), [
    "/admin/settings/ldap/test?side=source",
    "/admin/settings/ldap/test?side=target",
  ]);
  assert.deepEqual(buttons(page("smtp")), ["/admin/settings/smtp/test"]);
  assert.deepEqual(buttons(page("schedule")), []);
  assert.match(page("source", { draft: { _mailbox: "4021" } }), /name="_mailbox" value="4021"/);
  assert.match(page("target"), /<label for="f-_mailbox">Sample mailbox to impersonate<\/label>/);
  assert.match(page("smtp"), /<label for="f-_to">Send a test message to<\/label>/);
  // Save comes first, so Enter in a field saves rather than tests.
  const html = page("ldap");
  assert.ok(html.indexOf(">Save</button>") < html.indexOf("formaction="));
});

Deno.test("test results list each step with a word, not only a colour", () => {
  const html = page("source", {
    tests: [{
      label: "Production MSS",
      result: {
        ok: false,
        server: "10.0.0.5:993",
        steps: [
          { step: "Connect", ok: true, detail: "TLS 1.3" },
          { step: "Log in", ok: false, detail: "AUTHENTICATIONFAILED" },
          { step: "Open INBOX", ok: false, detail: "", skipped: true },
        ],
      },
    }],
  });
  assert.match(html, /Production MSS: <span aria-hidden="true">✗<\/span> failed/);
  assert.match(html, /✓<\/span> <strong>Connect<\/strong> <span class="state">\(passed\)<\/span>/);
  assert.match(html, /✗<\/span> <strong>Log in<\/strong> <span class="state">\(failed\)<\/span>/);
  assert.match(html, /AUTHENTICATIONFAILED/);
  assert.match(html, /<strong>Open INBOX<\/strong> <span class="state">\(skipped\)<\/span>/);
});

Deno.test("target page offers both kinds with a type select; a fixed type shows one", () => {
  const html = page("target");
  assert.match(html, /<legend>Backup MSS \(IMAP\)<\/legend>/);
  assert.match(html, /<legend>File store<\/legend>/);
  assert.match(control(html, "f-target-type"), /<select/);
  assert.match(html, /<option value="imap" selected>/);
  // The other kind's fields show their defaults, ready for a switch.
  assert.match(control(html, "f-target-createRoot"), /checked/);
  assert.match(html, /<option value="remove" selected>/);
  const files = settingsView({
    fileRaw: { target: { type: "files", root: "/srv" } },
    stored: {},
    file: "/c",
  });
  const fixed = renderPage(
    <SettingsSectionPage section="target" view={files} viewer={viewer} csrf="c" timeZone="UTC" />,
  );
  assert.doesNotMatch(fixed, /Backup MSS \(IMAP\)<\/legend>/);
  assert.match(control(fixed, "f-target-type"), /disabled/);
  assert.match(control(fixed, "f-target-root"), /disabled/);
});

Deno.test("broadcast rules show one row per rule and two empty ones", () => {
  const html = page("rules", {
    errors: [{ path: "rules.broadcast.0.pattern", message: "is not a valid regular expression" }],
  });
  assert.match(control(html, "f-rules-broadcast-0-header"), /value="X-Broadcast"/);
  assert.match(control(html, "f-rules-broadcast-0-pattern"), /aria-invalid="true"/);
  assert.match(html, /Rule 1 pattern: is not a valid regular expression/);
  assert.doesNotMatch(control(html, "f-rules-broadcast-2-header"), /value="/);
  assert.doesNotMatch(html, /f-rules-broadcast-3-header/);
  assert.match(html, /<legend>New rule 2<\/legend>/);
});

Deno.test("general page names the time zone; a save is confirmed", () => {
  const html = page("general", { saved: { restartNeeded: false, changes: 2 } });
  assert.match(html, /Times are shown in Europe\/Berlin \(CES?T\)/);
  assert.match(html, /<p class="ok" role="status">Saved: 2 changes.<\/p>/);
  const restart = page("portal", { saved: { restartNeeded: true, changes: 1 } });
  assert.match(restart, /takes effect after a restart/);
  assert.match(restart, /<form method="post" action="\/admin\/restart">/);
  assert.match(page("nope"), /There is no settings section &quot;nope&quot;/);
});

Deno.test("overview summarizes every section and offers a restart when one is pending", () => {
  const html = renderPage(
    <SettingsOverview view={view} viewer={viewer} csrf="csrf-token-1" restartPending />,
  );
  for (const s of SETTINGS_SECTIONS) {
    assert.match(html, new RegExp(`href="/admin/settings/${s.id}"`));
  }
  assert.match(html, /IMAP 10\.0\.0\.5:993 as &quot;vm&quot;/);
  assert.match(html, /IMAP backup 10\.0\.0\.6:143/);
  assert.match(html, /1 broadcast rule</);
  assert.match(
    html,
    /<form method="post" action="\/admin\/restart"><input type="hidden" name="_csrf" value="csrf-token-1"\/>/,
  );
  const quiet = renderPage(<SettingsOverview view={view} viewer={viewer} csrf="c" />);
  assert.doesNotMatch(quiet, /\/admin\/restart/);
  for (const secret of SECRETS) assert.ok(!html.includes(secret));
});
