// The echo executor: returns its params unchanged (smoke tests and benchmarks).
import { defineExecutor } from '@taskwire/executor-sdk';

export const echoExecutor = defineExecutor<unknown, unknown>({
  name: 'echo',
  description: 'Returns its params unchanged',
  run: ({ params }) => params,
});
