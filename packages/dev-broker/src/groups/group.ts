// Owns one consumer group's membership state machine: joins, syncs, heartbeats, leaves, session expiry.
/*
 * States as in Kafka's GroupCoordinator:
 *   Empty --join--> PreparingRebalance --all known members rejoined, or rebalance timeout-->
 *   CompletingRebalance --leader's SyncGroup--> Stable
 * Any join of a new member, leave, session expiry or metadata change in CompletingRebalance/Stable
 * goes back to PreparingRebalance. There, members learn of the rebalance through their heartbeat
 * (REBALANCE_IN_PROGRESS) and rejoin; the generation completes when every known member has rejoined,
 * or when the largest rebalance timeout expires, evicting the members that did not rejoin.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ErrorCode } from '../protocol/errors.js';
import type { JoinGroupRequest, JoinGroupResponse } from '../protocol/join-group/v3.js';
import type { SyncGroupRequest, SyncGroupResponse } from '../protocol/sync-group/v2.js';

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable';

export interface Member {
  id: string;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocols: Array<{ name: string; metadata: Buffer }>;
  assignment: Buffer;
  joinWaiter: ((res: JoinGroupResponse) => void) | null;
  syncWaiter: ((res: SyncGroupResponse) => void) | null;
  sessionTimer: NodeJS.Timeout | null;
}

export interface GroupOptions {
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  /** Extra wait before the first generation of an empty group, so simultaneous starters join one. */
  initialRebalanceDelayMs: number;
  logger: Logger;
}

const EMPTY = Buffer.alloc(0);

function joinError(errorCode: number, memberId: string): JoinGroupResponse {
  return { errorCode, generationId: -1, protocol: '', leaderId: '', memberId, members: [] };
}

export class Group {
  state: GroupState = 'Empty';
  generation = 0;
  protocolType = '';
  protocol = '';
  leaderId = '';
  readonly members = new Map<string, Member>();
  private rebalanceTimer: NodeJS.Timeout | null = null;
  private delayTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly id: string,
    private readonly opts: GroupOptions,
  ) {}

  join(
    req: JoinGroupRequest,
    clientId: string,
    clientHost: string,
  ): Promise<JoinGroupResponse> | JoinGroupResponse {
    const { minSessionTimeoutMs: min, maxSessionTimeoutMs: max } = this.opts;
    if (req.sessionTimeoutMs < min || req.sessionTimeoutMs > max) {
      return joinError(ErrorCode.INVALID_SESSION_TIMEOUT, req.memberId);
    }
    if (!this.compatible(req)) return joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, req.memberId);

    let member: Member | undefined;
    if (req.memberId === '') {
      member = {
        id: `${clientId}-${randomUUID()}`,
        clientId,
        clientHost,
        sessionTimeoutMs: req.sessionTimeoutMs,
        rebalanceTimeoutMs: req.rebalanceTimeoutMs,
        protocols: req.protocols,
        assignment: EMPTY,
        joinWaiter: null,
        syncWaiter: null,
        sessionTimer: null,
      };
      if (this.members.size === 0) this.protocolType = req.protocolType;
      this.members.set(member.id, member);
      this.opts.logger.debug({ group: this.id, member: member.id }, 'new member joining');
      return this.awaitJoin(member, `member ${member.id} joined`);
    }

    member = this.members.get(req.memberId);
    if (!member) return joinError(ErrorCode.UNKNOWN_MEMBER_ID, req.memberId);
    const changed = !sameProtocols(member.protocols, req.protocols);
    member.protocols = req.protocols;
    member.sessionTimeoutMs = req.sessionTimeoutMs;
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    if (this.state === 'PreparingRebalance') return this.awaitJoin(member, '');
    // A rejoin with unchanged metadata after the generation formed gets that generation again, as in
    // Kafka; the leader rejoining (or changed metadata) means the assignment must be redone.
    if (changed || (this.state === 'Stable' && member.id === this.leaderId)) {
      return this.awaitJoin(member, `member ${member.id} rejoined with new metadata`);
    }
    this.touch(member);
    return this.joinResponse(member);
  }

  private compatible(req: JoinGroupRequest): boolean {
    if (req.protocolType === '' || req.protocols.length === 0) return false;
    if (this.members.size === 0) return true;
    if (req.protocolType !== this.protocolType) return false;
    return req.protocols.some((p) => this.everyOtherSupports(p.name, req.memberId));
  }

  private everyOtherSupports(name: string, except: string): boolean {
    for (const m of this.members.values()) {
      if (m.id !== except && !m.protocols.some((p) => p.name === name)) return false;
    }
    return true;
  }

  private awaitJoin(member: Member, reason: string): Promise<JoinGroupResponse> {
    return new Promise((resolve) => {
      // A duplicate JoinGroup supersedes the earlier one, which can only be answered with an error.
      member.joinWaiter?.(joinError(ErrorCode.REBALANCE_IN_PROGRESS, member.id));
      member.joinWaiter = resolve;
      if (this.state !== 'PreparingRebalance') this.prepareRebalance(reason);
      this.maybeCompleteJoin();
    });
  }

  private prepareRebalance(reason: string): void {
    if (this.state === 'CompletingRebalance') {
      for (const m of this.members.values()) this.answerSync(m, ErrorCode.REBALANCE_IN_PROGRESS, EMPTY);
    }
    const wasEmpty = this.state === 'Empty';
    for (const m of this.members.values()) m.assignment = EMPTY;
    this.state = 'PreparingRebalance';
    this.opts.logger.debug({ group: this.id, generation: this.generation, reason }, 'preparing rebalance');
    let timeout = 0;
    for (const m of this.members.values()) timeout = Math.max(timeout, m.rebalanceTimeoutMs);
    this.rebalanceTimer = setTimeout(() => this.onRebalanceTimeout(), timeout);
    if (wasEmpty && this.opts.initialRebalanceDelayMs > 0) {
      this.delayTimer = setTimeout(() => {
        this.delayTimer = null;
        this.maybeCompleteJoin();
      }, this.opts.initialRebalanceDelayMs);
    }
  }

  private maybeCompleteJoin(): void {
    if (this.state !== 'PreparingRebalance' || this.delayTimer !== null) return;
    for (const m of this.members.values()) if (!m.joinWaiter) return;
    this.completeJoin();
  }

  private onRebalanceTimeout(): void {
    this.rebalanceTimer = null;
    for (const m of [...this.members.values()]) {
      if (!m.joinWaiter) this.removeMember(m, 'did not rejoin within the rebalance timeout', false);
    }
    if (this.delayTimer) clearTimeout(this.delayTimer);
    this.delayTimer = null;
    this.completeJoin();
  }

  private completeJoin(): void {
    if (this.rebalanceTimer) clearTimeout(this.rebalanceTimer);
    this.rebalanceTimer = null;
    this.generation++;
    if (this.members.size === 0) {
      this.state = 'Empty';
      this.protocol = '';
      this.leaderId = '';
      return;
    }
    if (!this.members.has(this.leaderId)) this.leaderId = (this.members.keys().next().value as string) ?? '';
    this.protocol = this.selectProtocol();
    this.state = 'CompletingRebalance';
    this.opts.logger.debug(
      { group: this.id, generation: this.generation, members: this.members.size },
      'generation formed',
    );
    for (const m of this.members.values()) {
      const waiter = m.joinWaiter;
      m.joinWaiter = null;
      this.touch(m);
      waiter?.(this.joinResponse(m));
    }
  }

  /** First protocol, in the leader's order of preference, that every member supports. */
  private selectProtocol(): string {
    const leader = this.members.get(this.leaderId) as Member;
    for (const p of leader.protocols) if (this.everyOtherSupports(p.name, '')) return p.name;
    return leader.protocols[0]?.name ?? '';
  }

  private joinResponse(m: Member): JoinGroupResponse {
    const members =
      m.id === this.leaderId
        ? [...this.members.values()].map((x) => ({
            memberId: x.id,
            metadata: x.protocols.find((p) => p.name === this.protocol)?.metadata ?? EMPTY,
          }))
        : [];
    return {
      errorCode: ErrorCode.NONE,
      generationId: this.generation,
      protocol: this.protocol,
      leaderId: this.leaderId,
      memberId: m.id,
      members,
    };
  }

  sync(req: SyncGroupRequest): Promise<SyncGroupResponse> | SyncGroupResponse {
    const member = this.members.get(req.memberId);
    if (!member) return { errorCode: ErrorCode.UNKNOWN_MEMBER_ID, assignment: EMPTY };
    if (req.generationId !== this.generation)
      return { errorCode: ErrorCode.ILLEGAL_GENERATION, assignment: EMPTY };
    this.touch(member);
    if (this.state === 'PreparingRebalance')
      return { errorCode: ErrorCode.REBALANCE_IN_PROGRESS, assignment: EMPTY };
    if (this.state === 'Stable') return { errorCode: ErrorCode.NONE, assignment: member.assignment };
    return new Promise((resolve) => {
      this.answerSync(member, ErrorCode.REBALANCE_IN_PROGRESS, EMPTY);
      member.syncWaiter = resolve;
      if (member.id !== this.leaderId) return;
      const given = new Map(req.assignments.map((a) => [a.memberId, a.assignment]));
      this.state = 'Stable';
      this.opts.logger.debug({ group: this.id, generation: this.generation }, 'group stable');
      for (const m of this.members.values()) {
        m.assignment = given.get(m.id) ?? EMPTY;
        this.answerSync(m, ErrorCode.NONE, m.assignment);
      }
    });
  }

  private answerSync(m: Member, errorCode: number, assignment: Buffer): void {
    const waiter = m.syncWaiter;
    m.syncWaiter = null;
    waiter?.({ errorCode, assignment });
  }

  heartbeat(generationId: number, memberId: string): number {
    const member = this.members.get(memberId);
    if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (generationId !== this.generation) return ErrorCode.ILLEGAL_GENERATION;
    this.touch(member);
    return this.state === 'PreparingRebalance' ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE;
  }

  leave(memberId: string): number {
    const member = this.members.get(memberId);
    if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
    this.removeMember(member, 'left the group', true);
    return ErrorCode.NONE;
  }

  /** Validates an offset commit against membership; NONE means the commit may be stored. */
  checkCommit(generationId: number, memberId: string): number {
    if (generationId < 0 && this.state === 'Empty') return ErrorCode.NONE;
    if (this.state === 'CompletingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;
    const member = this.members.get(memberId);
    if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (generationId !== this.generation) return ErrorCode.ILLEGAL_GENERATION;
    this.touch(member);
    return ErrorCode.NONE;
  }

  /** (Re)arms the member's session timer; expiry evicts it. */
  private touch(m: Member): void {
    if (m.sessionTimer) {
      m.sessionTimer.refresh();
      return;
    }
    m.sessionTimer = setTimeout(() => {
      // A member parked in JoinGroup is alive by definition (Kafka keeps it too).
      if (m.joinWaiter) m.sessionTimer?.refresh();
      else this.removeMember(m, `session timeout (${m.sessionTimeoutMs} ms) expired`, true);
    }, m.sessionTimeoutMs);
  }

  private removeMember(m: Member, reason: string, rebalance: boolean): void {
    if (m.sessionTimer) clearTimeout(m.sessionTimer);
    m.sessionTimer = null;
    this.members.delete(m.id);
    this.opts.logger.debug({ group: this.id, member: m.id, reason }, 'member removed');
    const waiter = m.joinWaiter;
    m.joinWaiter = null;
    waiter?.(joinError(ErrorCode.UNKNOWN_MEMBER_ID, m.id));
    this.answerSync(m, ErrorCode.UNKNOWN_MEMBER_ID, EMPTY);
    if (!rebalance) return;
    if (this.state === 'Stable' || this.state === 'CompletingRebalance') this.prepareRebalance(reason);
    if (this.members.size === 0 && this.state === 'PreparingRebalance') {
      if (this.delayTimer) clearTimeout(this.delayTimer);
      this.delayTimer = null;
    }
    this.maybeCompleteJoin();
  }

  /** Stops every timer; pending requests are left to their closing connections. */
  close(): void {
    if (this.rebalanceTimer) clearTimeout(this.rebalanceTimer);
    if (this.delayTimer) clearTimeout(this.delayTimer);
    for (const m of this.members.values()) if (m.sessionTimer) clearTimeout(m.sessionTimer);
  }
}

function sameProtocols(a: Member['protocols'], b: Member['protocols']): boolean {
  if (a.length !== b.length) return false;
  return a.every((p, i) => p.name === b[i]?.name && p.metadata.equals(b[i]?.metadata ?? EMPTY));
}
