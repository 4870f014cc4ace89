import { definition } from '../../functions/providers/gcore/index.ts';
import { runContractSuite } from './suite.ts';

runContractSuite(definition);
