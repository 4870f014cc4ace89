import { RemovalPolicy } from 'aws-cdk-lib';
import {
  AttributeType,
  Billing,
  type GlobalSecondaryIndexPropsV2,
  ProjectionType,
  TableEncryptionV2,
  TableV2,
} from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import {
  DEFAULT_TABLE_PREFIX,
  type KeyAttribute,
  TABLE_ENV,
  TABLES,
  type TableDefinition,
  type TableId,
  type TableNames,
  tableNames,
} from '../../functions/store/tables.ts';

export interface DataLayerProps {
  /** Physical names are `<prefix>-jobs|audit|idempotency`, what the CLI's --table-prefix expects. */
  readonly tablePrefix?: string;
  /** For jobs and idempotency; the audit table is always retained and deletion-protected. */
  readonly removalPolicy?: RemovalPolicy;
}

const attribute = (a: KeyAttribute) => ({
  name: a.name,
  type: a.type === 'N' ? AttributeType.NUMBER : AttributeType.STRING,
});

/**
 * The three tables of fleetflow, built from the one definition in functions/store/tables.ts:
 * on-demand, point-in-time recovery, AWS-managed KMS encryption; the audit table also has deletion
 * protection and is retained with the stack gone. Grants are narrow on purpose: the audit writer
 * can add and read events but never update or delete one.
 */
export class DataLayer extends Construct {
  readonly jobsTable: TableV2;
  readonly auditTable: TableV2;
  readonly idempotencyTable: TableV2;
  readonly tableNames: TableNames;

  constructor(scope: Construct, id: string, props: DataLayerProps = {}) {
    super(scope, id);
    this.tableNames = tableNames(props.tablePrefix ?? DEFAULT_TABLE_PREFIX);
    const make = (tableId: TableId, constructId: string) =>
      this.#table(constructId, TABLES[tableId], this.tableNames[tableId], props.removalPolicy);
    this.jobsTable = make('jobs', 'Jobs');
    this.auditTable = make('audit', 'Audit');
    this.idempotencyTable = make('idempotency', 'Idempotency');
  }

  #table(id: string, def: TableDefinition, tableName: string, removalPolicy?: RemovalPolicy): TableV2 {
    return new TableV2(this, id, {
      tableName,
      partitionKey: attribute(def.partitionKey),
      ...(def.sortKey ? { sortKey: attribute(def.sortKey) } : {}),
      globalSecondaryIndexes: def.globalIndexes.map(
        (index): GlobalSecondaryIndexPropsV2 => ({
          indexName: index.indexName,
          partitionKey: attribute(index.partitionKey),
          ...(index.sortKey ? { sortKey: attribute(index.sortKey) } : {}),
          projectionType: ProjectionType.ALL,
        }),
      ),
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryptionV2.awsManagedKey(),
      deletionProtection: def.protect,
      removalPolicy: def.protect ? RemovalPolicy.RETAIN : (removalPolicy ?? RemovalPolicy.RETAIN),
      ...(def.ttlAttribute ? { timeToLiveAttribute: def.ttlAttribute } : {}),
    });
  }

  /**
   * Like `table.grant()`, but on the table and its indexes BY NAME: `table.grant()` adds
   * `<table>/index/*`, a wildcard cdk-nag (AwsSolutions-IAM5) rightly asks about. Indexes come
   * from the same table definitions, so a new index is granted with no change here.
   */
  #grant(tableId: TableId, grantee: IGrantable, ...actions: string[]): Grant {
    const table = { jobs: this.jobsTable, audit: this.auditTable, idempotency: this.idempotencyTable }[
      tableId
    ];
    return Grant.addToPrincipal({
      grantee,
      actions,
      resourceArns: [
        table.tableArn,
        ...TABLES[tableId].globalIndexes.map((index) => `${table.tableArn}/index/${index.indexName}`),
      ],
    });
  }

  /** Table names for a function's environment (read back by tableNamesFromEnv()). */
  environment(): Record<string, string> {
    return {
      [TABLE_ENV.jobs]: this.jobsTable.tableName,
      [TABLE_ENV.audit]: this.auditTable.tableName,
      [TABLE_ENV.idempotency]: this.idempotencyTable.tableName,
    };
  }

  /** Create, update and list jobs (the orchestration functions). */
  grantJobsWrite(grantee: IGrantable): Grant {
    return this.#grant(
      'jobs',
      grantee,
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:Query',
    );
  }

  /** Read and list jobs. */
  grantJobsRead(grantee: IGrantable): Grant {
    return this.#grant('jobs', grantee, 'dynamodb:GetItem', 'dynamodb:Query');
  }

  /** Append audit events: PutItem (conditional, never overwriting), and the reads an append needs. */
  grantAuditAppend(grantee: IGrantable): Grant {
    return this.#grant('audit', grantee, 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:GetItem');
  }

  /** Read and verify the audit trail (Scan finds every chain for a full verify). */
  grantAuditRead(grantee: IGrantable): Grant {
    return this.#grant('audit', grantee, 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan');
  }

  /** The idempotency protocol: claim (Put), complete (Update), release (Delete), replay (Get). */
  grantIdempotency(grantee: IGrantable): Grant {
    return this.#grant(
      'idempotency',
      grantee,
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
    );
  }
}
