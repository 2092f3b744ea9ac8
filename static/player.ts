/**
 * The subscriber pages' one client script, as a string (embedded like the style sheet). Pages
 * work without it: a list's play control is a link to the message's player. With it, the
 * control plays the recording in the list itself, and only one recording plays at a time —
 * starting one pauses any other, in the list and on a message's page.
 * @module
 */

/** The script served at /static/player.js. */
export const PLAYER_JS = `"use strict";
(() => {
  // Starting any player pauses the others ("play" does not bubble: listen while capturing).
  document.addEventListener("play", (e) => {
    for (const a of document.querySelectorAll("audio")) {
      if (a !== e.target && !a.paused) a.pause();
    }
  }, true);

  let current = null;
  const show = (link, playing) => {
    link.setAttribute("aria-pressed", String(playing));
    const word = link.querySelector(".play-word");
    if (word) word.textContent = playing ? "Pause" : "Play";
    const icon = link.querySelector(".play-icon");
    if (icon) icon.textContent = playing ? "\u275a\u275a" : "\u25b6";
    link.classList.toggle("playing", playing);
  };
  const stop = () => {
    if (!current) return;
    current.audio.pause();
    current.audio.remove();
    show(current.link, false);
    current = null;
  };
  const start = (link) => {
    stop();
    const audio = document.createElement("audio");
    audio.controls = true;
    audio.preload = "auto";
    audio.className = "row-player";
    audio.src = link.dataset.audio;
    audio.setAttribute("aria-label", link.textContent.replace(/\\s+/g, " ").trim());
    link.after(audio);
    audio.addEventListener("play", () => show(link, true));
    audio.addEventListener("pause", () => show(link, false));
    // The portal marks a played message heard; the row says so without a reload.
    audio.addEventListener("playing", () => {
      const row = link.closest("li.msg");
      if (!row) return;
      row.classList.remove("unread");
      row.querySelectorAll(".badge.new").forEach((b) => b.remove());
    }, { once: true });
    current = { link, audio };
    audio.play().catch(() => show(link, false));
  };

  for (const link of document.querySelectorAll("a.play[data-audio]")) {
    link.setAttribute("role", "button");
    link.setAttribute("aria-pressed", "false");
  }
  document.addEventListener("click", (e) => {
    const link = e.target instanceof Element ? e.target.closest("a.play[data-audio]") : null;
    // A modified click opens the message page (a new tab, a download) as links do.
    if (!link || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    if (current && current.link === link) {
      if (current.audio.paused) current.audio.play().catch(() => {});
      else current.audio.pause();
      return;
    }
    start(link);
  });
  // A button answers the space bar too; a link by itself only Enter.
  document.addEventListener("keydown", (e) => {
    const t = e.target;
    if (e.key === " " && t instanceof Element && t.matches("a.play[role=button]")) {
      e.preventDefault();
      t.click();
    }
  });
})();
`;
