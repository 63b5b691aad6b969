// Golden-byte codec tests: requests encoded by kafkajs's own encoders decode with ours, and our
// responses decode with kafkajs's own decoders, for every API version the broker advertises.
import { describe, expect, it } from 'vitest';
import { requireKafkajs } from '../testing/helpers.js';
import { ApiKey, SUPPORTED_VERSIONS } from './api-keys.js';
import { encodeApiVersionsResponse } from './api-versions/v2.js';
import { decodeApiVersionsRequestV3, encodeApiVersionsResponseV3 } from './api-versions/v3.js';
import { decodeCreatePartitionsRequest, encodeCreatePartitionsResponse } from './create-partitions/v1.js';
import { decodeDeleteGroupsRequest, encodeDeleteGroupsResponse } from './delete-groups/v1.js';
import { decodeDeleteRecordsRequest, encodeDeleteRecordsResponse } from './delete-records/v1.js';
import { decodeDescribeConfigsRequest, encodeDescribeConfigsResponse } from './describe-configs/v2.js';
import { decodeListOffsetsRequestV0, encodeListOffsetsResponseV0 } from './list-offsets/v0.js';
import { decodeOffsetDeleteRequest, encodeOffsetDeleteResponse } from './offset-delete/v0.js';
import { decodeCreateTopicsRequest, encodeCreateTopicsResponse } from './create-topics/v3.js';
import { decodeDeleteTopicsRequest, encodeDeleteTopicsResponse } from './delete-topics/v1.js';
import { decodeDescribeGroupsRequest, encodeDescribeGroupsResponse } from './describe-groups/v2.js';
import { decodeFetchRequest, encodeFetchResponse } from './fetch/v4.js';
import { decodeFindCoordinatorRequest, encodeFindCoordinatorResponse } from './find-coordinator/v2.js';
import { decodeHeartbeatRequest, encodeHeartbeatResponse } from './heartbeat/v2.js';
import { decodeInitProducerIdRequest, encodeInitProducerIdResponse } from './init-producer-id/v1.js';
import { decodeJoinGroupRequest, encodeJoinGroupResponse } from './join-group/v3.js';
import { decodeLeaveGroupRequest, encodeLeaveGroupResponse } from './leave-group/v2.js';
import { encodeListGroupsResponse } from './list-groups/v2.js';
import { decodeListOffsetsRequest, encodeListOffsetsResponse } from './list-offsets/v3.js';
import { decodeMetadataRequest, encodeMetadataResponse } from './metadata/v4.js';
import { decodeOffsetCommitRequest, encodeOffsetCommitResponse } from './offset-commit/v4.js';
import { decodeOffsetFetchRequest, encodeOffsetFetchResponse } from './offset-fetch/v3.js';
import { decodeProduceRequest, encodeProduceResponse } from './produce/v3.js';
import { decodeSyncGroupRequest, encodeSyncGroupResponse } from './sync-group/v2.js';
import { Reader } from './reader.js';
import { setBaseOffset, splitBatches } from './record-batch.js';
import { Writer } from './writer.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- kafkajs's protocol modules are untyped CommonJS */
const kjs = (api: string, version: number, part: 'request' | 'response'): any =>
  requireKafkajs(`kafkajs/src/protocol/requests/${api}/v${version}/${part}`);

/** Body bytes of a request built by kafkajs's encoder, plus its api key/version. */
async function kafkajsRequest(
  api: string,
  version: number,
  args: unknown,
): Promise<{ body: Reader; apiKey: number; apiVersion: number }> {
  const req = kjs(api, version, 'request')(args);
  const encoder = await req.encode();
  return { body: new Reader(encoder.buffer as Buffer), apiKey: req.apiKey, apiVersion: req.apiVersion };
}

function ours(encode: (w: Writer) => void): Buffer {
  const w = new Writer();
  encode(w);
  return w.body();
}

/** The version kafkajs built its request in lies within the range the broker advertises. */
function advertised(apiKey: number, version: number): void {
  const [min, max] = SUPPORTED_VERSIONS.get(apiKey) ?? [Infinity, -Infinity];
  expect(version).toBeGreaterThanOrEqual(min);
  expect(version).toBeLessThanOrEqual(max);
}

describe('golden bytes', () => {
  it('Heartbeat v2 request matches hand-written bytes', async () => {
    const { body, apiKey, apiVersion } = await kafkajsRequest('heartbeat', 2, {
      groupId: 'g',
      groupGenerationId: 1,
      memberId: 'm',
    });
    expect(body.buf.toString('hex')).toBe('0001' + '67' + '00000001' + '0001' + '6d');
    advertised(apiKey, apiVersion);
    expect(decodeHeartbeatRequest(body)).toEqual({ groupId: 'g', generationId: 1, memberId: 'm' });
    expect(
      await kjs('heartbeat', 2, 'response').decode(ours((w) => encodeHeartbeatResponse(w, 27))),
    ).toMatchObject({ errorCode: 27 });
  });

  it('ApiVersions response decodes in v0 and v2', async () => {
    const apiVersions = [[ApiKey.Fetch, 4, 4] as const];
    for (const v of [0, 2]) {
      const res = await kjs('apiVersions', v, 'response').decode(
        ours((w) => encodeApiVersionsResponse(w, v, { errorCode: 0, apiVersions })),
      );
      expect(res).toMatchObject({ errorCode: 0, apiVersions: [{ apiKey: 1, minVersion: 4, maxVersion: 4 }] });
    }
  });

  it('Metadata v4', async () => {
    const { body, apiKey, apiVersion } = await kafkajsRequest('metadata', 4, {
      topics: ['a', 'b'],
      allowAutoTopicCreation: false,
    });
    advertised(apiKey, apiVersion);
    expect(decodeMetadataRequest(body)).toEqual({ topics: ['a', 'b'], allowAutoTopicCreation: false });
    const bytes = ours((w) =>
      encodeMetadataResponse(w, {
        brokers: [{ nodeId: 0, host: 'h', port: 9 }],
        clusterId: 'c',
        controllerId: 0,
        topics: [{ errorCode: 0, name: 'a', partitions: [{ partition: 0, leader: 0 }] }],
      }),
    );
    expect(await kjs('metadata', 4, 'response').decode(bytes)).toMatchObject({
      brokers: [{ nodeId: 0, host: 'h', port: 9, rack: null }],
      clusterId: 'c',
      controllerId: 0,
      topicMetadata: [
        {
          topicErrorCode: 0,
          topic: 'a',
          isInternal: false,
          partitionMetadata: [{ partitionErrorCode: 0, partitionId: 0, leader: 0, replicas: [0], isr: [0] }],
        },
      ],
    });
  });

  it('CreateTopics v3 and DeleteTopics v1', async () => {
    const c = await kafkajsRequest('createTopics', 3, {
      topics: [
        {
          topic: 't',
          numPartitions: 2,
          replicationFactor: 1,
          configEntries: [{ name: 'retention.ms', value: '10' }],
        },
      ],
      validateOnly: true,
      timeout: 100,
    });
    advertised(c.apiKey, c.apiVersion);
    expect(decodeCreateTopicsRequest(c.body)).toEqual({
      topics: [
        {
          name: 't',
          numPartitions: 2,
          replicationFactor: 1,
          assignments: [],
          configs: [{ name: 'retention.ms', value: '10' }],
        },
      ],
      timeoutMs: 100,
      validateOnly: true,
    });
    expect(
      await kjs('createTopics', 3, 'response').decode(
        ours((w) => encodeCreateTopicsResponse(w, [{ name: 't', errorCode: 36, message: 'exists' }])),
      ),
    ).toMatchObject({
      topicErrors: [{ topic: 't', errorCode: 36, errorMessage: 'exists' }],
    });
    const d = await kafkajsRequest('deleteTopics', 1, { topics: ['x'], timeout: 7 });
    advertised(d.apiKey, d.apiVersion);
    expect(decodeDeleteTopicsRequest(d.body)).toEqual({ topics: ['x'], timeoutMs: 7 });
    expect(
      await kjs('deleteTopics', 1, 'response').decode(
        ours((w) => encodeDeleteTopicsResponse(w, [{ name: 'x', errorCode: 3 }])),
      ),
    ).toMatchObject({
      topicErrors: [{ topic: 'x', errorCode: 3 }],
    });
  });

  it('ListOffsets v3', async () => {
    const { body, apiKey, apiVersion } = await kafkajsRequest('listOffsets', 3, {
      replicaId: -1,
      isolationLevel: 1,
      topics: [{ topic: 't', partitions: [{ partition: 1, timestamp: -2 }] }],
    });
    advertised(apiKey, apiVersion);
    expect(decodeListOffsetsRequest(body)).toEqual({
      topics: [{ name: 't', partitions: [{ partition: 1, timestamp: -2 }] }],
    });
    const bytes = ours((w) =>
      encodeListOffsetsResponse(w, {
        topics: [{ name: 't', partitions: [{ partition: 1, errorCode: 0, timestamp: -1, offset: 2 ** 40 }] }],
      }),
    );
    expect(await kjs('listOffsets', 3, 'response').decode(bytes)).toMatchObject({
      responses: [
        {
          topic: 't',
          partitions: [{ partition: 1, errorCode: 0, timestamp: '-1', offset: String(2 ** 40) }],
        },
      ],
    });
  });

  it('Produce v3 batches validate, and Fetch v4 returns them to kafkajs intact', async () => {
    const messages = [
      { key: 'k', value: 'v', headers: { h: 'x' }, timestamp: '1700000000000' },
      { key: null, value: null, timestamp: '1700000000001' },
    ];
    for (const compression of [0, 1]) {
      const { body, apiKey, apiVersion } = await kafkajsRequest('produce', 3, {
        acks: -1,
        timeout: 30,
        compression,
        topicData: [{ topic: 't', partitions: [{ partition: 0, firstSequence: 0, messages }] }],
      });
      advertised(apiKey, apiVersion);
      const req = decodeProduceRequest(body);
      expect(req).toMatchObject({ transactionalId: null, acks: -1, timeoutMs: 30 });
      const records = req.topics[0]?.partitions[0]?.records as Buffer;
      const batches = splitBatches(records);
      if (typeof batches === 'number') throw new Error(`batch rejected with ${batches}`);
      expect(batches).toHaveLength(1);
      expect(batches[0]?.lastOffsetDelta).toBe(1);
      setBaseOffset(batches[0]?.buf as Buffer, 42);
      const fetchBytes = ours((w) =>
        encodeFetchResponse(w, {
          topics: [
            {
              name: 't',
              partitions: [
                { partition: 0, errorCode: 0, highWatermark: 44, batches: [batches[0]?.buf as Buffer] },
              ],
            },
          ],
        }),
      );
      const fetched = await kjs('fetch', 4, 'response').decode(fetchBytes);
      const p = fetched.responses[0].partitions[0];
      expect(p).toMatchObject({ partition: 0, errorCode: 0, highWatermark: '44', lastStableOffset: '44' });
      expect(
        p.messages.map((m: any) => [m.offset, m.key && String(m.key), m.value && String(m.value)]),
      ).toEqual([
        ['42', 'k', 'v'],
        ['43', null, null],
      ]);
    }
    const res = ours((w) =>
      encodeProduceResponse(w, {
        topics: [{ name: 't', partitions: [{ partition: 0, errorCode: 0, baseOffset: 5 }] }],
      }),
    );
    expect(await kjs('produce', 3, 'response').decode(res)).toMatchObject({
      topics: [
        {
          topicName: 't',
          partitions: [{ partition: 0, errorCode: 0, baseOffset: '5', logAppendTime: '-1' }],
        },
      ],
    });
  });

  it('Fetch v4 request', async () => {
    const { body, apiKey, apiVersion } = await kafkajsRequest('fetch', 4, {
      replicaId: -1,
      maxWaitTime: 5000,
      minBytes: 1,
      maxBytes: 1000,
      isolationLevel: 1,
      topics: [{ topic: 't', partitions: [{ partition: 2, fetchOffset: '17', maxBytes: 100 }] }],
    });
    advertised(apiKey, apiVersion);
    expect(decodeFetchRequest(body)).toEqual({
      maxWaitMs: 5000,
      minBytes: 1,
      maxBytes: 1000,
      topics: [{ name: 't', partitions: [{ partition: 2, fetchOffset: 17, maxBytes: 100 }] }],
    });
  });

  it('FindCoordinator v2 and InitProducerId v1', async () => {
    const f = await kafkajsRequest('findCoordinator', 2, { coordinatorKey: 'g', coordinatorType: 0 });
    advertised(f.apiKey, f.apiVersion);
    expect(decodeFindCoordinatorRequest(f.body)).toEqual({ key: 'g', keyType: 0 });
    const res = ours((w) =>
      encodeFindCoordinatorResponse(w, { errorCode: 0, message: null, nodeId: 0, host: 'h', port: 1 }),
    );
    expect(await kjs('findCoordinator', 2, 'response').decode(res)).toMatchObject({
      errorCode: 0,
      coordinator: { nodeId: 0, host: 'h', port: 1 },
    });
    const i = await kafkajsRequest('initProducerId', 1, { transactionalId: null, transactionTimeout: 60 });
    advertised(i.apiKey, i.apiVersion);
    expect(decodeInitProducerIdRequest(i.body)).toEqual({ transactionalId: null, transactionTimeoutMs: 60 });
    const ir = ours((w) =>
      encodeInitProducerIdResponse(w, { errorCode: 0, producerId: 7, producerEpoch: 0 }),
    );
    expect(await kjs('initProducerId', 1, 'response').decode(ir)).toMatchObject({
      errorCode: 0,
      producerId: '7',
      producerEpoch: 0,
    });
  });

  it('JoinGroup v3, SyncGroup v2 and LeaveGroup v2', async () => {
    const meta = Buffer.from([0, 1, 2]);
    const j = await kafkajsRequest('joinGroup', 3, {
      groupId: 'g',
      sessionTimeout: 3000,
      rebalanceTimeout: 6000,
      memberId: '',
      protocolType: 'consumer',
      groupProtocols: [{ name: 'RoundRobinAssigner', metadata: meta }],
    });
    advertised(j.apiKey, j.apiVersion);
    expect(decodeJoinGroupRequest(j.body)).toEqual({
      groupId: 'g',
      sessionTimeoutMs: 3000,
      rebalanceTimeoutMs: 6000,
      memberId: '',
      protocolType: 'consumer',
      protocols: [{ name: 'RoundRobinAssigner', metadata: meta }],
    });
    const jr = ours((w) =>
      encodeJoinGroupResponse(w, {
        errorCode: 0,
        generationId: 3,
        protocol: 'rr',
        leaderId: 'a',
        memberId: 'a',
        members: [{ memberId: 'a', metadata: meta }],
      }),
    );
    expect(await kjs('joinGroup', 3, 'response').decode(jr)).toMatchObject({
      errorCode: 0,
      generationId: 3,
      groupProtocol: 'rr',
      leaderId: 'a',
      memberId: 'a',
      members: [{ memberId: 'a', memberMetadata: meta }],
    });
    const s = await kafkajsRequest('syncGroup', 2, {
      groupId: 'g',
      generationId: 3,
      memberId: 'a',
      groupAssignment: [{ memberId: 'a', memberAssignment: meta }],
    });
    advertised(s.apiKey, s.apiVersion);
    expect(decodeSyncGroupRequest(s.body)).toEqual({
      groupId: 'g',
      generationId: 3,
      memberId: 'a',
      assignments: [{ memberId: 'a', assignment: meta }],
    });
    const l = await kafkajsRequest('leaveGroup', 2, { groupId: 'g', memberId: 'a' });
    advertised(l.apiKey, l.apiVersion);
    expect(decodeLeaveGroupRequest(l.body)).toEqual({ groupId: 'g', memberId: 'a' });
    expect(
      await kjs('leaveGroup', 2, 'response').decode(ours((w) => encodeLeaveGroupResponse(w, 0))),
    ).toMatchObject({ errorCode: 0 });
  });

  it('OffsetCommit v4 and OffsetFetch v3', async () => {
    const c = await kafkajsRequest('offsetCommit', 4, {
      groupId: 'g',
      groupGenerationId: 2,
      memberId: 'm',
      retentionTime: -1,
      topics: [{ topic: 't', partitions: [{ partition: 0, offset: '12' }] }],
    });
    advertised(c.apiKey, c.apiVersion);
    expect(decodeOffsetCommitRequest(c.body)).toEqual({
      groupId: 'g',
      generationId: 2,
      memberId: 'm',
      topics: [{ name: 't', partitions: [{ partition: 0, offset: 12, metadata: null }] }],
    });
    const cr = ours((w) =>
      encodeOffsetCommitResponse(w, {
        topics: [{ name: 't', partitions: [{ partition: 0, errorCode: 22 }] }],
      }),
    );
    expect(await kjs('offsetCommit', 4, 'response').decode(cr)).toMatchObject({
      responses: [{ topic: 't', partitions: [{ partition: 0, errorCode: 22 }] }],
    });
    const f = await kafkajsRequest('offsetFetch', 3, {
      groupId: 'g',
      topics: [{ topic: 't', partitions: [{ partition: 0 }] }],
    });
    advertised(f.apiKey, f.apiVersion);
    expect(decodeOffsetFetchRequest(f.body)).toEqual({
      groupId: 'g',
      topics: [{ name: 't', partitions: [0] }],
    });
    const fr = ours((w) =>
      encodeOffsetFetchResponse(w, {
        errorCode: 0,
        topics: [{ name: 't', partitions: [{ partition: 0, offset: -1, metadata: '', errorCode: 0 }] }],
      }),
    );
    expect(await kjs('offsetFetch', 3, 'response').decode(fr)).toMatchObject({
      errorCode: 0,
      responses: [{ topic: 't', partitions: [{ partition: 0, offset: '-1', metadata: '', errorCode: 0 }] }],
    });
  });

  it('DescribeGroups v2 and ListGroups v2', async () => {
    const d = await kafkajsRequest('describeGroups', 2, { groupIds: ['a', 'b'] });
    advertised(d.apiKey, d.apiVersion);
    expect(decodeDescribeGroupsRequest(d.body)).toEqual(['a', 'b']);
    const m = Buffer.from([9]);
    const dr = ours((w) =>
      encodeDescribeGroupsResponse(w, [
        {
          errorCode: 0,
          groupId: 'a',
          state: 'Stable',
          protocolType: 'consumer',
          protocol: 'rr',
          members: [{ memberId: 'x', clientId: 'c', clientHost: '/h', metadata: m, assignment: m }],
        },
      ]),
    );
    expect(await kjs('describeGroups', 2, 'response').decode(dr)).toMatchObject({
      groups: [
        {
          errorCode: 0,
          groupId: 'a',
          state: 'Stable',
          protocolType: 'consumer',
          protocol: 'rr',
          members: [
            { memberId: 'x', clientId: 'c', clientHost: '/h', memberMetadata: m, memberAssignment: m },
          ],
        },
      ],
    });
    const lr = ours((w) => encodeListGroupsResponse(w, [{ groupId: 'a', protocolType: 'consumer' }]));
    expect(await kjs('listGroups', 2, 'response').decode(lr)).toMatchObject({
      errorCode: 0,
      groups: [{ groupId: 'a', protocolType: 'consumer' }],
    });
  });

  it('rejects truncated and corrupt record batches', () => {
    expect(splitBatches(Buffer.alloc(10))).toBe(2);
    const bad = Buffer.alloc(70);
    bad.writeInt32BE(58, 8);
    bad.writeInt8(2, 16);
    expect(splitBatches(bad)).toBe(2); // CRC mismatch
    bad.writeInt16BE(4, 21); // zstd (snappy and lz4 are stored)
    expect(splitBatches(bad)).toBe(76);
  });
});
/* eslint-enable @typescript-eslint/no-explicit-any */

describe('golden bytes of the versions librdkafka and the Java tools use', () => {
  it('advertises the version ranges of the README table', () => {
    expect(Object.fromEntries([...SUPPORTED_VERSIONS].map(([k, r]) => [k, r.join('-')]))).toEqual({
      0: '0-3',
      1: '4-4',
      2: '0-3',
      3: '0-4',
      8: '2-4',
      9: '1-3',
      10: '0-2',
      11: '0-3',
      12: '0-2',
      13: '0-2',
      14: '0-2',
      15: '0-2',
      16: '0-2',
      18: '0-3',
      19: '0-4',
      20: '0-1',
      21: '0-1',
      22: '0-1',
      32: '0-2',
      37: '0-1',
      42: '0-1',
      47: '0-0',
    });
  });

  it('ApiVersions v3: flexible request and a compact response with tagged fields', () => {
    // As librdkafka 2.0 sends it: compact strings (length + 1) and an empty tag buffer.
    const req = new Reader(
      Buffer.from('0b' + Buffer.from('librdkafka').toString('hex') + '06' + '322e302e32' + '00', 'hex'),
    );
    expect(decodeApiVersionsRequestV3(req)).toEqual({
      clientSoftwareName: 'librdkafka',
      clientSoftwareVersion: '2.0.2',
    });
    expect(req.remaining()).toBe(0);
    const body = ours((w) =>
      encodeApiVersionsResponseV3(w, {
        errorCode: 0,
        apiVersions: [
          [0, 0, 3],
          [18, 0, 3],
        ],
      }),
    );
    expect(body.toString('hex')).toBe(
      '0000' + '03' + '0000' + '0000' + '0003' + '00' + '0012' + '0000' + '0003' + '00' + '00000000' + '00',
    );
  });

  it('Produce v0-v2 requests decode and their responses decode with kafkajs', async () => {
    for (const v of [0, 1, 2]) {
      const { body, apiKey, apiVersion } = await kafkajsRequest('produce', v, {
        acks: 1,
        timeout: 30,
        topicData: [{ topic: 't', partitions: [{ partition: 0, messages: [{ value: 'x' }] }] }],
      });
      advertised(apiKey, apiVersion);
      const req = decodeProduceRequest(body, v);
      expect(req).toMatchObject({ transactionalId: null, acks: 1, timeoutMs: 30 });
      expect(req.topics[0]?.partitions[0]?.partition).toBe(0);
      // Message format v0/v1 is refused per partition (CORRUPT_MESSAGE here: too short for a v2 batch).
      expect(splitBatches(req.topics[0]?.partitions[0]?.records as Buffer)).toBe(2);
      const res = await kjs('produce', v, 'response').decode(
        ours((w) =>
          encodeProduceResponse(
            w,
            { topics: [{ name: 't', partitions: [{ partition: 0, errorCode: 35, baseOffset: -1 }] }] },
            v,
          ),
        ),
      );
      expect(res).toMatchObject({
        topics: [{ topicName: 't', partitions: [{ partition: 0, errorCode: 35 }] }],
      });
    }
  });

  it('ListOffsets v0 (offset lists) and v1-v2', async () => {
    const v0 = await kafkajsRequest('listOffsets', 0, {
      replicaId: -1,
      topics: [{ topic: 't', partitions: [{ partition: 2, timestamp: -1 }] }],
    });
    advertised(v0.apiKey, v0.apiVersion);
    expect(decodeListOffsetsRequestV0(v0.body)).toEqual({
      topics: [{ name: 't', partitions: [{ partition: 2, timestamp: -1 }] }],
    });
    expect(
      await kjs('listOffsets', 0, 'response').decode(
        ours((w) =>
          encodeListOffsetsResponseV0(w, {
            topics: [{ name: 't', partitions: [{ partition: 2, errorCode: 0, timestamp: -1, offset: 7 }] }],
          }),
        ),
      ),
    ).toMatchObject({
      responses: [{ topic: 't', partitions: [{ partition: 2, errorCode: 0, offsets: ['7'] }] }],
    });
    for (const v of [1, 2]) {
      const r = await kafkajsRequest('listOffsets', v, {
        replicaId: -1,
        isolationLevel: 1,
        topics: [{ topic: 't', partitions: [{ partition: 1, timestamp: 5 }] }],
      });
      advertised(r.apiKey, r.apiVersion);
      expect(decodeListOffsetsRequest(r.body, v)).toEqual({
        topics: [{ name: 't', partitions: [{ partition: 1, timestamp: 5 }] }],
      });
      expect(r.body.remaining()).toBe(0);
      const bytes = ours((w) =>
        encodeListOffsetsResponse(
          w,
          { topics: [{ name: 't', partitions: [{ partition: 1, errorCode: 0, timestamp: 5, offset: 3 }] }] },
          v,
        ),
      );
      expect(await kjs('listOffsets', v, 'response').decode(bytes)).toMatchObject({
        responses: [
          { topic: 't', partitions: [{ partition: 1, errorCode: 0, timestamp: '5', offset: '3' }] },
        ],
      });
    }
  });

  it('Metadata v0-v3', async () => {
    for (const v of [0, 1, 2, 3]) {
      const { body, apiKey, apiVersion } = await kafkajsRequest('metadata', v, { topics: ['a'] });
      advertised(apiKey, apiVersion);
      expect(decodeMetadataRequest(body, v)).toEqual({ topics: ['a'], allowAutoTopicCreation: true });
      const bytes = ours((w) =>
        encodeMetadataResponse(
          w,
          {
            brokers: [{ nodeId: 0, host: 'h', port: 9 }],
            clusterId: 'c',
            controllerId: 0,
            topics: [{ errorCode: 0, name: 'a', partitions: [{ partition: 0, leader: 0 }] }],
          },
          v,
        ),
      );
      expect(await kjs('metadata', v, 'response').decode(bytes)).toMatchObject({
        brokers: [{ nodeId: 0, host: 'h', port: 9 }],
        topicMetadata: [
          { topicErrorCode: 0, topic: 'a', partitionMetadata: [{ partitionId: 0, leader: 0 }] },
        ],
      });
    }
    // v0 has no null array: an empty one means every topic.
    const all = await kafkajsRequest('metadata', 0, { topics: [] });
    expect(decodeMetadataRequest(all.body, 0)).toEqual({ topics: null, allowAutoTopicCreation: true });
  });

  it('group APIs at v0-v1: JoinGroup, SyncGroup, Heartbeat, LeaveGroup, FindCoordinator', async () => {
    for (const v of [0, 1, 2]) {
      const j = await kafkajsRequest('joinGroup', v, {
        groupId: 'g',
        sessionTimeout: 6000,
        rebalanceTimeout: 9000,
        memberId: '',
        protocolType: 'consumer',
        groupProtocols: [{ name: 'range', metadata: Buffer.from('m') }],
      });
      advertised(j.apiKey, j.apiVersion);
      expect(decodeJoinGroupRequest(j.body, v)).toMatchObject({
        groupId: 'g',
        sessionTimeoutMs: 6000,
        rebalanceTimeoutMs: v === 0 ? 6000 : 9000,
        protocols: [{ name: 'range', metadata: Buffer.from('m') }],
      });
      const res = {
        errorCode: 0,
        generationId: 3,
        protocol: 'range',
        leaderId: 'l',
        memberId: 'm',
        members: [],
      };
      expect(
        await kjs('joinGroup', v, 'response').decode(ours((w) => encodeJoinGroupResponse(w, res, v))),
      ).toMatchObject({
        generationId: 3,
        groupProtocol: 'range',
        leaderId: 'l',
        memberId: 'm',
      });
    }
    for (const v of [0, 1]) {
      const s = await kafkajsRequest('syncGroup', v, {
        groupId: 'g',
        generationId: 1,
        memberId: 'm',
        groupAssignment: [],
      });
      advertised(s.apiKey, s.apiVersion);
      expect(decodeSyncGroupRequest(s.body)).toMatchObject({ groupId: 'g', generationId: 1, memberId: 'm' });
      expect(
        await kjs('syncGroup', v, 'response').decode(
          ours((w) => encodeSyncGroupResponse(w, { errorCode: 0, assignment: Buffer.from('a') }, v)),
        ),
      ).toMatchObject({ errorCode: 0, memberAssignment: Buffer.from('a') });
      const h = await kafkajsRequest('heartbeat', v, { groupId: 'g', groupGenerationId: 1, memberId: 'm' });
      advertised(h.apiKey, h.apiVersion);
      expect(
        await kjs('heartbeat', v, 'response').decode(ours((w) => encodeHeartbeatResponse(w, 0, v))),
      ).toMatchObject({
        errorCode: 0,
      });
      const l = await kafkajsRequest('leaveGroup', v, { groupId: 'g', memberId: 'm' });
      advertised(l.apiKey, l.apiVersion);
      expect(decodeLeaveGroupRequest(l.body)).toEqual({ groupId: 'g', memberId: 'm' });
      expect(
        await kjs('leaveGroup', v, 'response').decode(ours((w) => encodeLeaveGroupResponse(w, 0, v))),
      ).toMatchObject({
        errorCode: 0,
      });
    }
    for (const v of [0, 1]) {
      const f = await kafkajsRequest('findCoordinator', v, {
        groupId: 'g',
        coordinatorKey: 'g',
        coordinatorType: 0,
      });
      advertised(f.apiKey, f.apiVersion);
      expect(decodeFindCoordinatorRequest(f.body, v)).toEqual({ key: 'g', keyType: 0 });
      expect(
        await kjs('findCoordinator', v, 'response').decode(
          ours((w) =>
            encodeFindCoordinatorResponse(
              w,
              { errorCode: 0, message: null, nodeId: 0, host: 'h', port: 9 },
              v,
            ),
          ),
        ),
      ).toMatchObject({ errorCode: 0, coordinator: { nodeId: 0, host: 'h', port: 9 } });
    }
  });

  it('OffsetCommit v2-v3 and OffsetFetch v1-v2', async () => {
    for (const v of [2, 3]) {
      const c = await kafkajsRequest('offsetCommit', v, {
        groupId: 'g',
        groupGenerationId: 4,
        memberId: 'm',
        retentionTime: -1,
        topics: [{ topic: 't', partitions: [{ partition: 0, offset: '12' }] }],
      });
      advertised(c.apiKey, c.apiVersion);
      expect(decodeOffsetCommitRequest(c.body)).toEqual({
        groupId: 'g',
        generationId: 4,
        memberId: 'm',
        topics: [{ name: 't', partitions: [{ partition: 0, offset: 12, metadata: null }] }],
      });
      expect(
        await kjs('offsetCommit', v, 'response').decode(
          ours((w) =>
            encodeOffsetCommitResponse(
              w,
              { topics: [{ name: 't', partitions: [{ partition: 0, errorCode: 0 }] }] },
              v,
            ),
          ),
        ),
      ).toMatchObject({ responses: [{ topic: 't', partitions: [{ partition: 0, errorCode: 0 }] }] });
    }
    for (const v of [1, 2]) {
      const f = await kafkajsRequest('offsetFetch', v, {
        groupId: 'g',
        topics: [{ topic: 't', partitions: [{ partition: 0 }] }],
      });
      advertised(f.apiKey, f.apiVersion);
      expect(decodeOffsetFetchRequest(f.body)).toEqual({
        groupId: 'g',
        topics: [{ name: 't', partitions: [0] }],
      });
      const bytes = ours((w) =>
        encodeOffsetFetchResponse(
          w,
          {
            errorCode: 0,
            topics: [{ name: 't', partitions: [{ partition: 0, offset: 12, metadata: '', errorCode: 0 }] }],
          },
          v,
        ),
      );
      expect(await kjs('offsetFetch', v, 'response').decode(bytes)).toMatchObject({
        responses: [{ topic: 't', partitions: [{ partition: 0, offset: '12' }] }],
      });
    }
  });

  it('CreateTopics v0-v2, DeleteTopics v0, DescribeGroups v0-v1, ListGroups v0-v1, InitProducerId v0', async () => {
    for (const v of [0, 1, 2]) {
      const c = await kafkajsRequest('createTopics', v, {
        topics: [{ topic: 't', numPartitions: 2, replicationFactor: 1 }],
        validateOnly: true,
        timeout: 100,
      });
      advertised(c.apiKey, c.apiVersion);
      expect(decodeCreateTopicsRequest(c.body, v)).toMatchObject({ timeoutMs: 100, validateOnly: v >= 1 });
      expect(c.body.remaining()).toBe(0);
      expect(
        await kjs('createTopics', v, 'response').decode(
          ours((w) => encodeCreateTopicsResponse(w, [{ name: 't', errorCode: 36, message: 'exists' }], v)),
        ),
      ).toMatchObject({ topicErrors: [{ topic: 't', errorCode: 36 }] });
    }
    const d = await kafkajsRequest('deleteTopics', 0, { topics: ['x'], timeout: 7 });
    advertised(d.apiKey, d.apiVersion);
    expect(decodeDeleteTopicsRequest(d.body)).toEqual({ topics: ['x'], timeoutMs: 7 });
    expect(
      await kjs('deleteTopics', 0, 'response').decode(
        ours((w) => encodeDeleteTopicsResponse(w, [{ name: 'x', errorCode: 3 }], 0)),
      ),
    ).toMatchObject({ topicErrors: [{ topic: 'x', errorCode: 3 }] });
    for (const v of [0, 1]) {
      const g = await kafkajsRequest('describeGroups', v, { groupIds: ['g'] });
      advertised(g.apiKey, g.apiVersion);
      expect(decodeDescribeGroupsRequest(g.body)).toEqual(['g']);
      const group = {
        errorCode: 0,
        groupId: 'g',
        state: 'Empty',
        protocolType: 'consumer',
        protocol: '',
        members: [],
      };
      expect(
        await kjs('describeGroups', v, 'response').decode(
          ours((w) => encodeDescribeGroupsResponse(w, [group], v)),
        ),
      ).toMatchObject({ groups: [{ groupId: 'g', state: 'Empty' }] });
      advertised((await kafkajsRequest('listGroups', v, {})).apiKey, v);
      expect(
        await kjs('listGroups', v, 'response').decode(
          ours((w) => encodeListGroupsResponse(w, [{ groupId: 'g', protocolType: 'consumer' }], v)),
        ),
      ).toMatchObject({ errorCode: 0, groups: [{ groupId: 'g', protocolType: 'consumer' }] });
    }
    const i = await kafkajsRequest('initProducerId', 0, { transactionalId: null, transactionTimeout: 5 });
    advertised(i.apiKey, i.apiVersion);
    expect(decodeInitProducerIdRequest(i.body)).toEqual({ transactionalId: null, transactionTimeoutMs: 5 });
    expect(
      await kjs('initProducerId', 0, 'response').decode(
        ours((w) => encodeInitProducerIdResponse(w, { errorCode: 0, producerId: 9, producerEpoch: 0 })),
      ),
    ).toMatchObject({ errorCode: 0, producerId: '9', producerEpoch: 0 });
  });

  it('DescribeConfigs v0-v2', async () => {
    for (const v of [0, 1, 2]) {
      const r = await kafkajsRequest('describeConfigs', v, {
        resources: [{ type: 2, name: 't', configNames: ['retention.ms'] }],
        includeSynonyms: true,
      });
      advertised(r.apiKey, r.apiVersion);
      expect(decodeDescribeConfigsRequest(r.body, v)).toEqual({
        resources: [{ type: 2, name: 't', keys: ['retention.ms'] }],
        includeSynonyms: v >= 1,
      });
      const bytes = ours((w) =>
        encodeDescribeConfigsResponse(
          w,
          [
            {
              errorCode: 0,
              message: null,
              type: 2,
              name: 't',
              configs: [{ name: 'retention.ms', value: '10', readOnly: false, source: 1, synonyms: [] }],
            },
          ],
          v,
        ),
      );
      expect(await kjs('describeConfigs', v, 'response').decode(bytes)).toMatchObject({
        resources: [
          {
            errorCode: 0,
            resourceType: 2,
            resourceName: 't',
            configEntries: [
              { configName: 'retention.ms', configValue: '10', readOnly: false, isDefault: false },
            ],
          },
        ],
      });
    }
  });

  it('CreatePartitions, DeleteRecords and DeleteGroups v0-v1', async () => {
    for (const v of [0, 1]) {
      const c = await kafkajsRequest('createPartitions', v, {
        topicPartitions: [{ topic: 't', count: 5, assignments: [[0]] }],
        validateOnly: true,
        timeout: 50,
      });
      advertised(c.apiKey, c.apiVersion);
      expect(decodeCreatePartitionsRequest(c.body)).toEqual({
        topics: [{ name: 't', count: 5, assignments: [[0]] }],
        timeoutMs: 50,
        validateOnly: true,
      });
      expect(
        await kjs('createPartitions', v, 'response').decode(
          ours((w) => encodeCreatePartitionsResponse(w, [{ name: 't', errorCode: 37, message: 'no' }])),
        ),
      ).toMatchObject({ topicErrors: [{ topic: 't', errorCode: 37, errorMessage: 'no' }] });

      const d = await kafkajsRequest('deleteRecords', v, {
        topics: [{ topic: 't', partitions: [{ partition: 1, offset: '4' }] }],
        timeout: 50,
      });
      advertised(d.apiKey, d.apiVersion);
      expect(decodeDeleteRecordsRequest(d.body)).toEqual({
        topics: [{ name: 't', partitions: [{ partition: 1, offset: 4 }] }],
        timeoutMs: 50,
      });
      expect(
        // kafkajs's DeleteRecords response module is a factory over the requested topics.
        await kjs(
          'deleteRecords',
          v,
          'response',
        )({ topics: [] }).decode(
          ours((w) =>
            encodeDeleteRecordsResponse(w, {
              topics: [{ name: 't', partitions: [{ partition: 1, lowWatermark: 4, errorCode: 0 }] }],
            }),
          ),
        ),
      ).toMatchObject({
        topics: [{ topic: 't', partitions: [{ partition: 1, lowWatermark: 4n, errorCode: 0 }] }],
      });

      const g = await kafkajsRequest('deleteGroups', v, ['g1', 'g2']);
      advertised(g.apiKey, g.apiVersion);
      expect(decodeDeleteGroupsRequest(g.body)).toEqual(['g1', 'g2']);
      expect(
        await kjs('deleteGroups', v, 'response').decode(
          ours((w) =>
            encodeDeleteGroupsResponse(w, [
              { groupId: 'g1', errorCode: 68 },
              { groupId: 'g2', errorCode: 0 },
            ]),
          ),
        ),
      ).toMatchObject({
        results: [
          { groupId: 'g1', errorCode: 68 },
          { groupId: 'g2', errorCode: 0 },
        ],
      });
    }
  });

  it('OffsetDelete v0 matches hand-written bytes (kafkajs has no OffsetDelete)', () => {
    const req = new Reader(
      Buffer.from('0001' + '67' + '00000001' + '0001' + '74' + '00000002' + '00000000' + '00000003', 'hex'),
    );
    expect(decodeOffsetDeleteRequest(req)).toEqual({
      groupId: 'g',
      topics: [{ name: 't', partitions: [0, 3] }],
    });
    const body = ours((w) =>
      encodeOffsetDeleteResponse(w, {
        errorCode: 0,
        topics: [{ name: 't', partitions: [{ partition: 3, errorCode: 86 }] }],
      }),
    );
    expect(body.toString('hex')).toBe(
      '0000' + '00000000' + '00000001' + '0001' + '74' + '00000001' + '00000003' + '0056',
    );
  });
});
