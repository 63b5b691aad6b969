// Golden-byte codec tests: requests encoded by kafkajs's own encoders decode with ours, and our
// responses decode with kafkajs's own decoders, for every API version the broker advertises.
import { describe, expect, it } from 'vitest';
import { requireKafkajs } from '../testing/helpers.js';
import { ApiKey, SUPPORTED_VERSIONS } from './api-keys.js';
import { encodeApiVersionsResponse } from './api-versions/v2.js';
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
import { decodeSyncGroupRequest } from './sync-group/v2.js';
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

function advertised(apiKey: number, version: number): void {
  expect(SUPPORTED_VERSIONS.get(apiKey)).toEqual([version, version]);
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
    bad.writeInt16BE(2, 21); // snappy
    expect(splitBatches(bad)).toBe(76);
  });
});
/* eslint-enable @typescript-eslint/no-explicit-any */
