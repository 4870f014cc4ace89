import { definition } from '../../functions/providers/exoscale/index.ts';
import { runContractSuite } from './suite.ts';

runContractSuite(definition);
