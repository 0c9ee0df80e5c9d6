import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { parseListSource, torSettings } from '../config/keys/tor.js';
import { loadConfig } from '../config/load.js';
import { parseDuration } from '../config/parse-values.js';
import { Nis2Error } from '../errors.js';
import { parseCache as parseCacheText, readCacheSync, writeCacheSync, type CacheMeta } from '../threat-intel/cache.js';
import { IpMatcher } from '../threat-intel/ip-set.js';
import { plausible } from '../threat-intel/parse.js';
import { fetchList, ListFetchError, parseSource, type ListSource, type Validators } from '../threat-intel/source.js';
import { EXIT, type CliContext } from './main.js';

interface UpdateFlags {
  source?: string;
  out?: string;
  timeout: string;
  force?: boolean;
}

function usage(cmd: Command, message: string): never {
  cmd.error(`error: ${message}`, { exitCode: EXIT.usage, code: 'nis2.usage' });
}

/** Source and output from the flags, else from the same configuration `register` reads. */
function resolveTargets(cmd: Command, flags: UpdateFlags): { sourceText: string; source: ListSource; out: string } {
  let settings;
  try {
    settings = torSettings(loadConfig({ env: process.env }));
  } catch (err) {
    if (err instanceof Nis2Error) usage(cmd, err.message);
    throw err;
  }
  let sourceText = settings.source;
  if (flags.source !== undefined) {
    try {
      sourceText = parseListSource(flags.source);
    } catch (err) {
      usage(cmd, `--source: ${(err as Error).message}`);
    }
  }
  const out = flags.out !== undefined ? resolve(flags.out) : settings.cacheFile;
  if (out === undefined) usage(cmd, 'tor.cacheFile is off: give --out <file>');
  const source = parseSource(sourceText);
  if (source.kind === 'file' && source.path === out) usage(cmd, '--source and --out are the same file');
  return { sourceText: source.kind === 'url' ? source.url : source.path, source, out };
}

/** The cache already at `out` and the validators it holds for this source (none with --force). */
function existing(out: string, sourceText: string, force: boolean): { entries: IpMatcher | undefined; validators: Validators } {
  if (!existsSync(out)) return { entries: undefined, validators: {} };
  try {
    const cached = readCacheSync(out);
    if (force || cached.meta?.source !== sourceText) return { entries: undefined, validators: {} };
    return { entries: new IpMatcher(cached.list.entries), validators: { etag: cached.meta.etag, lastModified: cached.meta.lastModified } };
  } catch {
    return { entries: undefined, validators: {} };
  }
}

function describeCounts(m: IpMatcher): string {
  const c = m.counts;
  return `${m.size} entries (${c.ipv4} IPv4, ${c.ipv6} IPv6, ${c.ranges} CIDR blocks)`;
}

/** Registers `nis2-otel update-threat-list`. */
export function registerUpdateThreatList(program: Command, ctx: CliContext): void {
  program
    .command('update-threat-list')
    .summary('fetch the Tor exit list into the cache file the guard starts from')
    .description('Fetch the Tor exit list (bulk or exit-addresses format, IPv4 and IPv6) and write it atomically to the cache file the Tor defense reads at start, so a (re)started app is protected before its first fetch. Conditional: an unchanged list (HTTP 304) only refreshes the cache\'s date. Run it at deploy time or from cron.')
    .option('--source <url|file>', 'where to read the list (default: tor.source from the environment or NIS2_CONFIG_FILE, else the Tor Project\'s bulk exit list)')
    .option('--out <file>', 'the cache file to write (default: tor.cacheFile, else .nis2/tor-exit-list.txt)')
    .option('--timeout <duration>', 'give up fetching after this long', '30s')
    .option('--force', 'fetch the whole list even if the cache says it is current')
    .action(async (flags: UpdateFlags, cmd: Command) => {
      const { sourceText, source, out } = resolveTargets(cmd, flags);
      let timeoutMs: number;
      try {
        timeoutMs = parseDuration(flags.timeout);
      } catch (err) {
        usage(cmd, `--timeout: ${(err as Error).message}`);
      }
      const previous = existing(out, sourceText, flags.force === true);
      let result;
      try {
        result = await fetchList(source, previous.validators, { timeoutMs });
      } catch (err) {
        const reason = err instanceof ListFetchError ? err.message : (err as Error).message;
        ctx.err(`nis2-otel update-threat-list: ${reason}; ${out} left as it was\n`);
        ctx.exitCode = EXIT.failed;
        return;
      }
      if (result.status === 'not-modified') {
        if (previous.entries === undefined) {
          ctx.err(`nis2-otel update-threat-list: ${source.display} answered 304 Not Modified to an unconditional request; ${out} left as it was\n`);
          ctx.exitCode = EXIT.failed;
          return;
        }
        const meta: CacheMeta = { source: sourceText, fetchedAt: Date.now(), etag: previous.validators.etag, lastModified: previous.validators.lastModified };
        writeCacheSync(out, previous.entries.entries, meta);
        ctx.out(`${source.display}: not modified; ${out} confirmed current, ${describeCounts(previous.entries)}\n`);
        return;
      }
      const cached = parseCacheText(result.text);
      const list = cached.list;
      if (!plausible(list)) {
        ctx.err(`nis2-otel update-threat-list: ${source.display} is not an IP list (${list.invalid} invalid lines, ${list.entries.length} entries${list.firstInvalid ? `; line ${list.firstInvalid.line}: ${JSON.stringify(list.firstInvalid.text)}` : ''}); ${out} left as it was\n`);
        ctx.exitCode = EXIT.failed;
        return;
      }
      const matcher = new IpMatcher(list.entries);
      const fetchedAt = source.kind === 'url' ? Date.now() : cached.meta?.fetchedAt ?? statSync(source.path).mtimeMs;
      writeCacheSync(out, matcher.entries, { source: sourceText, fetchedAt, etag: result.validators.etag, lastModified: result.validators.lastModified });
      const skipped = list.invalid > 0 ? `; ${list.invalid} invalid line(s) skipped, the first at line ${list.firstInvalid!.line}: ${JSON.stringify(list.firstInvalid!.text)}` : '';
      ctx.out(`${source.display}: wrote ${describeCounts(matcher)} to ${out}${skipped}\n`);
    });
}
