// The Store contract suite, written once and run on each dialect (sqlite.int.test.ts, mysql.int.test.ts).
import { describe } from 'vitest';
import type { MakeStore } from './contract/harness.js';
import { admissionContract } from './contract/admission.js';
import { batchUpdatesContract } from './contract/batch-updates.js';
import { deadLettersContract } from './contract/dead-letters.js';
import { dashboardContract } from './contract/dashboard.js';
import { eventsOutboxWorkersContract } from './contract/events-outbox-workers.js';
import { leasesContract } from './contract/leases.js';
import { schedulingContract } from './contract/scheduling.js';
import { tasksContract } from './contract/tasks.js';
import { templatesContract } from './contract/templates.js';
import { unitOfWorkContract } from './contract/unit-of-work.js';
import { workflowStepsContract } from './contract/workflow-steps.js';

export type { MakeStore } from './contract/harness.js';

export function storeContract(name: string, makeStore: MakeStore): void {
  describe(`${name} store contract`, () => {
    templatesContract(makeStore);
    tasksContract(makeStore);
    batchUpdatesContract(makeStore);
    schedulingContract(makeStore);
    eventsOutboxWorkersContract(makeStore);
    dashboardContract(makeStore);
    leasesContract(makeStore);
    deadLettersContract(makeStore);
    unitOfWorkContract(makeStore);
    admissionContract(makeStore);
    workflowStepsContract(makeStore);
  });
}
