import { definition } from '../../functions/providers/genesiscloud/index.ts';
import { runContractSuite } from './suite.ts';

runContractSuite(definition);
