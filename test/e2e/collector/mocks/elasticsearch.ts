// Elasticsearch mock for the elasticsearch exporter: answers the GET / product probe and POST
// /_bulk (NDJSON: action line + source line, newline-terminated, gzip allowed) like an 8.x cluster,
// with the X-Elastic-Product header on every response. Strict: an unknown action or action
// metadata key, a source that is not a JSON object, a missing trailing newline or a wrong API key
// is a violation. "create" with an _id already stored answers 409 version_conflict (per item).
import { HttpMock, type MockReply, type MockRequest } from './http-base.ts';

export interface BulkDoc {
  index: string;
  id: string | undefined;
  op: string;
  source: Record<string, unknown>;
}

const ACTIONS = new Set(['create', 'index']);
const META_KEYS = new Set(['_index', '_id', 'require_data_stream', 'dynamic_templates', 'pipeline', 'require_alias', 'list_executed_pipelines']);

export class ElasticsearchMock extends HttpMock {
  readonly docs: BulkDoc[] = [];
  readonly conflicts: string[] = [];
  private readonly ids = new Set<string>();
  readonly apiKey: string;

  constructor(port: number, apiKey: string) {
    super(port, (req) => this.handle(req), { 'x-elastic-product': 'Elasticsearch' });
    this.apiKey = apiKey;
  }

  private handle(req: MockRequest): MockReply {
    // RFC 9110: the auth scheme is case-insensitive (the Go client writes "APIKey").
    const auth = String(req.headers.authorization ?? '');
    const m = /^(\S+) (.*)$/.exec(auth);
    if (m === null || m[1]?.toLowerCase() !== 'apikey' || m[2] !== this.apiKey) {
      this.violation(`bad Authorization header: ${auth}`);
      return { status: 401, body: JSON.stringify({ error: { type: 'security_exception', reason: 'unable to authenticate' }, status: 401 }) };
    }
    if (req.method === 'GET' && req.url.pathname === '/') {
      return {
        status: 200,
        body: JSON.stringify({
          name: 'mock-node',
          cluster_name: 'nis2-e2e',
          cluster_uuid: 'nis2-e2e-cluster-uuid',
          version: { number: '8.17.0', build_flavor: 'default', build_type: 'docker', lucene_version: '9.12.0', minimum_wire_compatibility_version: '7.17.0', minimum_index_compatibility_version: '7.0.0' },
          tagline: 'You Know, for Search',
        }),
      };
    }
    if (req.method === 'POST' && (req.url.pathname === '/_bulk' || /^\/[^/_][^/]*\/_bulk$/.test(req.url.pathname))) return this.bulk(req);
    if (req.method === 'HEAD' && req.url.pathname === '/') return { status: 200 };
    this.violation(`unexpected ${req.method} ${req.url.pathname}`);
    return { status: 404, body: JSON.stringify({ error: 'not found' }) };
  }

  private bulk(req: MockRequest): MockReply {
    const ct = String(req.headers['content-type'] ?? '');
    if (!/^application\/(x-ndjson|json|vnd\.elasticsearch\+x-ndjson)/.test(ct)) this.violation(`bulk content-type ${ct}`);
    const text = req.body.toString('utf8');
    if (!text.endsWith('\n')) {
      this.violation('bulk body must end with a newline');
      return { status: 400, body: JSON.stringify({ error: { type: 'illegal_argument_exception', reason: 'The bulk request must be terminated by a newline [\\n]' }, status: 400 }) };
    }
    const lines = text.slice(0, -1).split('\n');
    if (lines.length % 2 !== 0) {
      this.violation(`bulk body has ${lines.length} lines (action/source pairs expected)`);
      return { status: 400, body: JSON.stringify({ error: { type: 'illegal_argument_exception', reason: 'Malformed action/metadata line' }, status: 400 }) };
    }
    const defaultIndex = /^\/([^/]+)\/_bulk$/.exec(req.url.pathname)?.[1];
    const items: unknown[] = [];
    let errors = false;
    const accepted: BulkDoc[] = [];
    for (let i = 0; i < lines.length; i += 2) {
      const action = JSON.parse(lines[i] ?? '') as Record<string, Record<string, unknown>>;
      const ops = Object.keys(action);
      const op = ops[0] ?? '';
      if (ops.length !== 1 || !ACTIONS.has(op)) {
        this.violation(`bad bulk action ${lines[i]}`);
        return { status: 400, body: JSON.stringify({ error: { type: 'illegal_argument_exception', reason: `Malformed action/metadata line [${i + 1}]` }, status: 400 }) };
      }
      const meta = action[op] ?? {};
      for (const k of Object.keys(meta)) if (!META_KEYS.has(k)) this.violation(`unknown bulk action metadata ${k}`);
      const index = (meta._index as string | undefined) ?? defaultIndex;
      if (index === undefined || index === '') this.violation('bulk action without _index');
      let source: unknown;
      try {
        source = JSON.parse(lines[i + 1] ?? '');
      } catch {
        this.violation(`bulk source line ${i + 2} is not JSON`);
      }
      if (typeof source !== 'object' || source === null || Array.isArray(source)) {
        this.violation(`bulk source line ${i + 2} is not a JSON object`);
        items.push({ [op]: { _index: index, status: 400, error: { type: 'document_parsing_exception', reason: 'not an object' } } });
        errors = true;
        continue;
      }
      const id = meta._id as string | undefined;
      const idKey = `${index}/${id}`;
      if (op === 'create' && id !== undefined && this.ids.has(idKey)) {
        this.conflicts.push(idKey);
        errors = true;
        items.push({
          create: {
            _index: index,
            _id: id,
            status: 409,
            error: { type: 'version_conflict_engine_exception', reason: `[${id}]: version conflict, document already exists (current version [1])`, index },
          },
        });
        continue;
      }
      if (id !== undefined) this.ids.add(idKey);
      accepted.push({ index: index ?? '', id, op, source: source as Record<string, unknown> });
      items.push({
        [op]: { _index: index, _id: id ?? `auto-${this.docs.length + accepted.length}`, _version: 1, result: 'created', _shards: { total: 1, successful: 1, failed: 0 }, _seq_no: this.docs.length + accepted.length, _primary_term: 1, status: 201 },
      });
    }
    this.docs.push(...accepted);
    return { status: 200, body: JSON.stringify({ took: 3, errors, items }) };
  }
}
