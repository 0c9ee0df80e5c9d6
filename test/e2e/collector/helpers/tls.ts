// A throw-away self-signed certificate for 127.0.0.1 (openssl CLI), so the syslog tests run the
// shipped TLS-on default with real certificate verification against a CA file.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCert {
  dir: string;
  certFile: string;
  key: Buffer;
  cert: Buffer;
}

export function makeLoopbackCert(): TestCert {
  const dir = mkdtempSync(join(tmpdir(), 'nis2-tls-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 },
  );
  return { dir, certFile, key: readFileSync(keyFile), cert: readFileSync(certFile) };
}
