import { readFileSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { fromBase64Any } from '../integrity/encoding.js';
import { HmacSigningKey, KeyFormatError, type Ed25519VerifyingKey, type VerifyingKey } from '../integrity/keys.js';
import { parseEd25519PublicKey } from '../integrity/verify.js';
import { EXIT } from './main.js';

/** The flags every command that checks envelopes takes, with the same meaning everywhere. */
export interface KeyFlags {
  publicKey: string[];
  hmacKey?: string;
  hmacKeyFile?: string;
  hmacKid?: string;
}

/** A usage error: exit 2 with one line naming what was wrong. */
export function usage(cmd: Command, message: string): never {
  cmd.error(`error: ${message}`, { exitCode: EXIT.usage, code: 'nis2.usage' });
}

export function readSmallFile(cmd: Command, flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    usage(cmd, `${flag}: cannot read '${path}' (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** A key given inline (base64/base64url of 32 bytes, or PEM) or as a file holding one. */
export function publicKeyFrom(cmd: Command, value: string): Ed25519VerifyingKey {
  const inline = value.trim().startsWith('-----BEGIN') || fromBase64Any(value)?.length === 32;
  const material = inline ? value : readSmallFile(cmd, '--public-key', value);
  try {
    return parseEd25519PublicKey(material);
  } catch (err) {
    if (err instanceof KeyFormatError) usage(cmd, `--public-key${inline ? '' : ` '${value}'`}: ${err.message}`);
    throw err;
  }
}

/** The HMAC key; error messages name the flag, never the key. */
export function hmacKeyFrom(cmd: Command, flags: KeyFlags): VerifyingKey | undefined {
  if (flags.hmacKey !== undefined && flags.hmacKeyFile !== undefined) usage(cmd, 'give --hmac-key or --hmac-key-file, not both');
  const flag = flags.hmacKey !== undefined ? '--hmac-key' : '--hmac-key-file';
  const text = flags.hmacKey ?? (flags.hmacKeyFile !== undefined ? readSmallFile(cmd, flag, flags.hmacKeyFile) : undefined);
  if (text === undefined) {
    if (flags.hmacKid !== undefined) usage(cmd, '--hmac-kid needs --hmac-key or --hmac-key-file');
    return undefined;
  }
  const bytes = fromBase64Any(text);
  if (!bytes) usage(cmd, `${flag}: not base64`);
  try {
    return new HmacSigningKey(bytes, flags.hmacKid);
  } catch (err) {
    if (err instanceof KeyFormatError) usage(cmd, `${flag}: ${err.message}`);
    throw err;
  }
}

/** Every input must be an existing regular file (exit 2 otherwise, before any work). */
export function checkFiles(cmd: Command, files: readonly string[]): void {
  for (const file of files) {
    let isFile: boolean;
    try {
      isFile = statSync(file).isFile();
    } catch {
      usage(cmd, `no such file: ${file}`);
    }
    if (!isFile) usage(cmd, `not a file: ${file}`);
  }
}
