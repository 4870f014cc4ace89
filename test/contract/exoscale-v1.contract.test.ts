import { definition } from '../../functions/providers/exoscale-v1/index.ts';
import { runContractSuite } from './suite.ts';

runContractSuite(definition);
