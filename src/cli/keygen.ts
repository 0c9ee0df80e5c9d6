import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { Ed25519SigningKey, HmacSigningKey } from '../integrity/keys.js';
import { generateSealKeyPair } from '../privacy/seal.js';
import { EXIT, type CliContext } from './main.js';

/** One field of a generated key: how it is printed, and whether it is secret. */
interface KeyField {
  /** JSON output name. */
  name: string;
  value: string;
  /** Environment variable the package reads it from, if any (see the README's config table). */
  env?: string;
  secret: boolean;
}

/** A generated key: its fields, and the files `--out` writes (secret files get mode 0600). */
interface GeneratedKey {
  alg: string;
  kid: string;
  fields: KeyField[];
  files: Array<{ name: string; content: string; secret: boolean; env?: string }>;
}

function ed25519(): GeneratedKey {
  const key = new Ed25519SigningKey(generateKeyPairSync('ed25519').privateKey);
  const seed = key.seed().toString('base64url');
  const publicKey = key.publicKey.toString('base64url');
  return {
    alg: key.alg,
    kid: key.kid,
    fields: [
      { name: 'publicKey', value: publicKey, secret: false },
      { name: 'seed', value: seed, env: 'NIS2_SIGNING_KEY', secret: true },
      { name: 'secretKey', value: key.tweetnaclSecretKey().toString('base64'), secret: true },
    ],
    // The same file the package writes when it generates a key itself (signing.keyDir).
    files: [
      { name: 'signing-key', content: `${seed}\n`, secret: true, env: 'NIS2_SIGNING_KEY_FILE' },
      { name: 'signing-key.pub', content: `${publicKey}\n`, secret: false },
    ],
  };
}

function hmac(): GeneratedKey {
  const bytes = randomBytes(32);
  const key = new HmacSigningKey(bytes);
  const text = bytes.toString('base64');
  return {
    alg: key.alg,
    kid: key.kid,
    fields: [{ name: 'key', value: text, env: 'NIS2_HMAC_KEY', secret: true }],
    files: [{ name: 'hmac-key', content: `${text}\n`, secret: true }],
  };
}

/**
 * The investigator's X25519 key pair for sealed PII: the public half goes into the app's config
 * (NIS2_PII_PUBLIC_KEY), the private half stays with whoever runs `nis2-otel decrypt`, never on
 * the app's servers. Raw 32-byte halves, as libsodium's crypto_box_keypair and PyNaCl hold them.
 */
function x25519(): GeneratedKey {
  const pair = generateSealKeyPair();
  const publicKey = pair.publicKey.toString('base64url');
  const privateKey = pair.privateKey.toString('base64url');
  return {
    alg: 'X25519',
    kid: pair.kid,
    fields: [
      { name: 'publicKey', value: publicKey, env: 'NIS2_PII_PUBLIC_KEY', secret: false },
      { name: 'privateKey', value: privateKey, secret: true },
    ],
    files: [
      { name: 'pii-key', content: `${privateKey}\n`, secret: true },
      { name: 'pii-key.pub', content: `${publicKey}\n`, secret: false },
    ],
  };
}

// One generator per key kind; a new kind is one entry and one flag.
const KINDS = { ed25519, hmac, x25519 } as const;

interface KeygenFlags {
  out?: string;
  format: 'json' | 'env';
  hmac?: boolean;
  encryption?: boolean;
}

function printable(key: GeneratedKey, written: Array<{ name: string; path: string; env?: string }> | undefined, format: 'json' | 'env'): string {
  // With --out the secret went to a 0600 file: stdout only gets what may be shared.
  const fields = written ? key.fields.filter((f) => !f.secret) : key.fields;
  if (format === 'json') {
    const doc: Record<string, unknown> = { alg: key.alg, kid: key.kid };
    for (const f of fields) doc[f.name] = f.value;
    if (written) doc['files'] = Object.fromEntries(written.map((w) => [w.name, w.path]));
    return `${JSON.stringify(doc, null, 2)}\n`;
  }
  const lines = [`# nis2-otel ${key.alg} key, kid ${key.kid}`];
  for (const f of fields) {
    if (f.env) lines.push(`${f.env}=${f.value}`);
    else lines.push(`# ${f.name}: ${f.value}`);
  }
  for (const w of written ?? []) {
    if (w.env) lines.push(`${w.env}=${w.path}`);
    else lines.push(`# ${w.name}: ${w.path}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Registers `nis2-otel keygen`. */
export function registerKeygen(program: Command, ctx: CliContext): void {
  program
    .command('keygen')
    .summary('generate an Ed25519 (or HMAC) signing key, or an X25519 key pair for sealed PII')
    .description('Generate a signing key: Ed25519 by default (verifiers need only the public key), or HMAC-SHA256 with --hmac;\n' +
      "or, with --encryption, the investigator's X25519 key pair that sealed PII is encrypted to.")
    .option('--out <dir>', 'write the key to files in <dir> (secret: mode 0600) instead of printing the secret; never overwrites')
    .option('--hmac', 'generate a 32-byte HMAC-SHA256 key instead (only holders of the key can verify)')
    .option('--encryption', "generate the investigator's X25519 key pair for sealed PII instead (public key: NIS2_PII_PUBLIC_KEY; private key: for `nis2-otel decrypt` only)")
    .addOption(new Option('--format <format>', 'output format').choices(['json', 'env']).default('json'))
    .action((flags: KeygenFlags, cmd: Command) => {
      if (flags.hmac && flags.encryption) cmd.error('error: give --hmac or --encryption, not both', { exitCode: EXIT.usage, code: 'nis2.usage' });
      const key = (flags.encryption ? KINDS.x25519 : flags.hmac ? KINDS.hmac : KINDS.ed25519)();
      if (flags.out === undefined) {
        ctx.out(printable(key, undefined, flags.format));
        return;
      }
      const dir = resolve(flags.out);
      const targets = key.files.map((f) => ({ ...f, path: join(dir, f.name) }));
      // Checked for all files first, so a refusal leaves no half-written key pair behind.
      for (const t of targets) {
        if (existsSync(t.path)) cmd.error(`error: refusing to overwrite ${t.path}`, { exitCode: EXIT.usage, code: 'nis2.exists' });
      }
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      for (const t of targets) {
        // 'wx' also closes the race between the check above and the write.
        writeFileSync(t.path, t.content, { mode: t.secret ? 0o600 : 0o644, flag: 'wx' });
      }
      ctx.out(printable(key, targets.map((t) => ({ name: t.name, path: t.path, ...(t.env && { env: t.env }) })), flags.format));
    });
}
