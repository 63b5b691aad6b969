// Store contract: the step rows a result batch looks up for the tasks it finished.
import { describe, expect, it } from 'vitest';
import type { WorkflowStepRecord } from '../types.js';
import type { MakeStore } from './harness.js';
import { useStore } from './harness.js';
import { at, newId } from './fixtures.js';

export function workflowStepsContract(makeStore: MakeStore): void {
  describe('workflow steps', () => {
    const store = useStore(makeStore);

    it('getStepsOfTasks returns the steps of the given tasks (any number of ids), with their edges, and nothing for tasks that are no step', async () => {
      const workflowId = newId();
      const steps: WorkflowStepRecord[] = Array.from({ length: 3 }, (_, i) => ({
        taskId: newId(),
        workflowId,
        stepKey: `s${i}`,
        position: i,
        dependsOn: i === 0 ? [] : ['s0'],
        dependants: i === 0 ? ['s1', 's2'] : [],
        depsRemaining: i === 0 ? 0 : 1,
      }));
      await store().insertWorkflow(
        {
          id: workflowId,
          name: 'wf',
          status: 'RUNNING',
          onFailure: 'fail_fast',
          workflowTemplateId: null,
          scheduledFor: null,
          stepsTotal: 3,
          stepsFinished: 0,
          stepsCompleted: 0,
          createdAt: at(0),
          updatedAt: at(0),
          finishedAt: null,
        },
        steps,
      );
      const loose = Array.from({ length: 700 }, () => newId());
      const byKey = (rows: WorkflowStepRecord[]) => [...rows].sort((a, b) => a.position - b.position);
      expect(await store().getStepsOfTasks([])).toEqual([]);
      expect(await store().getStepsOfTasks(loose.slice(0, 5))).toEqual([]);
      expect(await store().getStepsOfTasks([steps[1]!.taskId])).toEqual([steps[1]]);
      // Past one IN-list run, steps at both ends.
      const many = [steps[2]!.taskId, ...loose, steps[0]!.taskId];
      expect(byKey(await store().getStepsOfTasks(many))).toEqual([steps[0], steps[2]]);
    });
  });
}
