/** What a route declares about its body, read by the hooks that every request passes (fastify route `config`). */
export const JSON_TYPE = 'application/json';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Content types its body may have; any other is a 415. Default: application/json. */
    accepts?: readonly string[];
    /** The setting that bounds its body, named when a body is over it. Default: limits.maxRequestBodyBytes. */
    bodyLimitSetting?: string;
    /** Its body may come gzipped (Content-Encoding: gzip). */
    gzip?: boolean;
    /** Its body streams to disk (an artifact upload): idle and rate limits instead of a whole-body deadline. */
    upload?: boolean;
    /** Parts of its JSON body the route judges itself, so the Unicode walk skips them ("*": any key or index). */
    ownChecks?: readonly (readonly string[])[];
  }
}
