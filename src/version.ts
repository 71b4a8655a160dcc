import pkg from "../package.json" with { type: "json" };

/** The server's version, `major.minor.revision`, as package.json gives it. */
export const VERSION: string = pkg.version;
