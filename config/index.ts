import { describeValue } from '../src/protocol/describe';
import { E } from '../src/protocol/errors';
import { agentDefaults, AgentSettings } from './agent';
import { clientDefaults, ClientSettings } from './client';
import { limitDefaults, Limits } from './limits';
import { serviceDefaults, serviceMaxima, ServiceSettings } from './service';

export interface Settings {
  limits: Limits;
  agent: AgentSettings;
  service: ServiceSettings;
  client: ClientSettings;
}

export const defaults: Readonly<Settings> = Object.freeze({
  limits: limitDefaults,
  agent: agentDefaults,
  service: serviceDefaults,
  client: clientDefaults,
});

const maxima: Readonly<Record<string, Readonly<Record<string, number | undefined>>>> = { service: serviceMaxima };

/**
 * Defaults, overridden by the JSON in OUTPOST_CONFIG (e.g. '{"agent":{"fileStableMs":100}}').
 * Unknown sections or keys, and values of the wrong type, are refused by name.
 */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const raw = env.OUTPOST_CONFIG;
  if (!raw) return defaults as Settings;
  let overrides: unknown;
  try {
    overrides = JSON.parse(raw);
  } catch (err) {
    throw E.config(` is not valid JSON: ${(err as Error).message}`);
  }
  if (!isPlainObject(overrides)) throw E.config(' must be a JSON object');
  const out: Record<string, Record<string, unknown>> = {};
  for (const [section, base] of Object.entries(defaults)) out[section] = { ...base };
  for (const [section, values] of Object.entries(overrides)) {
    // Own keys only: "__proto__" or "toString" would otherwise be found on the prototype.
    const base = Object.hasOwn(out, section) ? out[section] : undefined;
    if (!base) throw E.config(`: unknown section "${section}" (known: ${Object.keys(defaults).join(', ')})`);
    if (!isPlainObject(values)) throw E.config(`: section "${section}" must be an object`);
    for (const [key, value] of Object.entries(values)) {
      if (!Object.hasOwn(base, key)) throw E.config(`: unknown setting "${section}.${key}"`);
      if (typeof value !== typeof base[key]) throw E.config(`: "${section}.${key}" must be a ${typeof base[key]}, got ${describeValue(value)}`);
      // Every number here is a size, a count or a time: a negative one is a mistake, not a setting.
      if (typeof value === 'number' && !(Number.isFinite(value) && value >= 0)) throw E.config(`: "${section}.${key}" must be a number >= 0, got ${value}`);
      const max = maxima[section]?.[key];
      if (typeof value === 'number' && max !== undefined && value > max) throw E.config(`: "${section}.${key}" must be at most ${max}, got ${value}`);
      base[key] = value;
    }
  }
  return Object.freeze(out) as unknown as Settings;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export const settings: Settings = loadSettings();
