/** The appliance's version, shown by `vmirror version` and the portal. */
export const VERSION = "0.1.0";
