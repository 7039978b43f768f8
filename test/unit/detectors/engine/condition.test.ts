import { describe, expect, it } from 'vitest';
import {
  type ConditionContext,
  compileCondition,
  requiredOperations,
} from '../../../../detectors/engine/condition.js';
import type { Condition } from '../../../../detectors/engine/rule.js';
import { normalizeCloudTrail } from '../../../../detectors/normalizers/cloudtrail.js';
import { loadFixture } from '../../../helpers/fixtures.js';

const context: ConditionContext = {
  lists: { readers: ['ListBuckets', 'GetObject'] },
  macros: { success: { field: 'status', equals: 'Success' }, loop: { macro: 'loop' } },
  predicates: { alwaysTrue: () => true },
};
const event = normalizeCloudTrail(
  loadFixture('cloudtrail/get-object.data-event.json', {
    requestParameters: { maxKeys: 250, tags: ['a', 'b'] },
  }),
);
const matches = (condition: Condition) => compileCondition(condition, context)(event);

describe('condition operators', () => {
  it.each<[string, Condition, boolean]>([
    ['equals', { field: 'api.operation', equals: 'GetObject' }, true],
    ['equals is case-sensitive', { field: 'api.operation', equals: 'getobject' }, false],
    ['equals with nocase', { field: 'api.operation', equals: 'getobject', nocase: true }, true],
    ['equals a list', { field: 'api.operation', equals: ['PutObject', 'GetObject'] }, true],
    ['one_of', { field: 'cloud.region', one_of: ['eu-west-1', 'us-east-1'] }, true],
    ['in_list', { field: 'api.operation', in_list: 'readers' }, true],
    ['contains', { field: 'user_agent', contains: 'Python/' }, true],
    ['startswith', { field: 'actor.user.uid', startswith: 'arn:aws:iam::111122223333:' }, true],
    ['endswith', { field: 'actor.user.uid', endswith: '/bob' }, false],
    ['regex', { field: 'raw.requestParameters.key', regex: '^\\d{4}/\\d{2}/' }, true],
    ['cidr v4', { field: 'src_endpoint.ip', cidr: '198.51.100.0/24' }, true],
    ['cidr outside', { field: 'src_endpoint.ip', cidr: ['10.0.0.0/8', '2001:db8::/32'] }, false],
    ['exists', { field: 'actor.user.credential_uid', exists: true }, true],
    ['exists false', { field: 'api.response.error', exists: false }, true],
    ['gt', { field: 'raw.requestParameters.maxKeys', gt: 100 }, true],
    ['lte', { field: 'raw.requestParameters.maxKeys', lte: 100 }, false],
    [
      'numbers compare as strings for equals',
      { field: 'raw.requestParameters.maxKeys', equals: '250' },
      true,
    ],
    ['arrays fan out', { field: 'resources.type', equals: 'AWS::S3::Bucket' }, true],
    ['array of scalars', { field: 'raw.requestParameters.tags', equals: 'b' }, true],
    ['missing field never matches', { field: 'raw.nothing.here', equals: 'x' }, false],
  ])('%s', (_name, condition, expected) => {
    expect(matches(condition)).toBe(expected);
  });

  it('combines with all / any / not, macros and predicates', () => {
    expect(matches({ all: [{ macro: 'success' }, { predicate: 'alwaysTrue' }] })).toBe(true);
    expect(matches({ any: [{ field: 'status', equals: 'Failure' }, { not: { macro: 'success' } }] })).toBe(
      false,
    );
  });

  it.each<[string, Condition, RegExp]>([
    ['unknown macro', { macro: 'nope' }, /unknown macro "nope"/],
    ['macro cycle', { macro: 'loop' }, /macro cycle: loop → loop/],
    ['unknown list', { field: 'x', in_list: 'nope' }, /unknown list "nope"/],
    ['unknown predicate', { predicate: 'nope' }, /unknown predicate/],
    ['bad regex', { field: 'x', regex: '(' }, /bad regex/],
    ['bad cidr', { field: 'x', cidr: '10.0.0.0' }, /bad CIDR/],
    ['two operators', { field: 'x', equals: 'a', contains: 'b' }, /exactly one operator/],
  ])('rejects %s at compile time', (_name, condition, message) => {
    expect(() => compileCondition(condition, context)).toThrow(message);
  });
});

describe('requiredOperations (the operation index)', () => {
  it('finds the narrowest operation set of an all', () => {
    const ops = requiredOperations(
      {
        all: [
          { field: 'api.operation', one_of: ['A', 'B', 'C'] },
          { field: 'api.operation', equals: 'B' },
        ],
      },
      context,
    );
    expect([...(ops ?? [])]).toEqual(['B']);
  });

  it('unions an any only when every branch is pinned', () => {
    expect(
      requiredOperations({ any: [{ field: 'api.operation', equals: 'A' }, { macro: 'success' }] }, context),
    ).toBeUndefined();
    const ops = requiredOperations(
      {
        any: [
          { field: 'api.operation', equals: 'A' },
          { field: 'api.operation', in_list: 'readers' },
        ],
      },
      context,
    );
    expect([...(ops ?? [])].sort()).toEqual(['A', 'GetObject', 'ListBuckets']);
  });

  it('does not index a case-insensitive match', () => {
    expect(
      requiredOperations({ field: 'api.operation', equals: 'a', nocase: true }, context),
    ).toBeUndefined();
  });
});
