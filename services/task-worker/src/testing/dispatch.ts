// Test fixture: a valid dispatch message (an echo task, attempt 1, due in a minute), with overrides.
import { randomBytes } from 'node:crypto';
import type { DispatchMessage } from '@taskwire/contracts';

/** A fresh, short task id each call (size-limit tests count its bytes), so tests on a shared topic or group never see each other's tasks. */
export function testDispatch(over: Partial<DispatchMessage> = {}): DispatchMessage {
  const now = Date.now();
  return {
    v: 1,
    task_id: `task-${Date.now().toString(36)}${randomBytes(4).toString('hex')}`,
    attempt: 1,
    template_id: 'tpl',
    template_name: 'tpl',
    executor: 'echo',
    queue: 'default',
    params: {},
    param_schema: null,
    timeout_ms: 60_000,
    deadline: now + 60_000,
    queued_at: now,
    ...over,
  };
}
