/**
 * The portal's icon (a voicemail tape symbol), as a string so every build ships it.
 * @module
 */

/** SVG served at /static/icon.svg. */
export const ICON_SVG =
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#0b4fb3"/><circle cx="10" cy="17" r="5" fill="none" stroke="#fff" stroke-width="2.5"/><circle cx="22" cy="17" r="5" fill="none" stroke="#fff" stroke-width="2.5"/><path d="M10 22h12" stroke="#fff" stroke-width="2.5"/></svg>`;
