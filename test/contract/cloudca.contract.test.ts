import { definition } from '../../functions/providers/cloudca/index.ts';
import { runContractSuite } from './suite.ts';

runContractSuite(definition);
