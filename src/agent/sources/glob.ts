/**
 * The globs of the file sources' settings ("**\/events.out.tfevents.*", "**\/*.csv,**\/training.log"):
 * comma-separated, matched against paths relative to outputs/ ('/'-separated). `**` is any number
 * of folders, `*` any characters but '/', `?` one such character, `{a,b}` either. Written here:
 * the agent matches each file event against them, and no glob matcher is among its dependencies.
 */

/** The globs of a setting; an empty setting matches nothing (the source is off). */
export function globList(setting: string): string[] {
  return splitTop(setting).map((g) => g.trim()).filter((g) => g.length > 0);
}

export function globMatcher(setting: string): (rel: string) => boolean {
  const res = globList(setting).map(globToRegExp);
  return (rel) => res.some((re) => re.test(rel));
}

export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      // "**/" is zero or more folders; a trailing "**" is anything.
      if (glob[i + 2] === '/') {
        re += '(?:[^/]*/)*';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '{') {
      const close = glob.indexOf('}', i);
      if (close === -1) re += '\\{';
      else {
        re += `(?:${glob.slice(i + 1, close).split(',').map((alt) => globToRegExp(alt).source.slice(1, -1)).join('|')})`;
        i = close;
      }
    } else re += c.replace(/[.+^$()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Splits at commas outside braces. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '{') depth++;
    else if (s[i] === '}') depth = Math.max(0, depth - 1);
    else if (s[i] === ',' && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}
