/// <reference lib="dom" />
/**
 * What the browser tests share: Debian's Chromium (installed on first use) with the flags this
 * closed network needs, the page sizes screenshots are taken at, the real appliance as a child
 * process (`vmirror serve`) whose output the test reads, and pressing a form's button.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";

const MAIN = fileURLToPath(new URL("../../main.ts", import.meta.url));

/** Chromium's flags: no sandbox as root, and none of its own network traffic. */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

/** The desktop and phone sizes every page's screenshots are taken at. */
export const DESKTOP = { width: 1280, height: 900 };
/** See {@link DESKTOP}. */
export const PHONE = { width: 390, height: 844 };

/** Runs a shell command line; its trimmed stdout. */
export async function sh(cmd: string): Promise<{ ok: boolean; out: string }> {
  const r = await new Deno.Command("sh", { args: ["-c", cmd], stdout: "piped", stderr: "piped" })
    .output();
  return { ok: r.success, out: new TextDecoder().decode(r.stdout).trim() };
}

/** Debian's chromium, installed on first use when this machine lacks it. */
export async function chromiumPath(): Promise<string> {
  let found = await sh("command -v chromium");
  if (!found.ok) {
    const install = await sh(
      "DEBIAN_FRONTEND=noninteractive apt-get update -q && " +
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium",
    );
    assert.ok(install.ok, "chromium is missing and could not be installed with apt-get");
    found = await sh("command -v chromium");
  }
  assert.ok(found.ok && found.out, "chromium not found");
  return found.out;
}

/** Presses a button and waits for the page it leads to. */
export async function press(page: Page, name: string): Promise<void> {
  await Promise.all([
    page.waitForNavigation(),
    page.getByRole("button", { name, exact: true }).click(),
  ]);
}

/** `vmirror serve <args>` in a child process, its output kept for the test to read. */
export class Appliance {
  readonly lines: string[] = [];
  readonly #child: Deno.ChildProcess;
  readonly #drained: Promise<unknown>;

  /** Starts it; nothing leaks in from the caller's environment. */
  constructor(args: string[]) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "serve", ...args],
      env: { NO_COLOR: "1", VMIRROR_CONFIG: "", VMIRROR_DATA: "" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // Both pipes are read to the end so the child never blocks on a full pipe.
    this.#drained = Promise.all([this.#read(this.#child.stderr), this.#read(this.#child.stdout)]);
  }

  async #read(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let rest = "";
    for await (const chunk of stream) {
      rest += decoder.decode(chunk, { stream: true });
      const parts = rest.split("\n");
      rest = parts.pop()!;
      this.lines.push(...parts);
    }
    if (rest) this.lines.push(rest);
  }

  /** The first captured group of the first line matching `re`, waiting up to `ms`. */
  async waitFor(re: RegExp, ms = 60_000): Promise<string> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      for (const l of this.lines) {
        const m = re.exec(l);
        if (m) return m[1] ?? m[0];
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`serve did not say ${re} within ${ms} ms:\n${this.tail()}`);
  }

  /** The last lines it wrote, for failure messages. */
  tail(n = 30): string {
    return this.lines.slice(-n).join("\n");
  }

  /** SIGTERM, then SIGKILL if it lingers; waits for the exit and the pipes' end. */
  async stop(): Promise<Deno.CommandStatus> {
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // Gone in the meantime.
      }
    }, 15_000);
    try {
      const status = await this.#child.status;
      await this.#drained;
      return status;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Desktop and phone screenshots of pages into one folder, noting pages wider than a phone. */
export class Screenshots {
  /** Names of the pages shot, in order. */
  readonly shots: string[] = [];
  /** "name: Npx" for each page that scrolled sideways at phone width. */
  readonly overflows: string[] = [];

  /** Shoots into `dir`. */
  constructor(readonly dir: string) {}

  /** Shoots what the page shows now at both sizes (`name.png`, `name-phone.png`). */
  async shoot(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: join(this.dir, `${name}.png`), fullPage: true });
    await page.setViewportSize(PHONE);
    await page.screenshot({ path: join(this.dir, `${name}-phone.png`), fullPage: true });
    const over = await page.locator("html").evaluate((html) => html.scrollWidth - html.clientWidth);
    if (over > 0) this.overflows.push(`${name}: ${over}px`);
    await page.setViewportSize(DESKTOP);
    this.shots.push(name);
  }
}

/**
 * Runs in the page: every element with words of its own whose colour has less than 4.5:1
 * contrast with the background it is drawn on (WCAG AA), as "selector: ratio" lines.
 */
export function lowContrastTexts(): string[] {
  const rgb = (c: string) => {
    const m = /rgba?\(([\d.]+), ([\d.]+), ([\d.]+)(?:, ([\d.]+))?\)/.exec(c);
    return m ? { v: [+m[1], +m[2], +m[3]], a: m[4] === undefined ? 1 : +m[4] } : null;
  };
  const lum = (v: number[]) => {
    const [r, g, b] = v.map((x) => x / 255).map((x) =>
      x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4
    );
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const background = (el: Element | null): number[] => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0.5) return c.v;
    }
    return [255, 255, 255];
  };
  const out: string[] = [];
  for (const el of document.querySelectorAll("body *")) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent!.trim());
    const box = el.getBoundingClientRect();
    if (!own || box.width < 2 || box.height < 2 || el.closest(".sr, .skip")) continue;
    const fg = rgb(getComputedStyle(el).color)!.v;
    const [a, b] = [lum(fg), lum(background(el))].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    if (ratio < 4.5) out.push(`${el.tagName.toLowerCase()}.${el.className}: ${ratio.toFixed(2)}`);
  }
  return out;
}
