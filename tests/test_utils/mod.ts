/**
 * The one helper module of the tests (fresh's tests/test_utils habit): scratch folders and ports,
 * lab clients, the two mirror targets as the shared suite sees them, the relay transcript, the
 * fault proxy, the malformed-message corpus, WAV/VPIM builders and the sox reference tools.
 * @module
 */
export * from "./capability_relay.ts";
export * from "./cli.ts";
export * from "./corpus.ts";
export * from "./fault_proxy.ts";
export * from "./lab.ts";
export * from "./sox.ts";
export * from "./targets.ts";
export * from "./temp.ts";
export * from "./transcript.ts";
export * from "./wav.ts";
export * from "./browser.ts";
export * from "./ldap.ts";
