// Every shipped pipeline file passes `<collector> validate` together with base.yaml, alone and
// composed (one collector fanning out to several SIEMs), with the distribution it is meant for.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SUITE_TIMEOUT_MS } from './helpers/net.ts';
import { validateConfigs, type Distribution } from './helpers/collector.ts';

const ENV: Record<string, string> = {
  SPLUNK_HEC_ENDPOINT: 'https://127.0.0.1:8088/services/collector',
  SPLUNK_HEC_TOKEN: '00000000-0000-0000-0000-000000000000',
  QRADAR_SYSLOG_HOST: '127.0.0.1',
  CEF_SYSLOG_HOST: '127.0.0.1',
  ELASTIC_ENDPOINT: 'https://127.0.0.1:9200',
  ELASTIC_API_KEY: 'key',
  SUMOLOGIC_ENDPOINT: 'https://127.0.0.1:8443/receiver/v1/http/token',
  OTLP_ENDPOINT: 'https://127.0.0.1:4318',
  NIS2_COLLECTOR_STORAGE_DIR: '/tmp',
};

const cases: [Distribution, string[]][] = [
  ['main', ['splunk.yaml']],
  ['main', ['qradar.yaml']],
  ['main', ['cef.yaml']],
  ['main', ['sumologic.yaml']],
  ['main', ['otlphttp.yaml']],
  ['main', ['splunk.yaml', 'qradar.yaml', 'cef.yaml', 'sumologic.yaml', 'otlphttp.yaml']],
  ['elastic', ['elastic.yaml']],
  ['elastic', ['elastic.yaml', 'otlphttp.yaml']],
];

describe('collector validate', { timeout: SUITE_TIMEOUT_MS }, () => {
  for (const [dist, files] of cases) {
    it(`${dist}: base.yaml + ${files.join(' + ')}`, () => {
      assert.doesNotThrow(() => validateConfigs(files, ENV, dist));
    });
  }

  it('rejects a pipeline file whose required endpoint is missing', () => {
    const env = { ...ENV, SPLUNK_HEC_ENDPOINT: '' };
    assert.throws(() => validateConfigs(['splunk.yaml'], env, 'main'));
  });
});
