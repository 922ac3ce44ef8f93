/**
 * The run filter of `history list --filter` and GET /runs?filter=: MLflow's search syntax, which
 * its users know, with `or`, `not` and parentheses besides `and`:
 *   params.lr = 0.01 and metrics.val_acc > 0.9 and tags.team = 'vision' and attributes.status = 'completed'
 * Parsed by a grammar (peggy), whose errors say where and what was expected; the sort key of
 * `--sort "KEY [asc|desc]"` takes the same keys.
 */
import type peggy from 'peggy';
import { settings } from '../../config';
import { E } from '../protocol';
import type { Filter, SortKey } from '../store/run-query';

// Names: plain (letters, digits, _ - / : .) or quoted in backticks or quotes, for any other name.
// A metric's plain name may end with .min, .max or .last: its aggregate (backticks keep a name
// that itself ends so). Bare attribute names need no "attributes." before them.
const GRAMMAR = String.raw`
{{
  const ATTRIBUTE_NAMES = {
    id: 'id', run_id: 'id', name: 'name', run_name: 'name', experiment: 'experiment', status: 'status',
    starttime: 'startTime', start_time: 'startTime', endtime: 'endTime', end_time: 'endTime', duration: 'duration',
  };
  function metric(raw, quoted, agg) {
    if (quoted) return { kind: 'metric', name: raw, agg: agg ? agg.toLowerCase() : 'last' };
    const m = /^(.*)\.(min|max|last)$/i.exec(raw);
    return m && m[1] ? { kind: 'metric', name: m[1], agg: m[2].toLowerCase() } : { kind: 'metric', name: raw, agg: 'last' };
  }
  function group(op, head, tail) {
    return tail.length === 0 ? head : { op, args: [head, ...tail] };
  }
}}

Filter = _ f:Or _ { return f; }
SortKey = _ field:Field dir:(__ @Direction)? _ { return { field, descending: dir === 'desc' }; }
Direction "asc or desc" = d:("asc"i / "desc"i) { return d.toLowerCase(); }

Or = head:And tail:(__ "or"i End _ @And)* { return group('or', head, tail); }
And = head:Not tail:(__ "and"i End _ @Not)* { return group('and', head, tail); }
Not = "not"i End _ arg:Not { return { op: 'not', arg }; } / Primary
Primary = "(" _ f:Or _ ")" { return f; } / Condition

Condition
  = field:Field __ neg:("not"i End _)? "in"i End _ "(" _ values:Values _ ")" { return { op: 'in', field, values, negated: neg !== null }; }
  / field:Field __ neg:("not"i End _)? like:("ilike"i / "like"i) End _ pattern:String { return { op: 'like', field, pattern, caseInsensitive: like.toLowerCase() === 'ilike', negated: neg !== null }; }
  / field:Field _ cmp:Comparison _ value:Value { return { op: 'compare', field, cmp, value }; }

Comparison "an operator (= != < <= > >= LIKE ILIKE IN)"
  = "<=" / ">=" / "!=" / "<>" { return '!='; } / "==" { return '='; } / "=" / "<" / ">"

Field "a key (params.NAME, metrics.NAME, tags.NAME or an attribute)"
  = "params."i name:Name { return { kind: 'param', name }; }
  / "tags."i name:Name { return { kind: 'tag', name }; }
  / "metrics."i q:Quoted agg:("." @("min"i / "max"i / "last"i))? { return metric(q, true, agg); }
  / "metrics."i raw:Plain { return metric(raw, false); }
  / "attributes."i a:Attribute { return a; }
  / Attribute

Attribute "an attribute (id, name, experiment, status, startTime, endTime, duration)"
  = a:$[A-Za-z_]+ &{ return Object.prototype.hasOwnProperty.call(ATTRIBUTE_NAMES, a.toLowerCase()); } { return { kind: 'attribute', name: ATTRIBUTE_NAMES[a.toLowerCase()] }; }

Name = Quoted / Plain
Plain "a name" = $[A-Za-z0-9_\-/:.]+
Quoted "a quoted name" = "${'`'}" s:$[^${'`'}]* "${'`'}" { return s; } / String

Values = head:Value tail:(_ "," _ @Value)* { return [head, ...tail]; }
Value "a value (a number, a 'string', true or false)"
  = Number / String / "true"i End { return true; } / "false"i End { return false; }
Number = n:$("-"? [0-9]+ ("." [0-9]+)? ([eE] [+-]? [0-9]+)?) End { return Number(n); }
String "a quoted string"
  = "'" s:(@$[^'\\]+ / "\\" @.)* "'" { return s.join(''); }
  / '"' s:(@$[^"\\]+ / "\\" @.)* '"' { return s.join(''); }

End = ![A-Za-z0-9_]
_ = [ \t\r\n]*
__ = [ \t\r\n]+
`;

// Made on first use: loading peggy and building the parser take ~50 ms, which every local-mode
// CLI command would otherwise pay, filter or not.
let built: peggy.Parser | undefined;
function parser(): peggy.Parser {
  built ??= (require('peggy') as typeof peggy).generate(GRAMMAR, { allowedStartRules: ['Filter', 'SortKey'] });
  return built;
}

/** The filter of an expression; a 400 naming where it went wrong and what was expected there. */
export function parseRunFilter(text: string): Filter {
  return parse(text, 'Filter', 'filter') as Filter;
}

/** "KEY [asc|desc]", KEY as in a filter; ascending unless said (as SQL's ORDER BY). */
export function parseSortKey(text: string): SortKey {
  return parse(text, 'SortKey', 'sort') as SortKey;
}

function parse(text: string, startRule: 'Filter' | 'SortKey', what: 'filter' | 'sort'): unknown {
  const { maxFilterChars, maxFilterDepth } = settings.limits;
  if (text.length > maxFilterChars) throw E.badFilter(what, text, 0, `it is ${text.length} characters, over the limit of ${maxFilterChars} (limits.maxFilterChars)`);
  // The grammar recurses on nesting: a depth past the limit is refused before it is parsed.
  const depth = nesting(text);
  if (depth.depth > maxFilterDepth) {
    throw E.badFilter(what, text, depth.at, `it nests ${depth.depth} deep (parentheses and "not"), over the limit of ${maxFilterDepth} (limits.maxFilterDepth)`);
  }
  try {
    return parser().parse(text, { startRule });
  } catch (err) {
    if (!(err instanceof parser().SyntaxError)) throw err;
    const e = err as peggy.parser.SyntaxError;
    const found = e.found === null ? 'the end' : `"${e.found}"`;
    const expected = describeExpected(e.expected);
    throw E.badFilter(what, text, e.location.start.offset, `expected ${expected} but found ${found}`);
  }
}

/** peggy's expectations in words: the named rules, else the literal tokens. */
function describeExpected(expected: peggy.parser.Expectation[] | null): string {
  const words = new Set<string>();
  for (const x of expected ?? []) {
    if (x.type === 'other') words.add(x.description);
    else if (x.type === 'literal') words.add(`"${x.text}"`);
    else if (x.type === 'end') words.add('the end');
  }
  const list = [...words];
  if (list.length <= 1) return list[0] ?? 'something else';
  return `${list.slice(0, -1).join(', ')} or ${list[list.length - 1]}`;
}

/**
 * The deepest nesting, outside strings, and where it is reached: open parentheses, plus the `not`s
 * in a row before a condition (`not not x` nests as `not (not x)`).
 */
function nesting(text: string): { depth: number; at: number } {
  let parens = 0;
  let nots = 0;
  let max = { depth: 0, at: 0 };
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') {
      quote = c;
      nots = 0;
    } else if (c === '(') parens++;
    else if (c === ')') parens = Math.max(0, parens - 1);
    else if (/^not(?![A-Za-z0-9_])/i.test(text.slice(i, i + 4)) && !/[A-Za-z0-9_.]/.test(text[i - 1] ?? ' ')) {
      nots++;
      i += 2;
    } else if (!/\s/.test(c)) nots = 0;
    if (parens + nots > max.depth) max = { depth: parens + nots, at: i };
  }
  return max;
}
