/**
 * Globs for paths and keys: `*` matches within one '/'-separated segment, `**` matches
 * across segments (`/etc/**` covers everything below /etc), `?` one character of a
 * segment. Patterns are compiled once; matching is a regex test or a string compare.
 */
export type GlobMatcher = (value: string) => boolean;

const compiled = new Map<string, GlobMatcher>();
// Patterns come from config and CRDs, not from events, so this cache stays small; the
// bound only guards against a pathological policy.
const MAX_CACHED = 10_000;

/** A matcher for `pattern`; repeated calls with the same pattern share one compilation. */
export function compileGlob(pattern: string): GlobMatcher {
  let m = compiled.get(pattern);
  if (m) return m;
  m = build(pattern);
  if (compiled.size >= MAX_CACHED) compiled.clear();
  compiled.set(pattern, m);
  return m;
}

/** True when `pattern` contains glob syntax (otherwise it only matches itself). */
export function isGlob(pattern: string): boolean {
  return /[*?]/.test(pattern);
}

function build(pattern: string): GlobMatcher {
  if (!isGlob(pattern)) return (v) => v === pattern;
  // The common protected-path shape "/dir/**" is a prefix test, no regex needed.
  if (pattern.endsWith('/**') && !isGlob(pattern.slice(0, -3))) {
    const dir = pattern.slice(0, -3);
    const prefix = `${dir}/`;
    return (v) => v === dir || v.startsWith(prefix);
  }
  const re = new RegExp(`^${toRegexSource(pattern)}$`);
  return (v) => re.test(v);
}

function toRegexSource(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        const segmentStart = i === 1 || pattern[i - 2] === '/';
        if (segmentStart && pattern[i + 1] === '/') {
          // "a/**/b" also matches "a/b": the globstar may stand for zero segments.
          i++;
          out += '(?:.*/)?';
        } else if (segmentStart && i === pattern.length - 1 && out.endsWith('/')) {
          // "a/**" also matches "a" itself.
          out = `${out.slice(0, -1)}(?:/.*)?`;
        } else {
          out += '.*';
        }
      } else {
        out += '[^/]*';
      }
    } else if (c === '?') {
      out += '[^/]';
    } else {
      out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return out;
}
