import { describe, expect, it } from 'vitest';
import {
  formatExpires,
  javaUrlEncode,
  type Params,
  parseExpires,
  signParams,
  signRequest,
  stringToSign,
} from '../../../functions/providers/exoscale-v1/auth.ts';

// Every published vector (Exoscale's API page, exoscale/cs tests.py, apache/libcloud tests).
describe('exoscale-v1 signing: published vectors', () => {
  it('the seed example from the API page', () => {
    const params: Params = [
      ['command', 'deployVirtualMachine'],
      ['serviceofferingid', '21624abb-764e-4def-81d7-9fc54b5957fb'],
      ['templateid', '54c83a5e-c548-4d91-8b14-5cf2d4c081ee'],
      ['zoneid', '1128bd56-b4d9-4ac6-a7b9-c715b187ce11'],
      ['apikey', 'miVr6X7u6bN_sdahOBpjNejPgEsT35eXqjB8CG20'],
    ];
    expect(stringToSign(params)).toBe(
      'apikey=mivr6x7u6bn_sdahobpjnejpgest35exqjb8cg20&command=deployvirtualmachine&serviceofferingid=21624abb-764e-4def-81d7-9fc54b5957fb&templateid=54c83a5e-c548-4d91-8b14-5cf2d4c081ee&zoneid=1128bd56-b4d9-4ac6-a7b9-c715b187ce11',
    );
    const signature = signParams(params, 'VDaACYb0LV9eNjTetIOElcVQkvJck_J_QljX');
    expect(signature).toBe('ahlpA6J1Fq6OYI1HFrMSGgBt0WY=');
    expect(encodeURIComponent(signature)).toBe('ahlpA6J1Fq6OYI1HFrMSGgBt0WY%3D');
  });

  const cs = (extra: Params): Params => [['apiKey', 'foo'], ['response', 'json'], ...extra];
  const csCases: Array<[string, Params, string]> = [
    [
      'listall=true',
      cs([
        ['command', 'listVirtualMachines'],
        ['listall', 'true'],
      ]),
      'B0d6hBsZTcFVCiioSxzwKA9Pke8=',
    ],
    [
      'mixed-case names sort case-sensitively',
      cs([
        ['command', 'listVirtualMachines'],
        ['zoneId', '2'],
        ['templateId', '3'],
        ['temPlateidd', '4'],
        ['pageSize', '10'],
        ['page', '1'],
      ]),
      'mMS7XALuGkCXk7kj5SywySku0Z0=',
    ],
    [
      'unicode value',
      cs([
        ['command', 'listVirtualMachines'],
        ['listall', '1'],
        ['unicode_param', 'éèààû'],
      ]),
      'gABU/KFJKD3FLAgKDuxQoryu4sA=',
    ],
    [
      'brackets in names, comma in a value',
      cs([
        ['command', 'listVirtualMachines'],
        ['foo', 'foo,bar'],
        ['bar[0].baz', 'blah'],
        ['bar[0].foo', '1000'],
        ['bytes_param', 'blah'],
      ]),
      'ImJ/5F0P2RDL7yn4LdLnGcEx5WE=',
    ],
    [
      'scaleVirtualMachine with details',
      cs([
        ['command', 'scaleVirtualMachine'],
        ['id', 'a'],
        ['details[0].cpunumber', '1000'],
        ['details[0].memory', '640k'],
      ]),
      'ZNl66z3gFhnsx2Eo3vvCIM0kAgI=',
    ],
    [
      'empty values are kept',
      cs([
        ['command', 'createNetwork'],
        ['name', ''],
        ['display_text', ''],
      ]),
      'CistTEiPt/4Rv1v4qSyILvPbhmg=',
    ],
    [
      'the POST case',
      cs([
        ['command', 'listVirtualMachines'],
        ['blah', 'brah'],
      ]),
      '58VvLSaVUqHnG9DhXNOAiDFwBoA=',
    ],
  ];
  for (const [name, params, expected] of csCases) {
    it(`cs tests.py: ${name}`, () => {
      expect(signParams(params, 'bar')).toBe(expected);
    });
  }

  it('cs: the mixed-case order is the server order', () => {
    expect(stringToSign(csCases[1]![1])).toContain(
      'page=1&pagesize=10&response=json&templateidd=4&templateid=3&zoneid=2',
    );
  });

  const lc = (extra: Params): Params => [['apiKey', 'fnord'], ['response', 'json'], ...extra];
  const deploy = (displayname: string): Params =>
    lc([
      ['command', 'deployVirtualMachine'],
      ['name', 'fred'],
      ['displayname', displayname],
      ['serviceofferingid', '5'],
      ['templateid', '17'],
      ['zoneid', '23'],
      ['networkids', '42'],
    ]);
  it('libcloud: listVirtualMachines', () => {
    expect(signParams(lc([['command', 'listVirtualMachines']]), 'abracadabra')).toBe(
      'z/a9Y7J52u48VpqIgiwaGUMCso0=',
    );
  });
  it('libcloud: deployVirtualMachine', () => {
    expect(signParams(deploy('George'), 'abracadabra')).toBe('gHTo7mYmadZ+zluKHzlEKb1i/QU=');
  });
  it('libcloud: a + in a value is encoded (george%2bringo)', () => {
    expect(stringToSign(deploy('George+Ringo'))).toContain('displayname=george%2bringo');
    expect(signParams(deploy('George+Ringo'), 'abracadabra')).toBe('tAgfrreI1ZvWlWLClD3gu4+aKv4=');
  });
});

describe('exoscale-v1 signing: encoding and expiry', () => {
  it('encodes like Java URLEncoder with + → %20', () => {
    expect(javaUrlEncode('a b*c.d-e_f')).toBe('a%20b*c.d-e_f');
    expect(javaUrlEncode("!~'()/,")).toBe('%21%7E%27%28%29%2F%2C');
  });

  it('ignores an existing signature parameter, whatever its case', () => {
    const params: Params = [
      ['command', 'listZones'],
      ['apikey', 'k'],
    ];
    expect(stringToSign([...params, ['Signature', 'x']])).toBe(stringToSign(params));
  });

  it('adds apikey, signatureversion=3 and expires, and signs them', () => {
    const now = new Date('2024-05-01T10:00:00.000Z');
    const signed = signRequest(
      [
        ['command', 'listZones'],
        ['response', 'json'],
      ],
      { apiKey: 'key', apiSecret: 'secret', now },
    );
    const map = Object.fromEntries(signed);
    expect(map.apikey).toBe('key');
    expect(map.signatureversion).toBe('3');
    expect(map.expires).toBe('2024-05-01T10:10:00+0000');
    const unsigned = signed.filter(([k]) => k !== 'signature');
    expect(map.signature).toBe(signParams(unsigned, 'secret'));
  });

  it('formats and parses expires in the server formats', () => {
    const at = new Date('2024-05-01T10:00:00Z');
    expect(formatExpires(at)).toBe('2024-05-01T10:00:00+0000');
    expect(parseExpires('2024-05-01T10:00:00+0000')?.getTime()).toBe(at.getTime());
    expect(parseExpires('2024-05-01T12:00:00+02:00')?.getTime()).toBe(at.getTime());
    expect(parseExpires('2024-05-01T10:00:00Z')?.getTime()).toBe(at.getTime());
    expect(parseExpires('yesterday')).toBeUndefined();
  });
});
