import { judgeAnswer, signWebhook, webhookBody, webhookHeaders } from './webhook-delivery.util';

describe('webhook signature', () => {
  it('is sha256= and the hex HMAC-SHA256 of "<timestamp>.<body>"', () => {
    // Computed independently: printf '1764100000.{"a":1}' | openssl dgst -sha256 -hmac 'whsec_test-secret-0123'
    expect(signWebhook('whsec_test-secret-0123', 1_764_100_000, '{"a":1}')).toBe('sha256=0ab7d395d52dc0b4eda113aa8e3118451faa72be0d0d0cd46f4a7c19e690f58f');
    expect(signWebhook('whsec_test-secret-0123', 1_764_100_001, '{"a":1}')).not.toBe(signWebhook('whsec_test-secret-0123', 1_764_100_000, '{"a":1}'));
  });

  it('heads every delivery with the event, the delivery id, the timestamp and the signature', () => {
    const delivery = { id: '6f1c0d1e-8a63-4a4e-9d3b-0f4e3f0a9b11', event: 'run.failed', createdAt: new Date('2026-11-25T20:00:00.000Z'), payload: { runId: 'r' } };
    const body = webhookBody(delivery);
    expect(JSON.parse(body)).toEqual({ id: delivery.id, event: 'run.failed', createdAt: '2026-11-25T20:00:00.000Z', data: { runId: 'r' } });
    expect(webhookHeaders(delivery, 'secret-secret-secret', 1_764_100_000, body)).toEqual({
      'content-type': 'application/json',
      'user-agent': 'berth-webhooks/1',
      'x-berth-event': 'run.failed',
      'x-berth-delivery': delivery.id,
      'x-berth-timestamp': '1764100000',
      'x-berth-signature': signWebhook('secret-secret-secret', 1_764_100_000, body),
    });
  });
});

describe('judgeAnswer', () => {
  it.each([200, 201, 204, 299])('%p delivers', (statusCode) => {
    expect(judgeAnswer({ statusCode }, false)).toEqual({ status: 'delivered', statusCode, error: null, verdict: { outcome: 'done' } });
  });

  it.each([400, 401, 403, 404, 410, 422])('%p fails at once, without retry', (statusCode) => {
    expect(judgeAnswer({ statusCode }, false)).toMatchObject({ status: 'failed', statusCode, error: `HTTP ${statusCode}`, verdict: { outcome: 'give-up' } });
  });

  it.each([408, 429, 500, 502, 503, 301])('%p is retried, and fails on the last attempt', (statusCode) => {
    expect(judgeAnswer({ statusCode }, false)).toEqual({ status: 'pending', statusCode, error: `HTTP ${statusCode}`, verdict: { outcome: 'retry', reason: `HTTP ${statusCode}` } });
    expect(judgeAnswer({ statusCode }, true)).toMatchObject({ status: 'failed', statusCode, verdict: { outcome: 'give-up' } });
  });

  it('retries when there is no answer', () => {
    expect(judgeAnswer({ error: 'no answer within 10000 ms' }, false)).toEqual({ status: 'pending', statusCode: null, error: 'no answer within 10000 ms', verdict: { outcome: 'retry', reason: 'no answer within 10000 ms' } });
    expect(judgeAnswer({ error: 'fetch failed: connect ECONNREFUSED 127.0.0.1:9' }, true).status).toBe('failed');
  });
});
