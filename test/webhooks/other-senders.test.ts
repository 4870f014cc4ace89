import { describe, expect, it } from 'vitest';
import { verifyGitHub, verifySlack } from '../../functions/webhooks/other-senders.ts';
import { WebhookVerificationError } from '../../functions/webhooks/standard-webhooks.ts';

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookVerificationError);
    return (error as WebhookVerificationError).reason;
  }
  return 'passed';
}

// Published in GitHub's "Validating webhook deliveries".
const GITHUB = {
  secret: "It's a Secret to Everybody",
  payload: 'Hello, World!',
  header: 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
};

describe('GitHub X-Hub-Signature-256', () => {
  const headers = { 'X-Hub-Signature-256': GITHUB.header, 'X-GitHub-Delivery': 'd-1' };

  it('verifies the published vector and returns the delivery id', () => {
    expect(verifyGitHub({ secrets: [GITHUB.secret], headers, payload: GITHUB.payload })).toEqual({
      id: 'd-1',
    });
    expect(
      verifyGitHub({ secrets: ['old', GITHUB.secret], headers, payload: Buffer.from(GITHUB.payload) }),
    ).toEqual({ id: 'd-1' });
  });

  it('rejects with specific reasons', () => {
    expect(reason(() => verifyGitHub({ secrets: [GITHUB.secret], headers, payload: 'Hello, World?' }))).toBe(
      'no-matching-signature',
    );
    expect(reason(() => verifyGitHub({ secrets: ['wrong'], headers, payload: GITHUB.payload }))).toBe(
      'no-matching-signature',
    );
    expect(
      reason(() => verifyGitHub({ secrets: [GITHUB.secret], headers: {}, payload: GITHUB.payload })),
    ).toBe('missing-headers');
    const sha1 = { 'x-hub-signature-256': 'sha1=abc' };
    expect(
      reason(() => verifyGitHub({ secrets: [GITHUB.secret], headers: sha1, payload: GITHUB.payload })),
    ).toBe('malformed-signature');
    expect(reason(() => verifyGitHub({ secrets: [], headers, payload: GITHUB.payload }))).toBe(
      'invalid-secret',
    );
  });
});

// Slack's documented example, as used in the official SDK's tests.
const SLACK = {
  secret: '8f742231b10e8888abcd99yyyzzz85a5',
  timestamp: '1531420618',
  body: 'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
  signature: 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
};

describe('Slack X-Slack-Signature', () => {
  const headers = { 'x-slack-signature': SLACK.signature, 'x-slack-request-timestamp': SLACK.timestamp };
  const at = (offset: number) => new Date((Number(SLACK.timestamp) + offset) * 1000);

  it('verifies the documented example', () => {
    expect(verifySlack({ secrets: [SLACK.secret], headers, payload: SLACK.body, now: at(0) })).toEqual({
      timestamp: 1531420618,
    });
  });

  it('enforces the 5-minute window and the body', () => {
    expect(
      reason(() => verifySlack({ secrets: [SLACK.secret], headers, payload: SLACK.body, now: at(300) })),
    ).toBe('passed');
    expect(
      reason(() => verifySlack({ secrets: [SLACK.secret], headers, payload: SLACK.body, now: at(301) })),
    ).toBe('timestamp-too-old');
    expect(
      reason(() => verifySlack({ secrets: [SLACK.secret], headers, payload: SLACK.body, now: at(-301) })),
    ).toBe('timestamp-in-future');
    expect(
      reason(() => verifySlack({ secrets: [SLACK.secret], headers, payload: `${SLACK.body}x`, now: at(0) })),
    ).toBe('no-matching-signature');
    const bad = { ...headers, 'x-slack-signature': 'v1=zz' };
    expect(
      reason(() => verifySlack({ secrets: [SLACK.secret], headers: bad, payload: SLACK.body, now: at(0) })),
    ).toBe('malformed-signature');
    expect(reason(() => verifySlack({ secrets: [SLACK.secret], headers: {}, payload: SLACK.body }))).toBe(
      'missing-headers',
    );
  });
});
