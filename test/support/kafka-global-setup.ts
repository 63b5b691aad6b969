// Vitest global setup of the kafka project: stops real Kafka brokers whose test process died (before and after the run).
import { sweepOrphanKafkaBrokers } from '@taskwire/testkit';

export default function setup(): () => void {
  sweepOrphanKafkaBrokers();
  return () => {
    sweepOrphanKafkaBrokers();
  };
}
