// Sumo Logic HTTP source mock: POST /receiver/v1/http/<token>, gzip body of newline-separated
// messages (log_format text), metadata in X-Sumo-Category / X-Sumo-Name / X-Sumo-Host.
import { HttpMock, type MockReply, type MockRequest } from './http-base.ts';

export interface SumoMessage {
  line: string;
  category: string | undefined;
  name: string | undefined;
  host: string | undefined;
  client: string | undefined;
}

export class SumoLogicMock extends HttpMock {
  readonly messages: SumoMessage[] = [];
  readonly path: string;

  constructor(port: number, token: string) {
    super(port, (req) => this.handle(req));
    this.path = `/receiver/v1/http/${token}`;
  }

  private handle(req: MockRequest): MockReply {
    if (req.method !== 'POST' || req.url.pathname !== this.path) {
      this.violation(`unexpected ${req.method} ${req.url.pathname}`);
      return { status: 404 };
    }
    const h = (n: string): string | undefined => {
      const v = req.headers[n];
      return Array.isArray(v) ? v[0] : v;
    };
    const text = req.body.toString('utf8');
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    for (const line of lines) {
      if (line === '') this.violation('empty message line');
      this.messages.push({ line, category: h('x-sumo-category'), name: h('x-sumo-name'), host: h('x-sumo-host'), client: h('x-sumo-client') });
    }
    return { status: 200 };
  }
}
